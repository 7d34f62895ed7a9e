/* Azure connection strings, "Name=value;Name=value" (device connection strings in
 * azkit/sas_token.h, the service's in azkit-hub): one part at a time. */
#ifndef AZK_COMMON_CONN_STRING_H
#define AZK_COMMON_CONN_STRING_H

#include "azkit/span.h"

/* The next part at *p (blanks around it ignored, empty parts skipped; the value runs to the
 * next ';' and may hold '='); *p moves past it. Returns 1 with `name` and `value`, 0 at the
 * end, -EBADMSG for a part without '='. */
int azki_conn_string_next(const char **p, struct azk_span *name, struct azk_span *value);

#endif

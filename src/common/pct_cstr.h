/* Percent-encoding of a NUL-terminated string into a NUL-terminated buffer: the form SAS
 * tokens need for their resource URI and signature (azk_pct_encode on spans does the work). */
#ifndef AZK_COMMON_PCT_CSTR_H
#define AZK_COMMON_PCT_CSTR_H

#include <stddef.h>

/* Encodes `s` into `out` (size `size`, NUL-terminated). Returns 0, or -ENOBUFS when the
 * encoded text and its NUL do not fit. */
int azki_pct_encode_cstr(const char *s, char *out, size_t size);

#endif

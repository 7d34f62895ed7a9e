/* The property bag of a device-to-cloud message as the two JSON objects the hub stores with
 * it: application properties, and system properties under Azure's names. */
#ifndef AZK_HUB_PROPS_JSON_H
#define AZK_HUB_PROPS_JSON_H

#include <stddef.h>

#include "azkit/span.h"

/* A system property the hub sets on every message (iothub-connection-device-id, ...). */
struct hub_sys_prop {
    const char *name, *value;
};

/* Splits a topic property bag (`k=v&k2&...`, percent-encoded) into application and system
 * properties, as JSON object texts (heap, NUL-terminated; free()). System properties are the
 * `$.` keys (literal or `%24.`) under their Azure names (message-id, correlation-id,
 * content-type, content-encoding, user-id, to, absolute-expiry-time, ...) and the iothub-*
 * keys; the rest are application properties. A key without `=` has the value null. `add`
 * (nadd entries, may be NULL when 0) follows the bag's system properties. A name given twice
 * keeps its last value, in the last one's place, so the hub's own properties replace any a
 * device sent. A name or value ends at its first NUL (`%00`). Strings are escaped as JSON needs
 * (`"`, `\`, control characters); other bytes are copied as they are.
 * Returns 0; -EMSGSIZE (a key over 511 or a value over 4095 bytes, decoded); -EBADMSG (an
 * empty key or a bad percent escape); -ENOMEM. Nothing is returned on error. */
int hub_props_json(struct azk_span bag, const struct hub_sys_prop *add, size_t nadd,
                   char **app_json, char **sys_json);

#endif

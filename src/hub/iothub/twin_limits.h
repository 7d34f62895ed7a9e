/*
 * IoT Hub's documented limits on a device twin's tags, desired and reported properties,
 * checked wherever a twin is written: a device's reported PATCH over MQTT, the service API's
 * twin PATCH and PUT, a DPS enrollment's initialTwin. No store dependency, so DPS can use it.
 *
 * Source: Microsoft Learn, "Understand and use device twins in IoT Hub", sections "Tags and
 * properties format" and "Device twin size":
 * - keys: UTF-8, case-sensitive, up to 1 KB; no UNICODE control characters (C0 and C1
 *   segments), no '.', '$' or SP;
 * - values: boolean, number, string, object, array; strings UTF-8, up to 4 KB;
 * - depth: at most 10 levels of JSON objects inside tags, desired and reported (the page's
 *   example: tags.one.two...ten.property is valid);
 * - size: 8 KB for tags, 32 KB each for properties.desired and properties.reported, counted
 *   as the sum over every property of its key's length and its value's size (strings by
 *   their characters without control characters, numbers 8 bytes, booleans 4 bytes, objects
 *   the sum of what they contain), read-only elements ($version, $metadata) excluded; IoT Hub
 *   rejects operations that would take a section above its limit.
 * Failures are 400 ArgumentInvalid (Microsoft Learn, "IoT Hub API common error codes":
 * 400004, "the object cannot be validated").
 *
 * The hub's choices where the page is silent: arrays count as a level like objects; keys
 * starting with '$' are the hub's own ($version, $metadata, which SDKs echo back) and are
 * ignored, as the merge ignores them; lengths are UTF-8 bytes. The integer range the page
 * gives (-2^52 .. 2^52-1) is not checked: the JSON parser keeps numbers as doubles.
 */
#ifndef AZK_HUB_TWIN_LIMITS_H
#define AZK_HUB_TWIN_LIMITS_H

#include <stddef.h>

struct cJSON;

#define HUB_TWIN_TAGS_MAX (8 * 1024)     /* bytes, as IoT Hub counts them */
#define HUB_TWIN_SECTION_MAX (32 * 1024) /* desired, reported: each */
#define HUB_TWIN_DEPTH_MAX 10            /* nested objects/arrays below a section */
#define HUB_TWIN_KEY_MAX 1024            /* bytes of a key */
#define HUB_TWIN_STRING_MAX 4096         /* bytes of a string value */
#define HUB_TWIN_NUMBER_SIZE 8           /* what a number counts for in the size */
#define HUB_TWIN_BOOL_SIZE 4             /* what a boolean counts for */

enum hub_twin_section {
    HUB_TWIN_TAGS,
    HUB_TWIN_DESIRED,
    HUB_TWIN_REPORTED,
};

/* "tags", "properties.desired", "properties.reported". */
const char *hub_twin_section_name(enum hub_twin_section sec);

/* The section's size limit (HUB_TWIN_TAGS_MAX or HUB_TWIN_SECTION_MAX). */
size_t hub_twin_section_max(enum hub_twin_section sec);

/*
 * Checks a patch for (or the whole of) section `sec`: a JSON object whose keys and strings
 * are valid UTF-8 and follow the rules above, nested at most HUB_TWIN_DEPTH_MAX deep. nulls
 * (deletions) are allowed. Returns 0, or -EBADMSG with `why` (may be NULL) saying which
 * property breaks which rule, e.g. "properties.desired.a.b: ...".
 */
int hub_twin_check_format(enum hub_twin_section sec, const struct cJSON *obj, char *why,
                          size_t why_size);

/* The size of a section's document as IoT Hub counts it (see above). */
size_t hub_twin_size(const struct cJSON *obj);

/* 0 when hub_twin_size(doc) is within the section's limit, else -E2BIG with `why`. */
int hub_twin_check_size(enum hub_twin_section sec, const struct cJSON *doc, char *why,
                        size_t why_size);

#endif

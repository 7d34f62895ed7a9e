/* Twin metadata: when each desired and reported property was last updated, as IoT Hub keeps it
 * in `properties.{desired,reported}.$metadata` ("Understand and use device twins", Microsoft
 * Learn; the TwinState example of the provisioning service SDK shows the desired shape).
 *
 * Stored per twin as one JSON text {"desired":NODE,"reported":NODE}, where a NODE is
 * {"$lastUpdated":MS,"$lastUpdatedVersion":V (desired only), "<child>":NODE...} with MS the
 * Unix time in milliseconds; an object property's node has its children's nodes. Rendering
 * turns MS into ISO 8601 text. An empty or missing text means "not recorded" (twins written
 * before the hub kept metadata): rendering then falls back to a time given by the caller. */
#ifndef AZK_HUB_TWIN_META_H
#define AZK_HUB_TWIN_META_H

#include <stdint.h>

#include "hub/iothub/twin_limits.h"

struct cJSON;

/* The metadata text after `patch` (a desired or reported patch, merged as hub_twin_merge()
 * merges it: null deletes, objects merge) was applied to the section `before` (its document
 * before the merge; may be NULL) at `now_ms`, making the section's version `version`. `meta`
 * is the stored text (may be NULL or empty). `replace`: the section was replaced by `patch`
 * (every old node goes). Returns a heap text (free()), or NULL when out of memory. Sections
 * other than desired and reported keep no metadata (returns the text unchanged). */
char *hub_twin_meta_update(const char *meta, enum hub_twin_section sec, const struct cJSON *patch,
                           const struct cJSON *before, int64_t now_ms, int64_t version,
                           int replace);

/* The section's `$metadata` object as IoT Hub serves it (ISO 8601 times), or, when nothing was
 * recorded, {"$lastUpdated": fallback_ms} (and $lastUpdatedVersion for desired). `version` is
 * the section's $version (for the fallback). NULL when out of memory. */
struct cJSON *hub_twin_meta_render(const char *meta, enum hub_twin_section sec, int64_t version,
                                   int64_t fallback_ms);

#endif

/* Device twins: the documents devices GET, reported and desired patches with their versions.
 * Shared by the MQTT handlers and the service API. */
#ifndef AZK_HUB_TWIN_H
#define AZK_HUB_TWIN_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/span.h"
#include "hub/iothub/twin_limits.h"
#include "hub/store/store.h"

struct hub_iothub;
struct cJSON;

/* The document a device gets for twin GET: {"desired":{..,"$version":N},"reported":{..}}.
 * *out is heap (free()). Returns 0, -ENOENT, -ENOMEM. */
int hub_twin_device_document(struct hub_iothub *h, const char *device_id, char **out,
                             size_t *out_len);

/* Merges `patch` into `target` as Azure does: null deletes, objects merge recursively, other
 * values replace. */
void hub_twin_merge(struct cJSON *target, const struct cJSON *patch);

/* Whether `patch` may be merged into section `sec` of the device's twin now: IoT Hub's rules
 * for keys, values and depth, and the section's size after the merge (twin_limits.h).
 * Nothing is written. Returns 0, -ENOENT, -EBADMSG (a rule broken) or -E2BIG (the section
 * would be too large) with `why` (may be NULL) saying what, -ENOMEM. The patch functions
 * below check the same and refuse with the same codes. */
int hub_twin_patch_check(struct hub_iothub *h, const char *device_id, enum hub_twin_section sec,
                         const struct cJSON *patch, char *why, size_t why_size);

/* A reported-properties PATCH from the device. Bumps reported.$version (returned in
 * *new_version) and the service-side etag/version; `done` runs after commit.
 * Returns 0, -ENOENT, -EBADMSG (not a JSON object, not UTF-8, or against IoT Hub's rules),
 * -E2BIG (reported properties over 32 KB), -ENOMEM. A refusal is logged with its reason. */
int hub_twin_patch_reported(struct hub_iothub *h, const char *device_id, struct azk_span patch,
                            int64_t *new_version, hub_store_done_fn done, void *ctx);

/* A desired-properties change from the service (`patch` is a JSON object). Bumps
 * desired.$version and the service-side etag/version, and pushes the patch to the device if
 * it is connected and subscribed (a device that was offline GETs the twin instead).
 * Returns 0, -ENOENT, -EBADMSG, -E2BIG, -ENOMEM. */
int hub_twin_patch_desired(struct hub_iothub *h, const char *device_id,
                           const struct cJSON *patch, hub_store_done_fn done, void *ctx);

/* Replaces the tags with a merge of `tags_patch` (service API). Returns as above. */
int hub_twin_patch_tags(struct hub_iothub *h, const char *device_id,
                        const struct cJSON *tags_patch, hub_store_done_fn done, void *ctx);

#endif

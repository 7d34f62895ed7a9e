/* Device twins: the documents devices GET, reported and desired patches with their versions.
 * Shared by the MQTT handlers and the service API. */
#ifndef AZK_HUB_TWIN_H
#define AZK_HUB_TWIN_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/span.h"
#include "hub/store/store.h"

struct hub_iothub;
struct cJSON;

#define HUB_TWIN_SECTION_MAX (32 * 1024) /* desired, reported (IoT Hub's limit) */
#define HUB_TWIN_TAGS_MAX (8 * 1024)     /* tags */

/* The document a device gets for twin GET: {"desired":{..,"$version":N},"reported":{..}}.
 * *out is heap (free()). Returns 0, -ENOENT, -ENOMEM. */
int hub_twin_device_document(struct hub_iothub *h, const char *device_id, char **out,
                             size_t *out_len);

/* Merges `patch` into `target` as Azure does: null deletes, objects merge recursively, other
 * values replace. */
void hub_twin_merge(struct cJSON *target, const struct cJSON *patch);

/* A reported-properties PATCH from the device. Bumps reported.$version (returned in
 * *new_version) and the service-side etag/version; `done` runs after commit.
 * Returns 0, -ENOENT, -EBADMSG (not a JSON object), -E2BIG (over 32 KB), -ENOMEM. */
int hub_twin_patch_reported(struct hub_iothub *h, const char *device_id, struct azk_span patch,
                            int64_t *new_version, hub_store_done_fn done, void *ctx);

/* A desired-properties change from the service (`patch` is a JSON object). Bumps
 * desired.$version and the service-side etag/version, and pushes the patch to the device if
 * it is connected and subscribed (a device that was offline GETs the twin instead).
 * Returns 0, -ENOENT, -EBADMSG, -ENOMEM. */
int hub_twin_patch_desired(struct hub_iothub *h, const char *device_id,
                           const struct cJSON *patch, hub_store_done_fn done, void *ctx);

/* Replaces the tags with a merge of `tags_patch` (service API). Returns as above. */
int hub_twin_patch_tags(struct hub_iothub *h, const char *device_id,
                        const struct cJSON *tags_patch, hub_store_done_fn done, void *ctx);

#endif

/* Twin documents and patches. */
#include "hub/twin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "azkit/azure_hub.h"
#include "azkit/azure_payloads.h"
#include "hub/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

int hub_twin_device_document(struct hub_daemon *d, const char *device_id, char **out,
                             size_t *out_len)
{
    const struct hub_twin *tw = hub_store_twin_peek(d->store, device_id);
    if (tw == NULL)
        return -ENOENT;
    struct azk_span desired = azk_span_from_str(tw->desired);
    struct azk_span reported = azk_span_from_str(tw->reported);
    size_t need = 0;
    /* One format, written once: the core's builder (size query first). */
    int rc = azk_twin_document_build(desired, tw->desired_version, reported,
                                     tw->reported_version, NULL, 0, &need);
    if (rc != 0 && rc != -ENOBUFS)
        return rc;
    char *buf = malloc(need + 1);
    if (buf == NULL)
        return -ENOMEM;
    rc = azk_twin_document_build(desired, tw->desired_version, reported, tw->reported_version,
                                 buf, need + 1, out_len);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[*out_len] = '\0';
    *out = buf;
    return 0;
}

void hub_twin_merge(cJSON *target, const cJSON *patch)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, patch) {
        const char *key = item->string;
        if (key == NULL || key[0] == '$') /* $version, $metadata are the hub's */
            continue;
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, key);
        if (cJSON_IsNull(item)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, key);
        } else if (cJSON_IsObject(item) && cJSON_IsObject(cur)) {
            hub_twin_merge(cur, item);
        } else {
            cJSON *copy = cJSON_Duplicate(item, 1);
            if (copy == NULL)
                continue;
            if (cJSON_IsObject(copy)) { /* nulls inside a new object delete nothing: drop them */
                cJSON *clean = cJSON_CreateObject();
                hub_twin_merge(clean, copy);
                cJSON_Delete(copy);
                copy = clean;
            }
            if (cur)
                cJSON_ReplaceItemInObjectCaseSensitive(target, key, copy);
            else
                cJSON_AddItemToObject(target, key, copy);
        }
    }
}

/* Applies `patch` to one section of a copy of the twin and stores it. */
enum section { SEC_DESIRED, SEC_REPORTED, SEC_TAGS };

static int apply(struct hub_daemon *d, const char *device_id, enum section sec,
                 const cJSON *patch, struct hub_twin *updated, hub_store_done_fn done,
                 void *ctx)
{
    if (!cJSON_IsObject(patch))
        return -EBADMSG;
    int rc = hub_store_twin_get(d->store, device_id, updated);
    if (rc != 0)
        return rc;
    char **text = sec == SEC_DESIRED ? &updated->desired
                  : sec == SEC_REPORTED ? &updated->reported
                                        : &updated->tags;
    cJSON *doc = cJSON_Parse(*text ? *text : "{}");
    if (doc == NULL)
        doc = cJSON_CreateObject();
    hub_twin_merge(doc, patch);
    char *merged = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (merged == NULL) {
        hub_twin_clear(updated);
        return -ENOMEM;
    }
    free(*text);
    *text = merged;
    if (sec == SEC_DESIRED)
        updated->desired_version++;
    else if (sec == SEC_REPORTED)
        updated->reported_version++;
    updated->version++;
    updated->etag++;
    rc = hub_store_twin_set(d->store, updated, done, ctx);
    if (rc != 0)
        hub_twin_clear(updated);
    return rc;
}

int hub_twin_patch_reported(struct hub_daemon *d, const char *device_id, struct azk_span patch,
                            int64_t *new_version, hub_store_done_fn done, void *ctx)
{
    cJSON *p = cJSON_ParseWithLength(patch.ptr, patch.len);
    if (p == NULL)
        return -EBADMSG;
    struct hub_twin tw;
    int rc = apply(d, device_id, SEC_REPORTED, p, &tw, done, ctx);
    cJSON_Delete(p);
    if (rc == 0) {
        *new_version = tw.reported_version;
        hub_twin_clear(&tw);
    }
    return rc;
}

int hub_twin_patch_desired(struct hub_daemon *d, const char *device_id, const cJSON *patch,
                           hub_store_done_fn done, void *ctx)
{
    struct hub_twin tw;
    int rc = apply(d, device_id, SEC_DESIRED, patch, &tw, done, ctx);
    if (rc != 0)
        return rc;
    struct hub_conn *c = hub_devmap_get(&d->conns, device_id);
    if (c != NULL && hub_conn_alive(c) && (c->subs & HUB_SUB_TWIN_DESIRED)) {
        char topic[128];
        size_t tlen = 0;
        char *body = cJSON_PrintUnformatted(patch);
        size_t need = 0;
        if (body != NULL &&
            azk_hub_twin_desired_topic(tw.desired_version, topic, sizeof(topic), &tlen) == 0 &&
            azk_twin_desired_patch_build(azk_span_from_str(body), tw.desired_version, NULL, 0,
                                         &need) == -ENOBUFS) {
            char *buf = malloc(need);
            size_t blen = 0;
            if (buf != NULL &&
                azk_twin_desired_patch_build(azk_span_from_str(body), tw.desired_version, buf,
                                             need, &blen) == 0)
                hub_conn_publish(c, topic, tlen, buf, blen, 0);
            free(buf);
        }
        free(body);
    }
    hub_twin_clear(&tw);
    return 0;
}

int hub_twin_patch_tags(struct hub_daemon *d, const char *device_id, const cJSON *tags_patch,
                        hub_store_done_fn done, void *ctx)
{
    struct hub_twin tw;
    int rc = apply(d, device_id, SEC_TAGS, tags_patch, &tw, done, ctx);
    if (rc == 0)
        hub_twin_clear(&tw);
    return rc;
}

/* Twin documents and patches. */
#include "hub/iothub/twin.h"
#include "hub/iothub/twin_meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "azkit/azure_hub.h"
#include "azkit/azure_payloads.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

int hub_twin_device_document(struct hub_iothub *h, const char *device_id, char **out,
                             size_t *out_len)
{
    const struct hub_twin *tw = hub_store_twin_peek(h->store, device_id);
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

static char **section_text(struct hub_twin *tw, enum hub_twin_section sec)
{
    return sec == HUB_TWIN_DESIRED ? &tw->desired
           : sec == HUB_TWIN_REPORTED ? &tw->reported
                                      : &tw->tags;
}

/* `patch` merged into the section's stored text, checked against IoT Hub's limits; the
 * merged document (heap, free()) in *merged. */
static int merge_checked(const char *stored, enum hub_twin_section sec, const cJSON *patch,
                         char **merged, char *why, size_t why_size)
{
    *merged = NULL;
    int rc = hub_twin_check_format(sec, patch, why, why_size);
    if (rc != 0)
        return rc;
    cJSON *doc = cJSON_Parse(stored ? stored : "{}");
    if (doc == NULL)
        doc = cJSON_CreateObject();
    if (doc == NULL)
        return -ENOMEM;
    hub_twin_merge(doc, patch);
    rc = hub_twin_check_size(sec, doc, why, why_size);
    if (rc == 0 && (*merged = cJSON_PrintUnformatted(doc)) == NULL)
        rc = -ENOMEM;
    cJSON_Delete(doc);
    return rc;
}

int hub_twin_patch_check(struct hub_iothub *h, const char *device_id, enum hub_twin_section sec,
                         const cJSON *patch, char *why, size_t why_size)
{
    const struct hub_twin *tw = hub_store_twin_peek(h->store, device_id);
    if (tw == NULL)
        return -ENOENT;
    const char *stored = sec == HUB_TWIN_DESIRED ? tw->desired
                         : sec == HUB_TWIN_REPORTED ? tw->reported
                                                    : tw->tags;
    char *merged;
    int rc = merge_checked(stored, sec, patch, &merged, why, why_size);
    free(merged);
    return rc;
}

/* Applies `patch` to one section of a copy of the twin and stores it. */
static int apply(struct hub_iothub *h, const char *device_id, enum hub_twin_section sec,
                 const cJSON *patch, struct hub_twin *updated, hub_store_done_fn done,
                 void *ctx, char *why, size_t why_size)
{
    int rc = hub_store_twin_get(h->store, device_id, updated);
    if (rc != 0)
        return rc;
    char **text = section_text(updated, sec);
    char *merged;
    rc = merge_checked(*text, sec, patch, &merged, why, why_size);
    if (rc != 0) {
        hub_twin_clear(updated);
        return rc;
    }
    if (sec == HUB_TWIN_DESIRED)
        updated->desired_version++;
    else if (sec == HUB_TWIN_REPORTED)
        updated->reported_version++;
    if (sec != HUB_TWIN_TAGS) {
        cJSON *before = cJSON_Parse(*text ? *text : "{}");
        char *meta = hub_twin_meta_update(updated->meta, sec, patch, before, hub_now_ms(),
                                          sec == HUB_TWIN_DESIRED ? updated->desired_version
                                                                  : updated->reported_version,
                                          0);
        cJSON_Delete(before);
        if (meta == NULL) {
            free(merged);
            hub_twin_clear(updated);
            return -ENOMEM;
        }
        hub_twin_text_free(updated->meta);
        updated->meta = meta;
    }
    hub_twin_text_free(*text);
    *text = merged;
    updated->version++;
    updated->etag++;
    rc = hub_store_twin_set(h->store, updated, done, ctx);
    if (rc != 0)
        hub_twin_clear(updated);
    return rc;
}

int hub_twin_patch_reported(struct hub_iothub *h, const char *device_id, struct azk_span patch,
                            int64_t *new_version, hub_store_done_fn done, void *ctx)
{
    char why[300] = "";
    cJSON *p = cJSON_ParseWithLength(patch.ptr, patch.len);
    struct hub_twin tw;
    int rc = p == NULL ? -EBADMSG
                       : apply(h, device_id, HUB_TWIN_REPORTED, p, &tw, done, ctx, why,
                               sizeof(why));
    cJSON_Delete(p);
    if (rc == 0) {
        *new_version = tw.reported_version;
        hub_twin_clear(&tw);
    } else if (rc == -EBADMSG || rc == -E2BIG) {
        hub_log(HUB_LOG_INFO, "twin: refused a reported-properties patch from '%s': %s",
                device_id, why[0] ? why : "the body is not a JSON object");
    }
    return rc;
}

/* A desired patch waiting for its commit before it is pushed to the device. */
struct desired_push {
    struct hub_iothub *h;
    char device_id[HUB_DEVICE_ID_MAX + 1];
    int64_t version;
    char *body;                 /* the patch as sent to the device */
    hub_store_done_fn done;     /* the caller's completion */
    void *ctx;
};

static void push_desired(struct desired_push *p)
{
    struct hub_conn *c = hub_devmap_get(&p->h->conns, p->device_id);
    if (c == NULL || !hub_conn_alive(c) || !(c->subs & HUB_SUB_TWIN_DESIRED))
        return; /* a device that was offline GETs the twin instead */
    char topic[128];
    size_t tlen = 0, need = 0;
    struct azk_span patch = azk_span_from_str(p->body);
    if (azk_hub_twin_desired_topic(p->version, topic, sizeof(topic), &tlen) != 0 ||
        azk_twin_desired_patch_build(patch, p->version, NULL, 0, &need) != -ENOBUFS)
        return;
    char *buf = malloc(need);
    size_t blen = 0;
    if (buf != NULL && azk_twin_desired_patch_build(patch, p->version, buf, need, &blen) == 0)
        hub_conn_publish(c, topic, tlen, buf, blen, 0);
    free(buf);
}

/* Pushed only once committed, so a device never sees a change the hub could still lose. */
static void desired_committed(void *arg, int rc)
{
    struct desired_push *p = arg;
    if (rc == 0)
        push_desired(p);
    if (p->done)
        p->done(p->ctx, rc);
    free(p->body);
    free(p);
}

int hub_twin_patch_desired(struct hub_iothub *h, const char *device_id, const cJSON *patch,
                           hub_store_done_fn done, void *ctx)
{
    struct desired_push *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->body = cJSON_PrintUnformatted(patch)) == NULL) {
        free(p);
        return cJSON_IsObject(patch) ? -ENOMEM : -EBADMSG;
    }
    p->h = h;
    snprintf(p->device_id, sizeof(p->device_id), "%s", device_id);
    p->done = done;
    p->ctx = ctx;
    struct hub_twin tw;
    int rc = apply(h, device_id, HUB_TWIN_DESIRED, patch, &tw, desired_committed, p, NULL, 0);
    if (rc != 0) {
        free(p->body);
        free(p);
        return rc;
    }
    p->version = tw.desired_version;
    hub_twin_clear(&tw);
    return 0;
}

int hub_twin_patch_tags(struct hub_iothub *h, const char *device_id, const cJSON *tags_patch,
                        hub_store_done_fn done, void *ctx)
{
    struct hub_twin tw;
    int rc = apply(h, device_id, HUB_TWIN_TAGS, tags_patch, &tw, done, ctx, NULL, 0);
    if (rc == 0)
        hub_twin_clear(&tw);
    return rc;
}

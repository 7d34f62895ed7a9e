/* /twins/{id}: the service side of device twins (GET, PATCH, PUT). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/service/svc_common.h"
#include "hub/iothub/twin.h"
#include "hub/iothub/twin_meta.h"

/* One properties section with its $metadata (hub/iothub/twin_meta.h) and $version. */
static cJSON *section(const char *text, const char *meta, enum hub_twin_section sec,
                      int64_t version, int64_t fallback_ms)
{
    cJSON *o = cJSON_Parse(text && *text ? text : "{}");
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
    }
    cJSON *m = hub_twin_meta_render(meta, sec, version, fallback_ms);
    if (m)
        cJSON_AddItemToObject(o, "$metadata", m);
    cJSON_AddNumberToObject(o, "$version", (double)version);
    return o;
}

cJSON *svc_twin_json(struct hub_iothub *h, const char *device_id, char etag_out[HUB_ETAG_MAX + 1])
{
    struct hub_device dev;
    if (hub_store_device_get(h->store, device_id, &dev) != 0)
        return NULL;
    const struct hub_twin *tw = hub_store_twin_peek(h->store, device_id);
    if (tw == NULL)
        return NULL;
    char etag[HUB_ETAG_MAX + 1], t[40];
    hub_twin_etag_text(tw->etag, etag);
    if (etag_out != NULL)
        strcpy(etag_out, etag);
    cJSON *dj = svc_device_json(&dev); /* reuse the shared fields */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deviceId", dev.device_id);
    cJSON_AddStringToObject(o, "etag", etag);
    cJSON_AddStringToObject(o, "deviceEtag", dev.etag);
    cJSON_AddStringToObject(o, "status", dev.status == HUB_DEVICE_DISABLED ? "disabled" : "enabled");
    svc_time_iso(dev.status_updated_ms, t);
    cJSON_AddStringToObject(o, "statusUpdateTime", t);
    cJSON_AddStringToObject(o, "connectionState", dev.connected ? "Connected" : "Disconnected");
    svc_time_iso(dev.last_activity_ms, t);
    cJSON_AddStringToObject(o, "lastActivityTime", t);
    cJSON_AddNumberToObject(o, "cloudToDeviceMessageCount", dev.c2d_message_count);
    cJSON *auth = cJSON_GetObjectItemCaseSensitive(dj, "authentication");
    cJSON_AddItemToObject(o, "authenticationType",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(auth, "type"), 1));
    cJSON_AddItemToObject(o, "x509Thumbprint",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(auth, "x509Thumbprint"), 1));
    cJSON_AddStringToObject(o, "modelId", "");
    cJSON_AddNumberToObject(o, "version", (double)tw->version);
    cJSON *tags = cJSON_Parse(tw->tags && *tw->tags ? tw->tags : "{}");
    cJSON_AddItemToObject(o, "tags", tags ? tags : cJSON_CreateObject());
    int64_t when = dev.updated_ms > dev.created_ms ? dev.updated_ms : dev.created_ms;
    cJSON *props = cJSON_AddObjectToObject(o, "properties");
    cJSON_AddItemToObject(props, "desired", section(tw->desired, tw->meta, HUB_TWIN_DESIRED,
                                                    tw->desired_version, when));
    cJSON_AddItemToObject(props, "reported", section(tw->reported, tw->meta, HUB_TWIN_REPORTED,
                                                     tw->reported_version, when));
    cJSON_AddItemToObject(o, "capabilities",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(dj, "capabilities"), 1));
    cJSON_Delete(dj);
    return o;
}

/* A patch that turns `old` into `new` when merged (null for every removed key). */
static cJSON *replace_patch(const cJSON *old, const cJSON *new_)
{
    cJSON *p = cJSON_CreateObject();
    const cJSON *it;
    cJSON_ArrayForEach(it, old) {
        if (it->string && it->string[0] != '$' &&
            !cJSON_HasObjectItem(new_, it->string))
            cJSON_AddItemToObject(p, it->string, cJSON_CreateNull());
    }
    cJSON_ArrayForEach(it, new_) {
        if (it->string == NULL || it->string[0] == '$')
            continue;
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(old, it->string);
        if (cJSON_IsObject(o) && cJSON_IsObject(it))
            cJSON_AddItemToObject(p, it->string, replace_patch(o, it));
        else
            cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
    }
    return p;
}

static void twin_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    if (rc != 0 && op->rc == 0)
        op->rc = rc;
    if (--op->pending > 0)
        return;
    if (svc_op_live(op)) {
        char etag[HUB_ETAG_MAX + 1];
        cJSON *tj = op->rc == 0 ? svc_twin_json(op->hub, op->id, etag) : NULL;
        if (tj != NULL)
            svc_reply_json(op->req, 200, tj, etag);
        else
            svc_reply_store_error(op->req, op->rc ? op->rc : -ENOENT, op->id);
    }
    svc_op_free(op);
}

static bool is_object_or_absent(const cJSON *v)
{
    return v == NULL || cJSON_IsNull(v) || cJSON_IsObject(v);
}

static void update_twin(struct svc_req *r, const char *id, bool replace)
{
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
    const struct hub_twin *tw = hub_store_twin_peek(r->hub->store, id);
    if (tw == NULL) {
        svc_reply_store_error(r->req, -ENOENT, id);
        return;
    }
    if (ifm != NULL && ifm[0] != '\0' && strcmp(ifm, "*") != 0) {
        char cur[HUB_ETAG_MAX + 1];
        hub_twin_etag_text(tw->etag, cur);
        if (strcmp(cur, ifm) != 0) {
            svc_reply_error(r->req, 412, "PreconditionFailed",
                            "Precondition failed: the If-Match etag does not match the twin's "
                            "etag \"%s\".", cur);
            return;
        }
    }
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return;
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
    const cJSON *desired = cJSON_IsObject(props)
                               ? cJSON_GetObjectItemCaseSensitive(props, "desired") : NULL;
    if (!cJSON_IsObject(j) || !is_object_or_absent(tags) || !is_object_or_absent(props) ||
        !is_object_or_absent(desired)) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "The twin patch must be {\"tags\":{...},\"properties\":{\"desired\":{...}}}.");
        return;
    }
    if (cJSON_IsObject(props) && cJSON_HasObjectItem(props, "reported")) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "Reported properties are written by the device only.");
        return;
    }
    cJSON *tag_patch = NULL, *des_patch = NULL;
    if (replace) {
        cJSON *old_tags = cJSON_Parse(tw->tags ? tw->tags : "{}");
        cJSON *old_des = cJSON_Parse(tw->desired ? tw->desired : "{}");
        cJSON *empty = cJSON_CreateObject();
        tag_patch = replace_patch(old_tags, cJSON_IsObject(tags) ? tags : empty);
        des_patch = replace_patch(old_des, cJSON_IsObject(desired) ? desired : empty);
        cJSON_Delete(old_tags);
        cJSON_Delete(old_des);
        cJSON_Delete(empty);
    } else {
        /* A section set to null is cleared, as Azure does: every key removed (the device gets
         * the patch with a null for each), $version bumped. */
        cJSON *empty = cJSON_CreateObject();
        if (cJSON_IsObject(tags)) {
            tag_patch = cJSON_Duplicate(tags, 1);
        } else if (cJSON_IsNull(tags)) {
            cJSON *old_tags = cJSON_Parse(tw->tags ? tw->tags : "{}");
            tag_patch = replace_patch(old_tags, empty);
            cJSON_Delete(old_tags);
        }
        if (cJSON_IsObject(desired)) {
            des_patch = cJSON_Duplicate(desired, 1);
        } else if (cJSON_IsNull(desired)) {
            cJSON *old_des = cJSON_Parse(tw->desired ? tw->desired : "{}");
            des_patch = replace_patch(old_des, empty);
            cJSON_Delete(old_des);
        }
        cJSON_Delete(empty);
    }
    cJSON_Delete(j);
    /* IoT Hub's limits, for both parts before either is written: a refused update changes
     * nothing. */
    char why[300] = "";
    int rc = 0;
    if (tag_patch != NULL)
        rc = hub_twin_patch_check(r->hub, id, HUB_TWIN_TAGS, tag_patch, why, sizeof(why));
    if (rc == 0 && des_patch != NULL)
        rc = hub_twin_patch_check(r->hub, id, HUB_TWIN_DESIRED, des_patch, why, sizeof(why));
    if (rc != 0) {
        cJSON_Delete(tag_patch);
        cJSON_Delete(des_patch);
        if (rc == -EBADMSG || rc == -E2BIG)
            svc_reply_error(r->req, 400, "ArgumentInvalid", "%s", why);
        else
            svc_reply_store_error(r->req, rc, id);
        return;
    }
    struct svc_op *op = svc_op_new(r, id, 0);
    if (op == NULL) {
        cJSON_Delete(tag_patch);
        cJSON_Delete(des_patch);
        svc_reply_store_error(r->req, -ENOMEM, id);
        return;
    }
    op->pending = 1; /* held until both are submitted */
    if (tag_patch != NULL) {
        op->pending++;
        rc = hub_twin_patch_tags(r->hub, id, tag_patch, twin_done, op);
        if (rc < 0)
            op->pending--;
    }
    if (rc == 0 && des_patch != NULL) {
        op->pending++;
        rc = hub_twin_patch_desired(r->hub, id, des_patch, twin_done, op);
        if (rc < 0)
            op->pending--;
    }
    cJSON_Delete(tag_patch);
    cJSON_Delete(des_patch);
    if (rc < 0 && op->rc == 0)
        op->rc = rc;
    if (op->pending > 1) {
        op->pending--; /* the remaining completions answer */
        hub_log(HUB_LOG_INFO, "service API: twin of '%s' updated", id);
        return;
    }
    twin_done(op, 0); /* nothing submitted: answer now */
}

void svc_twins(struct svc_req *r)
{
    if (r->nseg != 2) {
        svc_reply_error(r->req, 404, "NotFound", "No such endpoint (modules are not supported).");
        return;
    }
    const char *id = r->seg[1];
    switch (r->method) {
    case SVC_GET: {
        char etag[HUB_ETAG_MAX + 1];
        cJSON *tj = svc_twin_json(r->hub, id, etag);
        if (tj == NULL)
            svc_reply_store_error(r->req, -ENOENT, id);
        else
            svc_reply_json(r->req, 200, tj, etag);
        return;
    }
    case SVC_PATCH:
        update_twin(r, id, false);
        return;
    case SVC_PUT:
        update_twin(r, id, true);
        return;
    default:
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET, PATCH or PUT on a twin.");
    }
}

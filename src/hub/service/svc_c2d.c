/* POST /azkit/devices/{id}/messages/devicebound: queue a cloud-to-device message. The body is
 * the payload; properties come from query parameters and iothub-* headers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/iothub/c2d_props.h"
#include "hub/service/svc_common.h"

#define C2D_PAYLOAD_MAX (64 * 1024) /* Azure's C2D message size limit */
struct c2d_info {
    char message_id[HUB_C2D_ID_MAX + 1];
    int64_t expiry_ms;
};

static void c2d_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    struct c2d_info *info = op->data;
    if (rc == 0) {
        /* Committed: deliver now if the device is online. */
        struct hub_conn *c = hub_devmap_get(&op->hub->conns, op->id);
        if (c != NULL && hub_conn_alive(c))
            hub_c2d_pump(c);
    }
    if (svc_op_live(op)) {
        if (rc != 0) {
            svc_reply_store_error(op->req, rc, op->id);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "deviceId", op->id);
            cJSON_AddStringToObject(o, "messageId", info->message_id);
            char t[40];
            if (info->expiry_ms) {
                svc_time_iso(info->expiry_ms, t);
                cJSON_AddStringToObject(o, "expiryTimeUtc", t);
            } else {
                cJSON_AddNullToObject(o, "expiryTimeUtc");
            }
            int n = hub_store_c2d_count(op->hub->store, op->id);
            cJSON_AddNumberToObject(o, "queued", n < 0 ? 0 : n);
            svc_reply_json(op->req, 200, o, NULL);
        }
    }
    svc_op_free(op);
}

/* Reserved query parameter / header names (system properties). */
struct sysprop {
    const char *query;
    const char *header;
    const char *prop; /* "" = not a bag property */
};
static const struct sysprop SYS[] = {
    {"messageId", "iothub-messageid", "$.mid"},
    {"correlationId", "iothub-correlationid", "$.cid"},
    {"userId", "iothub-userid", "$.uid"},
    {"contentType", "iothub-contenttype", "$.ct"},
    {"contentEncoding", "iothub-contentencoding", "$.ce"},
    {"ttl", "iothub-ttl", ""},
};
#define NSYS (sizeof(SYS) / sizeof(SYS[0]))

void svc_c2d(struct svc_req *r)
{
    if (r->nseg != 5 || strcmp(r->seg[3], "messages") != 0 ||
        strcasecmp(r->seg[4], "devicebound") != 0) {
        svc_reply_error(r->req, 404, "NotFound", "No such endpoint.");
        return;
    }
    if (r->method != SVC_POST) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use POST to send a C2D message.");
        return;
    }
    const char *id = r->seg[2];
    struct hub_device dev;
    if (hub_store_device_get(r->hub->store, id, &dev) != 0) {
        svc_reply_store_error(r->req, -ENOENT, id);
        return;
    }
    if (r->body_len > C2D_PAYLOAD_MAX) {
        svc_reply_error(r->req, 413, "MessageTooLarge",
                        "The message is %zu bytes; cloud-to-device messages are limited to %d.",
                        r->body_len, C2D_PAYLOAD_MAX);
        return;
    }
    const char *sysval[NSYS] = {0};
    struct hub_c2d_bag app, sys;
    memset(&app, 0, sizeof(app));
    memset(&sys, 0, sizeof(sys));

    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (r->query != NULL && evhttp_parse_query_str(r->query, &q) != 0) {
        evhttp_clear_headers(&q);
        svc_reply_error(r->req, 400, "ArgumentInvalid", "Malformed query string.");
        return;
    }
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &q, next) {
        if (strcmp(kv->key, "api-version") == 0)
            continue;
        size_t i;
        for (i = 0; i < NSYS && strcmp(kv->key, SYS[i].query) != 0; i++)
            ;
        if (i < NSYS)
            sysval[i] = kv->value;
        else if (kv->key[0] != '\0')
            hub_c2d_bag_add(&app, kv->key, kv->value);
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
    TAILQ_FOREACH(kv, h, next) {
        if (strncasecmp(kv->key, "iothub-app-", 11) == 0 && kv->key[11] != '\0') {
            hub_c2d_bag_add(&app, kv->key + 11, kv->value);
            continue;
        }
        for (size_t i = 0; i < NSYS; i++)
            if (strcasecmp(kv->key, SYS[i].header) == 0)
                sysval[i] = kv->value;
    }

    struct c2d_info *info = calloc(1, sizeof(*info));
    if (info == NULL) {
        evhttp_clear_headers(&q);
        svc_reply_store_error(r->req, -ENOMEM, id);
        return;
    }
    const char *bad = NULL;
    if (sysval[0] != NULL) {
        if (sysval[0][0] == '\0' || strlen(sysval[0]) > HUB_C2D_ID_MAX)
            bad = "messageId must be 1 to 128 characters";
        else
            snprintf(info->message_id, sizeof(info->message_id), "%s", sysval[0]);
    } else {
        hub_uuid4(info->message_id);
    }
    if (sysval[5] != NULL) {
        char *end;
        long ttl = strtol(sysval[5], &end, 10);
        if (*end != '\0' || ttl <= 0 || ttl > 48 * 3600)
            bad = "ttl must be a number of seconds between 1 and 172800";
        else
            info->expiry_ms = hub_now_ms() + (int64_t)ttl * 1000;
    }
    if (bad != NULL) {
        free(info);
        evhttp_clear_headers(&q);
        svc_reply_error(r->req, 400, "ArgumentInvalid", "%s.", bad);
        return;
    }
    hub_c2d_bag_add(&sys, "$.mid", info->message_id);
    char to[HUB_DEVICE_ID_MAX + 64];
    snprintf(to, sizeof(to), "/devices/%s/messages/deviceBound", id);
    hub_c2d_bag_add(&sys, "$.to", to);
    for (size_t i = 1; i < NSYS; i++)
        if (sysval[i] != NULL && SYS[i].prop[0])
            hub_c2d_bag_add(&sys, SYS[i].prop, sysval[i]);
    if (info->expiry_ms) {
        char t[40];
        svc_time_iso(info->expiry_ms, t);
        hub_c2d_bag_add(&sys, "$.exp", t);
    }
    evhttp_clear_headers(&q);
    char props[2 * HUB_C2D_BAG_MAX + 2];
    int jr = hub_c2d_props_join(&app, &sys, id, props, sizeof(props));
    if (jr != 0) {
        free(info);
        if (jr == -E2BIG)
            svc_reply_error(r->req, 400, "ArgumentInvalid",
                            "The message properties are too long: the device's topic would "
                            "exceed %d bytes.", HUB_C2D_TOPIC_MAX);
        else
            svc_reply_error(r->req, 400, "ArgumentInvalid",
                            "The message properties are too long (at most %d bytes encoded).",
                            HUB_C2D_BAG_MAX);
        return;
    }

    struct hub_c2d_msg m;
    memset(&m, 0, sizeof(m));
    snprintf(m.message_id, sizeof(m.message_id), "%s", info->message_id);
    m.payload = r->body;
    m.payload_len = r->body_len;
    m.properties = props;
    m.expiry_ms = info->expiry_ms;
    struct svc_op *op = svc_op_new(r, id, 0);
    if (op == NULL) {
        free(info);
        svc_reply_store_error(r->req, -ENOMEM, id);
        return;
    }
    op->data = info;
    int rc = hub_store_c2d_enqueue(r->hub->store, id, &m, NULL, c2d_done, op);
    if (rc < 0) {
        svc_reply_store_error(r->req, rc, id);
        svc_op_free(op);
        return;
    }
    hub_log(HUB_LOG_INFO, "service API: C2D message %s queued for '%s' (%zu bytes)",
            info->message_id, id, r->body_len);
}

/* ---- DELETE /devices/{id}/commands: purge the queue (Azure's purgeCloudToDeviceMessageQueue) */

struct purge_info {
    struct hub_iothub *hub;
    const char *id;
    int purged;
};

/* Each purged message: a Purged feedback record if its ack mode asks for one. */
static void purged_one(void *ctx, const struct hub_c2d_msg *m)
{
    struct purge_info *p = ctx;
    hub_c2d_feedback(p->hub, p->id, m->message_id, hub_c2d_props_ack(m->properties),
                     HUB_FEEDBACK_PURGED);
}

static void purge_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    struct purge_info *p = op->data;
    if (svc_op_live(op)) {
        if (rc != 0) {
            svc_reply_store_error(op->req, rc, op->id);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "totalMessagesPurged", p->purged);
            cJSON_AddStringToObject(o, "deviceId", op->id);
            cJSON_AddNullToObject(o, "moduleId");
            svc_reply_json(op->req, 200, o, NULL);
        }
    }
    svc_op_free(op);
}

void svc_c2d_purge(struct svc_req *r)
{
    if (r->method != SVC_DELETE) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use DELETE to purge the queue.");
        return;
    }
    const char *id = r->seg[1];
    struct svc_op *op = svc_op_new(r, id, 0);
    struct purge_info *p = op ? calloc(1, sizeof(*p)) : NULL;
    if (p == NULL) {
        svc_op_free(op);
        svc_reply_store_error(r->req, -ENOMEM, id);
        return;
    }
    op->data = p;
    p->hub = r->hub;
    p->id = op->id;
    int n = hub_store_c2d_purge(r->hub->store, op->id, purged_one, p, purge_done, op);
    if (n < 0) {
        svc_reply_store_error(r->req, n, id);
        svc_op_free(op);
        return;
    }
    p->purged = n;
    hub_c2d_http_unlock(r->hub, op->id);
    hub_log(HUB_LOG_INFO, "device '%s': C2D queue purged (%d messages)", op->id, n);
}

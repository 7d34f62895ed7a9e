/* PUBLISH from a device: telemetry, twin GET, reported PATCH, method response. Anything
 * else -- another device's topic, an undocumented topic, QoS 2 -- disconnects, as IoT Hub
 * does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/iothub/faults.h"
#include "hub/log.h"
#include "hub/iothub/methods.h"
#include "hub/iothub/telemetry.h"
#include "hub/iothub/twin.h"

static void send_twin_response(struct hub_conn *c, int status, struct azk_span rid,
                               int64_t version, const void *body, size_t body_len)
{
    /* Like IoT Hub: an answer goes only to a device subscribed to $iothub/twin/res/#. */
    if (!(c->subs & HUB_SUB_TWIN_RES))
        return;
    char topic[256];
    size_t n = 0;
    if (azk_hub_twin_response_topic(status, rid, version, topic, sizeof(topic), &n) == 0)
        hub_conn_publish(c, topic, n, body, body_len, 0);
}

static void twin_get(struct hub_conn *c, struct azk_span rid)
{
    if (hub_faults_take_twin(c->d)) {
        send_twin_response(c, 429, rid, -1, "", 0);
        return;
    }
    char *doc = NULL;
    size_t len = 0;
    int rc = hub_twin_device_document(c->hub, c->device_id, &doc, &len);
    if (rc != 0) {
        send_twin_response(c, rc == -ENOENT ? 404 : 500, rid, -1, "", 0);
        return;
    }
    send_twin_response(c, 200, rid, -1, doc, len);
    free(doc);
}

struct patch_ctx {
    struct hub_conn *c;
    struct hub_puback *slot; /* QoS 1: acknowledged once committed */
    int64_t version;
    size_t rid_len;
    char rid[];
};

static void patch_committed(void *arg, int rc)
{
    struct patch_ctx *p = arg;
    if (hub_conn_alive(p->c)) {
        send_twin_response(p->c, rc == 0 ? 204 : 500, (struct azk_span){p->rid, p->rid_len},
                           rc == 0 ? p->version : -1, "", 0);
        if (p->slot)
            hub_puback_ready(p->c, p->slot);
    }
    hub_conn_unref(p->c);
    free(p);
}

static int twin_patch(struct hub_conn *c, struct azk_span rid, struct azk_span body,
                      struct hub_puback *slot)
{
    if (hub_faults_take_twin(c->d)) {
        send_twin_response(c, 429, rid, -1, "", 0);
        if (slot)
            hub_puback_ready(c, slot);
        return 0;
    }
    struct patch_ctx *p = malloc(sizeof(*p) + rid.len);
    if (p == NULL)
        return -ENOMEM;
    p->c = c;
    p->slot = slot;
    p->rid_len = rid.len;
    memcpy(p->rid, rid.ptr, rid.len);
    hub_conn_ref(c);
    int rc = hub_twin_patch_reported(c->hub, c->device_id, body, &p->version, patch_committed, p);
    if (rc != 0) {
        /* Answered at once: 400 for a body that is not a JSON object or breaks IoT Hub's
         * twin limits (twin_limits.h). */
        send_twin_response(c, rc == -EBADMSG || rc == -E2BIG ? 400 : 500, rid, -1, "", 0);
        if (slot)
            hub_puback_ready(c, slot);
        hub_conn_unref(c);
        free(p);
    }
    return 0;
}

int hub_handle_publish(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    const struct azk_mqtt_publish *pub = &p->u.publish;
    if (pub->qos > 1) {
        hub_conn_close(c, true, "PUBLISH with QoS 2 (IoT Hub supports QoS 0 and 1)");
        return -1;
    }
    struct azk_hub_topic t;
    int rc = azk_hub_parse_device_topic(pub->topic, azk_span_from_str(c->device_id), &t);
    if (rc != 0) {
        hub_conn_close(c, true, "PUBLISH to '%.*s': %s", (int)pub->topic.len, pub->topic.ptr,
                       rc == -EACCES ? "another device's topic"
                       : rc == -ENOENT ? "not a documented IoT Hub device topic"
                                       : "malformed topic");
        return -1;
    }
    switch (t.kind) {
    case AZK_HUB_TOPIC_TELEMETRY:
        if (pub->payload.len > c->d->cfg.max_telemetry_packet) {
            hub_conn_close(c, true, "telemetry message of %zu bytes is over the limit of %zu",
                           pub->payload.len, c->d->cfg.max_telemetry_packet);
            return -1;
        }
        rc = hub_telemetry_publish(c, t.properties, pub->payload, pub->qos, pub->packet_id,
                                   pub->retain);
        if (rc == 0)
            hub_faults_telemetry(c, t.properties);
        if (rc != 0) {
            hub_conn_close(c, true, "telemetry refused: %s",
                           rc == -EBADMSG ? "malformed property bag" : "could not be stored");
            return -1;
        }
        return 0;
    case AZK_HUB_TOPIC_TWIN_GET:
    case AZK_HUB_TOPIC_TWIN_PATCH:
    case AZK_HUB_TOPIC_METHOD_RESPONSE:
        break;
    default:
        hub_conn_close(c, true, "PUBLISH to an unsupported topic");
        return -1;
    }
    /* QoS 1 on twin and method topics: the PUBACK keeps its place behind earlier ones. */
    struct hub_puback *slot = NULL;
    if (pub->qos == 1 && (slot = hub_puback_reserve(c, pub->packet_id)) == NULL) {
        hub_conn_close(c, true, "out of memory");
        return -1;
    }
    if (t.kind == AZK_HUB_TOPIC_TWIN_PATCH) {
        if (twin_patch(c, t.rid, pub->payload, slot) != 0) {
            hub_conn_close(c, true, "out of memory");
            return -1;
        }
        return 0; /* acknowledged once committed */
    }
    if (t.kind == AZK_HUB_TOPIC_TWIN_GET) {
        twin_get(c, t.rid);
    } else {
        if (pub->payload.len > c->d->cfg.max_method_response) {
            hub_conn_close(c, true, "method response of %zu bytes is over the limit of %zu",
                           pub->payload.len, c->d->cfg.max_method_response);
            return -1;
        }
        hub_methods_device_answered(c->hub, c->device_id, t.rid, t.status, pub->payload);
    }
    if (slot)
        hub_puback_ready(c, slot);
    return 0;
}

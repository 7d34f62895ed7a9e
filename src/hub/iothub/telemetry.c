/* Device-to-cloud messages into the store, PUBACK after commit. */
#include "hub/iothub/telemetry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/iothub/props_json.h"
#include "hub/log.h"

struct puback_ctx {
    struct hub_conn *c;
    struct hub_puback *slot; /* QoS 1 only */
    size_t bytes;            /* counted in c->pending_bytes until committed */
};

static void committed(void *arg, int rc)
{
    struct puback_ctx *p = arg;
    p->c->pending_bytes -= p->bytes;
    if (p->c->read_paused && p->c->pending_bytes < HUB_CONN_PENDING_LOW && hub_conn_alive(p->c))
        hub_conn_resume_read(p->c);
    if (rc == 0 && hub_conn_alive(p->c) && p->slot)
        hub_puback_ready(p->c, p->slot);
    else if (rc != 0 && hub_conn_alive(p->c))
        /* Never acknowledge what was not stored: the device will resend it. */
        hub_conn_close(p->c, false, "telemetry could not be stored (%d)", rc);
    hub_conn_unref(p->c);
    free(p);
}

static int store_record(struct hub_conn *c, struct azk_span props, struct azk_span payload,
                        bool will, bool retain, hub_store_done_fn done, void *ctx)
{
    struct hub_telemetry rec;
    memset(&rec, 0, sizeof(rec));
    _Static_assert(sizeof rec.device_id == sizeof c->device_id, "device id sizes differ");
    memcpy(rec.device_id, c->device_id, sizeof rec.device_id);
    rec.payload = (void *)payload.ptr;
    rec.payload_len = payload.len;
    /* The system properties IoT Hub adds to every device-to-cloud message. */
    struct hub_sys_prop add[4] = {{"iothub-connection-device-id", c->device_id},
                                  {"iothub-connection-auth-method", "x509"}};
    size_t nadd = 2;
    if (will)
        add[nadd++] = (struct hub_sys_prop){"iothub-MessageType", "Will"};
    if (retain)
        add[nadd++] = (struct hub_sys_prop){"mqtt-retain", "true"};
    int rc = hub_props_json(props, add, nadd, &rec.app_props, &rec.sys_props);
    if (rc == 0) {
        strcpy(rec.msg_type, will ? "Will" : "Telemetry"); /* sized for "Telemetry" */
        rc = hub_store_telemetry_append(c->hub->store, &rec, NULL, done, ctx);
    }
    free(rec.app_props);
    free(rec.sys_props);
    return rc;
}

int hub_telemetry_publish(struct hub_conn *c, struct azk_span props, struct azk_span payload,
                          int qos, uint16_t packet_id, bool retain)
{
    /* Every message is tracked until committed (QoS 1 for its PUBACK, all for back-pressure). */
    struct puback_ctx *p = calloc(1, sizeof(*p));
    if (p == NULL || (qos == 1 && (p->slot = hub_puback_reserve(c, packet_id)) == NULL)) {
        free(p);
        return -ENOMEM;
    }
    p->c = c;
    p->bytes = payload.len + props.len + 256;
    hub_conn_ref(c);
    int rc = store_record(c, props, payload, false, retain, committed, p);
    if (rc != 0) {
        hub_conn_unref(c);
        free(p);
        return rc;
    }
    c->pending_bytes += p->bytes;
    if (!c->read_paused && c->pending_bytes > HUB_CONN_PENDING_HIGH) {
        c->read_paused = true;
        bufferevent_disable(c->bev, EV_READ);
        hub_log(HUB_LOG_DEBUG, "device '%s': reading paused, %zu bytes of telemetry waiting for "
                "the disk", c->device_id, c->pending_bytes);
    }
    return 0;
}

void hub_telemetry_store_will(struct hub_conn *c)
{
    /* The Will topic must be the device's telemetry topic; its property bag is kept. */
    struct azk_hub_topic t;
    struct azk_span topic = {c->will_topic, strlen(c->will_topic)};
    struct azk_span props = {NULL, 0};
    if (azk_hub_parse_device_topic(topic, azk_span_from_str(c->device_id), &t) == 0 &&
        t.kind == AZK_HUB_TOPIC_TELEMETRY)
        props = t.properties;
    struct azk_span payload = {c->will_payload, c->will_payload_len};
    if (store_record(c, props, payload, true, c->will_retain, NULL, NULL) != 0)
        hub_log(HUB_LOG_WARN, "device '%s': the Will message could not be stored",
                c->device_id);
}

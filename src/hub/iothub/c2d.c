/* Cloud-to-device delivery: one message in flight per device at QoS 1, removed on PUBACK. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/amqp/amqp.h"
#include "hub/iothub/feedback.h"

void hub_c2d_pump(struct hub_conn *c)
{
    if (!hub_conn_alive(c) || c->state != HUB_CONN_CONNECTED || !(c->subs & HUB_SUB_C2D) ||
        c->c2d_inflight != 0)
        return;
    struct hub_c2d_msg m;
    if (hub_store_c2d_next(c->hub->store, c->device_id, hub_now_ms(), &m) != 0)
        return;
    /* devices/{id}/messages/devicebound/{bag}: the bag is stored already encoded. */
    char topic[HUB_C2D_TOPIC_MAX + 1];
    size_t n = 0;
    int rc = azk_hub_c2d_topic(azk_span_from_str(c->device_id), NULL, 0, topic, sizeof(topic),
                               &n, NULL);
    size_t plen = m.properties ? strlen(m.properties) : 0;
    if (rc == 0 && n + plen < sizeof(topic)) {
        memcpy(topic + n, m.properties, plen);
        n += plen;
        uint16_t pid = hub_conn_publish(c, topic, n, m.payload, m.payload_len, 1);
        if (pid != 0) {
            c->c2d_inflight = pid;
            memcpy(c->c2d_inflight_id, m.message_id, sizeof(c->c2d_inflight_id));
            c->c2d_inflight_ack = hub_c2d_props_ack(m.properties);
            hub_store_c2d_mark_inflight(c->hub->store, c->device_id, m.message_id, pid, NULL,
                                        NULL);
        }
    } else {
        hub_log(HUB_LOG_WARN, "device '%s': C2D message %s cannot be delivered (topic too long); "
                "dropped", c->device_id, m.message_id);
        hub_store_c2d_remove(c->hub->store, c->device_id, m.message_id, NULL, NULL);
        hub_c2d_msg_clear(&m);
        hub_c2d_pump(c); /* the next one (bounded by the queue's 50 messages) */
        return;
    }
    hub_c2d_msg_clear(&m);
}

void hub_c2d_feedback(struct hub_iothub *h, const char *device_id, const char *message_id,
                      enum hub_c2d_ack ack, enum hub_feedback_status status)
{
    if (!hub_feedback_wanted(ack, status))
        return;
    struct hub_feedback_rec r;
    memset(&r, 0, sizeof(r));
    snprintf(r.original_message_id, sizeof(r.original_message_id), "%s", message_id);
    snprintf(r.device_id, sizeof(r.device_id), "%s", device_id);
    struct hub_device dev;
    if (hub_store_device_get(h->store, device_id, &dev) == 0)
        snprintf(r.device_generation_id, sizeof(r.device_generation_id), "%s",
                 dev.generation_id);
    r.status = status;
    r.at_ms = hub_now_ms();
    if (hub_feedback_push(&h->feedback, &r) != 0)
        return;
    hub_log(HUB_LOG_DEBUG, "device '%s': C2D message %s: feedback %s queued", device_id,
            message_id, hub_feedback_status_name(status));
    hub_amqp_feedback_ready(h->d->amqp, h);
}

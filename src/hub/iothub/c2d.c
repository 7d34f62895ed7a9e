/* Cloud-to-device delivery: one message in flight per device at QoS 1, removed on PUBACK. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/amqp/amqp.h"
#include "hub/iothub/feedback.h"

int hub_c2d_next(struct hub_iothub *h, const char *device_id, struct hub_c2d_msg *out)
{
    for (;;) {
        int rc = hub_store_c2d_next(h->store, device_id, hub_now_ms(), out);
        if (rc != 0 || out->delivery_count < HUB_C2D_MAX_DELIVERY)
            return rc;
        hub_log(HUB_LOG_INFO, "device '%s': C2D message %s delivered %u times and never "
                "completed: dead-lettered (DeliveryCountExceeded)", device_id, out->message_id,
                (unsigned)out->delivery_count);
        hub_store_c2d_remove(h->store, device_id, out->message_id, NULL, NULL);
        hub_c2d_feedback(h, device_id, out->message_id, hub_c2d_props_ack(out->properties),
                         HUB_FEEDBACK_DELIVERY_COUNT_EXCEEDED);
        hub_c2d_msg_clear(out); /* bounded by the queue's 50 messages */
    }
}

void hub_c2d_pump(struct hub_conn *c)
{
    if (!hub_conn_alive(c) || c->state != HUB_CONN_CONNECTED || !(c->subs & HUB_SUB_C2D) ||
        c->c2d_inflight != 0)
        return;
    struct hub_c2d_msg m;
    if (hub_c2d_next(c->hub, c->device_id, &m) != 0)
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

/* ---- the device HTTPS API ------------------------------------------------------------------ */

/* The store's in-flight mark needs a packet id; HTTP deliveries use the highest one. An MQTT
 * connection of the same device would have to reach it with a C2D message of its own in flight
 * at the same moment for the two to be confused. */
#define HTTP_PACKET_ID 0xffff

struct hub_c2d_lock {
    struct hub_c2d_lock *next;
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char message_id[HUB_C2D_ID_MAX + 1];
    char token[37];
    enum hub_c2d_ack ack;
    int64_t expires_ms;
};

static struct hub_c2d_lock **lock_slot(struct hub_iothub *h, const char *device_id)
{
    struct hub_c2d_lock **l = &h->c2d_locks;
    while (*l && strcmp((*l)->device_id, device_id) != 0)
        l = &(*l)->next;
    return l;
}

static void unlock(struct hub_c2d_lock **l)
{
    struct hub_c2d_lock *k = *l;
    *l = k->next;
    free(k);
}

int hub_c2d_http_receive(struct hub_iothub *h, const char *device_id, struct hub_c2d_msg *out,
                         char token[37])
{
    struct hub_c2d_lock **l = lock_slot(h, device_id);
    if (*l && (*l)->expires_ms > hub_now_ms())
        return -EAGAIN;
    if (*l) { /* the lock expired: the message is available again, as on IoT Hub */
        hub_store_c2d_requeue_inflight(h->store, device_id);
        unlock(l);
    }
    struct hub_c2d_lock *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    int rc = hub_c2d_next(h, device_id, out);
    if (rc != 0) {
        free(k);
        return rc;
    }
    hub_store_c2d_mark_inflight(h->store, device_id, out->message_id, HTTP_PACKET_ID, NULL,
                                NULL);
    out->delivery_count++; /* this delivery, as the header reports it */
    snprintf(k->device_id, sizeof(k->device_id), "%s", device_id);
    memcpy(k->message_id, out->message_id, sizeof(k->message_id));
    hub_uuid4(k->token);
    memcpy(token, k->token, sizeof(k->token));
    k->ack = hub_c2d_props_ack(out->properties);
    k->expires_ms = hub_now_ms() + HUB_C2D_LOCK_MS;
    k->next = h->c2d_locks;
    h->c2d_locks = k;
    return 0;
}

int hub_c2d_http_settle(struct hub_iothub *h, const char *device_id, const char *token,
                        enum hub_c2d_outcome outcome)
{
    struct hub_c2d_lock **l = lock_slot(h, device_id);
    if (*l == NULL || strcmp((*l)->token, token) != 0 || (*l)->expires_ms <= hub_now_ms())
        return -ESTALE;
    struct hub_c2d_lock *k = *l;
    if (outcome == HUB_C2D_ABANDON) {
        hub_store_c2d_requeue_inflight(h->store, device_id);
    } else {
        hub_store_c2d_remove(h->store, device_id, k->message_id, NULL, NULL);
        hub_c2d_feedback(h, device_id, k->message_id, k->ack,
                         outcome == HUB_C2D_REJECT ? HUB_FEEDBACK_REJECTED
                                                   : HUB_FEEDBACK_SUCCESS);
    }
    hub_log(HUB_LOG_DEBUG, "device '%s': C2D message %s %s (HTTPS)", device_id, k->message_id,
            outcome == HUB_C2D_ABANDON  ? "abandoned"
            : outcome == HUB_C2D_REJECT ? "rejected"
                                        : "completed");
    unlock(l);
    return 0;
}

void hub_c2d_http_unlock(struct hub_iothub *h, const char *device_id)
{
    struct hub_c2d_lock **l = lock_slot(h, device_id);
    if (*l)
        unlock(l);
}

void hub_c2d_http_locks_free(struct hub_iothub *h)
{
    while (h->c2d_locks)
        unlock(&h->c2d_locks);
}

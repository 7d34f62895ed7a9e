/* Cloud-to-device delivery: one message in flight per device at QoS 1, removed on PUBACK. */
#include <errno.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

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

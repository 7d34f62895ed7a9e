/* PINGREQ, DISCONNECT and PUBACK (of a C2D message) on a device connection; PINGRESP and
 * DISCONNECT are shared with DPS connections (kind_device.c, dps_connect.c). */
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

void hub_send_pingresp(struct hub_conn *c)
{
    uint8_t out[2];
    size_t n = 0;
    azk_mqtt_encode_pingresp(out, sizeof(out), &n);
    hub_conn_send(c, out, n);
}

int hub_handle_pingreq(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    (void)p;
    hub_send_pingresp(c);
    hub_store_device_touch(c->hub->store, c->device_id, hub_now_ms());
    return 0;
}

int hub_handle_disconnect(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    (void)p;
    c->got_disconnect = true;
    hub_conn_close(c, false, "DISCONNECT");
    return -1;
}

int hub_handle_puback(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    uint16_t id = p->u.packet_id;
    if (c->c2d_inflight == 0 || id != c->c2d_inflight) {
        hub_log(HUB_LOG_DEBUG, "device '%s': PUBACK %u for nothing in flight", c->device_id, id);
        return 0;
    }
    c->c2d_inflight = 0;
    /* The store removes it from memory at once (and from disk in the next group commit),
     * so the next message can go out now. */
    if (hub_store_c2d_ack_packet(c->hub->store, c->device_id, id, NULL, NULL) == 0)
        hub_c2d_feedback(c->hub, c->device_id, c->c2d_inflight_id, c->c2d_inflight_ack,
                         HUB_FEEDBACK_SUCCESS); /* not for a message purged meanwhile */
    hub_c2d_pump(c);
    return 0;
}

/* SUBSCRIBE / UNSUBSCRIBE: only the documented device topics of the connected device. */
#include <errno.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/log.h"
#include "hub/mqtt/session.h"

static unsigned kind_bit(enum azk_hub_filter_kind k)
{
    switch (k) {
    case AZK_HUB_FILTER_C2D: return HUB_SUB_C2D;
    case AZK_HUB_FILTER_TWIN_RESPONSE: return HUB_SUB_TWIN_RES;
    case AZK_HUB_FILTER_TWIN_DESIRED: return HUB_SUB_TWIN_DESIRED;
    case AZK_HUB_FILTER_METHODS: return HUB_SUB_METHODS;
    default: return 0;
    }
}

static int classify(struct hub_conn *c, struct azk_span filter, unsigned *bit)
{
    enum azk_hub_filter_kind kind;
    int rc = azk_hub_parse_filter(filter, azk_span_from_str(c->device_id), &kind);
    if (rc != 0) {
        hub_conn_close(c, true, "SUBSCRIBE to '%.*s': %s", (int)filter.len, filter.ptr,
                       rc == -EACCES ? "another device's topic"
                                     : "not a documented IoT Hub device topic");
        return -1;
    }
    *bit = kind_bit(kind);
    return 0;
}

/* More filters than any IoT Hub device has use for (there are four device topics). */
#define MAX_FILTERS 32

int hub_handle_subscribe(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    if (p->u.subscribe.count > MAX_FILTERS) {
        hub_conn_close(c, true, "SUBSCRIBE with %zu filters (IoT Hub devices have 4 topics)",
                       p->u.subscribe.count);
        return -1;
    }
    uint8_t codes[MAX_FILTERS];
    size_t n = 0;
    struct azk_mqtt_iter it;
    struct azk_mqtt_subscription sub;
    unsigned added = 0;
    azk_mqtt_iter_init(&it, p);
    while (azk_mqtt_iter_next_subscription(&it, &sub)) {
        unsigned bit;
        if (classify(c, sub.filter, &bit) != 0)
            return -1;
        added |= bit;
        codes[n++] = sub.qos > 1 ? 1 : sub.qos; /* QoS 2 granted as 1 */
    }
    c->subs |= added;
    hub_session_save(c);
    uint8_t out[8 + MAX_FILTERS];
    size_t len = 0;
    if (azk_mqtt_encode_suback(p->u.subscribe.packet_id, codes, n, out, sizeof(out), &len) == 0)
        hub_conn_send(c, out, len);
    if (added & HUB_SUB_C2D)
        hub_c2d_pump(c);
    return 0;
}

int hub_handle_unsubscribe(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    struct azk_mqtt_iter it;
    struct azk_span filter;
    azk_mqtt_iter_init(&it, p);
    while (azk_mqtt_iter_next_filter(&it, &filter)) {
        unsigned bit;
        if (classify(c, filter, &bit) != 0)
            return -1;
        c->subs &= ~bit;
    }
    hub_session_save(c);
    uint8_t out[4];
    size_t len = 0;
    azk_mqtt_encode_ack(AZK_MQTT_UNSUBACK, p->u.unsubscribe.packet_id, out, sizeof(out), &len);
    hub_conn_send(c, out, len);
    return 0;
}

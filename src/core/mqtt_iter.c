/* MQTT codec: zero-allocation walks over the entries of SUBSCRIBE, UNSUBSCRIBE and SUBACK. The
 * lists were validated when decoded; the walk is still bounds-checked so a hand-made packet
 * struct cannot lead it outside its span. */
#include <string.h>

#include "azkit/mqtt.h"

AZK_API void azk_mqtt_iter_init(struct azk_mqtt_iter *it, const struct azk_mqtt_packet *pkt)
{
    if (!it)
        return;
    memset(it, 0, sizeof(*it));
    if (!pkt)
        return;
    switch (pkt->type) {
    case AZK_MQTT_SUBSCRIBE:
        it->_rest = pkt->u.subscribe.entries;
        break;
    case AZK_MQTT_UNSUBSCRIBE:
        it->_rest = pkt->u.unsubscribe.entries;
        break;
    case AZK_MQTT_SUBACK:
        it->_rest = pkt->u.suback.entries;
        break;
    default:
        return;
    }
    if (!it->_rest.ptr)
        it->_rest.len = 0;
    it->_type = pkt->type;
}

/* Takes a length-prefixed field off the front of the rest. */
static bool take_field(struct azk_mqtt_iter *it, struct azk_span *f)
{
    const uint8_t *p = (const uint8_t *)it->_rest.ptr;
    if (it->_rest.len < 2)
        return false;
    size_t n = (size_t)p[0] << 8 | p[1];
    if (it->_rest.len - 2 < n)
        return false;
    f->ptr = it->_rest.ptr + 2;
    f->len = n;
    it->_rest.ptr += 2 + n;
    it->_rest.len -= 2 + n;
    return true;
}

AZK_API bool azk_mqtt_iter_next_subscription(struct azk_mqtt_iter *it,
                                             struct azk_mqtt_subscription *out)
{
    if (!it || !out || it->_type != AZK_MQTT_SUBSCRIBE)
        return false;
    struct azk_mqtt_iter save = *it;
    if (!take_field(it, &out->filter) || it->_rest.len < 1) {
        *it = save;
        it->_rest.len = 0;
        return false;
    }
    out->qos = (uint8_t)(*(const uint8_t *)it->_rest.ptr & 3u);
    it->_rest.ptr++;
    it->_rest.len--;
    return true;
}

AZK_API bool azk_mqtt_iter_next_filter(struct azk_mqtt_iter *it, struct azk_span *filter)
{
    if (!it || !filter || it->_type != AZK_MQTT_UNSUBSCRIBE)
        return false;
    if (!take_field(it, filter)) {
        it->_rest.len = 0;
        return false;
    }
    return true;
}

AZK_API bool azk_mqtt_iter_next_suback_code(struct azk_mqtt_iter *it, uint8_t *code)
{
    if (!it || !code || it->_type != AZK_MQTT_SUBACK || it->_rest.len == 0)
        return false;
    *code = *(const uint8_t *)it->_rest.ptr;
    it->_rest.ptr++;
    it->_rest.len--;
    return true;
}

/* MQTT codec: the incremental (sans-I/O) decoder. It gathers one packet at a time in the
 * caller's buffer, checking the first byte and the remaining length as soon as they arrive,
 * then validates the whole packet with azk_mqtt_decode(). */
#include <errno.h>
#include <string.h>

#include "azkit/mqtt.h"

AZK_API int azk_mqtt_decoder_init(struct azk_mqtt_decoder *d,
                                  const struct azk_mqtt_decoder_config *cfg, void *buf,
                                  size_t buf_size)
{
    if (!d || !cfg || !buf ||
        (cfg->role != AZK_MQTT_ROLE_CLIENT && cfg->role != AZK_MQTT_ROLE_SERVER))
        return -EINVAL;
    size_t limit = buf_size;
    if (cfg->max_packet_size && cfg->max_packet_size < limit)
        limit = cfg->max_packet_size;
    if (limit < 2)
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    d->_internal.cfg = *cfg;
    d->_internal.buf = buf;
    d->_internal.limit = limit;
    return 0;
}

AZK_API void azk_mqtt_decoder_reset(struct azk_mqtt_decoder *d)
{
    if (!d)
        return;
    d->_internal.have = 0;
    d->_internal.total = 0;
    d->_internal.err = 0;
    d->_internal.done = false;
    d->_internal.reason = AZK_MQTT_R_OK;
}

AZK_API enum azk_mqtt_reason azk_mqtt_decoder_reason(const struct azk_mqtt_decoder *d)
{
    return d ? d->_internal.reason : AZK_MQTT_R_OK;
}

static int set_error(struct azk_mqtt_decoder *d, enum azk_mqtt_reason r)
{
    d->_internal.reason = r;
    d->_internal.err = azk_mqtt_reason_errno(r);
    return d->_internal.err;
}

AZK_API int azk_mqtt_decoder_feed(struct azk_mqtt_decoder *d, const void *data, size_t len,
                                  size_t *consumed, struct azk_mqtt_packet *pkt)
{
    if (consumed)
        *consumed = 0;
    if (!d || !d->_internal.buf || !consumed || !pkt || (!data && len))
        return -EINVAL;
    if (d->_internal.err)
        return d->_internal.err;
    if (d->_internal.done) {
        d->_internal.done = false;
        d->_internal.have = 0;
        d->_internal.total = 0;
    }
    const uint8_t *in = data;
    uint8_t *buf = d->_internal.buf;
    size_t pos = 0;
    while (pos < len) {
        if (d->_internal.total == 0) {
            /* fixed header: one byte at a time until the remaining length is complete */
            if (d->_internal.have >= d->_internal.limit) {
                *consumed = pos;
                return set_error(d, AZK_MQTT_R_PACKET_TOO_LARGE);
            }
            buf[d->_internal.have++] = in[pos++];
            if (d->_internal.have == 1) {
                enum azk_mqtt_reason r;
                if (azk_mqtt_header_check(d->_internal.cfg.role, buf[0], &r)) {
                    *consumed = pos;
                    return set_error(d, r);
                }
                continue;
            }
            uint32_t rem;
            size_t used;
            int rc = azk_mqtt_varint_decode(buf + 1, d->_internal.have - 1, &rem, &used);
            if (rc == -EAGAIN)
                continue;
            if (rc) {
                *consumed = pos;
                return set_error(d, AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG);
            }
            d->_internal.total = 1 + used + rem; /* < 2^28 + 5 */
            if (d->_internal.total > d->_internal.limit) {
                *consumed = pos;
                return set_error(d, AZK_MQTT_R_PACKET_TOO_LARGE);
            }
        } else {
            size_t want = d->_internal.total - d->_internal.have;
            size_t n = len - pos < want ? len - pos : want;
            memcpy(buf + d->_internal.have, in + pos, n);
            d->_internal.have += n;
            pos += n;
        }
        if (d->_internal.total && d->_internal.have == d->_internal.total) {
            enum azk_mqtt_reason r;
            *consumed = pos;
            if (azk_mqtt_decode(&d->_internal.cfg, buf, d->_internal.have, pkt, NULL, &r))
                return set_error(d, r);
            d->_internal.done = true;
            return AZK_MQTT_PACKET;
        }
    }
    *consumed = pos;
    return AZK_MQTT_NEED_MORE;
}

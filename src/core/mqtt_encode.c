/* MQTT codec: encoders for every packet type. Each one validates its input, computes the
 * remaining length (overflow-safe for 32-bit size_t), and only then writes, so a too-small
 * buffer is never touched. */
#include <errno.h>
#include <string.h>

#include "azkit/mqtt.h"

struct writer {
    uint8_t *p;
    size_t pos;
};

static void put_u8(struct writer *w, uint8_t v)
{
    w->p[w->pos++] = v;
}

static void put_u16(struct writer *w, uint16_t v)
{
    w->p[w->pos++] = (uint8_t)(v >> 8);
    w->p[w->pos++] = (uint8_t)(v & 0xFFu);
}

static void put_raw(struct writer *w, struct azk_span s)
{
    if (s.len) {
        memcpy(w->p + w->pos, s.ptr, s.len);
        w->pos += s.len;
    }
}

/* A string or binary field: 2-byte big-endian length, then the bytes. */
static void put_field(struct writer *w, struct azk_span s)
{
    put_u16(w, (uint16_t)s.len);
    put_raw(w, s);
}

/* *acc += n unless that exceeds the largest remaining length. */
static bool add_len(size_t *acc, size_t n)
{
    if (n > AZK_MQTT_MAX_REMAINING_LENGTH - *acc)
        return false;
    *acc += n;
    return true;
}

/* A binary field that fits a 2-byte length. */
static bool binary_ok(struct azk_span s)
{
    return s.len <= AZK_MQTT_MAX_STRING_LENGTH && (s.ptr || s.len == 0);
}

/* A UTF-8 string field that fits a 2-byte length. */
static bool string_ok(struct azk_span s)
{
    return binary_ok(s) && azk_mqtt_utf8_check(s) == AZK_MQTT_R_OK;
}

/* Checks the arguments common to every encoder, reserves the whole packet and writes the fixed
 * header. `rem` is at most AZK_MQTT_MAX_REMAINING_LENGTH. `extra` bytes (a payload the caller
 * sends separately) count in the remaining length but are not part of what is written. */
static int begin(uint8_t first, size_t rem, size_t extra, void *buf, size_t buf_size,
                 size_t *out_len, struct writer *w)
{
    if (!out_len || (!buf && buf_size))
        return -EINVAL;
    size_t vlen = azk_mqtt_varint_size((uint32_t)(rem + extra));
    size_t total = 1 + vlen + rem;
    *out_len = total;
    if (buf_size < total)
        return -ENOBUFS;
    w->p = buf;
    w->pos = 0;
    put_u8(w, first);
    size_t used;
    (void)azk_mqtt_varint_encode((uint32_t)(rem + extra), w->p + 1, vlen, &used);
    w->pos += used;
    return 0;
}

AZK_API int azk_mqtt_encode_connect(const struct azk_mqtt_connect *c, void *buf,
                                    size_t buf_size, size_t *out_len)
{
    if (!c || !string_ok(c->client_id))
        return -EINVAL;
    if (c->client_id.len == 0 && !c->clean_session)
        return -EINVAL;
    size_t rem = 10 + 2 + c->client_id.len;
    uint8_t flags = c->clean_session ? 0x02u : 0;
    if (c->will) {
        if (c->will_qos > 2 || c->will_topic.len == 0 || !string_ok(c->will_topic) ||
            !binary_ok(c->will_payload))
            return -EINVAL;
        rem += 2 + c->will_topic.len + 2 + c->will_payload.len; /* < 5 * 65537: no overflow */
        flags |= (uint8_t)(0x04u | (unsigned)c->will_qos << 3 | (c->will_retain ? 0x20u : 0));
    }
    if (c->has_username) {
        if (!string_ok(c->username))
            return -EINVAL;
        rem += 2 + c->username.len;
        flags |= 0x80u;
    }
    if (c->has_password) {
        if (!c->has_username || !binary_ok(c->password))
            return -EINVAL;
        rem += 2 + c->password.len;
        flags |= 0x40u;
    }
    struct writer w;
    int rc = begin((uint8_t)(AZK_MQTT_CONNECT << 4), rem, 0, buf, buf_size, out_len, &w);
    if (rc)
        return rc;
    put_field(&w, AZK_SPAN_LIT("MQTT"));
    put_u8(&w, 4);
    put_u8(&w, flags);
    put_u16(&w, c->keep_alive);
    put_field(&w, c->client_id);
    if (c->will) {
        put_field(&w, c->will_topic);
        put_field(&w, c->will_payload);
    }
    if (c->has_username)
        put_field(&w, c->username);
    if (c->has_password)
        put_field(&w, c->password);
    return 0;
}

AZK_API int azk_mqtt_encode_connack(const struct azk_mqtt_connack *c, void *buf,
                                    size_t buf_size, size_t *out_len)
{
    if (!c || c->return_code > 5 || (c->session_present && c->return_code != 0))
        return -EINVAL;
    struct writer w;
    int rc = begin((uint8_t)(AZK_MQTT_CONNACK << 4), 2, 0, buf, buf_size, out_len, &w);
    if (rc)
        return rc;
    put_u8(&w, c->session_present ? 1 : 0);
    put_u8(&w, c->return_code);
    return 0;
}

static int encode_publish(const struct azk_mqtt_publish *p, bool with_payload, void *buf,
                          size_t buf_size, size_t *out_len)
{
    if (!p || p->topic.len == 0 || !string_ok(p->topic) || p->qos > 2)
        return -EINVAL;
    if ((p->qos > 0 && p->packet_id == 0) || (p->qos == 0 && p->dup))
        return -EINVAL;
    if (with_payload && !p->payload.ptr && p->payload.len)
        return -EINVAL;
    size_t rem = 2 + p->topic.len + (p->qos ? 2u : 0u);
    size_t with = rem;
    if (!add_len(&with, p->payload.len))
        return -EINVAL;
    uint8_t first = (uint8_t)(AZK_MQTT_PUBLISH << 4 | (p->dup ? 0x08u : 0) |
                              (unsigned)p->qos << 1 | (p->retain ? 0x01u : 0));
    struct writer w;
    int rc = begin(first, with_payload ? with : rem, with_payload ? 0 : p->payload.len, buf,
                   buf_size, out_len, &w);
    if (rc)
        return rc;
    put_field(&w, p->topic);
    if (p->qos)
        put_u16(&w, p->packet_id);
    if (with_payload)
        put_raw(&w, p->payload);
    return 0;
}

AZK_API int azk_mqtt_encode_publish(const struct azk_mqtt_publish *p, void *buf,
                                    size_t buf_size, size_t *out_len)
{
    return encode_publish(p, true, buf, buf_size, out_len);
}

AZK_API int azk_mqtt_encode_publish_header(const struct azk_mqtt_publish *p, void *buf,
                                           size_t buf_size, size_t *out_len)
{
    return encode_publish(p, false, buf, buf_size, out_len);
}

AZK_API int azk_mqtt_encode_ack(enum azk_mqtt_type type, uint16_t packet_id, void *buf,
                                size_t buf_size, size_t *out_len)
{
    uint8_t flags = 0;
    switch (type) {
    case AZK_MQTT_PUBACK:
    case AZK_MQTT_PUBREC:
    case AZK_MQTT_PUBCOMP:
    case AZK_MQTT_UNSUBACK:
        break;
    case AZK_MQTT_PUBREL:
        flags = 0x02;
        break;
    default:
        return -EINVAL;
    }
    if (packet_id == 0)
        return -EINVAL;
    struct writer w;
    int rc = begin((uint8_t)((unsigned)type << 4 | flags), 2, 0, buf, buf_size, out_len, &w);
    if (rc)
        return rc;
    put_u16(&w, packet_id);
    return 0;
}

AZK_API int azk_mqtt_encode_subscribe(uint16_t packet_id,
                                      const struct azk_mqtt_subscription *subs, size_t count,
                                      void *buf, size_t buf_size, size_t *out_len)
{
    if (packet_id == 0 || !subs || count == 0)
        return -EINVAL;
    size_t rem = 2;
    for (size_t i = 0; i < count; i++) {
        if (subs[i].filter.len == 0 || !string_ok(subs[i].filter) || subs[i].qos > 2)
            return -EINVAL;
        if (!add_len(&rem, 3) || !add_len(&rem, subs[i].filter.len))
            return -EINVAL;
    }
    struct writer w;
    int rc = begin((uint8_t)(AZK_MQTT_SUBSCRIBE << 4 | 0x02u), rem, 0, buf, buf_size, out_len,
                   &w);
    if (rc)
        return rc;
    put_u16(&w, packet_id);
    for (size_t i = 0; i < count; i++) {
        put_field(&w, subs[i].filter);
        put_u8(&w, subs[i].qos);
    }
    return 0;
}

AZK_API int azk_mqtt_encode_suback(uint16_t packet_id, const uint8_t *codes, size_t count,
                                   void *buf, size_t buf_size, size_t *out_len)
{
    if (packet_id == 0 || !codes || count == 0)
        return -EINVAL;
    size_t rem = 2;
    if (!add_len(&rem, count))
        return -EINVAL;
    for (size_t i = 0; i < count; i++)
        if (codes[i] > 2 && codes[i] != AZK_MQTT_SUBACK_FAILURE)
            return -EINVAL;
    struct writer w;
    int rc = begin((uint8_t)(AZK_MQTT_SUBACK << 4), rem, 0, buf, buf_size, out_len, &w);
    if (rc)
        return rc;
    put_u16(&w, packet_id);
    memcpy(w.p + w.pos, codes, count);
    return 0;
}

AZK_API int azk_mqtt_encode_unsubscribe(uint16_t packet_id, const struct azk_span *filters,
                                        size_t count, void *buf, size_t buf_size,
                                        size_t *out_len)
{
    if (packet_id == 0 || !filters || count == 0)
        return -EINVAL;
    size_t rem = 2;
    for (size_t i = 0; i < count; i++) {
        if (filters[i].len == 0 || !string_ok(filters[i]))
            return -EINVAL;
        if (!add_len(&rem, 2) || !add_len(&rem, filters[i].len))
            return -EINVAL;
    }
    struct writer w;
    int rc = begin((uint8_t)(AZK_MQTT_UNSUBSCRIBE << 4 | 0x02u), rem, 0, buf, buf_size,
                   out_len, &w);
    if (rc)
        return rc;
    put_u16(&w, packet_id);
    for (size_t i = 0; i < count; i++)
        put_field(&w, filters[i]);
    return 0;
}

static int encode_empty(enum azk_mqtt_type type, void *buf, size_t buf_size, size_t *out_len)
{
    struct writer w;
    return begin((uint8_t)((unsigned)type << 4), 0, 0, buf, buf_size, out_len, &w);
}

AZK_API int azk_mqtt_encode_pingreq(void *buf, size_t buf_size, size_t *out_len)
{
    return encode_empty(AZK_MQTT_PINGREQ, buf, buf_size, out_len);
}

AZK_API int azk_mqtt_encode_pingresp(void *buf, size_t buf_size, size_t *out_len)
{
    return encode_empty(AZK_MQTT_PINGRESP, buf, buf_size, out_len);
}

AZK_API int azk_mqtt_encode_disconnect(void *buf, size_t buf_size, size_t *out_len)
{
    return encode_empty(AZK_MQTT_DISCONNECT, buf, buf_size, out_len);
}

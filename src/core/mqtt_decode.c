/* MQTT codec: one-shot decode of a whole packet, with strict validation of every field. */
#include <errno.h>
#include <string.h>

#include "azkit/mqtt.h"

/* Packet types each role may receive (bit n = type n). */
#define BIT(t) (1u << (unsigned)(t))
static const uint16_t role_types[2] = {
    /* client: server → client */
    BIT(AZK_MQTT_CONNACK) | BIT(AZK_MQTT_PUBLISH) | BIT(AZK_MQTT_PUBACK) | BIT(AZK_MQTT_PUBREC) |
        BIT(AZK_MQTT_PUBREL) | BIT(AZK_MQTT_PUBCOMP) | BIT(AZK_MQTT_SUBACK) |
        BIT(AZK_MQTT_UNSUBACK) | BIT(AZK_MQTT_PINGRESP),
    /* server: client → server */
    BIT(AZK_MQTT_CONNECT) | BIT(AZK_MQTT_PUBLISH) | BIT(AZK_MQTT_PUBACK) | BIT(AZK_MQTT_PUBREC) |
        BIT(AZK_MQTT_PUBREL) | BIT(AZK_MQTT_PUBCOMP) | BIT(AZK_MQTT_SUBSCRIBE) |
        BIT(AZK_MQTT_UNSUBSCRIBE) | BIT(AZK_MQTT_PINGREQ) | BIT(AZK_MQTT_DISCONNECT),
};

static int fail(enum azk_mqtt_reason r, enum azk_mqtt_reason *out)
{
    if (out)
        *out = r;
    return azk_mqtt_reason_errno(r);
}

AZK_API int azk_mqtt_header_check(enum azk_mqtt_role role, uint8_t first_byte,
                                  enum azk_mqtt_reason *reason)
{
    unsigned type = first_byte >> 4, flags = first_byte & 0x0Fu;
    if (reason)
        *reason = AZK_MQTT_R_OK;
    if (role != AZK_MQTT_ROLE_CLIENT && role != AZK_MQTT_ROLE_SERVER)
        return -EINVAL;
    if (type == 0 || type == 15)
        return fail(AZK_MQTT_R_RESERVED_TYPE, reason);
    if (!(role_types[role] & BIT(type)))
        return fail(AZK_MQTT_R_UNEXPECTED_TYPE, reason);
    if (type == AZK_MQTT_PUBLISH) {
        unsigned qos = (flags >> 1) & 3u;
        if (qos == 3)
            return fail(AZK_MQTT_R_QOS_INVALID, reason);
        if (qos == 0 && (flags & 0x08u))
            return fail(AZK_MQTT_R_DUP_QOS0, reason);
        return 0;
    }
    unsigned expected = (type == AZK_MQTT_PUBREL || type == AZK_MQTT_SUBSCRIBE ||
                         type == AZK_MQTT_UNSUBSCRIBE)
                            ? 2u
                            : 0u;
    if (flags != expected)
        return fail(AZK_MQTT_R_BAD_FLAGS, reason);
    return 0;
}

/* Bounds-checked reader over the variable header and payload. */
struct reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

static bool get_u8(struct reader *r, uint8_t *v)
{
    if (r->len - r->pos < 1)
        return false;
    *v = r->p[r->pos++];
    return true;
}

static bool get_u16(struct reader *r, uint16_t *v)
{
    if (r->len - r->pos < 2)
        return false;
    *v = (uint16_t)((unsigned)r->p[r->pos] << 8 | r->p[r->pos + 1]);
    r->pos += 2;
    return true;
}

/* A length-prefixed string or binary field; false when it runs past the packet. */
static bool get_field(struct reader *r, struct azk_span *s)
{
    uint16_t n;
    if (!get_u16(r, &n) || r->len - r->pos < n)
        return false;
    s->ptr = (const char *)r->p + r->pos;
    s->len = n;
    r->pos += n;
    return true;
}

static struct azk_span rest(const struct reader *r)
{
    struct azk_span s = {(const char *)r->p + r->pos, r->len - r->pos};
    return s;
}

static enum azk_mqtt_reason check_topic(const struct azk_mqtt_decoder_config *cfg,
                                        struct azk_span t)
{
    if (!cfg->allow_wildcards_in_publish_topic)
        return azk_mqtt_topic_check(t);
    return t.len == 0 ? AZK_MQTT_R_TOPIC_EMPTY : azk_mqtt_utf8_check(t);
}

static enum azk_mqtt_reason check_filter(const struct azk_mqtt_decoder_config *cfg,
                                         struct azk_span f)
{
    if (!cfg->allow_any_wildcards_in_filters)
        return azk_mqtt_filter_check(f);
    return f.len == 0 ? AZK_MQTT_R_FILTER_EMPTY : azk_mqtt_utf8_check(f);
}

#ifndef AZK_CORE_DEVICE_ONLY
static enum azk_mqtt_reason parse_connect(const struct azk_mqtt_decoder_config *cfg,
                                          struct reader *r, struct azk_mqtt_connect *c)
{
    struct azk_span name;
    uint8_t level, flags;
    enum azk_mqtt_reason e;
    memset(c, 0, sizeof(*c));
    if (!get_field(r, &name) || !get_u8(r, &level))
        return AZK_MQTT_R_TRUNCATED;
    if (azk_span_eq(name, AZK_SPAN_LIT("MQTT"))) {
        if (level != 4)
            return AZK_MQTT_R_PROTOCOL_LEVEL;
    } else if (azk_span_eq(name, AZK_SPAN_LIT("MQIsdp")) && level == 3) {
        return AZK_MQTT_R_PROTOCOL_LEVEL; /* MQTT 3.1: CONNACK 1 is what it understands */
    } else {
        return AZK_MQTT_R_PROTOCOL_NAME;
    }
    if (!get_u8(r, &flags) || !get_u16(r, &c->keep_alive))
        return AZK_MQTT_R_TRUNCATED;
    if (flags & 0x01u)
        return AZK_MQTT_R_CONNECT_RESERVED_FLAG;
    c->clean_session = (flags & 0x02u) != 0;
    c->will = (flags & 0x04u) != 0;
    uint8_t will_qos = (uint8_t)((flags >> 3) & 3u);
    bool will_retain = (flags & 0x20u) != 0;
    if (!c->will && (will_qos || will_retain))
        return AZK_MQTT_R_WILL_FLAGS;
    if (will_qos == 3)
        return AZK_MQTT_R_QOS_INVALID;
    c->will_qos = will_qos;
    c->will_retain = will_retain;
    c->has_username = (flags & 0x80u) != 0;
    c->has_password = (flags & 0x40u) != 0;
    if (c->has_password && !c->has_username)
        return AZK_MQTT_R_PASSWORD_WITHOUT_USERNAME;
    if (!get_field(r, &c->client_id))
        return AZK_MQTT_R_TRUNCATED;
    if ((e = azk_mqtt_utf8_check(c->client_id)) != AZK_MQTT_R_OK)
        return e;
    if (c->client_id.len == 0 && !c->clean_session)
        return AZK_MQTT_R_CLIENT_ID_EMPTY;
    if (c->will) {
        if (!get_field(r, &c->will_topic))
            return AZK_MQTT_R_TRUNCATED;
        if ((e = check_topic(cfg, c->will_topic)) != AZK_MQTT_R_OK)
            return e;
        if (!get_field(r, &c->will_payload))
            return AZK_MQTT_R_TRUNCATED;
    }
    if (c->has_username) {
        if (!get_field(r, &c->username))
            return AZK_MQTT_R_TRUNCATED;
        if ((e = azk_mqtt_utf8_check(c->username)) != AZK_MQTT_R_OK)
            return e;
    }
    if (c->has_password && !get_field(r, &c->password))
        return AZK_MQTT_R_TRUNCATED;
    return r->pos == r->len ? AZK_MQTT_R_OK : AZK_MQTT_R_BAD_LENGTH;
}

#endif

static enum azk_mqtt_reason parse_connack(struct reader *r, struct azk_mqtt_connack *c)
{
    uint8_t flags, code;
    if (r->len != 2)
        return AZK_MQTT_R_BAD_LENGTH;
    (void)get_u8(r, &flags);
    (void)get_u8(r, &code);
    if (flags & 0xFEu)
        return AZK_MQTT_R_CONNACK_FLAGS;
    if (code > 5)
        return AZK_MQTT_R_CONNACK_CODE;
    if ((flags & 1u) && code != 0)
        return AZK_MQTT_R_CONNACK_SESSION_PRESENT;
    c->session_present = (flags & 1u) != 0;
    c->return_code = code;
    return AZK_MQTT_R_OK;
}

static enum azk_mqtt_reason parse_publish(const struct azk_mqtt_decoder_config *cfg,
                                          uint8_t flags, struct reader *r,
                                          struct azk_mqtt_publish *p)
{
    enum azk_mqtt_reason e;
    memset(p, 0, sizeof(*p));
    p->dup = (flags & 0x08u) != 0;
    p->qos = (uint8_t)((flags >> 1) & 3u);
    p->retain = (flags & 0x01u) != 0;
    if (!get_field(r, &p->topic))
        return AZK_MQTT_R_TRUNCATED;
    if ((e = check_topic(cfg, p->topic)) != AZK_MQTT_R_OK)
        return e;
    if (p->qos) {
        if (!get_u16(r, &p->packet_id))
            return AZK_MQTT_R_TRUNCATED;
        if (p->packet_id == 0)
            return AZK_MQTT_R_PACKET_ID_ZERO;
    }
    p->payload = rest(r);
    return AZK_MQTT_R_OK;
}

static enum azk_mqtt_reason parse_packet_id(struct reader *r, uint16_t *id)
{
    if (r->len != 2)
        return AZK_MQTT_R_BAD_LENGTH;
    (void)get_u16(r, id);
    return *id ? AZK_MQTT_R_OK : AZK_MQTT_R_PACKET_ID_ZERO;
}

/* SUBSCRIBE, UNSUBSCRIBE and SUBACK: packet id, then at least one entry. */
static enum azk_mqtt_reason parse_list(const struct azk_mqtt_decoder_config *cfg,
                                       enum azk_mqtt_type type, struct reader *r,
                                       struct azk_mqtt_list *l)
{
    enum azk_mqtt_reason e;
    memset(l, 0, sizeof(*l));
    if (!get_u16(r, &l->packet_id))
        return AZK_MQTT_R_TRUNCATED;
    if (l->packet_id == 0)
        return AZK_MQTT_R_PACKET_ID_ZERO;
    l->entries = rest(r);
    if (r->pos == r->len)
        return AZK_MQTT_R_NO_FILTERS;
    while (r->pos < r->len) {
        if (type == AZK_MQTT_SUBACK) {
            uint8_t code = r->p[r->pos++];
            if (code > 2 && code != AZK_MQTT_SUBACK_FAILURE)
                return AZK_MQTT_R_SUBACK_CODE;
        } else {
            struct azk_span f;
            if (!get_field(r, &f))
                return AZK_MQTT_R_TRUNCATED;
            if ((e = check_filter(cfg, f)) != AZK_MQTT_R_OK)
                return e;
            if (type == AZK_MQTT_SUBSCRIBE) {
                uint8_t opt;
                if (!get_u8(r, &opt))
                    return AZK_MQTT_R_TRUNCATED;
                if (opt & 0xFCu)
                    return AZK_MQTT_R_SUBSCRIBE_OPTIONS;
                if (opt == 3)
                    return AZK_MQTT_R_QOS_INVALID;
            }
        }
        l->count++;
    }
    return AZK_MQTT_R_OK;
}

static enum azk_mqtt_reason parse_body(const struct azk_mqtt_decoder_config *cfg,
                                       uint8_t first, struct reader *r,
                                       struct azk_mqtt_packet *pkt)
{
    switch (pkt->type) {
#ifdef AZK_CORE_DEVICE_ONLY
    /* Device-only firmware never decodes what only a server receives (src/core/README.md). */
    case AZK_MQTT_CONNECT:
    case AZK_MQTT_SUBSCRIBE:
    case AZK_MQTT_UNSUBSCRIBE:
        return AZK_MQTT_R_UNEXPECTED_TYPE;
#else
    case AZK_MQTT_CONNECT:
        return parse_connect(cfg, r, &pkt->u.connect);
    case AZK_MQTT_SUBSCRIBE:
        return parse_list(cfg, AZK_MQTT_SUBSCRIBE, r, &pkt->u.subscribe);
    case AZK_MQTT_UNSUBSCRIBE:
        return parse_list(cfg, AZK_MQTT_UNSUBSCRIBE, r, &pkt->u.unsubscribe);
#endif
    case AZK_MQTT_CONNACK:
        return parse_connack(r, &pkt->u.connack);
    case AZK_MQTT_PUBLISH:
        return parse_publish(cfg, first & 0x0Fu, r, &pkt->u.publish);
    case AZK_MQTT_PUBACK:
    case AZK_MQTT_PUBREC:
    case AZK_MQTT_PUBREL:
    case AZK_MQTT_PUBCOMP:
    case AZK_MQTT_UNSUBACK:
        return parse_packet_id(r, &pkt->u.packet_id);
    case AZK_MQTT_SUBACK:
        return parse_list(cfg, AZK_MQTT_SUBACK, r, &pkt->u.suback);
    case AZK_MQTT_PINGREQ:
    case AZK_MQTT_PINGRESP:
    case AZK_MQTT_DISCONNECT:
        return r->len == 0 ? AZK_MQTT_R_OK : AZK_MQTT_R_BAD_LENGTH;
    }
    return AZK_MQTT_R_RESERVED_TYPE; /* unreachable: the header was checked */
}

AZK_API int azk_mqtt_decode(const struct azk_mqtt_decoder_config *cfg, const void *data,
                            size_t len, struct azk_mqtt_packet *pkt, size_t *packet_len,
                            enum azk_mqtt_reason *reason)
{
    if (packet_len)
        *packet_len = 0;
    if (reason)
        *reason = AZK_MQTT_R_OK;
    if (!cfg || !pkt || (!data && len) ||
        (cfg->role != AZK_MQTT_ROLE_CLIENT && cfg->role != AZK_MQTT_ROLE_SERVER))
        return -EINVAL;
    const uint8_t *p = data;
    if (len == 0)
        return fail(AZK_MQTT_R_INCOMPLETE, reason);
    int rc = azk_mqtt_header_check(cfg->role, p[0], reason);
    if (rc)
        return rc;
    uint32_t rem;
    size_t used;
    rc = azk_mqtt_varint_decode(p + 1, len - 1, &rem, &used);
    if (rc == -EAGAIN)
        return fail(AZK_MQTT_R_INCOMPLETE, reason);
    if (rc)
        return fail(AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG, reason);
    size_t head = 1 + used;
    /* rem < 2^28, so head + rem cannot overflow a 32-bit size_t */
    size_t total = head + rem;
    if (cfg->max_packet_size && total > cfg->max_packet_size)
        return fail(AZK_MQTT_R_PACKET_TOO_LARGE, reason);
    if (len < total) {
        if (packet_len)
            *packet_len = total;
        return fail(AZK_MQTT_R_INCOMPLETE, reason);
    }
    memset(pkt, 0, sizeof(*pkt));
    pkt->type = (enum azk_mqtt_type)(p[0] >> 4);
    pkt->flags = (uint8_t)(p[0] & 0x0Fu);
    pkt->remaining_length = rem;
    struct reader r = {p + head, rem, 0};
    enum azk_mqtt_reason e = parse_body(cfg, p[0], &r, pkt);
    if (e != AZK_MQTT_R_OK)
        return fail(e, reason);
    if (packet_len)
        *packet_len = total;
    return 0;
}

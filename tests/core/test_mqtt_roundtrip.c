/* MQTT codec round trips: every packet type with random field values (deterministic
 * azk_t_rand), encoded, then decoded by the role that receives it: one-shot, and by the
 * incremental decoder fed whole, one byte at a time and in random chunk sizes (as a stream of
 * many packets back to back). */
#include <errno.h>

#include "azkit/mqtt.h"
#include "core_test.h"

#define MAX_LIST 6
#define STORE 8192

/* A packet as the encoder saw it, with the bytes its spans point to. */
struct gen {
    struct azk_mqtt_packet pkt; /* type + union fields (the encoder input) */
    struct azk_mqtt_subscription subs[MAX_LIST];
    struct azk_span filters[MAX_LIST];
    uint8_t codes[MAX_LIST];
    size_t count;
    uint16_t list_pid;
    char store[STORE];
    size_t used;
    uint8_t wire[STORE + 64];
    size_t wire_len;
};

static uint32_t rnd(uint32_t n)
{
    return n ? azk_t_rand() % n : 0;
}

static uint16_t rnd_pid(void)
{
    return (uint16_t)(1 + rnd(65535));
}

/* Random valid UTF-8 (1-4 byte characters), no U+0000; no '+' '#' unless `wild`. */
static struct azk_span rnd_str(struct gen *g, size_t max_chars, bool allow_empty)
{
    static const char *const pieces[] = {"a", "Z", "/", "0", "$", " ", "\x7f", "\xc3\xa9",
                                         "\xdf\xbf", "\xe2\x82\xac", "\xed\x9f\xbf",
                                         "\xef\xbf\xbf", "\xf0\x9d\x84\x9e", "\xf4\x8f\xbf\xbf"};
    size_t n = rnd((uint32_t)max_chars + 1);
    if (n == 0 && !allow_empty)
        n = 1;
    struct azk_span s = {g->store + g->used, 0};
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
        size_t l = strlen(p);
        memcpy(g->store + g->used, p, l);
        g->used += l;
        s.len += l;
    }
    return s;
}

static struct azk_span rnd_bin(struct gen *g, size_t max)
{
    size_t n = rnd((uint32_t)max + 1);
    struct azk_span s = {g->store + g->used, n};
    for (size_t i = 0; i < n; i++)
        g->store[g->used++] = (char)rnd(256);
    return s;
}

/* A random filter: levels that are '+', '#' (last only) or text. */
static struct azk_span rnd_filter(struct gen *g)
{
    size_t levels = 1 + rnd(4);
    struct azk_span s = {g->store + g->used, 0};
    for (size_t i = 0; i < levels; i++) {
        if (i) {
            g->store[g->used++] = '/';
            s.len++;
        }
        uint32_t k = rnd(4);
        if (k == 0 || (k == 1 && i + 1 == levels)) {
            g->store[g->used++] = k == 0 ? '+' : '#';
            s.len++;
        } else {
            s.len += rnd_str(g, 5, true).len;
        }
    }
    if (s.len == 0) { /* a filter is never empty */
        g->store[g->used++] = 'x';
        s.len = 1;
    }
    return s;
}

static const enum azk_mqtt_type client_sends[] = {
    AZK_MQTT_CONNECT, AZK_MQTT_PUBLISH, AZK_MQTT_PUBACK, AZK_MQTT_PUBREC, AZK_MQTT_PUBREL,
    AZK_MQTT_PUBCOMP, AZK_MQTT_SUBSCRIBE, AZK_MQTT_UNSUBSCRIBE, AZK_MQTT_PINGREQ,
    AZK_MQTT_DISCONNECT};
static const enum azk_mqtt_type server_sends[] = {
    AZK_MQTT_CONNACK, AZK_MQTT_PUBLISH, AZK_MQTT_PUBACK, AZK_MQTT_PUBREC, AZK_MQTT_PUBREL,
    AZK_MQTT_PUBCOMP, AZK_MQTT_SUBACK, AZK_MQTT_UNSUBACK, AZK_MQTT_PINGRESP};

/* Fills g with a random packet of `type` and encodes it. */
static int generate(struct gen *g, enum azk_mqtt_type type)
{
    memset(&g->pkt, 0, sizeof g->pkt);
    g->used = 0;
    g->pkt.type = type;
    int rc = -1;
    size_t cap = sizeof g->wire;
    switch (type) {
    case AZK_MQTT_CONNECT: {
        struct azk_mqtt_connect *c = &g->pkt.u.connect;
        c->clean_session = rnd(2);
        c->client_id = rnd_str(g, 23, c->clean_session);
        c->keep_alive = (uint16_t)rnd(65536);
        c->will = rnd(2);
        if (c->will) {
            c->will_qos = (uint8_t)rnd(3);
            c->will_retain = rnd(2);
            c->will_topic = rnd_str(g, 30, false);
            c->will_payload = rnd_bin(g, 100);
        }
        c->has_username = rnd(2);
        if (c->has_username) {
            c->username = rnd_str(g, 40, true);
            c->has_password = rnd(2);
            if (c->has_password)
                c->password = rnd_bin(g, 200);
        }
        rc = azk_mqtt_encode_connect(c, g->wire, cap, &g->wire_len);
        break;
    }
    case AZK_MQTT_CONNACK:
        g->pkt.u.connack.return_code = (uint8_t)rnd(6);
        g->pkt.u.connack.session_present = g->pkt.u.connack.return_code == 0 && rnd(2);
        rc = azk_mqtt_encode_connack(&g->pkt.u.connack, g->wire, cap, &g->wire_len);
        break;
    case AZK_MQTT_PUBLISH: {
        struct azk_mqtt_publish *p = &g->pkt.u.publish;
        p->qos = (uint8_t)rnd(3);
        p->packet_id = p->qos ? rnd_pid() : 0;
        p->dup = p->qos && rnd(2);
        p->retain = rnd(2);
        p->topic = rnd_str(g, 60, false);
        /* mostly small, sometimes across the 127/128 and 16383/16384 boundaries */
        uint32_t k = rnd(10);
        p->payload = rnd_bin(g, k < 7 ? 40 : k < 9 ? 300 : STORE - 512);
        rc = azk_mqtt_encode_publish(p, g->wire, cap, &g->wire_len);
        break;
    }
    case AZK_MQTT_PUBACK:
    case AZK_MQTT_PUBREC:
    case AZK_MQTT_PUBREL:
    case AZK_MQTT_PUBCOMP:
    case AZK_MQTT_UNSUBACK:
        g->pkt.u.packet_id = rnd_pid();
        rc = azk_mqtt_encode_ack(type, g->pkt.u.packet_id, g->wire, cap, &g->wire_len);
        break;
    case AZK_MQTT_SUBSCRIBE:
        g->list_pid = rnd_pid();
        g->count = 1 + rnd(MAX_LIST);
        for (size_t i = 0; i < g->count; i++) {
            g->subs[i].filter = rnd_filter(g);
            g->subs[i].qos = (uint8_t)rnd(3);
        }
        rc = azk_mqtt_encode_subscribe(g->list_pid, g->subs, g->count, g->wire, cap,
                                       &g->wire_len);
        break;
    case AZK_MQTT_UNSUBSCRIBE:
        g->list_pid = rnd_pid();
        g->count = 1 + rnd(MAX_LIST);
        for (size_t i = 0; i < g->count; i++)
            g->filters[i] = rnd_filter(g);
        rc = azk_mqtt_encode_unsubscribe(g->list_pid, g->filters, g->count, g->wire, cap,
                                         &g->wire_len);
        break;
    case AZK_MQTT_SUBACK: {
        static const uint8_t c[] = {0, 1, 2, 0x80};
        g->list_pid = rnd_pid();
        g->count = 1 + rnd(MAX_LIST);
        for (size_t i = 0; i < g->count; i++)
            g->codes[i] = c[rnd(4)];
        rc = azk_mqtt_encode_suback(g->list_pid, g->codes, g->count, g->wire, cap,
                                    &g->wire_len);
        break;
    }
    case AZK_MQTT_PINGREQ:
        rc = azk_mqtt_encode_pingreq(g->wire, cap, &g->wire_len);
        break;
    case AZK_MQTT_PINGRESP:
        rc = azk_mqtt_encode_pingresp(g->wire, cap, &g->wire_len);
        break;
    case AZK_MQTT_DISCONNECT:
        rc = azk_mqtt_encode_disconnect(g->wire, cap, &g->wire_len);
        break;
    }
    return rc;
}

static bool same(struct azk_span a, struct azk_span b)
{
    return azk_span_eq(a, b);
}

/* Does the decoded packet carry exactly what was encoded? */
static bool matches(const struct gen *g, const struct azk_mqtt_packet *p)
{
    if (p->type != g->pkt.type)
        return false;
    const struct azk_mqtt_connect *a, *b;
    struct azk_mqtt_iter it;
    size_t i = 0;
    switch (p->type) {
    case AZK_MQTT_CONNECT:
        a = &g->pkt.u.connect;
        b = &p->u.connect;
        if (!same(a->client_id, b->client_id) || a->keep_alive != b->keep_alive ||
            a->clean_session != b->clean_session || a->will != b->will ||
            a->has_username != b->has_username || a->has_password != b->has_password)
            return false;
        if (a->will && (a->will_qos != b->will_qos || a->will_retain != b->will_retain ||
                        !same(a->will_topic, b->will_topic) ||
                        !same(a->will_payload, b->will_payload)))
            return false;
        if (a->has_username && !same(a->username, b->username))
            return false;
        return !a->has_password || same(a->password, b->password);
    case AZK_MQTT_CONNACK:
        return p->u.connack.return_code == g->pkt.u.connack.return_code &&
               p->u.connack.session_present == g->pkt.u.connack.session_present;
    case AZK_MQTT_PUBLISH:
        return same(p->u.publish.topic, g->pkt.u.publish.topic) &&
               same(p->u.publish.payload, g->pkt.u.publish.payload) &&
               p->u.publish.qos == g->pkt.u.publish.qos &&
               p->u.publish.packet_id == g->pkt.u.publish.packet_id &&
               p->u.publish.dup == g->pkt.u.publish.dup &&
               p->u.publish.retain == g->pkt.u.publish.retain;
    case AZK_MQTT_PUBACK:
    case AZK_MQTT_PUBREC:
    case AZK_MQTT_PUBREL:
    case AZK_MQTT_PUBCOMP:
    case AZK_MQTT_UNSUBACK:
        return p->u.packet_id == g->pkt.u.packet_id;
    case AZK_MQTT_SUBSCRIBE: {
        struct azk_mqtt_subscription s;
        if (p->u.subscribe.packet_id != g->list_pid || p->u.subscribe.count != g->count)
            return false;
        azk_mqtt_iter_init(&it, p);
        while (azk_mqtt_iter_next_subscription(&it, &s)) {
            if (i >= g->count || !same(s.filter, g->subs[i].filter) || s.qos != g->subs[i].qos)
                return false;
            i++;
        }
        return i == g->count;
    }
    case AZK_MQTT_UNSUBSCRIBE: {
        struct azk_span f;
        if (p->u.unsubscribe.packet_id != g->list_pid || p->u.unsubscribe.count != g->count)
            return false;
        azk_mqtt_iter_init(&it, p);
        while (azk_mqtt_iter_next_filter(&it, &f)) {
            if (i >= g->count || !same(f, g->filters[i]))
                return false;
            i++;
        }
        return i == g->count;
    }
    case AZK_MQTT_SUBACK: {
        uint8_t c;
        if (p->u.suback.packet_id != g->list_pid || p->u.suback.count != g->count)
            return false;
        azk_mqtt_iter_init(&it, p);
        while (azk_mqtt_iter_next_suback_code(&it, &c)) {
            if (i >= g->count || c != g->codes[i])
                return false;
            i++;
        }
        return i == g->count;
    }
    case AZK_MQTT_PINGREQ:
    case AZK_MQTT_PINGRESP:
    case AZK_MQTT_DISCONNECT:
        return p->remaining_length == 0;
    }
    return false;
}

#define STREAM_PACKETS 40

/* `mode`: 0 whole stream per feed call, 1 one byte at a time, 2 random chunks. */
static int stream_round_trip(enum azk_mqtt_role role, int mode, int iteration)
{
    static struct gen gens[STREAM_PACKETS];
    static uint8_t stream[STREAM_PACKETS * (STORE + 64)];
    static uint8_t dbuf[STORE + 64];
    const enum azk_mqtt_type *types = role == AZK_MQTT_ROLE_SERVER ? client_sends : server_sends;
    size_t ntypes = role == AZK_MQTT_ROLE_SERVER ? sizeof client_sends / sizeof client_sends[0]
                                                 : sizeof server_sends / sizeof server_sends[0];
    struct azk_mqtt_decoder_config cfg = {.role = role};
    size_t len = 0;
    for (size_t i = 0; i < STREAM_PACKETS; i++) {
        /* every type at least once per stream, then random ones */
        enum azk_mqtt_type t = i < ntypes ? types[i] : types[rnd((uint32_t)ntypes)];
        if (generate(&gens[i], t) != 0) {
            fprintf(stderr, "encode of %s failed\n", azk_mqtt_type_str(t));
            return 1;
        }
        /* one-shot decode of the packet on its own */
        struct azk_mqtt_packet pkt;
        size_t plen;
        enum azk_mqtt_reason r;
        int rc = azk_mqtt_decode(&cfg, gens[i].wire, gens[i].wire_len, &pkt, &plen, &r);
        if (rc != 0 || plen != gens[i].wire_len || !matches(&gens[i], &pkt)) {
            fprintf(stderr, "one-shot %s: rc %d (%s)\n", azk_mqtt_type_str(t), rc,
                    azk_mqtt_reason_str(r));
            return 1;
        }
        /* every proper prefix is incomplete */
        size_t cut = rnd((uint32_t)gens[i].wire_len);
        if (azk_mqtt_decode(&cfg, gens[i].wire, cut, &pkt, &plen, &r) != -EAGAIN ||
            r != AZK_MQTT_R_INCOMPLETE)
            return 1;
        memcpy(stream + len, gens[i].wire, gens[i].wire_len);
        len += gens[i].wire_len;
    }
    struct azk_mqtt_decoder d;
    if (azk_mqtt_decoder_init(&d, &cfg, dbuf, sizeof dbuf) != 0)
        return 1;
    size_t pos = 0, got = 0;
    while (pos < len) {
        size_t n = mode == 0 ? len - pos : mode == 1 ? 1 : 1 + rnd(mode == 2 ? 700 : 7);
        if (n > len - pos)
            n = len - pos;
        /* feed the chunk until it is used up, collecting packets */
        size_t off = 0;
        do {
            struct azk_mqtt_packet pkt;
            size_t used;
            int rc = azk_mqtt_decoder_feed(&d, stream + pos + off, n - off, &used, &pkt);
            off += used;
            if (rc < 0) {
                fprintf(stderr, "iteration %d mode %d: feed error %d (%s) at packet %zu\n",
                        iteration, mode, rc, azk_mqtt_reason_str(azk_mqtt_decoder_reason(&d)),
                        got);
                return 1;
            }
            if (rc == AZK_MQTT_PACKET) {
                if (got >= STREAM_PACKETS || !matches(&gens[got], &pkt)) {
                    fprintf(stderr, "iteration %d mode %d: packet %zu (%s) differs\n", iteration,
                            mode, got, azk_mqtt_type_str(pkt.type));
                    return 1;
                }
                got++;
            } else if (off != n) {
                return 1; /* NEED_MORE must consume everything */
            }
        } while (off < n);
        pos += n;
    }
    if (got != STREAM_PACKETS) {
        fprintf(stderr, "mode %d: %zu packets of %d\n", mode, got, STREAM_PACKETS);
        return 1;
    }
    return 0;
}

static void test_round_trip_server_decodes_client_packets(void)
{
    for (int i = 0; i < 30; i++)
        for (int mode = 0; mode < 4; mode++)
            CHECK_INT(stream_round_trip(AZK_MQTT_ROLE_SERVER, mode, i), 0);
}

static void test_round_trip_client_decodes_server_packets(void)
{
    for (int i = 0; i < 30; i++)
        for (int mode = 0; mode < 4; mode++)
            CHECK_INT(stream_round_trip(AZK_MQTT_ROLE_CLIENT, mode, i), 0);
}

/* Encoders never write past the given size, for random packets and random too-small sizes. */
static void test_random_small_buffers(void)
{
    static struct gen g;
    static uint8_t out[STORE + 128];
    for (int i = 0; i < 300; i++) {
        enum azk_mqtt_type t = (enum azk_mqtt_type)(1 + rnd(14));
        if (t == AZK_MQTT_PUBREL)
            t = AZK_MQTT_PUBACK;
        CHECK_INT(generate(&g, t), 0);
        size_t size = rnd((uint32_t)g.wire_len), need;
        memset(out, 0x5a, sizeof out);
        int rc = -1;
        switch (t) {
        case AZK_MQTT_CONNECT:
            rc = azk_mqtt_encode_connect(&g.pkt.u.connect, out, size, &need);
            break;
        case AZK_MQTT_PUBLISH:
            rc = azk_mqtt_encode_publish(&g.pkt.u.publish, out, size, &need);
            break;
        case AZK_MQTT_SUBSCRIBE:
            rc = azk_mqtt_encode_subscribe(g.list_pid, g.subs, g.count, out, size, &need);
            break;
        case AZK_MQTT_UNSUBSCRIBE:
            rc = azk_mqtt_encode_unsubscribe(g.list_pid, g.filters, g.count, out, size, &need);
            break;
        case AZK_MQTT_SUBACK:
            rc = azk_mqtt_encode_suback(g.list_pid, g.codes, g.count, out, size, &need);
            break;
        default:
            continue; /* fixed-size packets: covered exhaustively in test_mqtt_encode */
        }
        CHECK_INT(rc, -ENOBUFS);
        CHECK_INT(need, g.wire_len);
        for (size_t k = 0; k < sizeof out; k++)
            CHECK(out[k] == 0x5a);
    }
}

int main(void)
{
    RUN_TEST(test_round_trip_server_decodes_client_packets);
    RUN_TEST(test_round_trip_client_decodes_server_packets);
    RUN_TEST(test_random_small_buffers);
    TEST_MAIN_END();
}

/* MQTT codec decoding: every validation error with a crafted input (one-shot decode and the
 * incremental decoder, whole and byte by byte), limits, UTF-8, topics and filters, decoder
 * state handling. */
#include <errno.h>

#include "azkit/mqtt.h"
#include "core_test.h"

#define CLIENT AZK_MQTT_ROLE_CLIENT
#define SERVER AZK_MQTT_ROLE_SERVER

static struct azk_mqtt_decoder_config cfg_of(enum azk_mqtt_role role)
{
    struct azk_mqtt_decoder_config c = {.role = role};
    return c;
}

/* Decodes `in` with the config three ways; all must fail with `err` and `reason`. */
static int expect_fail_cfg(const struct azk_mqtt_decoder_config *cfg, const uint8_t *in,
                           size_t len, int err, enum azk_mqtt_reason reason, int line)
{
    struct azk_mqtt_packet pkt;
    enum azk_mqtt_reason r = AZK_MQTT_R_OK;
    size_t plen;
    int rc = azk_mqtt_decode(cfg, in, len, &pkt, &plen, &r);
    if (rc != err || r != reason) {
        fprintf(stderr, "line %d: one-shot: rc %d reason %d (%s), expected %d reason %d (%s)\n",
                line, rc, r, azk_mqtt_reason_str(r), err, reason, azk_mqtt_reason_str(reason));
        return 1;
    }
    if (azk_mqtt_reason_errno(reason) != err) {
        fprintf(stderr, "line %d: reason/errno table mismatch\n", line);
        return 1;
    }
    static uint8_t buf[1024];
    struct azk_mqtt_decoder d;
    for (int mode = 0; mode < 2; mode++) {
        if (azk_mqtt_decoder_init(&d, cfg, buf, sizeof buf) != 0)
            return 1;
        size_t pos = 0, used = 0;
        rc = 0;
        while (pos < len) {
            size_t n = mode == 0 ? len - pos : 1;
            rc = azk_mqtt_decoder_feed(&d, in + pos, n, &used, &pkt);
            pos += used;
            if (rc != AZK_MQTT_NEED_MORE)
                break;
        }
        if (rc != err || azk_mqtt_decoder_reason(&d) != reason) {
            fprintf(stderr, "line %d: decoder mode %d: rc %d reason %d (%s)\n", line, mode, rc,
                    azk_mqtt_decoder_reason(&d), azk_mqtt_reason_str(azk_mqtt_decoder_reason(&d)));
            return 1;
        }
        /* sticky until reset */
        if (azk_mqtt_decoder_feed(&d, in, len, &used, &pkt) != err || used != 0)
            return 1;
    }
    return 0;
}

static int expect_fail(enum azk_mqtt_role role, const uint8_t *in, size_t len, int err,
                       enum azk_mqtt_reason reason, int line)
{
    struct azk_mqtt_decoder_config cfg = cfg_of(role);
    return expect_fail_cfg(&cfg, in, len, err, reason, line);
}

static int expect_ok_cfg(const struct azk_mqtt_decoder_config *cfg, const uint8_t *in, size_t len,
                         struct azk_mqtt_packet *pkt, int line)
{
    enum azk_mqtt_reason r;
    size_t plen;
    int rc = azk_mqtt_decode(cfg, in, len, pkt, &plen, &r);
    if (rc != 0 || plen != len) {
        fprintf(stderr, "line %d: expected success, got %d (%s)\n", line, rc,
                azk_mqtt_reason_str(r));
        return 1;
    }
    return 0;
}

#define FAIL(role, err, reason, ...)                                                         \
    do {                                                                                     \
        static const uint8_t in_[] = {__VA_ARGS__};                                          \
        CHECK_INT(expect_fail(role, in_, sizeof in_, err, reason, __LINE__), 0);             \
    } while (0)

#define OK(role, ...)                                                                        \
    do {                                                                                     \
        static const uint8_t in_[] = {__VA_ARGS__};                                          \
        struct azk_mqtt_decoder_config c_ = cfg_of(role);                                    \
        CHECK_INT(expect_ok_cfg(&c_, in_, sizeof in_, &pkt, __LINE__), 0);                   \
    } while (0)

/* The variable header of a CONNECT up to (not including) the flags byte. */
#define MQTT4 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04

static void test_fixed_header(void)
{
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_RESERVED_TYPE, 0x00, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_RESERVED_TYPE, 0xf0, 0x00);
    /* server → client packets at a server, client → server packets at a client */
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0x20, 0x02, 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0x90, 0x03, 0x00, 0x01, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0xb0, 0x02, 0x00, 0x01);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0xd0, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0x10, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0x82, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0xa2, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0xc0, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_UNEXPECTED_TYPE, 0xe0, 0x00);
    /* PUBLISH: QoS 3, DUP on QoS 0 */
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_QOS_INVALID, 0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_QOS_INVALID, 0x3f, 0x05, 0x00, 0x01, 't', 0x00, 0x01);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_DUP_QOS0, 0x38, 0x03, 0x00, 0x01, 't');
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_DUP_QOS0, 0x39, 0x03, 0x00, 0x01, 't');
}

/* Reserved flag bits wrong, for every packet type except PUBLISH, in the role that receives
 * it: every one of the 15 wrong flag values. */
static void test_reserved_flags_every_type(void)
{
    for (unsigned type = 1; type <= 14; type++) {
        if (type == AZK_MQTT_PUBLISH)
            continue;
        enum azk_mqtt_role role = (type == AZK_MQTT_CONNECT || type == AZK_MQTT_SUBSCRIBE ||
                                   type == AZK_MQTT_UNSUBSCRIBE || type == AZK_MQTT_PINGREQ ||
                                   type == AZK_MQTT_DISCONNECT)
                                      ? SERVER
                                      : CLIENT;
        unsigned good = (type == AZK_MQTT_PUBREL || type == AZK_MQTT_SUBSCRIBE ||
                         type == AZK_MQTT_UNSUBSCRIBE)
                            ? 2
                            : 0;
        for (unsigned flags = 0; flags < 16; flags++) {
            if (flags == good)
                continue;
            uint8_t in[2] = {(uint8_t)(type << 4 | flags), 0};
            CHECK_INT(expect_fail(role, in, 2, -EBADMSG, AZK_MQTT_R_BAD_FLAGS, (int)(type * 100 + flags)),
                      0);
        }
        /* the correct flags pass the header check */
        CHECK_INT(azk_mqtt_header_check(role, (uint8_t)(type << 4 | good), NULL), 0);
        CHECK_INT(azk_mqtt_header_check(role == SERVER ? CLIENT : SERVER,
                                        (uint8_t)(type << 4 | good), NULL),
                  type >= AZK_MQTT_PUBACK && type <= AZK_MQTT_PUBCOMP ? 0 : -EPROTO);
    }
    CHECK_INT(azk_mqtt_header_check((enum azk_mqtt_role)7, 0x30, NULL), -EINVAL);
}

static void test_remaining_length(void)
{
    /* 5-byte remaining length */
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG, 0x30, 0xff, 0xff, 0xff, 0xff,
         0x01);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG, 0xd0, 0x80, 0x80, 0x80, 0x80,
         0x00);
    /* the largest remaining length: one-shot reports the whole size as needed */
    struct azk_mqtt_decoder_config cfg = cfg_of(SERVER);
    struct azk_mqtt_packet pkt;
    enum azk_mqtt_reason r;
    size_t plen;
    CHECK_INT(azk_mqtt_decode(&cfg, "\x30\xff\xff\xff\x7f\x00\x01t", 8, &pkt, &plen, &r), -EAGAIN);
    CHECK_INT(r, AZK_MQTT_R_INCOMPLETE);
    CHECK_INT(plen, 268435460u);
    CHECK_INT(azk_mqtt_decode(&cfg, "\x30\xff\xff", 3, &pkt, &plen, &r), -EAGAIN);
    CHECK_INT(plen, 0);
    CHECK_INT(azk_mqtt_decode(&cfg, NULL, 0, &pkt, &plen, &r), -EAGAIN);
    /* ... and the decoder refuses it as soon as the length is known */
    static const uint8_t big[] = {0x30, 0xff, 0xff, 0xff, 0x7f};
    cfg.max_packet_size = 1024;
    CHECK_INT(expect_fail_cfg(&cfg, big, sizeof big, -EMSGSIZE, AZK_MQTT_R_PACKET_TOO_LARGE,
                              __LINE__), 0);
    /* max_packet_size is the whole packet: 2 + 3 + 16 = 21 bytes */
    static const uint8_t p21[] = {0x30, 19, 0, 1, 't', 'a', 'b', 'c', 'd', 'e', 'f', 'g',
                                  'h',  'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'};
    cfg.max_packet_size = 20;
    CHECK_INT(expect_fail_cfg(&cfg, p21, sizeof p21, -EMSGSIZE, AZK_MQTT_R_PACKET_TOO_LARGE,
                              __LINE__), 0);
    cfg.max_packet_size = 21;
    CHECK_INT(expect_ok_cfg(&cfg, p21, sizeof p21, &pkt, __LINE__), 0);
    CHECK_MEM_STR(pkt.u.publish.payload.ptr, pkt.u.publish.payload.len, "abcdefghijklmnop");
    /* a decoder buffer of 20 bytes refuses it too (max_packet_size 0: the buffer limits) */
    uint8_t small[21];
    struct azk_mqtt_decoder d;
    size_t used;
    cfg.max_packet_size = 0;
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, small, 20), 0);
    CHECK_INT(azk_mqtt_decoder_feed(&d, p21, sizeof p21, &used, &pkt), -EMSGSIZE);
    CHECK_INT(used, 2);
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, small, 21), 0);
    CHECK_INT(azk_mqtt_decoder_feed(&d, p21, sizeof p21, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(used, 21);
    /* a 2-byte decoder accepts 2-byte packets and refuses a longer header */
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, small, 2), 0);
    CHECK_INT(azk_mqtt_decoder_feed(&d, "\xc0\x00\xc0\x00", 4, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(used, 2);
    CHECK_INT(pkt.type, AZK_MQTT_PINGREQ);
    CHECK_INT(azk_mqtt_decoder_feed(&d, "\xc0\x00", 2, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(azk_mqtt_decoder_feed(&d, "\x30\x80\x01", 3, &used, &pkt), -EMSGSIZE);
    CHECK_INT(azk_mqtt_decoder_reason(&d), AZK_MQTT_R_PACKET_TOO_LARGE);
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, small, 1), -EINVAL);
}

/* Remaining-length boundaries, decoded from encoded packets (QoS 0 PUBLISH, topic "t"). */
static void test_remaining_length_boundaries(void)
{
    static const size_t rems[] = {127, 128, 16383, 16384, 2097151, 2097152};
    size_t maxlen = 2097152 + 5;
    uint8_t *buf = malloc(maxlen), *dbuf = malloc(maxlen);
    char *payload = malloc(maxlen);
    CHECK(buf && dbuf && payload);
    for (size_t i = 0; i < maxlen; i++)
        payload[i] = (char)('a' + i % 26);
    struct azk_mqtt_decoder_config cfg = cfg_of(CLIENT);
    for (size_t i = 0; i < sizeof rems / sizeof rems[0]; i++) {
        struct azk_mqtt_publish p = {.topic = AZK_SPAN_LIT("t"), .payload = {payload, rems[i] - 3}};
        size_t len, used;
        CHECK_INT(azk_mqtt_encode_publish(&p, buf, maxlen, &len), 0);
        struct azk_mqtt_packet pkt;
        CHECK_INT(expect_ok_cfg(&cfg, buf, len, &pkt, __LINE__), 0);
        CHECK_INT(pkt.remaining_length, rems[i]);
        CHECK(azk_span_eq(pkt.u.publish.payload, p.payload));
        struct azk_mqtt_decoder d;
        CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, dbuf, len), 0);
        CHECK_INT(azk_mqtt_decoder_feed(&d, buf, len, &used, &pkt), AZK_MQTT_PACKET);
        CHECK_INT(used, len);
        CHECK(azk_span_eq(pkt.u.publish.payload, p.payload));
        /* one byte less of buffer: refused when the length is known */
        CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, dbuf, len - 1), 0);
        CHECK_INT(azk_mqtt_decoder_feed(&d, buf, len, &used, &pkt), -EMSGSIZE);
        CHECK_INT(used, len - rems[i]);
    }
    free(buf);
    free(dbuf);
    free(payload);
}

static void test_lengths(void)
{
    struct azk_mqtt_packet pkt;
    /* fields running past the packet */
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x30, 0x03, 0x00, 0x05, 'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x30, 0x01, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x30, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x32, 0x03, 0x00, 0x01, 't');
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x32, 0x04, 0x00, 0x01, 't', 0x01);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x03, 0x00, 0x04, 'M');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x08, MQTT4, 0x02);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x0b, MQTT4, 0x02, 0x00, 0x00, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x0d, MQTT4, 0x02, 0x00, 0x00, 0x00, 0x02,
         'a');
    /* will topic, will payload, username, password missing */
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x0d, MQTT4, 0x06, 0x00, 0x00, 0x00, 0x01,
         'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x10, MQTT4, 0x06, 0x00, 0x00, 0x00, 0x01,
         'a', 0x00, 0x01, 'w');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x0d, MQTT4, 0x82, 0x00, 0x00, 0x00, 0x01,
         'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x10, 0x10, MQTT4, 0xc2, 0x00, 0x00, 0x00, 0x01,
         'a', 0x00, 0x01, 'u');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x82, 0x01, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x82, 0x05, 0x00, 0x01, 0x00, 0x02, 'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x82, 0x06, 0x00, 0x01, 0x00, 0x02, 'a', 'b');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0xa2, 0x05, 0x00, 0x01, 0x00, 0x02, 'a');
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_TRUNCATED, 0x90, 0x01, 0x00);
    /* remaining length not what the packet type needs / trailing bytes */
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x20, 0x03, 0x00, 0x00, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x20, 0x01, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x40, 0x03, 0x00, 0x01, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x40, 0x01, 0x01);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x50, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x62, 0x04, 0x00, 0x01, 0x00, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x70, 0x01, 0x01);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0xb0, 0x01, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0xc0, 0x01, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0xd0, 0x01, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0xe0, 0x02, 0x00, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_BAD_LENGTH, 0x10, 0x0e, MQTT4, 0x02, 0x00, 0x00, 0x00, 0x01,
         'a', 'X');
    /* a well-formed minimal CONNECT for comparison */
    OK(SERVER, 0x10, 0x0d, MQTT4, 0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    CHECK_INT(pkt.type, AZK_MQTT_CONNECT);
    CHECK_MEM_STR(pkt.u.connect.client_id.ptr, pkt.u.connect.client_id.len, "a");
}

static void test_packet_ids(void)
{
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x34, 0x05, 0x00, 0x01, 't', 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x40, 0x02, 0x00, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x50, 0x02, 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x62, 0x02, 0x00, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x70, 0x02, 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a',
         0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0x90, 0x03, 0x00, 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0xa2, 0x05, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_PACKET_ID_ZERO, 0xb0, 0x02, 0x00, 0x00);
}

static void test_topics(void)
{
    struct azk_mqtt_packet pkt;
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_TOPIC_EMPTY, 0x30, 0x02, 0x00, 0x00);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_TOPIC_EMPTY, 0x32, 0x04, 0x00, 0x00, 0x00, 0x01);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_TOPIC_WILDCARD, 0x30, 0x05, 0x00, 0x03, 'a', '/', '+');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_TOPIC_WILDCARD, 0x30, 0x03, 0x00, 0x01, '#');
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_TOPIC_WILDCARD, 0x30, 0x04, 0x00, 0x02, 'a', '#');
    /* the Azure-hub option reports such topics as they are */
    static const uint8_t wild[] = {0x32, 0x0b, 0x00, 0x07, 'd', '/', 'a', '+', '#', '/', 'x',
                                   0x00, 0x05};
    struct azk_mqtt_decoder_config cfg = cfg_of(SERVER);
    cfg.allow_wildcards_in_publish_topic = true;
    CHECK_INT(expect_ok_cfg(&cfg, wild, sizeof wild, &pkt, __LINE__), 0);
    CHECK_MEM_STR(pkt.u.publish.topic.ptr, pkt.u.publish.topic.len, "d/a+#/x");
    CHECK_INT(pkt.u.publish.packet_id, 5);
    /* ... but still refuses empty topics and bad UTF-8 */
    static const uint8_t empty[] = {0x30, 0x02, 0x00, 0x00};
    CHECK_INT(expect_fail_cfg(&cfg, empty, sizeof empty, -EPROTO, AZK_MQTT_R_TOPIC_EMPTY,
                              __LINE__), 0);
    static const uint8_t nul[] = {0x30, 0x04, 0x00, 0x02, '+', 0x00};
    CHECK_INT(expect_fail_cfg(&cfg, nul, sizeof nul, -EBADMSG, AZK_MQTT_R_UTF8_NUL, __LINE__), 0);
    /* and the will topic obeys the same rules */
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_TOPIC_WILDCARD, 0x10, 0x13, MQTT4, 0x06, 0x00, 0x00, 0x00,
         0x01, 'a', 0x00, 0x01, '#', 0x00, 0x01, 'x');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_TOPIC_EMPTY, 0x10, 0x12, MQTT4, 0x06, 0x00, 0x00, 0x00, 0x01,
         'a', 0x00, 0x00, 0x00, 0x01, 'x');
}

static void test_utf8(void)
{
    /* in a PUBLISH topic */
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_NUL, 0x30, 0x05, 0x00, 0x03, 'a', 0x00, 'b');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x04, 0x00, 0x02, 0xc0, 0x80);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x04, 0x00, 0x02, 0xc1, 0xbf);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x05, 0x00, 0x03, 0xe0, 0x80, 0x80);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x06, 0x00, 0x04, 0xf0, 0x80, 0x80,
         0x80);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x05, 0x00, 0x03, 0xed, 0xbf, 0xbf);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x06, 0x00, 0x04, 0xf4, 0x90, 0x80,
         0x80);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x03, 0x00, 0x01, 0x80);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x04, 0x00, 0x02, 'a', 0xc3);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x05, 0x00, 0x03, 0xe2, 0x82, 'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x03, 0x00, 0x01, 0xf5);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x30, 0x03, 0x00, 0x01, 0xff);
    /* in a client id, username, will topic, filters */
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x10, 0x0e, MQTT4, 0x02, 0x00, 0x00, 0x00,
         0x02, 0xc0, 0xaf);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_NUL, 0x10, 0x0d, MQTT4, 0x02, 0x00, 0x00, 0x00, 0x01,
         0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x10, 0x10, MQTT4, 0x82, 0x00, 0x00, 0x00,
         0x01, 'a', 0x00, 0x01, 0xfe);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0x10, 0x13, MQTT4, 0x06, 0x00, 0x00, 0x00,
         0x01, 'a', 0x00, 0x01, 0x80, 0x00, 0x01, 'x');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_NUL, 0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_UTF8_INVALID, 0xa2, 0x06, 0x00, 0x01, 0x00, 0x02, 0xed,
         0xa0);
    /* the will payload and password are binary: any bytes */
    struct azk_mqtt_packet pkt;
    OK(SERVER, 0x10, 0x1b, MQTT4, 0xc6, 0x00, 0x00, 0x00, 0x01, 'a', 0x00, 0x01, 'w', 0x00, 0x02,
       0x00, 0xff, 0x00, 0x01, 'u', 0x00, 0x02, 0xc0, 0x80);
    CHECK_INT(pkt.u.connect.will_payload.len, 2);
    CHECK_INT(pkt.u.connect.password.len, 2);
    CHECK(memcmp(pkt.u.connect.password.ptr, "\xc0\x80", 2) == 0);

    /* the checker on its own: boundaries of the valid ranges */
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("")), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\x7f\xc2\x80\xdf\xbf")), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf")),
              AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf")), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e")), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xe0\x9f\xbf")), AZK_MQTT_R_UTF8_INVALID);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xf0\x8f\xbf\xbf")), AZK_MQTT_R_UTF8_INVALID);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xf4\x8f\xbf")), AZK_MQTT_R_UTF8_INVALID);
    CHECK_INT(azk_mqtt_utf8_check(AZK_SPAN_LIT("\xf0\x90\x80\x7f")), AZK_MQTT_R_UTF8_INVALID);
    struct azk_span bad = {NULL, 3};
    CHECK_INT(azk_mqtt_utf8_check(bad), AZK_MQTT_R_UTF8_INVALID);
}

static void test_connect_rules(void)
{
    struct azk_mqtt_packet pkt;
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PROTOCOL_NAME, 0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'X',
         0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PROTOCOL_NAME, 0x10, 0x0c, 0x00, 0x03, 'M', 'Q', 'T', 0x04,
         0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PROTOCOL_NAME, 0x10, 0x0f, 0x00, 0x06, 'M', 'Q', 'I', 's',
         'd', 'p', 0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PROTOCOL_LEVEL, 0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T',
         0x05, 0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PROTOCOL_LEVEL, 0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T',
         0x03, 0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PROTOCOL_LEVEL, 0x10, 0x0f, 0x00, 0x06, 'M', 'Q', 'I', 's',
         'd', 'p', 0x03, 0x02, 0x00, 0x00, 0x00, 0x01, 'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_CONNECT_RESERVED_FLAG, 0x10, 0x0d, MQTT4, 0x03, 0x00, 0x00,
         0x00, 0x01, 'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_WILL_FLAGS, 0x10, 0x0d, MQTT4, 0x0a, 0x00, 0x00, 0x00, 0x01,
         'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_WILL_FLAGS, 0x10, 0x0d, MQTT4, 0x12, 0x00, 0x00, 0x00, 0x01,
         'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_WILL_FLAGS, 0x10, 0x0d, MQTT4, 0x22, 0x00, 0x00, 0x00, 0x01,
         'a');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_QOS_INVALID, 0x10, 0x13, MQTT4, 0x1e, 0x00, 0x00, 0x00, 0x01,
         'a', 0x00, 0x01, 'w', 0x00, 0x01, 'x');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_PASSWORD_WITHOUT_USERNAME, 0x10, 0x10, MQTT4, 0x42, 0x00,
         0x00, 0x00, 0x01, 'a', 0x00, 0x01, 'p');
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_CLIENT_ID_EMPTY, 0x10, 0x0c, MQTT4, 0x00, 0x00, 0x3c, 0x00,
         0x00);
    /* empty client id with clean session is fine */
    OK(SERVER, 0x10, 0x0c, MQTT4, 0x02, 0x00, 0x3c, 0x00, 0x00);
    CHECK(pkt.u.connect.clean_session);
    CHECK_INT(pkt.u.connect.client_id.len, 0);
    CHECK_INT(pkt.u.connect.keep_alive, 60);
    /* will QoS 2 and retain with the will flag */
    OK(SERVER, 0x10, 0x13, MQTT4, 0x36, 0x00, 0x00, 0x00, 0x01, 'a', 0x00, 0x01, 'w', 0x00, 0x01,
       'x');
    CHECK(pkt.u.connect.will && pkt.u.connect.will_retain && pkt.u.connect.will_qos == 2);
    CHECK(!pkt.u.connect.has_username && !pkt.u.connect.has_password);
}

static void test_connack_rules(void)
{
    struct azk_mqtt_packet pkt;
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_CONNACK_FLAGS, 0x20, 0x02, 0x02, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_CONNACK_FLAGS, 0x20, 0x02, 0x80, 0x00);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_CONNACK_CODE, 0x20, 0x02, 0x00, 0x06);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_CONNACK_CODE, 0x20, 0x02, 0x00, 0xff);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_CONNACK_SESSION_PRESENT, 0x20, 0x02, 0x01, 0x02);
    for (uint8_t rc = 0; rc <= 5; rc++) {
        uint8_t in[4] = {0x20, 0x02, 0x00, rc};
        struct azk_mqtt_decoder_config c = cfg_of(CLIENT);
        CHECK_INT(expect_ok_cfg(&c, in, 4, &pkt, __LINE__), 0);
        CHECK_INT(pkt.u.connack.return_code, rc);
        CHECK(!pkt.u.connack.session_present);
    }
    OK(CLIENT, 0x20, 0x02, 0x01, 0x00);
    CHECK(pkt.u.connack.session_present);
}

static void test_subscribe_rules(void)
{
    struct azk_mqtt_packet pkt;
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_NO_FILTERS, 0x82, 0x02, 0x00, 0x01);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_NO_FILTERS, 0xa2, 0x02, 0x00, 0x01);
    FAIL(CLIENT, -EPROTO, AZK_MQTT_R_NO_FILTERS, 0x90, 0x02, 0x00, 0x01);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_FILTER_EMPTY, 0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_FILTER_EMPTY, 0xa2, 0x04, 0x00, 0x01, 0x00, 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_FILTER_INVALID, 0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 'a',
         '#', 0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_FILTER_INVALID, 0x82, 0x07, 0x00, 0x01, 0x00, 0x02, '+', 'a',
         0x00);
    FAIL(SERVER, -EPROTO, AZK_MQTT_R_FILTER_INVALID, 0xa2, 0x09, 0x00, 0x01, 0x00, 0x05, 'a', '/',
         '#', '/', 'b');
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_SUBSCRIBE_OPTIONS, 0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a',
         0x04);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_SUBSCRIBE_OPTIONS, 0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a',
         0x81);
    FAIL(SERVER, -EBADMSG, AZK_MQTT_R_QOS_INVALID, 0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_SUBACK_CODE, 0x90, 0x03, 0x00, 0x01, 0x03);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_SUBACK_CODE, 0x90, 0x04, 0x00, 0x01, 0x00, 0x7f);
    FAIL(CLIENT, -EBADMSG, AZK_MQTT_R_SUBACK_CODE, 0x90, 0x03, 0x00, 0x01, 0x81);

    /* the Azure option: wildcards anywhere in filters, reported as they are */
    static const uint8_t odd[] = {0x82, 0x0c, 0x00, 0x01, 0x00, 0x07, 'd', '/', 'a', '+', '#',
                                  '/', '#', 0x01};
    struct azk_mqtt_decoder_config cfg = cfg_of(SERVER);
    cfg.allow_any_wildcards_in_filters = true;
    CHECK_INT(expect_ok_cfg(&cfg, odd, sizeof odd, &pkt, __LINE__), 0);
    struct azk_mqtt_iter it;
    struct azk_mqtt_subscription s;
    azk_mqtt_iter_init(&it, &pkt);
    CHECK(azk_mqtt_iter_next_subscription(&it, &s));
    CHECK_MEM_STR(s.filter.ptr, s.filter.len, "d/a+#/#");
    CHECK_INT(s.qos, 1);
    CHECK(!azk_mqtt_iter_next_subscription(&it, &s));

    /* valid filters and iteration over all three list types */
    OK(SERVER, 0x82, 0x12, 0x00, 0x07, 0x00, 0x01, '#', 0x02, 0x00, 0x01, '+', 0x00, 0x00, 0x05,
       '+', '/', 'a', '/', '#', 0x01);
    CHECK_INT(pkt.u.subscribe.packet_id, 7);
    CHECK_INT(pkt.u.subscribe.count, 3);
    azk_mqtt_iter_init(&it, &pkt);
    struct azk_span f;
    uint8_t code;
    CHECK(!azk_mqtt_iter_next_filter(&it, &f)); /* wrong kind */
    CHECK(!azk_mqtt_iter_next_suback_code(&it, &code));
    CHECK(azk_mqtt_iter_next_subscription(&it, &s));
    CHECK_MEM_STR(s.filter.ptr, s.filter.len, "#");
    CHECK_INT(s.qos, 2);
    CHECK(azk_mqtt_iter_next_subscription(&it, &s));
    CHECK_MEM_STR(s.filter.ptr, s.filter.len, "+");
    CHECK_INT(s.qos, 0);
    CHECK(azk_mqtt_iter_next_subscription(&it, &s));
    CHECK_MEM_STR(s.filter.ptr, s.filter.len, "+/a/#");
    CHECK_INT(s.qos, 1);
    CHECK(!azk_mqtt_iter_next_subscription(&it, &s));

    OK(SERVER, 0xa2, 0x0a, 0x12, 0x34, 0x00, 0x01, 'a', 0x00, 0x03, 'b', '/', '+');
    CHECK_INT(pkt.u.unsubscribe.packet_id, 0x1234);
    CHECK_INT(pkt.u.unsubscribe.count, 2);
    azk_mqtt_iter_init(&it, &pkt);
    CHECK(azk_mqtt_iter_next_filter(&it, &f));
    CHECK_MEM_STR(f.ptr, f.len, "a");
    CHECK(azk_mqtt_iter_next_filter(&it, &f));
    CHECK_MEM_STR(f.ptr, f.len, "b/+");
    CHECK(!azk_mqtt_iter_next_filter(&it, &f));

    OK(CLIENT, 0x90, 0x06, 0x00, 0x02, 0x00, 0x01, 0x02, 0x80);
    CHECK_INT(pkt.u.suback.count, 4);
    azk_mqtt_iter_init(&it, &pkt);
    static const uint8_t want[] = {0, 1, 2, 0x80};
    for (size_t i = 0; i < 4; i++) {
        CHECK(azk_mqtt_iter_next_suback_code(&it, &code));
        CHECK_INT(code, want[i]);
    }
    CHECK(!azk_mqtt_iter_next_suback_code(&it, &code));

    /* a hand-made, inconsistent packet struct: the walk stays inside its span */
    struct azk_mqtt_packet bad = {.type = AZK_MQTT_SUBSCRIBE};
    bad.u.subscribe.entries = (struct azk_span){"\x00\x09" "ab", 4};
    azk_mqtt_iter_init(&it, &bad);
    CHECK(!azk_mqtt_iter_next_subscription(&it, &s));
    bad.u.subscribe.entries = (struct azk_span){"\x00\x02" "ab", 4};
    azk_mqtt_iter_init(&it, &bad);
    CHECK(!azk_mqtt_iter_next_subscription(&it, &s));
    bad.type = AZK_MQTT_PUBLISH;
    azk_mqtt_iter_init(&it, &bad);
    CHECK(!azk_mqtt_iter_next_subscription(&it, &s));
}

static void test_topic_filter_checks(void)
{
    CHECK_INT(azk_mqtt_topic_check(AZK_SPAN_LIT("a/b")), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_topic_check(AZK_SPAN_LIT("/")), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_topic_check(AZK_SPAN_LIT("")), AZK_MQTT_R_TOPIC_EMPTY);
    CHECK_INT(azk_mqtt_topic_check(AZK_SPAN_LIT("a/+")), AZK_MQTT_R_TOPIC_WILDCARD);
    static const char *good[] = {"#", "+", "+/+", "/#", "a/+/b", "a/#", "+/", "//", "$SYS/#"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK_INT(azk_mqtt_filter_check(azk_span_from_str(good[i])), AZK_MQTT_R_OK);
    static const char *bad[] = {"a#", "#/", "a/#/b", "a+", "+a", "a/b+/c", "##", "++"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(azk_mqtt_filter_check(azk_span_from_str(bad[i])), AZK_MQTT_R_FILTER_INVALID);
    CHECK_INT(azk_mqtt_filter_check(AZK_SPAN_LIT("")), AZK_MQTT_R_FILTER_EMPTY);
}

static void test_decoder_stream(void)
{
    /* three packets in one buffer: one per feed, consumed tells where the next begins */
    static const uint8_t s[] = {0x20, 0x02, 0x00, 0x00, 0x31, 0x05, 0x00, 0x01, 't', 'h', 'i',
                                0xd0, 0x00};
    uint8_t buf[64];
    struct azk_mqtt_decoder d;
    struct azk_mqtt_decoder_config cfg = cfg_of(CLIENT);
    struct azk_mqtt_packet pkt;
    size_t used;
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, buf, sizeof buf), 0);
    CHECK_INT(azk_mqtt_decoder_feed(&d, NULL, 0, &used, &pkt), AZK_MQTT_NEED_MORE);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s, sizeof s, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(used, 4);
    CHECK_INT(pkt.type, AZK_MQTT_CONNACK);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s + 4, sizeof s - 4, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(used, 7);
    CHECK_INT(pkt.type, AZK_MQTT_PUBLISH);
    CHECK(pkt.u.publish.retain);
    CHECK_MEM_STR(pkt.u.publish.payload.ptr, pkt.u.publish.payload.len, "hi");
    CHECK(pkt.u.publish.payload.ptr >= (const char *)buf &&
          pkt.u.publish.payload.ptr < (const char *)buf + sizeof buf);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s + 11, 1, &used, &pkt), AZK_MQTT_NEED_MORE);
    CHECK_INT(used, 1);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s + 12, 1, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(pkt.type, AZK_MQTT_PINGRESP);
    /* errors are sticky until reset */
    CHECK_INT(azk_mqtt_decoder_feed(&d, "\x10\x00", 2, &used, &pkt), -EPROTO);
    CHECK_INT(used, 1);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s, sizeof s, &used, &pkt), -EPROTO);
    CHECK_INT(azk_mqtt_decoder_reason(&d), AZK_MQTT_R_UNEXPECTED_TYPE);
    azk_mqtt_decoder_reset(&d);
    CHECK_INT(azk_mqtt_decoder_reason(&d), AZK_MQTT_R_OK);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s, sizeof s, &used, &pkt), AZK_MQTT_PACKET);
    /* reset drops a partial packet */
    CHECK_INT(azk_mqtt_decoder_feed(&d, s + 4, 3, &used, &pkt), AZK_MQTT_NEED_MORE);
    azk_mqtt_decoder_reset(&d);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s, 4, &used, &pkt), AZK_MQTT_PACKET);
    CHECK_INT(pkt.type, AZK_MQTT_CONNACK);
    /* bad arguments */
    CHECK_INT(azk_mqtt_decoder_feed(&d, NULL, 3, &used, &pkt), -EINVAL);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s, 3, NULL, &pkt), -EINVAL);
    CHECK_INT(azk_mqtt_decoder_feed(&d, s, 3, &used, NULL), -EINVAL);
    CHECK_INT(azk_mqtt_decoder_init(&d, NULL, buf, sizeof buf), -EINVAL);
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, NULL, sizeof buf), -EINVAL);
    cfg.role = (enum azk_mqtt_role)2;
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, buf, sizeof buf), -EINVAL);
    CHECK_INT(azk_mqtt_decode(&cfg, s, sizeof s, &pkt, NULL, NULL), -EINVAL);
    cfg.role = CLIENT;
    cfg.max_packet_size = 1;
    CHECK_INT(azk_mqtt_decoder_init(&d, &cfg, buf, sizeof buf), -EINVAL);
    CHECK_INT(azk_mqtt_decode(NULL, s, sizeof s, &pkt, NULL, NULL), -EINVAL);
    cfg.max_packet_size = 0;
    CHECK_INT(azk_mqtt_decode(&cfg, s, sizeof s, NULL, NULL, NULL), -EINVAL);
    CHECK_INT(azk_mqtt_decode(&cfg, s, sizeof s, &pkt, NULL, NULL), 0); /* optional outputs */
}

int main(void)
{
    RUN_TEST(test_fixed_header);
    RUN_TEST(test_reserved_flags_every_type);
    RUN_TEST(test_remaining_length);
    RUN_TEST(test_remaining_length_boundaries);
    RUN_TEST(test_lengths);
    RUN_TEST(test_packet_ids);
    RUN_TEST(test_topics);
    RUN_TEST(test_utf8);
    RUN_TEST(test_connect_rules);
    RUN_TEST(test_connack_rules);
    RUN_TEST(test_subscribe_rules);
    RUN_TEST(test_topic_filter_checks);
    RUN_TEST(test_decoder_stream);
    TEST_MAIN_END();
}

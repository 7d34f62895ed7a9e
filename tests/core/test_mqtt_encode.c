/* MQTT codec encoders: exact bytes from the MQTT 3.1.1 spec layouts, buffer-too-small on every
 * encoder (nothing written, not even past the given size: guard region), argument checks. */
#include <errno.h>

#include "azkit/mqtt.h"
#include "core_test.h"

#define GUARD 0xA5

/* One encoder call with its input, so every encoder can be driven by the same checks. */
struct enc_case {
    const char *name;
    int (*fn)(const struct enc_case *c, void *buf, size_t size, size_t *out);
    const void *arg;
    enum azk_mqtt_type type;
    uint16_t pid;
    size_t count;
    const char *expected; /* expected bytes */
    size_t expected_len;
};

static int enc_connect(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_connect(c->arg, b, n, o);
}
static int enc_connack(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_connack(c->arg, b, n, o);
}
static int enc_publish(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_publish(c->arg, b, n, o);
}
static int enc_publish_header(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_publish_header(c->arg, b, n, o);
}
static int enc_ack(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_ack(c->type, c->pid, b, n, o);
}
static int enc_subscribe(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_subscribe(c->pid, c->arg, c->count, b, n, o);
}
static int enc_suback(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_suback(c->pid, c->arg, c->count, b, n, o);
}
static int enc_unsubscribe(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    return azk_mqtt_encode_unsubscribe(c->pid, c->arg, c->count, b, n, o);
}
static int enc_pingreq(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    (void)c;
    return azk_mqtt_encode_pingreq(b, n, o);
}
static int enc_pingresp(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    (void)c;
    return azk_mqtt_encode_pingresp(b, n, o);
}
static int enc_disconnect(const struct enc_case *c, void *b, size_t n, size_t *o)
{
    (void)c;
    return azk_mqtt_encode_disconnect(b, n, o);
}

#define BYTES(s) (s), sizeof(s) - 1

static const struct azk_mqtt_connect connect_min = {
    .client_id = AZK_SPAN_LIT("abc"), .keep_alive = 60, .clean_session = true};
static const struct azk_mqtt_connect connect_full = {
    .client_id = AZK_SPAN_LIT("c"),
    .keep_alive = 0x1234,
    .clean_session = false,
    .will = true,
    .will_qos = 1,
    .will_retain = true,
    .will_topic = AZK_SPAN_LIT("w"),
    .will_payload = AZK_SPAN_LIT("x"),
    .has_username = true,
    .username = AZK_SPAN_LIT("u"),
    .has_password = true,
    .password = AZK_SPAN_LIT("p"),
};
static const struct azk_mqtt_connect connect_user_only = {
    .client_id = AZK_SPAN_LIT("id"), .keep_alive = 1, .clean_session = true,
    .has_username = true, .username = AZK_SPAN_LIT("")};
static const struct azk_mqtt_connack connack_sp = {.session_present = true, .return_code = 0};
static const struct azk_mqtt_connack connack_5 = {.session_present = false, .return_code = 5};
static const struct azk_mqtt_publish publish_q0 = {.topic = AZK_SPAN_LIT("a/b"),
                                                   .payload = AZK_SPAN_LIT("hi")};
static const struct azk_mqtt_publish publish_q1 = {
    .topic = AZK_SPAN_LIT("t"), .packet_id = 0x0102, .qos = 1, .dup = true, .retain = true};
static const struct azk_mqtt_publish publish_q2_hdr = {
    .topic = AZK_SPAN_LIT("t"), .payload = {NULL, 200}, .packet_id = 9, .qos = 2};
static const struct azk_mqtt_subscription subs[] = {{AZK_SPAN_LIT("a/+"), 1},
                                                    {AZK_SPAN_LIT("#"), 0}};
static const uint8_t codes[] = {0x01, 0x80};
static const struct azk_span unsubs[] = {AZK_SPAN_LIT("a/+"), AZK_SPAN_LIT("#")};

static const struct enc_case cases[] = {
    {"connect min", enc_connect, &connect_min, 0, 0, 0,
     BYTES("\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03" "abc")},
    {"connect full", enc_connect, &connect_full, 0, 0, 0,
     BYTES("\x10\x19\x00\x04MQTT\x04\xec\x12\x34\x00\x01" "c\x00\x01w\x00\x01x\x00\x01u\x00\x01p")},
    {"connect empty username", enc_connect, &connect_user_only, 0, 0, 0,
     BYTES("\x10\x10\x00\x04MQTT\x04\x82\x00\x01\x00\x02id\x00\x00")},
    {"connack sp", enc_connack, &connack_sp, 0, 0, 0, BYTES("\x20\x02\x01\x00")},
    {"connack 5", enc_connack, &connack_5, 0, 0, 0, BYTES("\x20\x02\x00\x05")},
    {"publish q0", enc_publish, &publish_q0, 0, 0, 0, BYTES("\x30\x07\x00\x03" "a/bhi")},
    {"publish q1 dup retain", enc_publish, &publish_q1, 0, 0, 0,
     BYTES("\x3b\x05\x00\x01t\x01\x02")},
    {"publish header q2", enc_publish_header, &publish_q2_hdr, 0, 0, 0,
     BYTES("\x34\xcd\x01\x00\x01t\x00\x09")},
    {"puback", enc_ack, NULL, AZK_MQTT_PUBACK, 7, 0, BYTES("\x40\x02\x00\x07")},
    {"pubrec", enc_ack, NULL, AZK_MQTT_PUBREC, 0x1234, 0, BYTES("\x50\x02\x12\x34")},
    {"pubrel", enc_ack, NULL, AZK_MQTT_PUBREL, 0xffff, 0, BYTES("\x62\x02\xff\xff")},
    {"pubcomp", enc_ack, NULL, AZK_MQTT_PUBCOMP, 1, 0, BYTES("\x70\x02\x00\x01")},
    {"unsuback", enc_ack, NULL, AZK_MQTT_UNSUBACK, 11, 0, BYTES("\xb0\x02\x00\x0b")},
    {"subscribe", enc_subscribe, subs, 0, 10, 2,
     BYTES("\x82\x0c\x00\x0a\x00\x03" "a/+\x01\x00\x01#\x00")},
    {"suback", enc_suback, codes, 0, 10, 2, BYTES("\x90\x04\x00\x0a\x01\x80")},
    {"unsubscribe", enc_unsubscribe, unsubs, 0, 11, 2,
     BYTES("\xa2\x0a\x00\x0b\x00\x03" "a/+\x00\x01#")},
    {"pingreq", enc_pingreq, NULL, 0, 0, 0, BYTES("\xc0\x00")},
    {"pingresp", enc_pingresp, NULL, 0, 0, 0, BYTES("\xd0\x00")},
    {"disconnect", enc_disconnect, NULL, 0, 0, 0, BYTES("\xe0\x00")},
};

static int check_case(const struct enc_case *c)
{
    uint8_t buf[256 + 64];
    size_t out = 0;
    /* size query */
    if (c->fn(c, NULL, 0, &out) != -ENOBUFS || out != c->expected_len) {
        fprintf(stderr, "%s: size query gave %zu, expected %zu\n", c->name, out,
                c->expected_len);
        return 1;
    }
    /* every too-small size: -ENOBUFS, needed size reported, nothing written anywhere */
    for (size_t size = 0; size < c->expected_len; size++) {
        memset(buf, GUARD, sizeof buf);
        out = 0;
        if (c->fn(c, buf, size, &out) != -ENOBUFS || out != c->expected_len) {
            fprintf(stderr, "%s: size %zu: not -ENOBUFS/%zu\n", c->name, size, c->expected_len);
            return 1;
        }
        for (size_t i = 0; i < sizeof buf; i++)
            if (buf[i] != GUARD) {
                fprintf(stderr, "%s: size %zu: byte %zu written\n", c->name, size, i);
                return 1;
            }
    }
    /* exact size: the expected bytes, guard after them intact */
    memset(buf, GUARD, sizeof buf);
    if (c->fn(c, buf, c->expected_len, &out) != 0 || out != c->expected_len ||
        memcmp(buf, c->expected, c->expected_len) != 0) {
        fprintf(stderr, "%s: wrong bytes:", c->name);
        for (size_t i = 0; i < c->expected_len; i++)
            fprintf(stderr, " %02x", buf[i]);
        fprintf(stderr, "\n");
        return 1;
    }
    for (size_t i = c->expected_len; i < sizeof buf; i++)
        if (buf[i] != GUARD) {
            fprintf(stderr, "%s: guard byte %zu written\n", c->name, i);
            return 1;
        }
    /* a larger buffer: same length */
    if (c->fn(c, buf, sizeof buf, &out) != 0 || out != c->expected_len)
        return 1;
    /* NULL out_len, NULL buf with a size */
    if (c->fn(c, buf, sizeof buf, NULL) != -EINVAL || c->fn(c, NULL, 10, &out) != -EINVAL) {
        fprintf(stderr, "%s: bad arguments accepted\n", c->name);
        return 1;
    }
    return 0;
}

static void test_exact_bytes_and_small_buffers(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT(check_case(&cases[i]), 0);
}

static void test_publish_remaining_length_boundaries(void)
{
    /* topic "t" qos 0: remaining = 3 + payload */
    static const struct {
        size_t rem;
        const char *hdr;
        size_t hdr_len;
    } b[] = {
        {127, "\x30\x7f", 2},
        {128, "\x30\x80\x01", 3},
        {16383, "\x30\xff\x7f", 3},
        {16384, "\x30\x80\x80\x01", 4},
        {2097151, "\x30\xff\xff\x7f", 4},
        {2097152, "\x30\x80\x80\x80\x01", 5},
        {268435455, "\x30\xff\xff\xff\x7f", 5},
    };
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        struct azk_mqtt_publish p = {.topic = AZK_SPAN_LIT("t"), .payload = {NULL, b[i].rem - 3}};
        size_t out;
        CHECK_INT(azk_mqtt_encode_publish_header(&p, buf, sizeof buf, &out), 0);
        CHECK_INT(out, b[i].hdr_len + 3);
        CHECK(memcmp(buf, b[i].hdr, b[i].hdr_len) == 0);
        CHECK(memcmp(buf + b[i].hdr_len, "\x00\x01t", 3) == 0);
        /* the whole packet's size, reported by the size query */
        CHECK_INT(azk_mqtt_encode_publish(&p, NULL, 0, &out), -EINVAL); /* NULL payload */
        p.payload.ptr = "";
        CHECK_INT(azk_mqtt_encode_publish(&p, NULL, 0, &out), -ENOBUFS);
        CHECK_INT(out, b[i].hdr_len + b[i].rem);
    }
    /* one byte more than the largest remaining length */
    struct azk_mqtt_publish p = {.topic = AZK_SPAN_LIT("t"), .payload = {"", 268435453}};
    size_t out;
    CHECK_INT(azk_mqtt_encode_publish(&p, NULL, 0, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_publish_header(&p, buf, sizeof buf, &out), -EINVAL);
    p.payload.len = (size_t)-1; /* overflow-safe */
    CHECK_INT(azk_mqtt_encode_publish(&p, NULL, 0, &out), -EINVAL);
}

static void test_varint(void)
{
    static const struct {
        uint32_t v;
        const char *bytes;
        size_t n;
    } v[] = {
        {0, "\x00", 1},
        {127, "\x7f", 1},
        {128, "\x80\x01", 2},
        {16383, "\xff\x7f", 2},
        {16384, "\x80\x80\x01", 3},
        {2097151, "\xff\xff\x7f", 3},
        {2097152, "\x80\x80\x80\x01", 4},
        {268435455, "\xff\xff\xff\x7f", 4},
    };
    uint8_t buf[8];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t out, used;
        uint32_t val;
        CHECK_INT(azk_mqtt_varint_size(v[i].v), v[i].n);
        CHECK_INT(azk_mqtt_varint_encode(v[i].v, buf, v[i].n - 1, &out), -ENOBUFS);
        CHECK_INT(out, v[i].n);
        CHECK_INT(azk_mqtt_varint_encode(v[i].v, buf, sizeof buf, &out), 0);
        CHECK_INT(out, v[i].n);
        CHECK(memcmp(buf, v[i].bytes, v[i].n) == 0);
        CHECK_INT(azk_mqtt_varint_decode(v[i].bytes, v[i].n, &val, &used), 0);
        CHECK_INT(val, v[i].v);
        CHECK_INT(used, v[i].n);
        CHECK_INT(azk_mqtt_varint_decode(v[i].bytes, v[i].n - 1, &val, &used), -EAGAIN);
    }
    size_t out, used;
    uint32_t val;
    CHECK_INT(azk_mqtt_varint_size(268435456u), 0);
    CHECK_INT(azk_mqtt_varint_encode(268435456u, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_varint_decode("\xff\xff\xff\xff\x01", 5, &val, &used), -EBADMSG);
    CHECK_INT(azk_mqtt_varint_decode("\x80\x80\x80\x80", 4, &val, &used), -EBADMSG);
    CHECK_INT(azk_mqtt_varint_decode("\x80\x00", 2, &val, &used), 0); /* non-minimal */
    CHECK_INT(val, 0);
    CHECK_INT(azk_mqtt_varint_decode(NULL, 0, &val, &used), -EAGAIN);
}

static void test_encoder_argument_checks(void)
{
    uint8_t buf[64];
    size_t out;
    struct azk_mqtt_connect c = connect_min;
    CHECK_INT(azk_mqtt_encode_connect(NULL, buf, sizeof buf, &out), -EINVAL);
    c.client_id = AZK_SPAN_LIT("");
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), 0); /* clean session */
    c.clean_session = false;
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
    c = connect_min;
    c.client_id = AZK_SPAN_LIT("a\xc0\x80");
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
    c = connect_full;
    c.will_qos = 3;
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
    c = connect_full;
    c.will_topic = AZK_SPAN_LIT("");
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
    c = connect_full;
    c.has_username = false;
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
    c = connect_full;
    c.password.len = 65536;
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
    c = connect_full;
    c.username = AZK_SPAN_LIT("\xed\xa0\x80");
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);

    struct azk_mqtt_connack ca = {.session_present = true, .return_code = 1};
    CHECK_INT(azk_mqtt_encode_connack(&ca, buf, sizeof buf, &out), -EINVAL);
    ca.session_present = false;
    ca.return_code = 6;
    CHECK_INT(azk_mqtt_encode_connack(&ca, buf, sizeof buf, &out), -EINVAL);

    struct azk_mqtt_publish p = publish_q1;
    p.packet_id = 0;
    CHECK_INT(azk_mqtt_encode_publish(&p, buf, sizeof buf, &out), -EINVAL);
    p = publish_q1;
    p.qos = 3;
    CHECK_INT(azk_mqtt_encode_publish(&p, buf, sizeof buf, &out), -EINVAL);
    p = publish_q0;
    p.dup = true;
    CHECK_INT(azk_mqtt_encode_publish(&p, buf, sizeof buf, &out), -EINVAL);
    p = publish_q0;
    p.topic = AZK_SPAN_LIT("");
    CHECK_INT(azk_mqtt_encode_publish(&p, buf, sizeof buf, &out), -EINVAL);
    p = publish_q0;
    p.topic = AZK_SPAN_LIT("a\0b");
    CHECK_INT(azk_mqtt_encode_publish(&p, buf, sizeof buf, &out), -EINVAL);
    p = publish_q0;
    p.topic = AZK_SPAN_LIT("devices/a+b/messages/events/"); /* wildcards not checked */
    CHECK_INT(azk_mqtt_encode_publish(&p, buf, sizeof buf, &out), 0);

    CHECK_INT(azk_mqtt_encode_ack(AZK_MQTT_PUBACK, 0, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_ack(AZK_MQTT_SUBACK, 1, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_ack(AZK_MQTT_CONNECT, 1, buf, sizeof buf, &out), -EINVAL);

    struct azk_mqtt_subscription s[2] = {subs[0], subs[1]};
    CHECK_INT(azk_mqtt_encode_subscribe(0, s, 2, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_subscribe(1, s, 0, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_subscribe(1, NULL, 1, buf, sizeof buf, &out), -EINVAL);
    s[1].qos = 3;
    CHECK_INT(azk_mqtt_encode_subscribe(1, s, 2, buf, sizeof buf, &out), -EINVAL);
    s[1].qos = 0;
    s[1].filter = AZK_SPAN_LIT("");
    CHECK_INT(azk_mqtt_encode_subscribe(1, s, 2, buf, sizeof buf, &out), -EINVAL);

    uint8_t bad_codes[] = {0, 3};
    CHECK_INT(azk_mqtt_encode_suback(1, bad_codes, 2, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_suback(1, codes, 0, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_suback(0, codes, 2, buf, sizeof buf, &out), -EINVAL);

    struct azk_span f[2] = {unsubs[0], AZK_SPAN_LIT("")};
    CHECK_INT(azk_mqtt_encode_unsubscribe(1, f, 2, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_unsubscribe(1, f, 0, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_unsubscribe(0, f, 1, buf, sizeof buf, &out), -EINVAL);
    CHECK_INT(azk_mqtt_encode_unsubscribe(1, f, 1, buf, sizeof buf, &out), 0);
}

static void test_long_strings(void)
{
    /* a 65535-byte client id is the limit; 65536 is refused */
    static char id[65536];
    memset(id, 'x', sizeof id);
    static uint8_t buf[65600];
    struct azk_mqtt_connect c = {.client_id = {id, 65535}, .clean_session = true};
    size_t out;
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), 0);
    CHECK_INT(out, 1 + 3 + 10 + 2 + 65535);
    CHECK(memcmp(buf, "\x10\x8b\x80\x04\x00\x04MQTT\x04\x02\x00\x00\xff\xff", 16) == 0);
    c.client_id.len = 65536;
    CHECK_INT(azk_mqtt_encode_connect(&c, buf, sizeof buf, &out), -EINVAL);
}

static void test_strings(void)
{
    CHECK_STR(azk_mqtt_type_str(AZK_MQTT_PUBLISH), "PUBLISH");
    CHECK_STR(azk_mqtt_type_str((enum azk_mqtt_type)0), "RESERVED");
    CHECK_STR(azk_mqtt_type_str((enum azk_mqtt_type)99), "RESERVED");
    for (int r = 0; r < AZK_MQTT_R_COUNT_; r++) {
        const char *s = azk_mqtt_reason_str((enum azk_mqtt_reason)r);
        CHECK(s && *s && strcmp(s, "unknown MQTT reason") != 0);
        for (int q = 0; q < r; q++) /* distinct */
            CHECK(strcmp(s, azk_mqtt_reason_str((enum azk_mqtt_reason)q)) != 0);
        int e = azk_mqtt_reason_errno((enum azk_mqtt_reason)r);
        CHECK(r == 0 ? e == 0 : (e == -EBADMSG || e == -EPROTO || e == -EMSGSIZE ||
                                 e == -EAGAIN));
    }
    CHECK_STR(azk_mqtt_reason_str(AZK_MQTT_R_COUNT_), "unknown MQTT reason");
    CHECK_INT(azk_mqtt_reason_errno(AZK_MQTT_R_COUNT_), -EINVAL);
    CHECK_INT(azk_mqtt_reason_errno(AZK_MQTT_R_PACKET_TOO_LARGE), -EMSGSIZE);
}

int main(void)
{
    RUN_TEST(test_exact_bytes_and_small_buffers);
    RUN_TEST(test_publish_remaining_length_boundaries);
    RUN_TEST(test_varint);
    RUN_TEST(test_encoder_argument_checks);
    RUN_TEST(test_long_strings);
    RUN_TEST(test_strings);
    TEST_MAIN_END();
}

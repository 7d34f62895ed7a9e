/* Every MQTT control packet type on both kinds of connection (an IoT Hub device, a DPS client
 * without a certificate), through the real azkit-hub: the answer each gets, and a witness
 * connection that must go on being served after each one. A DPS client's PINGREQ once killed
 * the hub (it touched the device store of a connection that has none). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char pki[512];
static char cert[700], key[700];
static char wcert[700], wkey[700];
static char scope[32];
static struct test_dev witness;

#define DEVICE "pkt-dev"

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, DEVICE, EVP_sha256(), cert, key);
    test_hub_self_signed_device(&hub, pki, "witness", EVP_sha256(), wcert, wkey);
    test_hub_start(&hub, NULL);
    test_hub_ready_str(&hub, "id_scope", scope, sizeof(scope));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, pki);
    return 0;
}

enum kind { DEVICE_CONN, DPS_CONN };

/* What the hub answers. */
enum answer {
    CLOSES,          /* the hub closes the connection */
    SILENT,          /* nothing, and the connection stays open */
    PUBACK,          /* PUBACK, open */
    PUBACK_PUBLISH,  /* PUBACK and a response PUBLISH (DPS, QoS 1 request), open */
    PUBLISH,         /* a response PUBLISH (DPS, QoS 0 request), open */
    SUBACK,
    UNSUBACK,
    PINGRESP,
};

struct packet_case {
    const char *name;
    uint8_t type;                  /* MQTT control packet type (what the hub sees) */
    enum answer device, dps;
};

/* The table: every control packet type 0..15, with PUBLISH at QoS 0, 1 and 2. */
static const struct packet_case cases[] = {
    {"reserved type 0", 0, CLOSES, CLOSES},
    {"CONNECT again", AZK_MQTT_CONNECT, CLOSES, CLOSES},
    {"CONNACK", AZK_MQTT_CONNACK, CLOSES, CLOSES},
    {"PUBLISH QoS 0", AZK_MQTT_PUBLISH, SILENT, PUBLISH},
    {"PUBLISH QoS 1", AZK_MQTT_PUBLISH, PUBACK, PUBACK_PUBLISH},
    {"PUBLISH QoS 2", AZK_MQTT_PUBLISH, CLOSES, CLOSES},
    {"PUBACK", AZK_MQTT_PUBACK, SILENT, SILENT},
    {"PUBREC", AZK_MQTT_PUBREC, CLOSES, CLOSES},
    {"PUBREL", AZK_MQTT_PUBREL, CLOSES, CLOSES},
    {"PUBCOMP", AZK_MQTT_PUBCOMP, CLOSES, CLOSES},
    {"SUBSCRIBE", AZK_MQTT_SUBSCRIBE, SUBACK, SUBACK},
    {"SUBACK", AZK_MQTT_SUBACK, CLOSES, CLOSES},
    {"UNSUBSCRIBE", AZK_MQTT_UNSUBSCRIBE, UNSUBACK, UNSUBACK},
    {"UNSUBACK", AZK_MQTT_UNSUBACK, CLOSES, CLOSES},
    {"PINGREQ", AZK_MQTT_PINGREQ, PINGRESP, PINGRESP},
    {"PINGRESP", AZK_MQTT_PINGRESP, CLOSES, CLOSES},
    {"DISCONNECT", AZK_MQTT_DISCONNECT, CLOSES, CLOSES},
    {"reserved type 15", 15, CLOSES, CLOSES},
};

/* Appends an MQTT UTF-8 string. */
static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    p[0] = (uint8_t)(n >> 8);
    p[1] = (uint8_t)n;
    memcpy(p + 2, s, n);
    return n + 2;
}

/* Frames `body` as a packet with first byte `b0` (remaining length < 16384). */
static size_t frame(uint8_t *out, uint8_t b0, const uint8_t *body, size_t len)
{
    size_t n = 0;
    out[n++] = b0;
    if (len < 128) {
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(0x80 | (len & 0x7f));
        out[n++] = (uint8_t)(len >> 7);
    }
    memcpy(out + n, body, len);
    return n + len;
}

/* The bytes of one case on a connection of `kind`. */
static size_t build(const struct packet_case *pc, enum kind kind, uint8_t *out)
{
    uint8_t body[512] = {0};
    size_t n = 0;
    const char *topic = kind == DEVICE_CONN ? "devices/" DEVICE "/messages/events/"
                                            : "$dps/registrations/PUT/iotdps-register/?$rid=7";
    const char *filter = kind == DEVICE_CONN ? "devices/" DEVICE "/messages/devicebound/#"
                                             : "$dps/registrations/res/#";
    switch (pc->type) {
    case AZK_MQTT_CONNECT:
        n += put_str(body + n, "MQTT");
        body[n++] = 4;    /* level 3.1.1 */
        body[n++] = 0x02; /* clean session */
        body[n++] = 0;
        body[n++] = 60;
        n += put_str(body + n, "x");
        return frame(out, 0x10, body, n);
    case AZK_MQTT_PUBLISH: {
        int qos = strstr(pc->name, "QoS 2") ? 2 : strstr(pc->name, "QoS 1") ? 1 : 0;
        n += put_str(body + n, topic);
        if (qos > 0) {
            body[n++] = 0;
            body[n++] = 9;
        }
        const char *payload = kind == DEVICE_CONN ? "{\"t\":1}" : "{\"registrationId\":\"r\"}";
        memcpy(body + n, payload, strlen(payload));
        n += strlen(payload);
        return frame(out, (uint8_t)(0x30 | (qos << 1)), body, n);
    }
    case AZK_MQTT_SUBSCRIBE:
        body[n++] = 0;
        body[n++] = 3;
        n += put_str(body + n, filter);
        body[n++] = 1;
        return frame(out, 0x82, body, n);
    case AZK_MQTT_UNSUBSCRIBE:
        body[n++] = 0;
        body[n++] = 4;
        n += put_str(body + n, filter);
        return frame(out, 0xa2, body, n);
    case AZK_MQTT_CONNACK:
        body[n++] = 0;
        body[n++] = 0;
        return frame(out, 0x20, body, n);
    case AZK_MQTT_PUBACK:
    case AZK_MQTT_PUBREC:
    case AZK_MQTT_PUBCOMP:
    case AZK_MQTT_UNSUBACK:
        body[n++] = 0;
        body[n++] = 7;
        return frame(out, (uint8_t)(pc->type << 4), body, n);
    case AZK_MQTT_PUBREL:
        body[n++] = 0;
        body[n++] = 7;
        return frame(out, 0x62, body, n);
    case AZK_MQTT_SUBACK:
        body[n++] = 0;
        body[n++] = 7;
        body[n++] = 0;
        return frame(out, 0x90, body, n);
    default: /* PINGREQ, PINGRESP, DISCONNECT, reserved 0 and 15: no body */
        return frame(out, (uint8_t)(pc->type << 4), body, 0);
    }
}

static void open_conn(struct test_dev *d, enum kind kind, uint16_t keepalive)
{
    memset(d, 0, sizeof(*d));
    if (kind == DEVICE_CONN) {
        assert_int_equal(test_dev_tls(d, &hub, cert, key, TLS1_2_VERSION, NULL), 0);
        assert_int_equal(test_dev_connect(d, DEVICE, NULL, true, keepalive, NULL), 0);
        return;
    }
    /* DPS without any client certificate: anyone who knows the id scope can do this. */
    assert_int_equal(test_dev_tls(d, &hub, NULL, NULL, TLS1_2_VERSION, NULL), 0);
    char user[256];
    snprintf(user, sizeof(user), "%s/registrations/reg-x/api-version=2019-03-31", scope);
    assert_int_equal(test_dev_connect(d, "reg-x", user, true, keepalive, NULL), 0);
}

static bool is_dps_response(const struct test_dev *d)
{
    static const char prefix[] = "$dps/registrations/res/";
    struct azk_span t = d->pkt.u.publish.topic;
    return t.len > sizeof(prefix) - 1 && memcmp(t.ptr, prefix, sizeof(prefix) - 1) == 0;
}

static void expect_type(struct test_dev *d, uint8_t type, const char *what)
{
    int r = test_dev_read(d, 5000);
    if (r != 1)
        fail_msg("%s: expected %s, the hub %s", what, azk_mqtt_type_str(type),
                 r == 0 ? "sent nothing" : "closed the connection");
    if (d->pkt.type != type)
        fail_msg("%s: expected %s, got %s", what, azk_mqtt_type_str(type),
                 azk_mqtt_type_str(d->pkt.type));
}

static void expect_open(struct test_dev *d, const char *what)
{
    uint8_t ping[] = {0xc0, 0x00};
    test_dev_send(d, ping, sizeof(ping));
    expect_type(d, AZK_MQTT_PINGRESP, what);
}

static void run_case(const struct packet_case *pc, enum kind kind)
{
    char what[128];
    snprintf(what, sizeof(what), "%s on a %s connection", pc->name,
             kind == DEVICE_CONN ? "device" : "DPS");
    struct test_dev d;
    open_conn(&d, kind, 60);
    if (kind == DPS_CONN && pc->type == AZK_MQTT_PUBLISH) {
        /* The answer goes to subscribers of $dps/registrations/res/# only. */
        const char *f[] = {"$dps/registrations/res/#"};
        test_dev_subscribe(&d, 1, f, 1, 1);
        expect_type(&d, AZK_MQTT_SUBACK, what);
    }
    uint8_t bytes[1024];
    size_t n = build(pc, kind, bytes);
    test_dev_send(&d, bytes, n);
    enum answer a = kind == DEVICE_CONN ? pc->device : pc->dps;
    switch (a) {
    case CLOSES: {
        int r = test_dev_read(&d, 5000);
        if (r != -1)
            fail_msg("%s: expected the hub to close the connection, got %s", what,
                     r == 0 ? "silence" : azk_mqtt_type_str(d.pkt.type));
        break;
    }
    case SILENT:
        expect_open(&d, what);
        break;
    case PUBACK:
        expect_type(&d, AZK_MQTT_PUBACK, what);
        assert_int_equal(d.pkt.u.packet_id, 9);
        expect_open(&d, what);
        break;
    case PUBACK_PUBLISH:
        expect_type(&d, AZK_MQTT_PUBACK, what);
        expect_type(&d, AZK_MQTT_PUBLISH, what);
        assert_true(is_dps_response(&d));
        expect_open(&d, what);
        break;
    case PUBLISH:
        expect_type(&d, AZK_MQTT_PUBLISH, what);
        assert_true(is_dps_response(&d));
        expect_open(&d, what);
        break;
    case SUBACK:
        expect_type(&d, AZK_MQTT_SUBACK, what);
        expect_open(&d, what);
        break;
    case UNSUBACK:
        expect_type(&d, AZK_MQTT_UNSUBACK, what);
        expect_open(&d, what);
        break;
    case PINGRESP:
        expect_type(&d, AZK_MQTT_PINGRESP, what);
        expect_open(&d, what);
        break;
    }
    test_dev_close(&d);
    /* The hub goes on serving everyone else. */
    expect_open(&witness, what);
}

static void open_witness(void)
{
    memset(&witness, 0, sizeof(witness));
    assert_int_equal(test_dev_tls(&witness, &hub, wcert, wkey, TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(&witness, "witness", NULL, true, 0, NULL), 0);
}

static void test_every_packet_on_a_device_connection(void **state)
{
    (void)state;
    open_witness();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i], DEVICE_CONN);
    test_dev_close(&witness);
}

static void test_every_packet_on_a_dps_connection(void **state)
{
    (void)state;
    open_witness();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i], DPS_CONN);
    test_dev_close(&witness);
    assert_true(test_hub_log_contains(&hub, "PUBREC: DPS does not support QoS 2"));
    assert_true(test_hub_log_contains(&hub, "second CONNECT on one connection (DPS connection)"));
}

/* A DPS client idle for its whole keepalive pings, as paho and the SDKs do. */
static void test_dps_client_idle_past_its_keepalive_gets_pingresp(void **state)
{
    (void)state;
    struct test_dev d;
    open_conn(&d, DPS_CONN, 2);
    for (int i = 0; i < 2; i++) {
        sleep(2);
        expect_open(&d, "PINGREQ after 2 s idle on a DPS connection");
    }
    test_dev_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_packet_on_a_device_connection),
        cmocka_unit_test(test_every_packet_on_a_dps_connection),
        cmocka_unit_test(test_dps_client_idle_past_its_keepalive_gets_pingresp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

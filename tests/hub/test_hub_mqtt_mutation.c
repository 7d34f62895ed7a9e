/* Mutation fuzzing over live sessions of the real azkit-hub: IoT Hub device and DPS
 * connections (a DPS client without a certificate included) send valid packet sequences with
 * bytes flipped, inserted, dropped and cut short, CONNECT included. The hub must answer only
 * well-formed packets, keep serving a witness connection, and exit cleanly at the end (under
 * ASan in the sanitizer build). Deterministic: a fixed seed. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char pki[512];
static char cert[700], key[700], wcert[700], wkey[700];
static char scope[32];

#define DEVICE "mut-dev"
#define ROUNDS 240

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* the hub closes connections while we write */
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

static size_t add_subscribe(uint8_t *buf, size_t cap, const char *filter, uint16_t id)
{
    struct azk_mqtt_subscription s = {azk_span_from_str(filter), 1};
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_subscribe(id, &s, 1, buf, cap, &n), 0);
    return n;
}

static size_t add_connect(uint8_t *buf, size_t cap, bool dps)
{
    char user[256];
    struct azk_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    if (dps) {
        snprintf(user, sizeof(user), "%s/registrations/reg-m/api-version=2019-03-31", scope);
        c.client_id = azk_span_from_str("reg-m");
    } else {
        snprintf(user, sizeof(user), "localhost/" DEVICE "/?api-version=2021-04-12");
        c.client_id = azk_span_from_str(DEVICE);
    }
    c.has_username = true;
    c.username = azk_span_from_str(user);
    c.clean_session = (next_rand() & 1) != 0;
    c.keep_alive = 60;
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_connect(&c, buf, cap, &n), 0);
    return n;
}

/* A valid sequence of 1..6 packets a client of this kind sends. */
static size_t valid_sequence(uint8_t *buf, size_t cap, bool dps)
{
    static const uint8_t ping[] = {0xc0, 0x00};
    static const uint8_t puback[] = {0x40, 0x02, 0x00, 0x01};
    size_t n = 0;
    int count = 1 + (int)(next_rand() % 6);
    for (int i = 0; i < count && cap - n > 1024; i++) {
        uint16_t id = (uint16_t)(1 + next_rand() % 1000);
        switch (next_rand() % 6) {
        case 0:
            memcpy(buf + n, ping, sizeof(ping));
            n += sizeof(ping);
            break;
        case 1:
            memcpy(buf + n, puback, sizeof(puback));
            n += sizeof(puback);
            break;
        case 2:
            n += add_subscribe(buf + n, cap - n,
                               dps ? "$dps/registrations/res/#" : "$iothub/twin/res/#", id);
            break;
        case 3:
            n += test_mqtt_publish_bytes(buf + n, cap - n,
                             dps ? "$dps/registrations/PUT/iotdps-register/?$rid=1"
                                 : "devices/" DEVICE "/messages/events/a=1&b=2",
                             "{\"registrationId\":\"reg-m\",\"x\":[1,2,3]}", (int)(next_rand() % 2),
                             id);
            break;
        case 4:
            n += test_mqtt_publish_bytes(buf + n, cap - n,
                             dps ? "$dps/registrations/GET/iotdps-get-operationstatus/"
                                   "?$rid=2&operationId=4.x.y"
                                 : "$iothub/twin/PATCH/properties/reported/?$rid=3",
                             "{\"a\":{\"b\":1}}", (int)(next_rand() % 2), id);
            break;
        default:
            n += test_mqtt_publish_bytes(buf + n, cap - n, dps ? "$dps/x" : "$iothub/twin/GET/?$rid=9", "",
                             (int)(next_rand() % 2), id);
            break;
        }
    }
    return n;
}

/* Flips, inserts, drops or cuts: 1..4 mutations. */
static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
    int count = 1 + (int)(next_rand() % 4);
    for (int i = 0; i < count && n > 0; i++) {
        size_t at = next_rand() % n;
        switch (next_rand() % 5) {
        case 0:
            buf[at] ^= (uint8_t)(1u << (next_rand() % 8));
            break;
        case 1:
            buf[at] = (uint8_t)next_rand();
            break;
        case 2:
            if (n < cap) {
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = (uint8_t)next_rand();
                n++;
            }
            break;
        case 3:
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
            break;
        default:
            n = at; /* cut short */
            break;
        }
    }
    return n;
}

/* Reads until the hub closes or goes quiet; test_dev_read fails on a malformed packet. */
static void drain(struct test_dev *d)
{
    for (int i = 0; i < 64; i++)
        if (test_dev_read(d, 30) != 1)
            return;
}

static void ping_witness(struct test_dev *w, int round)
{
    static const uint8_t ping[] = {0xc0, 0x00};
    test_dev_send(w, ping, sizeof(ping));
    int r = test_dev_read(w, 5000);
    if (r != 1 || w->pkt.type != AZK_MQTT_PINGRESP)
        fail_msg("after round %d the hub no longer answers the witness's PINGREQ", round);
}

static void test_mutated_sessions_of_both_kinds(void **state)
{
    (void)state;
    struct test_dev w;
    memset(&w, 0, sizeof(w));
    assert_int_equal(test_dev_tls(&w, &hub, wcert, wkey, TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(&w, "witness", NULL, true, 0, NULL), 0);
    static uint8_t buf[16384];
    for (int round = 0; round < ROUNDS; round++) {
        bool dps = round % 2 == 1;
        bool mutate_connect = next_rand() % 4 == 0;
        struct test_dev d;
        memset(&d, 0, sizeof(d));
        int tls = dps ? test_dev_tls(&d, &hub, NULL, NULL, TLS1_2_VERSION, NULL)
                      : test_dev_tls(&d, &hub, cert, key, TLS1_2_VERSION, NULL);
        assert_int_equal(tls, 0);
        size_t n = 0;
        if (mutate_connect) {
            n = add_connect(buf, sizeof(buf), dps); /* mutated with what follows */
        } else if (dps) {
            char user[256];
            snprintf(user, sizeof(user), "%s/registrations/reg-m/api-version=2019-03-31",
                     scope);
            assert_int_equal(test_dev_connect(&d, "reg-m", user, true, 60, NULL), 0);
        } else {
            assert_int_equal(test_dev_connect(&d, DEVICE, NULL, true, 60, NULL), 0);
        }
        n += valid_sequence(buf + n, sizeof(buf) - n, dps);
        n = mutate(buf, n, sizeof(buf));
        if (n > 0)
            SSL_write(d.ssl, buf, (int)n); /* may fail: the hub may have closed already */
        drain(&d);
        test_dev_close(&d);
        if (round % 20 == 19)
            ping_witness(&w, round);
    }
    ping_witness(&w, ROUNDS);
    test_dev_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutated_sessions_of_both_kinds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

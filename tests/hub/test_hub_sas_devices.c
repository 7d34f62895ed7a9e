/* Devices with symmetric keys over MQTT through the real azkit-hub: a SAS token in the CONNECT
 * password, checked as IoT Hub checks it (resource, expiry, signature with either key, the
 * hub-level policy), each refusal a CONNACK 5 with its own reason in the log, and the
 * connection closed when the token expires. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub/service/sas.h"
#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
/* base64 of 32 bytes each */
static const char key1[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
static const char key2[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
static const char other[] = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";

static int setup(void **state)
{
    (void)state;
    test_hub_init(&hub);
    test_hub_add_sas_device(&hub, "sas-1", key1, key2, true);
    test_hub_add_sas_device(&hub, "sas-off", key1, NULL, false);
    test_hub_start(&hub, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, NULL);
    return 0;
}

/* CONNECT as `id` with `password` (NULL: none); the CONNACK code, or -1 when closed. */
static int connect_with(struct test_dev *d, const char *id, const char *password)
{
    memset(d, 0, sizeof(*d));
    assert_int_equal(test_dev_tls(d, &hub, NULL, NULL, TLS1_2_VERSION, NULL), 0);
    char user[256];
    snprintf(user, sizeof(user), "localhost/%s/?api-version=2021-04-12", id);
    struct azk_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    c.client_id = azk_span_from_str(id);
    c.has_username = true;
    c.username = azk_span_from_str(user);
    c.has_password = password != NULL;
    c.password = azk_span_from_str(password ? password : "");
    c.clean_session = true;
    c.keep_alive = 60;
    uint8_t out[2048];
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_connect(&c, out, sizeof(out), &n), 0);
    test_dev_send(d, out, n);
    if (test_dev_read(d, 5000) != 1)
        return -1;
    assert_int_equal(d->pkt.type, AZK_MQTT_CONNACK);
    return d->pkt.u.connack.return_code;
}

static const char *token(const char *key, const char *sr, const char *skn, int64_t ttl_s)
{
    static char buf[4][1024];
    static int i;
    char *t = buf[i++ % 4];
    assert_true(hub_sas_create(key, sr, skn, (int64_t)time(NULL) + ttl_s, t, 1024) > 0);
    return t;
}

static void expect_refused(const char *id, const char *password, const char *log_text)
{
    struct test_dev d;
    assert_int_equal(connect_with(&d, id, password), AZK_MQTT_CONNACK_NOT_AUTHORIZED);
    test_dev_close(&d);
    if (!test_hub_log_contains(&hub, log_text))
        fail_msg("the log does not say '%s'", log_text);
}

static void test_tokens_accepted(void **state)
{
    (void)state;
    const char *ok[] = {
        token(key1, "localhost/devices/sas-1", NULL, 600),
        token(key2, "localhost/devices/sas-1", NULL, 600),      /* the secondary key */
        token(key1, "127.0.0.1/devices/sas-1", NULL, 600),       /* another name of the hub */
        token(key1, "localhost:8883/devices/sas-1", NULL, 600),  /* with a port */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct test_dev d;
        assert_int_equal(connect_with(&d, "sas-1", ok[i]), 0);
        test_dev_publish(&d, "devices/sas-1/messages/events/", "{\"n\":1}", 1, 3);
        assert_int_equal(test_dev_read(&d, 5000), 1);
        assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
        test_dev_close(&d);
    }
}

static void test_each_refusal_has_its_reason(void **state)
{
    (void)state;
    expect_refused("sas-1", NULL, "the device authenticates with a SAS token");
    expect_refused("sas-1", "password", "missing or malformed SharedAccessSignature");
    const char *forged = token(other, "localhost/devices/sas-1", NULL, 600);
    expect_refused("sas-1", forged, "bad signature");
    expect_refused("sas-1", token(key1, "localhost/devices/sas-1", NULL, -5),
                   "the token has expired");
    expect_refused("sas-1", token(key1, "localhost/devices/sas-2", NULL, 600),
                   "is not this hub's '<host>/devices/<device id>'");
    expect_refused("sas-1", token(key1, "elsewhere.example/devices/sas-1", NULL, 600),
                   "is not this hub's");
    expect_refused("sas-1", token(key1, "localhost/devices/sas-1", "someone", 600),
                   "unknown shared access policy");
    expect_refused("sas-off", token(key1, "localhost/devices/sas-off", NULL, 600),
                   "the device is disabled");
    /* Keys and signatures never reach the log. */
    assert_false(test_hub_log_contains(&hub, key1));
    char sig[128];
    const char *p = strstr(forged, "sig=") + 4;
    snprintf(sig, sizeof(sig), "%.*s", (int)strcspn(p, "&"), p);
    assert_true(strlen(sig) > 20);
    assert_false(test_hub_log_contains(&hub, sig));
}

/* The hub-level policy (iothubowner) may connect a device, with sr = the hub or the device. */
static void test_hub_policy_token(void **state)
{
    (void)state;
    char service_key[128] = "";
    char *k = azk_test_read(azk_path(hub.data, "pki/service.key"), NULL);
    snprintf(service_key, sizeof(service_key), "%s", k);
    free(k);
    service_key[strcspn(service_key, "\r\n")] = '\0';
    struct test_dev d;
    assert_int_equal(connect_with(&d, "sas-1", token(service_key, "localhost", "iothubowner", 600)), 0);
    test_dev_close(&d);
    assert_int_equal(connect_with(&d, "sas-1", token(service_key, "localhost/devices/sas-1",
                                                     "iothubowner", 600)), 0);
    test_dev_close(&d);
    expect_refused("sas-1", token(key1, "localhost", "iothubowner", 600), "bad signature");
}

/* When the token expires the hub closes the connection, as Azure does. */
static void test_expiry_closes_the_connection(void **state)
{
    (void)state;
    struct test_dev d;
    assert_int_equal(connect_with(&d, "sas-1", token(key1, "localhost/devices/sas-1", NULL, 2)), 0);
    int r;
    while ((r = test_dev_read(&d, 10000)) == 1)
        ;
    assert_int_equal(r, -1); /* closed, not silent */
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "its SAS token expired"));
}

/* `azkit-hub device add --sas`: keys generated by the hub, the connection string printed, and
 * a token signed with its key connects. */
static void test_admin_add_sas_device(void **state)
{
    (void)state;
    cJSON *j = test_hub_admin(&hub, 0, "device", "add", "sas-admin", "--sas", NULL);
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "device");
    const char *cs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dev, "connectionString"));
    assert_non_null(cs);
    char expect[64];
    snprintf(expect, sizeof(expect), "HostName=localhost:%d;DeviceId=sas-admin;", hub.mqtt_port);
    assert_true(strncmp(cs, expect, strlen(expect)) == 0);
    char added[1024], k[128];
    snprintf(added, sizeof(added), "%s", cs);
    snprintf(k, sizeof(k), "%s", strstr(cs, "SharedAccessKey=") + strlen("SharedAccessKey="));
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 0, "device", "show", "sas-admin", NULL);
    dev = cJSON_GetObjectItemCaseSensitive(j, "device");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dev, "connectionString")),
                        added);
    cJSON_Delete(j);
    struct test_dev d;
    assert_int_equal(connect_with(&d, "sas-admin", token(k, "localhost/devices/sas-admin", NULL, 600)), 0);
    test_dev_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_accepted),
        cmocka_unit_test(test_each_refusal_has_its_reason),
        cmocka_unit_test(test_hub_policy_token),
        cmocka_unit_test(test_expiry_closes_the_connection),
        cmocka_unit_test(test_admin_add_sas_device),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Persistent sessions as IoT Hub keeps them, through the real azkit-hub with a raw MQTT client
 * that behaves like Microsoft's Python device SDK: CleanSession=0 and no SUBSCRIBE after a
 * reconnect. Every subscription of the session (twin responses, desired patches, methods, C2D)
 * is in force from the CONNACK on, also after a hub restart; CleanSession=1 discards it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "hub_harness.h"
#include "support/test_util.h"

#define DEV "sess-1"

static struct test_hub hub;
static char pki[512], cert[700], key[700];

static int setup(void **state)
{
    (void)state;
    test_hub_start_with_device(&hub, pki, DEV, cert, key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, pki);
    return 0;
}

static bool connect_dev(struct test_dev *d, bool clean)
{
    bool present = false;
    memset(d, 0, sizeof(*d));
    assert_int_equal(test_dev_tls(d, &hub, cert, key, TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(d, DEV, NULL, clean, 60, &present), 0);
    return present;
}

static void expect_publish(struct test_dev *d, const char *topic_prefix)
{
    assert_int_equal(test_dev_read(d, 5000), 1);
    if (d->pkt.type != AZK_MQTT_PUBLISH)
        fail_msg("expected a PUBLISH to %s..., got %s", topic_prefix,
                 azk_mqtt_type_str(d->pkt.type));
    struct azk_span t = d->pkt.u.publish.topic;
    if (t.len < strlen(topic_prefix) || memcmp(t.ptr, topic_prefix, strlen(topic_prefix)) != 0)
        fail_msg("topic '%.*s', expected '%s...'", (int)t.len, t.ptr, topic_prefix);
}

/* The twin GET is answered only when $iothub/twin/res/# is in force. */
static void expect_twin_get_answered(struct test_dev *d, bool answered)
{
    test_dev_publish(d, "$iothub/twin/GET/?$rid=41", "", 0, 0);
    uint8_t ping[] = {0xc0, 0x00};
    test_dev_send(d, ping, sizeof(ping));
    assert_int_equal(test_dev_read(d, 5000), 1);
    if (answered) {
        assert_int_equal(d->pkt.type, AZK_MQTT_PUBLISH);
        assert_true(azk_span_eq_str(d->pkt.u.publish.topic, "$iothub/twin/res/200/?$rid=41"));
        assert_int_equal(test_dev_read(d, 5000), 1);
    }
    assert_int_equal(d->pkt.type, AZK_MQTT_PINGRESP); /* and nothing before it */
}

static void subscribe_all(struct test_dev *d)
{
    const char *f[] = {"$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#",
                       "$iothub/methods/POST/#", "devices/" DEV "/messages/devicebound/#"};
    test_dev_subscribe(d, 1, f, 4, 1);
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_SUBACK);
}

struct bg {
    pthread_t t;
    cJSON *out;
};

static void *invoke_method(void *arg)
{
    struct bg *b = arg;
    b->out = test_hub_admin(&hub, 0, "method", "invoke", DEV, "reboot", "--payload", "{}",
                            "--timeout", "10", NULL);
    return NULL;
}

/* A direct method reaches the device and its answer the caller. */
static void expect_method_delivered(struct test_dev *d)
{
    struct bg b = {0};
    pthread_create(&b.t, NULL, invoke_method, &b);
    expect_publish(d, "$iothub/methods/POST/reboot/?$rid=");
    char topic[256], res[300];
    snprintf(topic, sizeof(topic), "%.*s", (int)d->pkt.u.publish.topic.len,
             d->pkt.u.publish.topic.ptr);
    snprintf(res, sizeof(res), "$iothub/methods/res/200/?$rid=%s", strstr(topic, "$rid=") + 5);
    test_dev_publish(d, res, "{\"ok\":true}", 0, 0);
    pthread_join(b.t, NULL);
    assert_non_null(b.out);
    assert_int_equal(cJSON_GetObjectItem(b.out, "status")->valueint, 200);
    cJSON_Delete(b.out);
}

static void ack(struct test_dev *d)
{
    uint8_t out[4];
    size_t n = 0;
    azk_mqtt_encode_ack(AZK_MQTT_PUBACK, d->pkt.u.publish.packet_id, out, sizeof(out), &n);
    test_dev_send(d, out, n);
}

static void test_reconnect_without_subscribe_keeps_every_subscription(void **state)
{
    (void)state;
    struct test_dev d;
    assert_false(connect_dev(&d, false)); /* no session yet */
    subscribe_all(&d);
    test_dev_close(&d);

    /* Reconnect as the Python SDK does: CleanSession=0, no SUBSCRIBE. */
    assert_true(connect_dev(&d, false));
    expect_twin_get_answered(&d, true);
    expect_method_delivered(&d);
    cJSON_Delete(test_hub_admin(&hub, 0, "twin", "set-desired", DEV, "{\"interval\":30}", NULL));
    expect_publish(&d, "$iothub/twin/PATCH/properties/desired/?$version=");
    cJSON *patch = cJSON_ParseWithLength(d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    assert_non_null(patch);
    assert_int_equal(cJSON_GetObjectItem(patch, "interval")->valueint, 30);
    cJSON_Delete(patch);
    cJSON_Delete(test_hub_admin(&hub, 0, "c2d", "send", DEV, "online", NULL));
    expect_publish(&d, "devices/" DEV "/messages/devicebound/");
    ack(&d);
    test_dev_close(&d);

    /* A C2D message queued while offline arrives after the CONNACK, still no SUBSCRIBE. */
    cJSON_Delete(test_hub_admin(&hub, 0, "c2d", "send", DEV, "while-offline", NULL));
    assert_true(connect_dev(&d, false));
    expect_publish(&d, "devices/" DEV "/messages/devicebound/");
    assert_true(azk_span_eq_str(d.pkt.u.publish.payload, "while-offline"));
    ack(&d);
    test_dev_close(&d);

    /* The session survives a hub restart. */
    test_hub_stop(&hub);
    test_hub_start(&hub, NULL);
    assert_true(connect_dev(&d, false));
    expect_twin_get_answered(&d, true);
    expect_method_delivered(&d);
    test_dev_close(&d);
}

static void test_unsubscribe_is_part_of_the_session(void **state)
{
    (void)state;
    struct test_dev d;
    connect_dev(&d, false);
    subscribe_all(&d);
    uint8_t unsub[64];
    size_t n = 0;
    struct azk_span f = azk_span_from_str("$iothub/twin/res/#");
    assert_int_equal(azk_mqtt_encode_unsubscribe(5, &f, 1, unsub, sizeof(unsub), &n), 0);
    test_dev_send(&d, unsub, n);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_UNSUBACK);
    test_dev_close(&d);
    assert_true(connect_dev(&d, false));
    expect_twin_get_answered(&d, false);
    expect_method_delivered(&d);
    test_dev_close(&d);
}

static void test_clean_session_discards_the_session(void **state)
{
    (void)state;
    struct test_dev d;
    connect_dev(&d, false);
    subscribe_all(&d);
    test_dev_close(&d);
    assert_false(connect_dev(&d, true)); /* CleanSession=1: never session-present */
    expect_twin_get_answered(&d, false);
    test_dev_close(&d);
    assert_false(connect_dev(&d, false)); /* the old session is gone */
    expect_twin_get_answered(&d, false);
    /* Methods need a subscription: the service is told the device is not online. */
    cJSON *j = test_hub_admin(&hub, 1, "method", "invoke", DEV, "reboot", NULL);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "DeviceNotOnline"));
    free(text);
    cJSON_Delete(j);
    test_dev_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reconnect_without_subscribe_keeps_every_subscription,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_is_part_of_the_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_clean_session_discards_the_session, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

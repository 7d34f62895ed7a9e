/* The service side meets a real device: direct methods answered, C2D delivered with its
 * properties and removed on PUBACK, desired updates pushed, telemetry followed, and every
 * fault injection, all through the admin CLI (HTTPS service API) and a raw MQTT device. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char pki[512], cert[700], key[700];

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, "svc-1", EVP_sha256(), cert, key);
    test_hub_start(&hub, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_stop(&hub);
    test_hub_cleanup(&hub);
    azk_test_rmrf(pki);
    return 0;
}

static void open_dev(struct test_dev *d, const char *const *filters, size_t n)
{
    assert_int_equal(test_dev_open(d, &hub, "svc-1", cert, key, TLS1_2_VERSION), 0);
    if (n > 0) {
        test_dev_subscribe(d, 1, filters, n, 1);
        assert_int_equal(test_dev_read(d, 5000), 1);
        assert_int_equal(d->pkt.type, AZK_MQTT_SUBACK);
    }
}

/* Runs an admin command in a thread so the test can answer the device side meanwhile. */
struct bg {
    pthread_t t;
    const char *args[8];
    cJSON *out;
};

static void *bg_run(void *arg)
{
    struct bg *b = arg;
    b->out = test_hub_admin(&hub, 0, b->args[0], b->args[1], b->args[2], b->args[3], b->args[4],
                            b->args[5], b->args[6], b->args[7]);
    return NULL;
}

static void test_method_answered(void **state)
{
    (void)state;
    struct test_dev d;
    const char *f[] = {"$iothub/methods/POST/#"};
    open_dev(&d, f, 1);
    struct bg b = {.args = {"method", "invoke", "svc-1", "reboot", "--payload", "{\"delay\":5}",
                            NULL, NULL}};
    pthread_create(&b.t, NULL, bg_run, &b);
    assert_int_equal(test_dev_read(&d, 10000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBLISH);
    char topic[256];
    snprintf(topic, sizeof(topic), "%.*s", (int)d.pkt.u.publish.topic.len, d.pkt.u.publish.topic.ptr);
    assert_non_null(strstr(topic, "$iothub/methods/POST/reboot/?$rid="));
    assert_true(azk_span_eq_str(d.pkt.u.publish.payload, "{\"delay\":5}"));
    const char *rid = strstr(topic, "$rid=") + 5;
    char res[256];
    snprintf(res, sizeof(res), "$iothub/methods/res/201/?$rid=%s", rid);
    test_dev_publish(&d, res, "{\"rebooting\":true}", 0, 0);
    pthread_join(b.t, NULL);
    assert_non_null(b.out);
    assert_int_equal(cJSON_GetObjectItem(b.out, "status")->valueint, 201);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(b.out, "payload"), "rebooting")));
    cJSON_Delete(b.out);
    /* Not answered in time: 504. */
    cJSON *j = test_hub_admin(&hub, 1, "method", "invoke", "svc-1", "slow", "--timeout", "5", NULL);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "GatewayTimeout"));
    free(text);
    cJSON_Delete(j);
    test_dev_close(&d);
    /* Not connected: 404 DeviceNotOnline. */
    j = test_hub_admin(&hub, 1, "method", "invoke", "svc-1", "reboot", NULL);
    text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "DeviceNotOnline"));
    free(text);
    cJSON_Delete(j);
}

static void test_c2d_delivered_and_queued(void **state)
{
    (void)state;
    /* Queued while offline, delivered on subscribe, removed on PUBACK. */
    cJSON *j = test_hub_admin(&hub, 0, "c2d", "send", "svc-1", "first", "--property", "color=red",
                              "--message-id", "m-1", NULL);
    cJSON_Delete(j);
    struct test_dev d;
    const char *f[] = {"devices/svc-1/messages/devicebound/#"};
    assert_int_equal(test_dev_open(&d, &hub, "svc-1", cert, key, TLS1_3_VERSION), 0);
    test_dev_subscribe(&d, 1, f, 1, 1);
    bool got_suback = false, got_msg = false;
    while (!got_suback || !got_msg) {
        assert_int_equal(test_dev_read(&d, 5000), 1);
        if (d.pkt.type == AZK_MQTT_SUBACK) {
            got_suback = true;
            continue;
        }
        assert_int_equal(d.pkt.type, AZK_MQTT_PUBLISH);
        assert_int_equal(d.pkt.u.publish.qos, 1);
        assert_true(azk_span_eq_str(d.pkt.u.publish.payload, "first"));
        char topic[512];
        snprintf(topic, sizeof(topic), "%.*s", (int)d.pkt.u.publish.topic.len,
                 d.pkt.u.publish.topic.ptr);
        assert_non_null(strstr(topic, "devices/svc-1/messages/devicebound/"));
        assert_non_null(strstr(topic, "color=red"));
        assert_non_null(strstr(topic, "m-1"));
        uint8_t ack[4];
        size_t n = 0;
        azk_mqtt_encode_ack(AZK_MQTT_PUBACK, d.pkt.u.publish.packet_id, ack, sizeof(ack), &n);
        test_dev_send(&d, ack, n);
        got_msg = true;
    }
    /* While connected: delivered at once. */
    j = test_hub_admin(&hub, 0, "c2d", "send", "svc-1", "second", NULL);
    cJSON_Delete(j);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_true(azk_span_eq_str(d.pkt.u.publish.payload, "second"));
    /* Not acknowledged: redelivered on the next connection. */
    test_dev_close(&d);
    assert_int_equal(test_dev_open(&d, &hub, "svc-1", cert, key, TLS1_3_VERSION), 0);
    test_dev_subscribe(&d, 1, f, 1, 1);
    got_msg = false;
    while (!got_msg) {
        assert_int_equal(test_dev_read(&d, 5000), 1);
        if (d.pkt.type == AZK_MQTT_PUBLISH) {
            assert_true(azk_span_eq_str(d.pkt.u.publish.payload, "second"));
            got_msg = true;
        }
    }
    test_dev_close(&d);
}

static void test_desired_pushed_and_telemetry_followed(void **state)
{
    (void)state;
    struct test_dev d;
    const char *f[] = {"$iothub/twin/PATCH/properties/desired/#"};
    open_dev(&d, f, 1);
    cJSON *j = test_hub_admin(&hub, 0, "twin", "set-desired", "svc-1", "{\"interval\":30}", NULL);
    cJSON_Delete(j);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_true(azk_span_eq_str(d.pkt.u.publish.topic, "$iothub/twin/PATCH/properties/desired/?$version=2"));
    cJSON *patch = cJSON_ParseWithLength(d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    assert_int_equal(cJSON_GetObjectItem(patch, "interval")->valueint, 30);
    assert_int_equal(cJSON_GetObjectItem(patch, "$version")->valueint, 2);
    cJSON_Delete(patch);
    /* Telemetry sent now is visible to the service at once. */
    test_dev_publish(&d, "devices/svc-1/messages/events/kind=test", "{\"v\":1}", 1, 9);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
    j = test_hub_admin(&hub, 0, "telemetry", "--device", "svc-1", NULL);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "\"kind\":\"test\""));
    free(text);
    cJSON_Delete(j);
    test_dev_close(&d);
}

static void test_faults(void **state)
{
    (void)state;
    struct test_dev d;
    cJSON *j = test_hub_admin(&hub, 0, "fault", "refuse-connects", "2", "--code", "5", NULL);
    cJSON_Delete(j);
    assert_int_equal(test_dev_open(&d, &hub, "svc-1", cert, key, TLS1_2_VERSION), 5);
    test_dev_close(&d);
    assert_int_equal(test_dev_open(&d, &hub, "svc-1", cert, key, TLS1_2_VERSION), 5);
    test_dev_close(&d);
    assert_int_equal(test_dev_open(&d, &hub, "svc-1", cert, key, TLS1_2_VERSION), 0);
    test_dev_close(&d);
    j = test_hub_admin(&hub, 0, "fault", "refuse-connects", "1", NULL); /* default code 3 */
    cJSON_Delete(j);
    assert_int_equal(test_dev_open(&d, &hub, "svc-1", cert, key, TLS1_2_VERSION), 3);
    test_dev_close(&d);

    const char *f[] = {"$iothub/twin/res/#"};
    open_dev(&d, f, 1);
    j = test_hub_admin(&hub, 0, "fault", "twin-throttle", "1", NULL);
    cJSON_Delete(j);
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=1", "", 0, 0);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_true(azk_span_eq_str(d.pkt.u.publish.topic, "$iothub/twin/res/429/?$rid=1"));
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=2", "", 0, 0);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_true(azk_span_eq_str(d.pkt.u.publish.topic, "$iothub/twin/res/200/?$rid=2"));

    /* PUBACK delayed: nothing within 300 ms, then it arrives. */
    j = test_hub_admin(&hub, 0, "fault", "puback-delay", "1500", NULL);
    cJSON_Delete(j);
    test_dev_publish(&d, "devices/svc-1/messages/events/", "x", 1, 3);
    assert_int_equal(test_dev_read(&d, 300), 0);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
    j = test_hub_admin(&hub, 0, "fault", "clear", NULL);
    cJSON_Delete(j);

    /* Dropped by the service. */
    j = test_hub_admin(&hub, 0, "fault", "drop", "svc-1", NULL);
    cJSON_Delete(j);
    assert_int_equal(test_dev_read(&d, 5000), -1);
    test_dev_close(&d);

    /* Azure's SDK-test properties: KillTcp after 1 s. */
    open_dev(&d, NULL, 0);
    test_dev_publish(&d,
                     "devices/svc-1/messages/events/AzIoTHub_FaultOperationType=KillTcp&"
                     "AzIoTHub_FaultOperationCloseReason=boom&AzIoTHub_FaultOperationDelayInSecs=1",
                     "x", 1, 4);
    assert_int_equal(test_dev_read(&d, 5000), 1); /* the PUBACK */
    assert_int_equal(test_dev_read(&d, 5000), -1);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "KillTcp (boom)"));
    j = test_hub_admin(&hub, 2, "fault", "refuse-connects", "x", NULL);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_method_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_c2d_delivered_and_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desired_pushed_and_telemetry_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

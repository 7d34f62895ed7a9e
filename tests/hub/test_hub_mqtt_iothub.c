/* IoT Hub behaviour through the real azkit-hub: the NCS / Embedded C wire flavour replayed
 * with a raw MQTT client, topic rules, sessions, keepalive, Will, and persistence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char pki[512];
static const char *cert, *key;

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    static char c[700], k[700];
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, "nrf-1", EVP_sha256(), c, k);
    cert = c;
    key = k;
    char hex[65];
    test_hub_thumbprint(cert, EVP_sha256(), hex);
    test_hub_add_self_signed(&hub, "other-1", hex, NULL, true); /* same certificate */
    test_hub_start(&hub, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, pki);
    return 0;
}

static void open_dev(struct test_dev *d, const char *id, const char *username, bool clean,
                     uint16_t keepalive, bool *session_present)
{
    assert_int_equal(test_dev_tls(d, &hub, cert, key, TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(d, id, username, clean, keepalive, session_present), 0);
}

static void expect_topic(struct test_dev *d, const char *topic)
{
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_PUBLISH);
    if (!azk_span_eq_str(d->pkt.u.publish.topic, topic))
        fail_msg("topic '%.*s', expected '%s'", (int)d->pkt.u.publish.topic.len,
                 d->pkt.u.publish.topic.ptr, topic);
}

/* What nRF Connect SDK's azure_iot_hub library (built on the Embedded C SDK) sends. */
static void test_ncs_flavour_replay(void **state)
{
    (void)state;
    struct test_dev d;
    open_dev(&d, "nrf-1",
             "localhost/nrf-1/?api-version=2020-09-30&DeviceClientType=azure-iot-device-nrf91"
             "%2F2.0",
             true, 60, NULL);
    const char *filters[] = {"devices/+/messages/devicebound/#", "$iothub/methods/POST/#",
                             "$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#"};
    test_dev_subscribe(&d, 1, filters, 4, 1);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_SUBACK);
    assert_int_equal(d.pkt.u.suback.count, 4);

    test_dev_publish(&d, "$iothub/twin/GET/?$rid=739", "", 0, 0);
    expect_topic(&d, "$iothub/twin/res/200/?$rid=739");
    cJSON *doc = cJSON_ParseWithLength(d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "desired"), "$version")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "reported"), "$version")->valueint, 1);
    cJSON_Delete(doc);

    test_dev_publish(&d, "$iothub/twin/PATCH/properties/reported/?$rid=740",
                     "{\"firmware\":\"2.0\",\"telemetryInterval\":60}", 0, 0);
    expect_topic(&d, "$iothub/twin/res/204/?$rid=740&$version=2");
    test_dev_publish(&d, "$iothub/twin/PATCH/properties/reported/?$rid=741",
                     "{\"telemetryInterval\":null}", 0, 0);
    expect_topic(&d, "$iothub/twin/res/204/?$rid=741&$version=3");
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=742", "", 0, 0);
    expect_topic(&d, "$iothub/twin/res/200/?$rid=742");
    doc = cJSON_ParseWithLength(d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    cJSON *rep = cJSON_GetObjectItem(doc, "reported");
    assert_string_equal(cJSON_GetObjectItem(rep, "firmware")->valuestring, "2.0");
    assert_null(cJSON_GetObjectItem(rep, "telemetryInterval")); /* null deleted it */
    assert_int_equal(cJSON_GetObjectItem(rep, "$version")->valueint, 3);
    cJSON_Delete(doc);
    /* A reported patch that is not JSON gets 400, and the connection stays. */
    test_dev_publish(&d, "$iothub/twin/PATCH/properties/reported/?$rid=743", "not json", 0, 0);
    expect_topic(&d, "$iothub/twin/res/400/?$rid=743");

    /* Telemetry with a property bag, QoS 1: PUBACK once stored. */
    test_dev_publish(&d, "devices/nrf-1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&"
                     "alert=high&room=lab%201",
                     "{\"temperature\":21.5}", 1, 17);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
    assert_int_equal(d.pkt.u.packet_id, 17);
    test_dev_publish(&d, "devices/nrf-1/messages/events/", "qos0", 0, 0);
    /* PINGREQ/PINGRESP */
    uint8_t ping[2];
    size_t n = 0;
    azk_mqtt_encode_pingreq(ping, sizeof(ping), &n);
    test_dev_send(&d, ping, n);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PINGRESP);
    uint8_t disc[2];
    azk_mqtt_encode_disconnect(disc, sizeof(disc), &n);
    test_dev_send(&d, disc, n);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);

    /* After a restart the twin is still there, and telemetry was committed. */
    test_hub_stop(&hub);
    struct hub_telemetry *recs;
    size_t count = test_hub_telemetry(&hub, &recs);
    assert_int_equal(count, 2);
    assert_string_equal(recs[0].device_id, "nrf-1");
    assert_int_equal(recs[0].payload_len, strlen("{\"temperature\":21.5}"));
    cJSON *app = cJSON_Parse(recs[0].app_props), *sys = cJSON_Parse(recs[0].sys_props);
    assert_string_equal(cJSON_GetObjectItem(app, "alert")->valuestring, "high");
    assert_string_equal(cJSON_GetObjectItem(app, "room")->valuestring, "lab 1");
    assert_string_equal(cJSON_GetObjectItem(sys, "content-type")->valuestring, "application/json");
    assert_string_equal(cJSON_GetObjectItem(sys, "content-encoding")->valuestring, "utf-8");
    assert_string_equal(cJSON_GetObjectItem(sys, "iothub-connection-device-id")->valuestring, "nrf-1");
    cJSON_Delete(app);
    cJSON_Delete(sys);
    hub_telemetry_free_array(recs, count);
    test_hub_start(&hub, NULL);
    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    const char *res[] = {"$iothub/twin/res/#"};
    test_dev_subscribe(&d, 2, res, 1, 0);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=1", "", 0, 0);
    expect_topic(&d, "$iothub/twin/res/200/?$rid=1");
    char body[512];
    snprintf(body, sizeof(body), "%.*s", (int)d.pkt.u.publish.payload.len,
             d.pkt.u.publish.payload.ptr);
    assert_non_null(strstr(body, "\"firmware\":\"2.0\""));
    test_dev_close(&d);
}

/* Anything but the connected device's documented topics disconnects. */
static void test_topic_rules(void **state)
{
    (void)state;
    struct test_dev d;
    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    test_dev_publish(&d, "devices/other-1/messages/events/", "x", 0, 0);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);

    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    test_dev_publish(&d, "some/random/topic", "x", 0, 0);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);

    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    test_dev_publish(&d, "devices/nrf-1/messages/events/", "x", 2, 5); /* QoS 2 */
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);

    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    const char *other[] = {"devices/other-1/messages/devicebound/#"};
    test_dev_subscribe(&d, 3, other, 1, 1);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);

    /* SUBSCRIBE QoS 2 is granted as 1. */
    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    const char *c2d[] = {"devices/nrf-1/messages/devicebound/#"};
    test_dev_subscribe(&d, 4, c2d, 1, 2);
    assert_int_equal(test_dev_read(&d, 3000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_SUBACK);
    assert_int_equal(d.pkt.u.suback.entries.ptr[0], 1);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "another device's topic"));
}

/* One connection per device; clean session 0 keeps the C2D subscription. */
static void test_sessions(void **state)
{
    (void)state;
    struct test_dev a, b;
    bool present = true;
    open_dev(&a, "nrf-1", NULL, false, 60, &present);
    assert_false(present);
    const char *c2d[] = {"devices/nrf-1/messages/devicebound/#"};
    test_dev_subscribe(&a, 1, c2d, 1, 1);
    assert_int_equal(test_dev_read(&a, 3000), 1);
    open_dev(&b, "nrf-1", NULL, false, 60, &present); /* drops a */
    assert_true(present);
    assert_int_equal(test_dev_read(&a, 3000), -1);
    test_dev_close(&a);
    test_dev_close(&b);
    open_dev(&a, "nrf-1", NULL, true, 60, &present); /* clean session 1 starts empty */
    assert_false(present);
    test_dev_close(&a);
}

/* Reads packets until a PUBLISH (past the SUBACK). */
static void next_publish(struct test_dev *d)
{
    for (int i = 0; i < 4; i++) {
        assert_int_equal(test_dev_read(d, 5000), 1);
        if (d->pkt.type == AZK_MQTT_PUBLISH)
            return;
    }
    fail_msg("no PUBLISH");
}

/* A C2D message the device receives but never acknowledges (it goes away without its PUBACK)
 * is delivered again on the next connection, each time counted; after IoT Hub's
 * maxDeliveryCount (10) it is dead-lettered, so the 11th connection gets the next message. */
static void test_c2d_delivery_count(void **state)
{
    (void)state;
    cJSON *j = test_hub_admin(&hub, 0, "c2d", "send", "nrf-1", "never-acked", "--message-id",
                              "dead-1", "--property", "iothub-ack=negative", NULL);
    cJSON_Delete(j);
    const char *c2d[] = {"devices/nrf-1/messages/devicebound/#"};
    struct test_dev d;
    for (int i = 1; i <= 10; i++) {
        open_dev(&d, "nrf-1", NULL, true, 60, NULL);
        test_dev_subscribe(&d, 1, c2d, 1, 1);
        next_publish(&d);
        assert_true(azk_span_eq_str(d.pkt.u.publish.payload, "never-acked"));
        test_dev_close(&d); /* no PUBACK */
    }
    j = test_hub_admin(&hub, 0, "c2d", "send", "nrf-1", "witness", NULL);
    cJSON_Delete(j);
    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    test_dev_subscribe(&d, 1, c2d, 1, 1);
    next_publish(&d);
    if (!azk_span_eq_str(d.pkt.u.publish.payload, "witness"))
        fail_msg("after 10 deliveries without PUBACK: got '%.*s', expected the next message",
                 (int)d.pkt.u.publish.payload.len, d.pkt.u.publish.payload.ptr);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "C2D message dead-1 delivered 10 times and never "
                                            "completed: dead-lettered (DeliveryCountExceeded)"));
}

/* Keepalive: dropped after 1.5 x keepalive of silence; the Will is then stored. */
static void test_keepalive_and_will(void **state)
{
    (void)state;
    struct test_dev d;
    assert_int_equal(test_dev_tls(&d, &hub, cert, key, TLS1_3_VERSION, NULL), 0);
    struct azk_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    c.client_id = azk_span_from_str("nrf-1");
    c.has_username = true;
    c.username = azk_span_from_str("localhost/nrf-1/?api-version=2021-04-12");
    c.clean_session = true;
    c.keep_alive = 1;
    c.will = true;
    c.will_topic = azk_span_from_str("devices/nrf-1/messages/events/reason=lost");
    c.will_payload = azk_span_from_str("gone");
    c.will_retain = true;
    uint8_t out[512];
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_connect(&c, out, sizeof(out), &n), 0);
    test_dev_send(&d, out, n);
    assert_int_equal(test_dev_read(&d, 3000), 1);
    assert_int_equal(d.pkt.u.connack.return_code, 0);
    /* Silent for longer than 1.5 s: the hub closes. */
    assert_int_equal(test_dev_read(&d, 6000), -1);
    test_dev_close(&d);
    test_hub_stop(&hub);
    struct hub_telemetry *recs;
    size_t count = test_hub_telemetry(&hub, &recs);
    assert_int_equal(count, 1);
    assert_string_equal(recs[0].msg_type, "Will");
    assert_int_equal(recs[0].payload_len, 4);
    cJSON *sys = cJSON_Parse(recs[0].sys_props);
    assert_string_equal(cJSON_GetObjectItem(sys, "iothub-MessageType")->valuestring, "Will");
    assert_string_equal(cJSON_GetObjectItem(sys, "mqtt-retain")->valuestring, "true");
    cJSON_Delete(sys);
    hub_telemetry_free_array(recs, count);
    test_hub_start(&hub, NULL);
    assert_true(test_hub_log_contains(&hub, "keepalive"));
}

/* PUBACKs leave in the order the PUBLISHes arrived, whatever each one waits for; answers go
 * only to subscribed devices; IoT Hub's size limits. */
static void test_ordering_and_limits(void **state)
{
    (void)state;
    struct test_dev d;
    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    /* Not subscribed to $iothub/twin/res/#: a GET gets no answer (but its PUBACK). */
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=1", "", 1, 1);
    assert_int_equal(test_dev_read(&d, 3000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
    assert_int_equal(test_dev_read(&d, 500), 0);
    const char *res[] = {"$iothub/twin/res/#"};
    test_dev_subscribe(&d, 2, res, 1, 0);
    assert_int_equal(test_dev_read(&d, 3000), 1);
    /* telemetry (waits for its commit), then a GET (answered at once), then a PATCH (waits):
     * PUBACK 10, 11, 12 in that order. */
    test_dev_publish(&d, "devices/nrf-1/messages/events/", "t", 1, 10);
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=2", "", 1, 11);
    test_dev_publish(&d, "$iothub/twin/PATCH/properties/reported/?$rid=3", "{\"a\":1}", 1, 12);
    uint16_t want = 10;
    int publishes = 0;
    while (want <= 12 || publishes < 2) {
        assert_int_equal(test_dev_read(&d, 5000), 1);
        if (d.pkt.type == AZK_MQTT_PUBLISH) {
            publishes++;
            continue;
        }
        assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
        assert_int_equal(d.pkt.u.packet_id, want);
        want++;
    }
    /* A reported patch over IoT Hub's limits (here a 33 KB string) is refused with 400 (the
     * twin is unchanged). */
    size_t big = 33 * 1024;
    char *body = malloc(big + 32);
    strcpy(body, "{\"blob\":\"");
    memset(body + 9, 'x', big);
    strcpy(body + 9 + big, "\"}");
    struct azk_mqtt_publish p;
    memset(&p, 0, sizeof(p));
    p.topic = azk_span_from_str("$iothub/twin/PATCH/properties/reported/?$rid=4");
    p.payload = azk_span_from_str(body);
    uint8_t *out = malloc(big + 256);
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_publish(&p, out, big + 256, &n), 0);
    test_dev_send(&d, out, n);
    free(out);
    free(body);
    expect_topic(&d, "$iothub/twin/res/400/?$rid=4");
    /* More SUBSCRIBE filters than any device needs: disconnected. */
    const char *many[33];
    for (int i = 0; i < 33; i++)
        many[i] = "$iothub/twin/res/#";
    struct azk_mqtt_subscription subs[33];
    for (int i = 0; i < 33; i++)
        subs[i] = (struct azk_mqtt_subscription){azk_span_from_str(many[i]), 0};
    uint8_t sub[2048];
    assert_int_equal(azk_mqtt_encode_subscribe(5, subs, 33, sub, sizeof(sub), &n), 0);
    test_dev_send(&d, sub, n);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);
    /* A C2D message whose topic could never be delivered is refused when it is sent. */
    char prop[3200];
    memset(prop, 0, sizeof(prop));
    memcpy(prop, "k=", 2);
    memset(prop + 2, 'v', 3100);
    cJSON *j = test_hub_admin(&hub, 1, "c2d", "send", "nrf-1", "x", "--property", prop, NULL);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "too long"));
    free(text);
    cJSON_Delete(j);
}

/* A QoS 0 flood (faster than the disk commits) is absorbed by pausing the connection's reads:
 * nothing is lost, the connection stays usable, memory stays bounded. */
static void test_qos0_flood(void **state)
{
    (void)state;
    struct test_dev d;
    open_dev(&d, "nrf-1", NULL, true, 60, NULL);
    static char body[4097];
    memset(body, 'f', 4096);
    const int count = 3000; /* 12 MB: above the 8 MB high-water mark */
    for (int i = 0; i < count; i++)
        test_dev_publish(&d, "devices/nrf-1/messages/events/", body, 0, 0);
    uint8_t ping[2];
    size_t n = 0;
    azk_mqtt_encode_pingreq(ping, sizeof(ping), &n);
    test_dev_send(&d, ping, n);
    assert_int_equal(test_dev_read(&d, 60000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PINGRESP);
    test_dev_close(&d);
    test_hub_stop(&hub);
    struct event_base *base = event_base_new();
    struct hub_store *st = NULL;
    struct hub_store_config cfg = {.data_dir = hub.data};
    assert_int_equal(hub_store_open(&cfg, base, &st, NULL), 0);
    assert_int_equal(hub_store_telemetry_last_seq(st), count); /* every message was stored */
    hub_store_close(st);
    event_base_free(base);
    test_hub_start(&hub, NULL);
}

/* A TLS connection that never sends CONNECT is dropped after 10 s. */
static void test_connect_timeout(void **state)
{
    (void)state;
    struct test_dev d;
    assert_int_equal(test_dev_tls(&d, &hub, cert, key, TLS1_2_VERSION, NULL), 0);
    time_t start = time(NULL);
    assert_int_equal(test_dev_read(&d, 20000), -1);
    assert_true(time(NULL) - start >= 9);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "no CONNECT within 10 s"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ncs_flavour_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_c2d_delivery_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_and_will, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordering_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qos0_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

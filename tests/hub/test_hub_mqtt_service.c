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

#include "azkit/json.h"
#include "hub/service/sas.h"
#include "hub_harness.h"
#include "service_test_util.h"
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
    test_hub_finish(&hub, pki);
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


/* ---- IoT Hub's twin limits ------------------------------------------------------------------ */

/* A section patch whose deepest object is `levels` below the section: {"l":{"l":{..."v":1}}}. */
static char *nested(int levels)
{
    char *s = malloc((size_t)levels * 6 + 16);
    size_t n = 0;
    s[n++] = '{';
    for (int i = 0; i < levels; i++)
        n += (size_t)sprintf(s + n, "\"l\":{");
    n += (size_t)sprintf(s + n, "\"v\":1");
    for (int i = 0; i <= levels; i++)
        s[n++] = '}';
    s[n] = '\0';
    return s;
}

/* {"<key>":"<value>"} with a key of `klen` 'k's and a value of `vlen` 'x's. */
static char *one_property(size_t klen, size_t vlen)
{
    char *s = malloc(klen + vlen + 8);
    size_t n = 0;
    s[n++] = '{';
    s[n++] = '"';
    memset(s + n, 'k', klen);
    n += klen;
    memcpy(s + n, "\":\"", 3);
    n += 3;
    memset(s + n, 'x', vlen);
    n += vlen;
    memcpy(s + n, "\"}", 3);
    return s;
}

/* {"<k1>":"x...","<k2>":"x...",...}: one property per character of `keys`, each value
 * `vlen` 'x's. */
static char *sized(const char *keys, size_t vlen)
{
    size_t nk = strlen(keys);
    char *s = malloc(nk * (vlen + 8) + 4);
    size_t n = 0;
    s[n++] = '{';
    for (size_t i = 0; i < nk; i++) {
        n += (size_t)sprintf(s + n, "%s\"%c\":\"", i ? "," : "", keys[i]);
        memset(s + n, 'x', vlen);
        n += vlen;
        s[n++] = '"';
    }
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

/* A service twin PATCH (or PUT) of `section` ("tags" or "desired") with `patch`; asserts the
 * status and, for a refusal, ArgumentInvalid with `why` in its message and a body that is
 * valid JSON (UTF-8 included) whatever the request held. */
static void twin_write(const struct hub_admin_target *t, const char *method, const char *section,
                       const char *patch, int status, const char *why)
{
    size_t len = strlen(patch) + 64;
    char *body = malloc(len);
    if (strcmp(section, "tags") == 0)
        snprintf(body, len, "{\"tags\":%s}", patch);
    else
        snprintf(body, len, "{\"properties\":{\"desired\":%s}}", patch);
    struct svc_resp r;
    svc_test_request_if(t, &r, method, "/twins/svc-1", body, "*");
    free(body);
    if (r.r.status != status)
        fail_msg("%s %s %.80s: %d, expected %d: %s", method, section, patch, r.r.status, status,
                 r.r.body);
    assert_int_equal(azk_json_validate((struct azk_span){r.r.body, r.r.body_len}, NULL, NULL), 0);
    if (why != NULL) {
        char code[64], text[600];
        hub_admin_error_parse(&r.r, code, sizeof(code), text, sizeof(text));
        assert_string_equal(code, "ArgumentInvalid");
        if (strstr(text, why) == NULL)
            fail_msg("the message '%s' lacks '%s'", text, why);
    }
    svc_test_check(&r, status, why ? "ArgumentInvalid" : NULL);
}

/* The device's reported PATCH: answered `status` on $iothub/twin/res. */
static void reported_patch(struct test_dev *d, const char *body, int status, int rid)
{
    char topic[80], want[80];
    snprintf(topic, sizeof(topic), "$iothub/twin/PATCH/properties/reported/?$rid=%d", rid);
    test_dev_publish(d, topic, body, 0, 0);
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_PUBLISH);
    snprintf(want, sizeof(want), "$iothub/twin/res/%d/?$rid=%d", status, rid);
    struct azk_span got = d->pkt.u.publish.topic;
    if (got.len < strlen(want) || memcmp(got.ptr, want, strlen(want)) != 0)
        fail_msg("reported %.60s: '%.*s', expected '%s...'", body, (int)got.len, got.ptr, want);
}

/* Invalid UTF-8 and IoT Hub's documented limits (depth 10, keys 1 KB without '.', '$', space
 * or control characters, strings 4 KB, tags 8 KB, desired and reported 32 KB each) refused
 * with 400 on both sides, and nothing refused is stored: the twin stays valid JSON. */
static void test_twin_limits(void **state)
{
    (void)state;
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, NULL, &t);

    /* Service side: not UTF-8 (a lone byte, an overlong '/', a truncated sequence), in a
     * value or a key, by PATCH or PUT. */
    twin_write(&t, "PATCH", "desired", "{\"name\":\"\xff\xfe\"}", 400,
               "properties.desired.name: the value is not valid UTF-8");
    twin_write(&t, "PUT", "desired", "{\"name\":\"\xc0\xaf\"}", 400, "not valid UTF-8");
    twin_write(&t, "PATCH", "tags", "{\"k\xe2\x82\":1}", 400,
               "tags.k??: the property name is not valid UTF-8");
    twin_write(&t, "PATCH", "tags", "{\"a\":{\"b\":\"\xed\xa0\x80\"}}", 400,
               "tags.a.b: the value is not valid UTF-8");
    twin_write(&t, "PATCH", "desired", "{\"caf\xc3\xa9\":\"\xe2\x82\xac\"}", 200, NULL);
    /* Depth: 10 levels below the section are fine, 11 (or 999) are not. */
    char *p = nested(10);
    twin_write(&t, "PATCH", "tags", p, 200, NULL);
    twin_write(&t, "PATCH", "desired", p, 200, NULL);
    free(p);
    p = nested(11);
    twin_write(&t, "PATCH", "tags", p, 400, "nests 11 levels deep; IoT Hub allows at most 10");
    twin_write(&t, "PUT", "desired", p, 400, "properties.desired.l.l.l");
    free(p);
    p = nested(60);
    twin_write(&t, "PATCH", "desired", p, 400, "at most 10");
    free(p);
    /* Keys: 1 KB; no '.', '$' or space inside; "$version"/"$metadata" are the hub's own and
     * ignored. */
    p = one_property(1024, 1);
    twin_write(&t, "PATCH", "tags", p, 200, NULL);
    free(p);
    p = one_property(1025, 1);
    twin_write(&t, "PATCH", "tags", p, 400, "the property name is 1025 bytes long; IoT Hub "
                                            "allows at most 1024");
    free(p);
    twin_write(&t, "PATCH", "desired", "{\"a.b\":1}", 400, "cannot contain '.'");
    twin_write(&t, "PATCH", "desired", "{\"a b\":1}", 400, "cannot contain ' '");
    twin_write(&t, "PATCH", "desired", "{\"a\":{\"x$y\":1}}", 400, "properties.desired.a.x$y");
    twin_write(&t, "PATCH", "desired", "{\"a\\u0001\":1}", 400, "control characters");
    twin_write(&t, "PATCH", "desired", "{\"$version\":7,\"$metadata\":{\"x\":1},\"ok\":1}", 200,
               NULL);
    /* Strings: 4 KB. */
    p = one_property(1, 4096);
    twin_write(&t, "PATCH", "desired", p, 200, NULL);
    free(p);
    p = one_property(1, 4097);
    twin_write(&t, "PATCH", "desired", p, 400, "the string value is 4097 bytes long");
    free(p);
    /* Sizes, counted as IoT Hub counts them, after the merge: tags 8 KB. A refused update
     * changes nothing, not even its valid part. */
    twin_write(&t, "PUT", "tags", "{}", 200, NULL);
    twin_write(&t, "PUT", "desired", "{}", 200, NULL);
    p = sized("ab", 4000); /* 2 x (1 + 4000) = 8002 */
    twin_write(&t, "PATCH", "tags", p, 200, NULL);
    free(p);
    struct svc_resp r;
    svc_test_request_if(&t, &r, "PATCH", "/twins/svc-1",
                        "{\"tags\":{\"c\":\"" /* 8002 + 1 + 200 */
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},"
                        "\"properties\":{\"desired\":{\"n\":1}}}", "*");
    char code[64], text[600];
    hub_admin_error_parse(&r.r, code, sizeof(code), text, sizeof(text));
    assert_non_null(strstr(text, "tags would be 8203 bytes as IoT Hub counts them"));
    assert_non_null(strstr(text, "at most 8 KB"));
    svc_test_check(&r, 400, "ArgumentInvalid");
    /* desired and reported: 32 KB each. */
    p = sized("abcdefgh", 4000); /* 32008 */
    twin_write(&t, "PATCH", "desired", p, 200, NULL);
    free(p);
    p = sized("i", 1000);
    twin_write(&t, "PATCH", "desired", p, 400, "properties.desired would be 33009 bytes");
    free(p);
    p = sized("i", 1000);
    p[strlen(p) - 1] = '\0';
    char *with_delete = malloc(strlen(p) + 32);
    sprintf(with_delete, "%s,\"a\":null}", p); /* 32008 - 4001 + 1001 */
    twin_write(&t, "PATCH", "desired", with_delete, 200, NULL);
    free(with_delete);
    free(p);
    /* Nothing refused was stored, and the twin is valid JSON. */
    svc_test_request_if(&t, &r, "GET", "/twins/svc-1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(azk_json_validate((struct azk_span){r.r.body, r.r.body_len}, NULL, NULL), 0);
    cJSON *props = cJSON_GetObjectItem(r.j, "properties");
    cJSON *desired = cJSON_GetObjectItem(props, "desired");
    assert_null(cJSON_GetObjectItem(desired, "n"));
    assert_null(cJSON_GetObjectItem(desired, "a"));
    assert_non_null(cJSON_GetObjectItem(desired, "i"));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "tags"), "c"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "tags"), "b"));
    svc_resp_free(&r);

    /* Device side: the reported PATCH gets 400 on $iothub/twin/res for the same faults. */
    struct test_dev d;
    const char *f[] = {"$iothub/twin/res/#"};
    open_dev(&d, f, 1);
    int rid = 1;
    reported_patch(&d, "{\"s\":\"\xff\"}", 400, rid++);
    reported_patch(&d, "{\"s\\u00ff\xc3\":1}", 400, rid++);
    p = nested(11);
    reported_patch(&d, p, 400, rid++);
    free(p);
    p = nested(10);
    reported_patch(&d, p, 204, rid++);
    free(p);
    p = one_property(1, 4097);
    reported_patch(&d, p, 400, rid++);
    free(p);
    reported_patch(&d, "{\"a.b\":1}", 400, rid++);
    reported_patch(&d, "nope", 400, rid++);
    const char *keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (size_t i = 0; i < 8; i++) { /* 19 (the nested patch) + 8 x 4001 */
        p = sized(keys[i], 4000);
        reported_patch(&d, p, 204, rid++);
        free(p);
    }
    p = sized("i", 4000);
    reported_patch(&d, p, 400, rid++);
    free(p);
    test_dev_publish(&d, "$iothub/twin/GET/?$rid=99", "", 0, 0);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_true(azk_span_eq_str(d.pkt.u.publish.topic, "$iothub/twin/res/200/?$rid=99"));
    assert_int_equal(azk_json_validate(d.pkt.u.publish.payload, NULL, NULL), 0);
    cJSON *doc = cJSON_ParseWithLength(d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    cJSON *rep = cJSON_GetObjectItem(doc, "reported");
    assert_non_null(cJSON_GetObjectItem(rep, "h"));
    assert_null(cJSON_GetObjectItem(rep, "i"));
    assert_null(cJSON_GetObjectItem(rep, "s"));
    assert_int_equal(cJSON_GetObjectItem(rep, "$version")->valueint, 10); /* 9 accepted */
    cJSON_Delete(doc);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "twin: refused a reported-properties patch from "
                                            "'svc-1': properties.reported would be 36028 "
                                            "bytes"));
}

/* A twin section set to null is cleared as Azure clears it: every key gone, $version bumped, and
 * the device gets the patch (a null for each key). */
static void test_twin_section_null(void **state)
{
    (void)state;
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, NULL, &t);
    struct test_dev d;
    const char *f[] = {"$iothub/twin/PATCH/properties/desired/#"};
    open_dev(&d, f, 1);
    struct svc_resp r;
    svc_test_request_if(&t, &r, "PATCH", "/twins/svc-1",
                        "{\"tags\":{\"site\":\"lab\"},\"properties\":{\"desired\":{\"a\":1,\"b\":{\"c\":2}}}}",
                        "*");
    svc_test_check(&r, 200, NULL);
    assert_int_equal(test_dev_read(&d, 5000), 1); /* the first patch */
    svc_test_request_if(&t, &r, "PATCH", "/twins/svc-1",
                        "{\"tags\":null,\"properties\":{\"desired\":null}}", "*");
    assert_int_equal(r.r.status, 200);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(r.j, "properties");
    const cJSON *des = cJSON_GetObjectItemCaseSensitive(props, "desired");
    assert_null(cJSON_GetObjectItemCaseSensitive(des, "a"));
    assert_null(cJSON_GetObjectItemCaseSensitive(des, "b"));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(des, "$version")->valueint, 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.j, "tags")), 0);
    svc_resp_free(&r);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_true(azk_span_eq_str(d.pkt.u.publish.topic,
                                "$iothub/twin/PATCH/properties/desired/?$version=3"));
    cJSON *patch = cJSON_ParseWithLength(d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(patch, "a")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(patch, "b")));
    cJSON_Delete(patch);
    test_dev_close(&d);
}

/* The twin's $metadata as IoT Hub keeps it: the section's and every property's $lastUpdated
 * (desired ones with $lastUpdatedVersion) move with the updates that touch them, stay for the
 * others, go with deleted properties, and survive a restart of the hub. */
static const char *meta_time(const cJSON *twin, const char *section, const char *const *path)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(twin, "properties"),
                                         section),
        "$metadata");
    for (; path && *path; path++)
        m = cJSON_GetObjectItemCaseSensitive(m, *path);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "$lastUpdated");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static int meta_version(const cJSON *twin, const char *const *path)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(twin, "properties"),
                                         "desired"),
        "$metadata");
    for (; path && *path; path++)
        m = cJSON_GetObjectItemCaseSensitive(m, *path);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "$lastUpdatedVersion");
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* PATCHes the desired properties; returns the twin answered (the caller frees r). */
static void desired_patch(const struct hub_admin_target *t, struct svc_resp *r, const char *patch)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"properties\":{\"desired\":%s}}", patch);
    svc_test_request_if(t, r, "PATCH", "/twins/svc-1", body, "*");
    if (r->r.status != 200)
        fail_msg("PATCH %s: %d %s", patch, r->r.status, r->r.body);
}

static void test_twin_metadata(void **state)
{
    (void)state;
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, NULL, &t);
    struct svc_resp r;
    svc_test_request_if(&t, &r, "GET", "/twins/svc-1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    char t0[40];
    snprintf(t0, sizeof(t0), "%s", meta_time(r.j, "desired", NULL));
    assert_int_equal(strlen(t0), 24); /* 2026-12-02T14:00:00.000Z */
    svc_resp_free(&r);

    const char *a[] = {"a", NULL}, *b[] = {"b", NULL}, *bc[] = {"b", "c", NULL},
               *bd[] = {"b", "d", NULL}, *temp[] = {"temp", NULL};
    usleep(20000); /* the stamps are milliseconds: let the clock move between updates */
    desired_patch(&t, &r, "{\"a\":1,\"b\":{\"c\":2}}");
    char t1[40];
    snprintf(t1, sizeof(t1), "%s", meta_time(r.j, "desired", NULL));
    assert_true(strcmp(t1, t0) > 0);
    assert_string_equal(meta_time(r.j, "desired", a), t1);
    assert_string_equal(meta_time(r.j, "desired", bc), t1);
    assert_int_equal(meta_version(r.j, NULL), 2);
    assert_int_equal(meta_version(r.j, bc), 2);
    svc_resp_free(&r);

    usleep(20000);
    desired_patch(&t, &r, "{\"b\":{\"d\":3}}");
    char t2[40];
    snprintf(t2, sizeof(t2), "%s", meta_time(r.j, "desired", NULL));
    assert_true(strcmp(t2, t1) > 0);
    assert_string_equal(meta_time(r.j, "desired", a), t1);  /* untouched */
    assert_string_equal(meta_time(r.j, "desired", bc), t1); /* untouched sibling */
    assert_string_equal(meta_time(r.j, "desired", bd), t2);
    assert_string_equal(meta_time(r.j, "desired", b), t2);  /* its parent */
    assert_int_equal(meta_version(r.j, a), 2);
    assert_int_equal(meta_version(r.j, bd), 3);
    svc_resp_free(&r);

    desired_patch(&t, &r, "{\"a\":null}");
    assert_null(meta_time(r.j, "desired", a));
    assert_non_null(meta_time(r.j, "desired", bc));
    svc_resp_free(&r);

    /* The device reports: reported metadata has no $lastUpdatedVersion. */
    struct test_dev d;
    open_dev(&d, NULL, 0);
    const char *f[] = {"$iothub/twin/res/#"};
    test_dev_subscribe(&d, 1, f, 1, 0);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    usleep(20000);
    reported_patch(&d, "{\"temp\":21}", 204, 1);
    test_dev_close(&d);
    svc_test_request_if(&t, &r, "GET", "/twins/svc-1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    char t3[40];
    snprintf(t3, sizeof(t3), "%s", meta_time(r.j, "reported", temp));
    assert_true(strcmp(t3, t2) > 0);
    assert_string_equal(meta_time(r.j, "reported", NULL), t3);
    const cJSON *rm = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.j, "properties"),
                                             "reported"),
            "$metadata"),
        "temp");
    assert_null(cJSON_GetObjectItemCaseSensitive(rm, "$lastUpdatedVersion"));
    char *before = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.j, "properties"));
    svc_resp_free(&r);

    /* Kept in the hub's database. */
    test_hub_stop(&hub);
    test_hub_restart(&hub, NULL);
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, NULL, &t);
    svc_test_request_if(&t, &r, "GET", "/twins/svc-1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    char *after = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.j, "properties"));
    assert_string_equal(after, before);
    free(before);
    free(after);
    svc_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_method_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_c2d_delivered_and_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desired_pushed_and_telemetry_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twin_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twin_section_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twin_metadata, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* IoT Hub strings: pinned to Microsoft Learn's "Communicate with an IoT hub using the MQTT protocol", round trips of every
 * allowed device-id character, '?' and '+'/'#' cases, malformed input, guard regions. */
#include "azure_test_util.h"
#include "core_test.h"

enum which {
    B_CLIENT_ID,
    B_USERNAME,
    B_TELEMETRY,
    B_C2D_FILTER,
    B_C2D,
    B_TWIN_GET,
    B_TWIN_PATCH,
    B_TWIN_RES,
    B_TWIN_DESIRED,
    B_METHOD_REQ,
    B_METHOD_RES,
};

struct ctx {
    enum which which;
    struct azk_span a, b; /* device id / rid / name; module id / rid */
    int status;
    int64_t num;
    const struct azk_prop *props;
    size_t count;
    struct azk_hub_username u;
};

static int build(const void *vc, char *buf, size_t size, size_t *len)
{
    const struct ctx *c = vc;
    switch (c->which) {
    case B_CLIENT_ID:
        return azk_hub_client_id(c->a, c->b, buf, size, len, NULL);
    case B_USERNAME:
        return azk_hub_username_build(&c->u, buf, size, len, NULL);
    case B_TELEMETRY:
        return azk_hub_telemetry_topic(c->a, c->props, c->count, buf, size, len, NULL);
    case B_C2D_FILTER:
        return azk_hub_c2d_filter(c->a, buf, size, len, NULL);
    case B_C2D:
        return azk_hub_c2d_topic(c->a, c->props, c->count, buf, size, len, NULL);
    case B_TWIN_GET:
        return azk_hub_twin_get_topic(c->a, buf, size, len);
    case B_TWIN_PATCH:
        return azk_hub_twin_patch_topic(c->a, buf, size, len);
    case B_TWIN_RES:
        return azk_hub_twin_response_topic(c->status, c->a, c->num, buf, size, len);
    case B_TWIN_DESIRED:
        return azk_hub_twin_desired_topic(c->num, buf, size, len);
    case B_METHOD_REQ:
        return azk_hub_method_request_topic(c->a, c->b, buf, size, len);
    case B_METHOD_RES:
        return azk_hub_method_response_topic(c->status, c->a, buf, size, len);
    }
    return -EINVAL;
}

#define S(x) AZK_SPAN_LIT(x)
#define P(k, v) {AZK_SPAN_LIT(k), AZK_SPAN_LIT(v), true}

static void test_pinned_connect(void)
{
    struct ctx c = {.which = B_CLIENT_ID, .a = S("MyDevice01")};
    CHECK(check_build(build, &c, "MyDevice01"));
    c.b = S("mod1");
    CHECK(check_build(build, &c, "MyDevice01/mod1"));

    /* [D-hub-mqtt] */
    struct ctx u = {.which = B_USERNAME};
    u.u.host = S("contoso.azure-devices.net");
    u.u.device_id = S("MyDevice01");
    CHECK(check_build(build, &u, "contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12"));
    u.u.module_id = S("mod1");
    CHECK(check_build(build, &u,
                      "contoso.azure-devices.net/MyDevice01/mod1/?api-version=2021-04-12"));
    u.u.module_id = S("");
    u.u.client_type = S("azsdk-c/1.0.0");
    u.u.model_id = S("dtmi:com:example:Thermostat;1");
    CHECK(check_build(build, &u,
                      "contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12"
                      "&DeviceClientType=azsdk-c%2F1.0.0&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1"));
    u.u.api_version = S("2020-09-30");
    u.u.client_type = S("azrtos");
    u.u.model_id = S("");
    CHECK(check_build(build, &u, "contoso.azure-devices.net/MyDevice01/?api-version=2020-09-30"
                                 "&DeviceClientType=azrtos"));
    /* refused ids, with the reason */
    char buf[64];
    size_t len;
    struct azk_id_error e;
    u.u.device_id = S("dev/1");
    CHECK_INT(azk_hub_username_build(&u.u, buf, sizeof(buf), &len, &e), -EINVAL);
    CHECK_INT(e.problem, AZK_ID_BAD_CHAR);
    CHECK_INT(e.index, 3);
    CHECK_STR(e.rule, AZK_DEVICE_ID_RULE);
    u.u.device_id = S("dev");
    u.u.host = S("");
    CHECK_INT(azk_hub_username_build(&u.u, buf, sizeof(buf), &len, &e), -EINVAL);
}

static void test_username_parse(void)
{
    struct azk_hub_username u;
    CHECK_INT(azk_hub_username_parse(S("contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12"), &u), 0);
    CHECK_MEM_STR(u.host.ptr, u.host.len, "contoso.azure-devices.net");
    CHECK_MEM_STR(u.device_id.ptr, u.device_id.len, "MyDevice01");
    CHECK_MEM_STR(u.api_version.ptr, u.api_version.len, "2021-04-12");
    CHECK(u.has_question_mark && u.module_id.len == 0 && u.client_type.len == 0);
    /* embedded C SDK [C-hub-test] */
    CHECK_INT(azk_hub_username_parse(S("myiothub.azure-devices.net/my_device/?api-version=2020-09-30"
                                       "&DeviceClientType=azrtos&model-id=dtmi%3AYOUR_COMPANY_NAME_HERE%3Asample%3B1"), &u), 0);
    CHECK_MEM_STR(u.api_version.ptr, u.api_version.len, "2020-09-30");
    CHECK_MEM_STR(u.client_type.ptr, u.client_type.len, "azrtos");
    CHECK_MEM_STR(u.model_id.ptr, u.model_id.len, "dtmi%3AYOUR_COMPANY_NAME_HERE%3Asample%3B1");
    /* Node: model-id first, not encoded; host with :port */
    CHECK_INT(azk_hub_username_parse(S("localhost:8884/dev1/?api-version=2021-04-12&model-id=dtmi:com:example:X;1"
                                       "&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.x%3B%20linux%3B%20x64)"), &u), 0);
    CHECK_MEM_STR(u.host.ptr, u.host.len, "localhost:8884");
    CHECK_MEM_STR(u.device_id.ptr, u.device_id.len, "dev1");
    CHECK_MEM_STR(u.model_id.ptr, u.model_id.len, "dtmi:com:example:X;1");
    /* legacy form without '?' */
    CHECK_INT(azk_hub_username_parse(S("hub.azure-devices.net/MyDotnetDevice/api-version=2016-11-14"
                                       "&DeviceClientType=iothubclient%2F1.1.12"), &u), 0);
    CHECK(!u.has_question_mark);
    CHECK_MEM_STR(u.device_id.ptr, u.device_id.len, "MyDotnetDevice");
    CHECK_MEM_STR(u.api_version.ptr, u.api_version.len, "2016-11-14");
    CHECK(u.module_id.len == 0);
    /* C SDK 1.9 with a module */
    CHECK_INT(azk_hub_username_parse(S("hub.azure-devices.net/dev/DeviceUpdate/?api-version=2020-09-30"
                                       "&DeviceClientType=iothubclient%2f1.9.0%20(native%3b%20Linux%3b%20aarch64)"), &u), 0);
    CHECK_MEM_STR(u.module_id.ptr, u.module_id.len, "DeviceUpdate");
    /* malformed */
    const char *bad[] = {"", "host", "host/", "/dev/?api-version=1", "host/dev", "host/bad id/?api-version=1",
                         "host/dev/=x", "ho st/dev/?api-version=1", "host//?api-version=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(azk_hub_username_parse(azk_span_from_str(bad[i]), &u), -EBADMSG);
    struct azk_span d, m;
    CHECK_INT(azk_hub_client_id_parse(S("dev/mod"), &d, &m), 0);
    CHECK_MEM_STR(m.ptr, m.len, "mod");
    CHECK_INT(azk_hub_client_id_parse(S("dev/"), &d, &m), -EBADMSG);
    CHECK_INT(azk_hub_client_id_parse(S("a/b/c"), &d, &m), -EBADMSG);
}

static void test_pinned_topics(void)
{
    struct azk_prop kv[] = {P("key", "value"), P("key_two", "value2")};
    struct ctx t = {.which = B_TELEMETRY, .a = S("my_device"), .props = kv, .count = 2};
    CHECK(check_build(build, &t, "devices/my_device/messages/events/key=value&key_two=value2"));
    t.count = 0;
    CHECK(check_build(build, &t, "devices/my_device/messages/events/"));
    struct azk_prop node[] = {P("$.mid", "abc"), P("$.ct", "application/json"), P("$.ce", "utf-8"),
                              P("temp", "21")};
    struct ctx n = {.which = B_TELEMETRY, .a = S("dev1"), .props = node, .count = 4};
    CHECK(check_build(build, &n, "devices/dev1/messages/events/%24.mid=abc&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21"));
    struct ctx f = {.which = B_C2D_FILTER, .a = S("dev1")};
    CHECK(check_build(build, &f, "devices/dev1/messages/devicebound/#"));
    struct azk_prop c2d[] = {P("$.to", "/devices/useragent_c/messages/deviceBound"), P("abc", "123"),
                             P("ghi", "/some/thing")};
    struct ctx c = {.which = B_C2D, .a = S("useragent_c"), .props = c2d, .count = 3};
    CHECK(check_build(build, &c, "devices/useragent_c/messages/devicebound/%24.to=%2Fdevices%2Fuseragent_c%2Fmessages%2FdeviceBound&abc=123&ghi=%2Fsome%2Fthing"));
    struct ctx g = {.which = B_TWIN_GET, .a = S("1")};
    CHECK(check_build(build, &g, "$iothub/twin/GET/?$rid=1"));
    struct ctx p = {.which = B_TWIN_PATCH, .a = S("1")};
    CHECK(check_build(build, &p, "$iothub/twin/PATCH/properties/reported/?$rid=1"));
    struct ctx r = {.which = B_TWIN_RES, .status = 204, .a = S("1"), .num = 6};
    CHECK(check_build(build, &r, "$iothub/twin/res/204/?$rid=1&$version=6"));
    r.status = 200;
    r.num = -1;
    CHECK(check_build(build, &r, "$iothub/twin/res/200/?$rid=1"));
    struct ctx d = {.which = B_TWIN_DESIRED, .num = 8};
    CHECK(check_build(build, &d, "$iothub/twin/PATCH/properties/desired/?$version=8"));
    struct ctx mq = {.which = B_METHOD_REQ, .a = S("TestMethod"), .b = S("1")};
    CHECK(check_build(build, &mq, "$iothub/methods/POST/TestMethod/?$rid=1"));
    struct ctx ms = {.which = B_METHOD_RES, .status = 65535, .a = S("2")};
    CHECK(check_build(build, &ms, "$iothub/methods/res/65535/?$rid=2"));
    ms.status = -1;
    CHECK(check_build(build, &ms, "$iothub/methods/res/-1/?$rid=2"));
    /* invalid inputs */
    char buf[64];
    size_t len;
    CHECK_INT(azk_hub_twin_get_topic(S("a&b"), buf, sizeof(buf), &len), -EINVAL);
    CHECK_INT(azk_hub_twin_desired_topic(-1, buf, sizeof(buf), &len), -EINVAL);
    CHECK_INT(azk_hub_method_request_topic(S("a/b"), S("1"), buf, sizeof(buf), &len), -EINVAL);
    CHECK_INT(azk_hub_method_request_topic(S("a+b"), S("1"), buf, sizeof(buf), &len), -EINVAL);
    CHECK_STR(AZK_HUB_TWIN_RESPONSE_FILTER, "$iothub/twin/res/#");
    CHECK_STR(AZK_HUB_TWIN_DESIRED_FILTER, "$iothub/twin/PATCH/properties/desired/#");
    CHECK_STR(AZK_HUB_METHODS_FILTER, "$iothub/methods/POST/#");
}

static void test_service_topics_pinned(void)
{
    struct azk_hub_topic t;
    struct azk_span me = S("useragent_c");
    CHECK_INT(azk_hub_parse_service_topic(S("devices/useragent_c/messages/devicebound/$.mid=79eadb01-bd0d-472d-bd35-ccb76e70eab8"
                                            "&$.to=/devices/useragent_c/messages/deviceBound&iothub-ack=full"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_C2D);
    struct azk_prop p;
    CHECK_INT(azk_prop_find(t.properties, AZK_PROP_TO, &p), 0);
    CHECK_MEM_STR(p.value.ptr, p.value.len, "/devices/useragent_c/messages/deviceBound");
    CHECK_INT(azk_prop_find(t.properties, AZK_PROP_MESSAGE_ID, &p), 0);
    CHECK_MEM_STR(p.value.ptr, p.value.len, "79eadb01-bd0d-472d-bd35-ccb76e70eab8");
    CHECK_INT(azk_hub_parse_service_topic(S("devices/useragent_c/messages/devicebound/%24.to=%2Fdevices%2Fuseragent_c"
                                            "%2Fmessages%2FdeviceBound&abc=123&ghi=%2Fsome%2Fthing"), me, &t), 0);
    struct azk_prop_iter it;
    char k[64], v[64];
    azk_prop_iter_init(&it, t.properties);
    CHECK_INT(azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p), 0);
    CHECK_MEM_STR(p.key.ptr, p.key.len, "$.to");
    CHECK_MEM_STR(p.value.ptr, p.value.len, "/devices/useragent_c/messages/deviceBound");
    CHECK_INT(azk_hub_parse_service_topic(S("devices/useragent_c/messages/devicebound/"), me, &t), 0);
    CHECK_INT(t.properties.len, 0);
    CHECK_INT(azk_hub_parse_service_topic(S("devices/useragent_c/messages/devicebound"), me, &t), 0);
    CHECK_INT(azk_hub_parse_service_topic(S("devices/other/messages/devicebound/"), me, &t), -EACCES);

    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/res/200/?$rid=id_one"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_TWIN_RESPONSE);
    CHECK_INT(t.status, 200);
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "id_one");
    CHECK_INT(t.version.len, 0);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/res/204/?$rid=id_one&$version=16"), me, &t), 0);
    CHECK_INT(t.status, 204);
    CHECK_INT(t.version_num, 16);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/res/204/?$version=16&$rid=id_one"), me, &t), 0);
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "id_one");
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/res/400/?$rid=id_one"), me, &t), 0);
    CHECK_INT(t.status, 400);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/res/504/?$rid=id_one"), me, &t), 0);
    CHECK_INT(t.status, 504);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/res/429/?$rid=1"), me, &t), 0);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/PATCH/properties/desired/?$version=id_one"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_TWIN_DESIRED);
    CHECK_MEM_STR(t.version.ptr, t.version.len, "id_one");
    CHECK_INT(t.version_num, -1);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/twin/PATCH/properties/desired/?$version=8"), me, &t), 0);
    CHECK_INT(t.version_num, 8);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/methods/POST/TestMethod/?$rid=1"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_METHOD_REQUEST);
    CHECK_MEM_STR(t.method_name.ptr, t.method_name.len, "TestMethod");
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "1");
}

static void test_device_topics_pinned(void)
{
    struct azk_hub_topic t;
    struct azk_span me = S("dev1");
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev1/messages/events/%24.mid=abc&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_TELEMETRY);
    CHECK_MEM_STR(t.device_id.ptr, t.device_id.len, "dev1");
    struct azk_prop p;
    CHECK_INT(azk_prop_find(t.properties, AZK_PROP_CONTENT_ENCODING, &p), 0);
    CHECK_MEM_STR(p.value.ptr, p.value.len, "utf-8");
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev1/messages/events/$.ct=application%2Fjson%3Bcharset%3Dutf-8"), me, &t), 0);
    CHECK_INT(azk_prop_find(t.properties, AZK_PROP_CONTENT_TYPE, &p), 0);
    char v[64];
    size_t n;
    CHECK_INT(azk_pct_decode(p.value, v, sizeof(v), &n), 0);
    CHECK_MEM_STR(v, n, "application/json;charset=utf-8");
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev1/messages/events/"), me, &t), 0);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev1/messages/events"), me, &t), 0);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev1/messages/events/iothub-creation-time-utc=2024-01-01T00%3A00%3A00Z&$.exp=x&%24.uid=u"), me, &t), 0);
    CHECK_INT(azk_prop_find(t.properties, AZK_PROP_CREATION_TIME_UTC, NULL), 0);
    CHECK_INT(azk_prop_find(t.properties, AZK_PROP_USER_ID, NULL), 0);
    CHECK_INT(azk_hub_parse_device_topic(S("$iothub/twin/GET/?$rid=e7173b7b-0e54"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_TWIN_GET);
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "e7173b7b-0e54");
    CHECK_INT(azk_hub_parse_device_topic(S("$iothub/twin/PATCH/properties/reported/?$rid=7"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_TWIN_PATCH);
    CHECK_INT(azk_hub_parse_device_topic(S("$iothub/methods/res/65535/?$rid=2"), me, &t), 0);
    CHECK_INT(t.kind, AZK_HUB_TOPIC_METHOD_RESPONSE);
    CHECK_INT(t.status, 65535);
    CHECK_INT(azk_hub_parse_device_topic(S("$iothub/methods/res/-3/?$rid=2"), me, &t), 0);
    CHECK_INT(t.status, -3);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev2/messages/events/"), me, &t), -EACCES);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/dev2/messages/events/"), S(""), &t), 0);
}

static void test_malformed(void)
{
    struct azk_hub_topic t;
    struct azk_span me = S("dev1");
    static const struct {
        const char *topic;
        int rc;
    } dev[] = {
        {"", -ENOENT},
        {"devices/dev1", -ENOENT},
        {"devices/dev1/messages/devicebound/", -ENOENT},
        {"devices/dev1/messages/eventsx", -ENOENT},
        {"devices/dev1/modules/m/messages/events/", -ENOENT},
        {"devices//messages/events/", -EBADMSG},
        {"devices/de v/messages/events/", -EBADMSG},
        {"devices/dev1/messages/events/a=+", -EBADMSG},
        {"devices/dev1/messages/events/#", -EBADMSG},
        {"devices/+/messages/events/", -EBADMSG},
        {"$iothub/twin/GET/", -EBADMSG},
        {"$iothub/twin/GET/?", -EBADMSG},
        {"$iothub/twin/GET/?$rid=", -EBADMSG},
        {"$iothub/twin/GET/?rid=1", -EBADMSG},
        {"$iothub/twin/GET/?$rid=1&$rid=2", -EBADMSG},
        {"$iothub/twin/GET/?$rid=#", -EBADMSG},
        {"$iothub/twin/GET/?=1&$rid=1", -EBADMSG},
        {"$iothub/twin/GET?$rid=1", -ENOENT},
        {"$iothub/twin/res/200/?$rid=1", -ENOENT},
        {"$iothub/methods/res/abc/?$rid=1", -EBADMSG},
        {"$iothub/methods/res/200?$rid=1", -EBADMSG},
        {"$iothub/methods/res//?$rid=1", -EBADMSG},
        {"$iothub/methods/res/99999999999/?$rid=1", -EBADMSG},
        {"$iothub/methods/res/200/$rid=1", -EBADMSG},
        {"$iothub/methods/POST/x/?$rid=1", -ENOENT},
        {"$iothub/unknown", -ENOENT},
        {"other/topic", -ENOENT},
    };
    for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++) {
        int rc = azk_hub_parse_device_topic(azk_span_from_str(dev[i].topic), me, &t);
        if (rc != dev[i].rc)
            fprintf(stderr, "  device topic \"%s\"\n", dev[i].topic);
        CHECK_INT(rc, dev[i].rc);
        CHECK_INT(t.kind, rc ? AZK_HUB_TOPIC_UNKNOWN : t.kind);
    }
    CHECK_INT(azk_hub_parse_device_topic((struct azk_span){"devices/dev1/messages/events/\0", 30}, me, &t), -EBADMSG);
    static const struct {
        const char *topic;
        int rc;
    } svc[] = {
        {"$iothub/twin/res/200/?$version=1", -EBADMSG},
        {"$iothub/twin/res/x/?$rid=1", -EBADMSG},
        {"$iothub/twin/PATCH/properties/desired/?$rid=1", -EBADMSG},
        {"$iothub/twin/PATCH/properties/desired/", -EBADMSG},
        {"$iothub/methods/POST/?$rid=1", -EBADMSG},
        {"$iothub/methods/POST//?$rid=1", -EBADMSG},
        {"$iothub/methods/POST/a/b/?$rid=1", -EBADMSG},
        {"$iothub/methods/POST/name", -EBADMSG},
        {"$iothub/methods/POST/name/?$rid=", -EBADMSG},
        {"$iothub/twin/GET/?$rid=1", -ENOENT},
        {"devices/dev1/messages/events/", -ENOENT},
    };
    for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
        int rc = azk_hub_parse_service_topic(azk_span_from_str(svc[i].topic), me, &t);
        if (rc != svc[i].rc)
            fprintf(stderr, "  service topic \"%s\"\n", svc[i].topic);
        CHECK_INT(rc, svc[i].rc);
    }
    enum azk_hub_filter_kind k;
    CHECK_INT(azk_hub_parse_filter(S("devices/dev1/messages/devicebound"), me, &k), -ENOENT);
    CHECK_INT(azk_hub_parse_filter(S("devices/dev1/messages/events/#"), me, &k), -ENOENT);
    CHECK_INT(azk_hub_parse_filter(S("$iothub/#"), me, &k), -ENOENT);
    CHECK_INT(azk_hub_parse_filter(S("devices/dev2/messages/devicebound/#"), me, &k), -EACCES);
    CHECK_INT(azk_hub_parse_filter(S("devices/a+/messages/devicebound/#"), me, &k), -EBADMSG);
}

static void test_filters(void)
{
    enum azk_hub_filter_kind k;
    struct azk_span me = S("dev1");
    CHECK_INT(azk_hub_parse_filter(S("devices/dev1/messages/devicebound/#"), me, &k), 0);
    CHECK_INT(k, AZK_HUB_FILTER_C2D);
    CHECK_INT(azk_hub_parse_filter(S(AZK_HUB_C2D_WILDCARD_FILTER), me, &k), 0);
    CHECK_INT(k, AZK_HUB_FILTER_C2D);
    CHECK_INT(azk_hub_parse_filter(S("$iothub/twin/res/#"), me, &k), 0);
    CHECK_INT(k, AZK_HUB_FILTER_TWIN_RESPONSE);
    CHECK_INT(azk_hub_parse_filter(S("$iothub/twin/PATCH/properties/desired/#"), me, &k), 0);
    CHECK_INT(k, AZK_HUB_FILTER_TWIN_DESIRED);
    CHECK_INT(azk_hub_parse_filter(S("$iothub/methods/POST/#"), me, &k), 0);
    CHECK_INT(k, AZK_HUB_FILTER_METHODS);
}

/* Every id: build every topic / username / client id and parse it back. */
static int round_trip(struct azk_span id)
{
    struct azk_hub_topic t;
    enum azk_hub_filter_kind k;
    char copy[300];
    struct azk_span s;
    struct azk_prop props[] = {P("$.mid", "m?1"), P("k", "v+#&=/%")};
    /* client id */
    struct ctx c = {.which = B_CLIENT_ID, .a = id};
    struct azk_span dev, mod;
    s = built(build, &c);
    if (!s.len || azk_hub_client_id_parse(s, &dev, &mod) || !azk_span_eq(dev, id) || mod.len)
        return 1;
    c.b = id;
    s = built(build, &c);
    if (!s.len || azk_hub_client_id_parse(s, &dev, &mod) || !azk_span_eq(dev, id) || !azk_span_eq(mod, id))
        return 2;
    /* usernames (with and without module, client type, model id) */
    struct ctx u = {.which = B_USERNAME};
    u.u.host = S("h.azure-devices.net:8883");
    u.u.device_id = id;
    for (int variant = 0; variant < 4; variant++) {
        u.u.module_id = (variant & 1) ? id : S("");
        u.u.client_type = (variant & 2) ? S("x/1 (y; z)") : S("");
        u.u.model_id = (variant & 2) ? S("dtmi:a:b;1") : S("");
        s = built(build, &u);
        struct azk_hub_username out;
        if (!s.len || azk_hub_username_parse(s, &out) || !azk_span_eq(out.device_id, id) ||
            !azk_span_eq(out.module_id, u.u.module_id) || !azk_span_eq_str(out.api_version, AZK_HUB_API_VERSION) ||
            !azk_span_eq(out.host, u.u.host))
            return 10 + variant;
        if (variant & 2) {
            size_t n;
            if (azk_pct_decode(out.client_type, copy, sizeof(copy), &n) ||
                !azk_span_eq((struct azk_span){copy, n}, u.u.client_type))
                return 20;
        }
    }
    /* telemetry → hub classifier with the connected id */
    struct ctx te = {.which = B_TELEMETRY, .a = id, .props = props, .count = 2};
    s = built(build, &te);
    memcpy(copy, s.ptr, s.len);
    s.ptr = copy;
    if (azk_hub_parse_device_topic(s, id, &t) || t.kind != AZK_HUB_TOPIC_TELEMETRY ||
        !azk_span_eq(t.device_id, id))
        return 30;
    struct azk_prop p;
    if (azk_prop_find(t.properties, "k", &p) || !azk_span_eq_str(p.value, "v%2B%23%26%3D%2F%25"))
        return 31;
    /* C2D filter → hub filter parse; C2D topic → device parse */
    struct ctx f = {.which = B_C2D_FILTER, .a = id};
    s = built(build, &f);
    if (azk_hub_parse_filter(s, id, &k) || k != AZK_HUB_FILTER_C2D)
        return 40;
    struct ctx cd = {.which = B_C2D, .a = id, .props = props, .count = 2};
    s = built(build, &cd);
    if (azk_hub_parse_service_topic(s, id, &t) || t.kind != AZK_HUB_TOPIC_C2D ||
        !azk_span_eq(t.device_id, id) || azk_prop_find(t.properties, "$.mid", NULL))
        return 41;
    /* wildcard characters only with the connected id */
    bool wild = memchr(id.ptr, '+', id.len) || memchr(id.ptr, '#', id.len);
    s = built(build, &te);
    if (azk_hub_parse_device_topic(s, S(""), &t) != (wild ? -EBADMSG : 0))
        return 50;
    if (azk_hub_parse_device_topic(s, S("someone-else"), &t) != (wild ? -EBADMSG : -EACCES))
        return 51;
    return 0;
}

static void test_round_trip_every_char(void)
{
    const char all[] = "aZ09-:.+%_#*?!(),=@;$'";
    CHECK_INT(round_trip(S(all)), 0);
    for (const char *c = all; *c; c++) {
        char one[1] = {*c};
        char mid[5] = {'d', 'e', *c, 'v', *c};
        char lead[3] = {*c, *c, 'x'};
        int rc = round_trip((struct azk_span){one, 1});
        if (rc)
            fprintf(stderr, "  id \"%c\": step %d\n", *c, rc);
        CHECK_INT(rc, 0);
        CHECK_INT(round_trip((struct azk_span){mid, 5}), 0);
        CHECK_INT(round_trip((struct azk_span){lead, 3}), 0);
    }
    /* longest id, random mixes */
    char id[128];
    for (int r = 0; r < 300; r++) {
        size_t n = 1 + azk_t_rand() % 128;
        for (size_t i = 0; i < n; i++)
            id[i] = all[azk_t_rand() % (sizeof(all) - 1)];
        CHECK_INT(round_trip((struct azk_span){id, n}), 0);
    }
}

static void test_question_mark(void)
{
    struct azk_hub_topic t;
    struct azk_hub_username u;
    /* ids that look like the query */
    CHECK_INT(round_trip(S("?")), 0);
    CHECK_INT(round_trip(S("a?$rid=1")), 0);
    CHECK_INT(round_trip(S("?api-version=1")), 0);
    CHECK_INT(azk_hub_username_parse(S("h/?/?api-version=2021-04-12"), &u), 0);
    CHECK_MEM_STR(u.device_id.ptr, u.device_id.len, "?");
    CHECK_INT(u.module_id.len, 0);
    CHECK_INT(azk_hub_username_parse(S("h/d/?m/?api-version=2021-04-12"), &u), 0);
    CHECK_MEM_STR(u.module_id.ptr, u.module_id.len, "?m");
    CHECK_MEM_STR(u.api_version.ptr, u.api_version.len, "2021-04-12");
    /* method names with '?' split on the last "/?" */
    struct ctx m = {.which = B_METHOD_REQ, .a = S("do?it"), .b = S("9")};
    struct azk_span s = built(build, &m);
    CHECK_INT(azk_hub_parse_service_topic(s, S(""), &t), 0);
    CHECK_MEM_STR(t.method_name.ptr, t.method_name.len, "do?it");
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "9");
    m.a = S("?");
    s = built(build, &m);
    CHECK_INT(azk_hub_parse_service_topic(s, S(""), &t), 0);
    CHECK_MEM_STR(t.method_name.ptr, t.method_name.len, "?");
}

static void test_wildcards(void)
{
    struct azk_hub_topic t;
    enum azk_hub_filter_kind k;
    CHECK_INT(azk_hub_parse_device_topic(S("devices/a+b/messages/events/"), S("a+b"), &t), 0);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/a+b/messages/events/"), S("a"), &t), -EBADMSG);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/a+b/messages/events/"), S(""), &t), -EBADMSG);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/#/messages/events/"), S("#"), &t), 0);
    CHECK_INT(azk_hub_parse_device_topic(S("devices/#/messages/events/x=#"), S("#"), &t), -EBADMSG);
    CHECK_INT(azk_hub_parse_filter(S("devices/a#/messages/devicebound/#"), S("a#"), &k), 0);
    CHECK_INT(azk_hub_parse_filter(S("devices/+/messages/devicebound/#"), S("+"), &k), 0);
    CHECK_INT(azk_hub_parse_filter(S("devices/a#/messages/devicebound/#"), S(""), &k), -EBADMSG);
    CHECK_INT(azk_hub_parse_service_topic(S("devices/+/messages/devicebound/"), S("+"), &t), 0);
    CHECK_INT(azk_hub_parse_service_topic(S("devices/+/messages/devicebound/"), S("x"), &t), -EBADMSG);
    CHECK_INT(azk_hub_parse_service_topic(S("$iothub/methods/POST/a+/?$rid=1"), S(""), &t), -EBADMSG);
}

int main(void)
{
    RUN_TEST(test_pinned_connect);
    RUN_TEST(test_username_parse);
    RUN_TEST(test_pinned_topics);
    RUN_TEST(test_service_topics_pinned);
    RUN_TEST(test_device_topics_pinned);
    RUN_TEST(test_malformed);
    RUN_TEST(test_filters);
    RUN_TEST(test_round_trip_every_char);
    RUN_TEST(test_question_mark);
    RUN_TEST(test_wildcards);
    TEST_MAIN_END();
}

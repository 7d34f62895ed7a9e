/* DPS strings: pinned to Microsoft Learn's "Communicate with DPS using the MQTT protocol", round trips of every
 * allowed registration-id character, malformed input, guard regions. */
#include "azure_test_util.h"
#include "core_test.h"

#define S(x) AZK_SPAN_LIT(x)

enum which { B_CLIENT_ID, B_USERNAME, B_REGISTER, B_STATUS, B_RESPONSE };

struct ctx {
    enum which which;
    struct azk_span a, b;
    int status;
    int64_t num;
    struct azk_dps_username u;
};

static int build(const void *vc, char *buf, size_t size, size_t *len)
{
    const struct ctx *c = vc;
    switch (c->which) {
    case B_CLIENT_ID:
        return azk_dps_client_id(c->a, buf, size, len, NULL);
    case B_USERNAME:
        return azk_dps_username_build(&c->u, buf, size, len, NULL);
    case B_REGISTER:
        return azk_dps_register_topic(c->a, buf, size, len);
    case B_STATUS:
        return azk_dps_operation_status_topic(c->a, c->b, buf, size, len);
    case B_RESPONSE:
        return azk_dps_response_topic(c->status, c->a, c->num, buf, size, len);
    }
    return -EINVAL;
}

static void test_pinned_builders(void)
{
    struct ctx c = {.which = B_CLIENT_ID, .a = S("paho-sample-device1")};
    CHECK(check_build(build, &c, "paho-sample-device1"));
    struct ctx u = {.which = B_USERNAME};
    u.u.id_scope = S("0ne00000A0A");
    u.u.registration_id = S("paho-sample-device1");
    CHECK(check_build(build, &u, "0ne00000A0A/registrations/paho-sample-device1/api-version=2019-03-31"));
    u.u.client_version = S("azure-iot-provisioning-device/1.9.1");
    CHECK(check_build(build, &u, "0ne00000A0A/registrations/paho-sample-device1/api-version=2019-03-31"
                                 "&ClientVersion=azure-iot-provisioning-device%2F1.9.1"));
    u.u.client_version = S("");
    u.u.api_version = S("2021-06-01");
    u.u.model_id = S("dtmi:com:example:X;1");
    CHECK(check_build(build, &u, "0ne00000A0A/registrations/paho-sample-device1/api-version=2021-06-01"
                                 "&model-id=dtmi%3Acom%3Aexample%3AX%3B1"));
    struct ctx r = {.which = B_REGISTER, .a = S("1")};
    CHECK(check_build(build, &r, "$dps/registrations/PUT/iotdps-register/?$rid=1"));
    struct ctx s = {.which = B_STATUS, .a = S("1"),
                    .b = S("4.d0a671905ea5b2c8.e7173b7b-0e54-4aa0-9d20-aeb1b89e6c7d")};
    CHECK(check_build(build, &s, "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
                                 "&operationId=4.d0a671905ea5b2c8.e7173b7b-0e54-4aa0-9d20-aeb1b89e6c7d"));
    struct ctx res = {.which = B_RESPONSE, .status = 202, .a = S("1"), .num = 3};
    CHECK(check_build(build, &res, "$dps/registrations/res/202/?$rid=1&retry-after=3"));
    res.status = 200;
    res.num = -1;
    CHECK(check_build(build, &res, "$dps/registrations/res/200/?$rid=1"));
    CHECK_STR(AZK_DPS_RESPONSE_FILTER, "$dps/registrations/res/#");

    /* refusals with the reason: the C SDK's "myRegistrationId" is not lowercase */
    char buf[128];
    size_t len;
    struct azk_id_error e;
    u.u.registration_id = S("myRegistrationId");
    CHECK_INT(azk_dps_username_build(&u.u, buf, sizeof(buf), &len, &e), -EINVAL);
    CHECK_INT(e.index, 2);
    CHECK_INT(e.byte, 'R');
    CHECK_INT(azk_dps_client_id(S("a/b"), buf, sizeof(buf), &len, &e), -EINVAL);
    CHECK_INT(e.byte, '/');
    u.u.registration_id = S("ok");
    u.u.id_scope = S("0ne/x");
    CHECK_INT(azk_dps_username_build(&u.u, buf, sizeof(buf), &len, &e), -EINVAL);
    CHECK_INT(azk_dps_register_topic(S("a&b"), buf, sizeof(buf), &len), -EINVAL);
    CHECK_INT(azk_dps_operation_status_topic(S("1"), S(""), buf, sizeof(buf), &len), -EINVAL);
}

static void test_username_parse(void)
{
    struct azk_dps_username u;
    CHECK_INT(azk_dps_username_parse(S("0ne00000A0A/registrations/myRegistrationId/api-version=2019-03-31"
                                       "&ClientVersion=azure-iot-provisioning-device%2F1.9.1"), &u), 0);
    CHECK_MEM_STR(u.id_scope.ptr, u.id_scope.len, "0ne00000A0A");
    CHECK_MEM_STR(u.registration_id.ptr, u.registration_id.len, "myRegistrationId");
    CHECK_MEM_STR(u.api_version.ptr, u.api_version.len, "2019-03-31");
    CHECK_MEM_STR(u.client_version.ptr, u.client_version.len, "azure-iot-provisioning-device%2F1.9.1");
    /* third-party firmware: other api-version, model-id; params in any order; optional '?' */
    CHECK_INT(azk_dps_username_parse(S("0ne1/registrations/dev1/api-version=2021-06-01&model-id=dtmi:a:b;1"), &u), 0);
    CHECK_MEM_STR(u.model_id.ptr, u.model_id.len, "dtmi:a:b;1");
    CHECK_INT(azk_dps_username_parse(S("0ne1/registrations/dev1/ClientVersion=x&api-version=2021-10-01"), &u), 0);
    CHECK_MEM_STR(u.api_version.ptr, u.api_version.len, "2021-10-01");
    CHECK_INT(azk_dps_username_parse(S("0ne1/registrations/dev1/?api-version=2019-03-31"), &u), 0);
    const char *bad[] = {"", "0ne1", "0ne1/registrations/dev1", "0ne1/registrations/dev1/",
                         "0ne1/registration/dev1/api-version=1", "/registrations/dev1/api-version=1",
                         "0ne1/registrations/dev+1/api-version=1", "0ne1/registrations//api-version=1",
                         "0ne1/registrations/dev1/ClientVersion=x", "0n e/registrations/d/api-version=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = azk_dps_username_parse(azk_span_from_str(bad[i]), &u);
        if (rc != -EBADMSG)
            fprintf(stderr, "  \"%s\"\n", bad[i]);
        CHECK_INT(rc, -EBADMSG);
    }
}

static void test_parse_topics(void)
{
    struct azk_dps_topic t;
    CHECK_INT(azk_dps_parse_request_topic(S("$dps/registrations/PUT/iotdps-register/?$rid=1"), &t), 0);
    CHECK_INT(t.kind, AZK_DPS_TOPIC_REGISTER);
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "1");
    CHECK_INT(azk_dps_parse_request_topic(S("$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
                                            "&operationId=4.d0a671905ea5b2c8.e7173b7b"), &t), 0);
    CHECK_INT(t.kind, AZK_DPS_TOPIC_OPERATION_STATUS);
    CHECK_MEM_STR(t.operation_id.ptr, t.operation_id.len, "4.d0a671905ea5b2c8.e7173b7b");
    CHECK_INT(azk_dps_parse_request_topic(S("$dps/registrations/GET/iotdps-get-operationstatus/"
                                            "?operationId=op&$rid=e7173b7b-0e54"), &t), 0);
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "e7173b7b-0e54");
    CHECK_MEM_STR(t.operation_id.ptr, t.operation_id.len, "op");

    CHECK_INT(azk_dps_parse_response_topic(S("$dps/registrations/res/202/?$rid=1&retry-after=3"), &t), 0);
    CHECK_INT(t.kind, AZK_DPS_TOPIC_RESPONSE);
    CHECK_INT(t.status, 202);
    CHECK(t.has_retry_after);
    CHECK_INT(t.retry_after, 3);
    CHECK_INT(azk_dps_parse_response_topic(S("$dps/registrations/res/202/?retry-after=120&$rid=1"), &t), 0);
    CHECK_INT(t.retry_after, 120);
    CHECK_MEM_STR(t.rid.ptr, t.rid.len, "1");
    CHECK_INT(azk_dps_parse_response_topic(S("$dps/registrations/res/200/?$rid=1"), &t), 0);
    CHECK_INT(t.status, 200);
    CHECK(!t.has_retry_after);
    CHECK_INT(azk_dps_parse_response_topic(S("$dps/registrations/res/401/?$rid=1"), &t), 0);
    CHECK_INT(t.status, 401);
    CHECK_INT(azk_dps_parse_response_topic(S("$dps/registrations/res/429/?$rid=x&retry-after=4294967295"), &t), 0);
    CHECK_INT(t.retry_after, 4294967295u);

    static const struct {
        const char *topic;
        int rc;
    } bad_res[] = {
        {"$dps/registrations/res/202/?$rid=1&retry-after=abc", -EBADMSG},
        {"$dps/registrations/res/202/?$rid=1&retry-after=4294967296", -EBADMSG},
        {"$dps/registrations/res/202/?$rid=1&retry-after=", -EBADMSG},
        {"$dps/registrations/res/202/?retry-after=3", -EBADMSG},
        {"$dps/registrations/res/abc/?$rid=1", -EBADMSG},
        {"$dps/registrations/res/202?$rid=1", -EBADMSG},
        {"$dps/registrations/res/202/?$rid=1&$rid=2", -EBADMSG},
        {"$dps/registrations/res/202/?$rid=#", -EBADMSG},
        {"$dps/registrations/PUT/iotdps-register/?$rid=1", -ENOENT},
        {"$iothub/twin/res/200/?$rid=1", -ENOENT},
    };
    for (size_t i = 0; i < sizeof(bad_res) / sizeof(bad_res[0]); i++) {
        int rc = azk_dps_parse_response_topic(azk_span_from_str(bad_res[i].topic), &t);
        if (rc != bad_res[i].rc)
            fprintf(stderr, "  \"%s\"\n", bad_res[i].topic);
        CHECK_INT(rc, bad_res[i].rc);
    }
    static const struct {
        const char *topic;
        int rc;
    } bad_req[] = {
        {"$dps/registrations/PUT/iotdps-register/", -EBADMSG},
        {"$dps/registrations/PUT/iotdps-register/?", -EBADMSG},
        {"$dps/registrations/PUT/iotdps-register/?$rid=", -EBADMSG},
        {"$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1", -EBADMSG},
        {"$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1&operationId=", -EBADMSG},
        {"$dps/registrations/PUT/iotdps-register/?$rid=+", -EBADMSG},
        {"$dps/registrations/res/200/?$rid=1", -ENOENT},
        {"$dps/registrations/PUT/other/?$rid=1", -ENOENT},
        {"devices/x/messages/events/", -ENOENT},
    };
    for (size_t i = 0; i < sizeof(bad_req) / sizeof(bad_req[0]); i++) {
        int rc = azk_dps_parse_request_topic(azk_span_from_str(bad_req[i].topic), &t);
        if (rc != bad_req[i].rc)
            fprintf(stderr, "  \"%s\"\n", bad_req[i].topic);
        CHECK_INT(rc, bad_req[i].rc);
    }
}

static int round_trip(struct azk_span id)
{
    struct ctx c = {.which = B_CLIENT_ID, .a = id};
    struct azk_span s = built(build, &c);
    if (!azk_span_eq(s, id))
        return 1;
    struct ctx u = {.which = B_USERNAME};
    u.u.id_scope = S("0ne00000A0A");
    u.u.registration_id = id;
    for (int v = 0; v < 2; v++) {
        u.u.client_version = v ? S("c/1 (x; y)") : S("");
        u.u.model_id = v ? S("dtmi:x:y;1") : S("");
        s = built(build, &u);
        struct azk_dps_username out;
        if (!s.len || azk_dps_username_parse(s, &out) || !azk_span_eq(out.registration_id, id) ||
            !azk_span_eq_str(out.api_version, AZK_DPS_API_VERSION))
            return 2;
        char dec[64];
        size_t n;
        if (v && (azk_pct_decode(out.client_version, dec, sizeof(dec), &n) ||
                  !azk_span_eq((struct azk_span){dec, n}, u.u.client_version)))
            return 3;
    }
    return 0;
}

static void test_round_trips(void)
{
    const char all[] = "az09-._:";
    CHECK_INT(round_trip(S("az09-._:")), 0);
    for (const char *c = all; *c; c++) {
        char one[1] = {*c}, mid[4] = {'d', *c, 'v', *c};
        CHECK_INT(round_trip((struct azk_span){one, 1}), 0);
        CHECK_INT(round_trip((struct azk_span){mid, 4}), 0);
    }
    char id[64];
    for (int r = 0; r < 200; r++) {
        size_t n = 1 + azk_t_rand() % 64;
        for (size_t i = 0; i < n; i++)
            id[i] = "abcdefghijklmnopqrstuvwxyz0123456789-._:"[azk_t_rand() % 40];
        CHECK_INT(round_trip((struct azk_span){id, n}), 0);
    }
    /* topics: rid / operationId / retry-after survive build → parse */
    struct azk_dps_topic t;
    struct ctx s = {.which = B_STATUS, .a = S("e7173b7b-0e54-4aa0"), .b = S("4.d0a6:x_y~z!$'()*,;@%")};
    struct azk_span top = built(build, &s);
    CHECK_INT(azk_dps_parse_request_topic(top, &t), 0);
    CHECK(azk_span_eq(t.rid, s.a) && azk_span_eq(t.operation_id, s.b));
    struct ctx r = {.which = B_RESPONSE, .status = 429, .a = S("77"), .num = 4294967295LL};
    top = built(build, &r);
    CHECK_INT(azk_dps_parse_response_topic(top, &t), 0);
    CHECK_INT(t.status, 429);
    CHECK_INT(t.retry_after, 4294967295u);
    uint32_t counter = 0;
    char rid[16];
    size_t rlen;
    for (int i = 0; i < 50; i++) {
        CHECK_INT(azk_rid_next(&counter, (i & 1) ? AZK_RID_HEX : AZK_RID_DECIMAL, rid, sizeof(rid), &rlen), 0);
        struct ctx g = {.which = B_REGISTER, .a = {rid, rlen}};
        top = built(build, &g);
        CHECK_INT(azk_dps_parse_request_topic(top, &t), 0);
        CHECK(azk_span_eq(t.rid, g.a));
    }
}

int main(void)
{
    RUN_TEST(test_pinned_builders);
    RUN_TEST(test_username_parse);
    RUN_TEST(test_parse_topics);
    RUN_TEST(test_round_trips);
    TEST_MAIN_END();
}

/* DPS register request and registration/operation response bodies, pinned to the payloads in
 * Microsoft Learn's DPS MQTT page and the Azure SDK for Embedded C's provisioning tests. Where
 * the reference elides a value with "…", the full value of the same flow is filled in. */
#include <errno.h>
#include <stdint.h>

#include "azkit/azure_payloads.h"
#include "azkit/json.h"
#include "core_test.h"

#define OP_ID "4.d0a671905ea5b2c8.e7173b7b-0e54-4aa0-9d20-aeb1b89e6c7d"
#define ETAG "IjYxMDA4ZDQ2LTAwMDAtMDEwMC0wMDAwLTVlOGZlM2QxMDAwMCI="

static const char stage1[] = "{\"operationId\":\"" OP_ID "\",\"status\":\"assigning\"}";
static const char stage2[] = "{\"operationId\":\"" OP_ID "\",\"status\":\"assigning\",\n"
                             "          \"registrationState\":{\"registrationId\":"
                             "\"paho-sample-device1\",\"status\":\"assigning\"}}";
static const char stage3[] =
    "{\"operationId\":\"" OP_ID "\",\"status\":\"assigned\",\"registrationState\":{\n"
    "   \"x509\":{},\n"
    "   \"registrationId\":\"paho-sample-device1\",\n"
    "   \"createdDateTimeUtc\":\"2020-04-10T03:11:13.0276997Z\",\n"
    "   \"assignedHub\":\"contoso.azure-devices.net\",\n"
    "   \"deviceId\":\"paho-sample-device1\",\n"
    "   \"status\":\"assigned\",\n"
    "   \"substatus\":\"initialAssignment\",\n"
    "   \"lastUpdatedDateTimeUtc\":\"2020-04-10T03:11:13.2096201Z\",\n"
    "   \"etag\":\"" ETAG "\"}}";
static const char stage3_compact[] =
    "{\"operationId\":\"" OP_ID "\",\"status\":\"assigned\",\"registrationState\":{"
    "\"registrationId\":\"paho-sample-device1\","
    "\"createdDateTimeUtc\":\"2020-04-10T03:11:13.0276997Z\","
    "\"assignedHub\":\"contoso.azure-devices.net\","
    "\"deviceId\":\"paho-sample-device1\","
    "\"status\":\"assigned\","
    "\"substatus\":\"initialAssignment\","
    "\"lastUpdatedDateTimeUtc\":\"2020-04-10T03:11:13.2096201Z\","
    "\"etag\":\"" ETAG "\"}}";
static const char failed[] =
    "{\"operationId\":\"" OP_ID "\",\"status\":\"failed\",\"registrationState\":{"
    "\"registrationId\":\"myRegistrationId\","
    "\"createdDateTimeUtc\":\"2020-04-10T03:11:13.0276997Z\",\"status\":\"failed\","
    "\"errorCode\":400207,"
    "\"errorMessage\":\"Custom allocation failed with status code: 400\","
    "\"lastUpdatedDateTimeUtc\":\"2020-04-10T05:24:22.4718526Z\",\"etag\":\"" ETAG "\"}}";
static const char disabled[] =
    "{\"operationId\":\"\",\"status\":\"disabled\",\"registrationState\":{\"registrationId\":"
    "\"myRegistrationId\",\"status\":\"disabled\"}}";
static const char error401[] =
    "{\"errorCode\":401002,\"trackingId\":\"8ad0463c-6427-4479-9dfa-3e8bb7003e9b\","
    "\"message\":\"Invalid certificate.\",\"timestampUtc\":\"2020-04-10T05:24:22.4718526Z\"}";

#define CHECK_SPAN(sp, s) CHECK_MEM_STR((sp).ptr, (sp).len, (s))

static void test_register_request_build(void)
{
    char buf[128];
    size_t len;
    CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("myRegistrationId"),
                                             AZK_SPAN_LIT("{\"any\":\"custom allocation data\"}"),
                                             buf, sizeof(buf), &len),
              0);
    CHECK_MEM_STR(buf, len,
                  "{\"registrationId\":\"myRegistrationId\",\"payload\":{\"any\":\"custom "
                  "allocation data\"}}");
    CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("paho-sample-device1"),
                                             (struct azk_span){NULL, 0}, buf, sizeof(buf), &len),
              0);
    CHECK_MEM_STR(buf, len, "{\"registrationId\":\"paho-sample-device1\"}");

    /* too small: -ENOBUFS with the size needed, nothing past the end */
    for (size_t k = 0; k < 40; k++) {
        memset(buf, 0x77, sizeof(buf));
        CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("paho-sample-device1"),
                                                 (struct azk_span){NULL, 0}, k ? buf : NULL, k,
                                                 &len),
                  -ENOBUFS);
        CHECK_INT(len, 40);
        CHECK_INT((unsigned char)buf[k], 0x77);
    }
    CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("d"), AZK_SPAN_LIT("{bad}"), buf,
                                             sizeof(buf), &len),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("d"), AZK_SPAN_LIT(""), buf,
                                             sizeof(buf), &len),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("\xFF"), (struct azk_span){NULL, 0},
                                             buf, sizeof(buf), &len),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_build((struct azk_span){NULL, 0},
                                             (struct azk_span){NULL, 0}, buf, sizeof(buf), &len),
              -EINVAL);
    CHECK_INT(azk_dps_register_request_build(AZK_SPAN_LIT("d"), (struct azk_span){NULL, 0}, buf,
                                             sizeof(buf), NULL),
              -EINVAL);
}

static void test_register_request_parse(void)
{
    struct azk_dps_register_request q;
    static const char body[] =
        "{\"registrationId\":\"myRegistrationId\",\"payload\":{\"any\":\"custom allocation data\"}}";

    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT(body), &q), 0);
    CHECK(!q.empty);
    CHECK_SPAN(q.registration_id, "myRegistrationId");
    CHECK_SPAN(q.payload, "{\"any\":\"custom allocation data\"}");

    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{\"registrationId\":\"dev1\"}"), &q),
              0);
    CHECK_SPAN(q.registration_id, "dev1");
    CHECK(q.payload.ptr == NULL);

    /* empty bodies: the Embedded C sample (NULL payload) and the Node poll (' ') */
    CHECK_INT(azk_dps_register_request_parse((struct azk_span){NULL, 0}, &q), 0);
    CHECK(q.empty && q.registration_id.ptr == NULL && q.payload.ptr == NULL);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT(""), &q), 0);
    CHECK(q.empty);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT(" "), &q), 0);
    CHECK(q.empty);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("\r\n"), &q), 0);
    CHECK(q.empty);

    /* other shapes */
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{}"), &q), 0);
    CHECK(!q.empty && q.registration_id.ptr == NULL);
    CHECK_INT(azk_dps_register_request_parse(
                  AZK_SPAN_LIT("{\"x\":[1,{}],\"registrationId\":null,\"payload\":null}"), &q),
              0);
    CHECK(q.registration_id.ptr == NULL);
    CHECK_SPAN(q.payload, "null");
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{\"registrationId\":\"d\\u0031\"}"),
                                             &q),
              0);
    CHECK_SPAN(q.registration_id, "d\\u0031");
    CHECK(azk_json_string_eq_str(q.registration_id, "d1"));

    /* malformed */
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{"), &q), -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("[]"), &q), -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("\"dev1\""), &q), -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{\"registrationId\":1}"), &q),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(
                  AZK_SPAN_LIT("{\"registrationId\":\"a\",\"registrationId\":\"b\"}"), &q),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{\"registrationId\":\"a\"} x"), &q),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{\"registrationId\":\"\xC0\xAF\"}"),
                                             &q),
              -EBADMSG);
    CHECK_INT(azk_dps_register_request_parse(AZK_SPAN_LIT("{}"), NULL), -EINVAL);
}

static void test_response_stages(void)
{
    struct azk_dps_response r;

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(stage1), &r), 0);
    CHECK_SPAN(r.operation_id, OP_ID);
    CHECK_INT(r.status, AZK_DPS_STATUS_ASSIGNING);
    CHECK_SPAN(r.status_text, "assigning");
    CHECK(!r.has_registration_state && !r.has_error_code);

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(stage2), &r), 0);
    CHECK_INT(r.status, AZK_DPS_STATUS_ASSIGNING);
    CHECK(r.has_registration_state);
    CHECK_SPAN(r.registration_state.registration_id, "paho-sample-device1");
    CHECK_INT(r.registration_state.status, AZK_DPS_STATUS_ASSIGNING);
    CHECK(r.registration_state.assigned_hub.ptr == NULL);

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(stage3), &r), 0);
    CHECK_INT(r.status, AZK_DPS_STATUS_ASSIGNED);
    CHECK_SPAN(r.registration_state.registration_id, "paho-sample-device1");
    CHECK_SPAN(r.registration_state.created_date_time_utc, "2020-04-10T03:11:13.0276997Z");
    CHECK_SPAN(r.registration_state.assigned_hub, "contoso.azure-devices.net");
    CHECK_SPAN(r.registration_state.device_id, "paho-sample-device1");
    CHECK_INT(r.registration_state.status, AZK_DPS_STATUS_ASSIGNED);
    CHECK_SPAN(r.registration_state.substatus, "initialAssignment");
    CHECK_SPAN(r.registration_state.last_updated_date_time_utc, "2020-04-10T03:11:13.2096201Z");
    CHECK_SPAN(r.registration_state.etag, ETAG);
    CHECK(!r.registration_state.has_error_code);
    CHECK(r.registration_state.payload.ptr == NULL);

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(failed), &r), 0);
    CHECK_INT(r.status, AZK_DPS_STATUS_FAILED);
    CHECK_INT(r.registration_state.status, AZK_DPS_STATUS_FAILED);
    CHECK(r.registration_state.has_error_code);
    CHECK_INT(r.registration_state.error_code, 400207);
    CHECK_INT(r.registration_state.error_code / 1000, 400);
    CHECK_SPAN(r.registration_state.error_message,
               "Custom allocation failed with status code: 400");

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(disabled), &r), 0);
    CHECK(r.operation_id.ptr != NULL);
    CHECK_INT(r.operation_id.len, 0);
    CHECK_INT(r.status, AZK_DPS_STATUS_DISABLED);
    CHECK_INT(r.registration_state.status, AZK_DPS_STATUS_DISABLED);

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(error401), &r), 0);
    CHECK(r.operation_id.ptr == NULL);
    CHECK_INT(r.status, AZK_DPS_STATUS_NONE);
    CHECK(r.has_error_code);
    CHECK_INT(r.error_code, 401002);
    CHECK_SPAN(r.tracking_id, "8ad0463c-6427-4479-9dfa-3e8bb7003e9b");
    CHECK_SPAN(r.message, "Invalid certificate.");
    CHECK_SPAN(r.timestamp_utc, "2020-04-10T05:24:22.4718526Z");
}

static void test_response_other(void)
{
    struct azk_dps_response r;

    /* custom allocation payload is passed through raw; unknown status keeps its text */
    CHECK_INT(azk_dps_response_parse(
                  AZK_SPAN_LIT("{\"operationId\":\"o\",\"status\":\"weird\",\"registrationState\":"
                               "{\"payload\":{\"a\":[1,2]},\"symmetricKey\":{\"k\":\"v\"},"
                               "\"status\":\"unassigned\",\"errorCode\":null}}"),
                  &r),
              0);
    CHECK_INT(r.status, AZK_DPS_STATUS_UNKNOWN);
    CHECK_SPAN(r.status_text, "weird");
    CHECK_SPAN(r.registration_state.payload, "{\"a\":[1,2]}");
    CHECK_INT(r.registration_state.status, AZK_DPS_STATUS_UNASSIGNED);
    CHECK(!r.registration_state.has_error_code);

    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT("{\"registrationState\":null}"), &r), 0);
    CHECK(!r.has_registration_state);

    /* rule violations */
    static const char *const bad[] = {
        "",
        " ",
        "[]",
        "{\"operationId\":1}",
        "{\"status\":true}",
        "{\"registrationState\":[]}",
        "{\"registrationState\":{\"assignedHub\":\"h\"}}",
        "{\"registrationState\":{\"deviceId\":\"d\"}}",
        "{\"errorCode\":\"401002\"}",
        "{\"errorCode\":401002.0}",
        "{\"errorCode\":4.01002e5}",
        "{\"status\":\"assigned\",\"status\":\"failed\"}",
        "{\"registrationState\":{\"etag\":\"a\",\"etag\":\"b\"}}",
        "{\"operationId\":\"x\"}}",
        "{\"operationId\":\"\\ud800\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = azk_dps_response_parse(azk_span_from_str(bad[i]), &r);
        if (rc != -EBADMSG)
            fprintf(stderr, "case %s: %d\n", bad[i], rc);
        CHECK_INT(rc, -EBADMSG);
    }
    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT("{\"errorCode\":2147483648}"), &r), -ERANGE);
    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT("{\"errorCode\":-2147483648}"), &r), 0);
    CHECK_INT(r.error_code, INT32_MIN);
    CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT("{}"), NULL), -EINVAL);
}

static void test_response_build_exact(void)
{
    static const char *const docs[] = {stage1, stage3_compact, failed, disabled, error401};
    char buf[1024];
    size_t i, len;

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct azk_dps_response r;
        CHECK_INT(azk_dps_response_parse(azk_span_from_str(docs[i]), &r), 0);
        CHECK_INT(azk_dps_response_build(&r, buf, sizeof(buf), &len), 0);
        CHECK_MEM_STR(buf, len, docs[i]);
    }
    /* stage 3 as DPS sends it (whitespace, x509) rebuilds to the compact form */
    {
        struct azk_dps_response r;
        CHECK_INT(azk_dps_response_parse(AZK_SPAN_LIT(stage3), &r), 0);
        CHECK_INT(azk_dps_response_build(&r, buf, sizeof(buf), &len), 0);
        CHECK_MEM_STR(buf, len, stage3_compact);
    }
    /* from a struct filled by hand, as the hub does */
    {
        struct azk_dps_response r;
        memset(&r, 0, sizeof(r));
        r.operation_id = AZK_SPAN_LIT(OP_ID);
        r.status = AZK_DPS_STATUS_ASSIGNING;
        CHECK_INT(azk_dps_response_build(&r, buf, sizeof(buf), &len), 0);
        CHECK_MEM_STR(buf, len, stage1);
        r.status = (enum azk_dps_status)99;
        CHECK_INT(azk_dps_response_build(&r, buf, sizeof(buf), &len), -EINVAL);
        r.status = AZK_DPS_STATUS_UNKNOWN;
        CHECK_INT(azk_dps_response_build(&r, buf, sizeof(buf), &len), -EINVAL);
        r.status_text = AZK_SPAN_LIT("registering");
        CHECK_INT(azk_dps_response_build(&r, buf, sizeof(buf), &len), 0);
        CHECK_MEM_STR(buf, len, "{\"operationId\":\"" OP_ID "\",\"status\":\"registering\"}");
    }
}

static void compare_span(struct azk_span a, struct azk_span b, int *bad)
{
    if ((a.ptr == NULL) != (b.ptr == NULL) || a.len != b.len ||
        (a.len && memcmp(a.ptr, b.ptr, a.len) != 0))
        (*bad)++;
}

static void test_response_round_trip(void)
{
    struct azk_dps_response in, out;
    char buf[1024], small[1024 + 16];
    size_t len, need, k;
    int bad = 0;

    memset(&in, 0, sizeof(in));
    in.operation_id = AZK_SPAN_LIT(OP_ID);
    in.status = AZK_DPS_STATUS_ASSIGNED;
    in.has_registration_state = true;
    in.registration_state.registration_id = AZK_SPAN_LIT("dev-1");
    in.registration_state.created_date_time_utc = AZK_SPAN_LIT("2020-04-10T03:11:13.0276997Z");
    in.registration_state.assigned_hub = AZK_SPAN_LIT("localhost");
    in.registration_state.device_id = AZK_SPAN_LIT("dev-1");
    in.registration_state.status = AZK_DPS_STATUS_ASSIGNED;
    in.registration_state.substatus = AZK_SPAN_LIT("initialAssignment");
    in.registration_state.last_updated_date_time_utc = AZK_SPAN_LIT("2020-04-10T03:11:13.2Z");
    in.registration_state.etag = AZK_SPAN_LIT(ETAG);
    in.registration_state.has_error_code = true;
    in.registration_state.error_code = 400207;
    in.registration_state.error_message = AZK_SPAN_LIT("msg");
    in.registration_state.payload = AZK_SPAN_LIT("{\"hub\":\"data\",\"n\":[1,2,3]}");
    in.has_error_code = true;
    in.error_code = 401002;
    in.tracking_id = AZK_SPAN_LIT("8ad0463c-6427-4479-9dfa-3e8bb7003e9b");
    in.message = AZK_SPAN_LIT("Invalid certificate.");
    in.timestamp_utc = AZK_SPAN_LIT("2020-04-10T05:24:22.4718526Z");

    CHECK_INT(azk_dps_response_build(&in, buf, sizeof(buf), &len), 0);
    CHECK_INT(azk_dps_response_parse((struct azk_span){buf, len}, &out), 0);
    compare_span(in.operation_id, out.operation_id, &bad);
    CHECK_INT(out.status, in.status);
    CHECK(out.has_registration_state);
    compare_span(in.registration_state.registration_id, out.registration_state.registration_id,
                 &bad);
    compare_span(in.registration_state.created_date_time_utc,
                 out.registration_state.created_date_time_utc, &bad);
    compare_span(in.registration_state.assigned_hub, out.registration_state.assigned_hub, &bad);
    compare_span(in.registration_state.device_id, out.registration_state.device_id, &bad);
    CHECK_INT(out.registration_state.status, in.registration_state.status);
    compare_span(in.registration_state.substatus, out.registration_state.substatus, &bad);
    compare_span(in.registration_state.last_updated_date_time_utc,
                 out.registration_state.last_updated_date_time_utc, &bad);
    compare_span(in.registration_state.etag, out.registration_state.etag, &bad);
    CHECK(out.registration_state.has_error_code);
    CHECK_INT(out.registration_state.error_code, 400207);
    compare_span(in.registration_state.error_message, out.registration_state.error_message, &bad);
    compare_span(in.registration_state.payload, out.registration_state.payload, &bad);
    CHECK(out.has_error_code);
    CHECK_INT(out.error_code, 401002);
    compare_span(in.tracking_id, out.tracking_id, &bad);
    compare_span(in.message, out.message, &bad);
    compare_span(in.timestamp_utc, out.timestamp_utc, &bad);
    CHECK_INT(bad, 0);

    /* too small, every size: -ENOBUFS, the size needed, guard untouched */
    need = len;
    for (k = 0; k < need; k++) {
        memset(small, 0x33, sizeof(small));
        CHECK_INT(azk_dps_response_build(&in, small, k, &len), -ENOBUFS);
        CHECK_INT(len, need);
        for (size_t g = k; g < k + 16; g++)
            CHECK_INT((unsigned char)small[g], 0x33);
    }

    /* text with characters that need escaping survives (decoded) */
    memset(&in, 0, sizeof(in));
    in.registration_state.error_message = AZK_SPAN_LIT("bad \"cert\"\n\\ \xC3\xA9");
    in.has_registration_state = true;
    CHECK_INT(azk_dps_response_build(&in, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len,
                  "{\"registrationState\":{\"errorMessage\":\"bad \\\"cert\\\"\\n\\\\ \xC3\xA9\"}}");
    CHECK_INT(azk_dps_response_parse((struct azk_span){buf, len}, &out), 0);
    CHECK(azk_json_string_eq_str(out.registration_state.error_message,
                                 "bad \"cert\"\n\\ \xC3\xA9"));
    {
        char dec[64];
        size_t dlen;
        CHECK_INT(azk_json_string_unescape(out.registration_state.error_message, dec,
                                           sizeof(dec), &dlen),
                  0);
        CHECK_MEM_STR(dec, dlen, "bad \"cert\"\n\\ \xC3\xA9");
    }

    /* invalid payload / text is refused */
    in.registration_state.payload = AZK_SPAN_LIT("{\"a\":}");
    CHECK_INT(azk_dps_response_build(&in, buf, sizeof(buf), &len), -EBADMSG);
    in.registration_state.payload = (struct azk_span){NULL, 0};
    in.message = AZK_SPAN_LIT("\xED\xA0\x80");
    CHECK_INT(azk_dps_response_build(&in, buf, sizeof(buf), &len), -EBADMSG);
    CHECK_INT(azk_dps_response_build(NULL, buf, sizeof(buf), &len), -EINVAL);
}

static void test_status_str(void)
{
    CHECK_STR(azk_dps_status_str(AZK_DPS_STATUS_UNASSIGNED), "unassigned");
    CHECK_STR(azk_dps_status_str(AZK_DPS_STATUS_ASSIGNING), "assigning");
    CHECK_STR(azk_dps_status_str(AZK_DPS_STATUS_ASSIGNED), "assigned");
    CHECK_STR(azk_dps_status_str(AZK_DPS_STATUS_FAILED), "failed");
    CHECK_STR(azk_dps_status_str(AZK_DPS_STATUS_DISABLED), "disabled");
    CHECK(azk_dps_status_str(AZK_DPS_STATUS_NONE) == NULL);
    CHECK(azk_dps_status_str(AZK_DPS_STATUS_UNKNOWN) == NULL);
}

int main(void)
{
    RUN_TEST(test_register_request_build);
    RUN_TEST(test_register_request_parse);
    RUN_TEST(test_response_stages);
    RUN_TEST(test_response_other);
    RUN_TEST(test_response_build_exact);
    RUN_TEST(test_response_round_trip);
    RUN_TEST(test_status_str);
    TEST_MAIN_END();
}

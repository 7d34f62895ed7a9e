/* Twin documents and patches, method payloads, pinned to the bodies in
 * Microsoft Learn's "Communicate with an IoT hub using the MQTT protocol" (twins, methods). */
#include <errno.h>
#include <stdint.h>

#include "azkit/azure_payloads.h"
#include "azkit/json.h"
#include "core_test.h"

#define CHECK_SPAN(sp, s) CHECK_MEM_STR((sp).ptr, (sp).len, (s))

static void test_document_parse(void)
{
    static const char doc[] =
        "{\"desired\":{\"telemetrySendFrequency\":\"5m\",\"$version\":12},"
        "\"reported\":{\"temperature\":21,\"$version\":123}}";
    static const char doc_meta[] =
        "{\"desired\":{\"$metadata\":{\"$lastUpdated\":\"2020-04-10T03:11:13.0276997Z\"},"
        "\"$version\":1},\n \"reported\":{\"$metadata\":{\"$lastUpdated\":"
        "\"2020-04-10T03:11:13.0276997Z\"},\"$version\":1}}";
    struct azk_twin_document t;
    struct azk_span v;

    CHECK_INT(azk_twin_document_parse(AZK_SPAN_LIT(doc), &t), 0);
    CHECK_SPAN(t.desired, "{\"telemetrySendFrequency\":\"5m\",\"$version\":12}");
    CHECK_SPAN(t.reported, "{\"temperature\":21,\"$version\":123}");
    CHECK(t.has_desired_version && t.has_reported_version);
    CHECK(t.desired_version == 12);
    CHECK(t.reported_version == 123);
    /* the sections are objects the generic helper can search */
    CHECK_INT(azk_json_object_find(t.desired, "telemetrySendFrequency", &v), 0);
    CHECK_SPAN(v, "\"5m\"");

    CHECK_INT(azk_twin_document_parse(AZK_SPAN_LIT(doc_meta), &t), 0);
    CHECK(t.desired_version == 1 && t.reported_version == 1);
    CHECK_INT(azk_json_object_find(t.reported, "$metadata", &v), 0);
    CHECK_SPAN(v, "{\"$lastUpdated\":\"2020-04-10T03:11:13.0276997Z\"}");

    /* sections and versions are optional; other members skipped; nested $version ignored */
    CHECK_INT(azk_twin_document_parse(
                  AZK_SPAN_LIT("{\"x\":1,\"desired\":{\"a\":{\"$version\":5}}}"), &t),
              0);
    CHECK_SPAN(t.desired, "{\"a\":{\"$version\":5}}");
    CHECK(!t.has_desired_version && t.reported.ptr == NULL && !t.has_reported_version);
    CHECK_INT(azk_twin_document_parse(AZK_SPAN_LIT("{}"), &t), 0);
    CHECK(t.desired.ptr == NULL);

    static const char *const bad[] = {
        "", " ", "[]", "{\"desired\":[]}", "{\"desired\":null}", "{\"reported\":1}",
        "{\"desired\":{\"$version\":\"12\"}}", "{\"desired\":{\"$version\":1.5}}",
        "{\"desired\":{\"$version\":1e3}}", "{\"desired\":{\"$version\":1,\"$version\":2}}",
        "{\"desired\":{},\"desired\":{}}", "{\"desired\":{}", "{\"desired\":{}} {}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = azk_twin_document_parse(azk_span_from_str(bad[i]), &t);
        if (rc != -EBADMSG)
            fprintf(stderr, "case %s: %d\n", bad[i], rc);
        CHECK_INT(rc, -EBADMSG);
    }
    CHECK_INT(azk_twin_document_parse(
                  AZK_SPAN_LIT("{\"desired\":{\"$version\":9223372036854775808}}"), &t),
              -ERANGE);
    CHECK_INT(azk_twin_document_parse(AZK_SPAN_LIT("{}"), NULL), -EINVAL);
}

static void test_document_build(void)
{
    char buf[256];
    size_t len, need, k;
    struct azk_twin_document t;

    CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("{\"telemetrySendFrequency\":\"5m\"}"), 12,
                                      AZK_SPAN_LIT(" { } "), 123, buf, sizeof(buf), &len),
              0);
    CHECK_MEM_STR(buf, len,
                  "{\"desired\":{\"telemetrySendFrequency\":\"5m\",\"$version\":12},"
                  "\"reported\":{\"$version\":123}}");
    CHECK_INT(azk_twin_document_parse((struct azk_span){buf, len}, &t), 0);
    CHECK(t.desired_version == 12 && t.reported_version == 123);
    CHECK_SPAN(t.reported, "{\"$version\":123}");

    need = len;
    for (k = 0; k < need; k++) {
        memset(buf, 0x44, sizeof(buf));
        CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("{\"telemetrySendFrequency\":\"5m\"}"), 12,
                                          AZK_SPAN_LIT(" { } "), 123, k ? buf : NULL, k, &len),
                  -ENOBUFS);
        CHECK_INT(len, need);
        CHECK_INT((unsigned char)buf[k], 0x44);
    }
    CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("{\"$version\":1}"), 1, AZK_SPAN_LIT("{}"), 1,
                                      buf, sizeof(buf), &len),
              -EBADMSG);
    CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("[]"), 1, AZK_SPAN_LIT("{}"), 1, buf,
                                      sizeof(buf), &len),
              -EBADMSG);
    CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("{}"), 1, AZK_SPAN_LIT("{,}"), 1, buf,
                                      sizeof(buf), &len),
              -EBADMSG);
    CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("{}"), INT64_MIN, AZK_SPAN_LIT("{}"),
                                      INT64_MAX, buf, sizeof(buf), &len),
              0);
    CHECK_MEM_STR(buf, len,
                  "{\"desired\":{\"$version\":-9223372036854775808},"
                  "\"reported\":{\"$version\":9223372036854775807}}");
    CHECK_INT(azk_twin_document_build(AZK_SPAN_LIT("{}"), 1, AZK_SPAN_LIT("{}"), 1, buf,
                                      sizeof(buf), NULL),
              -EINVAL);
}

static void test_desired_patch(void)
{
    static const char body[] = "{\"telemetrySendFrequency\":\"5m\",\"route\":null,\"$version\":8}";
    struct azk_twin_desired_patch p;
    char buf[128];
    size_t len, k;

    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT(body), &p), 0);
    CHECK(p.has_version);
    CHECK(p.version == 8);
    CHECK_SPAN(p.patch, body);

    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT(" {\"a\":{\"$version\":3}} \n"), &p), 0);
    CHECK(!p.has_version);
    CHECK_SPAN(p.patch, "{\"a\":{\"$version\":3}}");

    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT("{\"$version\":\"8\"}"), &p), -EBADMSG);
    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT("{\"$version\":8.5}"), &p), -EBADMSG);
    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT("{\"$version\":8,\"$version\":9}"), &p),
              -EBADMSG);
    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT("[8]"), &p), -EBADMSG);
    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT("{\"a\":1,}"), &p), -EBADMSG);
    CHECK_INT(azk_twin_desired_patch_parse(AZK_SPAN_LIT(""), &p), -EBADMSG);

    /* hub side: build the same body */
    CHECK_INT(azk_twin_desired_patch_build(AZK_SPAN_LIT("{\"telemetrySendFrequency\":\"5m\","
                                                        "\"route\":null}"),
                                           8, buf, sizeof(buf), &len),
              0);
    CHECK_MEM_STR(buf, len, body);
    for (k = 0; k < sizeof(body) - 1; k++) {
        memset(buf, 0x11, sizeof(buf));
        CHECK_INT(azk_twin_desired_patch_build(AZK_SPAN_LIT("{\"telemetrySendFrequency\":\"5m\","
                                                            "\"route\":null}"),
                                               8, buf, k, &len),
                  -ENOBUFS);
        CHECK_INT(len, sizeof(body) - 1);
        CHECK_INT((unsigned char)buf[k], 0x11);
    }
    CHECK_INT(azk_twin_desired_patch_build(AZK_SPAN_LIT("{}"), 2, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "{\"$version\":2}");
    CHECK_INT(azk_twin_desired_patch_build(AZK_SPAN_LIT("{\"$version\":1}"), 2, buf, sizeof(buf),
                                           &len),
              -EBADMSG);
    CHECK_INT(azk_twin_desired_patch_build(AZK_SPAN_LIT("null"), 2, buf, sizeof(buf), &len),
              -EBADMSG);
}

static void test_reported_patch(void)
{
    char buf[64];
    size_t len, k;
    struct azk_span p;

    CHECK_INT(azk_twin_reported_patch_build(AZK_SPAN_LIT("{\"temperature\":21,\"route\":null}"),
                                            buf, sizeof(buf), &len),
              0);
    CHECK_MEM_STR(buf, len, "{\"temperature\":21,\"route\":null}");
    CHECK_INT(azk_twin_reported_patch_build(AZK_SPAN_LIT("\n { \"a\" : 1 } \n"), buf, sizeof(buf),
                                            &len),
              0);
    CHECK_MEM_STR(buf, len, "{ \"a\" : 1 }");
    for (k = 0; k < 11; k++) {
        memset(buf, 0x22, sizeof(buf));
        CHECK_INT(azk_twin_reported_patch_build(AZK_SPAN_LIT("{ \"a\" : 1 }"), buf, k, &len),
                  -ENOBUFS);
        CHECK_INT(len, 11);
        CHECK_INT((unsigned char)buf[k], 0x22);
    }
    static const char *const bad[] = {"", " ", "[]", "1", "\"s\"", "{", "{\"a\":1,}",
                                      "{\"a\":01}", "{} {}", "{\"a\":\"\x80\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(azk_twin_reported_patch_build(azk_span_from_str(bad[i]), buf, sizeof(buf),
                                                &len),
                  -EBADMSG);
    CHECK_INT(azk_twin_reported_patch_parse(AZK_SPAN_LIT(" {\"a\":null} "), &p), 0);
    CHECK_SPAN(p, "{\"a\":null}");
    CHECK_INT(azk_twin_reported_patch_parse(AZK_SPAN_LIT(" "), &p), -EBADMSG);
    CHECK(p.ptr == NULL);
}

static void test_method_payload(void)
{
    struct azk_span p;
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT(""), &p), 0);
    CHECK(p.ptr == NULL);
    CHECK_INT(azk_method_payload_validate((struct azk_span){NULL, 0}, &p), 0);
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT(" "), &p), 0);
    CHECK(p.ptr == NULL);
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT(" {\"delay\":5} "), &p), 0);
    CHECK_SPAN(p, "{\"delay\":5}");
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT("null"), &p), 0);
    CHECK_SPAN(p, "null");
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT("\"text\""), &p), 0);
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT("42"), NULL), 0);
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT("{"), &p), -EBADMSG);
    CHECK(p.ptr == NULL);
    CHECK_INT(azk_method_payload_validate(AZK_SPAN_LIT("reboot"), &p), -EBADMSG);
    CHECK_INT(azk_method_payload_validate((struct azk_span){NULL, 2}, &p), -EINVAL);
}

int main(void)
{
    RUN_TEST(test_document_parse);
    RUN_TEST(test_document_build);
    RUN_TEST(test_desired_patch);
    RUN_TEST(test_reported_patch);
    RUN_TEST(test_method_payload);
    TEST_MAIN_END();
}

/* The `firmware` objects of azure_fota: the desired object as the nRF Connect SDK's sample
 * README gives it, the reported forms azure_fota.c prints, the limits of its Kconfig. */
#include <errno.h>
#include <stdint.h>

#include "azkit/fota_payload.h"
#include "core_test.h"

#define SAMPLE                                                                                  \
    "{\"firmware\":{\"fwVersion\":\"v0.0.2-dev\",\"jobId\":"                                    \
    "\"ca186d4b-4171-4209-a49d-700c35567d1d\",\"fwLocation\":{\"host\":\"example.com\","        \
    "\"path\":\"firmware/my-app-update.bin\"},\"fwFragmentSize\":1800}}"

static int parse(const char *s, struct azk_fota_desired *d)
{
    return azk_fota_desired_parse(azk_span_from_str(s), d);
}

static void test_desired_sample(void)
{
    struct azk_fota_desired d;
    CHECK_INT(parse(SAMPLE, &d), 0);
    CHECK_STR(d.version, "v0.0.2-dev");
    CHECK_STR(d.job_id, "ca186d4b-4171-4209-a49d-700c35567d1d");
    CHECK_STR(d.host, "example.com");
    CHECK_STR(d.path, "firmware/my-app-update.bin");
    CHECK_INT(d.fragment_size, 1800);
    CHECK(!d.has_size && !d.has_sha256);
    /* under desired, as a twin document */
    CHECK_INT(parse("{\"desired\":" SAMPLE ",\"reported\":{}}", &d), 0);
    CHECK_STR(d.version, "v0.0.2-dev");
}

static void test_desired_variants(void)
{
    struct azk_fota_desired d;
    /* a number version, no jobId, port kept, protocol ignored, azkit extensions */
    CHECK_INT(parse("{\"firmware\":{\"fwVersion\":2,\"fwLocation\":{\"host\":\"h:8443\","
                    "\"path\":\"p\",\"protocol\":\"http:\"},\"fwFragmentSize\":0,\"fwSize\":"
                    "4097,\"fwSha256\":\"00FF" "0000000000000000000000000000000000000000000000"
                    "00000000000001\"}}", &d), 0);
    CHECK_STR(d.version, "2");
    CHECK_STR(d.job_id, "");
    CHECK_STR(d.host, "h:8443");
    CHECK(d.has_size && d.size == 4097 && d.has_sha256);
    CHECK(d.sha256[0] == 0 && d.sha256[1] == 0xff && d.sha256[31] == 1);
    CHECK_INT(parse("{\"firmware\":{\"fwVersion\":-7,\"fwLocation\":{\"host\":\"h\","
                    "\"path\":\"p\"},\"fwFragmentSize\":65536}}", &d), 0);
    CHECK_STR(d.version, "-7");
    /* escapes are decoded */
    CHECK_INT(parse("{\"firmware\":{\"fwVersion\":\"v\\u0032\",\"fwLocation\":{\"host\":\"h\","
                    "\"path\":\"a\\/b\"},\"fwFragmentSize\":1}}", &d), 0);
    CHECK_STR(d.version, "v2");
    CHECK_STR(d.path, "a/b");
}

static void test_desired_not_fota(void)
{
    struct azk_fota_desired d;
    CHECK_INT(parse("{\"telemetryInterval\":5,\"$version\":3}", &d), -ENOENT);
    CHECK_INT(parse("{\"desired\":{\"x\":1}}", &d), -ENOENT);
    CHECK_INT(parse("{\"desired\":5}", &d), -ENOENT);
    CHECK_INT(parse("[1]", &d), -EBADMSG);
    CHECK_INT(parse("{\"firmware\":", &d), -EBADMSG);
    CHECK_INT(parse("", &d), -EBADMSG);
    CHECK_INT(azk_fota_desired_parse(AZK_SPAN_LIT("{}"), NULL), -EINVAL);
}

static void test_desired_bad(void)
{
    struct azk_fota_desired d;
    static const char *const bad[] = {
        "{\"firmware\":null}",
        "{\"firmware\":{}}",
        /* each required member missing */
        "{\"firmware\":{\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"path\":\"p\"},\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"host\":\"h\"},\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"}}}",
        /* wrong types and ranges */
        "{\"firmware\":{\"fwVersion\":1.5,\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":true,\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"jobId\":7,\"fwLocation\":{\"host\":\"h\","
        "\"path\":\"p\"},\"fwFragmentSize\":1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":65537}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":\"1800\"}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":1,\"fwSize\":-1}}",
        "{\"firmware\":{\"fwVersion\":\"1\",\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":1,\"fwSha256\":\"abc\"}}",
        "{\"firmware\":{\"fwVersion\":\"\\u0000\",\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},"
        "\"fwFragmentSize\":1}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i], &d);
        if (rc != -EBADMSG)
            fprintf(stderr, "case %zu: %d\n", i, rc);
        CHECK_INT(rc, -EBADMSG);
    }
}

static void test_desired_limits(void)
{
    struct azk_fota_desired d;
    char buf[512];
    /* 63 characters fit the 64-byte version buffer, 64 do not (azure_fota: strlen >= size) */
    for (int n = 63; n <= 64; n++) {
        snprintf(buf, sizeof(buf), "{\"firmware\":{\"fwVersion\":\"%0*d\",\"fwLocation\":"
                 "{\"host\":\"h\",\"path\":\"p\"},\"fwFragmentSize\":1}}", n, 0);
        CHECK_INT(parse(buf, &d), n == 63 ? 0 : -ENAMETOOLONG);
    }
    for (int n = 39; n <= 40; n++) {
        snprintf(buf, sizeof(buf), "{\"firmware\":{\"fwVersion\":\"1\",\"jobId\":\"%0*d\","
                 "\"fwLocation\":{\"host\":\"h\",\"path\":\"p\"},\"fwFragmentSize\":1}}", n, 0);
        CHECK_INT(parse(buf, &d), n == 39 ? 0 : -ENAMETOOLONG);
    }
}

static void test_reported(void)
{
    struct azk_fota_reported r;
    CHECK_INT(azk_fota_reported_parse(
                  AZK_SPAN_LIT("{\"desired\":{},\"reported\":{\"firmware\":{\"fwUpdateStatus\":"
                               "\"applying\",\"currentFwVersion\":\"1\",\"pendingFwVersion\":"
                               "\"2\",\"jobId\":\"j\"},\"$version\":4}}"), &r), 0);
    CHECK(r.has_firmware && r.has_status && r.has_current && r.has_pending && r.has_job_id);
    CHECK_INT(r.status, AZK_FOTA_APPLYING);
    CHECK_STR(r.current, "1");
    CHECK_STR(r.pending, "2");
    CHECK_STR(r.job_id, "j");
    CHECK_INT(azk_fota_reported_parse(
                  AZK_SPAN_LIT("{\"reported\":{\"firmware\":{\"fwUpdateStatus\":\"odd\","
                               "\"currentFwVersion\":3}}}"), &r), 0);
    CHECK(r.has_status && !r.has_current && !r.has_pending && !r.has_job_id);
    CHECK_INT(r.status, AZK_FOTA_INVALID);
    CHECK_INT(azk_fota_reported_parse(AZK_SPAN_LIT("{\"reported\":{}}"), &r), 0);
    CHECK(!r.has_firmware);
    CHECK_INT(azk_fota_reported_parse(AZK_SPAN_LIT("{\"desired\":{}}"), &r), -ENOENT);
    CHECK_INT(azk_fota_reported_parse(AZK_SPAN_LIT("{\"reported\":"), &r), -EBADMSG);
}

static void test_report_build(void)
{
    char buf[256];
    size_t len, need;
    struct azk_fota_report rep = {.status = AZK_FOTA_CURRENT, .current = "1"};
    CHECK_INT(azk_fota_report_build(&rep, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "{\"firmware\":{\"fwUpdateStatus\":\"current\","
                            "\"currentFwVersion\":\"1\"}}");
    rep = (struct azk_fota_report){.status = AZK_FOTA_DOWNLOADING, .current = "1",
                                   .pending = "2", .job_id = "j\"1", .has_progress = true,
                                   .downloaded = 2048, .total = 5000};
    CHECK_INT(azk_fota_report_build(&rep, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "{\"firmware\":{\"fwUpdateStatus\":\"downloading\","
                            "\"currentFwVersion\":\"1\",\"pendingFwVersion\":\"2\","
                            "\"jobId\":\"j\\\"1\",\"fwDownloadedBytes\":2048,"
                            "\"fwTotalBytes\":5000}}");
    CHECK_INT(azk_fota_report_build(&rep, NULL, 0, &need), -ENOBUFS);
    CHECK_INT(need, len);
    CHECK_INT(azk_fota_report_build(&rep, buf, 10, &need), -ENOBUFS);
    rep.status = AZK_FOTA_INVALID;
    CHECK_INT(azk_fota_report_build(&rep, buf, sizeof(buf), &len), -EINVAL);
    rep.status = AZK_FOTA_ERROR;
    rep.current = "\xff";
    CHECK_INT(azk_fota_report_build(&rep, buf, sizeof(buf), &len), -EINVAL);
    for (int s = AZK_FOTA_CURRENT; s <= AZK_FOTA_INVALID; s++)
        CHECK_INT(azk_fota_status_from_str(azk_fota_status_str(s)), s);
    CHECK_STR(azk_fota_status_str(AZK_FOTA_ROLLEDBACK), "rolledback");
    CHECK_INT(azk_fota_status_from_str(NULL), AZK_FOTA_INVALID);
}

int main(void)
{
    RUN_TEST(test_desired_sample);
    RUN_TEST(test_desired_variants);
    RUN_TEST(test_desired_not_fota);
    RUN_TEST(test_desired_bad);
    RUN_TEST(test_desired_limits);
    RUN_TEST(test_reported);
    RUN_TEST(test_report_build);
    TEST_MAIN_END();
}

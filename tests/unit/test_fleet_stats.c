/* The fleet's bounded statistics and messages (src/port/fleet_stats.c, fleet_payload.c):
 * histogram percentiles against exact ones, failure kinds, the "other" overflow, and payloads
 * of the exact size asked that stay valid JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "port/fleet_payload.h"
#include "port/fleet_stats.h"

/* Within the histogram's relative error (1/32) of `exact`, never above the maximum. */
static void near(double got_ms, double exact_ms, double max_ms)
{
    assert_true(got_ms >= exact_ms - 1e-9);
    assert_true(got_ms <= exact_ms * (1.0 + 1.0 / 32) + 0.001);
    assert_true(got_ms <= max_ms);
}

static void test_percentiles(void **state)
{
    (void)state;
    struct azki_hist *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    struct azk_fleet_latency l;
    azki_hist_summary(h, &l);
    assert_int_equal(l.count, 0);
    assert_true(l.p50_ms == 0 && l.max_ms == 0);
    /* 1..10000 µs: p50 = 5 ms, p90 = 9 ms, p99 = 9.9 ms, max = 10 ms. */
    for (uint64_t us = 1; us <= 10000; us++)
        azki_hist_add(h, us);
    azki_hist_summary(h, &l);
    assert_int_equal(l.count, 10000);
    near(l.p50_ms, 5.0, 10.0);
    near(l.p90_ms, 9.0, 10.0);
    near(l.p99_ms, 9.9, 10.0);
    assert_true(l.max_ms == 10.0);
    /* Small values are exact; huge ones land in the last bucket and the maximum is kept. */
    memset(h, 0, sizeof(*h));
    azki_hist_add(h, 7);
    azki_hist_add(h, UINT64_MAX / 2);
    azki_hist_summary(h, &l);
    assert_true(l.p50_ms == 0.007);
    assert_true(l.max_ms == (double)(UINT64_MAX / 2) / 1000.0);
    assert_true(l.p99_ms == l.max_ms);
    free(h);
}

static void kind_is(enum azk_client_failure f, int err, int code, const char *want)
{
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_FAILED, .failure = f, .err = err,
                                  .code = code};
    char k[24];
    azki_fleet_error_kind(&ev, k, sizeof(k));
    assert_string_equal(k, want);
}

static void test_error_kinds(void **state)
{
    (void)state;
    kind_is(AZK_CLIENT_F_TRANSPORT, -ECONNABORTED, 0, "tls-refused");
    kind_is(AZK_CLIENT_F_TRANSPORT, -ECONNREFUSED, 0, "connection-refused");
    kind_is(AZK_CLIENT_F_TRANSPORT, -ETIMEDOUT, 0, "timeout");
    kind_is(AZK_CLIENT_F_TRANSPORT, -EACCES, 0, "transport");
    kind_is(AZK_CLIENT_F_CONNACK, 0, 5, "connack-5");
    kind_is(AZK_CLIENT_F_DPS_ERROR, 0, 429, "dps-429");
    kind_is(AZK_CLIENT_F_DPS_UNAUTHORIZED, 0, 401002, "dps-unauthorized");
    kind_is(AZK_CLIENT_F_TIMEOUT, 0, 0, "timeout");

    struct azk_fleet_error_count list[AZK_FLEET_ERROR_KINDS];
    size_t n = 0;
    azki_fleet_count_error(list, &n, "timeout");
    azki_fleet_count_error(list, &n, "timeout");
    assert_int_equal(n, 1);
    assert_int_equal(list[0].count, 2);
    /* More kinds than fit: the rest are "other", and the list never overflows. */
    char k[24];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof(k), "connack-%d", i);
        azki_fleet_count_error(list, &n, k);
    }
    assert_int_equal(n, AZK_FLEET_ERROR_KINDS);
    assert_string_equal(list[AZK_FLEET_ERROR_KINDS - 1].kind, "other");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += list[i].count;
    assert_int_equal(total, 42);
}

static void test_payloads(void **state)
{
    (void)state;
    static char buf[4096];
    size_t len = azki_fleet_payload(0, "fleet-7", 3, buf, sizeof(buf));
    assert_int_equal(len, strlen("{\"device\":\"fleet-7\",\"n\":3}"));
    assert_memory_equal(buf, "{\"device\":\"fleet-7\",\"n\":3}", len);
    struct azk_fleet_opts o = {.count = 10, .messages = 50};
    size_t min = azk_fleet_payload_min(&o); /* fleet-9, n up to 50 */
    assert_int_equal(min, strlen("{\"device\":\"fleet-9\",\"n\":50,\"pad\":\"\"}"));
    size_t sizes[] = {min, min + 1, 512, 4000};
    for (size_t i = 0; i < 4; i++) {
        len = azki_fleet_payload(sizes[i], "fleet-9", 50, buf, sizeof(buf));
        assert_int_equal(len, sizes[i]);
        cJSON *j = cJSON_ParseWithLength(buf, len);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "device")->valuestring, "fleet-9");
        assert_int_equal(cJSON_GetObjectItem(j, "n")->valueint, 50);
        cJSON_Delete(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

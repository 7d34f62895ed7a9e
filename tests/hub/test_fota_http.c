/* The image server's header rules (src/hub/fota/fota_http.c), as RFC 9110 states them. */
#include <stdint.h>

#include "hub/fota/fota_http.h"
#include "support/test_util.h"

static void expect(const char *v, uint64_t total, enum hub_fota_range want, uint64_t f,
                   uint64_t l)
{
    uint64_t first = 99, last = 99;
    enum hub_fota_range k = hub_fota_range_parse(v, total, &first, &last);
    assert_int_equal(k, want);
    if (k == HUB_FOTA_RANGE_PARTIAL) {
        assert_int_equal(first, f);
        assert_int_equal(last, l);
    }
}

static void test_range(void **state)
{
    (void)state;
    expect(NULL, 100, HUB_FOTA_RANGE_FULL, 0, 0);
    expect("bytes=0-9", 100, HUB_FOTA_RANGE_PARTIAL, 0, 9);
    expect("Bytes = 10 - 19", 100, HUB_FOTA_RANGE_FULL, 0, 0); /* no space inside a range */
    expect(" bytes = 10-19 ", 100, HUB_FOTA_RANGE_PARTIAL, 10, 19);
    expect("BYTES=90-", 100, HUB_FOTA_RANGE_PARTIAL, 90, 99);
    expect("bytes=90-1000", 100, HUB_FOTA_RANGE_PARTIAL, 90, 99);
    expect("bytes=-10", 100, HUB_FOTA_RANGE_PARTIAL, 90, 99);
    expect("bytes=-1000", 100, HUB_FOTA_RANGE_PARTIAL, 0, 99);
    expect("bytes=-0", 100, HUB_FOTA_RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=100-", 100, HUB_FOTA_RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=100-200", 100, HUB_FOTA_RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=0-0", 0, HUB_FOTA_RANGE_UNSATISFIABLE, 0, 0);
    expect("bytes=9-5", 100, HUB_FOTA_RANGE_FULL, 0, 0);
    expect("bytes=0-1,5-9", 100, HUB_FOTA_RANGE_FULL, 0, 0);
    expect("items=0-9", 100, HUB_FOTA_RANGE_FULL, 0, 0);
    expect("bytes=x-9", 100, HUB_FOTA_RANGE_FULL, 0, 0);
    expect("bytes=99999999999999999999999-", 100, HUB_FOTA_RANGE_FULL, 0, 0);
}

static void test_etags(void **state)
{
    (void)state;
    const char *e = "\"abc\"";
    assert_true(hub_fota_etag_match("\"abc\"", e, true));
    assert_true(hub_fota_etag_match("\"x\", W/\"abc\"", e, true));
    assert_false(hub_fota_etag_match("\"x\", W/\"abc\"", e, false));
    assert_true(hub_fota_etag_match(" * ", e, true));
    assert_false(hub_fota_etag_match("\"abcd\"", e, true));
    assert_false(hub_fota_etag_match("abc", e, true));
    assert_false(hub_fota_etag_match("\"abc\" junk", e, true));
    assert_false(hub_fota_etag_match(NULL, e, true));
    assert_true(hub_fota_if_range_ok(NULL, e));
    assert_true(hub_fota_if_range_ok("\"abc\"", e));
    assert_false(hub_fota_if_range_ok("W/\"abc\"", e));
    assert_false(hub_fota_if_range_ok("Wed, 21 Oct 2015 07:28:00 GMT", e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_etags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* When the hub gives memory back (hub/mem_trim.h): only after a real crowd left or arrived,
 * never for the ordinary coming and going of a few devices. The trim itself is
 * exercised through the real hub in test_hub_storm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hub/mem_trim.h"

static void test_due(void **state)
{
    (void)state;
    /* (peak, base, open, admitting) */
    assert_int_equal(hub_mem_trim_due(0, 0, 0, 0), HUB_TRIM_NO);
    assert_int_equal(hub_mem_trim_due(100, 100, 0, 0), HUB_TRIM_NO);    /* fewer than 256 left */
    assert_int_equal(hub_mem_trim_due(255, 255, 0, 0), HUB_TRIM_NO);
    assert_int_equal(hub_mem_trim_due(256, 256, 0, 0), HUB_TRIM_LEFT);
    assert_int_equal(hub_mem_trim_due(400, 400, 10, 0), HUB_TRIM_LEFT);
    assert_int_equal(hub_mem_trim_due(10000, 10000, 9000, 0), HUB_TRIM_NO); /* only a tenth */
    assert_int_equal(hub_mem_trim_due(10000, 10000, 7500, 0), HUB_TRIM_LEFT); /* a quarter */
    assert_int_equal(hub_mem_trim_due(10000, 10000, 7501, 0), HUB_TRIM_NO);
    /* Arrivals: 256 more than at the last trim, and only once no handshake is running. */
    assert_int_equal(hub_mem_trim_due(300, 0, 300, 0), HUB_TRIM_ARRIVED);
    assert_int_equal(hub_mem_trim_due(300, 0, 300, 8), HUB_TRIM_NO);
    assert_int_equal(hub_mem_trim_due(300, 100, 300, 0), HUB_TRIM_NO); /* only 200 more */
    assert_int_equal(hub_mem_trim_due(600, 0, 600, 0), HUB_TRIM_ARRIVED);
    /* Leaving wins when both hold (the log says which). */
    assert_int_equal(hub_mem_trim_due(2000, 0, 1000, 0), HUB_TRIM_LEFT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_due)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

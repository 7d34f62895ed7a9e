/* When the hub gives memory back after connections left (hub/mem_trim.h): only after a real
 * crowd left, never for the ordinary coming and going of a few devices. The trim itself is
 * exercised through the real hub in test_hub_storm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hub/mem_trim.h"

static void test_due(void **state)
{
    (void)state;
    assert_false(hub_mem_trim_due(0, 0));
    assert_false(hub_mem_trim_due(100, 0));       /* fewer than 256 left */
    assert_false(hub_mem_trim_due(255, 0));
    assert_true(hub_mem_trim_due(256, 0));
    assert_true(hub_mem_trim_due(400, 10));
    assert_false(hub_mem_trim_due(10000, 9000));  /* 1,000 left but only a tenth */
    assert_true(hub_mem_trim_due(10000, 7500));   /* a quarter */
    assert_false(hub_mem_trim_due(10000, 7501));
    assert_false(hub_mem_trim_due(500, 600));     /* more than the peak: nothing to do */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_due)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Spans: the core's input type. */
#include "azkit/core.h"
#include "core_test.h"

static void test_span_basics(void)
{
    struct azk_span a = AZK_SPAN_LIT("abc");
    CHECK_INT(a.len, 3);
    CHECK(azk_span_eq_str(a, "abc"));
    CHECK(!azk_span_eq_str(a, "abcd"));
    CHECK(azk_span_eq(azk_span_from_str(NULL), AZK_SPAN_LIT("")));
    CHECK_STR(azk_core_version(), "0.1.0");
}

int main(void)
{
    RUN_TEST(test_span_basics);
    TEST_MAIN_END();
}

/* Consumer groups of the Event Hubs-compatible endpoint: names, add/remove, what is kept in
 * <data>/consumer-groups.json (0600) across a reload, serve-option groups not kept, bad files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/amqp/eh_groups.h"
#include "support/test_util.h"

static void test_names(void **state)
{
    (void)state;
    assert_null(hub_eh_group_name_problem("analytics"));
    assert_null(hub_eh_group_name_problem("a.b_c-1"));
    assert_null(hub_eh_group_name_problem("01234567890123456789012345678901234567890123456789"));
    static const char *const bad[] = {NULL, "", "-a", "a-", "a/b", "$Default", "a b", "a%b",
                                      "012345678901234567890123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_non_null(hub_eh_group_name_problem(bad[i]));
}

static void test_add_remove_persist(void **state)
{
    (void)state;
    char dir[512];
    azk_test_mkdtemp(dir);
    struct hub_eh_groups gs;
    assert_int_equal(hub_eh_groups_load(&gs, dir), 0); /* no file yet */
    assert_true(hub_eh_groups_has(&gs, "$Default"));
    assert_true(hub_eh_groups_has(&gs, "$default"));
    assert_false(hub_eh_groups_has(&gs, "reports"));
    assert_int_equal(hub_eh_groups_add(&gs, "option", false), 0);
    assert_int_equal(hub_eh_groups_add(&gs, "reports", true), 0);
    assert_int_equal(hub_eh_groups_add(&gs, "REPORTS", true), -EEXIST);
    assert_int_equal(hub_eh_groups_add(&gs, "bad/name", true), -EINVAL);
    assert_true(hub_eh_groups_has(&gs, "Reports"));
    assert_int_equal(azk_test_mode(azk_path(dir, "consumer-groups.json")), 0600);
    assert_int_equal(hub_eh_groups_remove(&gs, "$Default"), -EPERM);
    assert_int_equal(hub_eh_groups_remove(&gs, "option"), -EPERM);
    assert_int_equal(hub_eh_groups_remove(&gs, "nope"), -ENOENT);
    assert_int_equal(hub_eh_groups_add(&gs, "second", true), 0);
    /* Reloaded: the created ones, not the serve option. */
    assert_int_equal(hub_eh_groups_load(&gs, dir), 0);
    assert_int_equal(gs.n, 2);
    assert_true(hub_eh_groups_has(&gs, "reports") && hub_eh_groups_has(&gs, "second"));
    assert_false(hub_eh_groups_has(&gs, "option"));
    assert_int_equal(hub_eh_groups_remove(&gs, "reports"), 0);
    assert_int_equal(hub_eh_groups_load(&gs, dir), 0);
    assert_int_equal(gs.n, 1);
    assert_string_equal(gs.g[0].name, "second");
    /* Full. */
    for (int i = 0; gs.n < HUB_EH_GROUPS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "g%d", i);
        assert_int_equal(hub_eh_groups_add(&gs, name, false), 0);
    }
    assert_int_equal(hub_eh_groups_add(&gs, "onemore", true), -ENOSPC);
    /* Bad files: refused, nothing loaded. */
    static const char *const bad[] = {"{}", "[1]", "[\"a/b\"]", "not json", "[\"ok\",null]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        azk_test_write(azk_path(dir, "consumer-groups.json"), bad[i], strlen(bad[i]));
        assert_int_equal(hub_eh_groups_load(&gs, dir), -EILSEQ);
        assert_int_equal(gs.n, 0);
    }
    azk_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_add_remove_persist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

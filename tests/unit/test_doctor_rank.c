/*
 * The doctor's clock check and its ranked summary (azkit/doctor.h), in-process: a clock that
 * reads before azkit existed is a failure ranked first; the ranking puts causes before
 * warnings before connection results, and orders each group as a device meets the problems.
 */
#include <stdio.h>
#include <string.h>

#include "azkit/doctor.h"
#include "support/test_util.h"

static const struct azk_check *find(const struct azk_doctor_report *r, const char *id)
{
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->checks[i].id, id) == 0)
            return &r->checks[i];
    return NULL;
}

static void test_clock(void **state)
{
    (void)state;
    char dir[512];
    azk_test_mkdtemp(dir);
    struct azk_credstore *st;
    assert_int_equal(azk_credstore_open_dir(dir, &st, NULL), 0);
    azk_sec_tag_t tags[] = {10};
    struct azk_doctor_opts o = {.store = st, .tags = tags, .ntags = 1, .now = 1577836800};
    struct azk_doctor_report r;
    assert_int_equal(azk_doctor_check_store(&o, &r), 0);
    const struct azk_check *c = find(&r, "clock");
    assert_non_null(c);
    assert_int_equal(c->status, AZK_CHECK_FAIL);
    assert_non_null(strstr(c->message, "2020-01-01 00:00:00 UTC"));
    assert_non_null(strstr(c->fix, "timedatectl"));
    size_t idx[AZK_DOCTOR_MAX_CHECKS];
    size_t n = azk_doctor_ranked(&r, idx, AZK_DOCTOR_MAX_CHECKS);
    assert_true(n >= 2); /* the clock, and the empty store's missing CA and certificate */
    assert_string_equal(r.checks[idx[0]].id, "clock");
    /* A plausible clock says nothing. */
    o.now = 0;
    assert_int_equal(azk_doctor_check_store(&o, &r), 0);
    assert_null(find(&r, "clock"));
    azk_credstore_close(st);
    azk_test_rmrf(dir);
}

static void add(struct azk_doctor_report *r, const char *id, enum azk_check_status s)
{
    azk_doctor_add(r, id, s, "fix it", "%s", id);
}

static void test_ranking(void **state)
{
    (void)state;
    struct azk_doctor_report r;
    memset(&r, 0, sizeof(r));
    /* In report order; the ranking must reorder them. */
    add(&r, "connect.dps", AZK_CHECK_FAIL);
    add(&r, "client.id", AZK_CHECK_FAIL);
    add(&r, "client.chain", AZK_CHECK_WARN);
    add(&r, "tags.azure-root", AZK_CHECK_FAIL);
    add(&r, "client.cert", AZK_CHECK_OK);
    add(&r, "online.tls", AZK_CHECK_FAIL);
    add(&r, "tags.count", AZK_CHECK_WARN);
    add(&r, "some.new-check", AZK_CHECK_INFO);
    add(&r, "online.dns", AZK_CHECK_FAIL);
    size_t idx[AZK_DOCTOR_MAX_CHECKS];
    size_t n = azk_doctor_ranked(&r, idx, AZK_DOCTOR_MAX_CHECKS);
    const char *want[] = {"online.dns", "tags.azure-root", "client.id", /* causes */
                          "tags.count", "client.chain",                 /* warnings */
                          "online.tls", "connect.dps"};                 /* results */
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(r.checks[idx[i]].id, want[i]);
    /* A short array gets the first ones; nothing at all for a clean report. */
    assert_int_equal(azk_doctor_ranked(&r, idx, 2), 2);
    assert_string_equal(r.checks[idx[1]].id, "tags.azure-root");
    memset(&r, 0, sizeof(r));
    add(&r, "client.cert", AZK_CHECK_OK);
    assert_int_equal(azk_doctor_ranked(&r, idx, AZK_DOCTOR_MAX_CHECKS), 0);
    assert_int_equal(azk_doctor_ranked(NULL, idx, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_ranking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

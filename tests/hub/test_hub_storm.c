/*
 * A connection storm through DPS: hundreds of devices started at once by `azkit fleet` (one
 * certificate each, issued by an enrolled intermediate) against a real azkit-hub whose accept
 * pacing is made to engage (--max-handshakes 8). Every device must register, connect and get
 * its message acknowledged; the hub must have paced its accepts (said so in its log) and must
 * not have timed out a single handshake or CONNECT. Counted, never timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "support/test_util.h"

#define STORM_DEVICES "400"
#define STORM_COUNT 400

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32], g_dps[300];

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_make_cert(g_dir, AZK_PKI_ROOT, "Storm Root", "root", NULL, NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_INTERMEDIATE, "Storm Intermediate", "inter", "root", NULL,
                       NULL);
    test_hub_init(&hub);
    const char *extra[] = {"--dps-retry-after", "1", "--max-handshakes", "8", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps, sizeof(g_dps));
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "storm-group", "--cert",
                                test_pem_path(g_dir, "inter", "cert"), NULL));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

static int num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", name);
    return v->valueint;
}

static void test_storm_through_dps(void **state)
{
    (void)state;
    char issuer[700];
    snprintf(issuer, sizeof(issuer), "%s/inter", g_dir);
    const char *argv[] = {"--json", "fleet", "--id-scope", g_scope, "--dps-host", g_dps,
                          "--trust", hub.ca, "--issuer", issuer, "--count", STORM_DEVICES,
                          "--rate", "100000", "--messages", "1", "--prefix", "storm-", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    /* Progress lines, then the summary on the last line. */
    const char *last = r.out, *nl;
    while ((nl = strchr(last, '\n')) != NULL && nl[1] != '\0')
        last = nl + 1;
    cJSON *j = cJSON_Parse(last);
    if (j == NULL || !cJSON_IsString(cJSON_GetObjectItem(j, "event")) ||
        strcmp(cJSON_GetObjectItem(j, "event")->valuestring, "summary") != 0)
        fail_msg("fleet: no JSON summary on the last line:\n%s\n%s", r.out, r.err);
    const cJSON *first = cJSON_GetObjectItem(j, "firstFailure");
    if (num(j, "failed") != 0)
        fail_msg("%d of %d devices failed; the first: %s", num(j, "failed"), STORM_COUNT,
                 cJSON_IsString(first) ? first->valuestring : "?");
    assert_int_equal(r.status, 0);
    assert_int_equal(num(j, "registered"), STORM_COUNT);
    assert_int_equal(num(j, "connected"), STORM_COUNT);
    assert_int_equal(num(j, "acked"), STORM_COUNT);
    cJSON_Delete(j);
    azk_run_free(&r);

    /* The hub paced its accepts, and refused nobody for being slow itself. */
    assert_true(test_hub_log_contains(&hub, "busy: 8 connections in the TLS handshake"));
    assert_true(test_hub_log_contains(&hub, "no longer busy"));
    assert_false(test_hub_log_contains(&hub, "TLS handshake not finished"));
    assert_false(test_hub_log_contains(&hub, "no CONNECT within"));
    /* It is still serving: one more device after the storm. */
    const char *again[] = {"--json", "fleet", "--id-scope", g_scope, "--dps-host", g_dps,
                           "--trust", hub.ca, "--issuer", issuer, "--count", "1",
                           "--prefix", "after-storm-", NULL};
    azk_run(&r, NULL, again);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_through_dps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

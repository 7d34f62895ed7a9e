/*
 * The real azkit CLI (`--store nrf91:PTY`) against `azkit modem-sim` behaving as awkward modems
 * do: unsolicited result codes between and inside answers with echo on, a slow modem, a modem
 * that stops answering (a clear error naming the command, no hang), and a simulator whose
 * credentials persist in a directory across restarts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/modem_sim_util.h"
#include "support/test_util.h"

static char g_dir[512];
static struct azk_sim g_sim;

static void cred(struct azk_run *r, const char *spec, ...)
{
    const char *prefix[] = {"--store", spec, NULL};
    va_list ap;
    va_start(ap, spec);
    azk_run_vlist(r, NULL, prefix, ap);
    va_end(ap);
}

static void must(struct azk_run *r)
{
    if (r->status != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", r->status, r->out, r->err);
}

/* provision, list (three credentials, the firmware), digest (as listed) and read of tag 10
 * through `spec` (the modem offline): the same results whatever the line does. */
static void provision_and_check(const char *spec)
{
    struct azk_run r;
    cred(&r, spec, "cred", "provision", "--sec-tag", "10", "--cert",
         azk_path(g_dir, "dev-1.chain.pem"), "--key", azk_path(g_dir, "dev-1.key.pem"), "--ca",
         azk_path(g_dir, "root.cert.pem"), NULL);
    must(&r);
    azk_run_free(&r);
    cred(&r, spec, "--json", "cred", "list", NULL);
    must(&r);
    cJSON *j = azk_run_json(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "firmware")->valuestring, "mfw_nrf9160_1.3.5");
    cJSON *arr = cJSON_GetObjectItem(j, "credentials");
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    char want[65];
    snprintf(want, sizeof(want), "%s",
             cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "sha256")->valuestring);
    assert_int_equal(strlen(want), 64);
    cJSON_Delete(j);
    azk_run_free(&r);
    char *ca = azk_test_read(azk_path(g_dir, "root.cert.pem"), NULL);
    cred(&r, spec, "cred", "digest", "10", "ca", NULL);
    must(&r);
    assert_int_equal(strncmp(r.out, want, 64), 0);
    azk_run_free(&r);
    cred(&r, spec, "cred", "read", "10", "ca", NULL);
    must(&r);
    assert_non_null(strstr(ca, r.out));
    free(ca);
    azk_run_free(&r);
}

/* Echo on, and a +CEREG URC inside every second answer (after a %CMNG list's lines, before its
 * OK) and, in a second modem, before every answer. */
static void test_urcs_with_echo(void **state)
{
    (void)state;
    const char *within[] = {"--echo", "--urc", "+CEREG: 5,\"0A0B\",\"01020304\",7",
                            "--urc-within", "--urc-every", "2", NULL};
    azk_sim_start(&g_sim, g_dir, within);
    provision_and_check(g_sim.spec);
    azk_sim_stop(&g_sim);
    const char *between[] = {"--echo", "--urc", "%XTEMP: 2,56", NULL};
    azk_sim_start(&g_sim, g_dir, between);
    provision_and_check(g_sim.spec);
    azk_sim_stop(&g_sim);
}

/* Every answer 150 ms late: everything still works (azkit waits up to timeout=). */
static void test_slow_modem(void **state)
{
    (void)state;
    const char *slow[] = {"--delay-ms", "150", NULL};
    azk_sim_start(&g_sim, g_dir, slow);
    provision_and_check(g_sim.spec);
    azk_sim_stop(&g_sim);
}

/* A modem that stops answering after a few commands: exit status 1 and an error that names
 * the command left without an answer, once timeout= has passed. */
static void test_modem_stops_answering(void **state)
{
    (void)state;
    char spec[800];
    /* AT, AT+CMEE=1, AT+CGMR answered; the list is not. */
    const char *three[] = {"--silent-after", "3", NULL};
    azk_sim_start(&g_sim, g_dir, three);
    snprintf(spec, sizeof(spec), "%s,timeout=1", g_sim.spec);
    struct azk_run r;
    cred(&r, spec, "cred", "list", NULL);
    assert_int_equal(r.status, 1);
    if (strstr(r.err, "no answer to AT%CMNG=1 within 1 s") == NULL)
        fail_msg("%s", r.err);
    azk_run_free(&r);
    azk_sim_stop(&g_sim);
    /* ... +CFUN? and the write answered, the digest listing after it not: written, but said. */
    const char *five[] = {"--silent-after", "5", NULL};
    azk_sim_start(&g_sim, g_dir, five);
    snprintf(spec, sizeof(spec), "%s,timeout=1", g_sim.spec);
    cred(&r, spec, "cred", "write", "10", "ca", azk_path(g_dir, "root.cert.pem"), NULL);
    assert_int_equal(r.status, 1);
    if (strstr(r.err, "was written, but its digest could not be read back") == NULL ||
        strstr(r.err, "no answer to AT%CMNG=1,10,0 within 1 s") == NULL)
        fail_msg("%s", r.err);
    azk_run_free(&r);
    azk_sim_stop(&g_sim);
}

/* --dir: what was written (and a key made by %KEYGEN) is still there after a restart; files
 * 0600 in a 0700 directory; a directory that cannot be one is refused. */
static void test_dir_persists(void **state)
{
    (void)state;
    char nvm[600];
    snprintf(nvm, sizeof(nvm), "%s/nvm", g_dir);
    const char *args[] = {"--dir", nvm, NULL};
    azk_sim_start(&g_sim, g_dir, args);
    char spec[800];
    snprintf(spec, sizeof(spec), "%s", g_sim.spec);
    struct azk_run r;
    cred(&r, spec, "cred", "write", "10", "ca", azk_path(g_dir, "root.cert.pem"), NULL);
    must(&r);
    azk_run_free(&r);
    cred(&r, spec, "cred", "keygen", "11", "--cn", "persist-1", "--out",
         azk_path(g_dir, "persist-1.csr.pem"), NULL);
    must(&r);
    azk_run_free(&r);
    cred(&r, spec, "cred", "digest", "10", "ca", NULL);
    must(&r);
    char before[65];
    snprintf(before, sizeof(before), "%.64s", r.out);
    azk_run_free(&r);
    azk_sim_stop(&g_sim);
    assert_int_equal(azk_test_mode(nvm), 0700);
    assert_int_equal(azk_test_mode(azk_path(nvm, "10-0")), 0600);
    assert_int_equal(azk_test_mode(azk_path(nvm, "11-2")), 0600);

    azk_sim_start(&g_sim, g_dir, args);
    cred(&r, g_sim.spec, "--json", "cred", "list", NULL);
    must(&r);
    cJSON *j = azk_run_json(&r);
    cJSON *arr = cJSON_GetObjectItem(j, "credentials");
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "sha256")->valuestring,
                        before);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "type")->valueint, 2);
    cJSON_Delete(j);
    azk_run_free(&r);
    /* Deleted stays deleted. */
    char offline[800];
    snprintf(offline, sizeof(offline), "%s", g_sim.spec);
    cred(&r, offline, "cred", "delete", "10", "ca", NULL);
    must(&r);
    azk_run_free(&r);
    azk_sim_stop(&g_sim);
    assert_false(azk_test_exists(azk_path(nvm, "10-0")));
    azk_sim_start(&g_sim, g_dir, args);
    cred(&r, g_sim.spec, "cred", "exists", "10", "ca", NULL);
    assert_int_equal(r.status, 1);
    azk_run_free(&r);
    azk_sim_stop(&g_sim);

    /* A file where the directory should be: refused at start, with the reason. */
    const char *file = azk_path(g_dir, "root.cert.pem");
    const char *bad[] = {"modem-sim", "--dir", file, NULL};
    azk_run(&r, NULL, bad);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "--dir"));
    assert_non_null(strstr(r.err, "Not a directory"));
    azk_run_free(&r);
}

/* Bad values for the new options: a usage error. */
static void test_bad_option_values(void **state)
{
    (void)state;
    const char *bad[][3] = {{"--urc-every", "0"}, {"--delay-ms", "-1"}, {"--delay-ms", "x"},
                            {"--silent-after", "0"}, {"--imei", "35265a"}, {"--firmware", ""}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"modem-sim", bad[i][0], bad[i][1], NULL};
        struct azk_run r;
        azk_run(&r, NULL, argv);
        if (r.status != 2 || strstr(r.err, "usage: azkit-modem-sim") == NULL)
            fail_msg("%s %s: exit %d: %s", bad[i][0], bad[i][1], r.status, r.err);
        azk_run_free(&r);
    }
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    azk_test_make_pki(g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    azk_sim_stop(&g_sim);
    azk_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urcs_with_echo),
        cmocka_unit_test(test_slow_modem),
        cmocka_unit_test(test_modem_stops_answering),
        cmocka_unit_test(test_dir_persists),
        cmocka_unit_test(test_bad_option_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

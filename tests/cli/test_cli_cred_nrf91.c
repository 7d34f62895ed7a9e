/*
 * `azkit --store nrf91:DEVICE cred ...`: the modem backend over a serial line, against the
 * nRF91 modem simulator on a pseudo-terminal (`azkit modem-sim`, src/modem_sim/modem_sim.c). The same commands as
 * the directory store give the same digests (the modem hashes the exact bytes sent), keys are
 * never read back, writes go offline first, and the modem's refusals arrive as clear errors.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/modem_sim_util.h"
#include "support/test_util.h"

static char g_dir[512];
static char g_spec[700];
static char g_log[600];
static struct azk_sim g_sim;

/* Starts the simulator with up to four extra arguments (NULL ends them). */
static void sim_start4(const char *a, const char *b, const char *c, const char *e)
{
    const char *extra[] = {a, b, c, e, NULL};
    azk_sim_start(&g_sim, g_dir, extra);
    snprintf(g_spec, sizeof(g_spec), "%s", g_sim.spec);
    snprintf(g_log, sizeof(g_log), "%s", g_sim.log);
}

static void sim_start(const char *extra)
{
    sim_start4(extra, NULL, NULL, NULL);
}

static void sim_stop(void)
{
    azk_sim_stop(&g_sim);
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
    sim_stop();
    azk_test_rmrf(g_dir);
    return 0;
}

/* `azkit --store SPEC ARGS...` */
static void cred(struct azk_run *r, const char *spec, ...)
{
    const char *prefix[] = {"--store", spec, NULL};
    va_list ap;
    va_start(ap, spec);
    azk_run_vlist(r, NULL, prefix, ap);
    va_end(ap);
}

static bool log_has(const char *text)
{
    char *log = azk_test_read(g_log, NULL);
    bool found = strstr(log, text) != NULL;
    free(log);
    return found;
}

/* The last `AT+CFUN=<n>` the modem was sent, or "" when none. */
static void last_cfun(char *out, size_t size)
{
    char *log = azk_test_read(g_log, NULL);
    const char *last = NULL;
    for (const char *p = log; (p = strstr(p, "AT+CFUN=")) != NULL; p++)
        last = p;
    out[0] = '\0';
    if (last != NULL)
        snprintf(out, size, "%.*s", (int)strcspn(last, "\n"), last);
    free(log);
}

/* A private key read (AT%CMNG=2,<tag>,2) anywhere in the log. */
static bool log_has_key_read(void)
{
    char *log = azk_test_read(g_log, NULL);
    bool found = false;
    for (const char *p = log; !found && (p = strstr(p, "AT%CMNG=2,")) != NULL; p++) {
        const char *comma = strchr(p + 10, ',');
        found = comma != NULL && comma[1] == '2' && (comma[2] == '\n' || comma[2] == '\0');
    }
    free(log);
    return found;
}

/* Provision, list, digest, read, delete: as on the directory store. */
static void test_provision_and_read(void **state)
{
    (void)state;
    sim_start(NULL);
    const char *chain = azk_path(g_dir, "dev-1.chain.pem"), *key = azk_path(g_dir, "dev-1.key.pem"),
               *ca = azk_path(g_dir, "root.cert.pem");
    char dirstore[600];
    snprintf(dirstore, sizeof(dirstore), "%s/dirstore", g_dir);
    struct azk_run r, d;
    cred(&r, g_spec, "cred", "provision", "--sec-tag", "10", "--cert", chain, "--key", key,
         "--ca", ca, NULL);
    if (r.status != 0)
        fail_msg("provision: %s\n%s", r.out, r.err);
    azk_run_free(&r);
    cred(&d, dirstore, "cred", "provision", "--sec-tag", "10", "--cert", chain, "--key", key,
         "--ca", ca, NULL);
    assert_int_equal(d.status, 0);
    azk_run_free(&d);
    /* What went over the line: the mode asked (the simulator starts offline: nothing to
     * switch), LF line endings inside the quotes. */
    assert_true(log_has("AT+CFUN?"));
    assert_false(log_has("AT+CFUN="));
    assert_true(log_has("AT%CMNG=0,10,0,\"-----BEGIN CERTIFICATE-----\\n"));
    assert_false(log_has("\\r\\n-----END"));

    /* The listing: the modem's digests equal the directory store's; modem tags left out. */
    cred(&r, g_spec, "--json", "cred", "list", NULL);
    cred(&d, dirstore, "--json", "cred", "list", NULL);
    assert_int_equal(r.status, 0);
    cJSON *jm = cJSON_Parse(r.out), *jd = cJSON_Parse(d.out);
    assert_non_null(jm);
    assert_non_null(jd);
    char *sm = cJSON_PrintUnformatted(cJSON_GetObjectItem(jm, "credentials"));
    assert_null(strstr(sm, "4294967292"));
    for (int type = 0; type < 3; type++) {
        struct azk_run a, b;
        char t[4];
        snprintf(t, sizeof(t), "%d", type);
        cred(&a, g_spec, "cred", "digest", "10", t, NULL);
        cred(&b, dirstore, "cred", "digest", "10", t, NULL);
        assert_int_equal(a.status, 0);
        assert_string_equal(a.out, b.out);
        azk_run_free(&a);
        azk_run_free(&b);
    }
    free(sm);
    cJSON_Delete(jm);
    cJSON_Delete(jd);
    azk_run_free(&r);
    azk_run_free(&d);

    /* Reading back: certificates yes (the same bytes), the key never. */
    cred(&r, g_spec, "cred", "read", "10", "ca", NULL);
    cred(&d, dirstore, "cred", "read", "10", "ca", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, d.out);
    azk_run_free(&r);
    azk_run_free(&d);
    cred(&r, g_spec, "cred", "read", "10", "key", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "private keys cannot be read back"));
    azk_run_free(&r);

    /* Delete, and it is gone. */
    cred(&r, g_spec, "cred", "delete", "10", "ca", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    cred(&r, g_spec, "cred", "exists", "10", "ca", NULL);
    assert_int_equal(r.status, 1); /* exit 1: it does not exist */
    azk_run_free(&r);
    sim_stop();
}

/* A modem that is online: refused with the reason and the fix, nothing written; with
 * offline=ok taken offline for the write and put back (+CFUN=1) when done. */
static void test_online_modem(void **state)
{
    (void)state;
    sim_start("--online");
    const char *ca = azk_path(g_dir, "root.cert.pem");
    char spec[800], cfun[64];
    struct azk_run r;
    cred(&r, g_spec, "cred", "write", "20", "ca", ca, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "the modem is online (+CFUN: 1)"));
    assert_non_null(strstr(r.err, "offline=ok"));
    azk_run_free(&r);
    assert_true(log_has("AT+CFUN?"));
    assert_false(log_has("AT+CFUN=4"));
    assert_false(log_has("AT%CMNG=0,20"));
    cred(&r, g_spec, "cred", "delete", "20", "ca", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "offline=ok"));
    azk_run_free(&r);
    assert_false(log_has("AT%CMNG=3,20"));

    snprintf(spec, sizeof(spec), "%s,offline=ok", g_spec);
    cred(&r, spec, "cred", "write", "20", "ca", ca, NULL);
    if (r.status != 0)
        fail_msg("%s\n%s", r.out, r.err);
    azk_run_free(&r);
    assert_true(log_has("AT+CFUN=4\nAT%CMNG=0,20,0,"));
    last_cfun(cfun, sizeof(cfun));
    assert_string_equal(cfun, "AT+CFUN=1");
    /* Online again: a write without permission is refused again; reading needs no change. */
    cred(&r, g_spec, "cred", "write", "20", "ca", ca, NULL);
    assert_int_equal(r.status, 1);
    azk_run_free(&r);
    cred(&r, g_spec, "cred", "exists", "20", "ca", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    last_cfun(cfun, sizeof(cfun));
    assert_string_equal(cfun, "AT+CFUN=1");
    sim_stop();
}

/* A write that fails midway (the modem's memory full on the second credential of a
 * provision): the error names the CME code, and the modem is still put back online. */
static void test_restore_after_failure(void **state)
{
    (void)state;
    sim_start4("--online", "--fail-write", "2", NULL);
    char spec[800], cfun[64];
    snprintf(spec, sizeof(spec), "%s,offline=ok", g_spec);
    struct azk_run r;
    cred(&r, spec, "cred", "provision", "--sec-tag", "10", "--cert",
         azk_path(g_dir, "dev-1.chain.pem"), "--key", azk_path(g_dir, "dev-1.key.pem"), "--ca",
         azk_path(g_dir, "root.cert.pem"), NULL);
    assert_int_equal(r.status, 1);
    if (strstr(r.err, "+CME ERROR: 515, memory full") == NULL)
        fail_msg("%s\n%s", r.out, r.err);
    azk_run_free(&r);
    assert_true(log_has("AT+CFUN=4"));
    last_cfun(cfun, sizeof(cfun));
    assert_string_equal(cfun, "AT+CFUN=1");
    assert_false(log_has_key_read());
    sim_stop();
}

/* Items of types beyond 4 (newer firmware: identity and endorsement keys, ...) are listed by
 * number with the modem's digest; the firmware revision is shown. */
static void test_types_beyond_4(void **state)
{
    (void)state;
    sim_start4("--preload", "20,7", "--preload", "21,13");
    struct azk_run r;
    cred(&r, g_spec, "--json", "cred", "list", NULL);
    if (r.status != 0)
        fail_msg("%s\n%s", r.out, r.err);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "firmware")->valuestring, "mfw_nrf9160_1.3.5");
    cJSON *arr = cJSON_GetObjectItem(j, "credentials");
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    cJSON *first = cJSON_GetArrayItem(arr, 0), *second = cJSON_GetArrayItem(arr, 1);
    assert_int_equal(cJSON_GetObjectItem(first, "sec_tag")->valueint, 20);
    assert_int_equal(cJSON_GetObjectItem(first, "type")->valueint, 7);
    assert_int_equal(strlen(cJSON_GetObjectItem(first, "sha256")->valuestring), 64);
    assert_int_equal(cJSON_GetObjectItem(second, "type")->valueint, 13);
    cJSON_Delete(j);
    azk_run_free(&r);
    cred(&r, g_spec, "cred", "list", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "firmware mfw_nrf9160_1.3.5"));
    assert_non_null(strstr(r.out, "\n20         7 "));
    assert_non_null(strstr(r.out, "\n21         13 "));
    azk_run_free(&r);
    sim_stop();
}

/* Keys are checked by the modem's digest listing: provision, list, read, cmp and the doctor
 * never send a private-key read. */
static void test_no_key_read(void **state)
{
    (void)state;
    sim_start(NULL);
    const char *key = azk_path(g_dir, "dev-1.key.pem");
    struct azk_run r;
    cred(&r, g_spec, "cred", "provision", "--sec-tag", "10", "--cert",
         azk_path(g_dir, "dev-1.chain.pem"), "--key", key, "--ca",
         azk_path(g_dir, "root.cert.pem"), NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    /* Provisioning the same again: compared by digest, not by reading. */
    cred(&r, g_spec, "cred", "provision", "--sec-tag", "10", "--cert",
         azk_path(g_dir, "dev-1.chain.pem"), "--key", key, "--ca",
         azk_path(g_dir, "root.cert.pem"), NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    cred(&r, g_spec, "cred", "list", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    cred(&r, g_spec, "cred", "read", "10", "key", NULL);
    assert_int_equal(r.status, 1);
    azk_run_free(&r);
    cred(&r, g_spec, "cred", "cmp", "10", "key", key, NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    cred(&r, g_spec, "doctor", "--sec-tag", "10", "--offline", NULL);
    azk_run_free(&r);
    assert_true(log_has("AT%CMNG=1,10,2"));
    assert_false(log_has_key_read());
    sim_stop();
}

/* CME errors on paths the CLI takes: deleting what is not there (513). */
static void test_cme_errors(void **state)
{
    (void)state;
    sim_start(NULL);
    struct azk_run r;
    cred(&r, g_spec, "cred", "delete", "77", "ca", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot delete sec_tag 77 type 0"));
    azk_run_free(&r);
    assert_true(log_has("AT%CMNG=3,77,0"));
    sim_stop();
}

/* A modem that echoes commands (ATE1) and interleaves unsolicited result codes with its
 * answers: provision, list, digest and read work the same. */
static void test_echo_and_urcs(void **state)
{
    (void)state;
    sim_start4("--echo", "--urc", "+CEREG: 5,\"0A0B\",\"01020304\",7", "--online");
    char spec[800];
    snprintf(spec, sizeof(spec), "%s,offline=ok", g_spec);
    struct azk_run r;
    cred(&r, spec, "cred", "provision", "--sec-tag", "10", "--cert",
         azk_path(g_dir, "dev-1.chain.pem"), "--key", azk_path(g_dir, "dev-1.key.pem"), "--ca",
         azk_path(g_dir, "root.cert.pem"), NULL);
    if (r.status != 0)
        fail_msg("%s\n%s", r.out, r.err);
    azk_run_free(&r);
    cred(&r, g_spec, "--json", "cred", "list", NULL);
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "firmware")->valuestring, "mfw_nrf9160_1.3.5");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "credentials")), 3);
    cJSON_Delete(j);
    azk_run_free(&r);
    char *ca = azk_test_read(azk_path(g_dir, "root.cert.pem"), NULL);
    cred(&r, g_spec, "cred", "read", "10", "ca", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(ca, r.out));
    free(ca);
    azk_run_free(&r);
    sim_stop();
}

/* A modem that never answers: a clear error once the timeout= has passed. */
static void test_silent_modem(void **state)
{
    (void)state;
    sim_start("--silent");
    char spec[800];
    snprintf(spec, sizeof(spec), "%s,timeout=1", g_spec);
    struct azk_run r;
    cred(&r, spec, "cred", "list", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "does not answer AT commands (no answer)"));
    assert_non_null(strstr(r.err, "eol="));
    azk_run_free(&r);
    sim_stop();
}

/* Serial options: command termination, flow control, timeout; a bad value is refused. */
static void test_serial_options(void **state)
{
    (void)state;
    sim_start(NULL);
    const char *ca = azk_path(g_dir, "root.cert.pem");
    const char *variants[] = {",eol=cr", ",eol=lf", ",eol=crlf,flow=rtscts,timeout=30",
                              ",flow=none,baud=115200"};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        char spec[800];
        snprintf(spec, sizeof(spec), "%s%s", g_spec, variants[i]);
        struct azk_run r;
        cred(&r, spec, "cred", "write", "40", "ca", ca, NULL);
        if (r.status != 0)
            fail_msg("%s: %s\n%s", variants[i], r.out, r.err);
        azk_run_free(&r);
    }
    const char *bad[] = {",eol=crcr", ",flow=xon", ",timeout=0", ",timeout=x", ",offline=yes",
                         ",baud="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[800];
        snprintf(spec, sizeof(spec), "%s%s", g_spec, bad[i]);
        struct azk_run r;
        cred(&r, spec, "cred", "list", NULL);
        assert_int_equal(r.status, 1);
        if (strstr(r.err, "unknown or malformed store option") == NULL)
            fail_msg("%s: %s", bad[i], r.err);
        azk_run_free(&r);
    }
    sim_stop();
}

/* A credential too large for one AT command is refused before anything is sent. */
static void test_too_large(void **state)
{
    (void)state;
    sim_start(NULL);
    /* Ten copies of a root certificate: well over 4096 bytes of PEM. */
    char *one = azk_test_read(azk_path(g_dir, "root.cert.pem"), NULL);
    size_t n = strlen(one);
    char *five = malloc(10 * n + 1);
    for (int i = 0; i < 10; i++)
        memcpy(five + (size_t)i * n, one, n);
    five[10 * n] = '\0';
    char big[600];
    snprintf(big, sizeof(big), "%s/big.pem", g_dir);
    azk_test_write(big, five, 10 * n);
    free(one);
    free(five);
    struct azk_run r;
    cred(&r, g_spec, "cred", "write", "30", "ca", big, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "4096"));
    assert_false(log_has("AT%CMNG=0,30"));
    azk_run_free(&r);
    sim_stop();
}

/* `azkit modem-sim` is a command users run: help, and a bad option refused. */
static void test_modem_sim_command(void **state)
{
    (void)state;
    struct azk_run r;
    const char *help[] = {"modem-sim", "--help", NULL};
    azk_run(&r, NULL, help);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "pseudo-terminal"));
    azk_run_free(&r);
    const char *bad[] = {"modem-sim", "--no-such-option", NULL};
    azk_run(&r, NULL, bad);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: azkit-modem-sim"));
    azk_run_free(&r);
}

/* Something that is not a modem: a clear error, fast. */
static void test_not_a_modem(void **state)
{
    (void)state;
    char f[600], spec[700];
    snprintf(f, sizeof(f), "%s/not-a-tty", g_dir);
    azk_test_write(f, "", 0);
    snprintf(spec, sizeof(spec), "nrf91:%s", f);
    struct azk_run r;
    cred(&r, spec, "cred", "list", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "does not answer AT commands"));
    azk_run_free(&r);
    cred(&r, "nrf91:/nonexistent/ttyACM9", "cred", "list", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot open /nonexistent/ttyACM9"));
    azk_run_free(&r);
    cred(&r, "nrf91:/dev/null,speed=9", "cred", "list", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "unknown or malformed store option 'speed=9'"));
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provision_and_read),
        cmocka_unit_test(test_online_modem),
        cmocka_unit_test(test_restore_after_failure),
        cmocka_unit_test(test_types_beyond_4),
        cmocka_unit_test(test_no_key_read),
        cmocka_unit_test(test_cme_errors),
        cmocka_unit_test(test_serial_options),
        cmocka_unit_test(test_echo_and_urcs),
        cmocka_unit_test(test_silent_modem),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_modem_sim_command),
        cmocka_unit_test(test_not_a_modem),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

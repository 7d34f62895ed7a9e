/* DPS as a device meets it in the field, through the real azkit and azkit-hub binaries over
 * TLS: throttling (429 with retry-after) waited out; and a device that DPS moves follows it: `azkit run` connected to the hub its kept assignment
 * names; the enrollment moves to a linked hub and the device is removed from the first one (as
 * DPS's reprovisioning does); the device's reconnects are refused (CONNACK 5) until, after
 * dps_again_after refusals, it forgets the assignment, registers with DPS again and connects to
 * the linked hub. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "support/test_util.h"

#define LINKED "hub-b.azkit.test"

static struct test_hub hub;
static char g_dir[512], g_store[600], g_scope[32], g_dps[300];

static const char *file(const char *name, const char *ext)
{
    return test_pem_path(g_dir, name, ext);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_make_cert(g_dir, AZK_PKI_SELF_SIGNED, "move-dev", "move-dev", NULL, NULL, NULL);
    test_hub_init(&hub);
    const char *extra[] = {"--dps-retry-after", "1", "--linked-hub", LINKED, NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps, sizeof(g_dps));
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "move-dev", "--cert",
                                file("move-dev", "cert"), "--allocation", "static", "--iot-hub",
                                "localhost", NULL));
    snprintf(g_store, sizeof(g_store), "%s/store", g_dir);
    struct azk_run r;
    const char *argv[] = {"--store", g_store, "cred", "provision", "--sec-tag", "10",
                          "--cert", file("move-dev", "cert"), "--key", file("move-dev", "key"),
                          "--ca", hub.ca, NULL};
    azk_run(&r, NULL, argv);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* Waits until the run's output holds `text` `times` times (or 60 s pass). */
static bool wait_output(const char *out, const char *text, int times)
{
    for (int i = 0; i < 1200; i++) {
        char *s = azk_test_exists(out) ? azk_test_read(out, NULL) : NULL;
        int n = 0;
        for (const char *p = s; p && (p = strstr(p, text)) != NULL; p += strlen(text))
            n++;
        free(s);
        if (n >= times)
            return true;
        usleep(50000);
    }
    return false;
}

static void test_follows_dps_to_a_linked_hub(void **state)
{
    (void)state;
    char out[700], cmd[4096];
    snprintf(out, sizeof(out), "%s/run.out", g_dir);
    /* Every name (DPS, both hubs) is reached at 127.0.0.1, told apart by SNI. */
    snprintf(cmd, sizeof(cmd), "exec '%s' --store '%s' --json run --id-scope %s --dps-host %s "
             "--connect-address 127.0.0.1 --count 0 --interval 500 > '%s' 2>&1", AZKIT_BIN,
             g_store, g_scope, g_dps, out);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    bool ok = wait_output(out, "\"event\":\"connected\",\"hub\":\"localhost", 1);
    /* DPS moves the device: the enrollment now names the linked hub, and the device is gone
     * from the first hub (which disconnects it). */
    if (ok) {
        cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "move-dev", "--cert",
                                    file("move-dev", "cert"), "--allocation", "static",
                                    "--iot-hub", LINKED, NULL));
        cJSON_Delete(test_hub_admin(&hub, 0, "device", "delete", "move-dev", NULL));
        ok = wait_output(out, "\"event\":\"connected\",\"hub\":\"" LINKED, 1);
    }
    kill(pid, SIGTERM);
    int ws = 0;
    waitpid(pid, &ws, 0);
    char *text = azk_test_read(out, NULL);
    if (!ok)
        fail_msg("the device did not follow DPS to %s:\n%s", LINKED, text);
    /* Registered twice: the kept assignment forgotten after the refusals, DPS asked again. */
    int regs = 0;
    for (const char *p = text; (p = strstr(p, "\"event\":\"registered\"")) != NULL; p++)
        regs++;
    assert_int_equal(regs, 2);
    assert_non_null(strstr(text, "\"event\":\"retrying\""));
    free(text);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    /* The linked hub has the device; the first hub has not. */
    cJSON *d = test_hub_admin(&hub, 0, "--hub", LINKED, "device", "show", "move-dev", NULL);
    cJSON_Delete(d);
    cJSON_Delete(test_hub_admin(&hub, 1, "device", "show", "move-dev", NULL));
}

/* DPS throttles (429 with retry-after): the device asks again after the wait and registers. */
static void test_dps_throttled_then_assigned(void **state)
{
    (void)state;
    struct azk_run r;
    const char *reset[] = {"--store", g_store, "dps", "reset", NULL};
    azk_run(&r, NULL, reset);
    azk_run_free(&r);
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "dps-throttle", "2", NULL));
    const char *argv[] = {"--store", g_store, "--json", "run", "--id-scope", g_scope,
                          "--dps-host", g_dps, "--connect-address", "127.0.0.1", "--count", "1",
                          NULL};
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("azkit run after DPS 429s: %s\n%s", r.out, r.err);
    assert_non_null(strstr(r.out, "\"event\":\"registered\""));
    assert_non_null(strstr(r.out, "\"event\":\"connected\""));
    azk_run_free(&r);
    /* Both throttles were used, each logged. */
    cJSON *f = test_hub_admin(&hub, 0, "fault", "show", NULL);
    char *text = cJSON_PrintUnformatted(f);
    assert_non_null(strstr(text, "\"dpsThrottle\":0"));
    free(text);
    cJSON_Delete(f);
    assert_true(test_hub_log_contains(&hub, "throttled (429, fault injection)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follows_dps_to_a_linked_hub),
        cmocka_unit_test(test_dps_throttled_then_assigned),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

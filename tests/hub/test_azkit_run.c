/*
 * `azkit run`, azkit's own device, against the real azkit-hub: credentials provisioned into a
 * security tag, DPS registration through an enrollment group, IoT Hub, telemetry, reported
 * properties, a direct method answered, a desired patch and a C2D message received; and the
 * usual mistakes, each failing with its reason in plain words and a hint from the credentials.
 */
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

#include <cjson/cJSON.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32], g_dps[300];
static char g_store[600], g_store_leaf[600], g_store_azure[600];

static const char *file(const char *name, const char *ext)
{
    return test_pem_path(g_dir, name, ext);
}

/* `azkit --store S cred provision --sec-tag 10 --cert CERT --key KEY [--ca CA]` */
static void provision(const char *store, const char *cert, const char *key, const char *ca)
{
    const char *argv[] = {"--store", store, "cred", "provision", "--sec-tag", "10", "--cert", cert,
                          "--key", key, ca ? "--ca" : NULL, ca, NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("cred provision: %s\n%s", r.out, r.err);
    azk_run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_make_cert(g_dir, AZK_PKI_ROOT, "Run Root", "root", NULL, NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_INTERMEDIATE, "Run Intermediate", "inter", "root", NULL,
                       NULL);
    test_hub_make_cert(g_dir, AZK_PKI_DEVICE, "run-dev", "run-dev", "inter", NULL, NULL);
    test_hub_init(&hub);
    const char *extra[] = {"--dps-retry-after", "1", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps, sizeof(g_dps));
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "run-group", "--cert",
                                file("inter", "cert"), NULL));
    /* The device as it should be: chain (leaf + intermediate), key, the hub's CA. */
    snprintf(g_store, sizeof(g_store), "%s/store", g_dir);
    provision(g_store, file("run-dev", "chain"), file("run-dev", "key"), hub.ca);
    /* Mistakes: only the leaf; only Azure's roots. */
    snprintf(g_store_leaf, sizeof(g_store_leaf), "%s/store-leaf", g_dir);
    provision(g_store_leaf, file("run-dev", "cert"), file("run-dev", "key"), hub.ca);
    snprintf(g_store_azure, sizeof(g_store_azure), "%s/store-azure", g_dir);
    provision(g_store_azure, file("run-dev", "chain"), file("run-dev", "key"), NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_stop(&hub);
    test_hub_cleanup(&hub);
    azk_test_rmrf(g_dir);
    return 0;
}

/* Runs `azkit --store STORE --json run --id-scope .. --dps-host .. ARGS...`; returns the
 * events (a JSON array of the output lines) and the exit status. */
static cJSON *run(const char *store, int *status, ...)
{
    const char *argv[40] = {"--store", store, "--json", "run", "--id-scope", g_scope,
                            "--dps-host", g_dps};
    int n = 8;
    va_list ap;
    va_start(ap, status);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 39)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct azk_run r;
    azk_run(&r, NULL, argv);
    *status = r.status;
    cJSON *events = cJSON_CreateArray();
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *e = cJSON_Parse(line);
        if (e == NULL)
            fail_msg("not a JSON line: %s\n(stderr: %s)", line, r.err);
        cJSON_AddItemToArray(events, e);
    }
    azk_run_free(&r);
    return events;
}

static const cJSON *event(const cJSON *events, const char *kind)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, events)
    {
        const cJSON *k = cJSON_GetObjectItem(e, "event");
        if (cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0)
            return e;
    }
    char *text = cJSON_PrintUnformatted(events);
    fail_msg("no '%s' event in %s", kind, text);
    return NULL;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsString(v))
        fail_msg("'%s' is not a string", name);
    return v->valuestring;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* DPS, hub, three QoS 1 messages acknowledged, reported properties stored. */
static void test_registers_and_sends(void **state)
{
    (void)state;
    int st;
    cJSON *ev = run(g_store, &st, "--count", "3", "--interval", "50", "--message",
                    "{\"temp\":%d}", "--report", "{\"fw\":\"2.1\"}", NULL);
    assert_int_equal(st, 0);
    const cJSON *reg = event(ev, "registered");
    char want_hub[320];
    snprintf(want_hub, sizeof(want_hub), "localhost:%d", hub.mqtt_port);
    assert_string_equal(str(reg, "assignedHub"), want_hub);
    assert_string_equal(str(reg, "deviceId"), "run-dev");
    assert_string_equal(str(reg, "substatus"), "initialAssignment");
    event(ev, "connected");
    const cJSON *done = event(ev, "done");
    assert_int_equal(cJSON_GetObjectItem(done, "sent")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(done, "acked")->valueint, 3);
    cJSON_Delete(ev);

    cJSON *t = test_hub_admin(&hub, 0, "telemetry", "--device", "run-dev", NULL);
    cJSON *recs = cJSON_GetObjectItem(t, "records");
    assert_int_equal(cJSON_GetArraySize(recs), 3);
    char *text = cJSON_PrintUnformatted(recs);
    assert_non_null(strstr(text, "{\\\"temp\\\":3}"));
    free(text);
    cJSON_Delete(t);
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "run-dev", NULL);
    text = cJSON_PrintUnformatted(tw);
    assert_non_null(strstr(text, "\"fw\":\"2.1\""));
    free(text);
    cJSON_Delete(tw);
}

/* While it runs: a method is answered, a desired patch and a C2D message arrive. */
static void test_receives(void **state)
{
    (void)state;
    char out[700], cmd[4096];
    snprintf(out, sizeof(out), "%s/run.out", g_dir);
    snprintf(cmd, sizeof(cmd), "exec '%s' --store '%s' --json run --id-scope %s --dps-host %s "
             "--count 0 > '%s' 2>&1", AZKIT_BIN, g_store, g_scope, g_dps, out);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* Wait until connected (the output says so). */
    bool connected = false;
    for (int i = 0; i < 200 && !connected; i++) {
        char *text = azk_test_exists(out) ? azk_test_read(out, NULL) : NULL;
        connected = text && strstr(text, "\"event\":\"connected\"");
        free(text);
        if (!connected)
            usleep(50000);
    }
    assert_true(connected);
    cJSON *m = test_hub_admin(&hub, 0, "method", "invoke", "run-dev", "ping", "--payload",
                              "{\"x\":1}", NULL);
    char *text = cJSON_PrintUnformatted(m);
    assert_non_null(strstr(text, "\"status\":200"));
    assert_non_null(strstr(text, "\"method\":\"ping\""));
    free(text);
    cJSON_Delete(m);
    cJSON_Delete(test_hub_admin(&hub, 0, "twin", "set-desired", "run-dev", "{\"rate\":5}", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "c2d", "send", "run-dev", "hello device", NULL));
    bool all = false;
    for (int i = 0; i < 100 && !all; i++) {
        text = azk_test_read(out, NULL);
        all = strstr(text, "\"event\":\"desired\"") && strstr(text, "\\\"rate\\\":5") &&
              strstr(text, "\"event\":\"c2d\"") && strstr(text, "hello device");
        free(text);
        if (!all)
            usleep(50000);
    }
    kill(pid, SIGTERM);
    int ws = 0;
    waitpid(pid, &ws, 0);
    text = azk_test_read(out, NULL);
    if (!all)
        fail_msg("missing events in:\n%s", text);
    assert_non_null(strstr(text, "\"event\":\"method\""));
    assert_non_null(strstr(text, "\"event\":\"done\"")); /* SIGTERM: a clean stop */
    free(text);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
}

/* The usual mistakes, each with its reason and a hint. */
static void test_mistakes(void **state)
{
    (void)state;
    int st;
    /* Only the leaf in type 1, with a group on the intermediate: DPS 401002. */
    cJSON *ev = run(g_store_leaf, &st, NULL);
    assert_int_equal(st, 1);
    const cJSON *f = event(ev, "failed");
    assert_string_equal(str(f, "failure"), "dps-unauthorized");
    assert_int_equal(cJSON_GetObjectItem(f, "code")->valueint, 401002);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(f, "hints"));
    assert_non_null(strstr(text, "holds only the leaf certificate"));
    free(text);
    cJSON_Delete(ev);

    /* A registration id that is not the certificate's CN. */
    ev = run(g_store, &st, "--registration-id", "someone-else", NULL);
    assert_int_equal(st, 1);
    f = event(ev, "failed");
    assert_string_equal(str(f, "failure"), "dps-unauthorized");
    text = cJSON_PrintUnformatted(cJSON_GetObjectItem(f, "hints"));
    assert_non_null(strstr(text, "has CN 'run-dev' but the registration id is 'someone-else'"));
    free(text);
    cJSON_Delete(ev);

    /* Trusting only Azure's roots: the local hub's certificate is not trusted. */
    ev = run(g_store_azure, &st, NULL);
    assert_int_equal(st, 1);
    f = event(ev, "failed");
    assert_string_equal(str(f, "failure"), "transport");
    assert_non_null(strstr(str(f, "reason"), "is not signed by a CA this device trusts"));
    assert_non_null(strstr(str(f, "reason"), "DigiCert Global Root G2"));
    cJSON_Delete(ev);

    /* Nothing listens there: ECONNREFUSED (-111) in plain words. */
    const char *argv[] = {"--store", g_store, "--json", "run", "--id-scope", g_scope,
                          "--dps-host", "localhost:1", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "nothing accepts connections on localhost:1"));
    assert_non_null(strstr(r.out, "\"errno\":-111"));
    azk_run_free(&r);

    /* Straight to the hub with a device id the certificate does not name: CONNACK 5. */
    char hubhost[320];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    const char *argv2[] = {"--store", g_store, "--json", "run", "--hub", hubhost, "--device-id",
                           "other-dev", NULL};
    azk_run(&r, NULL, argv2);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "\"failure\":\"connack-refused\""));
    assert_non_null(strstr(r.out, "has CN 'run-dev' but the device id is 'other-dev'"));
    azk_run_free(&r);

    /* Usage errors. */
    const char *argv3[] = {"--store", g_store, "run", NULL};
    azk_run(&r, NULL, argv3);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--id-scope"));
    azk_run_free(&r);
    const char *argv4[] = {"--store", g_store, "run", "--hub", "h", "--report", "[1]", NULL};
    azk_run(&r, NULL, argv4);
    assert_int_equal(r.status, 2);
    azk_run_free(&r);
}

/* Without DPS: straight to the hub the earlier registration created the device in. */
static void test_direct_hub(void **state)
{
    (void)state;
    char hubhost[320];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    const char *argv[] = {"--store", g_store, "--json", "run", "--hub", hubhost, "--qos", "0",
                          NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("%s\n%s", r.out, r.err);
    assert_non_null(strstr(r.out, "\"event\":\"connected\""));
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_and_sends),
        cmocka_unit_test(test_receives),
        cmocka_unit_test(test_mistakes),
        cmocka_unit_test(test_direct_hub),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

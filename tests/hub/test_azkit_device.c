/*
 * The device side against the real azkit-hub, with credentials provisioned into security tags:
 *  - `azkit run`: DPS registration through an enrollment group, IoT Hub, telemetry, reported
 *    properties, a direct method answered, a desired patch and a C2D message received; and the
 *    usual mistakes, each failing with its reason in plain words and a hint;
 *  - `azkit doctor`: the credential checks on stores laid out right and with each classic
 *    mistake (Baltimore only, the key in another tag, a root CA as the client certificate, only
 *    the leaf, CN != id, nothing at all), and its connection test.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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

static const char *store(const char *name)
{
    static char bufs[4][700];
    static int i;
    char *b = bufs[i++ % 4];
    snprintf(b, 700, "%s/%s", g_dir, name);
    return b;
}

/* `azkit --store S cred ARGS...` must succeed. */
static void cred(const char *st, ...)
{
    const char *argv[24] = {"--store", st, "cred"};
    int n = 3;
    va_list ap;
    va_start(ap, st);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 23)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("azkit cred %s: %s\n%s", argv[3], r.out, r.err);
    azk_run_free(&r);
}

/* `azkit --store S cred provision --sec-tag 10 --cert CERT --key KEY [--ca CA]` */
static void provision(const char *st, const char *cert, const char *key, const char *ca)
{
    if (ca != NULL)
        cred(st, "provision", "--sec-tag", "10", "--cert", cert, "--key", key, "--ca", ca, NULL);
    else
        cred(st, "provision", "--sec-tag", "10", "--cert", cert, "--key", key, NULL);
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
    /* For the doctor: Baltimore only with the key in another tag; a root as the client
     * certificate; a tag with nothing but a PSK identity. */
    char balt[700], ident[700];
    snprintf(balt, sizeof(balt), "%s/data/roots/baltimore-cybertrust-root.pem", AZK_SOURCE_DIR);
    cred(store("baltimore"), "write", "10", "ca_chain", balt, NULL);
    cred(store("baltimore"), "write", "10", "client_cert", file("run-dev", "chain"), NULL);
    cred(store("baltimore"), "write", "11", "key", file("run-dev", "key"), NULL);
    cred(store("rootcert"), "write", "10", "ca_chain", hub.ca, NULL);
    cred(store("rootcert"), "write", "10", "client_cert", file("root", "cert"), NULL);
    snprintf(ident, sizeof(ident), "%s/identity.txt", g_dir);
    azk_test_write(ident, "device-identity", 15);
    cred(store("empty"), "write", "5", "identity", ident, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* Runs `azkit --store STORE --json run --id-scope .. --dps-host .. ARGS...`; returns the
 * events (a JSON array of the output lines) and the exit status. */
static cJSON *run(const char *store, int *status, ...)
{
    const char *prefix[] = {"--store", store, "--json", "run", "--id-scope", g_scope,
                            "--dps-host", g_dps, NULL};
    struct azk_run r;
    va_list ap;
    va_start(ap, status);
    azk_run_vlist(&r, NULL, prefix, ap);
    va_end(ap);
    *status = r.status;
    cJSON *events = azk_run_json_lines(&r);
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
    /* Every %d of --message is the message's number, not only the first. */
    cJSON *ev = run(g_store, &st, "--count", "3", "--interval", "50", "--message",
                    "{\"temp\":%d,\"seq\":\"m%d\"}", "--report", "{\"fw\":\"2.1\"}", NULL);
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
    assert_non_null(strstr(text, "{\\\"temp\\\":3,\\\"seq\\\":\\\"m3\\\"}"));
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
    /* As the nRF Connect SDK sample: 'led' answered, other methods 404. */
    cJSON *m = test_hub_admin(&hub, 0, "method", "invoke", "run-dev", "led", "--payload", "1",
                              NULL);
    char *text = cJSON_PrintUnformatted(m);
    assert_non_null(strstr(text, "\"status\":200"));
    assert_non_null(strstr(text, "\"it\":\"worked\""));
    free(text);
    cJSON_Delete(m);
    m = test_hub_admin(&hub, 0, "method", "invoke", "run-dev", "ping", NULL);
    text = cJSON_PrintUnformatted(m);
    assert_non_null(strstr(text, "\"status\":404"));
    free(text);
    cJSON_Delete(m);
    /* The desired telemetryInterval is adopted and reported back. */
    cJSON_Delete(test_hub_admin(&hub, 0, "twin", "set-desired", "run-dev",
                                "{\"rate\":5,\"telemetryInterval\":7}", NULL));
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
    assert_non_null(strstr(text, "\"event\":\"telemetry-interval\",\"seconds\":7"));
    assert_non_null(strstr(text, "\"event\":\"done\"")); /* SIGTERM: a clean stop */
    free(text);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "run-dev", NULL);
    text = cJSON_PrintUnformatted(tw);
    const cJSON *rep = NULL;
    for (const cJSON *o = tw; o != NULL && rep == NULL; o = o->child) /* {"twin":{...}} or the twin */
        rep = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(o, "properties"), "reported");
    const cJSON *ti = cJSON_GetObjectItemCaseSensitive(rep, "telemetryInterval");
    if (!cJSON_IsNumber(ti) || ti->valueint != 7)
        fail_msg("reported telemetryInterval is not 7: %s", text);
    free(text);
    cJSON_Delete(tw);
}

/* The usual mistakes, each with its reason and a hint. */
static void test_mistakes(void **state)
{
    (void)state;
    int st;
    /* A store without the device's credentials: the error names the store it read. */
    {
        struct azk_run er;
        const char *argv[] = {"--store", store("empty"), "run", "--id-scope", g_scope,
                              "--dps-host", g_dps, NULL};
        azk_run(&er, NULL, argv);
        assert_int_equal(er.status, 1);
        if (strstr(er.err, "of the store (directory ") == NULL || strstr(er.err, "empty") == NULL)
            fail_msg("the store is not named: %s", er.err);
        azk_run_free(&er);
    }
    /* A certificate without its key in the offered tag: said so, with the fix, before any
     * connection (not an "unknown error" from the TLS library). */
    {
        cred(store("nokey"), "write", "10", "ca_chain", hub.ca, NULL);
        cred(store("nokey"), "write", "10", "client_cert", file("run-dev", "chain"), NULL);
        struct azk_run er;
        const char *argv[] = {"--store", store("nokey"), "run", "--id-scope", g_scope,
                              "--dps-host", g_dps, "--once", NULL};
        azk_run(&er, NULL, argv);
        assert_int_equal(er.status, 1);
        if (strstr(er.err, "sec_tag 10 has a client certificate (type 1) but no private key") ==
                NULL ||
            strstr(er.err, "azkit cred write TAG key FILE") == NULL ||
            strstr(er.err, "unknown error") != NULL)
            fail_msg("a certificate without its key: %s", er.err);
        azk_run_free(&er);
    }
    /* Only the leaf in type 1, with a group on the intermediate: DPS 401002. */
    cJSON *ev = run(g_store_leaf, &st, NULL);
    assert_int_equal(st, 1);
    const cJSON *f = event(ev, "failed");
    assert_string_equal(str(f, "failure"), "dps-unauthorized");
    assert_int_equal(cJSON_GetObjectItem(f, "code")->valueint, 401002);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(f, "hints"));
    assert_non_null(strstr(text, "holds only the leaf certificate"));
    /* Not only for a group on an intermediate: a group on the root needs them as well. */
    assert_non_null(strstr(text, "also for an enrollment group on the root"));
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
    /* The migration's dates are the ones doctor and the store's warning give (one sentence,
     * common/root_migration.h). */
    assert_non_null(strstr(str(f, "reason"), "IoT Hub (from February 2023) and DPS (from "
                                             "2024-01-15)"));
    cJSON_Delete(ev);

    /* Nothing listens there: ECONNREFUSED (-111) in plain words; retried (each retry printed
     * with its reason) until --max-retries, then the run fails with that reason. (Without the
     * assignment an earlier run kept, which would skip DPS.) */
    AZK_MUST("--store", g_store, "dps", "reset");
    const char *argv[] = {"--store", g_store, "--json", "run", "--id-scope", g_scope,
                          "--dps-host", "localhost:1", "--max-retries", "2", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    assert_int_equal(r.status, 1);
    int retries = 0;
    for (const char *at = r.out; (at = strstr(at, "\"event\":\"retrying\"")) != NULL; at++)
        retries++;
    assert_int_equal(retries, 2);
    assert_non_null(strstr(r.out, "\"attempt\":2"));
    assert_non_null(strstr(r.out, "nothing accepts connections on localhost:1"));
    assert_non_null(strstr(r.out, "\"failed\",\"failure\":\"transport\""));
    assert_non_null(strstr(r.out, "\"errno\":-111"));
    azk_run_free(&r);
    /* --once: the first failure is final. */
    const char *argv_once[] = {"--store", g_store, "--json", "run", "--id-scope", g_scope,
                               "--dps-host", "localhost:1", "--once", NULL};
    azk_run(&r, NULL, argv_once);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.out, "\"event\":\"retrying\""));
    assert_non_null(strstr(r.out, "nothing accepts connections on localhost:1"));
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

/* How often the hub's log says a DPS registration was accepted. */
static int registrations(void)
{
    char *log = azk_test_read(hub.log, NULL);
    int n = 0;
    for (const char *at = log; (at = strstr(at, "register accepted")) != NULL; at++)
        n++;
    free(log);
    return n;
}

/* DPS once per device: three starts, one registration; `azkit dps show/reset`; a new
 * certificate registers again. */
static void test_dps_assignment_kept(void **state)
{
    (void)state;
    struct azk_run r;
    const char *reset[] = {"--store", g_store, "dps", "reset", NULL};
    azk_run(&r, NULL, reset);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    int before = registrations();
    for (int i = 0; i < 3; i++) {
        int st;
        cJSON *ev = run(g_store, &st, "--count", "1", NULL);
        if (st != 0)
            fail_msg("run %d failed", i);
        const cJSON *reg = event(ev, "registered");
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(reg, "stored")), i > 0);
        event(ev, "connected");
        cJSON_Delete(ev);
    }
    assert_int_equal(registrations(), before + 1);

    const char *show[] = {"--store", g_store, "--json", "dps", "show", NULL};
    azk_run(&r, NULL, show);
    assert_int_equal(r.status, 0);
    cJSON *j = azk_run_json(&r);
    char want_hub[320];
    snprintf(want_hub, sizeof(want_hub), "localhost:%d", hub.mqtt_port);
    assert_string_equal(cJSON_GetObjectItem(j, "assignedHub")->valuestring, want_hub);
    assert_string_equal(cJSON_GetObjectItem(j, "deviceId")->valuestring, "run-dev");
    assert_string_equal(cJSON_GetObjectItem(j, "idScope")->valuestring, g_scope);
    char thumb[65];
    test_hub_thumbprint(file("run-dev", "cert"), EVP_sha256(), thumb);
    assert_string_equal(cJSON_GetObjectItem(j, "thumbprint")->valuestring, thumb);
    cJSON_Delete(j);
    azk_run_free(&r);

    /* The same assignment file with another certificate (a new key, the same CN): DPS. */
    char other[700], kept[800], copy[800];
    test_hub_make_cert(g_dir, AZK_PKI_DEVICE, "run-dev", "run-dev-new", "inter", NULL, NULL);
    snprintf(other, sizeof(other), "%s/store-newcert", g_dir);
    provision(other, file("run-dev-new", "chain"), file("run-dev-new", "key"), hub.ca);
    snprintf(kept, sizeof(kept), "%s.dps-assignment", g_store);
    snprintf(copy, sizeof(copy), "%s.dps-assignment", other);
    size_t len = 0;
    char *text = azk_test_read(kept, &len);
    azk_test_write(copy, text, len);
    free(text);
    int st;
    cJSON *ev = run(other, &st, "--count", "1", NULL);
    assert_int_equal(st, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(event(ev, "registered"), "stored")));
    cJSON_Delete(ev);
    assert_int_equal(registrations(), before + 2);

    azk_run(&r, NULL, reset);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "forgot the DPS assignment"));
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

/* ---- azkit doctor ------------------------------------------------------------------------ */

/* Runs `azkit --store S --json doctor ARGS...`: the report and the exit status. */
static cJSON *doctor(const char *st, int *status, ...)
{
    const char *prefix[] = {"--store", st, "--json", "doctor", NULL};
    struct azk_run r;
    va_list ap;
    va_start(ap, status);
    azk_run_vlist(&r, NULL, prefix, ap);
    va_end(ap);
    *status = r.status;
    cJSON *j = cJSON_Parse(r.out);
    if (j == NULL)
        fail_msg("doctor: not JSON:\n%s\n%s", r.out, r.err);
    azk_run_free(&r);
    return j;
}

/* The check `id`: its status, and that its message contains `text` (may be NULL). */
static void expect(const cJSON *rep, const char *id, const char *status, const char *text)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(rep, "checks"))
    {
        if (strcmp(cJSON_GetObjectItem(c, "id")->valuestring, id) != 0)
            continue;
        const char *st = cJSON_GetObjectItem(c, "status")->valuestring;
        const char *msg = cJSON_GetObjectItem(c, "message")->valuestring;
        if (strcmp(st, status) != 0 || (text && strstr(msg, text) == NULL))
            fail_msg("check %s: %s \"%s\"; expected %s with \"%s\"", id, st, msg, status,
                     text ? text : "");
        return;
    }
    char *all = cJSON_PrintUnformatted(rep);
    fail_msg("no check %s in %s", id, all);
}

/* The ranked summary holds exactly these ids, in this order (NULL-terminated). */
static void expect_summary(const cJSON *rep, ...)
{
    va_list ap;
    va_start(ap, rep);
    const cJSON *sum = cJSON_GetObjectItem(rep, "summary");
    int i = 0;
    for (const char *id; (id = va_arg(ap, const char *)) != NULL; i++) {
        const cJSON *e = cJSON_GetArrayItem(sum, i);
        const char *got = e ? cJSON_GetObjectItem(e, "id")->valuestring : "(none)";
        if (strcmp(got, id) != 0) {
            char *all = cJSON_PrintUnformatted(sum);
            fail_msg("summary[%d] is %s, expected %s: %s", i, got, id, all);
        }
        assert_true(cJSON_GetObjectItem(e, "fix")->valuestring[0] != '\0');
    }
    va_end(ap);
    if (cJSON_GetArraySize(sum) != i) {
        char *all = cJSON_PrintUnformatted(sum);
        fail_msg("summary has %d entries, expected %d: %s", cJSON_GetArraySize(sum), i, all);
    }
}

static void test_doctor_good(void **state)
{
    (void)state;
    int st;
    cJSON *r = doctor(g_store_azure, &st, "--registration-id", "run-dev", NULL);
    assert_int_equal(st, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
    expect(r, "tags.azure-root", "ok", "DigiCert Global Root G2");
    expect(r, "client.chain", "ok", "leaf + 1 intermediate");
    expect(r, "client.key", "ok", NULL);
    expect(r, "client.id", "ok", "run-dev");
    expect_summary(r, NULL); /* nothing to rank */
    cJSON_Delete(r);
    /* Against the local hub, with the connection test: DPS and the hub pass. */
    r = doctor(g_store, &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register",
               "--connect", NULL);
    assert_int_equal(st, 0);
    expect(r, "tags.azure-root", "skipped", "not an Azure host");
    expect(r, "connect.dps", "ok", "DPS assigned hub");
    expect(r, "connect.hub", "ok", "connected to");
    expect(r, "connect.twin", "ok", "twin GET answered 200");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "online"),
                                                 "connected")));
    cJSON_Delete(r);
    /* A hub that throttles twin requests: the last stage fails and says so. */
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "twin-throttle", "1", NULL));
    r = doctor(g_store, &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register",
               "--connect", NULL);
    assert_int_equal(st, 1);
    expect(r, "connect.twin", "failed", "twin GET answered 429");
    cJSON_Delete(r);
    /* The local-hub store without a host: trusting azkit-hub's CA is not a failure. */
    r = doctor(g_store, &st, NULL);
    assert_int_equal(st, 0);
    expect(r, "tags.azure-root", "info", "none of Azure's roots");
    cJSON_Delete(r);
}

static void test_doctor_mistakes(void **state)
{
    (void)state;
    int st;
    cJSON *r = doctor(store("baltimore"), &st, NULL);
    assert_int_equal(st, 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "ok")));
    expect(r, "tags.azure-root", "failed", "Baltimore CyberTrust Root but not DigiCert Global "
                                           "Root G2");
    /* Microsoft's dates, the same in every message. */
    expect(r, "tags.azure-root", "failed", "DPS (from 2024-01-15) to DigiCert Global Root G2, "
                                           "complete for all resources on 2024-09-30");
    expect(r, "cred.retired-root", "warning", "complete for all resources on 2024-09-30");
    expect(r, "client.key", "failed", "is in sec_tag 11, not in sec_tag 10");
    expect(r, "cred.retired-root", "warning", NULL);
    /* Two faults at once: the untrusted server first (the handshake fails before the key
     * matters), then the key, then the warnings (Baltimore expired on 2025-05-12). */
    expect_summary(r, "tags.azure-root", "client.key", "cred.cert-expired", "cred.retired-root",
                   NULL);
    cJSON_Delete(r);

    /* A certificate without its key, and no tag holds the key: doctor names the tag and the
     * fix, also when asked to register (no "unknown error" from the TLS library). */
    cred(store("nokey-doc"), "write", "10", "ca_chain", hub.ca, NULL);
    cred(store("nokey-doc"), "write", "10", "client_cert", file("run-dev", "chain"), NULL);
    r = doctor(store("nokey-doc"), &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register",
               NULL);
    assert_int_equal(st, 1);
    expect(r, "client.key", "failed", "sec_tag 10 has the device certificate but no private key "
                                      "(type 2), and no other tag holds it");
    {
        char *all = cJSON_PrintUnformatted(r);
        if (strstr(all, "`azkit cred write 10 key KEY.pem`") == NULL ||
            strstr(all, "unknown error") != NULL)
            fail_msg("doctor, a certificate without its key: %s", all);
        free(all);
    }
    cJSON_Delete(r);

    r = doctor(store("rootcert"), &st, NULL);
    assert_int_equal(st, 1);
    expect(r, "client.cert", "failed", "a root CA was written as the client certificate");
    cJSON_Delete(r);

    r = doctor(g_store_azure, &st, "--registration-id", "someone", NULL);
    assert_int_equal(st, 1);
    expect(r, "client.id", "failed", "CN is 'run-dev' but the registration id is 'someone'");
    cJSON_Delete(r);

    r = doctor(store("empty"), &st, "--sec-tag", "5", NULL);
    assert_int_equal(st, 1);
    expect(r, "tags.ca", "failed", "none of the socket's tags holds a CA certificate");
    expect(r, "client.cert", "failed", "no");
    cJSON_Delete(r);

    /* Only the leaf: a warning offline; the connection test shows DPS refusing it. */
    r = doctor(g_store_leaf, &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register",
               NULL);
    assert_int_equal(st, 1);
    expect(r, "client.chain", "warning", "holds only the leaf");
    expect(r, "connect.dps", "failed", "dps-unauthorized, code 401002");
    /* The cause (the leaf-only chain) before its effect (DPS refusing). */
    expect_summary(r, "client.chain", "connect.dps", NULL);
    cJSON_Delete(r);

    /* Usage. */
    const char *argv[] = {"--store", g_store_azure, "doctor", "--id-scope", "x", "--hub", "h",
                          NULL};
    struct azk_run u;
    azk_run(&u, NULL, argv);
    assert_int_equal(u.status, 2);
    azk_run_free(&u);
}

/* Online work only when asked, and the report says what was done. */
static void test_doctor_online_opt_in(void **state)
{
    (void)state;
    int st;
    /* No flag: nothing sent; the check says what --register would do. */
    cJSON *r = doctor(g_store, &st, "--id-scope", g_scope, "--dps-host", g_dps, NULL);
    assert_int_equal(st, 0);
    expect(r, "connect", "skipped", "nothing was sent to");
    expect(r, "connect", "skipped", "DPS creates or updates its registration");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "online"),
                                                  "attempted")));
    cJSON_Delete(r);
    char hubhost[320];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    r = doctor(g_store, &st, "--hub", hubhost, NULL);
    assert_int_equal(st, 0);
    expect(r, "connect", "skipped", "disconnects the device's own connection");
    cJSON_Delete(r);
    /* --handshake: DNS, TCP, TLS stage by stage, the server's chain; no MQTT. */
    r = doctor(g_store, &st, "--hub", hubhost, "--handshake", NULL);
    assert_int_equal(st, 0);
    expect(r, "online.dns", "ok", "resolves to");
    expect(r, "online.tcp", "ok", "TCP connected to");
    expect(r, "online.server-chain", "info", "bytes (DER)");
    expect(r, "online.tls", "ok", "the tags' CAs verify its certificate");
    expect(r, "online.tls", "ok", "the server asked for a client certificate");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "online"),
                                                  "connected")));
    cJSON_Delete(r);
    /* Trusting only Azure's roots, against the local hub: the TLS stage fails and says so. */
    r = doctor(g_store_azure, &st, "--hub", hubhost, "--handshake", NULL);
    assert_int_equal(st, 1);
    expect(r, "online.tls", "failed", "the tags' CAs do not verify");
    cJSON_Delete(r);
    r = doctor(g_store, &st, "--hub", "localhost:1", "--handshake", NULL);
    assert_int_equal(st, 1);
    expect(r, "online.tcp", "failed", "Connection refused");
    cJSON_Delete(r);
    /* --register alone: DPS assigns, no hub connection. */
    r = doctor(g_store, &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register", NULL);
    assert_int_equal(st, 0);
    expect(r, "connect.dps", "ok", "DPS assigned hub");
    expect(r, "connect.hub", "skipped", "--connect would connect");
    const cJSON *on = cJSON_GetObjectItem(r, "online");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(on, "registered")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(on, "connected")));
    cJSON_Delete(r);
    /* A hub refusal straight to the hub is the hub's, not DPS's. */
    r = doctor(g_store, &st, "--hub", hubhost, "--device-id", "other-dev", "--connect", NULL);
    assert_int_equal(st, 1);
    expect(r, "connect.hub", "failed", "IoT Hub failed (connack-refused, code 5)");
    cJSON_Delete(r);
    /* The fix line follows the failure: a refused device, a name that does not resolve. */
    r = doctor(g_store, &st, "--hub", hubhost, "--device-id", "other-dev", "--connect", NULL);
    char *fixes = cJSON_PrintUnformatted(r);
    assert_non_null(strstr(fixes, "register the device (thumbprint, or CA-signed"));
    free(fixes);
    cJSON_Delete(r);
    r = doctor(g_store, &st, "--hub", "no-such-host.invalid", "--connect", NULL);
    assert_int_equal(st, 1);
    expect(r, "connect.hub", "failed", "does not resolve");
    fixes = cJSON_PrintUnformatted(r);
    assert_non_null(strstr(fixes, "getent hosts NAME"));
    free(fixes);
    cJSON_Delete(r);
    /* Usage: --register without DPS, --connect without a hub. */
    struct azk_run u;
    const char *a1[] = {"--store", g_store, "doctor", "--register", NULL};
    azk_run(&u, NULL, a1);
    assert_int_equal(u.status, 2);
    azk_run_free(&u);
    const char *a2[] = {"--store", g_store, "doctor", "--id-scope", g_scope, "--connect", NULL};
    azk_run(&u, NULL, a2);
    assert_int_equal(u.status, 2);
    azk_run_free(&u);
    /* --help states the effects. */
    const char *a3[] = {"doctor", "--help", NULL};
    azk_run(&u, NULL, a3);
    assert_non_null(strstr(u.out, "a running device with this id"));
    assert_non_null(strstr(u.out, "creates or\n              updates the registration"));
    azk_run_free(&u);
}

/* The thread's mistakes: certificate and key in a tag the socket does not offer (named), more
 * than two tags (the NCS options named), and only the leaf under a group on the root. */
static void test_doctor_tags_and_chain(void **state)
{
    (void)state;
    int st;
    const char *st12 = store("tag12");
    cred(st12, "write", "10", "ca_chain", hub.ca, NULL);
    cred(st12, "write", "12", "client_cert", file("run-dev", "chain"), NULL);
    cred(st12, "write", "12", "key", file("run-dev", "key"), NULL);
    cJSON *r = doctor(st12, &st, "--sec-tag", "10", "--sec-tag", "11", NULL);
    assert_int_equal(st, 1);
    expect(r, "client.cert", "failed", "sec_tag 12 holds 'run-dev' (type 1) and its private key "
                                       "(type 2), but the socket never offers sec_tag 12");
    expect(r, "client.cert", "failed", "(10, 11)");
    char *text = cJSON_PrintUnformatted(r);
    assert_non_null(strstr(text, "CONFIG_MQTT_HELPER_SEC_TAG=12"));
    free(text);
    cJSON_Delete(r);

    r = doctor(g_store, &st, "--sec-tag", "10", "--sec-tag", "11", "--sec-tag", "12", NULL);
    expect(r, "tags.count", "warning", "CONFIG_MQTT_HELPER_SECONDARY_SEC_TAG");
    expect(r, "tags.count", "warning", "3 tags given (10, 11, 12)");
    cJSON_Delete(r);
    /* The same CA in both tags is one CA. */
    cred(st12, "write", "11", "ca_chain", hub.ca, NULL);
    r = doctor(st12, &st, "--sec-tag", "10", "--sec-tag", "11", NULL);
    expect(r, "tags.ca", "ok", "trusts 1 CA certificate:");
    cJSON_Delete(r);
    /* The nRF9160 profile: 8 tags is more than the modem's socket takes. */
    r = doctor(g_store, &st, "--profile", "nrf9160", "--sec-tag", "10", "--sec-tag", "11",
               "--sec-tag", "12", "--sec-tag", "13", "--sec-tag", "14", "--sec-tag", "15",
               "--sec-tag", "16", "--sec-tag", "17", NULL);
    assert_int_equal(st, 1);
    expect(r, "tags.count", "failed", "an nRF9160 socket takes at most 7");
    cJSON_Delete(r);
    /* ... and its connection test speaks TLS 1.2, which the hub accepts. */
    char hubhost[320];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    r = doctor(g_store, &st, "--profile", "nrf9160", "--hub", hubhost, "--connect", NULL);
    assert_int_equal(st, 0);
    expect(r, "connect.hub", "ok", "connected to");
    cJSON_Delete(r);
    struct azk_run u;
    const char *bad[] = {"--store", g_store, "doctor", "--profile", "esp32", NULL};
    azk_run(&u, NULL, bad);
    assert_int_equal(u.status, 2);
    azk_run_free(&u);
    /* A certificate without clientAuth (a server certificate as the device's): a warning,
     * not a failure (Azure documents no EKU requirement). */
    test_hub_make_cert(g_dir, AZK_PKI_SERVER, "eku-dev", "eku-dev", "inter", NULL, NULL);
    const char *eku = store("eku");
    cred(eku, "write", "10", "ca_chain", hub.ca, NULL);
    cred(eku, "write", "10", "client_cert", file("eku-dev", "cert"), NULL);
    cred(eku, "write", "10", "key", file("eku-dev", "key"), NULL);
    r = doctor(eku, &st, NULL);
    expect(r, "client.eku", "warning", "Azure documents no such requirement");
    cJSON_Delete(r);
    r = doctor(g_store, &st, "--sec-tag", "10", "--sec-tag", "11", NULL);
    char *two = cJSON_PrintUnformatted(r);
    assert_null(strstr(two, "tags.count"));
    free(two);
    cJSON_Delete(r);

    /* A group on a root; the device's leaf is issued by an intermediate below it and sent
     * alone: DPS refuses it, and the hint says the intermediate is needed here too. */
    test_hub_make_cert(g_dir, AZK_PKI_ROOT, "Group Root", "groot", NULL, NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_INTERMEDIATE, "Group Inter", "ginter", "groot", NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_DEVICE, "root-dev", "root-dev", "ginter", NULL, NULL);
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "root-group", "--cert",
                                file("groot", "cert"), NULL));
    const char *leaf = store("rootleaf");
    cred(leaf, "provision", "--sec-tag", "10", "--cert", file("root-dev", "cert"), "--key",
         file("root-dev", "key"), "--ca", hub.ca, NULL);
    /* Offline, given the enrollment's CA: the chain does not reach it. */
    r = doctor(leaf, &st, "--enrollment-ca", file("groot", "cert"), NULL);
    assert_int_equal(st, 1);
    expect(r, "client.enrollment-ca", "failed", "(1 certificate, ending at 'root-dev' issued by "
                                                "'Group Inter') does not reach the enrollment "
                                                "CA 'Group Root'");
    cJSON_Delete(r);
    r = doctor(leaf, &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register", NULL);
    assert_int_equal(st, 1);
    expect(r, "client.chain", "warning", "also for a DPS enrollment group (or hub CA) on the root");
    expect(r, "connect.dps", "failed", "code 401002");
    cJSON_Delete(r);
    /* azkit run with the same store: DPS 401002, and its hint says every intermediate between
     * the leaf and the enrolled CA must be sent, for a group on the root too. */
    r = run(leaf, &st, "--registration-id", "root-dev", NULL);
    assert_int_equal(st, 1);
    const cJSON *rf = event(r, "failed");
    assert_int_equal(cJSON_GetObjectItem(rf, "code")->valueint, 401002);
    char *hints = cJSON_PrintUnformatted(cJSON_GetObjectItem(rf, "hints"));
    if (strstr(hints, "every intermediate between the leaf and the enrolled CA must be sent") ==
            NULL ||
        strstr(hints, "also for an enrollment group on the root") == NULL)
        fail_msg("run's leaf-only hint under a root group: %s", hints);
    free(hints);
    cJSON_Delete(r);
    /* The full chain under the same group registers. */
    const char *full = store("rootchain");
    cred(full, "provision", "--sec-tag", "10", "--cert", file("root-dev", "chain"), "--key",
         file("root-dev", "key"), "--ca", hub.ca, NULL);
    r = doctor(full, &st, "--id-scope", g_scope, "--dps-host", g_dps, "--register", NULL);
    assert_int_equal(st, 0);
    expect(r, "connect.dps", "ok", "DPS assigned hub");
    cJSON_Delete(r);
    r = doctor(full, &st, "--enrollment-ca", file("groot", "cert"), NULL);
    assert_int_equal(st, 0);
    expect(r, "client.enrollment-ca", "ok", "(2 certificates) reaches the enrollment CA 'Group "
                                            "Root'");
    cJSON_Delete(r);
    /* A group on an intermediate (partial chain); another hierarchy; an unreadable file. */
    r = doctor(g_store, &st, "--enrollment-ca", file("inter", "cert"), NULL);
    expect(r, "client.enrollment-ca", "ok", "reaches the enrollment CA 'Run Intermediate'");
    cJSON_Delete(r);
    r = doctor(g_store, &st, "--enrollment-ca", file("groot", "cert"), NULL);
    assert_int_equal(st, 1);
    expect(r, "client.enrollment-ca", "failed", "does not reach the enrollment CA 'Group Root'");
    cJSON_Delete(r);
    r = doctor(g_store, &st, "--enrollment-ca", store("no-such.pem"), NULL);
    assert_int_equal(st, 1);
    expect(r, "client.enrollment-ca", "failed", "cannot read a CA certificate from");
    cJSON_Delete(r);
}

/* Human output: one line per check, fixes under failures, a verdict. */
static void test_doctor_human_output(void **state)
{
    (void)state;
    const char *argv[] = {"--store", store("baltimore"), "doctor", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "[FAIL] client.key:"));
    assert_non_null(strstr(r.out, "       fix: Write the key into the certificate's tag"));
    assert_non_null(strstr(r.out, "doctor: problems found"));
    azk_run_free(&r);
}

/* ---- azkit fleet -------------------------------------------------------------------------- */

static int num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", name);
    return v->valueint;
}

/* `azkit --json fleet` output: one progress object per line (at least one, each parsed and
 * counted in *n_progress, the last kept in *last_progress when not NULL), then the summary
 * object on the last line, which is returned. */
static cJSON *fleet_lines(const char *out, int *n_progress, cJSON **last_progress)
{
    cJSON *summary = NULL;
    *n_progress = 0;
    if (last_progress)
        *last_progress = NULL;
    for (const char *line = out; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        cJSON *j = cJSON_ParseWithLength(line, len);
        if (j == NULL)
            fail_msg("fleet: a line is not JSON: %.*s", (int)len, line);
        if (summary != NULL)
            fail_msg("fleet: a line after the summary: %.*s", (int)len, line);
        if (strcmp(str(j, "event"), "progress") == 0) {
            ++*n_progress;
            if (last_progress) {
                cJSON_Delete(*last_progress);
                *last_progress = j;
            } else {
                cJSON_Delete(j);
            }
        } else {
            assert_string_equal(str(j, "event"), "summary");
            summary = j;
        }
        line = end ? end + 1 : line + len;
    }
    if (summary == NULL)
        fail_msg("fleet: no summary line in:\n%s", out);
    return summary;
}

static cJSON *fleet_full(int *status, int *n_progress, cJSON **last_progress, ...)
{
    const char *prefix[] = {"--json", "fleet", "--id-scope", g_scope, "--dps-host", g_dps,
                            "--trust", hub.ca, NULL};
    struct azk_run r;
    va_list ap;
    va_start(ap, last_progress);
    azk_run_vlist(&r, NULL, prefix, ap);
    va_end(ap);
    *status = r.status;
    cJSON *j = fleet_lines(r.out, n_progress, last_progress);
    azk_run_free(&r);
    return j;
}

/* The summary of `azkit --json fleet --id-scope .. --dps-host .. --trust .. ARGS...`. */
#define fleet(status, ...) fleet_full(status, &(int){0}, NULL, __VA_ARGS__)

/* Forty devices with their own certificates from the enrolled intermediate: all register,
 * connect, and get their messages acknowledged; the hub has them and their telemetry. */
static void test_fleet(void **state)
{
    (void)state;
    char issuer[700];
    snprintf(issuer, sizeof(issuer), "%s/inter", g_dir);
    int st;
    cJSON *j = fleet(&st, "--issuer", issuer, "--count", "40", "--messages", "2", "--interval",
                     "100", "--prefix", "fl-", NULL);
    assert_int_equal(st, 0);
    assert_int_equal(num(j, "devices"), 40);
    assert_int_equal(num(j, "registered"), 40);
    assert_int_equal(num(j, "connected"), 40);
    assert_int_equal(num(j, "failed"), 0);
    assert_int_equal(num(j, "acked"), 80);
    assert_true(num(j, "allConnectedMs") > 0);
    cJSON_Delete(j);
    cJSON *t = test_hub_admin(&hub, 0, "telemetry", "--device", "fl-17", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "records")), 2);
    cJSON_Delete(t);
    cJSON *dev = test_hub_admin(&hub, 0, "device", "show", "fl-39", NULL);
    char *text = cJSON_PrintUnformatted(dev);
    assert_non_null(strstr(text, "selfSigned"));
    free(text);
    cJSON_Delete(dev);

    /* Issued by the root, which no group holds: every device is refused, and the first
     * failure says how. */
    char root[700];
    snprintf(root, sizeof(root), "%s/root", g_dir);
    j = fleet(&st, "--issuer", root, "--count", "5", "--prefix", "bad-", NULL);
    assert_int_equal(st, 1);
    assert_int_equal(num(j, "failed"), 5);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "firstFailure")->valuestring,
                           "dps-unauthorized"));
    cJSON_Delete(j);

    /* Usage: no issuer; an issuer that is not a CA pair. */
    struct azk_run r;
    const char *argv[] = {"fleet", "--id-scope", g_scope, NULL};
    azk_run(&r, NULL, argv);
    assert_int_equal(r.status, 2);
    azk_run_free(&r);
    char nothing[700];
    snprintf(nothing, sizeof(nothing), "%s/nothing", g_dir);
    const char *argv2[] = {"fleet", "--id-scope", g_scope, "--issuer", nothing, NULL};
    azk_run(&r, NULL, argv2);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot use"));
    azk_run_free(&r);
}

/* Every stored telemetry record of the devices whose id starts with `prefix`, paged through
 * `azkit-hub telemetry --json --after SEQ --max 1000`: checks each payload (`size` bytes,
 * JSON, its "device" the sender, its "n" in 1..messages, no (device, n) twice) and returns
 * how many there are. */
static int stored_messages(const char *prefix, size_t size, int devices, int messages)
{
    bool *seen = calloc((size_t)devices * (size_t)messages, sizeof(*seen));
    assert_non_null(seen);
    int count = 0;
    long after = 0;
    for (;;) {
        char a[32];
        snprintf(a, sizeof(a), "%ld", after);
        cJSON *t = test_hub_admin(&hub, 0, "telemetry", "--after", a, "--max", "1000", NULL);
        const cJSON *recs = cJSON_GetObjectItem(t, "records"), *r;
        if (cJSON_GetArraySize(recs) == 0) {
            cJSON_Delete(t);
            break;
        }
        cJSON_ArrayForEach(r, recs) {
            const char *id = str(r, "deviceId");
            if (strncmp(id, prefix, strlen(prefix)) != 0)
                continue;
            const char *payload = str(r, "payload");
            assert_int_equal(strlen(payload), size);
            cJSON *p = cJSON_Parse(payload);
            assert_non_null(p);
            assert_string_equal(str(p, "device"), id);
            int dev = atoi(id + strlen(prefix)), n = num(p, "n");
            assert_true(dev >= 0 && dev < devices && n >= 1 && n <= messages);
            assert_false(seen[dev * messages + n - 1]);
            seen[dev * messages + n - 1] = true;
            count++;
            cJSON_Delete(p);
        }
        after = (long)num(t, "lastSeq");
        cJSON_Delete(t);
    }
    free(seen);
    return count;
}

/* A window of 8 messages of 512 bytes in flight per device, sent as fast as it allows: every
 * message acknowledged, stored once at the hub with the size asked; the progress lines and
 * the summary parse and agree with the hub; latencies are reported for every PUBACK. */
static void test_fleet_window_and_payload(void **state)
{
    (void)state;
    char issuer[700];
    snprintf(issuer, sizeof(issuer), "%s/inter", g_dir);
    int st, n_progress;
    cJSON *last = NULL;
    cJSON *j = fleet_full(&st, &n_progress, &last, "--issuer", issuer, "--count", "4",
                          "--messages", "50", "--payload", "512", "--inflight", "8",
                          "--interval", "0", "--prefix", "win-", NULL);
    assert_int_equal(st, 0);
    assert_int_equal(num(j, "failed"), 0);
    assert_int_equal(num(j, "connected"), 4);
    assert_int_equal(num(j, "sent"), 200);
    assert_int_equal(num(j, "acked"), 200);
    assert_true(n_progress >= 1);
    assert_int_equal(num(last, "acked"), 200);
    assert_int_equal(num(last, "sent"), 200);
    assert_int_equal(num(last, "everConnected"), 4);
    assert_int_equal(num(last, "failed"), 0);
    const cJSON *lat = cJSON_GetObjectItem(j, "latencyMs");
    const cJSON *pub = cJSON_GetObjectItem(lat, "puback");
    assert_int_equal(num(pub, "count"), 200);
    assert_true(num(cJSON_GetObjectItem(lat, "connect"), "count") >= 4);
    assert_int_equal(num(cJSON_GetObjectItem(lat, "ready"), "count"), 4);
    const char *q[] = {"p50", "p90", "p99", "max"};
    double prev = 0;
    for (int i = 0; i < 4; i++) { /* ordered percentiles */
        double v = cJSON_GetObjectItem(pub, q[i])->valuedouble;
        assert_true(v >= prev);
        prev = v;
    }
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), 0);
    cJSON_Delete(last);
    cJSON_Delete(j);
    assert_int_equal(stored_messages("win-", 512, 4, 50), 200);

    /* Failures are counted by kind: a CA no enrollment group holds. */
    char root[700];
    snprintf(root, sizeof(root), "%s/root", g_dir);
    j = fleet(&st, "--issuer", root, "--count", "3", "--prefix", "kind-", NULL);
    assert_int_equal(st, 1);
    assert_int_equal(num(cJSON_GetObjectItem(j, "errors"), "dps-unauthorized"), 3);
    cJSON_Delete(j);
}

/* A running fleet's device answers a direct method with 200; the summary counts it. */
static void test_fleet_answers_methods(void **state)
{
    (void)state;
    char issuer[700];
    snprintf(issuer, sizeof(issuer), "%s/inter", g_dir);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        /* The second message an hour later: the devices stay connected until SIGTERM. */
        execl(AZKIT_BIN, AZKIT_BIN, "--json", "fleet", "--id-scope", g_scope, "--dps-host",
              g_dps, "--trust", hub.ca, "--issuer", issuer, "--count", "2", "--messages", "2",
              "--interval", "3600000", "--prefix", "meth-", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *in = fdopen(out[0], "r");
    assert_non_null(in);
    static char line[65536];
    bool up = false;
    while (!up && fgets(line, sizeof(line), in) != NULL) {
        cJSON *p = cJSON_Parse(line);
        assert_non_null(p);
        up = strcmp(str(p, "event"), "progress") == 0 && num(p, "connected") == 2;
        cJSON_Delete(p);
    }
    assert_true(up);
    cJSON *m = test_hub_admin(&hub, 0, "method", "invoke", "meth-1", "reboot", "--payload",
                              "{\"delay\":1}", NULL);
    assert_int_equal(num(m, "status"), 200);
    assert_string_equal(str(cJSON_GetObjectItem(m, "payload"), "method"), "reboot");
    cJSON_Delete(m);
    kill(pid, SIGTERM);
    cJSON *summary = NULL;
    while (fgets(line, sizeof(line), in) != NULL) {
        cJSON_Delete(summary);
        summary = cJSON_Parse(line);
        assert_non_null(summary);
    }
    fclose(in);
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFEXITED(wst));
    assert_int_equal(WEXITSTATUS(wst), 0);
    assert_non_null(summary);
    assert_string_equal(str(summary, "event"), "summary");
    assert_int_equal(num(summary, "methods"), 1);
    assert_int_equal(num(summary, "failed"), 0);
    cJSON_Delete(summary);
}

/* Bad values for the load options: a usage error that names the option, exit status 2. */
static void test_fleet_usage(void **state)
{
    (void)state;
    struct {
        const char *opt, *value, *says;
    } bad[] = {
        {"--payload", "abc", "--payload needs a number"},
        {"--payload", "0", "--payload needs a number"},
        {"--payload", "262145", "--payload needs a number"},
        {"--payload", "20", "--payload 20 is too small"},
        {"--inflight", "0", "--inflight needs a number (1..32)"},
        {"--inflight", "33", "--inflight needs a number (1..32)"},
        {"--inflight", "many", "--inflight needs a number (1..32)"},
        {"--interval", "-1", "--interval needs a number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"fleet", "--id-scope", g_scope, "--issuer", "x", bad[i].opt,
                              bad[i].value, NULL};
        struct azk_run r;
        azk_run(&r, NULL, argv);
        if (r.status != 2 || strstr(r.err, bad[i].says) == NULL)
            fail_msg("%s %s: status %d, stderr:\n%s", bad[i].opt, bad[i].value, r.status, r.err);
        azk_run_free(&r);
    }
}

/* Each fault set up for real, the doctor ranking it first: offline where the store shows it,
 * online against the hub otherwise. */
static const char *top_cause(const cJSON *rep)
{
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "summary"), 0);
    return first ? cJSON_GetObjectItem(first, "id")->valuestring : "(none)";
}

static void expect_top(const char *st, const char *want, ...)
{
    const char *prefix[] = {"--store", st, "--json", "doctor", NULL};
    struct azk_run r;
    va_list ap;
    va_start(ap, want);
    azk_run_vlist(&r, NULL, prefix, ap);
    va_end(ap);
    cJSON *rep = cJSON_Parse(r.out);
    if (rep == NULL)
        fail_msg("doctor: not JSON:\n%s\n%s", r.out, r.err);
    if (strcmp(top_cause(rep), want) != 0) {
        char *all = cJSON_PrintUnformatted(rep);
        fail_msg("top cause %s, expected %s: %s", top_cause(rep), want, all);
    }
    assert_int_equal(r.status, 1);
    cJSON_Delete(rep);
    azk_run_free(&r);
}

static void test_doctor_top_cause(void **state)
{
    (void)state;
    char hubhost[64];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    /* The key of another certificate beside the device's certificate. */
    cred(store("keymis"), "write", "10", "ca_chain", hub.ca, NULL);
    cred(store("keymis"), "write", "10", "client_cert", file("run-dev", "chain"), NULL);
    cred(store("keymis"), "write", "10", "key", file("inter", "key"), NULL);
    expect_top(store("keymis"), "client.key", NULL);
    /* Certificate and key in tag 12, which the socket (tag 10) never offers. */
    cred(store("tag12"), "write", "10", "ca_chain", hub.ca, NULL);
    cred(store("tag12"), "write", "12", "client_cert", file("run-dev", "chain"), NULL);
    cred(store("tag12"), "write", "12", "key", file("run-dev", "key"), NULL);
    expect_top(store("tag12"), "client.cert", "--sec-tag", "10", NULL);
    /* An expired device certificate. */
    test_hub_make_cert(g_dir, AZK_PKI_DEVICE, "run-old", "run-old", "inter",
                       "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z");
    cred(store("expired"), "write", "10", "ca_chain", hub.ca, NULL);
    cred(store("expired"), "write", "10", "client_cert", file("run-old", "cert"), NULL);
    cred(store("expired"), "write", "10", "key", file("run-old", "key"), NULL);
    expect_top(store("expired"), "client.validity", NULL);
    /* CN != id; a root CA as the client certificate; the leaf alone against a group. */
    expect_top(g_store_azure, "client.id", "--registration-id", "someone", NULL);
    expect_top(store("rootcert"), "client.cert", NULL);
    expect_top(g_store_leaf, "client.chain", "--id-scope", g_scope, "--dps-host", g_dps,
               "--register", NULL);

    /* A disabled device (IoT Hub refuses it after CONNECT): the connection test names it. */
    test_hub_make_cert(g_dir, AZK_PKI_SELF_SIGNED, "run-off", "run-off", NULL, NULL, NULL);
    cJSON_Delete(test_hub_admin(&hub, 0, "device", "add", "run-off", "--cert",
                                file("run-off", "cert"), "--disabled", NULL));
    provision(store("off"), file("run-off", "cert"), file("run-off", "key"), hub.ca);
    expect_top(store("off"), "connect.hub", "--hub", hubhost, "--device-id", "run-off",
               "--connect", NULL);
    /* A disabled enrollment (DPS refuses the registration). */
    test_hub_make_cert(g_dir, AZK_PKI_SELF_SIGNED, "run-noenr", "run-noenr", NULL, NULL, NULL);
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "run-noenr", "--cert",
                                file("run-noenr", "cert"), "--disabled", NULL));
    provision(store("noenr"), file("run-noenr", "cert"), file("run-noenr", "key"), hub.ca);
    expect_top(store("noenr"), "connect.dps", "--id-scope", g_scope, "--dps-host", g_dps,
               "--register", NULL);
}

/* --profile nrf9160: a server chain over the modem's 4 KB fails online.server-chain. The
 * server is `openssl s_server` with a certificate made fat with names (one EC certificate of
 * more than 4 KB). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_doctor_server_chain_limit(void **state)
{
    (void)state;
    char san[8192] = "subjectAltName=DNS:localhost";
    for (int i = 0; i < 300; i++) {
        size_t used = strlen(san);
        snprintf(san + used, sizeof(san) - used, ",DNS:name-%03d.azkit.test", i);
    }
    char cmd[10000];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=localhost -addext '%s' -keyout %s/fat.key.pem -out %s/fat.cert.pem "
             "2>&1",
             san, g_dir, g_dir);
    int st;
    free(azk_test_shell(cmd, &st));
    assert_int_equal(st, 0);
    int port = free_port();
    char accept[32], certf[700], keyf[700];
    snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
    snprintf(certf, sizeof(certf), "%s/fat.cert.pem", g_dir);
    snprintf(keyf, sizeof(keyf), "%s/fat.key.pem", g_dir);
    pid_t srv = fork();
    assert_true(srv >= 0);
    if (srv == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", certf, "-key", keyf,
               "-quiet", NULL);
        _exit(127);
    }
    /* Until it listens. */
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            break;
        usleep(50000);
    }
    char hubhost[64];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", port);
    cJSON *r = doctor(g_store, &st, "--hub", hubhost, "--connect-address", "127.0.0.1",
                      "--handshake", "--profile", "nrf9160", NULL);
    expect(r, "online.server-chain", "failed", "more than the profile's limit");
    assert_int_equal(st, 1);
    cJSON_Delete(r);
    /* Without the profile: the size is reported, not judged. */
    r = doctor(g_store, &st, "--hub", hubhost, "--connect-address", "127.0.0.1", "--handshake",
               NULL);
    expect(r, "online.server-chain", "info", "bytes (DER)");
    cJSON_Delete(r);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    /* azkit-hub keeps its chain under the modem's limit. */
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    r = doctor(g_store, &st, "--hub", hubhost, "--connect-address", "127.0.0.1", "--handshake",
               "--profile", "nrf9160", NULL);
    expect(r, "online.server-chain", "info", "bytes (DER)");
    expect(r, "online.tls", "ok", NULL);
    assert_int_equal(st, 0);
    cJSON_Delete(r);
}

/* A PEM saved with CRLF line ends and written with sizeof() (a trailing NUL): each is a warning
 * when written (the stored credential is normalised), and the device then connects. */
static void test_pem_crlf_nul_warned_and_works(void **state)
{
    (void)state;
    size_t len;
    char *ca = azk_test_read(hub.ca, &len);
    char *crlf = malloc(2 * len + 2);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (ca[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = ca[i];
    }
    crlf[n++] = '\0'; /* the sizeof() NUL, written as content */
    char path[700];
    snprintf(path, sizeof(path), "%s/ca-crlf-nul.pem", g_dir);
    azk_test_write(path, crlf, n);
    free(crlf);
    free(ca);
    const char *st = store("crlfnul");
    const char *argv[] = {"--store", st, "--json", "cred", "write", "10", "ca_chain", path, NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "cred.nul-normalised"));
    assert_non_null(strstr(r.out, "cred.crlf-normalised"));
    azk_run_free(&r);
    cred(st, "write", "10", "client_cert", file("run-dev", "chain"), NULL);
    cred(st, "write", "10", "key", file("run-dev", "key"), NULL);
    /* The connection works: DPS, the hub and a twin GET. */
    int status;
    cJSON *rep = doctor(st, &status, "--id-scope", g_scope, "--dps-host", g_dps, "--register",
                        "--connect", NULL);
    assert_int_equal(status, 0);
    expect(rep, "connect.hub", "ok", "connected to");
    expect(rep, "connect.twin", "ok", NULL);
    cJSON_Delete(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_and_sends),
        cmocka_unit_test(test_receives),
        cmocka_unit_test(test_mistakes),
        cmocka_unit_test(test_direct_hub),
        cmocka_unit_test(test_dps_assignment_kept),
        cmocka_unit_test(test_doctor_good),
        cmocka_unit_test(test_doctor_mistakes),
        cmocka_unit_test(test_doctor_human_output),
        cmocka_unit_test(test_doctor_online_opt_in),
        cmocka_unit_test(test_doctor_tags_and_chain),
        cmocka_unit_test(test_doctor_top_cause),
        cmocka_unit_test(test_doctor_server_chain_limit),
        cmocka_unit_test(test_pem_crlf_nul_warned_and_works),
        cmocka_unit_test(test_fleet),
        cmocka_unit_test(test_fleet_window_and_payload),
        cmocka_unit_test(test_fleet_answers_methods),
        cmocka_unit_test(test_fleet_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

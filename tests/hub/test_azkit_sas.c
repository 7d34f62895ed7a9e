/*
 * Symmetric-key devices driven by `azkit run` and `azkit fleet` against the real azkit-hub
 * (TLS on loopback; the device trusts the hub's CA from its security tag, as an nRF91 would):
 *  - a registry device with symmetric keys (`azkit-hub device add --sas`) through its
 *    connection string: telemetry stored, reported properties in the twin, the twin read;
 *  - a wrong key: CONNACK 5 with a hint, the hub's log naming the rule (bad signature); keys
 *    never printed; bad connection strings refused before connecting;
 *  - DPS: an individual symmetric-key enrollment, and a group (the device key derived from the
 *    group key by azkit);
 *  - a fleet of devices from one group key;
 *  - token renewal: a short lifetime, the device reconnects with new tokens and every message
 *    arrives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "hub_harness.h"
#include "support/test_util.h"

#define KEY_A "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" /* 32 bytes of 0x01 */
#define KEY_B "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=" /* 32 bytes of 0x02 */
#define GROUP_KEY "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw=="

static struct test_hub hub;
static char g_dir[512], g_store[700];
static char g_scope[32], g_dps[300];

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_init(&hub);
    const char *extra[] = {"--dps-retry-after", "1", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps, sizeof(g_dps));
    /* A symmetric-key device still needs to trust the server: the hub's CA in tag 10. */
    snprintf(g_store, sizeof(g_store), "%s/store", g_dir);
    const char *argv[] = {"--store", g_store, "cred", "write", "10", "ca_chain", hub.ca, NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("cred write: %s", r.err);
    azk_run_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* `azkit --store S --json run ARGS...` with `input` on stdin: the events (a JSON array of
 * the output lines); stderr into err (may be NULL). The key material never shows. */
static cJSON *run(const char *input, int *status, char *err, size_t errlen, ...)
{
    const char *prefix[] = {"--store", g_store, "--json", "run", NULL};
    struct azk_run r;
    va_list ap;
    va_start(ap, errlen);
    azk_run_vlist(&r, input, prefix, ap);
    va_end(ap);
    *status = r.status;
    if (err != NULL)
        snprintf(err, errlen, "%s", r.err);
    const char *secrets[] = {KEY_A, KEY_B, GROUP_KEY, "sig="};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(r.out, secrets[i]) || strstr(r.err, secrets[i]))
            fail_msg("a key or token was printed:\n%s\n%s", r.out, r.err);
    cJSON *events = r.status == 2 ? cJSON_CreateArray() : azk_run_json_lines(&r);
    azk_run_free(&r);
    return events;
}

/* The number of events of a kind; the first one in *first (may be NULL). */
static int count(const cJSON *events, const char *kind, const cJSON **first)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, events)
    {
        const cJSON *k = cJSON_GetObjectItem(e, "event");
        if (cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0) {
            if (n++ == 0 && first != NULL)
                *first = e;
        }
    }
    return n;
}

static const cJSON *event(const cJSON *events, const char *kind)
{
    const cJSON *e = NULL;
    if (count(events, kind, &e) == 0) {
        char *text = cJSON_PrintUnformatted(events);
        fail_msg("no '%s' event in %s", kind, text);
    }
    return e;
}

static int num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", name);
    return v->valueint;
}

/* `azkit-hub device add ID --sas`: the connection string it prints. */
static void add_sas_device(const char *id, char *cs, size_t size)
{
    cJSON *j = test_hub_admin(&hub, 0, "device", "add", id, "--sas", NULL);
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "device");
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dev, "connectionString"));
    assert_non_null(s);
    snprintf(cs, size, "%s", s);
    cJSON_Delete(j);
}

/* The telemetry the hub stored for `id`, as text. */
static char *telemetry(const char *id, int *records)
{
    cJSON *t = test_hub_admin(&hub, 0, "telemetry", "--device", id, NULL);
    cJSON *recs = cJSON_GetObjectItem(t, "records");
    *records = cJSON_GetArraySize(recs);
    char *text = cJSON_PrintUnformatted(recs);
    cJSON_Delete(t);
    return text;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* A registry device with keys, through its connection string (read from standard input):
 * telemetry stored, reported properties in the twin, the full twin read at connect. */
static void test_connection_string(void **state)
{
    (void)state;
    char cs[1024], in[1100];
    add_sas_device("sas-run", cs, sizeof(cs));
    snprintf(in, sizeof(in), "%s\n", cs);
    int st;
    cJSON *ev = run(in, &st, NULL, 0, "--connection-string", "-", "--count", "3", "--interval",
                    "50", "--message", "{\"sas\":%d}", "--report", "{\"auth\":\"sas\"}", NULL);
    assert_int_equal(st, 0);
    const cJSON *c = event(ev, "connected");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "deviceId")), "sas-run");
    const cJSON *d = event(ev, "desired");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "full"))); /* the twin, read */
    const cJSON *done = event(ev, "done");
    assert_int_equal(num(done, "sent"), 3);
    assert_int_equal(num(done, "acked"), 3);
    assert_int_equal(count(ev, "registered", NULL), 0); /* no DPS */
    cJSON_Delete(ev);
    int n;
    char *text = telemetry("sas-run", &n);
    assert_int_equal(n, 3);
    assert_non_null(strstr(text, "{\\\"sas\\\":3}"));
    free(text);
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "sas-run", NULL);
    text = cJSON_PrintUnformatted(tw);
    assert_non_null(strstr(text, "\"auth\":\"sas\""));
    free(text);
    cJSON_Delete(tw);
    assert_true(test_hub_log_contains(&hub, "device 'sas-run'"));
}

/* Another key: CONNACK 5, a hint about the token, the hub's log naming the rule. */
static void test_wrong_key(void **state)
{
    (void)state;
    char cs[1024], wrong[1100], err[4096];
    add_sas_device("sas-wrong", cs, sizeof(cs));
    char *k = strstr(cs, "SharedAccessKey=");
    assert_non_null(k);
    *k = '\0';
    snprintf(wrong, sizeof(wrong), "%sSharedAccessKey=%s", cs, KEY_B);
    int st;
    cJSON *ev = run(NULL, &st, err, sizeof(err), "--connection-string", wrong, "--once", NULL);
    assert_int_not_equal(st, 0);
    const cJSON *f = event(ev, "failed");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(f, "failure")),
                        "connack-refused");
    assert_int_equal(num(f, "code"), 5);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(f, "hints"));
    assert_non_null(strstr(text, "refused the SAS token of device 'sas-wrong'"));
    free(text);
    cJSON_Delete(ev);
    assert_true(test_hub_log_contains(&hub, "device 'sas-wrong': refused (CONNACK 5): sas: bad "
                                            "signature"));
}

/* The device's key with --hub and --device-id; a connection string with the hub's
 * iothubowner policy key (SharedAccessKeyName), which grants device connect. */
static void test_direct_key_and_policy(void **state)
{
    (void)state;
    char cs[1024], policy_cs[1024], hub_addr[64];
    add_sas_device("sas-direct", cs, sizeof(cs));
    const char *key = strstr(cs, "SharedAccessKey=") + strlen("SharedAccessKey=");
    snprintf(hub_addr, sizeof(hub_addr), "localhost:%d", hub.mqtt_port);
    int st;
    cJSON *ev = run(NULL, &st, NULL, 0, "--hub", hub_addr, "--device-id", "sas-direct",
                    "--symmetric-key", key, "--count", "1", NULL);
    assert_int_equal(st, 0);
    assert_int_equal(num(event(ev, "done"), "acked"), 1);
    cJSON_Delete(ev);
    const char *owner = strstr(hub.conn_str, "SharedAccessKey=");
    assert_non_null(owner);
    snprintf(policy_cs, sizeof(policy_cs),
             "HostName=%s;DeviceId=sas-direct;SharedAccessKeyName=iothubowner;%s", hub_addr,
             owner);
    ev = run(NULL, &st, NULL, 0, "--connection-string", policy_cs, "--count", "1", NULL);
    assert_int_equal(st, 0);
    assert_int_equal(num(event(ev, "done"), "acked"), 1);
    cJSON_Delete(ev);
    int n;
    free(telemetry("sas-direct", &n));
    assert_int_equal(n, 2);
}

/* Bad input is refused before connecting, without echoing the key. */
static void test_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *a1, *a2, *a3, *a4, *why;
    } cases[] = {
        {"--connection-string", "HostName=localhost;SharedAccessKey=" KEY_A, NULL, NULL,
         "no DeviceId"},
        {"--connection-string", "HostName=localhost;DeviceId=d;SharedAccessKey=" KEY_A,
         "--hub", "localhost", "names the hub and the device"},
        {"--symmetric-key", "c2VjcmV0", "--id-scope", g_scope, "needs its id"},
        {"--symmetric-key", "not-base64!", "--hub", "localhost", "needs its id"},
        {"--group-key", GROUP_KEY, "--hub", "localhost", "enrollment group's key"},
        {"--sas-ttl", "60", "--hub", "localhost", "for symmetric-key devices"},
        {"--sas-ttl", "1", "--symmetric-key", KEY_A, "--sas-ttl needs seconds 2.."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st;
        char err[2048];
        cJSON *ev = run(NULL, &st, err, sizeof(err), cases[i].a1, cases[i].a2, cases[i].a3,
                        cases[i].a4, NULL);
        cJSON_Delete(ev);
        assert_int_equal(st, 2);
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].why);
    }
    /* A key that is not base64 of 16..64 bytes. */
    int st;
    char err[2048];
    cJSON_Delete(run(NULL, &st, err, sizeof(err), "--symmetric-key", "c2VjcmV0", "--hub",
                     "localhost", "--device-id", "d", NULL));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "--symmetric-key needs a base64 key of 16 to 64 bytes"));
    assert_null(strstr(err, "c2VjcmV0"));
}

/* DPS, individual enrollment with symmetric keys: registered, connected, telemetry. */
static void test_dps_individual(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "sym-run", "--symmetric-key",
                                "--primary-key", KEY_A, NULL));
    int st;
    cJSON *ev = run(NULL, &st, NULL, 0, "--id-scope", g_scope, "--dps-host", g_dps,
                    "--registration-id", "sym-run", "--symmetric-key", KEY_A, "--count", "2",
                    "--interval", "20", NULL);
    assert_int_equal(st, 0);
    const cJSON *reg = event(ev, "registered");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(reg, "deviceId")), "sym-run");
    event(ev, "connected");
    assert_int_equal(num(event(ev, "done"), "acked"), 2);
    cJSON_Delete(ev);
    int n;
    free(telemetry("sym-run", &n));
    assert_int_equal(n, 2);
    /* Another key: DPS refuses (401), with a hint. */
    ev = run(NULL, &st, NULL, 0, "--id-scope", g_scope, "--dps-host", g_dps,
             "--registration-id", "sym-run", "--symmetric-key", KEY_B, "--once", NULL);
    assert_int_not_equal(st, 0);
    const cJSON *f = event(ev, "failed");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(f, "failure")),
                        "dps-unauthorized");
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(f, "hints"));
    assert_non_null(strstr(text, "DPS refused the SAS token of registration 'sym-run'"));
    free(text);
    cJSON_Delete(ev);
}

/* DPS, enrollment group: azkit derives the device key from the group key. */
static void test_dps_group(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "sym-grp", "--symmetric-key",
                                "--primary-key", GROUP_KEY, NULL));
    int st;
    cJSON *ev = run(GROUP_KEY "\n", &st, NULL, 0, "--id-scope", g_scope, "--dps-host", g_dps,
                    "--registration-id", "grp-dev-1", "--group-key", "-", "--count", "1", NULL);
    assert_int_equal(st, 0);
    event(ev, "registered");
    event(ev, "connected");
    assert_int_equal(num(event(ev, "done"), "acked"), 1);
    cJSON_Delete(ev);
    assert_true(test_hub_log_contains(&hub, "enrollment group 'sym-grp' (device key derived"));
    int n;
    free(telemetry("grp-dev-1", &n));
    assert_int_equal(n, 1);
}

/* A fleet from one group key: every device registers and connects, every message arrives. */
static void test_fleet_group_key(void **state)
{
    (void)state;
    const char *argv[] = {"--json", "fleet", "--group-key", GROUP_KEY, "--id-scope", g_scope,
                          "--dps-host", g_dps, "--trust", hub.ca, "--count", "5",
                          "--prefix", "sasfleet-", "--messages", "2", "--interval", "20", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("fleet: %s\n%s", r.out, r.err);
    assert_null(strstr(r.out, GROUP_KEY));
    assert_null(strstr(r.err, GROUP_KEY));
    /* The summary is the last line. */
    size_t len = strlen(r.out);
    while (len > 0 && r.out[len - 1] == '\n')
        r.out[--len] = '\0';
    const char *last = strrchr(r.out, '\n');
    cJSON *s = cJSON_Parse(last ? last + 1 : r.out);
    assert_non_null(s);
    assert_int_equal(num(s, "registered"), 5);
    assert_int_equal(num(s, "connected"), 5);
    assert_int_equal(num(s, "failed"), 0);
    assert_int_equal(num(s, "acked"), 10);
    cJSON_Delete(s);
    azk_run_free(&r);
    int n;
    free(telemetry("sasfleet-4", &n));
    assert_int_equal(n, 2);
}

/* A fleet with short tokens: every device reconnects with new ones, none fails. */
static void test_fleet_renewal(void **state)
{
    (void)state;
    const char *argv[] = {"--json", "fleet", "--group-key", "-", "--sas-ttl", "2", "--id-scope",
                          g_scope, "--dps-host", g_dps, "--trust", hub.ca, "--count", "2",
                          "--prefix", "sasrenew-", "--messages", "8", "--interval", "400", NULL};
    struct azk_run r;
    azk_run(&r, GROUP_KEY "\n", argv);
    if (r.status != 0)
        fail_msg("fleet: %s\n%s", r.out, r.err);
    cJSON *lines = azk_run_json_lines(&r);
    const cJSON *s = cJSON_GetArrayItem(lines, cJSON_GetArraySize(lines) - 1);
    assert_int_equal(num(s, "connected"), 2);
    assert_int_equal(num(s, "failed"), 0);
    assert_int_equal(num(s, "sent"), 16);
    assert_true(num(s, "reconnects") >= 2); /* 3.2 s of 2 s tokens: each device reconnected */
    cJSON_Delete(lines);
    azk_run_free(&r);
}

/* A short token lifetime: the device reconnects with new tokens (renewed before expiry, or
 * after the hub closed the connection at expiry) and every message arrives. */
static void test_token_renewal(void **state)
{
    (void)state;
    char cs[1024];
    add_sas_device("sas-renew", cs, sizeof(cs));
    int st;
    cJSON *ev = run(NULL, &st, NULL, 0, "--connection-string", cs, "--sas-ttl", "2", "--count",
                    "12", "--interval", "400", "--message", "{\"m\":%d}", NULL);
    assert_int_equal(st, 0);
    int connections = count(ev, "connected", NULL);
    if (connections < 2) {
        char *text = cJSON_PrintUnformatted(ev);
        fail_msg("one connection only in 4.8 s with 2 s tokens: %s", text);
    }
    const cJSON *done = event(ev, "done");
    assert_int_equal(num(done, "sent"), 12);
    assert_int_equal(num(done, "acked"), 12);
    cJSON_Delete(ev);
    int n;
    char *text = telemetry("sas-renew", &n);
    assert_true(n >= 12); /* at least once: one sent again after a reconnect may be twice */
    for (int i = 1; i <= 12; i++) {
        char want[32];
        snprintf(want, sizeof(want), "{\\\"m\\\":%d}", i);
        if (strstr(text, want) == NULL)
            fail_msg("message %d is missing: %s", i, text);
    }
    free(text);
    /* The hub accepted more than one token of this device. */
    assert_true(test_hub_log_contains(&hub, "device 'sas-renew'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_string), cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_direct_key_and_policy),
        cmocka_unit_test(test_bad_input),         cmocka_unit_test(test_dps_individual),
        cmocka_unit_test(test_dps_group),         cmocka_unit_test(test_fleet_group_key),
        cmocka_unit_test(test_fleet_renewal),     cmocka_unit_test(test_token_renewal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

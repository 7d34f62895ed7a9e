/*
 * Linked hubs: one azkit-hub process serving the primary hub (localhost) and two linked hubs,
 * each with its own registry, twins and telemetry, told apart by TLS SNI and the username's
 * host (MQTT) or the Host header and token (service API); DPS allocation over them (static,
 * hashed) and reprovisioning when an enrollment's hub changes (migrate the twin, reset it to
 * the initial twin, or never move). Everything through the real binary: devices over raw MQTT,
 * the admin CLI, the service API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "azkit/pki.h"
#include "dps_test_util.h"
#include "hub/dps/dps_allocate.h"
#include "hub/service/sas.h"
#include "hub_harness.h"
#include "service_test_util.h"
#include "support/test_util.h"

#define HUB_B "hub-b.azkit.test"
#define HUB_C "hub-c.azkit.test"

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32];
static const char *const g_extra[] = {"--linked-hub", HUB_B, "--linked-hub", HUB_C,
                                      "--dps-retry-after", "1", NULL};

static const char *file(const char *name, const char *ext)
{
    return test_pem_path(g_dir, name, ext);
}

static void make(enum azk_pki_kind kind, const char *cn, const char *issuer)
{
    test_hub_make_cert(g_dir, kind, cn, cn, issuer, NULL, NULL);
}

static const char *const g_hashed[] = {"h-0", "h-1", "h-2", "h-3", "h-4", "h-5", "h-6", "h-7"};
#define N_HASHED (sizeof(g_hashed) / sizeof(g_hashed[0]))

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    make(AZK_PKI_SELF_SIGNED, "lone", NULL);
    make(AZK_PKI_SELF_SIGNED, "ind-b", NULL);
    make(AZK_PKI_SELF_SIGNED, "ind-nowhere", NULL);
    make(AZK_PKI_SELF_SIGNED, "mover", NULL);
    make(AZK_PKI_SELF_SIGNED, "resetter", NULL);
    make(AZK_PKI_SELF_SIGNED, "stayer", NULL);
    test_hub_make_cert(g_dir, AZK_PKI_ROOT, "Group Root", "grp-root", NULL, NULL, NULL);
    for (size_t i = 0; i < N_HASHED; i++)
        make(AZK_PKI_DEVICE, g_hashed[i], "grp-root");
    test_hub_init(&hub);
    test_hub_start(&hub, g_extra);
    char ready[700];
    snprintf(ready, sizeof(ready), "%s/ready.json", hub.dir);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    char *text = azk_test_read(ready, NULL);
    cJSON *j = cJSON_Parse(text);
    /* The ready file lists the served hubs, primary first. */
    cJSON *hubs = cJSON_GetObjectItem(j, "hubs");
    assert_int_equal(cJSON_GetArraySize(hubs), 3);
    assert_string_equal(cJSON_GetArrayItem(hubs, 0)->valuestring, "localhost");
    assert_string_equal(cJSON_GetArrayItem(hubs, 1)->valuestring, HUB_B);
    cJSON_Delete(j);
    free(text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_dev_set_sni("localhost");
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* CONNECT as `id` with SNI `sni` (NULL: none) and the username's host `user_host`, the device's
 * certificate `cert`; returns the CONNACK code (the connection stays open in *d when 0). */
static int dev_connect(struct test_dev *d, const char *sni, const char *user_host,
                       const char *id, const char *cert)
{
    test_dev_set_sni(sni);
    int tls = test_dev_tls(d, &hub, file(cert, "cert"), file(cert, "key"), TLS1_2_VERSION, NULL);
    test_dev_set_sni("localhost");
    assert_int_equal(tls, 0);
    char user[300];
    snprintf(user, sizeof(user), "%s/%s/?api-version=2021-04-12", user_host, id);
    int rc = test_dev_connect(d, id, user, true, 60, NULL);
    if (rc != 0)
        test_dev_close(d);
    return rc;
}

/* Whether device `id` is in the registry of `iot_hub` (NULL: the primary hub). */
static bool device_in(const char *iot_hub, const char *id)
{
    char ready[700];
    snprintf(ready, sizeof(ready), "%s/ready.json", hub.dir);
    const char *argv[] = {"--ready-file", ready, "--json", "device", "show", id,
                          iot_hub ? "--hub" : NULL, iot_hub, NULL};
    struct azk_run r;
    azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
    cJSON *j = cJSON_Parse(r.out);
    bool found = r.status == 0 && cJSON_GetObjectItem(j, "device") != NULL;
    if (!found && (r.status != 1 || strstr(r.out, "DeviceNotFound") == NULL))
        fail_msg("device show %s: exit %d, neither the device nor DeviceNotFound:\n%s\n%s", id,
                 r.status, r.out, r.err);
    cJSON_Delete(j);
    azk_run_free(&r);
    return found;
}

/* The host:port a device is told to use for `host`. */
static const char *endpoint(const char *host)
{
    static char buf[4][300];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, 300, "%s:%d", host, hub.mqtt_port);
    return b;
}

/* A DPS registration over raw MQTT (no SNI, as an nRF91 sends it to the DPS host): the final
 * answer's registrationState (caller frees the returned document). */
static cJSON *provision(const char *reg_id, const char *cert, int *status, cJSON **state)
{
    struct test_dev d;
    test_dps_open(&d, &hub, g_scope, reg_id, file(cert, "cert"), file(cert, "key"), true);
    cJSON *j = test_dps_register(&d, "1", "", status);
    test_dev_close(&d);
    *state = cJSON_GetObjectItem(j, "registrationState");
    assert_non_null(*state);
    return j;
}

static const char *jpath(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b), c);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *a, const char *b, const char *c)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b), c);
    if (!cJSON_IsNumber(v))
        fail_msg("%s.%s.%s is not a number", a, b, c);
    return v->valuedouble;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Each hub has its own registry and telemetry; SNI or the username's host picks the hub; two
 * names that pick two hubs are refused with a reason. */
static void test_registries_apart(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "--hub", HUB_B, "device", "add", "lone", "--cert",
                                file("lone", "cert"), NULL));
    assert_true(device_in(HUB_B, "lone"));
    assert_false(device_in(NULL, "lone"));
    assert_false(device_in(HUB_C, "lone"));

    struct test_dev d;
    /* SNI and username both name hub B. */
    assert_int_equal(dev_connect(&d, HUB_B, HUB_B, "lone", "lone"), 0);
    test_dev_publish(&d, "devices/lone/messages/events/", "{\"n\":1}", 1, 3);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
    test_dev_close(&d);
    /* No SNI (a device connecting by address): the username's host picks hub B. */
    assert_int_equal(dev_connect(&d, NULL, HUB_B, "lone", "lone"), 0);
    test_dev_close(&d);
    /* SNI hub B with an unknown name in the username: hub B. */
    assert_int_equal(dev_connect(&d, HUB_B, "whatever.example", "lone", "lone"), 0);
    test_dev_close(&d);
    /* The primary hub does not know the device. */
    assert_int_equal(dev_connect(&d, "localhost", "localhost", "lone", "lone"), 5);
    /* SNI says hub C, the username hub B: refused, and the log says why. */
    assert_int_equal(dev_connect(&d, HUB_C, HUB_B, "lone", "lone"), 5);
    assert_true(test_hub_log_contains(&hub, "the TLS server name (SNI) is 'hub-c.azkit.test' "
                                            "but the request names 'hub-b.azkit.test'"));

    /* Telemetry lands in hub B's store only. */
    cJSON *j = test_hub_admin(&hub, 0, "--hub", HUB_B, "telemetry", "--device", "lone", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "records")), 1);
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 0, "telemetry", "--device", "lone", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "records")), 0);
    cJSON_Delete(j);

    /* Service API: a token for hub B sent to the primary hub is refused; sent to hub B it
     * works; the primary hub answers 404 for the device. */
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, "localhost", &t);
    char tok[HUB_SAS_TOKEN_MAX];
    assert_true(hub_sas_create(t.key, HUB_B, HUB_SAS_POLICY_HUB, (int64_t)time(NULL) + 600, tok,
                               sizeof(tok)) > 0);
    t.authorization = tok; /* for hub B, sent with Host: localhost */
    struct svc_resp r;
    svc_test_request(&t, &r, "GET", "/devices/lone", NULL, NULL, 0);
    svc_test_check(&r, 401, "IotHubUnauthorizedAccess");
    snprintf(t.sr, sizeof(t.sr), HUB_B);
    snprintf(t.tls_name, sizeof(t.tls_name), HUB_B);
    svc_test_request(&t, &r, "GET", "/devices/lone", NULL, NULL, 0);
    svc_test_check(&r, 200, NULL);
    /* A device query runs over the registry of the hub the request is for. */
    const char *q = "{\"query\":\"SELECT deviceId FROM devices WHERE deviceId = 'lone'\"}";
    svc_test_request(&t, &r, "POST", "/devices/query", q, NULL, 0);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.j), 1);
    svc_resp_free(&r);
    t.authorization = NULL;
    snprintf(t.sr, sizeof(t.sr), "localhost");
    snprintf(t.tls_name, sizeof(t.tls_name), "localhost");
    svc_test_request(&t, &r, "GET", "/devices/lone", NULL, NULL, 0);
    svc_test_check(&r, 404, "DeviceNotFound");

    /* A token naming one of the primary hub's addresses (127.0.0.1, localhost, [::1], with a
     * port or a path) is for the primary hub: hub B refuses it, whatever the Host header and
     * TLS name say, and the primary hub takes it. */
    static const char *const primary_names[] = {"127.0.0.1", "localhost", "[::1]:443",
                                                "127.0.0.1/devices/lone", "LOCALHOST"};
    for (size_t i = 0; i < sizeof(primary_names) / sizeof(primary_names[0]); i++) {
        assert_true(hub_sas_create(t.key, primary_names[i], HUB_SAS_POLICY_HUB,
                                   (int64_t)time(NULL) + 600, tok, sizeof(tok)) > 0);
        t.authorization = tok;
        snprintf(t.sr, sizeof(t.sr), HUB_B); /* the Host header */
        snprintf(t.tls_name, sizeof(t.tls_name), HUB_B);
        svc_test_request(&t, &r, "GET", "/devices/lone", NULL, NULL, 0);
        if (r.r.status != 401)
            fail_msg("a token for '%s' sent to %s: %d, not 401", primary_names[i], HUB_B,
                     r.r.status);
        svc_test_check(&r, 401, "IotHubUnauthorizedAccess");
        snprintf(t.sr, sizeof(t.sr), "127.0.0.1");
        snprintf(t.tls_name, sizeof(t.tls_name), "localhost");
        svc_test_request(&t, &r, "GET", "/devices/lone", NULL, NULL, 0);
        svc_test_check(&r, 404, "DeviceNotFound");
    }
    assert_true(test_hub_log_contains(&hub, "its token (sr '127.0.0.1') is for localhost"));
    t.authorization = NULL;
    svc_test_request(&t, &r, "POST", "/devices/query", q, NULL, 0);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.j), 0);
    svc_resp_free(&r);
}

/* Static allocation to a linked hub: the device is created there and connects there. An
 * enrollment naming a hub this process does not serve fails with the reason. */
static void test_static_allocation(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "ind-b", "--cert",
                                file("ind-b", "cert"), "--iot-hub", HUB_B, "--allocation",
                                "static", NULL));
    int status = 0;
    cJSON *rs, *j = provision("ind-b", "ind-b", &status, &rs);
    assert_int_equal(status, 200);
    assert_string_equal(test_json_str(j, "status"), "assigned");
    assert_string_equal(test_json_str(rs, "assignedHub"), endpoint(HUB_B));
    assert_string_equal(test_json_str(rs, "substatus"), "initialAssignment");
    cJSON_Delete(j);
    assert_true(device_in(HUB_B, "ind-b"));
    assert_false(device_in(NULL, "ind-b"));
    struct test_dev d;
    assert_int_equal(dev_connect(&d, HUB_B, HUB_B, "ind-b", "ind-b"), 0);
    test_dev_close(&d);

    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "ind-nowhere", "--cert",
                                file("ind-nowhere", "cert"), "--iot-hub", "nowhere.azkit.test",
                                "--allocation", "static", NULL));
    j = provision("ind-nowhere", "ind-nowhere", &status, &rs);
    assert_int_equal(status, 200);
    assert_string_equal(test_json_str(j, "status"), "failed");
    assert_int_equal((int)cJSON_GetObjectItem(rs, "errorCode")->valuedouble, 400209);
    assert_non_null(strstr(test_json_str(rs, "errorMessage"),
                           "'nowhere.azkit.test' is not a linked IoT hub"));
    cJSON_Delete(j);
}

/* Hashed allocation spreads a group's devices over the linked hubs by a stable hash of the
 * registration id (iotHubs limits the candidates). */
static void test_hashed_allocation(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "grp-hash", "--cert",
                                file("grp-root", "cert"), "--allocation", "hashed", NULL));
    /* The candidates in sorted order, as dps_allocate takes them. */
    const char *all[] = {HUB_B, HUB_C, "localhost"};
    bool used[3] = {false, false, false};
    for (size_t i = 0; i < N_HASHED; i++) {
        int status = 0;
        cJSON *rs, *j = provision(g_hashed[i], g_hashed[i], &status, &rs);
        assert_int_equal(status, 200);
        size_t want = (size_t)(dps_alloc_hash(g_hashed[i]) % 3);
        used[want] = true;
        assert_string_equal(test_json_str(rs, "assignedHub"), endpoint(all[want]));
        cJSON_Delete(j);
        assert_true(device_in(strcmp(all[want], "localhost") == 0 ? NULL : all[want],
                              g_hashed[i]));
    }
    assert_true((used[0] + used[1] + used[2]) >= 2);
}

/* Registers `id`, then checks where it landed. */
static void expect_assigned(const char *id, const char *host, const char *substatus)
{
    int status = 0;
    cJSON *rs, *j = provision(id, id, &status, &rs);
    assert_int_equal(status, 200);
    assert_string_equal(test_json_str(j, "status"), "assigned");
    assert_string_equal(test_json_str(rs, "assignedHub"), endpoint(host));
    assert_string_equal(test_json_str(rs, "substatus"), substatus);
    cJSON_Delete(j);
}

/* A device on the primary hub reports a property and gets a desired one from the service. */
static void use_primary(const char *id, struct test_dev *d)
{
    assert_int_equal(dev_connect(d, "localhost", "localhost", id, id), 0);
    const char *f[] = {"$iothub/twin/res/#"};
    test_dev_subscribe(d, 1, f, 1, 0);
    assert_int_equal(test_dev_read(d, 5000), 1);
    test_dev_publish(d, "$iothub/twin/PATCH/properties/reported/?$rid=7", "{\"fw\":\"1.0\"}", 0,
                     0);
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_true(azk_span_eq_str(d->pkt.u.publish.topic, "$iothub/twin/res/204/?$rid=7&$version=2"));
    cJSON_Delete(test_hub_admin(&hub, 0, "twin", "set-desired", id, "{\"x\":5}", NULL));
}

static const char g_initial[] = "{\"tags\":{\"t\":1},\"properties\":{\"desired\":{\"d\":1}}}";

/* migrateDeviceData: the device moves to hub B with its twin; it leaves the primary hub,
 * whose connection to it is closed. */
static void test_reprovision_migrate(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "mover", "--cert",
                                file("mover", "cert"), "--iot-hub", "localhost",
                                "--initial-twin", g_initial, NULL));
    expect_assigned("mover", "localhost", "initialAssignment");
    struct test_dev d;
    use_primary("mover", &d);
    /* The enrollment moves to hub B (reprovision default: migrate). */
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "mover", "--cert",
                                file("mover", "cert"), "--iot-hub", HUB_B, "--initial-twin",
                                g_initial, "--reprovision", "migrate", NULL));
    expect_assigned("mover", HUB_B, "deviceDataMigrated");
    assert_int_equal(test_dev_read(&d, 5000), -1); /* the primary hub dropped it */
    test_dev_close(&d);
    assert_false(device_in(NULL, "mover"));
    assert_true(device_in(HUB_B, "mover"));
    cJSON *tw = test_hub_admin(&hub, 0, "--hub", HUB_B, "twin", "show", "mover", NULL);
    cJSON *t = cJSON_GetObjectItem(tw, "twin") ? cJSON_GetObjectItem(tw, "twin") : tw;
    assert_string_equal(jpath(t, "properties", "reported", "fw"), "1.0");
    assert_int_equal((int)jnum(t, "properties", "desired", "x"), 5);
    assert_int_equal((int)jnum(t, "properties", "desired", "d"), 1);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(t, "tags"), "t")->valuedouble,
                     1);
    cJSON_Delete(tw);
    assert_int_equal(dev_connect(&d, HUB_B, HUB_B, "mover", "mover"), 0);
    test_dev_close(&d);
    /* The registration record says where it is now. */
    cJSON *rec = test_hub_admin(&hub, 0, "registration", "show", "mover", NULL);
    char *text = cJSON_PrintUnformatted(rec);
    assert_non_null(strstr(text, endpoint(HUB_B)));
    free(text);
    cJSON_Delete(rec);
}

/* Reset (updateHubAssignment without migrateDeviceData): the device moves with the initial twin
 * only. */
static void test_reprovision_reset(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "resetter", "--cert",
                                file("resetter", "cert"), "--iot-hub", "localhost",
                                "--initial-twin", g_initial, "--reprovision", "update", NULL));
    expect_assigned("resetter", "localhost", "initialAssignment");
    struct test_dev d;
    use_primary("resetter", &d);
    test_dev_close(&d);
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "resetter", "--cert",
                                file("resetter", "cert"), "--iot-hub", HUB_C, "--initial-twin",
                                g_initial, "--reprovision", "update", NULL));
    expect_assigned("resetter", HUB_C, "deviceDataReset");
    assert_false(device_in(NULL, "resetter"));
    cJSON *tw = test_hub_admin(&hub, 0, "--hub", HUB_C, "twin", "show", "resetter", NULL);
    cJSON *t = cJSON_GetObjectItem(tw, "twin") ? cJSON_GetObjectItem(tw, "twin") : tw;
    assert_int_equal((int)jnum(t, "properties", "desired", "d"), 1);
    assert_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(t, "properties"), "desired"), "x"));
    assert_null(jpath(t, "properties", "reported", "fw"));
    cJSON_Delete(tw);
}

/* Never: the device stays on its first hub however the enrollment changes. */
static void test_reprovision_never(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "stayer", "--cert",
                                file("stayer", "cert"), "--iot-hub", "localhost",
                                "--reprovision", "never", NULL));
    expect_assigned("stayer", "localhost", "initialAssignment");
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "individual", "stayer", "--cert",
                                file("stayer", "cert"), "--iot-hub", HUB_B, "--reprovision",
                                "never", NULL));
    expect_assigned("stayer", "localhost", "initialAssignment");
    assert_true(device_in(NULL, "stayer"));
    assert_false(device_in(HUB_B, "stayer"));
}

/* After a restart every hub still has its own devices. */
static void test_restart_keeps_hubs(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "--hub", HUB_C, "device", "add", "keep-c", "--cert",
                                file("lone", "cert"), NULL));
    test_hub_stop(&hub);
    test_hub_start(&hub, g_extra);
    assert_true(device_in(HUB_C, "keep-c"));
    assert_false(device_in(NULL, "keep-c"));
    assert_false(device_in(HUB_B, "keep-c"));
}

/* Bad --linked-hub values: each a usage error that says why, and nothing starts. */
static void test_bad_linked_hub(void **state)
{
    (void)state;
    struct {
        const char *value, *why;
    } bad[] = {
        {"127.0.0.2", "not an IP address"},
        {"localhost", "the primary hub's name"},
        {"bad_name.test", "letters, digits"},
        {"a..b", "empty labels"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"serve", "--data", g_dir, "--linked-hub", bad[i].value, NULL};
        struct azk_run r;
        azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
        assert_int_equal(r.status, 2);
        if (strstr(r.err, bad[i].why) == NULL)
            fail_msg("--linked-hub %s: stderr lacks '%s':\n%s", bad[i].value, bad[i].why, r.err);
        azk_run_free(&r);
    }
    const char *twice[] = {"serve", "--data", g_dir, "--linked-hub", HUB_B, "--linked-hub",
                           "HUB-B.azkit.test", NULL};
    struct azk_run r;
    azk_run_bin(&r, AZKIT_HUB_BIN, NULL, twice);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "given twice"));
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registries_apart),
        cmocka_unit_test(test_static_allocation),
        cmocka_unit_test(test_hashed_allocation),
        cmocka_unit_test(test_reprovision_migrate),
        cmocka_unit_test(test_reprovision_reset),
        cmocka_unit_test(test_reprovision_never),
        cmocka_unit_test(test_restart_keeps_hubs),
        cmocka_unit_test(test_bad_linked_hub),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Azure's root-CA migration (Baltimore CyberTrust Root -> DigiCert Global Root G2), rehearsed
 * against the real azkit-hub over real TLS: the hub serves its MQTT chain under the legacy or
 * the current root (`serve --server-root`, `azkit-hub server-root set`); a device trusting
 * both roots rides through a switch (an open connection stays up), a device trusting only the
 * legacy root fails its next handshake, and `azkit doctor --handshake` names that as the cause.
 * Also: the root files of the ready file, the usage errors, and an older data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "hub_harness.h"
#include "service_test_util.h"
#include "support/test_util.h"

static struct test_hub hub; /* started with --server-root legacy */
static char g_dir[512];
static char g_cert[700], g_key[700];   /* dev-1: the short connections */
static char g_cert2[700], g_key2[700]; /* dev-2: the connection kept open across a switch (a
                                          second connection of one device drops the first) */
static char g_legacy[700], g_current[700], g_bundle[700];

/* The hub as a device that trusts `ca` sees it. */
static struct test_hub trusting(const char *ca)
{
    struct test_hub h = hub;
    snprintf(h.ca, sizeof(h.ca), "%s", ca);
    return h;
}

/* CN of the issuer of the last certificate the server sent: the root its chain ends at. */
static void chain_root(const struct test_dev *d, char *out, size_t size)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(d->ssl);
    assert_non_null(chain);
    X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    X509_NAME_get_text_by_NID(X509_get_issuer_name(top), NID_commonName, out, (int)size);
}

/* Connects as "dev-1" trusting `ca`: the CONNACK code, or -2 when the handshake failed. */
static int open_as(struct test_dev *d, const char *ca)
{
    struct test_hub h = trusting(ca);
    return test_dev_open(d, &h, "dev-1", g_cert, g_key, TLS1_3_VERSION);
}

/* The same as "dev-2". */
static int open_kept(struct test_dev *d, const char *ca)
{
    struct test_hub h = trusting(ca);
    return test_dev_open(d, &h, "dev-2", g_cert2, g_key2, TLS1_3_VERSION);
}

/* The connection is still up: PINGREQ answered. */
static void assert_alive(struct test_dev *d)
{
    uint8_t ping[2];
    size_t n = 0;
    azk_mqtt_encode_pingreq(ping, sizeof(ping), &n);
    test_dev_send(d, ping, n);
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_PINGRESP);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* `server-root show`: the served root's name. */
static void expect_root(const char *name)
{
    cJSON *j = test_hub_admin(&hub, 0, "server-root", "show", NULL);
    assert_non_null(j);
    assert_string_equal(jstr(j, "serverRoot"), name);
    cJSON_Delete(j);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, g_dir, "dev-1", EVP_sha256(), g_cert, g_key);
    test_hub_self_signed_device(&hub, g_dir, "dev-2", EVP_sha256(), g_cert2, g_key2);
    const char *extra[] = {"--server-root", "legacy", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "root_legacy", g_legacy, sizeof(g_legacy));
    test_hub_ready_str(&hub, "root_current", g_current, sizeof(g_current));
    test_hub_ready_str(&hub, "roots_bundle", g_bundle, sizeof(g_bundle));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* The ready file names both roots and the bundle; the current root is ca.pem. */
static void test_root_files(void **state)
{
    (void)state;
    char served[32];
    test_hub_ready_str(&hub, "server_root", served, sizeof(served));
    assert_string_equal(served, "legacy");
    assert_string_equal(g_legacy, azk_path(hub.data, "pki/root-legacy.pem"));
    assert_string_equal(g_current, azk_path(hub.data, "pki/root-current.pem"));
    assert_string_equal(g_bundle, azk_path(hub.data, "pki/roots.pem"));
    char *ca = azk_test_read(hub.ca, NULL), *cur = azk_test_read(g_current, NULL);
    char *leg = azk_test_read(g_legacy, NULL), *both = azk_test_read(g_bundle, NULL);
    assert_string_equal(ca, cur);
    assert_string_not_equal(cur, leg);
    assert_non_null(strstr(both, cur));
    assert_non_null(strstr(both, leg));
    free(ca);
    free(cur);
    free(leg);
    free(both);
    cJSON *j = test_hub_admin(&hub, 0, "server-root", "show", NULL);
    const cJSON *roots = cJSON_GetObjectItem(j, "roots");
    assert_string_equal(jstr(cJSON_GetObjectItem(roots, "legacy"), "file"), g_legacy);
    assert_non_null(strstr(jstr(cJSON_GetObjectItem(roots, "legacy"), "subject"),
                           "CN=azkit-hub Legacy Test Root "));
    assert_non_null(strstr(jstr(cJSON_GetObjectItem(roots, "current"), "subject"),
                           "CN=azkit-hub Current Test Root "));
    assert_string_equal(jstr(j, "bundle"), g_bundle);
    assert_string_equal(jstr(j, "serviceApiRoot"), "current");
    cJSON_Delete(j);
    /* The keys of the legacy root stay private. */
    struct stat st;
    assert_int_equal(stat(azk_path(hub.data, "pki/legacy/ca.key.pem"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(azk_path(hub.data, "pki/legacy/server.key.pem"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(azk_path(hub.data, "pki/legacy"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

/* legacy -> current, as Azure moved: both-roots devices ride through it, an open connection
 * stays up, a legacy-only device's next handshake fails; and back. */
static void test_switch(void **state)
{
    (void)state;
    char root[256];
    expect_root("legacy");
    struct test_dev both_open, legacy_only, d;
    assert_int_equal(open_kept(&both_open, g_bundle), 0);
    chain_root(&both_open, root, sizeof(root));
    assert_non_null(strstr(root, "azkit-hub Legacy Test Root"));
    assert_int_equal(open_as(&legacy_only, g_legacy), 0);
    assert_int_equal(open_as(&d, hub.ca), -2); /* ca.pem is the current root */
    test_dev_close(&d);
    test_dev_close(&legacy_only);

    cJSON *j = test_hub_admin(&hub, 0, "server-root", "set", "current", NULL);
    assert_string_equal(jstr(j, "serverRoot"), "current");
    cJSON_Delete(j);
    expect_root("current");
    assert_true(test_hub_log_contains(&hub, "server root: current, was legacy"));

    /* The connection opened before the switch is still up, on its old chain. */
    assert_alive(&both_open);
    chain_root(&both_open, root, sizeof(root));
    assert_non_null(strstr(root, "Legacy"));
    /* New handshakes: the new chain. */
    struct test_dev both_new;
    assert_int_equal(open_as(&both_new, g_bundle), 0);
    chain_root(&both_new, root, sizeof(root));
    assert_non_null(strstr(root, "azkit-hub Current Test Root"));
    test_dev_close(&both_new);
    assert_int_equal(open_as(&d, g_current), 0);
    test_dev_close(&d);
    assert_int_equal(open_as(&d, hub.ca), 0);
    test_dev_close(&d);
    assert_int_equal(open_as(&legacy_only, g_legacy), -2);
    test_dev_close(&legacy_only);
    /* dev-2 again, trusting both, under the current root: kept open across the next switch. */
    test_dev_close(&both_open);
    assert_int_equal(open_kept(&both_new, g_bundle), 0);

    /* And back: the same in reverse; setting the served root again changes nothing. */
    cJSON_Delete(test_hub_admin(&hub, 0, "server-root", "set", "legacy", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "server-root", "set", "legacy", NULL));
    expect_root("legacy");
    assert_alive(&both_new);
    assert_true(test_hub_log_contains(&hub, "server root: legacy (unchanged)"));
    assert_int_equal(open_as(&legacy_only, g_legacy), 0);
    test_dev_close(&legacy_only);
    test_dev_close(&both_new);
    cJSON_Delete(test_hub_admin(&hub, 0, "server-root", "set", "current", NULL));
}

/* Runs `azkit-hub --ready-file F [--json] ARGS...`: exit 2 with `text` in the error. */
static void expect_usage(bool json, const char *text, ...)
{
    char ready[700];
    snprintf(ready, sizeof(ready), "%s/ready.json", hub.dir);
    const char *argv[16] = {"--ready-file", ready};
    int n = 2;
    if (json)
        argv[n++] = "--json";
    va_list ap;
    va_start(ap, text);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 15)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct azk_run r;
    azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
    if (r.status != 2 || strstr(json ? r.out : r.err, text) == NULL)
        fail_msg("exit %d, wanted 2 with \"%s\":\n%s\n%s", r.status, text, r.out, r.err);
    if (json) {
        cJSON *j = cJSON_Parse(r.out);
        assert_non_null(j);
        assert_string_equal(jstr(cJSON_GetObjectItem(j, "error"), "code"), "usage");
        cJSON_Delete(j);
    }
    azk_run_free(&r);
}

static void test_usage(void **state)
{
    (void)state;
    expect_usage(false, "'bogus' is not a root; give legacy or current", "server-root", "set",
                 "bogus", NULL);
    expect_usage(true, "'bogus' is not a root", "server-root", "set", "bogus", NULL);
    expect_usage(false, "set needs one root: legacy or current", "server-root", "set", NULL);
    expect_usage(false, "server-root needs a command", "server-root", NULL);
    expect_usage(false, "unknown server-root command", "server-root", "rotate", NULL);
    char data[700];
    snprintf(data, sizeof(data), "%s/never", g_dir);
    expect_usage(false, "--server-root is legacy or current, not 'Legacy'", "--data", data,
                 "serve", "--server-root", "Legacy", NULL);
    /* Nothing changed. */
    expect_root("current");
}

/* The service endpoint: authenticated like the other /azkit endpoints; a bad body is a 400
 * that names the accepted values, and changes nothing. */
static void test_endpoint(void **state)
{
    (void)state;
    struct hub_admin_target t;
    struct svc_resp r;
    svc_test_target(&hub, "iothubowner", NULL, &t);
    svc_test_request(&t, &r, "PUT", "/azkit/server-root", "{\"serverRoot\":\"bogus\"}", NULL, 0);
    assert_non_null(strstr(r.r.body, "The body must be"));
    assert_non_null(strstr(r.r.body, "current"));
    svc_test_check(&r, 400, "ArgumentInvalid");
    svc_test_request(&t, &r, "PUT", "/azkit/server-root", "[]", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid");
    svc_test_request(&t, &r, "POST", "/azkit/server-root", "{}", NULL, 0);
    svc_test_check(&r, 405, "MethodNotAllowed");
    svc_test_request(&t, &r, "GET", "/azkit/server-root", NULL, NULL, 0);
    assert_string_equal(jstr(r.j, "serverRoot"), "current");
    svc_test_check(&r, 200, NULL);
    svc_test_target(&hub, "nobody", NULL, &t);
    svc_test_request(&t, &r, "PUT", "/azkit/server-root", "{\"serverRoot\":\"legacy\"}", NULL,
                     0);
    svc_test_check(&r, 401, "IotHubUnauthorizedAccess");
    expect_root("current");
}

/* ---- azkit doctor --handshake ------------------------------------------------------------- */

/* `azkit --store S --json doctor --handshake --hub localhost:PORT --connect-address 127.0.0.1`:
 * the online.tls check (status, message, fix) and the exit status. */
static void doctor_tls(const char *store, int want_status, const char *status, char *msg,
                       char *fix, size_t size)
{
    char hubhost[64];
    snprintf(hubhost, sizeof(hubhost), "localhost:%d", hub.mqtt_port);
    const char *argv[] = {"--store", store, "--json", "doctor", "--handshake", "--hub", hubhost,
                          "--connect-address", "127.0.0.1", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    cJSON *rep = cJSON_Parse(r.out);
    if (rep == NULL || r.status != want_status)
        fail_msg("doctor: exit %d (wanted %d)\n%s\n%s", r.status, want_status, r.out, r.err);
    const cJSON *c;
    bool found = false;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(rep, "checks"))
    {
        if (strcmp(jstr(c, "id"), "online.tls") != 0)
            continue;
        found = true;
        if (strcmp(jstr(c, "status"), status) != 0)
            fail_msg("online.tls: %s \"%s\", wanted %s", jstr(c, "status"), jstr(c, "message"),
                     status);
        snprintf(msg, size, "%s", jstr(c, "message"));
        const cJSON *f = cJSON_GetObjectItem(c, "fix");
        snprintf(fix, size, "%s", cJSON_IsString(f) ? f->valuestring : "");
    }
    if (!found)
        fail_msg("no online.tls check:\n%s", r.out);
    /* A refused handshake is the top of the ranked summary (nothing else is wrong). */
    const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "summary"), 0);
    if (want_status != 0 && (top == NULL || strcmp(jstr(top, "id"), "online.tls") != 0))
        fail_msg("online.tls is not the top cause:\n%s", r.out);
    cJSON_Delete(rep);
    azk_run_free(&r);
}

static void provision(const char *store, const char *ca)
{
    const char *argv[] = {"--store", store, "cred", "provision", "--sec-tag", "10", "--cert",
                          g_cert, "--key", g_key, "--ca", ca, NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("cred provision: %s\n%s", r.out, r.err);
    azk_run_free(&r);
}

static void test_doctor_names_the_migration(void **state)
{
    (void)state;
    expect_root("current");
    char legacy_store[600], both_store[600], msg[600], fix[600];
    snprintf(legacy_store, sizeof(legacy_store), "%s/store-legacy", g_dir);
    snprintf(both_store, sizeof(both_store), "%s/store-both", g_dir);
    provision(legacy_store, g_legacy);
    provision(both_store, g_bundle);
    doctor_tls(legacy_store, 1, "failed", msg, fix, sizeof(msg));
    assert_non_null(strstr(msg, "the tags' CAs do not verify localhost's certificate"));
    assert_non_null(strstr(msg, "its chain ends at the root 'azkit-hub Current Test Root "));
    assert_non_null(strstr(msg, "the tags trust only 'azkit-hub Legacy Test Root "));
    assert_non_null(strstr(msg, "not the server's root, as after a server moves to a new root"));
    assert_non_null(strstr(fix, "Write the root 'azkit-hub Current Test Root "));
    assert_non_null(strstr(fix, "beside the old one"));
    assert_non_null(strstr(fix, "roots.pem"));
    /* Trusting both roots: the handshake passes under either. */
    doctor_tls(both_store, 0, "ok", msg, fix, sizeof(msg));
    cJSON_Delete(test_hub_admin(&hub, 0, "server-root", "set", "legacy", NULL));
    doctor_tls(both_store, 0, "ok", msg, fix, sizeof(msg));
    doctor_tls(legacy_store, 0, "ok", msg, fix, sizeof(msg));
    cJSON_Delete(test_hub_admin(&hub, 0, "server-root", "set", "current", NULL));
}

/* A data directory from before the legacy root: its root stays the current one (ca.pem
 * unchanged, served by default), the legacy root and the root files appear on the next start. */
static void test_older_data_dir(void **state)
{
    (void)state;
    struct test_hub h;
    char scratch[512], cert[700], key[700];
    test_hub_start_with_device(&h, scratch, "old-1", cert, key);
    test_hub_stop(&h);
    azk_test_rmrf(azk_path(h.data, "pki/legacy"));
    unlink(azk_path(h.data, "pki/root-legacy.pem"));
    unlink(azk_path(h.data, "pki/root-current.pem"));
    unlink(azk_path(h.data, "pki/roots.pem"));
    char *before = azk_test_read(h.ca, NULL);
    test_hub_restart(&h, NULL);
    char *after = azk_test_read(h.ca, NULL);
    assert_string_equal(before, after);
    assert_true(test_hub_log_contains(&h, "created the hub's legacy server root"));
    char served[32], cur[700];
    test_hub_ready_str(&h, "server_root", served, sizeof(served));
    assert_string_equal(served, "current");
    test_hub_ready_str(&h, "root_current", cur, sizeof(cur));
    char *cur_pem = azk_test_read(cur, NULL);
    assert_string_equal(cur_pem, before);
    struct test_dev d;
    assert_int_equal(test_dev_open(&d, &h, "old-1", cert, key, TLS1_2_VERSION), 0);
    test_dev_close(&d);
    free(before);
    free(after);
    free(cur_pem);
    test_hub_finish(&h, scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_files),
        cmocka_unit_test(test_switch),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_doctor_names_the_migration),
        cmocka_unit_test(test_older_data_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

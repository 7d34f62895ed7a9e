/*
 * Keys generated inside the store (`azkit cred keygen`, issue 14) and certificates issued for
 * their CSRs (`azkit pki sign-csr`): through the nRF91 simulator (`azkit modem-sim`, where
 * %KEYGEN makes a real P-256 key that never leaves it) and on a directory store. The whole
 * flow: keygen -> sign-csr -> cred write -> `cred list` and `doctor` show that certificate and
 * key match -> `pki verify` against the CA a DPS enrollment group holds; and the refusals.
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "support/modem_sim_util.h"
#include "support/test_util.h"

static char g_dir[512];
static char g_spec[700];
static char g_log[600];
static struct azk_sim g_sim;

/* Starts the simulator (one extra argument or NULL). */
static void sim_start(const char *extra)
{
    const char *args[] = {extra, NULL};
    azk_sim_start(&g_sim, g_dir, args);
    snprintf(g_spec, sizeof(g_spec), "%s", g_sim.spec);
    snprintf(g_log, sizeof(g_log), "%s", g_sim.log);
}

static void sim_stop(void)
{
    azk_sim_stop(&g_sim);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    /* The remembered public keys go under $XDG_DATA_HOME: keep them in the test directory. */
    setenv("XDG_DATA_HOME", azk_path(g_dir, "data"), 1);
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
static void az(struct azk_run *r, const char *spec, ...)
{
    const char *prefix[] = {"--store", spec, NULL};
    va_list ap;
    va_start(ap, spec);
    azk_run_vlist(r, NULL, prefix, ap);
    va_end(ap);
}

static void ok_or_fail(struct azk_run *r)
{
    if (r->status != 0)
        fail_msg("exit %d\n%s\n%s", r->status, r->out, r->err);
}

static bool log_has(const char *text)
{
    char *log = azk_test_read(g_log, NULL);
    bool found = strstr(log, text) != NULL;
    free(log);
    return found;
}

/* The key_match of sec_tag `tag` type `type` in `cred --json list TAG`. */
static void expect_match(const char *spec, const char *tag, int type, const char *want)
{
    struct azk_run r;
    az(&r, spec, "--json", "cred", "list", tag, NULL);
    ok_or_fail(&r);
    cJSON *j = azk_run_json(&r);
    cJSON *arr = cJSON_GetObjectItem(j, "credentials"), *it;
    bool seen = false;
    cJSON_ArrayForEach(it, arr) {
        if (cJSON_GetObjectItem(it, "type")->valueint != type)
            continue;
        seen = true;
        cJSON *m = cJSON_GetObjectItem(it, "key_match");
        assert_non_null(m);
        if (strcmp(m->valuestring, want) != 0)
            fail_msg("type %d key_match %s, wanted %s\n%s", type, m->valuestring, want, r.out);
    }
    assert_true(seen);
    cJSON_Delete(j);
    azk_run_free(&r);
}

/* keygen -> sign-csr -> write -> list/doctor -> verify, on store `spec`. */
static void whole_flow(const char *spec, const char *id)
{
    char csr[600], out[600], chain[600], key[600];
    snprintf(csr, sizeof(csr), "%s/%s.csr.pem", g_dir, id);
    snprintf(out, sizeof(out), "%s/%s", g_dir, id);
    snprintf(chain, sizeof(chain), "%s/%s.chain.pem", g_dir, id);
    snprintf(key, sizeof(key), "%s/%s.key.pem", g_dir, id);
    struct azk_run r;
    az(&r, spec, "cred", "keygen", "10", "--cn", id, "--out", csr, NULL);
    ok_or_fail(&r);
    assert_null(strstr(r.out, "PRIVATE KEY"));
    assert_null(strstr(r.err, "PRIVATE KEY"));
    azk_run_free(&r);
    char *pem = azk_test_read(csr, NULL);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
    assert_null(strstr(pem, "PRIVATE"));
    free(pem);

    az(&r, spec, "pki", "sign-csr", csr, "--ca", azk_path(g_dir, "inter"), "--out", out,
       "--days", "30", NULL);
    ok_or_fail(&r);
    assert_non_null(strstr(r.out, id));
    azk_run_free(&r);
    assert_true(azk_test_exists(chain));
    assert_false(azk_test_exists(key)); /* no key anywhere near the CA */

    az(&r, spec, "cred", "write", "10", "client_cert", chain, NULL);
    ok_or_fail(&r);
    assert_null(strstr(r.err, "key-mismatch"));
    azk_run_free(&r);
    expect_match(spec, "10", 1, "yes");
    expect_match(spec, "10", 2, "yes");
    az(&r, spec, "cred", "list", NULL);
    ok_or_fail(&r);
    assert_non_null(strstr(r.out, "[certificate and key match]"));
    azk_run_free(&r);

    az(&r, spec, "doctor", "--sec-tag", "10", NULL);
    assert_non_null(strstr(r.out, "[ok]   client.key"));
    azk_run_free(&r);

    /* A DPS enrollment group holds the root: the chain (leaf + intermediate) verifies. */
    az(&r, spec, "pki", "verify", chain, "--ca", azk_path(g_dir, "root.cert.pem"), NULL);
    ok_or_fail(&r);
    azk_run_free(&r);
}

static void test_modem_flow(void **state)
{
    (void)state;
    sim_start(NULL);
    whole_flow(g_spec, "kg-modem-1");
    assert_true(log_has("AT%KEYGEN=10,2,0,\"CN=kg-modem-1\""));
    assert_false(log_has("AT%CMNG=2,10,2")); /* the key is never asked for */

    /* The tag holds a key: refused without --force, and nothing changes. */
    struct azk_run r;
    az(&r, g_spec, "cred", "keygen", "10", "--cn", "kg-modem-1", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "already holds a private key"));
    assert_non_null(strstr(r.err, "--force"));
    azk_run_free(&r);
    expect_match(g_spec, "10", 2, "yes");

    /* With --force a new key: the old certificate no longer matches, and list/doctor say so. */
    az(&r, g_spec, "cred", "keygen", "10", "--cn", "kg-modem-1", "--force", NULL);
    ok_or_fail(&r);
    assert_non_null(strstr(r.out, "BEGIN CERTIFICATE REQUEST"));
    assert_non_null(strstr(r.err, "client certificate of the old key"));
    azk_run_free(&r);
    expect_match(g_spec, "10", 1, "no");
    az(&r, g_spec, "doctor", "--sec-tag", "10", NULL);
    assert_non_null(strstr(r.out, "[FAIL] client.key"));
    azk_run_free(&r);
    sim_stop();
}

/* The modem makes keys only offline, as it stores credentials (Nordic: %KEYGEN "is allowed
 * only when the modem is deactivated"); a key it did not make here cannot be checked. */
static void test_modem_online_and_reserved(void **state)
{
    (void)state;
    sim_start("--online");
    struct azk_run r;
    az(&r, g_spec, "cred", "keygen", "11", "--cn", "kg-on", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "online"));
    assert_non_null(strstr(r.err, "offline=ok"));
    azk_run_free(&r);
    assert_false(log_has("AT%KEYGEN"));
    char spec[800];
    snprintf(spec, sizeof(spec), "%s,offline=ok", g_spec);
    az(&r, spec, "cred", "keygen", "11", "--cn", "kg-on", NULL);
    ok_or_fail(&r);
    azk_run_free(&r);
    assert_true(log_has("AT+CFUN=4\nAT%KEYGEN=11,2,0"));

    az(&r, g_spec, "cred", "keygen", "4294967292", "--cn", "x", NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "reserved"));
    azk_run_free(&r);
    az(&r, g_spec, "cred", "keygen", "12", "--cn", "bad\"cn", NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "common name"));
    azk_run_free(&r);

    /* A key written (not generated here) into a modem tag: its match is unknown, not "yes". */
    snprintf(spec, sizeof(spec), "%s,offline=ok", g_spec);
    az(&r, spec, "cred", "provision", "--sec-tag", "13", "--cert",
       azk_path(g_dir, "dev-1.chain.pem"), "--key", azk_path(g_dir, "dev-1.key.pem"), NULL);
    ok_or_fail(&r);
    azk_run_free(&r);
    expect_match(g_spec, "13", 1, "unknown");
    sim_stop();
}

static void test_directory_flow(void **state)
{
    (void)state;
    const char *store = azk_path(g_dir, "store");
    whole_flow(store, "kg-dir-1");
    char keyfile[700];
    snprintf(keyfile, sizeof(keyfile), "%s/10/2-key.pem", store);
    assert_true(azk_test_exists(keyfile));
    assert_int_equal(azk_test_mode(keyfile), 0600);
    struct azk_run r;
    az(&r, store, "cred", "keygen", "10", "--cn", "kg-dir-1", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "already holds a private key"));
    azk_run_free(&r);
}

/* Writes a CSR for CN `cn` (NULL: no subject) with the public key of `pub`, signed by `signer`. */
static void write_csr(const char *path, const char *cn, EVP_PKEY *pub, EVP_PKEY *signer)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    if (cn != NULL)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                   -1, 0);
    assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
    assert_int_equal(X509_REQ_set_pubkey(req, pub), 1);
    assert_true(X509_REQ_sign(req, signer, EVP_sha256()) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509_REQ(f, req);
    fclose(f);
    X509_NAME_free(name);
    X509_REQ_free(req);
}

static void test_sign_csr_refusals(void **state)
{
    (void)state;
    const char *store = azk_path(g_dir, "store2");
    const char *inter = azk_path(g_dir, "inter");
    EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256");
    char path[600], out[600];
    struct azk_run r;

    snprintf(path, sizeof(path), "%s/garbage.csr", g_dir);
    azk_test_write(path, "not a csr\n", 10);
    snprintf(out, sizeof(out), "%s/g", g_dir);
    az(&r, store, "pki", "sign-csr", path, "--ca", inter, "--out", out, NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "not a certificate signing request"));
    azk_run_free(&r);

    snprintf(path, sizeof(path), "%s/other.csr", g_dir);
    write_csr(path, "kg-other", a, b); /* key A's request signed by key B */
    snprintf(out, sizeof(out), "%s/o", g_dir);
    az(&r, store, "pki", "sign-csr", path, "--ca", inter, "--out", out, NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "does not verify"));
    azk_run_free(&r);
    assert_false(azk_test_exists(azk_path(g_dir, "o.cert.pem")));

    snprintf(path, sizeof(path), "%s/nocn.csr", g_dir);
    write_csr(path, NULL, a, a);
    snprintf(out, sizeof(out), "%s/n", g_dir);
    az(&r, store, "pki", "sign-csr", path, "--ca", inter, "--out", out, NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "no common name"));
    azk_run_free(&r);

    /* A good one, default output prefix = the CN (in the working directory): use --out. */
    snprintf(path, sizeof(path), "%s/good.csr", g_dir);
    write_csr(path, "kg-good", a, a);
    snprintf(out, sizeof(out), "%s/good", g_dir);
    az(&r, store, "--json", "pki", "sign-csr", path, "--ca", inter, "--out", out, NULL);
    ok_or_fail(&r);
    cJSON *j = azk_run_json(&r);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "key")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "certificate"),
                                            "subject_cn")->valuestring, "kg-good");
    cJSON_Delete(j);
    azk_run_free(&r);
    /* Exists: refused without --force. */
    az(&r, store, "pki", "sign-csr", path, "--ca", inter, "--out", out, NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "already exists"));
    azk_run_free(&r);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modem_flow),
        cmocka_unit_test(test_modem_online_and_reserved),
        cmocka_unit_test(test_directory_flow),
        cmocka_unit_test(test_sign_csr_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

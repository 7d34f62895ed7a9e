/* `azkit cred` through the real binary: exit codes, output, --json schemas, and the key
 * sentinel (a private key never appears in any output). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_util.h"

static char pki[512], work[512];
static const char *store;

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    azk_test_make_pki(pki);
    unsetenv("AZKIT_STORE");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    azk_test_rmrf(pki);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(work);
    static char s[600];
    snprintf(s, sizeof(s), "%s/store", work);
    store = s;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    azk_test_rmrf(work);
    return 0;
}

#define RUN(r, input, ...) azk_runv(r, input, "--store", store, __VA_ARGS__, NULL)

static void expect_status(struct azk_run *r, int status)
{
    if (r->status != status)
        fail_msg("exit %d, expected %d\nstdout: %s\nstderr: %s", r->status, status, r->out, r->err);
}

static cJSON *jget(const cJSON *o, const char *name, int type)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (v == NULL || (v->type & 0xff) != type)
        fail_msg("JSON field '%s' missing or of the wrong type", name);
    return v;
}

static void check_findings_schema(const cJSON *arr)
{
    assert_true(cJSON_IsArray(arr));
    const cJSON *f;
    cJSON_ArrayForEach(f, arr) {
        const char *sev = jget(f, "severity", cJSON_String)->valuestring;
        assert_true(strcmp(sev, "info") == 0 || strcmp(sev, "warning") == 0 ||
                    strcmp(sev, "error") == 0);
        jget(f, "code", cJSON_String);
        jget(f, "message", cJSON_String);
        jget(f, "fix", cJSON_String);
    }
}

static void test_help_and_usage_errors(void **state)
{
    (void)state;
    struct azk_run r;
    const char *cmds[] = {"write", "read", "delete", "exists", "cmp", "digest", "list", "clear",
                          "provision", "export"};
    azk_runv(&r, NULL, "cred", "--help", NULL);
    expect_status(&r, 0);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        assert_non_null(strstr(r.out, cmds[i]));
        struct azk_run h;
        azk_runv(&h, NULL, "cred", cmds[i], "--help", NULL);
        expect_status(&h, 0);
        assert_non_null(strstr(h.out, "usage: azkit cred"));
        azk_run_free(&h);
    }
    azk_run_free(&r);
    azk_runv(&r, NULL, "--help", NULL);
    expect_status(&r, 0);
    azk_run_free(&r);
    azk_runv(&r, NULL, NULL);
    expect_status(&r, 2);
    azk_run_free(&r);
    azk_runv(&r, NULL, "cred", NULL);
    expect_status(&r, 2);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "frobnicate");
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "unknown cred command 'frobnicate'"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "write", "10", "cert", "x.pem", "--bogus");
    expect_status(&r, 2);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "read", "10");
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "missing credential type"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "read", "10", "certificate");
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "ROOT_CA_CERT"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "read", "2147483648", "ca");
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "reserved by the modem"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "digest", "10", "ca", "--passphrase", "x");
    expect_status(&r, 2);
    azk_run_free(&r);
    azk_runv(&r, NULL, "nosuchgroup", NULL);
    expect_status(&r, 2);
    azk_run_free(&r);
    azk_runv(&r, NULL, "--version", NULL);
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "azkit "));
    azk_run_free(&r);
}

static void test_write_read_digest_exists_cmp(void **state)
{
    (void)state;
    struct azk_run r;
    const char *chain = azk_path(pki, "dev-1.chain.pem");
    RUN(&r, NULL, "--json", "cred", "write", "10", "CLIENT_CERT", chain);
    expect_status(&r, 0);
    cJSON *j = azk_run_json(&r);
    assert_int_equal(jget(j, "sec_tag", cJSON_Number)->valueint, 10);
    assert_int_equal(jget(j, "type", cJSON_Number)->valueint, 1);
    assert_string_equal(jget(j, "type_name", cJSON_String)->valuestring, "CLIENT_CERT");
    size_t flen;
    char *file = azk_test_read(chain, &flen);
    assert_int_equal(jget(j, "size", cJSON_Number)->valueint, (int)flen - 1);
    char want[65];
    azk_test_sha256_hex(file, flen - 1, want);
    assert_string_equal(jget(j, "sha256", cJSON_String)->valuestring, want);
    check_findings_schema(jget(j, "findings", cJSON_Array));
    cJSON_Delete(j);
    azk_run_free(&r);

    RUN(&r, NULL, "cred", "digest", "--sec-tag", "10", "--type", "cert");
    expect_status(&r, 0);
    assert_int_equal(strncmp(r.out, want, 64), 0);
    azk_run_free(&r);

    RUN(&r, NULL, "cred", "read", "10", "1");
    expect_status(&r, 0);
    assert_string_equal(r.out, file); /* content plus one LF = the file */
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "read", "10", "1");
    expect_status(&r, 0);
    j = azk_run_json(&r);
    assert_int_equal(strncmp(jget(j, "content", cJSON_String)->valuestring, file, flen - 1), 0);
    jget(j, "sha256", cJSON_String);
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "read", "10", "1", "-o", azk_path(work, "out.pem"));
    expect_status(&r, 0);
    char *copy = azk_test_read(azk_path(work, "out.pem"), NULL);
    assert_int_equal(strncmp(copy, file, flen - 1), 0);
    free(copy);
    azk_run_free(&r);

    RUN(&r, NULL, "cred", "exists", "10", "cert");
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "exists", "10", "key");
    expect_status(&r, 1);
    j = azk_run_json(&r);
    assert_true(cJSON_IsFalse(jget(j, "exists", cJSON_False)));
    cJSON_Delete(j);
    azk_run_free(&r);

    RUN(&r, NULL, "cred", "cmp", "10", "cert", chain);
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "cmp", "10", "cert", azk_path(pki, "root.cert.pem"));
    expect_status(&r, 1);
    j = azk_run_json(&r);
    assert_true(cJSON_IsFalse(jget(j, "match", cJSON_False)));
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "cmp", "11", "cert", chain);
    expect_status(&r, 1);
    azk_run_free(&r);

    /* stdin */
    RUN(&r, "abcdef0123\n", "cred", "write", "10", "psk", "-");
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "read", "10", "psk");
    assert_string_equal(r.out, "abcdef0123\n");
    azk_run_free(&r);

    RUN(&r, NULL, "--json", "cred", "delete", "10", "psk");
    expect_status(&r, 0);
    j = azk_run_json(&r);
    assert_true(cJSON_IsTrue(jget(j, "deleted", cJSON_True)));
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "delete", "10", "psk");
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "not found"));
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "clear", "10");
    expect_status(&r, 0);
    j = azk_run_json(&r);
    assert_true(cJSON_IsTrue(jget(j, "cleared", cJSON_True)));
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "exists", "10", "cert");
    expect_status(&r, 1);
    azk_run_free(&r);
    free(file);
}

static void test_refused_write_changes_nothing(void **state)
{
    (void)state;
    struct azk_run r;
    RUN(&r, NULL, "cred", "write", "10", "ca", azk_path(pki, "root.cert.pem"));
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "write", "10", "ca", azk_path(pki, "dev-1.key.pem"));
    expect_status(&r, 1);
    cJSON *j = azk_run_json(&r);
    cJSON *err = jget(j, "error", cJSON_Object);
    assert_int_equal(jget(err, "errno", cJSON_Number)->valueint, -EBADMSG);
    jget(err, "message", cJSON_String);
    jget(err, "reason", cJSON_String);
    cJSON *findings = jget(err, "findings", cJSON_Array);
    check_findings_schema(findings);
    assert_string_equal(jget(cJSON_GetArrayItem(findings, 0), "code", cJSON_String)->valuestring,
                        "pem.not-certificate");
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "write", "10", "ca", azk_path(pki, "dev-1.key.pem"));
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "store is unchanged"));
    assert_non_null(strstr(r.err, "fix: "));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "cmp", "10", "ca", azk_path(pki, "root.cert.pem"));
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "write", "10", "ca", azk_path(work, "missing.pem"));
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "missing.pem"));
    azk_run_free(&r);
}

static void test_list_table_and_json(void **state)
{
    (void)state;
    struct azk_run r;
    RUN(&r, NULL, "cred", "list");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "no credentials"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "write", "10", "cert", azk_path(pki, "dev-1.chain.pem"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "write", "10", "key", azk_path(pki, "ss-1.key.pem")); /* mismatch */
    expect_status(&r, 0);
    assert_non_null(strstr(r.err, "does not belong"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "write", "12", "ca", azk_path(pki, "root.cert.pem"));
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "list");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "SHA-256"));
    assert_non_null(strstr(r.out, "dev-1 (expires "));
    assert_non_null(strstr(r.out, "Azkit Test Root"));
    assert_non_null(strstr(r.out, "EC P-256"));
    assert_non_null(strstr(r.out, "does not belong"));
    azk_run_free(&r);

    RUN(&r, NULL, "--json", "cred", "list");
    expect_status(&r, 0);
    cJSON *j = azk_run_json(&r);
    assert_non_null(strstr(jget(j, "store", cJSON_String)->valuestring, store));
    cJSON *creds = jget(j, "credentials", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(creds), 3);
    cJSON *c0 = cJSON_GetArrayItem(creds, 0);
    assert_int_equal(jget(c0, "sec_tag", cJSON_Number)->valueint, 10);
    assert_int_equal(jget(c0, "type", cJSON_Number)->valueint, 1);
    assert_string_equal(jget(c0, "type_name", cJSON_String)->valuestring, "CLIENT_CERT");
    assert_int_equal(strlen(jget(c0, "sha256", cJSON_String)->valuestring), 64);
    jget(c0, "size", cJSON_Number);
    cJSON *certs = jget(c0, "certificates", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(certs), 2);
    cJSON *leaf = cJSON_GetArrayItem(certs, 0);
    assert_string_equal(jget(leaf, "subject_cn", cJSON_String)->valuestring, "dev-1");
    assert_int_equal(strlen(jget(leaf, "not_after", cJSON_String)->valuestring), 20);
    assert_string_equal(jget(leaf, "validity", cJSON_String)->valuestring, "valid");
    assert_int_equal(strlen(jget(leaf, "sha1", cJSON_String)->valuestring), 40);
    jget(leaf, "is_ca", cJSON_False);
    cJSON *f = jget(c0, "findings", cJSON_Array);
    check_findings_schema(f);
    assert_string_equal(jget(cJSON_GetArrayItem(f, 0), "code", cJSON_String)->valuestring,
                        "cred.key-mismatch");
    cJSON *c1 = cJSON_GetArrayItem(creds, 1);
    assert_string_equal(jget(c1, "key_type", cJSON_String)->valuestring, "EC P-256");
    /* The key's own row says it does not match, too. */
    f = jget(c1, "findings", cJSON_Array);
    assert_string_equal(jget(cJSON_GetArrayItem(f, 0), "code", cJSON_String)->valuestring,
                        "cred.key-mismatch");
    cJSON_Delete(j);
    azk_run_free(&r);

    /* Filters, as AT%CMNG=1,<tag>[,<type>]. */
    RUN(&r, NULL, "--json", "cred", "list", "12");
    j = azk_run_json(&r);
    assert_int_equal(cJSON_GetArraySize(jget(j, "credentials", cJSON_Array)), 1);
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "list", "10", "key");
    j = azk_run_json(&r);
    assert_int_equal(cJSON_GetArraySize(jget(j, "credentials", cJSON_Array)), 1);
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "list", "--type", "key");
    expect_status(&r, 2);
    azk_run_free(&r);
}

static void test_provision_layouts(void **state)
{
    (void)state;
    struct azk_run r;
    const char *chain = azk_path(pki, "dev-1.chain.pem"), *key = azk_path(pki, "dev-1.key.pem");
    /* One tag: both Azure roots together in type 0. */
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "10", "--cert", chain, "--key", key);
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "DigiCert Global Root G2 + Microsoft RSA Root Certificate Authority 2017"));
    assert_non_null(strstr(r.out, "why:"));
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "list", "10", "ca");
    cJSON *j = azk_run_json(&r);
    cJSON *certs = jget(cJSON_GetArrayItem(jget(j, "credentials", cJSON_Array), 0), "certificates", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(certs), 2);
    assert_string_equal(jget(cJSON_GetArrayItem(certs, 0), "sha256", cJSON_String)->valuestring,
                        "CB3CCBB76031E5E0138F8DD39A23F9DE47FFC35E43C1144CEA27D46A5AB1CB5F");
    cJSON_Delete(j);
    azk_run_free(&r);
    /* Stored exactly as `cat g2.pem ms.pem` (canonical): no blank line between the roots. */
    char *g2 = azk_test_read(AZK_SOURCE_DIR "/data/roots/digicert-global-root-g2.pem", NULL);
    char *ms = azk_test_read(AZK_SOURCE_DIR "/data/roots/microsoft-rsa-root-ca-2017.pem", NULL);
    char both[8192];
    snprintf(both, sizeof(both), "%s%s", g2, ms);
    azk_test_write(azk_path(work, "both.pem"), both, strlen(both));
    RUN(&r, NULL, "cred", "cmp", "10", "ca", azk_path(work, "both.pem"));
    expect_status(&r, 0);
    azk_run_free(&r);
    free(g2);
    free(ms);

    /* Two tags: G2 in the primary, Microsoft RSA 2017 in the secondary, chain+key in both. */
    RUN(&r, NULL, "--json", "cred", "provision", "--sec-tag", "20", "--secondary-sec-tag", "21",
        "--cert", chain, "--key", key);
    expect_status(&r, 0);
    j = azk_run_json(&r);
    cJSON *steps = jget(j, "steps", cJSON_Array);
    assert_int_equal(cJSON_GetArraySize(steps), 6);
    cJSON *s0 = cJSON_GetArrayItem(steps, 0), *s3 = cJSON_GetArrayItem(steps, 3);
    assert_int_equal(jget(s0, "sec_tag", cJSON_Number)->valueint, 20);
    assert_string_equal(jget(s0, "what", cJSON_String)->valuestring, "DigiCert Global Root G2");
    assert_int_equal(jget(s3, "sec_tag", cJSON_Number)->valueint, 21);
    assert_string_equal(jget(s3, "what", cJSON_String)->valuestring,
                        "Microsoft RSA Root Certificate Authority 2017");
    jget(s0, "why", cJSON_String);
    jget(s0, "type_name", cJSON_String);
    /* Sizes are what the store holds (canonical), not the input files' sizes. */
    size_t chain_len;
    char *chain_text = azk_test_read(chain, &chain_len);
    assert_int_equal(jget(cJSON_GetArrayItem(steps, 1), "size", cJSON_Number)->valueint,
                     (int)chain_len - 1);
    free(chain_text);
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "cmp", "21", "cert", chain);
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "cmp", "21", "key", key);
    expect_status(&r, 0);
    azk_run_free(&r);

    /* --ca replaces the roots. */
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "30", "--cert", chain, "--key", key, "--ca",
        azk_path(pki, "root.cert.pem"));
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "cmp", "30", "ca", azk_path(pki, "root.cert.pem"));
    expect_status(&r, 0);
    azk_run_free(&r);

    /* A key from another device: refused, nothing written. */
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "40", "--cert", chain, "--key",
        azk_path(pki, "ss-1.key.pem"));
    expect_status(&r, 1);
    assert_non_null(strstr(r.err, "does not belong"));
    assert_non_null(strstr(r.err, "nothing was written"));
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "list", "40");
    j = azk_run_json(&r);
    assert_int_equal(cJSON_GetArraySize(jget(j, "credentials", cJSON_Array)), 0);
    cJSON_Delete(j);
    azk_run_free(&r);
    /* A root CA given as the device certificate: warned, and CA as --ca with a leaf refused. */
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "41", "--cert", chain, "--key", key, "--ca", key);
    expect_status(&r, 1);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "10", "--secondary-sec-tag", "10", "--cert",
        chain, "--key", key);
    expect_status(&r, 1);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "10", "--cert", chain);
    expect_status(&r, 2);
    azk_run_free(&r);
}

/* The prj.conf lines printed with the tags: each NCS generation's option names, DPS with the
 * id scope, the device id = the leaf's CN, key management when the firmware writes the tags;
 * a bad --ncs is a usage error that writes nothing. */
static void test_ncs_config_block(void **state)
{
    (void)state;
    struct azk_run r;
    const char *chain = azk_path(pki, "dev-1.chain.pem"), *key = azk_path(pki, "dev-1.key.pem");
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "10", "--secondary-sec-tag", "11", "--cert",
        chain, "--key", key, "--id-scope", "0ne00ABCDEF");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "nRF Connect SDK 2.3 and later"));
    assert_non_null(strstr(r.out, "\nCONFIG_MQTT_HELPER_SEC_TAG=10\n"));
    assert_non_null(strstr(r.out, "\nCONFIG_MQTT_HELPER_SECONDARY_SEC_TAG=11\n"));
    assert_non_null(strstr(r.out, "\nCONFIG_AZURE_IOT_HUB_DPS=y\n"));
    assert_non_null(strstr(r.out, "\nCONFIG_AZURE_IOT_HUB_DPS_ID_SCOPE=\"0ne00ABCDEF\"\n"));
    assert_non_null(strstr(r.out, "\nCONFIG_AZURE_IOT_HUB_DEVICE_ID=\"dev-1\"\n"));
    assert_null(strstr(r.out, "CONFIG_MODEM_KEY_MGMT")); /* the tags are already written */
    azk_run_free(&r);

    /* NCS 2.1-2.2: the library's own option names. */
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "10", "--secondary-sec-tag", "11", "--cert",
        chain, "--key", key, "--ncs", "v2.2.0");
    expect_status(&r, 0);
    assert_non_null(strstr(r.out, "\nCONFIG_AZURE_IOT_HUB_SEC_TAG=10\n"));
    assert_non_null(strstr(r.out, "\nCONFIG_AZURE_IOT_HUB_SECONDARY_SEC_TAG=11\n"));
    assert_null(strstr(r.out, "MQTT_HELPER"));
    assert_non_null(strstr(r.out, "<your DPS id scope>"));
    azk_run_free(&r);

    /* NCS 1.x-2.0 names one tag: the secondary is called out, not configured. */
    RUN(&r, NULL, "--json", "cred", "export", "--c", azk_path(work, "t10.h"), "--sec-tag", "10",
        "--secondary-sec-tag", "11", "--ncs", "1.9");
    expect_status(&r, 0);
    cJSON *j = azk_run_json(&r);
    cJSON *ncs = jget(j, "ncs", cJSON_Object);
    assert_string_equal(jget(ncs, "ncs", cJSON_String)->valuestring, "1.4 to 2.0");
    char *lines = cJSON_PrintUnformatted(jget(ncs, "prj_conf", cJSON_Array));
    char *notes = cJSON_PrintUnformatted(jget(ncs, "notes", cJSON_Array));
    assert_non_null(strstr(lines, "\"CONFIG_AZURE_IOT_HUB_SEC_TAG=10\""));
    assert_null(strstr(lines, "SECONDARY"));
    assert_non_null(strstr(notes, "sec_tag 11 is never offered"));
    assert_non_null(strstr(lines, "\"CONFIG_MODEM_KEY_MGMT=y\"")); /* the firmware writes */
    assert_non_null(strstr(lines, "CONFIG_AZURE_IOT_HUB_DEVICE_ID=\\\"dev-1\\\""));
    free(lines);
    free(notes);
    cJSON_Delete(j);
    azk_run_free(&r);

    /* Bad version: usage error, nothing written. */
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "50", "--cert", chain, "--key", key, "--ncs",
        "banana");
    expect_status(&r, 2);
    assert_non_null(strstr(r.err, "--ncs takes an nRF Connect SDK version"));
    azk_run_free(&r);
    RUN(&r, NULL, "--json", "cred", "list", "50");
    j = azk_run_json(&r);
    assert_int_equal(cJSON_GetArraySize(jget(j, "credentials", cJSON_Array)), 0);
    cJSON_Delete(j);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "provision", "--sec-tag", "50", "--cert", chain, "--key", key, "--ncs",
        "1.2");
    expect_status(&r, 2);
    azk_run_free(&r);
}

static void test_store_locations(void **state)
{
    (void)state;
    struct azk_run r;
    /* Read-only commands on a store that does not exist create nothing. */
    RUN(&r, NULL, "cred", "list");
    expect_status(&r, 0);
    azk_run_free(&r);
    RUN(&r, NULL, "cred", "exists", "1", "ca");
    expect_status(&r, 1);
    azk_run_free(&r);
    assert_false(azk_test_exists(store));
    char home[700], env_store[700];
    snprintf(home, sizeof(home), "%s/home", work);
    snprintf(env_store, sizeof(env_store), "%s/envstore", work);
    setenv("HOME", home, 1);
    unsetenv("XDG_DATA_HOME");
    azk_runv(&r, "0011", "cred", "write", "1", "psk", "-", NULL);
    expect_status(&r, 0);
    azk_run_free(&r);
    assert_true(azk_test_exists(azk_path(home, ".local/share/azkit/credstore/1/3-psk.txt")));
    setenv("AZKIT_STORE", env_store, 1);
    azk_runv(&r, "0022", "cred", "write", "1", "psk", "-", NULL);
    expect_status(&r, 0);
    azk_run_free(&r);
    assert_true(azk_test_exists(azk_path(env_store, "1/3-psk.txt")));
    azk_runv(&r, NULL, "cred", "read", "1", "psk", "--store=", NULL);
    azk_run_free(&r);
    char flag[800];
    snprintf(flag, sizeof(flag), "--store=%s", env_store);
    azk_runv(&r, NULL, "cred", "read", "1", "psk", flag, NULL);
    assert_string_equal(r.out, "0022\n");
    azk_run_free(&r);
    unsetenv("AZKIT_STORE");
}

/* The key's base64 body must never appear in any output of any command. */
static void assert_no_key(const struct azk_run *r, char **lines, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (strstr(r->out, lines[i]) || strstr(r->err, lines[i]))
            fail_msg("key material leaked by '%s'", what);
}

static void test_key_sentinel(void **state)
{
    (void)state;
    const char *key = azk_path(pki, "dev-1.key.pem");
    char *text = azk_test_read(key, NULL);
    char *lines[32];
    int n = 0;
    for (char *save, *l = strtok_r(text, "\n", &save); l && n < 32; l = strtok_r(NULL, "\n", &save))
        if (strncmp(l, "-----", 5) != 0 && strlen(l) >= 16)
            lines[n++] = l;
    assert_true(n >= 2);
    const char *chain = azk_path(pki, "dev-1.chain.pem");
    const char *hdr = azk_path(work, "tag.h");
    const char *const cmds[][10] = {
        {"cred", "write", "10", "key", key},
        {"cred", "write", "10", "ca", key},
        {"cred", "write", "10", "cert", key},
        {"cred", "write", "10", "psk", key},
        {"cred", "write", "10", "identity", key},
        {"cred", "provision", "--sec-tag", "11", "--cert", chain, "--key", key},
        {"cred", "provision", "--sec-tag", "12", "--cert", key, "--key", key},
        {"cred", "read", "10", "key"},
        {"cred", "read", "11", "key"},
        {"cred", "digest", "10", "key"},
        {"cred", "exists", "10", "key"},
        {"cred", "cmp", "10", "key", key},
        {"cred", "cmp", "10", "cert", key},
        {"cred", "list"},
        {"cred", "export", "--c", "-", "--sec-tag", "11"},
        {"cred", "export", "--c", hdr, "--sec-tag", "11"},
        {"cred", "clear", "12"},
        {"pki", "show", key},
        {"pki", "verify", "--ca", key, key},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        for (int json = 0; json < 2; json++) {
            const char *argv[16];
            int k = 0;
            argv[k++] = "--store";
            argv[k++] = store;
            if (json)
                argv[k++] = "--json";
            for (int m = 0; cmds[i][m] != NULL; m++)
                argv[k++] = cmds[i][m];
            argv[k] = NULL;
            struct azk_run r;
            azk_run(&r, NULL, argv);
            assert_true(r.status <= 2);
            assert_no_key(&r, lines, n, cmds[i][1]);
            azk_run_free(&r);
        }
    }
    /* The header written without --include-key holds no key either. */
    char *h = azk_test_read(hdr, NULL);
    for (int i = 0; i < n; i++)
        assert_null(strstr(h, lines[i]));
    free(h);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help_and_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read_digest_exists_cmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_write_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_table_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provision_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ncs_config_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_locations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_sentinel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

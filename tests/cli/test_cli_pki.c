/* azkit pki through the real binary: exit codes, --json schemas, thumbprints vs openssl. */
#include "support/test_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    char *dir = malloc(512);
    azk_test_mkdtemp(dir);
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    azk_test_rmrf(*state);
    free(*state);
    return 0;
}

#define DIR_ ((const char *)*state)

/* `openssl x509 -fingerprint` of the first certificate, colons stripped. */
static void openssl_fp(const char *path, const char *alg, char *out, size_t len)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -%s -in '%s'", alg, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512] = "";
    assert_non_null(fgets(line, sizeof(line), p));
    assert_int_equal(pclose(p), 0);
    const char *eq = strchr(line, '=');
    assert_non_null(eq);
    size_t n = 0;
    for (const char *c = eq + 1; *c && *c != '\n' && n + 1 < len; c++)
        if (*c != ':')
            out[n++] = *c;
    out[n] = '\0';
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        fail_msg("JSON field '%s' is not a string", key);
    return v->valuestring;
}

static void check_thumbprints(const cJSON *cert, const char *path)
{
    char sha1[128], sha256[160];
    openssl_fp(path, "sha1", sha1, sizeof(sha1));
    openssl_fp(path, "sha256", sha256, sizeof(sha256));
    assert_int_equal(strlen(sha1), 40);
    assert_int_equal(strlen(sha256), 64);
    assert_string_equal(jstr(cert, "sha1"), sha1);
    assert_string_equal(jstr(cert, "sha256"), sha256);
}

static void assert_no_key_material(const struct azk_run *r)
{
    assert_null(strstr(r->out, "-----BEGIN"));
    assert_null(strstr(r->err, "-----BEGIN"));
}

static void test_make_pki_helper(void **state)
{
    azk_test_make_pki(DIR_);
    const char *files[] = {"root.cert.pem", "root.key.pem", "inter.cert.pem", "inter.key.pem",
                           "inter.chain.pem", "dev-1.cert.pem", "dev-1.key.pem",
                           "dev-1.chain.pem", "ss-1.cert.pem", "ss-1.key.pem"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        assert_true(azk_test_exists(azk_path(DIR_, files[i])));
    assert_int_equal(azk_test_mode(azk_path(DIR_, "dev-1.key.pem")), 0600);
    assert_false(azk_test_exists(azk_path(DIR_, "root.chain.pem")));
    assert_false(azk_test_exists(azk_path(DIR_, "ss-1.chain.pem")));
}

static void test_create_json(void **state)
{
    char root[600], inter[600], dev[600], ss[600], ver[600];
    snprintf(root, sizeof(root), "%s/root", DIR_);
    snprintf(inter, sizeof(inter), "%s/inter", DIR_);
    snprintf(dev, sizeof(dev), "%s/dev", DIR_);
    snprintf(ss, sizeof(ss), "%s/ss", DIR_);
    snprintf(ver, sizeof(ver), "%s/ver", DIR_);
    struct azk_run r;

    azk_runv(&r, NULL, "pki", "root", "--json", "--out", root, NULL);
    assert_int_equal(r.status, 0);
    cJSON *j = azk_run_json(&r);
    assert_string_equal(jstr(j, "kind"), "root");
    assert_string_equal(jstr(j, "cert"), azk_path(DIR_, "root.cert.pem"));
    assert_string_equal(jstr(j, "key"), azk_path(DIR_, "root.key.pem"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "chain")));
    const cJSON *c = cJSON_GetObjectItem(j, "certificate");
    assert_string_equal(jstr(c, "subject_cn"), "Azkit Test Root CA");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "is_ca")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "self_signed")));
    assert_string_equal(jstr(c, "key_type"), "EC P-256");
    assert_string_equal(jstr(c, "validity"), "valid");
    check_thumbprints(c, azk_path(DIR_, "root.cert.pem"));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "findings")));
    assert_no_key_material(&r);
    cJSON_Delete(j);
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "intermediate", "--ca", root, "--out", inter, "--path-len", "1",
             "--key-type", "rsa", "--json", NULL);
    assert_int_equal(r.status, 0);
    j = azk_run_json(&r);
    assert_string_equal(jstr(j, "kind"), "intermediate");
    assert_string_equal(jstr(j, "chain"), azk_path(DIR_, "inter.chain.pem"));
    c = cJSON_GetObjectItem(j, "certificate");
    assert_string_equal(jstr(c, "subject_cn"), "Azkit Test Intermediate CA");
    assert_string_equal(jstr(c, "issuer_cn"), "Azkit Test Root CA");
    assert_string_equal(jstr(c, "key_type"), "RSA 2048");
    assert_int_equal(cJSON_GetObjectItem(c, "path_len")->valueint, 1);
    cJSON_Delete(j);
    azk_run_free(&r);

    azk_runv(&r, NULL, "--json", "pki", "device", "dev-7", "--ca", inter, "--out", dev,
             "--days", "10", NULL);
    assert_int_equal(r.status, 0);
    j = azk_run_json(&r);
    assert_string_equal(jstr(j, "kind"), "device");
    assert_string_equal(jstr(j, "chain"), azk_path(DIR_, "dev.chain.pem"));
    c = cJSON_GetObjectItem(j, "certificate");
    assert_string_equal(jstr(c, "subject_cn"), "dev-7");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "is_ca")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "client_auth")));
    check_thumbprints(c, azk_path(DIR_, "dev.cert.pem"));
    assert_int_equal(azk_test_mode(azk_path(DIR_, "dev.key.pem")), 0600);
    cJSON_Delete(j);
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "self-signed", "Ss-9", "--out", ss, "--json", NULL);
    assert_int_equal(r.status, 0);
    j = azk_run_json(&r);
    assert_string_equal(jstr(j, "kind"), "self-signed");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "chain")));
    const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "findings"), 0);
    assert_non_null(f);
    assert_string_equal(jstr(f, "code"), "pki.not-registration-id");
    assert_string_equal(jstr(f, "severity"), "warning");
    check_thumbprints(cJSON_GetObjectItem(j, "certificate"), azk_path(DIR_, "ss.cert.pem"));
    cJSON_Delete(j);
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "verification-cert", "ABC123DEF", "--ca", root, "--out", ver,
             "--json", NULL);
    assert_int_equal(r.status, 0);
    j = azk_run_json(&r);
    assert_string_equal(jstr(j, "kind"), "verification");
    c = cJSON_GetObjectItem(j, "certificate");
    assert_string_equal(jstr(c, "subject_cn"), "ABC123DEF");
    assert_string_equal(jstr(c, "issuer_cn"), "Azkit Test Root CA");
    cJSON_Delete(j);
    azk_run_free(&r);

    /* openssl agrees the verification certificate is signed by the root */
    char cmd[2000];
    snprintf(cmd, sizeof(cmd),
             "openssl verify -partial_chain -CAfile '%s/root.cert.pem' '%s/ver.cert.pem' "
             ">/dev/null 2>&1",
             DIR_, DIR_);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "openssl verify -CAfile '%s/root.cert.pem' -untrusted '%s/dev.chain.pem' "
             "'%s/dev.cert.pem' >/dev/null 2>&1",
             DIR_, DIR_, DIR_);
    assert_int_equal(system(cmd), 0);
}

static void test_create_human_and_defaults(void **state)
{
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(DIR_), 0);
    struct azk_run r;
    azk_runv(&r, NULL, "pki", "root", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "root.cert.pem"));
    assert_non_null(strstr(r.out, "root.key.pem (mode 0600)"));
    assert_non_null(strstr(r.out, "SHA-1"));
    assert_non_null(strstr(r.out, "SHA-256"));
    assert_non_null(strstr(r.out, "next: "));
    assert_no_key_material(&r);
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "intermediate", "--ca", "root", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    assert_true(azk_test_exists("intermediate.chain.pem"));

    azk_runv(&r, NULL, "pki", "device", "dev-1", "--ca", "intermediate", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "dev-1.key.pem (mode 0600)"));
    assert_non_null(strstr(r.out, "dev-1.chain.pem"));
    assert_non_null(strstr(r.out, "CN           dev-1"));
    assert_non_null(
        strstr(r.out, "azkit cred provision --sec-tag 10 --cert dev-1.chain.pem --key dev-1.key.pem"));
    char sha1[64];
    openssl_fp("dev-1.cert.pem", "sha1", sha1, sizeof(sha1));
    assert_non_null(strstr(r.out, sha1));
    assert_no_key_material(&r);
    azk_run_free(&r);

    /* --ca FILE.pem needs --ca-key */
    azk_runv(&r, NULL, "pki", "device", "dev-2", "--ca", "root.cert.pem", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--ca-key"));
    azk_run_free(&r);
    azk_runv(&r, NULL, "pki", "device", "dev-2", "--ca", "root.cert.pem", "--ca-key",
             "root.key.pem", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    azk_runv(&r, NULL, "pki", "device", "dev-3", "--ca-cert", "root.cert.pem", "--ca-key",
             "intermediate.key.pem", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "does not belong"));
    azk_run_free(&r);

    /* no overwrite without --force; the file is unchanged */
    char *before = azk_test_read("root.cert.pem", NULL);
    azk_runv(&r, NULL, "pki", "root", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "already exists"));
    assert_non_null(strstr(r.err, "--force"));
    azk_run_free(&r);
    char *after = azk_test_read("root.cert.pem", NULL);
    assert_string_equal(before, after);
    free(after);
    azk_runv(&r, NULL, "pki", "root", "--force", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    after = azk_test_read("root.cert.pem", NULL);
    assert_string_not_equal(before, after);
    free(after);
    free(before);

    /* invalid device id */
    azk_runv(&r, NULL, "pki", "self-signed", "bad id", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "device ids are 1 to 128"));
    azk_run_free(&r);
    assert_false(azk_test_exists("bad id.cert.pem"));
    assert_int_equal(chdir(cwd), 0);
}

static void test_show(void **state)
{
    azk_test_make_pki(DIR_);
    const char *chain = azk_path(DIR_, "dev-1.chain.pem");
    struct azk_run r;
    azk_runv(&r, NULL, "pki", "show", chain, "--json", NULL);
    assert_int_equal(r.status, 0);
    cJSON *j = azk_run_json(&r);
    assert_string_equal(jstr(j, "file"), chain);
    const cJSON *certs = cJSON_GetObjectItem(j, "certificates");
    assert_int_equal(cJSON_GetArraySize(certs), 2);
    const cJSON *leaf = cJSON_GetArrayItem(certs, 0);
    assert_string_equal(jstr(leaf, "subject_cn"), "dev-1");
    assert_string_equal(jstr(leaf, "issuer_cn"), "Azkit Test Intermediate");
    assert_string_equal(jstr(cJSON_GetArrayItem(certs, 1), "subject_cn"),
                        "Azkit Test Intermediate");
    check_thumbprints(leaf, azk_path(DIR_, "dev-1.cert.pem"));
    check_thumbprints(cJSON_GetArrayItem(certs, 1), azk_path(DIR_, "inter.cert.pem"));
    cJSON_Delete(j);
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "show", azk_path(DIR_, "ss-1.cert.pem"), NULL);
    assert_int_equal(r.status, 0);
    char sha1[64], sha256[80];
    openssl_fp(azk_path(DIR_, "ss-1.cert.pem"), "sha1", sha1, sizeof(sha1));
    openssl_fp(azk_path(DIR_, "ss-1.cert.pem"), "sha256", sha256, sizeof(sha256));
    assert_non_null(strstr(r.out, sha1));
    assert_non_null(strstr(r.out, sha256));
    assert_non_null(strstr(r.out, "CN = ss-1"));
    assert_non_null(strstr(r.out, "self-signed  yes"));
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "show", azk_path(DIR_, "missing.pem"), NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "missing.pem"));
    azk_run_free(&r);
    azk_runv(&r, NULL, "pki", "show", azk_path(DIR_, "dev-1.key.pem"), NULL);
    assert_int_equal(r.status, 1);
    assert_no_key_material(&r);
    assert_non_null(strstr(r.err, "not a CERTIFICATE"));
    azk_run_free(&r);
}

static void test_verify(void **state)
{
    azk_test_make_pki(DIR_);
    char root[600], inter[600], leaf[600], chain[600];
    snprintf(root, sizeof(root), "%s/root.cert.pem", DIR_);
    snprintf(inter, sizeof(inter), "%s/inter.cert.pem", DIR_);
    snprintf(leaf, sizeof(leaf), "%s/dev-1.cert.pem", DIR_);
    snprintf(chain, sizeof(chain), "%s/dev-1.chain.pem", DIR_);
    struct azk_run r;

    azk_runv(&r, NULL, "pki", "verify", "--ca", root, "--expect-cn", "dev-1", chain, "--json",
             NULL);
    assert_int_equal(r.status, 0);
    cJSON *j = azk_run_json(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "verified")));
    const cJSON *ch = cJSON_GetObjectItem(j, "chain");
    assert_int_equal(cJSON_GetArraySize(ch), 3);
    assert_string_equal(cJSON_GetArrayItem(ch, 0)->valuestring, "dev-1");
    assert_string_equal(cJSON_GetArrayItem(ch, 1)->valuestring, "Azkit Test Intermediate");
    assert_string_equal(cJSON_GetArrayItem(ch, 2)->valuestring, "Azkit Test Root");
    const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "findings"), 0);
    assert_string_equal(jstr(f, "code"), "pki.chain-ok");
    cJSON_Delete(j);
    azk_run_free(&r);

    /* human success */
    azk_runv(&r, NULL, "pki", "verify", "--ca", root, chain, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "'dev-1' -> 'Azkit Test Intermediate' -> 'Azkit Test Root'"));
    azk_run_free(&r);

    /* leaf only: the intermediate is missing */
    azk_runv(&r, NULL, "pki", "verify", "--ca", root, leaf, "--json", NULL);
    assert_int_equal(r.status, 1);
    j = azk_run_json(&r);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "verified")));
    f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "findings"), 0);
    assert_string_equal(jstr(f, "code"), "pki.missing-issuer");
    assert_non_null(strstr(jstr(f, "message"), "intermediate is missing"));
    cJSON_Delete(j);
    azk_run_free(&r);
    azk_runv(&r, NULL, "pki", "verify", "--ca", root, leaf, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot find the certificate that issued 'dev-1'"));
    assert_non_null(strstr(r.err, "--untrusted"));
    azk_run_free(&r);

    azk_runv(&r, NULL, "pki", "verify", "--ca", root, "--untrusted", inter, leaf, NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    azk_runv(&r, NULL, "pki", "verify", "--ca", inter, "--partial-chain", leaf, NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    /* --ca PREFIX works too */
    azk_runv(&r, NULL, "pki", "verify", "--ca", azk_path(DIR_, "root"), chain, NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);

    /* CN mismatch */
    azk_runv(&r, NULL, "pki", "verify", "--ca", root, "--expect-cn", "dev-2", chain, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "certificate CN is 'dev-1' but the device/registration id is "
                                  "'dev-2'; Azure requires them equal"));
    azk_run_free(&r);

    /* missing file: error object */
    azk_runv(&r, NULL, "pki", "verify", "--ca", azk_path(DIR_, "nope.pem"), chain, "--json",
             NULL);
    assert_int_equal(r.status, 1);
    j = azk_run_json(&r);
    assert_non_null(cJSON_GetObjectItem(j, "error"));
    cJSON_Delete(j);
    azk_run_free(&r);
}

static void test_help_and_usage(void **state)
{
    (void)state;
    const char *cmds[] = {"root", "intermediate", "device", "self-signed",
                          "verification-cert", "show", "verify"};
    struct azk_run r;
    azk_runv(&r, NULL, "pki", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: azkit pki"));
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        assert_non_null(strstr(r.out, cmds[i]));
    azk_run_free(&r);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        azk_runv(&r, NULL, "pki", cmds[i], "--help", NULL);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.out, "usage: azkit pki"));
        assert_non_null(strstr(r.out, cmds[i]));
        azk_run_free(&r);
    }
    const char *bad[][8] = {
        {"pki", "root", "--bogus", NULL},
        {"pki", "root", "--days", "abc", NULL},
        {"pki", "root", "--key-type", "dsa", NULL},
        {"pki", "root", "--out", NULL},
        {"pki", "root", "extra", NULL},
        {"pki", "root", "--ca", "x", NULL},
        {"pki", "device", "--ca", "x", NULL},
        {"pki", "device", "d1", NULL},
        {"pki", "device", "d1", "--ca", "x", "--ca-cert", "y", NULL},
        {"pki", "intermediate", "--ca-cert", "x", NULL},
        {"pki", "self-signed", NULL},
        {"pki", "show", NULL},
        {"pki", "verify", "cert.pem", NULL},
        {"pki", "verify", "--ca", "x", NULL},
        {"pki", "frobnicate", NULL},
        {"pki", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        azk_run(&r, NULL, bad[i]);
        if (r.status != 2)
            fail_msg("case %zu (%s %s): exit %d, stderr: %s", i, bad[i][1] ? bad[i][1] : "",
                     bad[i][1] && bad[i][2] ? bad[i][2] : "", r.status, r.err);
        assert_true(strlen(r.err) > 0);
        assert_string_equal(r.out, "");
        azk_run_free(&r);
    }
}

static void test_missing_ca(void **state)
{
    struct azk_run r;
    char ca[600], out[600];
    snprintf(ca, sizeof(ca), "%s/nothere", DIR_);
    snprintf(out, sizeof(out), "%s/d", DIR_);
    azk_runv(&r, NULL, "pki", "device", "d1", "--ca", ca, "--out", out, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "nothere.cert.pem"));
    assert_non_null(strstr(r.err, "not found"));
    azk_run_free(&r);
    assert_false(azk_test_exists(azk_path(DIR_, "d.key.pem")));
    azk_runv(&r, NULL, "pki", "intermediate", "--ca", ca, "--out", out, "--json", NULL);
    assert_int_equal(r.status, 1);
    cJSON *j = azk_run_json(&r);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    assert_non_null(e);
    const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "findings"), 0);
    assert_string_equal(jstr(f, "code"), "pki.issuer-missing");
    cJSON_Delete(j);
    azk_run_free(&r);
}

/* pki server: SANs (DNS, IPv4, IPv6), serverAuth, chain, JSON; bad SANs and misuse. */
static void test_server(void **state)
{
    char root[600], inter[600], out[600], cmd[2400];
    snprintf(root, sizeof(root), "%s/root", DIR_);
    snprintf(inter, sizeof(inter), "%s/inter", DIR_);
    snprintf(out, sizeof(out), "%s/hub", DIR_);
    AZK_MUST("pki", "root", "--out", root);
    AZK_MUST("pki", "intermediate", "--ca", root, "--out", inter);
    struct azk_run r;
    azk_runv(&r, NULL, "pki", "server", "hub.local", "--ca", inter, "--out", out, "--san",
             "DNS:hub.local", "--san", "IP:127.0.0.1", "--san", "IP:::1", "--san", "10.1.2.3",
             "--san", "gw.example", "--json", NULL);
    if (r.status != 0)
        fail_msg("pki server: %s", r.err);
    cJSON *j = azk_run_json(&r);
    assert_string_equal(jstr(j, "kind"), "server");
    assert_string_equal(jstr(j, "chain"), azk_path(DIR_, "hub.chain.pem"));
    const cJSON *san = cJSON_GetObjectItem(j, "san");
    assert_int_equal(cJSON_GetArraySize(san), 5);
    const cJSON *cert = cJSON_GetObjectItem(j, "certificate");
    assert_string_equal(jstr(cert, "subject_cn"), "hub.local");
    check_thumbprints(cert, azk_path(DIR_, "hub.cert.pem"));
    cJSON_Delete(j);
    assert_no_key_material(&r);
    azk_run_free(&r);
    assert_int_equal(azk_test_mode(azk_path(DIR_, "hub.key.pem")), 0600);

    int st;
    snprintf(cmd, sizeof(cmd),
             "openssl x509 -noout -ext subjectAltName,extendedKeyUsage,basicConstraints,keyUsage "
             "-in '%s/hub.cert.pem'",
             DIR_);
    char *txt = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(txt, "DNS:hub.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, "
                                "IP Address:10.1.2.3, DNS:gw.example"));
    assert_non_null(strstr(txt, "TLS Web Server Authentication"));
    assert_null(strstr(txt, "TLS Web Client Authentication"));
    assert_non_null(strstr(txt, "CA:FALSE"));
    assert_non_null(strstr(txt, "Digital Signature"));
    free(txt);
    /* The chain file is server + intermediate and verifies for TLS server use. */
    snprintf(cmd, sizeof(cmd),
             "grep -c 'BEGIN CERTIFICATE' '%s/hub.chain.pem' && openssl verify -purpose sslserver "
             "-verify_hostname gw.example -CAfile '%s/root.cert.pem' -untrusted '%s/inter.cert.pem' "
             "'%s/hub.cert.pem' && openssl verify -purpose sslserver -verify_ip ::1 -CAfile "
             "'%s/root.cert.pem' -untrusted '%s/inter.cert.pem' '%s/hub.cert.pem'",
             DIR_, DIR_, DIR_, DIR_, DIR_, DIR_, DIR_);
    txt = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    assert_int_equal(atoi(txt), 2);
    free(txt);

    /* RSA: keyEncipherment too; without --san the name is the only SAN. */
    snprintf(out, sizeof(out), "%s/rsa", DIR_);
    AZK_MUST("pki", "server", "localhost", "--ca", inter, "--out", out, "--key-type", "rsa");
    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -ext subjectAltName,keyUsage -in '%s/rsa.cert.pem'",
             DIR_);
    txt = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(txt, "DNS:localhost"));
    assert_non_null(strstr(txt, "Key Encipherment"));
    free(txt);

    /* A bad SAN: exit 1, pki.bad-san, nothing written. */
    snprintf(out, sizeof(out), "%s/bad", DIR_);
    azk_runv(&r, NULL, "pki", "server", "x", "--ca", inter, "--out", out, "--san", "IP:1.2.3",
             "--json", NULL);
    assert_int_equal(r.status, 1);
    j = azk_run_json(&r);
    const cJSON *f =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "findings"), 0);
    assert_string_equal(jstr(f, "code"), "pki.bad-san");
    cJSON_Delete(j);
    azk_run_free(&r);
    assert_false(azk_test_exists(azk_path(DIR_, "bad.key.pem")));
    azk_runv(&r, NULL, "pki", "server", "x", "--ca", inter, "--out", out, "--san", "DNS:a b",
             NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "not a valid DNS name"));
    azk_run_free(&r);

    /* Usage errors: --san elsewhere, no NAME, no CA. */
    const char *bad[][8] = {
        {"pki", "device", "d1", "--ca", inter, "--san", "DNS:x", NULL},
        {"pki", "server", "--ca", inter, NULL},
        {"pki", "server", "hub", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        azk_run(&r, NULL, bad[i]);
        assert_int_equal(r.status, 2);
        azk_run_free(&r);
    }
    azk_runv(&r, NULL, "pki", "server", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--san"));
    azk_run_free(&r);
    azk_runv(&r, NULL, "pki", "--help", NULL);
    assert_non_null(strstr(r.out, "server NAME"));
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_make_pki_helper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_human_and_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test_setup_teardown(test_missing_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

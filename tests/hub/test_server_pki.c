/* The hub's own PKI (src/hub/server_pki.c): first start, reuse, reissue, repair. */
#include "support/test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hub/server_pki.h"

struct fx {
    char tmp[512];
    char data[600];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    azk_test_mkdtemp(f->tmp);
    snprintf(f->data, sizeof(f->data), "%s/data", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    azk_test_rmrf(f->tmp);
    free(f);
    return 0;
}

static int init(const char *data, const char *const *hosts, size_t n, enum azk_key_alg alg,
                struct hub_pki *p, struct azk_diag *d)
{
    struct hub_pki_opts o = {data, hosts, n, alg};
    azk_diag_init(d);
    return hub_pki_init(&o, p, d);
}

static void must_init(const char *data, const char *const *hosts, size_t n,
                      enum azk_key_alg alg, struct hub_pki *p, struct azk_diag *d)
{
    int rc = init(data, hosts, n, alg, p, d);
    if (rc != 0)
        fail_msg("hub_pki_init: %d %s", rc, d->count ? d->items[d->count - 1].message : "");
}

static STACK_OF(X509) *load(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    fclose(fp);
    ERR_clear_error();
    return sk;
}

static bool covers(X509 *x, const char *name)
{
    int r = strchr(name, ':') != NULL || strspn(name, "0123456789.") == strlen(name)
                ? X509_check_ip_asc(x, name, 0)
                : X509_check_host(x, name, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL);
    return r == 1;
}

static const char *pk(const struct hub_pki *p, const char *name)
{
    return azk_path(p->dir, name);
}

static void verify_chain(const struct hub_pki *p, const char *host)
{
    char cmd[3000];
    snprintf(cmd, sizeof(cmd),
             "openssl verify -purpose sslserver -verify_hostname '%s' -CAfile '%s' -untrusted "
             "'%s' '%s' 2>&1",
             host, p->ca_path, p->chain_path, p->chain_path);
    int st;
    char *out = azk_test_shell(cmd, &st);
    if (st != 0)
        fail_msg("openssl verify: %s", out);
    free(out);
}

static void test_first_start(void **state)
{
    struct fx *f = *state;
    const char *hosts[] = {"hub.example", "10.0.0.5", "[fd00::5]"};
    struct hub_pki p;
    struct azk_diag d;
    must_init(f->data, hosts, 3, AZK_KEY_EC_P256, &p, &d);
    assert_true(p.created);
    assert_false(p.reissued);
    assert_non_null(azk_diag_find(&d, "hub.pki-created"));
    assert_string_equal(p.host, "hub.example");

    assert_int_equal(azk_test_mode(f->data), 0700);
    assert_int_equal(azk_test_mode(p.dir), 0700);
    const char *keys[] = {"ca.key.pem", "intermediate.key.pem", "server.key.pem", "service.key"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(azk_test_mode(pk(&p, keys[i])), 0600);
    const char *certs[] = {"ca.pem", "intermediate.pem", "server.pem", "server-chain.pem"};
    for (size_t i = 0; i < 4; i++)
        assert_true(azk_test_exists(pk(&p, certs[i])));
    assert_string_equal(p.ca_path, pk(&p, "ca.pem"));
    assert_string_equal(p.chain_path, pk(&p, "server-chain.pem"));
    assert_string_equal(p.key_path, pk(&p, "server.key.pem"));
    assert_string_equal(p.service_key_path, pk(&p, "service.key"));

    /* Chain: server + intermediate, under 4 KB, nothing else. */
    size_t len;
    free(azk_test_read(p.chain_path, &len));
    assert_int_equal(len, p.chain_len);
    assert_true(len < 4096);
    STACK_OF(X509) *chain = load(p.chain_path);
    assert_int_equal(sk_X509_num(chain), 2);
    X509 *leaf = sk_X509_value(chain, 0);
    const char *names[] = {"localhost", "127.0.0.1", "::1", "hub.example", "10.0.0.5", "fd00::5"};
    for (size_t i = 0; i < 6; i++)
        if (!covers(leaf, names[i]))
            fail_msg("SAN %s missing", names[i]);
    assert_false(covers(leaf, "other.example"));
    assert_int_equal(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER, XKU_SSL_SERVER);
    assert_int_equal(X509_check_ca(leaf), 0);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(leaf)), EVP_PKEY_EC);
    STACK_OF(X509) *root = load(p.ca_path);
    assert_int_equal(sk_X509_num(root), 1);
    assert_int_equal(X509_check_issued(sk_X509_value(root, 0), sk_X509_value(chain, 1)),
                     X509_V_OK);
    sk_X509_pop_free(root, X509_free);
    sk_X509_pop_free(chain, X509_free);
    verify_chain(&p, "hub.example");
    verify_chain(&p, "localhost");

    /* Service key: 44 base64 characters = 32 bytes; the file holds it. */
    assert_int_equal(strlen(p.service_key), 44);
    unsigned char raw[64];
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)p.service_key, 44), 33);
    char *file = azk_test_read(p.service_key_path, NULL);
    assert_int_equal(strncmp(file, p.service_key, 44), 0);
    free(file);

    char cs[602];
    int n = hub_pki_connection_string(&p, NULL, cs, sizeof(cs));
    assert_true(n > 0);
    char want[600];
    snprintf(want, sizeof(want),
             "HostName=hub.example;SharedAccessKeyName=iothubowner;SharedAccessKey=%s",
             p.service_key);
    assert_string_equal(cs, want);
    assert_int_equal(n, (int)strlen(want));
    hub_pki_connection_string(&p, "localhost", cs, sizeof(cs));
    assert_int_equal(strncmp(cs, "HostName=localhost;", 19), 0);
    assert_int_equal(hub_pki_connection_string(&p, NULL, cs, 20), -ENOSPC);
    assert_string_equal(cs, "");
    char path[700];
    snprintf(path, sizeof(path), "%s/cs.txt", f->tmp);
    FILE *fp = fopen(path, "w");
    assert_int_equal(hub_pki_print_connection_string(fp, &p, NULL), 0);
    fclose(fp);
    file = azk_test_read(path, NULL);
    snprintf(cs, sizeof(cs), "%s\n", want);
    assert_string_equal(file, cs);
    free(file);
}

static void test_second_start_reuses(void **state)
{
    struct fx *f = *state;
    const char *hosts[] = {"hub.example"};
    struct hub_pki p1, p2;
    struct azk_diag d;
    must_init(f->data, hosts, 1, AZK_KEY_EC_P256, &p1, &d);
    const char *files[] = {"ca.pem", "ca.key.pem", "intermediate.pem", "server-chain.pem",
                           "server.key.pem", "service.key"};
    char *before[6];
    for (size_t i = 0; i < 6; i++)
        before[i] = azk_test_read(pk(&p1, files[i]), NULL);
    /* Same options, then no hostname at all (a subset): nothing changes. */
    for (int round = 0; round < 2; round++) {
        must_init(f->data, hosts, round == 0 ? 1 : 0, AZK_KEY_EC_P256, &p2, &d);
        assert_false(p2.created);
        assert_false(p2.reissued);
        assert_null(azk_diag_find(&d, "hub.pki-reissued"));
        assert_string_equal(p2.service_key, p1.service_key);
        assert_int_equal(p2.chain_len, p1.chain_len);
        for (size_t i = 0; i < 6; i++) {
            char *now = azk_test_read(pk(&p2, files[i]), NULL);
            assert_string_equal(now, before[i]);
            free(now);
        }
    }
    assert_string_equal(p2.host, "localhost");
    /* The same hostname written differently ("[::1]", upper case) is no reason to reissue. */
    const char *same[] = {"[::1]", "HUB.EXAMPLE", "0:0:0:0:0:0:0:1"};
    must_init(f->data, same, 3, AZK_KEY_EC_P256, &p2, &d);
    assert_false(p2.reissued);
    for (size_t i = 0; i < 6; i++)
        free(before[i]);
}

static void test_reissue_on_new_hostname(void **state)
{
    struct fx *f = *state;
    const char *h1[] = {"hub.example"};
    struct hub_pki p1, p2;
    struct azk_diag d;
    must_init(f->data, h1, 1, AZK_KEY_EC_P256, &p1, &d);
    char *ca = azk_test_read(p1.ca_path, NULL);
    char *inter = azk_test_read(pk(&p1, "intermediate.pem"), NULL);
    char *chain = azk_test_read(p1.chain_path, NULL);
    const char *h2[] = {"gw.example", "192.0.2.7"};
    must_init(f->data, h2, 2, AZK_KEY_EC_P256, &p2, &d);
    assert_false(p2.created);
    assert_true(p2.reissued);
    const struct azk_finding *fi = azk_diag_find(&d, "hub.pki-reissued");
    assert_non_null(fi);
    assert_int_equal(fi->severity, AZK_SEV_INFO);
    assert_non_null(strstr(fi->message, "gw.example"));
    /* Same root and intermediate; a new server certificate with old and new names. */
    char *ca2 = azk_test_read(p2.ca_path, NULL);
    char *inter2 = azk_test_read(pk(&p2, "intermediate.pem"), NULL);
    char *chain2 = azk_test_read(p2.chain_path, NULL);
    assert_string_equal(ca2, ca);
    assert_string_equal(inter2, inter);
    assert_string_not_equal(chain2, chain);
    assert_string_equal(p2.service_key, p1.service_key);
    assert_int_equal(azk_test_mode(p2.key_path), 0600);
    STACK_OF(X509) *sk = load(p2.chain_path);
    assert_int_equal(sk_X509_num(sk), 2);
    const char *names[] = {"localhost", "127.0.0.1", "::1", "hub.example", "gw.example",
                           "192.0.2.7"};
    for (size_t i = 0; i < 6; i++)
        if (!covers(sk_X509_value(sk, 0), names[i]))
            fail_msg("SAN %s missing after reissue", names[i]);
    sk_X509_pop_free(sk, X509_free);
    verify_chain(&p2, "gw.example");
    /* The key on disk belongs to the new certificate. */
    char cmd[2000];
    snprintf(cmd, sizeof(cmd),
             "a=$(openssl x509 -in '%s' -noout -pubkey) && b=$(openssl pkey -in '%s' -pubout) "
             "&& [ \"$a\" = \"$b\" ]",
             p2.chain_path, p2.key_path);
    int st;
    free(azk_test_shell(cmd, &st));
    assert_int_equal(st, 0);
    /* And the next start with the same names is quiet again. */
    must_init(f->data, h2, 2, AZK_KEY_EC_P256, &p2, &d);
    assert_false(p2.reissued);
    assert_true(p2.chain_len < 4096);
    free(ca);
    free(inter);
    free(chain);
    free(ca2);
    free(inter2);
    free(chain2);
}

static void test_rsa(void **state)
{
    struct fx *f = *state;
    struct hub_pki p;
    struct azk_diag d;
    must_init(f->data, NULL, 0, AZK_KEY_RSA_2048, &p, &d);
    assert_true(p.chain_len < 4096);
    STACK_OF(X509) *sk = load(p.chain_path);
    X509 *leaf = sk_X509_value(sk, 0);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(leaf)), EVP_PKEY_RSA);
    assert_true(X509_get_key_usage(leaf) & KU_KEY_ENCIPHERMENT);
    assert_true(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
    sk_X509_pop_free(sk, X509_free);
    verify_chain(&p, "localhost");
    /* A reissue keeps the RSA key type even though the default (EC) is asked for. */
    const char *h[] = {"rsa.example"};
    must_init(f->data, h, 1, AZK_KEY_EC_P256, &p, &d);
    assert_true(p.reissued);
    sk = load(p.chain_path);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(sk_X509_value(sk, 0))), EVP_PKEY_RSA);
    sk_X509_pop_free(sk, X509_free);
}

static void test_bad_options(void **state)
{
    struct fx *f = *state;
    struct hub_pki p;
    struct azk_diag d;
    const char *bad[] = {"not a host"};
    assert_int_equal(init(f->data, bad, 1, AZK_KEY_EC_P256, &p, &d), -EINVAL);
    assert_non_null(azk_diag_find(&d, "hub.pki-bad-hostname"));
    assert_false(azk_test_exists(f->data));
    const char *empty[] = {""};
    assert_int_equal(init(f->data, empty, 1, AZK_KEY_EC_P256, &p, &d), -EINVAL);
    assert_int_equal(init(NULL, NULL, 0, AZK_KEY_EC_P256, &p, &d), -EINVAL);
    assert_int_equal(init(f->data, NULL, 0, (enum azk_key_alg)9, &p, &d), -EINVAL);

    /* Too many names: the chain would pass 4 KB; refused, nothing left behind. */
    static char names[HUB_PKI_HOSTNAMES_MAX][80];
    const char *many[HUB_PKI_HOSTNAMES_MAX];
    for (size_t i = 0; i < HUB_PKI_HOSTNAMES_MAX; i++) {
        snprintf(names[i], sizeof(names[i]),
                 "host-%02zu-with-a-rather-long-name.in-a-deep-subdomain.region.example.com", i);
        many[i] = names[i];
    }
    assert_int_equal(init(f->data, many, HUB_PKI_HOSTNAMES_MAX, AZK_KEY_EC_P256, &p, &d),
                     -EFBIG);
    assert_non_null(azk_diag_find(&d, "hub.pki-chain-too-big"));
    assert_false(azk_test_exists(azk_path(f->data, "pki")));
    int st;
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "ls -A '%s'", f->data);
    char *ls = azk_test_shell(cmd, &st);
    assert_string_equal(ls, "");
    free(ls);
}

static void test_repair_and_modes(void **state)
{
    struct fx *f = *state;
    struct hub_pki p;
    struct azk_diag d;
    /* A data dir that exists with a loose mode, and a leftover of a crashed first start. */
    assert_int_equal(mkdir(f->data, 0755), 0);
    char left[800];
    snprintf(left, sizeof(left), "%s/.pki-new-abc123", f->data);
    assert_int_equal(mkdir(left, 0700), 0);
    azk_test_write(azk_path(left, "ca.key.pem"), "x", 1);
    must_init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d);
    assert_int_equal(azk_test_mode(f->data), 0700);
    assert_false(azk_test_exists(left));
    char *sk1 = azk_test_read(p.service_key_path, NULL);

    /* Loose key modes are tightened. */
    assert_int_equal(chmod(p.service_key_path, 0644), 0);
    assert_int_equal(chmod(p.key_path, 0640), 0);
    must_init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d);
    assert_non_null(azk_diag_find(&d, "hub.pki-mode-fixed"));
    assert_int_equal(azk_test_mode(p.service_key_path), 0600);
    assert_int_equal(azk_test_mode(p.key_path), 0600);
    assert_false(p.reissued);

    /* A server key that does not belong to the certificate: reissued. */
    char *ca_key = azk_test_read(pk(&p, "intermediate.key.pem"), NULL);
    azk_test_write(p.key_path, ca_key, strlen(ca_key));
    free(ca_key);
    must_init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d);
    assert_true(p.reissued);
    assert_non_null(strstr(azk_diag_find(&d, "hub.pki-reissued")->message, "server.key.pem"));
    /* A missing server chain: reissued. */
    assert_int_equal(unlink(p.chain_path), 0);
    must_init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d);
    assert_true(p.reissued);
    verify_chain(&p, "localhost");
    /* The service key survived all of it. */
    char *sk2 = azk_test_read(p.service_key_path, NULL);
    assert_string_equal(sk1, sk2);
    free(sk2);

    /* A damaged service key is an error that names the file; a missing one is recreated. */
    azk_test_write(p.service_key_path, "short\n", 6);
    assert_int_equal(init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d), -EBADMSG);
    assert_non_null(azk_diag_find(&d, "hub.pki-service-key"));
    unlink(azk_path(azk_path(f->data, "pki"), "service.key"));
    must_init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d);
    assert_non_null(azk_diag_find(&d, "hub.pki-service-key-created"));
    assert_string_not_equal(p.service_key, "");
    assert_int_equal(azk_test_mode(p.service_key_path), 0600);
    free(sk1);

    /* A missing CA key: refused with the fix, nothing replaced. */
    char *ca_pem = azk_test_read(p.ca_path, NULL);
    assert_int_equal(unlink(pk(&p, "ca.key.pem")), 0);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s", p.dir);
    assert_int_equal(init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d), -EBADMSG);
    const struct azk_finding *fi = azk_diag_find(&d, "hub.pki-damaged");
    assert_non_null(fi);
    assert_non_null(strstr(fi->message, "ca.key.pem"));
    char *ca_after = azk_test_read(azk_path(dir, "ca.pem"), NULL);
    assert_string_equal(ca_after, ca_pem);
    free(ca_after);
    free(ca_pem);
}

/* The legacy root: its own root, intermediate and server certificate under pki/legacy, for the
 * same names; root files published; a new hostname reissues both server certificates; a
 * damaged legacy root names pki/legacy, not the whole PKI. */
static void test_legacy_root(void **state)
{
    struct fx *f = *state;
    struct hub_pki p;
    struct azk_diag d;
    must_init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d);
    assert_non_null(azk_diag_find(&d, "hub.pki-legacy-created"));
    const struct hub_pki_root *leg = &p.roots[HUB_ROOT_LEGACY], *cur = &p.roots[HUB_ROOT_CURRENT];
    assert_string_equal(leg->chain_path, pk(&p, "legacy/server-chain.pem"));
    assert_string_equal(leg->key_path, pk(&p, "legacy/server.key.pem"));
    assert_string_equal(cur->chain_path, p.chain_path);
    assert_int_equal(cur->chain_len, p.chain_len);
    assert_true(leg->chain_len > 0 && leg->chain_len < HUB_PKI_CHAIN_MAX);
    assert_int_equal(azk_test_mode(pk(&p, "legacy")), 0700);
    const char *keys[] = {"legacy/ca.key.pem", "legacy/intermediate.key.pem",
                          "legacy/server.key.pem"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(azk_test_mode(pk(&p, keys[i])), 0600);
    char *ca = azk_test_read(p.ca_path, NULL), *rc_ = azk_test_read(cur->root_path, NULL);
    char *rl = azk_test_read(leg->root_path, NULL), *both = azk_test_read(p.bundle_path, NULL);
    char *lca = azk_test_read(pk(&p, "legacy/ca.pem"), NULL);
    assert_string_equal(ca, rc_);
    assert_string_equal(rl, lca);
    assert_string_not_equal(ca, rl);
    assert_non_null(strstr(both, ca));
    assert_non_null(strstr(both, rl));
    char subject[256];
    assert_int_equal(hub_pki_root_subject(leg->root_path, subject, sizeof(subject)), 0);
    assert_non_null(strstr(subject, "CN=azkit-hub Legacy Test Root "));
    assert_int_equal(hub_pki_root_subject(cur->root_path, subject, sizeof(subject)), 0);
    assert_non_null(strstr(subject, "CN=azkit-hub Current Test Root "));
    /* The legacy chain verifies under the legacy root only. */
    struct hub_pki lp = p;
    snprintf(lp.ca_path, sizeof(lp.ca_path), "%s", leg->root_path);
    snprintf(lp.chain_path, sizeof(lp.chain_path), "%s", leg->chain_path);
    verify_chain(&lp, "localhost");

    /* A new hostname: both server certificates are reissued, the roots stay. */
    const char *hosts[] = {"hub.example"};
    azk_diag_init(&d);
    must_init(f->data, hosts, 1, AZK_KEY_EC_P256, &p, &d);
    assert_null(azk_diag_find(&d, "hub.pki-legacy-created"));
    lp = p;
    snprintf(lp.ca_path, sizeof(lp.ca_path), "%s", leg->root_path);
    snprintf(lp.chain_path, sizeof(lp.chain_path), "%s", leg->chain_path);
    verify_chain(&lp, "hub.example");
    verify_chain(&p, "hub.example");
    char *rl2 = azk_test_read(leg->root_path, NULL);
    assert_string_equal(rl, rl2);

    /* Damaged legacy root: the error names it and the fix removes only pki/legacy. */
    assert_int_equal(unlink(pk(&p, "legacy/intermediate.pem")), 0);
    azk_diag_init(&d);
    assert_int_equal(init(f->data, NULL, 0, AZK_KEY_EC_P256, &p, &d), -EBADMSG);
    const struct azk_finding *fi = azk_diag_find(&d, "hub.pki-damaged");
    assert_non_null(fi);
    assert_non_null(strstr(fi->message, "legacy/intermediate.pem"));
    assert_non_null(strstr(fi->fix, "remove the pki/legacy directory"));
    free(ca);
    free(rc_);
    free(rl);
    free(rl2);
    free(both);
    free(lca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_start_reuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reissue_on_new_hostname, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_root, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

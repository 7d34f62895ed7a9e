/* Test PKI through the library: every kind, checked with OpenSSL directly. */
#include "support/test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "azkit/pki.h"
#include "azkit/azure_ids.h"

/* ---- helpers ---------------------------------------------------------------------------- */

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

static const char *P(void **state, const char *name)
{
    return azk_path((const char *)*state, name);
}

/* Creates `kind` named `cn` at dir/out, signed by dir/issuer (prefix) when given. */
static int make(void **state, enum azk_pki_kind kind, const char *cn, const char *out,
                const char *issuer, struct azk_pki_result *res, struct azk_diag *d)
{
    char o[1024], ic[1024], ik[1024];
    snprintf(o, sizeof(o), "%s/%s", (char *)*state, out);
    struct azk_pki_request r = {0};
    r.kind = kind;
    r.common_name = cn;
    r.out_prefix = o;
    if (issuer != NULL) {
        snprintf(ic, sizeof(ic), "%s/%s.cert.pem", (char *)*state, issuer);
        snprintf(ik, sizeof(ik), "%s/%s.key.pem", (char *)*state, issuer);
        r.issuer_cert = ic;
        r.issuer_key = ik;
    }
    azk_diag_init(d);
    return azk_pki_create(&r, res, d);
}

static void must_make(void **state, enum azk_pki_kind kind, const char *cn, const char *out,
                      const char *issuer)
{
    struct azk_pki_result res;
    struct azk_diag d;
    int rc = make(state, kind, cn, out, issuer, &res, &d);
    if (rc != 0)
        fail_msg("create %s failed: %d %s", cn, rc, d.count ? d.items[0].message : "");
}

static STACK_OF(X509) *load_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    fclose(f);
    ERR_clear_error();
    return sk;
}

static X509 *load_cert(const char *path)
{
    STACK_OF(X509) *sk = load_all(path);
    assert_true(sk_X509_num(sk) >= 1);
    X509 *x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static char *cn_of(X509 *x)
{
    static char buf[256];
    buf[0] = '\0';
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
    return buf;
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return timegm(&tm);
}

/* OpenSSL's own verdict: leaf against trusted roots with untrusted intermediates. */
static int ossl_verify(X509 *leaf, X509 *trusted, STACK_OF(X509) *untrusted, unsigned long flags)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, trusted);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, untrusted);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    if (flags)
        X509_STORE_CTX_set_flags(ctx, flags);
    int ok = X509_verify_cert(ctx);
    int err = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
    return ok == 1 ? 0 : err;
}

static bool ext_critical(X509 *x, int nid)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);
    assert_true(idx >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, idx)) == 1;
}

static void assert_serial_ok(X509 *x)
{
    const ASN1_INTEGER *s = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_length(s), 16);
    assert_int_equal(ASN1_STRING_type(s), V_ASN1_INTEGER); /* not V_ASN1_NEG_INTEGER */
}

static void make_pki(void **state)
{
    must_make(state, AZK_PKI_ROOT, "Azkit Test Root", "root", NULL);
    must_make(state, AZK_PKI_INTERMEDIATE, "Azkit Test Intermediate", "inter", "root");
    must_make(state, AZK_PKI_DEVICE, "dev-1", "dev-1", "inter");
}

/* ---- creation --------------------------------------------------------------------------- */

static void test_root(void **state)
{
    struct azk_pki_result res;
    struct azk_diag d;
    time_t now = time(NULL);
    assert_int_equal(make(state, AZK_PKI_ROOT, "My Root", "root", NULL, &res, &d), 0);
    assert_string_equal(res.cert_path, P(state, "root.cert.pem"));
    assert_string_equal(res.key_path, P(state, "root.key.pem"));
    assert_string_equal(res.chain_path, "");
    assert_false(azk_test_exists(P(state, "root.chain.pem")));
    assert_string_equal(res.cert.subject_cn, "My Root");
    assert_true(res.cert.is_ca);
    assert_true(res.cert.self_signed);

    X509 *x = load_cert(res.cert_path);
    assert_string_equal(cn_of(x), "My Root");
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_self_signed(x, 1), 1);
    assert_int_equal(X509_check_ca(x), 1);
    assert_int_equal(X509_get_pathlen(x), -1);
    assert_true(ext_critical(x, NID_basic_constraints));
    assert_true(ext_critical(x, NID_key_usage));
    uint32_t ku = X509_get_key_usage(x);
    assert_true(ku & KU_KEY_CERT_SIGN);
    assert_true(ku & KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(x));
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    assert_serial_ok(x);
    /* backdated one hour, 3650 days */
    time_t nb = asn1_time(X509_get0_notBefore(x)), na = asn1_time(X509_get0_notAfter(x));
    assert_true(nb >= now - 3600 - 60 && nb <= now - 3600 + 60);
    assert_int_equal(na - nb, (time_t)3650 * 86400);

    EVP_PKEY *k = load_key(res.key_path);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    char group[64];
    size_t glen;
    assert_int_equal(EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen), 1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(x)), 1);
    assert_int_equal(azk_test_mode(res.key_path), 0600);
    char *pem = azk_test_read(res.key_path, NULL);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8, unencrypted */
    free(pem);
    EVP_PKEY_free(k);
    X509_free(x);
}

static void test_chain(void **state)
{
    time_t now = time(NULL);
    make_pki(state);
    X509 *root = load_cert(P(state, "root.cert.pem"));
    X509 *inter = load_cert(P(state, "inter.cert.pem"));
    X509 *dev = load_cert(P(state, "dev-1.cert.pem"));

    /* intermediate: CA, pathlen 0, signed by root, AKI = root SKI */
    assert_int_equal(X509_check_ca(inter), 1);
    assert_int_equal(X509_get_pathlen(inter), 0);
    assert_int_equal(X509_verify(inter, X509_get0_pubkey(root)), 1);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(inter),
                                           X509_get0_subject_key_id(root)), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(inter), X509_get_subject_name(root)), 0);
    time_t nb = asn1_time(X509_get0_notBefore(inter)), na = asn1_time(X509_get0_notAfter(inter));
    assert_int_equal(na - nb, (time_t)3650 * 86400);

    /* device: CN, EKU clientAuth, CA:FALSE, digitalSignature only (EC), 365 days */
    assert_string_equal(cn_of(dev), "dev-1");
    assert_int_equal(X509_check_ca(dev), 0);
    assert_true(X509_get_extension_flags(dev) & EXFLAG_BCONS);
    assert_false(X509_get_extension_flags(dev) & EXFLAG_CA);
    assert_true(X509_get_extension_flags(dev) & EXFLAG_XKUSAGE);
    assert_true(X509_get_extended_key_usage(dev) & XKU_SSL_CLIENT);
    assert_int_equal(X509_get_key_usage(dev), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_check_purpose(dev, X509_PURPOSE_SSL_CLIENT, 0), 1);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(dev),
                                           X509_get0_subject_key_id(inter)), 0);
    assert_serial_ok(dev);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(dev),
                                          X509_get0_serialNumber(inter)), 0);
    nb = asn1_time(X509_get0_notBefore(dev));
    na = asn1_time(X509_get0_notAfter(dev));
    assert_true(nb >= now - 3600 - 60 && nb <= now - 3600 + 60);
    assert_int_equal(na - nb, (time_t)365 * 86400);

    /* chain files: device + intermediate; intermediate alone; never the root */
    STACK_OF(X509) *chain = load_all(P(state, "dev-1.chain.pem"));
    assert_int_equal(sk_X509_num(chain), 2);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), dev), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), inter), 0);
    STACK_OF(X509) *ichain = load_all(P(state, "inter.chain.pem"));
    assert_int_equal(sk_X509_num(ichain), 1);
    assert_int_equal(X509_cmp(sk_X509_value(ichain, 0), inter), 0);

    /* OpenSSL verifies the chain file against the root; not without the intermediate */
    assert_int_equal(ossl_verify(dev, root, chain, 0), 0);
    assert_int_equal(ossl_verify(dev, root, NULL, 0), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(ossl_verify(dev, inter, NULL, X509_V_FLAG_PARTIAL_CHAIN), 0);

    /* a device signed by the root directly: chain file holds the device only */
    must_make(state, AZK_PKI_DEVICE, "dev-2", "dev-2", "root");
    STACK_OF(X509) *c2 = load_all(P(state, "dev-2.chain.pem"));
    assert_int_equal(sk_X509_num(c2), 1);
    assert_int_equal(ossl_verify(sk_X509_value(c2, 0), root, NULL, 0), 0);

    /* a second-level intermediate carries the whole chain below the root */
    struct azk_pki_request r = {0};
    r.kind = AZK_PKI_INTERMEDIATE;
    r.common_name = "Level 2";
    r.path_len = -1;
    char ic[600], ik[600], op[600];
    snprintf(ic, sizeof(ic), "%s", P(state, "root.cert.pem"));
    snprintf(ik, sizeof(ik), "%s", P(state, "root.key.pem"));
    snprintf(op, sizeof(op), "%s", P(state, "l1"));
    r.issuer_cert = ic;
    r.issuer_key = ik;
    r.out_prefix = op;
    struct azk_pki_result res;
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    assert_int_equal(res.cert.path_len, -1);
    must_make(state, AZK_PKI_INTERMEDIATE, "Level 3", "l2", "l1");
    must_make(state, AZK_PKI_DEVICE, "dev-3", "dev-3", "l2");
    STACK_OF(X509) *c3 = load_all(P(state, "dev-3.chain.pem"));
    assert_int_equal(sk_X509_num(c3), 3);
    assert_string_equal(cn_of(sk_X509_value(c3, 1)), "Level 3");
    assert_string_equal(cn_of(sk_X509_value(c3, 2)), "Level 2");
    assert_int_equal(ossl_verify(sk_X509_value(c3, 0), root, c3, 0), 0);

    sk_X509_pop_free(c3, X509_free);
    sk_X509_pop_free(c2, X509_free);
    sk_X509_pop_free(ichain, X509_free);
    sk_X509_pop_free(chain, X509_free);
    X509_free(root);
    X509_free(inter);
    X509_free(dev);
}

static void test_rsa(void **state)
{
    char o[600];
    snprintf(o, sizeof(o), "%s", P(state, "rroot"));
    struct azk_pki_request r = {0};
    r.kind = AZK_PKI_ROOT;
    r.common_name = "RSA Root";
    r.key_alg = AZK_KEY_RSA_2048;
    r.out_prefix = o;
    struct azk_pki_result res;
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    assert_string_equal(res.cert.key_type, "RSA 2048");
    X509 *root = load_cert(res.cert_path);
    assert_int_equal(X509_get_signature_nid(root), NID_sha256WithRSAEncryption);

    char d[600], ic[600], ik[600];
    snprintf(d, sizeof(d), "%s", P(state, "rdev"));
    snprintf(ic, sizeof(ic), "%s", res.cert_path);
    snprintf(ik, sizeof(ik), "%s", res.key_path);
    struct azk_pki_request dr = {0};
    dr.kind = AZK_PKI_DEVICE;
    dr.common_name = "rdev";
    dr.key_alg = AZK_KEY_RSA_2048;
    dr.out_prefix = d;
    dr.issuer_cert = ic;
    dr.issuer_key = ik;
    assert_int_equal(azk_pki_create(&dr, &res, NULL), 0);
    X509 *dev = load_cert(res.cert_path);
    EVP_PKEY *k = load_key(res.key_path);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
    assert_int_equal(EVP_PKEY_get_bits(k), 2048);
    assert_int_equal(X509_get_key_usage(dev), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(ossl_verify(dev, root, NULL, 0), 0);
    EVP_PKEY_free(k);
    X509_free(dev);
    X509_free(root);
}

static void test_self_signed(void **state)
{
    struct azk_pki_result res;
    struct azk_diag d;
    assert_int_equal(make(state, AZK_PKI_SELF_SIGNED, "ss-1", "ss-1", NULL, &res, &d), 0);
    assert_int_equal(d.count, 0);
    assert_string_equal(res.chain_path, "");
    X509 *x = load_cert(res.cert_path);
    assert_string_equal(cn_of(x), "ss-1");
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)), 0);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    assert_true(res.cert.has_eku);
    assert_false(res.cert.is_ca);
    assert_true(res.cert.self_signed);
    assert_true(res.cert.client_auth);
    assert_int_equal(azk_test_mode(res.key_path), 0600);
    X509_free(x);
}

static void test_verification_cert(void **state)
{
    must_make(state, AZK_PKI_ROOT, "Azkit Test Root", "root", NULL);
    struct azk_pki_result res;
    struct azk_diag d;
    const char *code = "7A2B9C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F";
    assert_int_equal(make(state, AZK_PKI_VERIFICATION, code, "verification", "root", &res, &d),
                     0);
    X509 *root = load_cert(P(state, "root.cert.pem"));
    X509 *v = load_cert(res.cert_path);
    assert_string_equal(cn_of(v), code);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(v), X509_get_subject_name(root)), 0);
    assert_int_equal(X509_verify(v, X509_get0_pubkey(root)), 1);
    EVP_PKEY *vk = load_key(res.key_path);
    assert_int_equal(EVP_PKEY_eq(vk, X509_get0_pubkey(v)), 1);
    assert_int_not_equal(EVP_PKEY_eq(vk, X509_get0_pubkey(root)), 1); /* fresh key pair */
    assert_int_equal(X509_check_ca(v), 0);
    assert_string_equal(res.chain_path, "");
    EVP_PKEY_free(vk);
    X509_free(v);
    X509_free(root);
}

static void test_no_overwrite(void **state)
{
    must_make(state, AZK_PKI_ROOT, "R", "root", NULL);
    size_t clen, klen;
    char *cert = azk_test_read(P(state, "root.cert.pem"), &clen);
    char *key = azk_test_read(P(state, "root.key.pem"), &klen);
    struct azk_pki_result res;
    struct azk_diag d;
    assert_int_equal(make(state, AZK_PKI_ROOT, "R", "root", NULL, &res, &d), -EEXIST);
    assert_non_null(azk_diag_find(&d, "pki.exists"));
    char *cert2 = azk_test_read(P(state, "root.cert.pem"), NULL);
    char *key2 = azk_test_read(P(state, "root.key.pem"), NULL);
    assert_string_equal(cert, cert2);
    assert_string_equal(key, key2);
    free(cert2);
    free(key2);

    /* only one output present: still refused, and the missing one is not created */
    assert_int_equal(unlink(P(state, "root.cert.pem")), 0);
    assert_int_equal(make(state, AZK_PKI_ROOT, "R", "root", NULL, &res, &d), -EEXIST);
    assert_false(azk_test_exists(P(state, "root.cert.pem")));
    key2 = azk_test_read(P(state, "root.key.pem"), NULL);
    assert_string_equal(key, key2);
    free(key2);

    /* device: the chain file alone blocks it */
    azk_test_write(P(state, "root.cert.pem"), cert, clen);
    azk_test_write(P(state, "d.chain.pem"), "keep", 4);
    assert_int_equal(make(state, AZK_PKI_DEVICE, "d", "d", "root", &res, &d), -EEXIST);
    assert_false(azk_test_exists(P(state, "d.cert.pem")));
    assert_false(azk_test_exists(P(state, "d.key.pem")));

    /* force overwrites */
    char o[600];
    snprintf(o, sizeof(o), "%s", P(state, "root"));
    struct azk_pki_request r = {.kind = AZK_PKI_ROOT, .common_name = "R", .out_prefix = o,
                                .force = true};
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    cert2 = azk_test_read(P(state, "root.cert.pem"), NULL);
    assert_string_not_equal(cert, cert2);
    assert_int_equal(azk_test_mode(P(state, "root.key.pem")), 0600);
    free(cert2);
    free(cert);
    free(key);
}

static void test_issuer_problems(void **state)
{
    must_make(state, AZK_PKI_ROOT, "R1", "r1", NULL);
    must_make(state, AZK_PKI_ROOT, "R2", "r2", NULL);
    must_make(state, AZK_PKI_DEVICE, "leaf", "leaf", "r1");
    struct azk_pki_result res;
    struct azk_diag d;

    /* key of another CA */
    char o[600], ic[600], ik[600];
    snprintf(o, sizeof(o), "%s", P(state, "x"));
    snprintf(ic, sizeof(ic), "%s", P(state, "r1.cert.pem"));
    snprintf(ik, sizeof(ik), "%s", P(state, "r2.key.pem"));
    struct azk_pki_request r = {.kind = AZK_PKI_INTERMEDIATE, .common_name = "I",
                                .out_prefix = o, .issuer_cert = ic, .issuer_key = ik};
    azk_diag_init(&d);
    assert_int_equal(azk_pki_create(&r, &res, &d), -EKEYREJECTED);
    const struct azk_finding *f = azk_diag_find(&d, "pki.issuer-key-mismatch");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "r2.key.pem"));
    assert_false(azk_test_exists(P(state, "x.cert.pem")));
    assert_false(azk_test_exists(P(state, "x.key.pem")));

    /* a device certificate cannot sign */
    assert_int_equal(make(state, AZK_PKI_DEVICE, "d2", "d2", "leaf", &res, &d), -EKEYREJECTED);
    assert_non_null(azk_diag_find(&d, "pki.issuer-not-ca"));
    assert_false(azk_test_exists(P(state, "d2.cert.pem")));

    /* missing issuer files */
    assert_int_equal(make(state, AZK_PKI_DEVICE, "d3", "d3", "nope", &res, &d), -ENOENT);
    f = azk_diag_find(&d, "pki.issuer-missing");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "nope.cert.pem"));

    /* not a certificate */
    azk_test_write(P(state, "junk.cert.pem"), "hello\n", 6);
    azk_test_write(P(state, "junk.key.pem"), "hello\n", 6);
    assert_int_equal(make(state, AZK_PKI_DEVICE, "d4", "d4", "junk", &res, &d), -EBADMSG);

    /* no issuer at all */
    struct azk_pki_request r2 = {.kind = AZK_PKI_DEVICE, .common_name = "d5", .out_prefix = o};
    assert_int_equal(azk_pki_create(&r2, &res, NULL), -EINVAL);
}

static void test_device_ids(void **state)
{
    char why[256];
    char id129[130], id128[129], id65[66], id64[65];
    memset(id129, 'a', 129);
    id129[129] = '\0';
    memcpy(id128, id129, 128);
    id128[128] = '\0';
    memcpy(id65, id129, 65);
    id65[65] = '\0';
    memcpy(id64, id129, 64);
    id64[64] = '\0';

    assert_int_equal(azk_device_id_check("dev-1", why, sizeof(why)), 0);
    assert_int_equal(azk_device_id_check("Dev:1.+%_#*?!(),=@;$'", why, sizeof(why)), 0);
    assert_int_equal(azk_device_id_check(id128, why, sizeof(why)), 0);
    assert_int_equal(azk_device_id_check(id129, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "129"));
    assert_int_equal(azk_device_id_check("", why, sizeof(why)), -EINVAL);
    const char *bad[] = {"dev 1", "dev/1", "dev\\1", "dev\"1", "dev&1", "d\xc3\xa9v", "a<b",
                         "a{b", "a~b", "a\tb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(azk_device_id_check(bad[i], why, sizeof(why)), -EINVAL);
        assert_non_null(strstr(why, "device ids are"));
    }
    assert_int_equal(azk_device_id_check("dev/1", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "'/' at position 4"));
    assert_int_equal(azk_device_id_check("x y", NULL, 0), -EINVAL);

    assert_int_equal(azk_registration_id_check("dev-1.a_b:c", why, sizeof(why)), 0);
    assert_int_equal(azk_registration_id_check(id64, why, sizeof(why)), 0);
    assert_int_equal(azk_registration_id_check(id65, why, sizeof(why)), -EINVAL);
    assert_int_equal(azk_registration_id_check("Dev-1", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "lowercase"));
    assert_int_equal(azk_registration_id_check("dev+1", why, sizeof(why)), -EINVAL);
    assert_int_equal(azk_registration_id_check("", why, sizeof(why)), -EINVAL);

    /* through azk_pki_create */
    must_make(state, AZK_PKI_ROOT, "R", "root", NULL);
    struct azk_pki_result res;
    struct azk_diag d;
    assert_int_equal(make(state, AZK_PKI_DEVICE, "bad/id", "bad", "root", &res, &d), -EINVAL);
    const struct azk_finding *f = azk_diag_find(&d, "pki.bad-device-id");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "device ids are 1 to 128"));
    assert_false(azk_test_exists(P(state, "bad.cert.pem")));
    assert_int_equal(make(state, AZK_PKI_SELF_SIGNED, id129, "long", NULL, &res, &d), -EINVAL);
    assert_non_null(azk_diag_find(&d, "pki.bad-device-id"));
    assert_int_equal(make(state, AZK_PKI_SELF_SIGNED, "a b", "sp", NULL, &res, &d), -EINVAL);

    /* valid device id, not a registration id: created with a warning */
    assert_int_equal(make(state, AZK_PKI_DEVICE, "Dev+1#x", "special", "root", &res, &d), 0);
    f = azk_diag_find(&d, "pki.not-registration-id");
    assert_non_null(f);
    assert_int_equal(f->severity, AZK_SEV_WARNING);
    assert_string_equal(res.cert.subject_cn, "Dev+1#x");
    assert_int_equal(make(state, AZK_PKI_DEVICE, "reg-ok_1.a:b", "regok", "root", &res, &d), 0);
    assert_null(azk_diag_find(&d, "pki.not-registration-id"));
    /* longer than an X.509 CN allows */
    assert_int_equal(make(state, AZK_PKI_DEVICE, id65, "cn65", "root", &res, &d), -EINVAL);
    assert_non_null(azk_diag_find(&d, "pki.cn-too-long"));
}

static void test_dates(void **state)
{
    char o[600];
    snprintf(o, sizeof(o), "%s", P(state, "r"));
    struct azk_pki_request r = {.kind = AZK_PKI_ROOT, .common_name = "R", .out_prefix = o,
                                .no_backdate = true, .days = 30};
    struct azk_pki_result res;
    struct azk_diag d;
    time_t now = time(NULL);
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    X509 *x = load_cert(res.cert_path);
    time_t nb = asn1_time(X509_get0_notBefore(x)), na = asn1_time(X509_get0_notAfter(x));
    assert_true(nb >= now - 5 && nb <= now + 5);
    assert_int_equal(na - nb, (time_t)30 * 86400);
    X509_free(x);

    r.force = true;
    r.not_before = "2020-02-29T10:20:30Z";
    r.not_after = "2051-01-01T00:00:00Z"; /* GeneralizedTime from 2050 on */
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    assert_string_equal(res.cert.not_before, "2020-02-29T10:20:30Z");
    assert_string_equal(res.cert.not_after, "2051-01-01T00:00:00Z");

    const char *bad[] = {"2021-02-29T00:00:00Z", "2020-13-01T00:00:00Z", "2020-01-01 00:00:00Z",
                         "2020-01-01T00:00:00", "20200101T000000Z", "2020-01-01T24:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.not_before = bad[i];
        azk_diag_init(&d);
        assert_int_equal(azk_pki_create(&r, &res, &d), -EINVAL);
        assert_non_null(azk_diag_find(&d, "pki.bad-date"));
    }
    r.not_before = "2030-01-01T00:00:00Z";
    r.not_after = "2029-01-01T00:00:00Z";
    assert_int_equal(azk_pki_create(&r, &res, NULL), -EINVAL);
    r.not_before = NULL;
    r.not_after = NULL;
    r.days = -1;
    assert_int_equal(azk_pki_create(&r, &res, NULL), -EINVAL);
}

/* ---- azk_pki_verify --------------------------------------------------------------------- */

static int verify(void **state, const char *cert, const char *ca, const char *untrusted,
                  const char *expect_cn, bool partial, struct azk_diag *d, size_t *n,
                  struct azk_cert_summary *chain)
{
    char cf[600], caf[600], uf[600];
    snprintf(cf, sizeof(cf), "%s", P(state, cert));
    snprintf(caf, sizeof(caf), "%s", P(state, ca));
    const char *cas[] = {caf};
    const char *us[] = {uf};
    struct azk_pki_verify_opts o = {.ca_files = cas, .ca_count = 1, .cert_file = cf,
                                    .expect_cn = expect_cn, .partial_chain = partial,
                                    .chain_out = chain, .chain_max = chain ? 4 : 0,
                                    .chain_count = n};
    if (untrusted != NULL) {
        snprintf(uf, sizeof(uf), "%s", P(state, untrusted));
        o.untrusted_files = us;
        o.untrusted_count = 1;
    }
    azk_diag_init(d);
    return azk_pki_verify(&o, d);
}

static void test_verify_ok(void **state)
{
    make_pki(state);
    struct azk_diag d;
    struct azk_cert_summary chain[4];
    size_t n = 0;
    assert_int_equal(verify(state, "dev-1.chain.pem", "root.cert.pem", NULL, "dev-1", false, &d,
                            &n, chain),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(chain[0].subject_cn, "dev-1");
    assert_string_equal(chain[1].subject_cn, "Azkit Test Intermediate");
    assert_string_equal(chain[2].subject_cn, "Azkit Test Root");
    const struct azk_finding *f = azk_diag_find(&d, "pki.chain-ok");
    assert_non_null(f);
    assert_int_equal(f->severity, AZK_SEV_INFO);
    assert_non_null(strstr(f->message, "'dev-1' -> 'Azkit Test Intermediate' -> 'Azkit Test Root'"));
    assert_false(azk_diag_has(&d, AZK_SEV_WARNING));

    /* leaf only + intermediate offered as untrusted */
    assert_int_equal(verify(state, "dev-1.cert.pem", "root.cert.pem", "inter.cert.pem", NULL,
                            false, &d, NULL, NULL),
                     0);
    /* partial chain: the intermediate is the trust anchor */
    assert_int_equal(verify(state, "dev-1.cert.pem", "inter.cert.pem", NULL, NULL, true, &d, &n,
                            NULL),
                     0);
    assert_int_equal(n, 2);
    /* ... but not without the flag */
    assert_int_equal(verify(state, "dev-1.cert.pem", "inter.cert.pem", NULL, NULL, false, &d,
                            NULL, NULL),
                     -EKEYREJECTED);
}

static void test_verify_missing_intermediate(void **state)
{
    make_pki(state);
    struct azk_diag d;
    assert_int_equal(verify(state, "dev-1.cert.pem", "root.cert.pem", NULL, NULL, false, &d,
                            NULL, NULL),
                     -EKEYREJECTED);
    const struct azk_finding *f = azk_diag_find(&d, "pki.missing-issuer");
    assert_non_null(f);
    assert_int_equal(f->severity, AZK_SEV_ERROR);
    assert_non_null(strstr(f->message, "'dev-1'"));
    assert_non_null(strstr(f->message, "'Azkit Test Intermediate'"));
    assert_non_null(strstr(f->message, "intermediate is missing"));
    assert_non_null(strstr(f->fix, "--untrusted"));
    assert_non_null(strstr(f->fix, "leaf first"));
    assert_null(azk_diag_find(&d, "pki.chain-ok"));
    /* reported once, not once per OpenSSL error code */
    size_t count = 0;
    for (size_t i = 0; i < d.count; i++)
        count += strcmp(d.items[i].code, "pki.missing-issuer") == 0;
    assert_int_equal(count, 1);
}

static void test_verify_expired_and_future(void **state)
{
    must_make(state, AZK_PKI_ROOT, "Azkit Test Root", "root", NULL);
    char o[600], ic[600], ik[600];
    snprintf(o, sizeof(o), "%s", P(state, "old"));
    snprintf(ic, sizeof(ic), "%s", P(state, "root.cert.pem"));
    snprintf(ik, sizeof(ik), "%s", P(state, "root.key.pem"));
    struct azk_pki_request r = {.kind = AZK_PKI_DEVICE, .common_name = "old-dev",
                                .out_prefix = o, .issuer_cert = ic, .issuer_key = ik,
                                .not_before = "2020-01-01T00:00:00Z",
                                .not_after = "2021-01-01T00:00:00Z"};
    struct azk_pki_result res;
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    assert_int_equal(res.cert.validity, 1);
    struct azk_diag d;
    assert_int_equal(verify(state, "old.chain.pem", "root.cert.pem", NULL, "old-dev", false, &d,
                            NULL, NULL),
                     -EKEYREJECTED);
    const struct azk_finding *f = azk_diag_find(&d, "pki.expired");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "'old-dev'"));
    assert_non_null(strstr(f->message, "2021-01-01T00:00:00Z"));

    snprintf(o, sizeof(o), "%s", P(state, "new"));
    r.common_name = "new-dev";
    r.not_before = "2099-01-01T00:00:00Z";
    r.not_after = "2099-12-31T00:00:00Z";
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    assert_int_equal(verify(state, "new.cert.pem", "root.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -EKEYREJECTED);
    f = azk_diag_find(&d, "pki.not-yet-valid");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "2099-01-01T00:00:00Z"));
}

static void test_verify_cn_mismatch(void **state)
{
    make_pki(state);
    struct azk_diag d;
    assert_int_equal(verify(state, "dev-1.chain.pem", "root.cert.pem", NULL, "dev-2", false, &d,
                            NULL, NULL),
                     -EKEYREJECTED);
    const struct azk_finding *f = azk_diag_find(&d, "pki.cn-mismatch");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "certificate CN is 'dev-1' but the device/registration "
                                       "id is 'dev-2'; Azure requires them equal"));
    assert_null(azk_diag_find(&d, "pki.chain-ok"));
}

static void test_verify_wrong_root(void **state)
{
    make_pki(state);
    must_make(state, AZK_PKI_ROOT, "Other Root", "other", NULL);
    must_make(state, AZK_PKI_ROOT, "Azkit Test Root", "twin", NULL); /* same name, other key */
    struct azk_diag d;
    assert_int_equal(verify(state, "dev-1.chain.pem", "other.cert.pem", NULL, NULL, false, &d,
                            NULL, NULL),
                     -EKEYREJECTED);
    const struct azk_finding *f = azk_diag_find(&d, "pki.missing-root");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "'Azkit Test Root'"));
    assert_int_equal(verify(state, "dev-1.chain.pem", "twin.cert.pem", NULL, NULL, false, &d,
                            NULL, NULL),
                     -EKEYREJECTED);
    assert_true(azk_diag_has(&d, AZK_SEV_ERROR));

    /* a self-signed device is not trusted unless it is the CA */
    must_make(state, AZK_PKI_SELF_SIGNED, "ss-1", "ss-1", NULL);
    assert_int_equal(verify(state, "ss-1.cert.pem", "root.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -EKEYREJECTED);
    assert_non_null(azk_diag_find(&d, "pki.self-signed-untrusted"));
    assert_int_equal(verify(state, "ss-1.cert.pem", "ss-1.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     0);
}

static void write_pem(const char *path, X509 *a, X509 *b, X509 *c)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    X509 *all[] = {a, b, c};
    for (size_t i = 0; i < 3; i++)
        if (all[i] != NULL)
            assert_int_equal(PEM_write_X509(f, all[i]), 1);
    fclose(f);
}

static void test_verify_bad_signature_and_not_ca(void **state)
{
    make_pki(state);
    X509 *dev = load_cert(P(state, "dev-1.cert.pem"));
    X509 *inter = load_cert(P(state, "inter.cert.pem"));
    struct azk_diag d;

    /* flip a byte of the device certificate's signature */
    unsigned char *der = NULL;
    int len = i2d_X509(dev, &der);
    assert_true(len > 10);
    der[len - 1] ^= 0x01;
    const unsigned char *p = der;
    X509 *bad = d2i_X509(NULL, &p, len);
    assert_non_null(bad);
    OPENSSL_free(der);
    write_pem(P(state, "bad.pem"), bad, inter, NULL);
    assert_int_equal(verify(state, "bad.pem", "root.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -EKEYREJECTED);
    const struct azk_finding *f = azk_diag_find(&d, "pki.bad-signature");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "'dev-1'"));
    X509_free(bad);

    /* a certificate "issued" by the device certificate (not a CA) */
    EVP_PKEY *dkey = load_key(P(state, "dev-1.key.pem"));
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"sub-1", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(dev));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, dkey, EVP_sha256()) > 0);
    write_pem(P(state, "sub.pem"), x, dev, inter);
    assert_int_equal(verify(state, "sub.pem", "root.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -EKEYREJECTED);
    f = azk_diag_find(&d, "pki.issuer-not-ca");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "'dev-1'"));
    X509_free(x);
    EVP_PKEY_free(k);
    EVP_PKEY_free(dkey);
    X509_free(dev);
    X509_free(inter);
}

static void test_verify_errors(void **state)
{
    make_pki(state);
    struct azk_diag d;
    assert_int_equal(verify(state, "nope.pem", "root.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -ENOENT);
    assert_non_null(azk_diag_find(&d, "pki.file-missing"));
    assert_int_equal(verify(state, "dev-1.cert.pem", "nope.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -ENOENT);
    assert_int_equal(verify(state, "dev-1.key.pem", "root.cert.pem", NULL, NULL, false, &d, NULL,
                            NULL),
                     -EBADMSG);
    struct azk_pki_verify_opts o = {.cert_file = "x"};
    assert_int_equal(azk_pki_verify(&o, NULL), -EINVAL);
    assert_int_equal(azk_pki_verify(NULL, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_signed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verification_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuer_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_missing_intermediate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_expired_and_future, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_cn_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_wrong_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_bad_signature_and_not_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

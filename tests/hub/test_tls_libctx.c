/* The TLS servers' library context (src/common/tls_libctx.c): its lists are shorter than the
 * default provider's, yet a certificate of every key type is parsed, compared and checked there
 * as in OpenSSL's default context, a client holding such a certificate completes a real
 * handshake with the hub's TLS server context (TLS 1.2 and 1.3, memory BIOs), and a client
 * that signs with another key than its certificate's is refused. */
#include "support/test_util.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "hub/server_pki.h"
#include "hub/tls.h"
#include "common/tls_libctx.h"

static char g_dir[512];
static struct hub_pki g_pki; /* the hub's own server PKI (EC) */

struct key_kind {
    const char *name;
    const char *type;  /* EVP_PKEY_Q_keygen type */
    const char *curve; /* EC only */
    size_t rsa_bits;   /* RSA only */
};

static const struct key_kind kinds[] = {
    {"EC P-256", "EC", "P-256", 0},
    {"EC P-384", "EC", "P-384", 0},
    {"EC P-521", "EC", "P-521", 0},
    {"RSA 2048", "RSA", NULL, 2048},
    {"RSA-PSS 2048", "RSA-PSS", NULL, 0},
    {"Ed25519", "ED25519", NULL, 0},
    {"Ed448", "ED448", NULL, 0},
};
#define KIND_COUNT (sizeof(kinds) / sizeof(kinds[0]))

static EVP_PKEY *keygen(const struct key_kind *k)
{
    EVP_PKEY *key = NULL;
    if (k->curve != NULL) {
        key = EVP_PKEY_Q_keygen(NULL, NULL, k->type, k->curve);
    } else if (k->rsa_bits != 0) {
        key = EVP_PKEY_Q_keygen(NULL, NULL, k->type, k->rsa_bits);
    } else { /* RSA-PSS (which EVP_PKEY_Q_keygen does not make; 2048 bits), Ed25519, Ed448 */
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, k->type, NULL);
        if (pc == NULL || EVP_PKEY_keygen_init(pc) != 1 || EVP_PKEY_keygen(pc, &key) != 1)
            key = NULL;
        EVP_PKEY_CTX_free(pc);
    }
    if (key == NULL)
        fail_msg("cannot make a %s key", k->name);
    return key;
}

/* A self-signed certificate for `key`. */
static X509 *make_cert(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
        1);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    /* Ed25519 and Ed448 sign the message itself: no digest. */
    const EVP_MD *md =
        EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? NULL : EVP_sha256();
    assert_true(X509_sign(x, key, md) > 0);
    X509_NAME_free(name);
    return x;
}

/* `x` parsed again from its DER in library context `ctx` (NULL: OpenSSL's
 * default). */
static X509 *reparse(X509 *x, OSSL_LIB_CTX *ctx, int flip_last_byte)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    assert_true(len > 0);
    if (flip_last_byte)
        der[len - 1] ^= 0x01; /* inside the signature */
    X509 *y = X509_new_ex(ctx, NULL);
    assert_non_null(y);
    const unsigned char *p = der;
    assert_non_null(d2i_X509(&y, &p, len));
    OPENSSL_free(der);
    return y;
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    struct hub_pki_opts o = {azk_path(g_dir, "hub"), NULL, 0, AZK_KEY_EC_P256};
    struct azk_diag d;
    azk_diag_init(&d);
    if (hub_pki_init(&o, &g_pki, &d) != 0)
        fail_msg("hub pki: %s", d.count ? d.items[d.count - 1].message : "");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    azk_test_rmrf(g_dir);
    return 0;
}

static void count_decoder(OSSL_DECODER *dec, void *arg)
{
    (void)dec;
    (*(int *)arg)++;
}

static void count_cipher(EVP_CIPHER *c, void *arg)
{
    (void)c;
    (*(int *)arg)++;
}

/* The lists really are shorter than the default provider's, and keep what the
 * hub needs. */
static void test_lists_are_short(void **state)
{
    (void)state;
    OSSL_LIB_CTX *ctx = azki_tls_libctx();
    assert_non_null(ctx);
    assert_ptr_equal(azki_tls_libctx(), ctx); /* one context for the process */

    int dec_hub = 0, dec_default = 0, ciph_hub = 0, ciph_default = 0;
    OSSL_DECODER_do_all_provided(ctx, count_decoder, &dec_hub);
    OSSL_DECODER_do_all_provided(NULL, count_decoder, &dec_default);
    EVP_CIPHER_do_all_provided(ctx, count_cipher, &ciph_hub);
    EVP_CIPHER_do_all_provided(NULL, count_cipher, &ciph_default);
    print_message("decoders %d of %d, ciphers %d of %d\n", dec_hub, dec_default, ciph_hub,
                  ciph_default);
    assert_true(dec_hub >= 11 && dec_hub < dec_default / 2);
    assert_true(ciph_hub >= 5 && ciph_hub < ciph_default / 4);

    const char *needed[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CBC",
                            "AES-256-CBC"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        EVP_CIPHER *c = EVP_CIPHER_fetch(ctx, needed[i], NULL);
        if (c == NULL)
            fail_msg("%s is missing from the TLS context", needed[i]);
        EVP_CIPHER_free(c);
    }
    ERR_set_mark();
    EVP_CIPHER *des = EVP_CIPHER_fetch(ctx, "DES-EDE3-CBC", NULL);
    ERR_pop_to_mark();
    assert_null(des);
    /* Digests are passed through whole, SHA-3 included. */
    EVP_MD *md = EVP_MD_fetch(ctx, "SHA3-256", NULL);
    assert_non_null(md);
    EVP_MD_free(md);
}

/* Every key type: the public key is decoded, equals the one the default context
 * decodes, and the signature checks there; a changed signature does not. */
static void test_every_key_type_parses(void **state)
{
    (void)state;
    OSSL_LIB_CTX *ctx = azki_tls_libctx();
    for (size_t i = 0; i < KIND_COUNT; i++) {
        EVP_PKEY *key = keygen(&kinds[i]);
        X509 *made = make_cert(key, "dev-1");
        X509 *in_default = reparse(made, NULL, 0);
        X509 *in_hub = reparse(made, ctx, 0);
        X509 *forged = reparse(made, ctx, 1);
        EVP_PKEY *a = X509_get0_pubkey(in_default), *b = X509_get0_pubkey(in_hub);
        if (b == NULL)
            fail_msg("%s: no public key decoded in the TLS context", kinds[i].name);
        assert_non_null(a);
        assert_int_equal(EVP_PKEY_eq(a, b), 1);
        assert_int_equal(EVP_PKEY_eq(key, b), 1);
        assert_int_equal(EVP_PKEY_get_bits(a), EVP_PKEY_get_bits(b));
        assert_int_equal(EVP_PKEY_get_base_id(a), EVP_PKEY_get_base_id(b));
        if (X509_verify(in_hub, b) != 1)
            fail_msg("%s: the signature does not check in the TLS context", kinds[i].name);
        ERR_set_mark();
        int forged_ok = X509_verify(forged, X509_get0_pubkey(forged));
        ERR_pop_to_mark();
        if (forged_ok == 1)
            fail_msg("%s: a changed signature checks", kinds[i].name);
        X509_free(forged);
        X509_free(in_hub);
        X509_free(in_default);
        X509_free(made);
        EVP_PKEY_free(key);
    }
}

/* The hub's server context (its own EC PKI), TLS 1.2 or 1.3 at most. */
static SSL_CTX *hub_ctx(int version)
{
    struct hub_tls_opts o = {g_pki.chain_path, g_pki.key_path,
                             version == TLS1_2_VERSION ? 12 : 13};
    struct azk_diag d;
    azk_diag_init(&d);
    SSL_CTX *sctx = NULL;
    assert_int_equal(hub_tls_ctx_new(&o, &sctx, &d), 0);
    return sctx;
}

/* One handshake between server context `sctx` and a client presenting `cert` with `key`
 * (libssl takes any key whose public part matches the certificate's) over a memory BIO pair,
 * the client offering only the TLS 1.3 suite `suite13` when not NULL. Returns true when both
 * sides finished, and then the server's peer certificate is `cert` and *cipher (when not NULL)
 * the suite negotiated; false with the errors of the side that failed left on the error
 * queue. */
static bool handshake_with(SSL_CTX *sctx, int version, X509 *cert, EVP_PKEY *key,
                           const char *suite13, const char **cipher)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(cctx);
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    if (suite13 != NULL)
        assert_int_equal(SSL_CTX_set_ciphersuites(cctx, suite13), 1);
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *sb = NULL, *cb = NULL;
    assert_non_null(s);
    assert_non_null(c);
    assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    assert_int_equal(SSL_use_certificate(c, cert), 1);
    assert_int_equal(SSL_use_PrivateKey(c, key), 1);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    int sdone = 0, cdone = 0, failed = 0;
    for (int step = 0; step < 50 && !failed && !(sdone && cdone); step++) {
        if (!cdone) {
            int rc = SSL_do_handshake(c);
            if (rc == 1)
                cdone = 1;
            else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
                failed = 1;
        }
        if (!sdone && !failed) {
            int rc = SSL_do_handshake(s);
            if (rc == 1)
                sdone = 1;
            else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
                failed = 1;
        }
    }
    bool ok = !failed && sdone && cdone;
    if (ok) {
        X509 *peer = SSL_get0_peer_certificate(s);
        assert_non_null(peer);
        assert_int_equal(X509_cmp(peer, cert), 0);
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(peer), X509_get0_pubkey(cert)), 1);
        if (cipher != NULL)
            *cipher = SSL_get_cipher_name(s); /* a static name in libssl's tables */
        ERR_clear_error();
    }
    SSL_free(s);
    SSL_free(c);
    SSL_CTX_free(cctx);
    return ok;
}

static bool handshake(SSL_CTX *sctx, int version, X509 *cert, EVP_PKEY *key)
{
    return handshake_with(sctx, version, cert, key, NULL, NULL);
}

/* A device with each key type connects to the hub's TLS server at TLS 1.2
 * and 1.3 and proves it holds its key (CertificateVerify, checked in the TLS
 * context). */
static void test_client_key_types_handshake(void **state)
{
    (void)state;
    const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (size_t v = 0; v < 2; v++) {
        SSL_CTX *sctx = hub_ctx(versions[v]);
        for (size_t i = 0; i < KIND_COUNT; i++) {
            EVP_PKEY *key = keygen(&kinds[i]);
            X509 *cert = make_cert(key, "dev-1");
            if (!handshake(sctx, versions[v], cert, key))
                fail_msg("%s at TLS 1.%d: the handshake failed", kinds[i].name,
                         versions[v] == TLS1_2_VERSION ? 2 : 3);
            X509_free(cert);
            EVP_PKEY_free(key);
        }
        SSL_CTX_free(sctx);
    }
}

/* Each of the hub's TLS 1.3 suites (HUB_TLS13_SUITES) is negotiated when it is the only one a
 * client offers: their ciphers are in the TLS context's shortened list. (The TLS 1.2 suites:
 * test_tls.c's test_ciphers, through the same server context.) */
static void test_tls13_suites(void **state)
{
    (void)state;
    const char *suites[] = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                            "TLS_AES_128_GCM_SHA256"};
    SSL_CTX *sctx = hub_ctx(TLS1_3_VERSION);
    EVP_PKEY *key = keygen(&kinds[0]);
    X509 *cert = make_cert(key, "dev-1");
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        const char *got = NULL;
        if (!handshake_with(sctx, TLS1_3_VERSION, cert, key, suites[i], &got))
            fail_msg("%s: the handshake failed", suites[i]);
        assert_string_equal(got, suites[i]);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    SSL_CTX_free(sctx);
}

/* An EC key with `pub_from`'s public point and `priv_from`'s private scalar: libssl takes it
 * as the certificate's key (it compares public parts) but signs with the wrong scalar. */
static EVP_PKEY *mismatched_key(EVP_PKEY *pub_from, EVP_PKEY *priv_from)
{
    unsigned char pub[160];
    size_t publen = 0;
    BIGNUM *priv = NULL;
    assert_int_equal(EVP_PKEY_get_octet_string_param(pub_from, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                                     sizeof(pub), &publen),
                     1);
    assert_int_equal(EVP_PKEY_get_bn_param(priv_from, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
                     1);
    assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen),
                     1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv), 1);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    assert_non_null(params);
    assert_non_null(pc);
    assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
    assert_int_equal(EVP_PKEY_fromdata(pc, &k, EVP_PKEY_KEYPAIR, params), 1);
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    return k;
}

/* A client whose CertificateVerify is signed with another private key is refused: the proof
 * of possession is checked in the TLS context, not skipped. */
static void test_wrong_key_refused(void **state)
{
    (void)state;
    const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (size_t v = 0; v < 2; v++) {
        SSL_CTX *sctx = hub_ctx(versions[v]);
        EVP_PKEY *key = keygen(&kinds[0]), *stranger = keygen(&kinds[0]);
        EVP_PKEY *other = mismatched_key(key, stranger);
        X509 *cert = make_cert(key, "dev-1");
        assert_false(handshake(sctx, versions[v], cert, other));
        unsigned long e = ERR_peek_error();
        print_message("TLS 1.%d, wrong key: %s\n", versions[v] == TLS1_2_VERSION ? 2 : 3,
                      ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?");
        assert_int_equal(ERR_GET_LIB(e), ERR_LIB_SSL);
        assert_int_equal(ERR_GET_REASON(e), SSL_R_BAD_SIGNATURE);
        ERR_clear_error();
        X509_free(cert);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other);
        EVP_PKEY_free(stranger);
        SSL_CTX_free(sctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_are_short),
        cmocka_unit_test(test_every_key_type_parses),
        cmocka_unit_test(test_client_key_types_handshake),
        cmocka_unit_test(test_tls13_suites),
        cmocka_unit_test(test_wrong_key_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* The hub's TLS server context (src/hub/tls.c): real handshakes over a socketpair between it
 * and an OpenSSL client, TLS 1.2 and 1.3. */
#include "support/test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "hub/mqtt/auth.h"
#include "hub/server_pki.h"
#include "hub/tls.h"

static char g_dir[512];
static struct hub_pki g_ec, g_rsa; /* the hub's PKI, EC and RSA */

static const char *P(const char *name)
{
    return azk_path(g_dir, name);
}

static void make(enum azk_pki_kind kind, const char *cn, const char *out, const char *issuer,
                 const char *nb, const char *na)
{
    test_hub_make_cert(g_dir, kind, cn, out, issuer, nb, na);
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    struct hub_pki_opts o = {azk_path(g_dir, "hub-ec"), NULL, 0, AZK_KEY_EC_P256};
    struct azk_diag d;
    azk_diag_init(&d);
    if (hub_pki_init(&o, &g_ec, &d) != 0)
        fail_msg("hub pki: %s", d.count ? d.items[d.count - 1].message : "");
    o.data_dir = azk_path(g_dir, "hub-rsa");
    o.key_alg = AZK_KEY_RSA_2048;
    if (hub_pki_init(&o, &g_rsa, &d) != 0)
        fail_msg("hub pki rsa: %s", d.count ? d.items[d.count - 1].message : "");
    /* Device certificates from a CA the hub knows nothing about. */
    make(AZK_PKI_ROOT, "Dev Root", "root", NULL, NULL, NULL);
    make(AZK_PKI_INTERMEDIATE, "Dev Inter", "inter", "root", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-1", "dev-1", "inter", NULL, NULL);
    make(AZK_PKI_SELF_SIGNED, "ss-1", "ss-1", NULL, NULL, NULL);
    make(AZK_PKI_SELF_SIGNED, "ss-old", "ss-old", NULL, "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    azk_test_rmrf(g_dir);
    return 0;
}

static SSL_CTX *hub_ctx(const struct hub_pki *p, int max_version)
{
    struct hub_tls_opts o = {p->chain_path, p->key_path, max_version};
    struct azk_diag d;
    azk_diag_init(&d);
    SSL_CTX *ctx = NULL;
    int rc = hub_tls_ctx_new(&o, &ctx, &d);
    if (rc != 0)
        fail_msg("ctx: %d %s", rc, d.count ? d.items[0].message : "");
    return ctx;
}

/* ---- client ---------------------------------------------------------------------------- */

static int g_cert_requested;

static int client_cert_cb(SSL *ssl, X509 **x, EVP_PKEY **k)
{
    (void)ssl;
    (void)x;
    (void)k;
    g_cert_requested++;
    return 0; /* no certificate */
}

/* A client trusting the hub's root; version range and TLS 1.2 ciphers optional. */
static SSL_CTX *client_ctx(const struct hub_pki *p, int minv, int maxv, const char *ciphers)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    assert_non_null(c);
    assert_int_equal(SSL_CTX_load_verify_locations(c, p->ca_path, NULL), 1);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    if (minv)
        assert_int_equal(SSL_CTX_set_min_proto_version(c, minv), 1);
    if (maxv)
        assert_int_equal(SSL_CTX_set_max_proto_version(c, maxv), 1);
    if (ciphers)
        assert_int_equal(SSL_CTX_set_cipher_list(c, ciphers), 1);
    SSL_CTX_set_client_cert_cb(c, client_cert_cb);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
    return c;
}

/* Loads a client certificate chain (leaf first) and key into an SSL. */
static void use_client_cert(SSL *s, const char *chain, const char *key)
{
    assert_int_equal(SSL_use_certificate_chain_file(s, P(chain)), 1);
    assert_int_equal(SSL_use_PrivateKey_file(s, P(key), SSL_FILETYPE_PEM), 1);
}

struct conn {
    SSL *c, *s;
    int fds[2];
    bool c_ok, s_ok;
};

/* Runs both sides of a handshake over a non-blocking socketpair, in this thread. */
static bool handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *cert, const char *key,
                      SSL_SESSION *resume, struct conn *k)
{
    memset(k, 0, sizeof(*k));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, k->fds), 0);
    for (int i = 0; i < 2; i++)
        fcntl(k->fds[i], F_SETFL, O_NONBLOCK);
    k->s = SSL_new(sctx);
    k->c = SSL_new(cctx);
    SSL_set_fd(k->s, k->fds[0]);
    SSL_set_fd(k->c, k->fds[1]);
    SSL_set_tlsext_host_name(k->c, "localhost");
    SSL_set1_host(k->c, "localhost");
    if (cert != NULL)
        use_client_cert(k->c, cert, key);
    if (resume != NULL)
        assert_int_equal(SSL_set_session(k->c, resume), 1);
    bool c_fail = false, s_fail = false;
    /* Until both finish or both fail (a side that failed leaves the other waiting: bounded). */
    for (int i = 0; i < 200 && !(k->c_ok && k->s_ok) && !(c_fail && s_fail); i++) {
        if (!k->c_ok && !c_fail) {
            int r = SSL_connect(k->c);
            if (r == 1)
                k->c_ok = true;
            else if (SSL_get_error(k->c, r) != SSL_ERROR_WANT_READ &&
                     SSL_get_error(k->c, r) != SSL_ERROR_WANT_WRITE)
                c_fail = true;
        }
        if (!k->s_ok && !s_fail) {
            int r = SSL_accept(k->s);
            if (r == 1)
                k->s_ok = true;
            else if (SSL_get_error(k->s, r) != SSL_ERROR_WANT_READ &&
                     SSL_get_error(k->s, r) != SSL_ERROR_WANT_WRITE)
                s_fail = true;
        }
    }
    ERR_clear_error();
    return k->c_ok && k->s_ok;
}

/* Server writes, client reads: the client processes TLS 1.3 NewSessionTicket messages. */
static void exchange(struct conn *k)
{
    assert_int_equal(SSL_write(k->s, "hello", 5), 5);
    char buf[16];
    int n = -1;
    for (int i = 0; i < 100 && n <= 0; i++) {
        n = SSL_read(k->c, buf, sizeof(buf));
        if (n <= 0) {
            int e = SSL_get_error(k->c, n);
            assert_true(e == SSL_ERROR_WANT_READ);
            struct pollfd pf = {k->fds[1], POLLIN, 0};
            poll(&pf, 1, 100);
        }
    }
    assert_int_equal(n, 5);
}

/* A clean close (close_notify): OpenSSL would otherwise mark the session not resumable, and
 * the resumption test would pass for the wrong reason. */
static void conn_close(struct conn *k)
{
    if (k->c_ok)
        SSL_shutdown(k->c);
    if (k->s_ok)
        SSL_shutdown(k->s);
    k->c_ok = k->s_ok = false;
    ERR_clear_error();
}

static void conn_free(struct conn *k)
{
    conn_close(k);
    SSL_free(k->c);
    SSL_free(k->s);
    close(k->fds[0]);
    close(k->fds[1]);
}

/* ---- tests ----------------------------------------------------------------------------- */

static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};

static void test_ctx_options(void **state)
{
    (void)state;
    SSL_CTX *s = hub_ctx(&g_ec, 0);
    assert_int_equal(SSL_CTX_get_min_proto_version(s), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(s), TLS1_3_VERSION);
    assert_true(SSL_CTX_get_options(s) & SSL_OP_NO_TICKET);
    assert_true(SSL_CTX_get_mode(s) & SSL_MODE_RELEASE_BUFFERS);
    assert_int_equal(SSL_CTX_get_session_cache_mode(s), SSL_SESS_CACHE_OFF);
    assert_int_equal(SSL_CTX_get_num_tickets(s), 0);
    assert_int_equal(SSL_CTX_get_verify_mode(s), SSL_VERIFY_PEER);
    assert_non_null(SSL_CTX_get_verify_callback(s));
    assert_int_equal(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(s)), 0);
    /* TLS 1.2 cipher list: exactly Azure's eight suites. */
    SSL *ssl = SSL_new(s);
    STACK_OF(SSL_CIPHER) *cs = SSL_get1_supported_ciphers(ssl);
    int tls12 = 0;
    for (int i = 0; i < sk_SSL_CIPHER_num(cs); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(cs, i);
        const char *name = SSL_CIPHER_get_name(c);
        if (strncmp(name, "TLS_", 4) == 0)
            continue; /* TLS 1.3 suites */
        tls12++;
        if (strstr(HUB_TLS12_CIPHERS, name) == NULL)
            fail_msg("unexpected TLS 1.2 cipher %s", name);
    }
    sk_SSL_CIPHER_free(cs);
    assert_int_equal(tls12, 8);
    SSL_free(ssl);
    SSL_CTX_free(s);
    s = hub_ctx(&g_ec, 12);
    assert_int_equal(SSL_CTX_get_max_proto_version(s), TLS1_2_VERSION);
    SSL_CTX_free(s);

    /* Bad options and files. */
    struct azk_diag d;
    azk_diag_init(&d);
    SSL_CTX *x = (SSL_CTX *)1;
    struct hub_tls_opts o = {g_ec.chain_path, g_ec.key_path, 11};
    assert_int_equal(hub_tls_ctx_new(&o, &x, &d), -EINVAL);
    assert_null(x);
    o.max_version = 0;
    o.chain_file = P("nothere.pem");
    assert_int_equal(hub_tls_ctx_new(&o, &x, &d), -ENOENT);
    o.chain_file = P("dev-1.chain.pem"); /* a certificate with another key */
    assert_int_equal(hub_tls_ctx_new(&o, &x, &d), -EKEYREJECTED);
    assert_non_null(azk_diag_find(&d, "hub.tls-key"));
    o.chain_file = g_ec.key_path; /* no certificate in it */
    assert_int_equal(hub_tls_ctx_new(&o, &x, &d), -EBADMSG);
}

/* Client with no certificate, a CA-signed chain, a self-signed and an expired certificate:
 * every handshake succeeds, under TLS 1.2 and 1.3, and the hub always asked for one. */
static void test_client_cert_never_fails(void **state)
{
    (void)state;
    SSL_CTX *s = hub_ctx(&g_ec, 0);
    const char *certs[][2] = {
        {NULL, NULL},
        {"dev-1.chain.pem", "dev-1.key.pem"},
        {"ss-1.cert.pem", "ss-1.key.pem"},
        {"ss-old.cert.pem", "ss-old.key.pem"},
    };
    for (size_t v = 0; v < 2; v++) {
        for (size_t i = 0; i < 4; i++) {
            SSL_CTX *c = client_ctx(&g_ec, versions[v], versions[v], NULL);
            g_cert_requested = 0;
            struct conn k;
            if (!handshake(s, c, certs[i][0], certs[i][1], NULL, &k))
                fail_msg("handshake failed: version %x, cert %s", versions[v],
                         certs[i][0] ? certs[i][0] : "none");
            assert_int_equal(SSL_version(k.c), versions[v]);
            assert_int_equal(SSL_get_verify_result(k.c), X509_V_OK); /* client trusts hub */
            /* The hub asked for a certificate (the callback runs only without one) ... */
            if (certs[i][0] == NULL)
                assert_int_equal(g_cert_requested, 1);
            /* ... and named no CA in the CertificateRequest. */
            STACK_OF(X509_NAME) *cas = SSL_get_client_CA_list(k.c);
            assert_int_equal(cas != NULL ? sk_X509_NAME_num(cas) : 0, 0);
            exchange(&k);

            struct hub_peer_chain pc;
            assert_int_equal(hub_tls_peer_chain(k.s, &pc), 0);
            if (certs[i][0] == NULL) {
                assert_null(pc.leaf);
                assert_int_equal(sk_X509_num(pc.intermediates), 0);
            } else {
                assert_non_null(pc.leaf);
                char cn[64];
                X509_NAME_get_text_by_NID(X509_get_subject_name(pc.leaf), NID_commonName, cn,
                                          sizeof(cn));
                assert_string_equal(cn, i == 1 ? "dev-1" : i == 2 ? "ss-1" : "ss-old");
                /* Exactly what the client sent, leaf first: dev-1 sent its intermediate. */
                assert_int_equal(sk_X509_num(pc.intermediates), i == 1 ? 1 : 0);
                if (i == 1) {
                    X509_NAME_get_text_by_NID(
                        X509_get_subject_name(sk_X509_value(pc.intermediates, 0)),
                        NID_commonName, cn, sizeof(cn));
                    assert_string_equal(cn, "Dev Inter");
                }
            }
            /* The intermediates were moved out of the session (an idle connection does not
             * keep them); the leaf stays its peer; the connection still carries data. */
            STACK_OF(X509) *left = SSL_get_peer_cert_chain(k.s);
            assert_int_equal(left != NULL ? sk_X509_num(left) : 0, 0);
            if (certs[i][0] != NULL)
                assert_ptr_equal(SSL_get0_peer_certificate(k.s), pc.leaf);
            struct hub_peer_chain again;
            assert_int_equal(hub_tls_peer_chain(k.s, &again), 0);
            assert_ptr_equal(again.leaf, pc.leaf);
            assert_int_equal(sk_X509_num(again.intermediates), 0);
            hub_tls_peer_chain_free(&again);
            hub_tls_peer_chain_free(&pc);
            assert_null(pc.leaf);
            hub_tls_peer_chain_free(&pc); /* twice is harmless */
            exchange(&k);
            conn_free(&k);
            SSL_CTX_free(c);
        }
    }
    SSL_CTX_free(s);
}

/* Control: a server that does name a CA is seen by the same client check, so the empty-list
 * assertion above is meaningful. */
static void test_ca_list_control(void **state)
{
    (void)state;
    for (size_t v = 0; v < 2; v++) {
        SSL_CTX *s = hub_ctx(&g_ec, 0);
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(P("root.cert.pem"));
        assert_non_null(names);
        SSL_CTX_set_client_CA_list(s, names);
        SSL_CTX *c = client_ctx(&g_ec, versions[v], versions[v], NULL);
        struct conn k;
        assert_true(handshake(s, c, NULL, NULL, NULL, &k));
        STACK_OF(X509_NAME) *seen = SSL_get_client_CA_list(k.c);
        assert_non_null(seen);
        assert_int_equal(sk_X509_NAME_num(seen), 1);
        conn_free(&k);
        SSL_CTX_free(c);
        SSL_CTX_free(s);
    }
}

/* The certificate the client sent reaches the verdict: end to end for a CA device. */
static void test_peer_chain_to_verdict(void **state)
{
    (void)state;
    SSL_CTX *s = hub_ctx(&g_ec, 0);
    SSL_CTX *c = client_ctx(&g_ec, 0, 0, NULL);
    struct conn k;
    assert_true(handshake(s, c, "dev-1.chain.pem", "dev-1.key.pem", NULL, &k));
    struct hub_peer_chain pc;
    assert_int_equal(hub_tls_peer_chain(k.s, &pc), 0);
    char *root = azk_test_read(P("root.cert.pem"), NULL);
    const char *cas[] = {root};
    struct hub_x509_device dev = {HUB_X509_TYPE_CA, NULL, NULL, true};
    struct hub_x509_input in = {.leaf = pc.leaf, .intermediates = pc.intermediates,
                                .device = &dev, .device_id = "dev-1", .verified_ca_pems = cas,
                                .verified_ca_count = 1, .now = time(NULL)};
    struct hub_x509_verdict v;
    hub_x509_decide(&in, &v);
    if (!v.accepted)
        fail_msg("refused: %s", v.message);
    free(root);
    hub_tls_peer_chain_free(&pc);
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void test_ciphers(void **state)
{
    (void)state;
    struct {
        const struct hub_pki *pki;
        const char *cipher;
        bool ok;
    } cases[] = {
        {&g_ec, "ECDHE-ECDSA-AES128-GCM-SHA256", true},
        {&g_ec, "ECDHE-ECDSA-AES256-GCM-SHA384", true},
        {&g_ec, "ECDHE-ECDSA-AES128-SHA256", true},
        {&g_ec, "ECDHE-ECDSA-AES256-SHA384", true},
        {&g_rsa, "ECDHE-RSA-AES128-GCM-SHA256", true},
        {&g_rsa, "ECDHE-RSA-AES256-GCM-SHA384", true},
        {&g_rsa, "ECDHE-RSA-AES128-SHA256", true},
        {&g_rsa, "ECDHE-RSA-AES256-SHA384", true},
        /* Not Azure's: RSA key exchange, SHA-1 CBC, ChaCha20, DHE. */
        {&g_rsa, "AES128-SHA", false},
        {&g_rsa, "AES128-GCM-SHA256", false},
        {&g_rsa, "AES256-SHA256", false},
        {&g_ec, "ECDHE-ECDSA-AES128-SHA", false},
        {&g_rsa, "ECDHE-RSA-AES256-SHA", false},
        {&g_ec, "ECDHE-ECDSA-CHACHA20-POLY1305", false},
        {&g_rsa, "DHE-RSA-AES128-GCM-SHA256", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *s = hub_ctx(cases[i].pki, 0);
        SSL_CTX *c = client_ctx(cases[i].pki, TLS1_2_VERSION, TLS1_2_VERSION, cases[i].cipher);
        struct conn k;
        bool ok = handshake(s, c, NULL, NULL, NULL, &k);
        if (ok != cases[i].ok)
            fail_msg("%s: handshake %s", cases[i].cipher, ok ? "succeeded" : "failed");
        if (ok)
            assert_string_equal(SSL_get_cipher_name(k.c), cases[i].cipher);
        conn_free(&k);
        SSL_CTX_free(c);
        SSL_CTX_free(s);
    }
}

/* Control server accepting anything down to TLS 1.0 at security level 0. */
static SSL_CTX *lax_server(void)
{
    SSL_CTX *s = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(s, 0);
    assert_int_equal(SSL_CTX_set_min_proto_version(s, TLS1_VERSION), 1);
    assert_int_equal(SSL_CTX_set_cipher_list(s, "ALL:@SECLEVEL=0"), 1);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(s, g_ec.chain_path), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(s, g_ec.key_path, SSL_FILETYPE_PEM), 1);
    return s;
}

static void test_versions(void **state)
{
    (void)state;
    /* TLS 1.1 (and 1.0): refused by the hub; the same client works against a lax server. */
    int old[] = {TLS1_1_VERSION, TLS1_VERSION};
    for (size_t i = 0; i < 2; i++) {
        SSL_CTX *c = client_ctx(&g_ec, old[i], old[i], "ALL:@SECLEVEL=0");
        SSL_CTX_set_security_level(c, 0);
        SSL_CTX *lax = lax_server();
        struct conn k;
        assert_true(handshake(lax, c, NULL, NULL, NULL, &k));
        assert_int_equal(SSL_version(k.c), old[i]);
        conn_free(&k);
        SSL_CTX *s = hub_ctx(&g_ec, 0);
        assert_false(handshake(s, c, NULL, NULL, NULL, &k));
        conn_free(&k);
        SSL_CTX_free(s);
        SSL_CTX_free(lax);
        SSL_CTX_free(c);
    }
    /* Default client: 1.3; hub configured for 1.2: 1.2; client 1.3 only vs hub 1.2: refused. */
    SSL_CTX *c = client_ctx(&g_ec, 0, 0, NULL);
    SSL_CTX *s13 = hub_ctx(&g_ec, 13), *s12 = hub_ctx(&g_ec, 12);
    struct conn k;
    assert_true(handshake(s13, c, NULL, NULL, NULL, &k));
    assert_int_equal(SSL_version(k.s), TLS1_3_VERSION);
    conn_free(&k);
    assert_true(handshake(s12, c, NULL, NULL, NULL, &k));
    assert_int_equal(SSL_version(k.s), TLS1_2_VERSION);
    conn_free(&k);
    SSL_CTX_free(c);
    c = client_ctx(&g_ec, TLS1_3_VERSION, TLS1_3_VERSION, NULL);
    assert_false(handshake(s12, c, NULL, NULL, NULL, &k));
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s13);
    SSL_CTX_free(s12);
}

/* First connection, then a second one offering the first one's session. Returns whether the
 * second was resumed (both sides agree). */
static bool try_resume(SSL_CTX *s, int version, const char *cert, const char *key)
{
    SSL_CTX *c = client_ctx(&g_ec, version, version, NULL);
    struct conn k;
    assert_true(handshake(s, c, cert, key, NULL, &k));
    exchange(&k);
    conn_close(&k);
    SSL_SESSION *sess = SSL_get1_session(k.c);
    assert_non_null(sess);
    if (version == TLS1_3_VERSION && SSL_CTX_get_num_tickets(s) == 0)
        assert_int_equal(SSL_SESSION_is_resumable(sess), 0); /* no ticket was sent */
    conn_free(&k);
    assert_true(handshake(s, c, cert, key, sess, &k));
    exchange(&k);
    bool reused = SSL_session_reused(k.c) == 1;
    assert_int_equal(SSL_session_reused(k.s) == 1, reused);
    /* Not resumed: the server saw the client certificate again in this handshake. */
    if (!reused && cert != NULL)
        assert_non_null(SSL_get0_peer_certificate(k.s));
    conn_free(&k);
    SSL_SESSION_free(sess);
    SSL_CTX_free(c);
    return reused;
}

static void test_no_resumption(void **state)
{
    (void)state;
    for (size_t v = 0; v < 2; v++) {
        SSL_CTX *s = hub_ctx(&g_ec, 0);
        assert_false(try_resume(s, versions[v], NULL, NULL));
        assert_false(try_resume(s, versions[v], "dev-1.chain.pem", "dev-1.key.pem"));
        SSL_CTX_free(s);
        /* Control: the same client resumes against a server with OpenSSL's defaults, so the
         * client really tried. */
        SSL_CTX *plain = SSL_CTX_new(TLS_server_method());
        assert_int_equal(SSL_CTX_use_certificate_chain_file(plain, g_ec.chain_path), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(plain, g_ec.key_path, SSL_FILETYPE_PEM), 1);
        assert_true(try_resume(plain, versions[v], NULL, NULL));
        SSL_CTX_free(plain);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_options),
        cmocka_unit_test(test_client_cert_never_fails),
        cmocka_unit_test(test_ca_list_control),
        cmocka_unit_test(test_peer_chain_to_verdict),
        cmocka_unit_test(test_ciphers),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_no_resumption),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

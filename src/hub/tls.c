/* azkit-hub's TLS server context (see tls.h for what and why). */
#include "hub/tls.h"
#include "common/tls_libctx.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

/* Verification is deferred to auth.c: never fail the handshake over the client's chain. */
static int defer_verify(int preverify_ok, X509_STORE_CTX *ctx)
{
    (void)preverify_ok;
    (void)ctx;
    return 1;
}

/* OpenSSL's whole chain check of the handshake, skipped: auth.c verifies the client's chain
 * after CONNECT, against the CA table of the device's own hub, as IoT Hub decides there; the
 * handshake's X509_verify_cert (its result thrown away by defer_verify) was a second full
 * verification per connect, a tenth of the hub's CPU for it. The client still proves it holds
 * the leaf's key: libssl checks CertificateVerify apart from this. */
static int skip_chain_check(X509_STORE_CTX *ctx, void *arg)
{
    (void)ctx;
    (void)arg;
    return 1;
}

/* Never prompt for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Read in OpenSSL's default context: the TLS context (common/tls_libctx.h) lists no private-key
 * decoders. The key moves into the TLS context's provider once, when it first signs. */
static EVP_PKEY *read_key(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    return k;
}

static int fail(SSL_CTX *ctx, int rc, struct azk_diag *d, const char *code, const char *fix,
                const char *what, const char *path)
{
    unsigned long e = ERR_peek_last_error();
    char buf[160] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    azk_diag_add(d, AZK_SEV_ERROR, code, fix, "TLS setup: %s%s%s%s%s", what,
                 path != NULL ? " " : "", path != NULL ? path : "", buf[0] ? ": " : "", buf);
    SSL_CTX_free(ctx);
    return rc;
}

int hub_tls_ctx_new(const struct hub_tls_opts *o, SSL_CTX **out, struct azk_diag *d)
{
    if (out != NULL)
        *out = NULL;
    if (o == NULL || out == NULL || o->chain_file == NULL || o->key_file == NULL ||
        (o->max_version != 0 && o->max_version != 12 && o->max_version != 13)) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.tls-bad-options", "Give --tls-max 1.2 or 1.3.",
                     "bad TLS options (certificate, key, or maximum version)");
        return -EINVAL;
    }
    OSSL_LIB_CTX *libctx = azki_tls_libctx();
    if (libctx == NULL)
        return fail(NULL, -EIO, d, "hub.tls-setup", NULL,
                    "cannot load OpenSSL's default provider for the TLS library context", NULL);
    SSL_CTX *ctx = SSL_CTX_new_ex(libctx, NULL, TLS_server_method());
    if (ctx == NULL)
        return fail(NULL, -ENOMEM, d, "hub.tls-setup", NULL, "cannot create the context", NULL);
    int maxv = o->max_version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, maxv) != 1 ||
        SSL_CTX_set_cipher_list(ctx, HUB_TLS12_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, HUB_TLS13_SUITES) != 1)
        return fail(ctx, -EIO, d, "hub.tls-setup", NULL, "cannot set versions or ciphers", NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
        return fail(ctx, -EIO, d, "hub.tls-setup", NULL, "cannot disable session tickets", NULL);

    /* Ask for a client certificate, naming no CA, and let auth.c decide after CONNECT. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, defer_verify);
    SSL_CTX_set_cert_verify_callback(ctx, skip_chain_check, NULL);
    STACK_OF(X509_NAME) *none = sk_X509_NAME_new_null();
    if (none == NULL)
        return fail(ctx, -ENOMEM, d, "hub.tls-setup", NULL, "out of memory", NULL);
    SSL_CTX_set_client_CA_list(ctx, none); /* takes ownership */

    if (access(o->chain_file, R_OK) != 0)
        return fail(ctx, errno == ENOENT ? -ENOENT : -EACCES, d, "hub.tls-cert",
                    "Check the data directory's pki/ files (the hub creates them on first start).",
                    "cannot read the server certificate chain", o->chain_file);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->chain_file) != 1)
        return fail(ctx, -EBADMSG, d, "hub.tls-cert",
                    "The file must hold the server certificate followed by its intermediates, "
                    "in PEM.",
                    "cannot load the server certificate chain", o->chain_file);
    if (access(o->key_file, R_OK) != 0)
        return fail(ctx, errno == ENOENT ? -ENOENT : -EACCES, d, "hub.tls-key", NULL,
                    "cannot read the server key", o->key_file);
    EVP_PKEY *key = read_key(o->key_file);
    if (key == NULL)
        return fail(ctx, -EBADMSG, d, "hub.tls-key", "The key must be an unencrypted PEM key.",
                    "cannot load the server key", o->key_file);
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    EVP_PKEY *pub = cert != NULL ? X509_get0_pubkey(cert) : NULL;
    if (pub == NULL || EVP_PKEY_eq(pub, key) != 1) {
        EVP_PKEY_free(key);
        return fail(ctx, -EKEYREJECTED, d, "hub.tls-key",
                    "Use the key written together with the server certificate.",
                    "the server key does not belong to the certificate in", o->chain_file);
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    if (!ok)
        return fail(ctx, -EBADMSG, d, "hub.tls-key", NULL, "cannot use the server key",
                    o->key_file);
    ERR_clear_error();
    *out = ctx;
    return 0;
}

int hub_tls_peer_chain(SSL *ssl, struct hub_peer_chain *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (ssl == NULL)
        return -EINVAL;
    out->intermediates = sk_X509_new_null();
    if (out->intermediates == NULL)
        return -ENOMEM;
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    if (leaf == NULL)
        return 0;
    if (!X509_up_ref(leaf)) {
        hub_tls_peer_chain_free(out);
        return -ENOMEM;
    }
    out->leaf = leaf;
    /* SSL_get_peer_cert_chain() is the session's own stack (no new reference), which holds one
     * reference to each certificate. Its certificates are moved, not copied: a connection that
     * stays open for days then no longer keeps its parsed intermediates (~4.7 KB each for a
     * P-256 certificate in OpenSSL 3.0). Nothing else reads the stack: no resumption, no
     * renegotiation. On a server the stack holds what the client sent after its leaf; drop the
     * leaf anyway in case an OpenSSL version includes it (the session keeps it as its peer). */
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
    if (sent == NULL)
        return 0;
    if (sk_X509_num(sent) > 0 && X509_cmp(sk_X509_value(sent, 0), leaf) == 0)
        X509_free(sk_X509_shift(sent));
    while (sk_X509_num(sent) > 0) {
        if (!sk_X509_push(out->intermediates, sk_X509_value(sent, 0))) {
            hub_tls_peer_chain_free(out);
            return -ENOMEM;
        }
        (void)sk_X509_shift(sent); /* its reference now belongs to out->intermediates */
    }
    return 0;
}

void hub_tls_peer_chain_free(struct hub_peer_chain *c)
{
    if (c == NULL)
        return;
    X509_free(c->leaf);
    sk_X509_pop_free(c->intermediates, X509_free);
    c->leaf = NULL;
    c->intermediates = NULL;
}

/* A TLS client context from security tags (azkit/tls_tags.h). */
#include "azkit/tls_tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/ossl.h"
#include "cred/internal.h"
#include "cred/key_loader.h"

/* Reads a certificate credential as a stack; -ENOENT when absent. */
static int read_certs(struct azk_credstore *s, azk_sec_tag_t tag, int type, STACK_OF(X509) **out,
                      struct azk_diag *d)
{
    int rc = azki_store_load_certs(s, tag, type, out, d);
    if (rc == -EBADMSG)
        azk_diag_add(d, AZK_SEV_ERROR, "tls.bad-credential",
                     "Write it again with `azkit cred write` (it validates the content).",
                     "sec_tag %u type %d does not hold PEM certificates", (unsigned)tag, type);
    return rc;
}

static void append_subject(struct azk_tls_tags_info *info, X509 *x)
{
    char cn[128];
    azki_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
    size_t used = strlen(info->ca_subjects);
    if (used + strlen(cn) + 3 < sizeof(info->ca_subjects))
        snprintf(info->ca_subjects + used, sizeof(info->ca_subjects) - used, "%s%s",
                 used ? "; " : "", cn[0] ? cn : "(no CN)");
}

/* The client chain and key of `tag` into ctx. */
static int use_client(SSL_CTX *ctx, struct azk_credstore *s, azk_sec_tag_t tag,
                      STACK_OF(X509) *chain, struct azk_tls_tags_info *info, struct azk_diag *d)
{
    EVP_PKEY *key = NULL;
    int rc = azki_cred_load_private_key(s, tag, &key);
    if (rc == -ENOENT) {
        azk_diag_add(d, AZK_SEV_ERROR, "tls.key-missing",
                     "Write the device's private key into the same tag as its certificate: "
                     "`azkit cred write TAG key FILE` (a TLS socket takes the certificate and "
                     "the key from one tag).",
                     "sec_tag %u has a client certificate (type 1) but no private key (type 2)",
                     (unsigned)tag);
        return -ENOKEY;
    }
    if (rc == -EACCES) {
        azk_diag_add(d, AZK_SEV_ERROR, "tls.key-not-released",
                     "This backend does TLS itself (a modem); run the client on it.",
                     "the store's backend does not release private keys");
        return rc;
    }
    if (rc != 0)
        return rc;
    X509 *leaf = sk_X509_value(chain, 0);
    if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        azk_diag_add(d, AZK_SEV_ERROR, "tls.key-mismatch",
                     "Write the key that belongs to this certificate (or the certificate of "
                     "this key) into the tag.",
                     "sec_tag %u: the private key does not belong to the client certificate",
                     (unsigned)tag);
        return -ENOKEY;
    }
    EVP_PKEY_free(key);
    for (int i = 1; i < sk_X509_num(chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)) != 1)
            return -ENOMEM;
    info->has_client = true;
    info->client_tag = tag;
    info->client_chain_len = (size_t)sk_X509_num(chain);
    azki_x509_name_cn(X509_get_subject_name(leaf), info->client_cn, sizeof(info->client_cn));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(leaf, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32)
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(info->client_thumbprint + 2 * i, 3, "%02X", md[i]);
    return 0;
}

int azk_tls_ctx_from_tags(struct azk_credstore *store, const azk_sec_tag_t *tags,
                          size_t ntags, SSL_CTX **out, struct azk_tls_tags_info *info,
                          struct azk_diag *diag)
{
    struct azk_tls_tags_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof(*info));
    if (store == NULL || tags == NULL || out == NULL || ntags == 0 || ntags > AZK_TLS_TAGS_MAX)
        return -EINVAL;
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return -ENOMEM;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    X509_STORE *trust = SSL_CTX_get_cert_store(ctx);
    int rc = 0;
    for (size_t i = 0; i < ntags && rc == 0; i++) {
        STACK_OF(X509) *cas = NULL;
        int r = read_certs(store, tags[i], AZK_CRED_CA_CHAIN, &cas, diag);
        if (r == 0) {
            for (int k = 0; k < sk_X509_num(cas); k++) {
                X509 *x = sk_X509_value(cas, k);
                if (X509_STORE_add_cert(trust, x) == 1 ||
                    ERR_GET_REASON(ERR_peek_last_error()) == X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                    info->ca_count++;
                    append_subject(info, x);
                }
                ERR_clear_error();
            }
            sk_X509_pop_free(cas, X509_free);
        } else if (r != -ENOENT) {
            rc = r;
        }
        if (rc != 0 || info->has_client)
            continue;
        STACK_OF(X509) *chain = NULL;
        r = read_certs(store, tags[i], AZK_CRED_CLIENT_CERT, &chain, diag);
        if (r == 0) {
            rc = use_client(ctx, store, tags[i], chain, info, diag);
            sk_X509_pop_free(chain, X509_free);
        } else if (r != -ENOENT) {
            rc = r;
        }
    }
    if (rc == 0 && info->ca_count == 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "tls.no-ca",
                     "Write the root CA that signed the server's certificate as type 0 "
                     "(ca_chain) into one of the socket's tags: `azkit cred write TAG ca_chain "
                     "ROOT.pem` (for Azure: DigiCert Global Root G2; `azkit cred provision` "
                     "adds the Azure roots).",
                     "none of the tags holds a CA certificate (type 0): the server cannot be "
                     "verified");
        rc = -ENOENT;
    }
    if (rc != 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

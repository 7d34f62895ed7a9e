/* azk_pki_verify(): OpenSSL chain verification that reports every problem in words. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/ossl.h"
#include "pki/pki_internal.h"

#define MAX_ISSUES 16

struct issue {
    int err;
    int depth;
    X509 *cert;
};

struct issues {
    struct issue items[MAX_ISSUES];
    size_t n;
};

/* OpenSSL reports a missing issuer under several codes; they are one problem. */
static int error_class(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    default:
        return err;
    }
}

/* Records each (error, depth) once and lets verification carry on, so one run reports
 * everything: a missing intermediate and an expired leaf together. */
static int record_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    struct issues *is = X509_STORE_CTX_get_app_data(ctx);
    int err = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    for (size_t i = 0; i < is->n; i++)
        if (error_class(is->items[i].err) == error_class(err) && is->items[i].depth == depth)
            return 1;
    if (is->n < MAX_ISSUES) {
        X509 *c = X509_STORE_CTX_get_current_cert(ctx);
        if (c != NULL && !X509_up_ref(c))
            c = NULL;
        is->items[is->n++] = (struct issue){err, depth, c};
    }
    return 1;
}

static int add_all(STACK_OF(X509) *to, STACK_OF(X509) *from, int start)
{
    for (int i = start; i < sk_X509_num(from); i++) {
        X509 *x = sk_X509_value(from, i);
        if (!X509_up_ref(x))
            return -ENOMEM;
        if (!sk_X509_push(to, x)) {
            X509_free(x);
            return -ENOMEM;
        }
    }
    return 0;
}

static int load_trusted(const struct azk_pki_verify_opts *o, X509_STORE *store,
                        struct azk_diag *d)
{
    for (size_t i = 0; i < o->ca_count; i++) {
        STACK_OF(X509) *sk;
        int rc = azki_pki_read_certs(o->ca_files[i], "CA file", "pki.file-missing", &sk, d);
        if (rc != 0)
            return rc;
        for (int j = 0; j < sk_X509_num(sk) && rc == 0; j++)
            if (X509_STORE_add_cert(store, sk_X509_value(sk, j)) != 1)
                rc = -ENOMEM;
        sk_X509_pop_free(sk, X509_free);
        ERR_clear_error();
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int load_untrusted(const struct azk_pki_verify_opts *o, STACK_OF(X509) *untrusted,
                          X509 **leaf, struct azk_diag *d)
{
    STACK_OF(X509) *sk;
    int rc = azki_pki_read_certs(o->cert_file, "certificate file", "pki.file-missing", &sk, d);
    if (rc != 0)
        return rc;
    *leaf = sk_X509_value(sk, 0);
    X509_up_ref(*leaf);
    rc = add_all(untrusted, sk, 1);
    sk_X509_pop_free(sk, X509_free);
    for (size_t i = 0; rc == 0 && i < o->untrusted_count; i++) {
        rc = azki_pki_read_certs(o->untrusted_files[i], "untrusted file", "pki.file-missing",
                                &sk, d);
        if (rc == 0) {
            rc = add_all(untrusted, sk, 0);
            sk_X509_pop_free(sk, X509_free);
        }
    }
    return rc;
}

static void describe_chain(STACK_OF(X509) *chain, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < sk_X509_num(chain) && used < len; i++) {
        char cn[128];
        azki_x509_name_cn(X509_get_subject_name(sk_X509_value(chain, i)), cn, sizeof(cn));
        int n = snprintf(out + used, len - used, "%s'%s'", i ? " -> " : "", cn);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static void report_chain(const struct azk_pki_verify_opts *o, STACK_OF(X509) *chain)
{
    size_t n = chain ? (size_t)sk_X509_num(chain) : 0;
    if (o->chain_count != NULL)
        *o->chain_count = n;
    for (size_t i = 0; o->chain_out != NULL && i < n && i < o->chain_max; i++)
        azki_x509_summarize(sk_X509_value(chain, (int)i), &o->chain_out[i]);
}

static bool check_cn(const struct azk_pki_verify_opts *o, X509 *leaf, struct azk_diag *d)
{
    if (o->expect_cn == NULL)
        return true;
    char cn[128];
    azki_x509_name_cn(X509_get_subject_name(leaf), cn, sizeof(cn));
    if (strcmp(cn, o->expect_cn) == 0)
        return true;
    azk_diag_add(d, AZK_SEV_ERROR, "pki.cn-mismatch",
                 "Issue the certificate with CN = the device/registration id (azkit pki device "
                 "ID), or use the id that matches the CN.",
                 "certificate CN is '%s' but the device/registration id is '%s'; Azure "
                 "requires them equal",
                 cn, o->expect_cn);
    return false;
}

static int run(const struct azk_pki_verify_opts *o, X509_STORE *store, X509 *leaf,
               STACK_OF(X509) *untrusted, struct azk_diag *d)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    struct issues is;
    memset(&is, 0, sizeof(is));
    if (ctx == NULL || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        X509_STORE_CTX_free(ctx);
        return -ENOMEM;
    }
    X509_STORE_CTX_set_app_data(ctx, &is);
    X509_STORE_CTX_set_verify_cb(ctx, record_cb);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    if (o->partial_chain)
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
    int ok = X509_verify_cert(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    report_chain(o, chain);
    if (ok <= 0 && is.n == 0)
        azki_pki_explain(X509_STORE_CTX_get_error(ctx), X509_STORE_CTX_get_error_depth(ctx),
                        X509_STORE_CTX_get_current_cert(ctx), d);
    for (size_t i = 0; i < is.n; i++) {
        azki_pki_explain(is.items[i].err, is.items[i].depth, is.items[i].cert, d);
        X509_free(is.items[i].cert);
    }
    bool good = ok > 0 && is.n == 0;
    good = check_cn(o, leaf, d) && good;
    if (good) {
        char desc[AZK_DIAG_TEXT];
        describe_chain(chain, desc, sizeof(desc));
        azk_diag_add(d, AZK_SEV_INFO, "pki.chain-ok", NULL, "chain verified: %s (trust anchor)",
                     desc);
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return good ? 0 : -EKEYREJECTED;
}

AZK_API int azk_pki_verify(const struct azk_pki_verify_opts *opts, struct azk_diag *diag)
{
    if (opts == NULL || opts->cert_file == NULL || (opts->ca_count && !opts->ca_files) ||
        (opts->untrusted_count && !opts->untrusted_files))
        return -EINVAL;
    if (opts->chain_count != NULL)
        *opts->chain_count = 0;
    if (opts->ca_count == 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "pki.no-ca",
                     "Pass the root (or, with partial chains, the intermediate) that Azure "
                     "trusts.",
                     "no trusted CA given");
        return -EINVAL;
    }
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509 *leaf = NULL;
    int rc = store && untrusted ? 0 : -ENOMEM;
    if (rc == 0)
        rc = load_trusted(opts, store, diag);
    if (rc == 0)
        rc = load_untrusted(opts, untrusted, &leaf, diag);
    if (rc == 0)
        rc = run(opts, store, leaf, untrusted, diag);
    X509_free(leaf);
    sk_X509_pop_free(untrusted, X509_free);
    X509_STORE_free(store);
    return rc;
}

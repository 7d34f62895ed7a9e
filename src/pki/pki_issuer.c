/* The issuing CA: load its certificate, key and chain, and check it may sign. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/ossl.h"
#include "pki/pki_internal.h"

void azki_pki_issuer_free(struct azki_pki_issuer *iss)
{
    X509_free(iss->cert);
    EVP_PKEY_free(iss->key);
    sk_X509_pop_free(iss->chain, X509_free);
    memset(iss, 0, sizeof(*iss));
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Appends `x` (up-ref) unless it is self-signed or already present. */
static int chain_add(STACK_OF(X509) *chain, X509 *x)
{
    if (azki_x509_self_signed(x))
        return 0;
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (X509_cmp(sk_X509_value(chain, i), x) == 0)
            return 0;
    if (!X509_up_ref(x))
        return -ENOMEM;
    if (!sk_X509_push(chain, x)) {
        X509_free(x);
        return -ENOMEM;
    }
    return 0;
}

static int chain_add_all(STACK_OF(X509) *chain, STACK_OF(X509) *from, int start)
{
    for (int i = start; i < sk_X509_num(from); i++) {
        int rc = chain_add(chain, sk_X509_value(from, i));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The issuer's chain file: explicit, or <prefix>.chain.pem next to <prefix>.cert.pem. */
static int load_chain(const struct azk_pki_request *req, STACK_OF(X509) *certs,
                      struct azki_pki_issuer *iss, struct azk_diag *d)
{
    int rc = chain_add_all(iss->chain, certs, 0);
    if (rc != 0)
        return rc;
    char guess[1024];
    const char *path = req->issuer_chain;
    if (path == NULL && ends_with(req->issuer_cert, ".cert.pem")) {
        size_t n = strlen(req->issuer_cert) - strlen(".cert.pem");
        if (n + sizeof(".chain.pem") <= sizeof(guess)) {
            snprintf(guess, sizeof(guess), "%.*s.chain.pem", (int)n, req->issuer_cert);
            if (access(guess, F_OK) == 0)
                path = guess;
        }
    }
    if (path == NULL)
        return 0;
    STACK_OF(X509) *more = NULL;
    rc = azki_pki_read_certs(path, "issuer chain", "pki.issuer-missing", &more, d);
    if (rc != 0)
        return rc;
    rc = chain_add_all(iss->chain, more, 0);
    sk_X509_pop_free(more, X509_free);
    return rc;
}

static int check_issuer(const struct azk_pki_request *req, struct azki_pki_issuer *iss,
                        struct azk_diag *d)
{
    char cn[128];
    azki_x509_name_cn(X509_get_subject_name(iss->cert), cn, sizeof(cn));
    if (!azki_x509_is_ca(iss->cert)) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.issuer-not-ca",
                     "Sign with a CA made by 'azkit pki root' or 'azkit pki intermediate'; "
                     "device certificates cannot sign other certificates.",
                     "'%s' (%s) is not a CA certificate (no basicConstraints CA:TRUE with "
                     "keyCertSign), so it cannot issue certificates",
                     cn, req->issuer_cert);
        return -EKEYREJECTED;
    }
    EVP_PKEY *pub = X509_get0_pubkey(iss->cert);
    if (pub == NULL || EVP_PKEY_eq(pub, iss->key) != 1) {
        ERR_clear_error();
        azk_diag_add(d, AZK_SEV_ERROR, "pki.issuer-key-mismatch",
                     "Pass the key that was written together with the CA certificate "
                     "(<prefix>.key.pem of the same --out prefix).",
                     "key '%s' does not belong to the CA certificate '%s' (%s)",
                     req->issuer_key, cn, req->issuer_cert);
        return -EKEYREJECTED;
    }
    int v = azki_x509_validity(iss->cert);
    if (v != 0) {
        char when[21];
        azki_asn1_time_iso(v > 0 ? X509_get0_notAfter(iss->cert) : X509_get0_notBefore(iss->cert),
                          when);
        azk_diag_add(d, AZK_SEV_WARNING, "pki.issuer-expired",
                     "Certificates it signs will not verify; create a new CA.",
                     "the issuing CA '%s' %s %s", cn, v > 0 ? "expired on" : "is not valid until",
                     when);
    }
    if (req->kind == AZK_PKI_INTERMEDIATE && X509_get_pathlen(iss->cert) == 0)
        azk_diag_add(d, AZK_SEV_WARNING, "pki.issuer-pathlen",
                     "Create the intermediate under the root, or recreate the issuer with "
                     "--path-len 1 (or -1 for no limit).",
                     "'%s' has pathlen 0: no CA may sit below it, so chains through the new "
                     "intermediate will not verify",
                     cn);
    return 0;
}

int azki_pki_issuer_load(const struct azk_pki_request *req, struct azki_pki_issuer *iss,
                        struct azk_diag *d)
{
    memset(iss, 0, sizeof(*iss));
    if (req->issuer_cert == NULL || req->issuer_key == NULL) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.issuer-required",
                     "Name the signing CA (--ca PREFIX, or --ca-cert FILE --ca-key FILE).",
                     "a %s needs an issuing CA certificate and key",
                     azki_pki_kind_name(req->kind));
        return -EINVAL;
    }
    STACK_OF(X509) *certs = NULL;
    int rc = azki_pki_read_certs(req->issuer_cert, "issuer certificate", "pki.issuer-missing",
                            &certs, d);
    if (rc != 0)
        return rc;
    iss->cert = sk_X509_shift(certs);
    iss->chain = sk_X509_new_null();
    if (iss->chain == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = azki_pki_key_load(req->issuer_key, "issuer key", &iss->key, d);
    if (rc == 0)
        rc = check_issuer(req, iss, d);
    if (rc == 0 && (rc = chain_add(iss->chain, iss->cert)) == 0)
        rc = load_chain(req, certs, iss, d);
    sk_X509_pop_free(certs, X509_free);
    if (rc != 0)
        azki_pki_issuer_free(iss);
    return rc;
}

/* azk_cred_keygen() and azk_cred_public_key() (cred_keygen.h): a key pair generated inside
 * the store, and its certificate signing request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "azkit/cred_keygen.h"
#include "common/ossl.h"
#include "cred/internal.h"

#define CN_MAX 128

static int check_cn(const char *cn, struct azk_diag *d)
{
    size_t n = cn != NULL ? strlen(cn) : 0;
    bool ok = n > 0 && n <= CN_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)cn[i] >= 0x20 && cn[i] != 0x7f && cn[i] != '"' && cn[i] != ',';
    if (!ok)
        azk_diag_add(d, AZK_SEV_ERROR, "cred.keygen-bad-cn",
                     "Give the device id (the DPS registration id) with --cn: 1 to 128 "
                     "characters, without '\"' or ',' (the modem's attribute string cannot "
                     "carry them).",
                     "'%s' cannot be the CSR's common name", cn != NULL ? cn : "");
    return ok ? 0 : -EINVAL;
}

/* Directory store: the key is made here, stored as a written key would be, and signs the
 * CSR; its bytes are cleansed before they are freed. */
static int local_keygen(struct azk_credstore *s, azk_sec_tag_t tag, const char *cn,
                        X509_REQ **out, struct azk_diag *d)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    BIO *b = BIO_new(BIO_s_mem());
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    if (b != NULL && req != NULL && name != NULL &&
        PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
        char *pem;
        long n = BIO_get_mem_data(b, &pem);
        rc = azk_cred_write_ex(s, tag, AZK_CRED_PRIVATE_KEY, pem, (size_t)n, NULL, d);
        OPENSSL_cleanse(pem, (size_t)n);
    }
    if (rc == 0) {
        rc = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                        -1, -1, 0) == 1 &&
                     X509_REQ_set_version(req, 0) == 1 &&
                     X509_REQ_set_subject_name(req, name) == 1 &&
                     X509_REQ_set_pubkey(req, key) == 1 &&
                     X509_REQ_sign(req, key, EVP_sha256()) > 0
                 ? 0
                 : -EIO;
    }
    if (rc == 0) {
        *out = req;
        req = NULL;
    }
    BIO_free(b);
    X509_NAME_free(name);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* The checks a CSR from the store must pass: signature, P-256 key, the CN asked for. */
static int check_csr(X509_REQ *req, const char *cn, struct azk_diag *d)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    char curve[64] = "";
    size_t cl = 0;
    if (pub == NULL || X509_REQ_verify(req, pub) != 1 || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(pub, "group", curve, sizeof(curve), &cl) != 1 ||
        strcmp(curve, "prime256v1") != 0) {
        ERR_clear_error();
        azk_diag_add(d, AZK_SEV_ERROR, "cred.keygen-bad-csr",
                     "Run the keygen again; if it repeats, the modem firmware answers %KEYGEN "
                     "in a form azkit does not know (check AT+CGMR).",
                     "the CSR the store returned does not verify, or its key is not EC P-256");
        return -EBADMSG;
    }
    char got[CN_MAX * 4 + 1];
    azki_x509_name_cn(X509_REQ_get_subject_name(req), got, sizeof(got));
    if (strcmp(got, cn) != 0)
        azk_diag_add(d, AZK_SEV_WARNING, "cred.keygen-cn",
                     "The modem firmware may ignore the subject attributes of %KEYGEN; "
                     "'azkit pki sign-csr' issues the certificate for the CSR's CN.",
                     "the CSR's CN is '%s', not '%s'", got, cn);
    return 0;
}

static int csr_to_pem(X509_REQ *req, char **pem)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || PEM_write_bio_X509_REQ(b, req) != 1) {
        BIO_free(b);
        ERR_clear_error();
        return -ENOMEM;
    }
    char *data;
    long n = BIO_get_mem_data(b, &data);
    *pem = malloc((size_t)n + 1);
    if (*pem != NULL) {
        memcpy(*pem, data, (size_t)n);
        (*pem)[n] = '\0';
    }
    BIO_free(b);
    return *pem != NULL ? 0 : -ENOMEM;
}

/* The existing key: refused, or with force deleted (and the tag's certificate noted). */
static int clear_old_key(struct azk_credstore *s, azk_sec_tag_t tag, bool force,
                         struct azk_diag *d)
{
    bool exists = false;
    int rc = azk_cred_exists(s, tag, AZK_CRED_PRIVATE_KEY, &exists);
    if (rc != 0 || !exists)
        return rc;
    if (!force) {
        azk_diag_add(d, AZK_SEV_ERROR, "cred.key-exists",
                     "Choose an empty tag, or pass --force to replace the key (the certificate "
                     "issued for the old key then no longer works).",
                     "sec_tag %u already holds a private key; nothing was changed",
                     (unsigned)tag);
        return -EEXIST;
    }
    return azk_cred_delete(s, tag, AZK_CRED_PRIVATE_KEY);
}

AZK_API int azk_cred_keygen(struct azk_credstore *store, azk_sec_tag_t tag,
                            const char *common_name, const struct azk_keygen_opts *opts,
                            char **csr_pem, struct azk_diag *diag)
{
    if (store == NULL || csr_pem == NULL)
        return -EINVAL;
    *csr_pem = NULL;
    int rc = azki_check_tag_type(tag, AZK_CRED_PRIVATE_KEY, diag);
    if (rc == 0)
        rc = check_cn(common_name, diag);
    if (rc == 0)
        rc = clear_old_key(store, tag, opts != NULL && opts->force, diag);
    if (rc != 0)
        return rc;
    X509_REQ *req = NULL;
    if (store->ops->keygen != NULL) {
        unsigned char *der = NULL;
        size_t len = 0;
        rc = store->ops->keygen(store->ctx, tag, common_name, &der, &len);
        if (rc == 0) {
            const unsigned char *p = der;
            req = d2i_X509_REQ(NULL, &p, (long)len);
            if (req == NULL || p != der + len) {
                X509_REQ_free(req);
                req = NULL;
                ERR_clear_error();
                azk_diag_add(diag, AZK_SEV_ERROR, "cred.keygen-bad-csr",
                             "Check the modem firmware (AT+CGMR); %KEYGEN answers a CSR from "
                             "mfw 1.3.0 on.",
                             "the modem's %%KEYGEN answer is not a DER certificate request");
                rc = -EBADMSG;
            }
        } else {
            const char *why = azk_credstore_why(store);
            azk_diag_add(diag, AZK_SEV_ERROR, "cred.keygen-refused", NULL,
                         "no key was generated in sec_tag %u: %s", (unsigned)tag,
                         why != NULL && *why ? why : azk_strerror(rc));
        }
        free(der);
    } else {
        rc = local_keygen(store, tag, common_name, &req, diag);
    }
    if (rc == 0)
        rc = check_csr(req, common_name, diag);
    if (rc == 0 && store->ops->keygen != NULL) {
        uint8_t digest[AZK_CRED_DIGEST_SIZE];
        int mrc = azk_cred_digest(store, tag, AZK_CRED_PRIVATE_KEY, digest);
        if (mrc == 0)
            mrc = azki_pubkey_remember(digest, X509_REQ_get0_pubkey(req));
        if (mrc != 0)
            azk_diag_add(diag, AZK_SEV_WARNING, "cred.keygen-not-remembered",
                         "Keep the CSR: it holds the key's public half.",
                         "the public key could not be remembered on this computer (%s): "
                         "'cred list' and the doctor cannot check the certificate against "
                         "the key", azk_strerror(mrc));
    }
    if (rc == 0) {
        bool has_cert = false;
        if (azk_cred_exists(store, tag, AZK_CRED_CLIENT_CERT, &has_cert) == 0 && has_cert)
            azk_diag_add(diag, AZK_SEV_WARNING, "cred.key-mismatch",
                         "Write the certificate issued for this CSR: azkit cred write TAG "
                         "client_cert DEVICE.chain.pem.",
                         "sec_tag %u still holds the client certificate of the old key",
                         (unsigned)tag);
        rc = csr_to_pem(req, csr_pem);
    }
    X509_REQ_free(req);
    return rc;
}

AZK_API int azk_cred_public_key(struct azk_credstore *store, azk_sec_tag_t tag, char **pem)
{
    if (store == NULL || pem == NULL)
        return -EINVAL;
    *pem = NULL;
    EVP_PKEY *pub = NULL;
    int rc = azki_tag_public_key(store, tag, &pub);
    if (rc != 0)
        return rc;
    BIO *b = BIO_new(BIO_s_mem());
    rc = b != NULL && PEM_write_bio_PUBKEY(b, pub) == 1 ? 0 : -ENOMEM;
    if (rc == 0) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        *pem = malloc((size_t)n + 1);
        if (*pem == NULL) {
            rc = -ENOMEM;
        } else {
            memcpy(*pem, data, (size_t)n);
            (*pem)[n] = '\0';
        }
    }
    BIO_free(b);
    EVP_PKEY_free(pub);
    ERR_clear_error();
    return rc;
}

/* %KEYGEN for azkit-modem-sim: a real P-256 key kept inside the simulator and a real CSR in
 * the modem's answer format (Nordic's nRF91 AT command reference, %KEYGEN set command:
 * "Base64Url(CSR_DER).Base64Url(cose_sign)"). The COSE part is a COSE_Sign1 of the same shape
 * (ES256 protected header, detached payload, a 64-byte r||s signature over the CSR DER by the
 * new key); it stands in for the modem's attestation, which no one here can verify. */
#include "modem_sim/sim_keygen.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Appends base64url of data (no padding) at out; returns the characters written. */
static size_t b64url_encode(const unsigned char *d, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = b64url[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = b64url[v & 63];
    }
    return o;
}

static X509_REQ *make_csr(EVP_PKEY *key, const char *subject)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    const char *cn = subject != NULL ? strstr(subject, "CN=") : NULL;
    bool ok = req != NULL && name != NULL;
    if (ok && cn != NULL) {
        cn += 3;
        size_t n = strcspn(cn, ",");
        ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                        (int)n, -1, 0) == 1;
    }
    /* The modem requests a key usage extension (digitalSignature, nonRepudiation,
     * keyEncipherment, keyAgreement: BIT STRING 03 02 03 E8 in the CSR of the
     * AT%KEYGEN=16842753,2,0 exchange in Nordic's nRFCloud/utils README). */
    STACK_OF(X509_EXTENSION) *exts = ok ? sk_X509_EXTENSION_new_null() : NULL;
    X509_EXTENSION *ku = exts ? X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
                                                    "digitalSignature,nonRepudiation,"
                                                    "keyEncipherment,keyAgreement")
                              : NULL;
    ok = ok && ku != NULL && sk_X509_EXTENSION_push(exts, ku) > 0;
    if (!ok)
        X509_EXTENSION_free(ku);
    ok = ok && X509_REQ_add_extensions(req, exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ok = ok && X509_REQ_set_version(req, 0) == 1 && X509_REQ_set_subject_name(req, name) == 1 &&
         X509_REQ_set_pubkey(req, key) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_REQ_free(req);
        return NULL;
    }
    return req;
}

/* COSE_Sign1 = tag 18 [ protected bstr {1: -7}, {}, nil (detached), signature bstr(64) ]. */
static int make_cose(EVP_PKEY *key, const unsigned char *der, size_t der_len,
                     unsigned char out[74])
{
    static const unsigned char head[] = {0xD2, 0x84, 0x43, 0xA1, 0x01, 0x26, 0xA0, 0xF6, 0x58, 0x40};
    unsigned char sig[80];
    size_t sig_len = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &sig_len, der, der_len) == 1;
    EVP_MD_CTX_free(md);
    const unsigned char *p = sig;
    ECDSA_SIG *es = ok ? d2i_ECDSA_SIG(NULL, &p, (long)sig_len) : NULL;
    if (es == NULL)
        return -1;
    memcpy(out, head, sizeof(head));
    ok = BN_bn2binpad(ECDSA_SIG_get0_r(es), out + 10, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 42, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : -1;
}

int sim_keygen(const char *subject, char **key_pem, size_t *key_len, char **answer)
{
    *key_pem = *answer = NULL;
    *key_len = 0;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509_REQ *req = key != NULL ? make_csr(key, subject) : NULL;
    unsigned char *der = NULL, cose[74];
    int der_len = req != NULL ? i2d_X509_REQ(req, &der) : -1;
    BIO *b = BIO_new(BIO_s_mem());
    int rc = -1;
    if (der_len > 0 && b != NULL && make_cose(key, der, (size_t)der_len, cose) == 0 &&
        PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
        char *pem;
        long n = BIO_get_mem_data(b, &pem);
        *answer = malloc(((size_t)der_len + sizeof(cose)) * 4 / 3 + 8);
        *key_pem = malloc((size_t)n + 1);
        if (*answer != NULL && *key_pem != NULL) {
            size_t o = b64url_encode(der, (size_t)der_len, *answer);
            (*answer)[o++] = '.';
            o += b64url_encode(cose, sizeof(cose), *answer + o);
            (*answer)[o] = '\0';
            memcpy(*key_pem, pem, (size_t)n);
            (*key_pem)[n] = '\0';
            *key_len = (size_t)n;
            rc = 0;
        } else {
            free(*answer);
            free(*key_pem);
            *answer = *key_pem = NULL;
        }
        OPENSSL_cleanse(pem, (size_t)n);
    }
    BIO_free(b);
    OPENSSL_free(der);
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

void sim_keygen_free(char *key_pem, size_t key_len)
{
    if (key_pem != NULL)
        OPENSSL_cleanse(key_pem, key_len);
    free(key_pem);
}

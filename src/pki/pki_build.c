/* Builds and signs one certificate: serial, names, validity, extensions, SHA-256 signature. */
#include <errno.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/pki_internal.h"

/* Random, positive, exactly 16 bytes in DER (top bit clear, next bit set). */
static int set_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return -EIO;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = ai != NULL && X509_set_serialNumber(x, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok ? 0 : -EIO;
}

static int set_times(X509 *x, time_t nb, time_t na)
{
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, nb);
    ASN1_TIME *t2 = ASN1_TIME_set(NULL, na);
    int ok = t1 && t2 && X509_set1_notBefore(x, t1) == 1 && X509_set1_notAfter(x, t2) == 1;
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    return ok ? 0 : -EIO;
}

static int add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -EIO;
}

/* The issuer's own SKI when it has one (`finished` certificates only: looking it up caches
 * extensions), else RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
static ASN1_OCTET_STRING *key_id(X509 *x, bool finished)
{
    const ASN1_OCTET_STRING *have = finished ? X509_get0_subject_key_id(x) : NULL;
    if (have != NULL)
        return ASN1_OCTET_STRING_dup(have);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_pubkey_digest(x, EVP_sha1(), md, &n) != 1)
        return NULL;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    if (os != NULL && ASN1_OCTET_STRING_set(os, md, (int)n) != 1) {
        ASN1_OCTET_STRING_free(os);
        os = NULL;
    }
    return os;
}

static int add_ski(X509 *x)
{
    ASN1_OCTET_STRING *os = key_id(x, false);
    int ok = os != NULL && X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0,
                                             X509V3_ADD_DEFAULT) == 1;
    ASN1_OCTET_STRING_free(os);
    return ok ? 0 : -EIO;
}

static int add_aki(X509 *x, X509 *issuer)
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    if (akid == NULL)
        return -ENOMEM;
    akid->keyid = key_id(issuer, issuer != x);
    int ok = akid->keyid != NULL && X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
                                                      X509V3_ADD_DEFAULT) == 1;
    AUTHORITY_KEYID_free(akid);
    return ok ? 0 : -EIO;
}

static int add_extensions(const struct azk_pki_request *req, X509 *x, X509 *issuer,
                          EVP_PKEY *key)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    const char *ca_usage = "critical,keyCertSign,cRLSign,digitalSignature";
    bool rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
    const char *leaf_usage =
        rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";
    int rc = 0;
    switch (req->kind) {
    case AZK_PKI_ROOT:
        rc = add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_key_usage, ca_usage);
        break;
    case AZK_PKI_INTERMEDIATE: {
        char bc[64];
        if (req->path_len < 0)
            snprintf(bc, sizeof(bc), "critical,CA:TRUE");
        else
            snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", req->path_len);
        rc = add_conf_ext(x, &ctx, NID_basic_constraints, bc);
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_key_usage, ca_usage);
        break;
    }
    case AZK_PKI_DEVICE:
    case AZK_PKI_SELF_SIGNED:
        rc = add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_key_usage, leaf_usage);
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_ext_key_usage, "clientAuth");
        break;
    case AZK_PKI_VERIFICATION:
        rc = add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
        break;
    case AZK_PKI_SERVER:
        rc = add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_key_usage, leaf_usage);
        if (rc == 0)
            rc = add_conf_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
        if (rc == 0)
            rc = azki_pki_san_add(x, req);
        break;
    }
    if (rc == 0)
        rc = add_ski(x);
    if (rc == 0 && req->kind != AZK_PKI_ROOT)
        rc = add_aki(x, issuer);
    return rc;
}

int azki_pki_build(const struct azk_pki_request *req, EVP_PKEY *key,
                  const struct azki_pki_issuer *iss, time_t nb, time_t na, X509 **out,
                  struct azk_diag *d)
{
    *out = NULL;
    X509 *x = X509_new();
    if (x == NULL)
        return -ENOMEM;
    X509 *issuer = iss != NULL ? iss->cert : x;
    EVP_PKEY *signer = iss != NULL ? iss->key : key;
    int rc = -EIO;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) != 0 ||
        X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)req->common_name, -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 ||
        set_times(x, nb, na) != 0 || X509_set_pubkey(x, key) != 1)
        goto fail;
    if (add_extensions(req, x, issuer, key) != 0)
        goto fail;
    if (X509_sign(x, signer, EVP_sha256()) <= 0)
        goto fail;
    ERR_clear_error();
    *out = x;
    return 0;
fail:
    ERR_clear_error();
    X509_free(x);
    azk_diag_add(d, AZK_SEV_ERROR, "pki.build-failed",
                 "This is a bug or a broken OpenSSL installation; please report it.",
                 "could not build the %s '%s'", azki_pki_kind_name(req->kind),
                 req->common_name);
    return rc;
}

/* Certificate summaries and small X.509 helpers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/ossl.h"

void azki_hex_upper(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void azki_asn1_time_iso(const ASN1_TIME *t, char out[21])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, 21, "invalid");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, 20);
    out[20] = '\0';
}

void azki_x509_name_cn(const X509_NAME *name, char *out, size_t len)
{
    out[0] = '\0';
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0)
        return;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0)
        return;
    snprintf(out, len, "%.*s", n, (const char *)utf8);
    OPENSSL_free(utf8);
}

static void name_oneline(const X509_NAME *name, char *out, size_t len)
{
    out[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    snprintf(out, len, "%.*s", (int)n, p);
    BIO_free(b);
}

void azki_pkey_describe(const EVP_PKEY *k, char *out, size_t len)
{
    int id = EVP_PKEY_get_base_id(k);
    if (id == EVP_PKEY_EC) {
        char group[64] = "";
        size_t glen = 0;
        EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen);
        const char *nice = strcmp(group, "prime256v1") == 0   ? "P-256"
                           : strcmp(group, "secp384r1") == 0 ? "P-384"
                           : strcmp(group, "secp521r1") == 0 ? "P-521"
                                                             : group;
        snprintf(out, len, "EC %s", nice);
    } else if (id == EVP_PKEY_RSA) {
        snprintf(out, len, "RSA %d", EVP_PKEY_get_bits(k));
    } else if (id == EVP_PKEY_ED25519) {
        snprintf(out, len, "Ed25519");
    } else {
        snprintf(out, len, "%s", OBJ_nid2sn(id));
    }
}

bool azki_x509_is_ca(X509 *x)
{
    return X509_check_ca(x) != 0 && (X509_get_extension_flags(x) & EXFLAG_CA);
}

bool azki_x509_self_signed(X509 *x)
{
    return X509_self_signed(x, 1) == 1;
}

int azki_x509_validity(X509 *x)
{
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        return -1;
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        return 1;
    return 0;
}

void azki_x509_summarize(X509 *x, struct azk_cert_summary *s)
{
    memset(s, 0, sizeof(*s));
    name_oneline(X509_get_subject_name(x), s->subject, sizeof(s->subject));
    name_oneline(X509_get_issuer_name(x), s->issuer, sizeof(s->issuer));
    azki_x509_name_cn(X509_get_subject_name(x), s->subject_cn, sizeof(s->subject_cn));
    azki_x509_name_cn(X509_get_issuer_name(x), s->issuer_cn, sizeof(s->issuer_cn));
    azki_asn1_time_iso(X509_get0_notBefore(x), s->not_before);
    azki_asn1_time_iso(X509_get0_notAfter(x), s->not_after);
    EVP_PKEY *k = X509_get0_pubkey(x);
    if (k != NULL)
        azki_pkey_describe(k, s->key_type, sizeof(s->key_type));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn != NULL) {
        char *h = BN_bn2hex(bn);
        if (h != NULL)
            snprintf(s->serial, sizeof(s->serial), "%s", h);
        OPENSSL_free(h);
        BN_free(bn);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(x, EVP_sha1(), md, &mdlen) == 1)
        azki_hex_upper(md, mdlen, s->sha1);
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
        azki_hex_upper(md, mdlen, s->sha256);
    s->is_ca = azki_x509_is_ca(x);
    long pl = X509_get_pathlen(x);
    s->path_len = pl >= 0 && pl < 1000 ? (int)pl : -1;
    s->self_signed = azki_x509_self_signed(x);
    uint32_t xku = X509_get_extended_key_usage(x);
    s->has_eku = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) != 0;
    s->client_auth = !s->has_eku || (xku & XKU_SSL_CLIENT);
    s->validity = azki_x509_validity(x);
    ERR_clear_error();
}

AZK_API int azk_x509_summarize_pem(const char *pem, size_t len, struct azk_cert_summary *out,
                                   size_t max, size_t *count, struct azk_diag *diag)
{
    STACK_OF(X509) *sk;
    *count = 0;
    int rc = azki_load_certs(pem, len, &sk, diag);
    if (rc != 0)
        return rc;
    int n = sk_X509_num(sk);
    for (int i = 0; i < n && (size_t)i < max; i++)
        azki_x509_summarize(sk_X509_value(sk, i), &out[i]);
    *count = (size_t)n;
    sk_X509_pop_free(sk, X509_free);
    return 0;
}

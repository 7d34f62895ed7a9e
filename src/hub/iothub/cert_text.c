/* Certificates as Azure's service APIs take them: PEM, base64(PEM), base64(DER) -> PEM. */
#include "hub/iothub/cert_text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static const char pem_begin[] = "-----BEGIN ";

/* Standard base64 with whitespace allowed anywhere; NULL when `text` is not that. */
static unsigned char *base64_decode(const char *text, size_t *out_len)
{
    size_t n = strlen(text);
    char *clean = malloc(n + 1);
    unsigned char *out = malloc(n / 4 * 3 + 4);
    size_t k = 0;
    bool ok = clean != NULL && out != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        char c = text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '/' || c == '=';
        clean[k++] = c;
    }
    if (!ok || k == 0 || k % 4 != 0) {
        free(clean);
        free(out);
        return NULL;
    }
    int m = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)k);
    if (m < 0) {
        free(clean);
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    size_t len = (size_t)m;
    if (clean[k - 1] == '=')
        len--;
    if (clean[k - 2] == '=')
        len--;
    free(clean);
    *out_len = len;
    return out;
}

/* PEM of one DER certificate, or NULL. */
static char *der_to_pem(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        return NULL;
    }
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(b, &data);
        pem = n > 0 ? strndup(data, (size_t)n) : NULL;
    }
    BIO_free(b);
    X509_free(x);
    return pem;
}

int hub_cert_text_to_pem(const char *text, char **pem_out, char *why, size_t why_size)
{
    *pem_out = NULL;
    if (text != NULL && strstr(text, pem_begin) != NULL) {
        *pem_out = strdup(text);
        return *pem_out ? 0 : -ENOMEM;
    }
    size_t len = 0;
    unsigned char *raw = text != NULL ? base64_decode(text, &len) : NULL;
    if (raw != NULL) {
        size_t at = 0;
        while (at < len && (raw[at] == ' ' || raw[at] == '\n' || raw[at] == '\r'))
            at++;
        if (len - at >= sizeof(pem_begin) - 1 &&
            memcmp(raw + at, pem_begin, sizeof(pem_begin) - 1) == 0)
            *pem_out = strndup((const char *)raw, len);
        else
            *pem_out = der_to_pem(raw, len);
        free(raw);
        if (*pem_out != NULL)
            return 0;
    }
    if (why != NULL)
        snprintf(why, why_size, "not a certificate: give PEM text, the base64 of the PEM text, "
                 "or the base64 of the DER");
    return -EINVAL;
}

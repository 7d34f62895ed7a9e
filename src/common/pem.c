/* PEM splitting with precise errors. OpenSSL does the base64; we keep block order and labels
 * so callers can say "block 2 is a PRIVATE KEY, not a CERTIFICATE". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/ossl.h"

static bool text_outside_blocks(const char *text, size_t len)
{
    bool inside = false;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        const char *line = text + i;
        size_t n = e - i;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        if (n >= 11 && memcmp(line, "-----BEGIN ", 11) == 0)
            inside = true;
        else if (n >= 9 && memcmp(line, "-----END ", 9) == 0)
            inside = false;
        else if (!inside && n > 0)
            return true;
        i = e + 1;
    }
    return false;
}

void azki_pem_free(struct azki_pem_block *blocks, size_t count)
{
    if (blocks == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        OPENSSL_clear_free(blocks[i].der, (size_t)blocks[i].der_len);
    free(blocks);
}

int azki_pem_parse(const char *text, size_t len, struct azki_pem_block **blocks, size_t *count,
                  bool *outside_text, struct azk_diag *d)
{
    *blocks = NULL;
    *count = 0;
    if (outside_text)
        *outside_text = text_outside_blocks(text, len);
    if (len > (size_t)INT32_MAX)
        return -EBADMSG;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    if (bio == NULL)
        return -ENOMEM;
    struct azki_pem_block *arr = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        ERR_clear_error();
        if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                break;
            }
            ERR_clear_error();
            azk_diag_add(d, AZK_SEV_ERROR, "pem.damaged",
                         "Copy the file again without editing it; every PEM block needs its "
                         "-----BEGIN and -----END lines and an intact base64 body.",
                         "PEM block %zu is damaged: its base64 body or END line is broken",
                         n + 1);
            rc = -EBADMSG;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct azki_pem_block *na = realloc(arr, ncap * sizeof(*na));
            if (na == NULL) {
                OPENSSL_free(name);
                OPENSSL_free(header);
                OPENSSL_clear_free(data, (size_t)dlen);
                rc = -ENOMEM;
                break;
            }
            arr = na;
            cap = ncap;
        }
        struct azki_pem_block *b = &arr[n++];
        memset(b, 0, sizeof(*b));
        strncpy(b->label, name, sizeof(b->label) - 1);
        b->has_headers = header != NULL && header[0] != '\0';
        b->der = data;
        b->der_len = dlen;
        OPENSSL_free(name);
        OPENSSL_free(header);
    }
    BIO_free(bio);
    if (rc != 0) {
        azki_pem_free(arr, n);
        return rc;
    }
    *blocks = arr;
    *count = n;
    return 0;
}

int azki_load_certs(const char *pem, size_t len, STACK_OF(X509) **out, struct azk_diag *d)
{
    struct azki_pem_block *blocks;
    size_t count;
    *out = NULL;
    int rc = azki_pem_parse(pem, len, &blocks, &count, NULL, d);
    if (rc != 0)
        return rc;
    if (count == 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "pem.no-certificate",
                     "Give a PEM file (text starting with -----BEGIN CERTIFICATE-----). A DER "
                     "file converts with: openssl x509 -inform der -in FILE -out FILE.pem",
                     "no PEM certificate found");
        return -EBADMSG;
    }
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (sk == NULL) {
        azki_pem_free(blocks, count);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (strcmp(blocks[i].label, "CERTIFICATE") != 0) {
            bool key = strstr(blocks[i].label, "PRIVATE KEY") != NULL;
            azk_diag_add(d, AZK_SEV_ERROR, "pem.not-certificate",
                         key ? "Private keys go in credential type 2 (key), never with "
                               "certificates."
                             : "Keep only -----BEGIN CERTIFICATE----- blocks in this file.",
                         "PEM block %zu is a %s, not a CERTIFICATE", i + 1, blocks[i].label);
            rc = -EBADMSG;
            break;
        }
        const unsigned char *p = blocks[i].der;
        X509 *x = d2i_X509(NULL, &p, blocks[i].der_len);
        if (x == NULL || p != blocks[i].der + blocks[i].der_len) {
            X509_free(x);
            azk_diag_add(d, AZK_SEV_ERROR, "pem.bad-certificate",
                         "The block is PEM but not a valid X.509 certificate; regenerate or "
                         "re-download it.",
                         "certificate %zu does not parse as X.509", i + 1);
            rc = -EBADMSG;
            break;
        }
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            rc = -ENOMEM;
        }
    }
    azki_pem_free(blocks, count);
    ERR_clear_error();
    if (rc != 0) {
        sk_X509_pop_free(sk, X509_free);
        return rc;
    }
    *out = sk;
    return 0;
}

/* Internal OpenSSL helpers shared by cred, pki, the doctor and the hub. */
#ifndef AZK_COMMON_OSSL_H
#define AZK_COMMON_OSSL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azkit/diag.h"
#include "azkit/x509.h"

/* One PEM block: its label ("CERTIFICATE", "PRIVATE KEY", ...) and decoded body. */
struct azki_pem_block {
    char label[64];
    unsigned char *der;
    long der_len;
    bool has_headers; /* "Proc-Type: 4,ENCRYPTED" and the like */
};

/* Splits PEM text into blocks. `outside_text` (optional) is set when non-blank text appears
 * outside BEGIN/END lines. Returns 0, -EBADMSG (damaged block; the finding says which) or
 * -ENOMEM. Zero blocks is not an error here. */
int azki_pem_parse(const char *text, size_t len, struct azki_pem_block **blocks, size_t *count,
                  bool *outside_text, struct azk_diag *d);
void azki_pem_free(struct azki_pem_block *blocks, size_t count);

/* Parses every CERTIFICATE block; any other block is an error naming its label. Returns 0 with
 * a stack of at least one certificate, or -EBADMSG / -ENOMEM. */
int azki_load_certs(const char *pem, size_t len, STACK_OF(X509) **out, struct azk_diag *d);

/* Fills a summary of one certificate. */
void azki_x509_summarize(X509 *x, struct azk_cert_summary *s);

/* "YYYY-MM-DDTHH:MM:SSZ" */
void azki_asn1_time_iso(const ASN1_TIME *t, char out[21]);

/* Subject/issuer CN, "" when absent. */
void azki_x509_name_cn(const X509_NAME *name, char *out, size_t len);

/* Uppercase hex of `n` bytes into `out` (2n+1 bytes). */
void azki_hex_upper(const unsigned char *b, size_t n, char *out);

/* "EC P-256", "RSA 2048", ... */
void azki_pkey_describe(const EVP_PKEY *k, char *out, size_t len);

/* Leaf (non-CA, or CA:FALSE) test used by the type-misuse warnings. */
bool azki_x509_is_ca(X509 *x);
bool azki_x509_self_signed(X509 *x);

/* 0 valid now, -1 not yet valid, 1 expired. */
int azki_x509_validity(X509 *x);

#endif

/* Internal interface between the pieces of the test PKI. */
#ifndef AZK_PKI_INTERNAL_H
#define AZK_PKI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azkit/pki.h"

/* The CA that signs a new certificate. */
struct azki_pki_issuer {
    X509 *cert;            /* the issuing CA */
    EVP_PKEY *key;         /* its private key */
    STACK_OF(X509) *chain; /* what goes after the new certificate in its chain file: the issuer
                              (unless self-signed) and its intermediates, never a root */
};

/* Reads every certificate of a PEM file (pki_certfile.c). -ENOENT with finding `missing_code`
 * naming `what` and the path; -EBADMSG (findings say which block) ; -EACCES, -EIO. */
int azki_pki_read_certs(const char *path, const char *what, const char *missing_code,
                       STACK_OF(X509) **out, struct azk_diag *d);

/* Verification failures in words (pki_explain.c): one finding for error `err` (an
 * X509_V_ERR_*) reported at `depth` on `cert`. */
void azki_pki_explain(int err, int depth, X509 *cert, struct azk_diag *d);

/* Keys (pki_keys.c). */
int azki_pki_key_generate(enum azk_key_alg alg, EVP_PKEY **out);
/* Loads an unencrypted PEM private key; -ENOENT, -EBADMSG (finding says why). */
int azki_pki_key_load(const char *path, const char *what, EVP_PKEY **out, struct azk_diag *d);
/* PKCS#8 PEM of a private key; free with OPENSSL_clear_free(*pem, *len). */
int azki_pki_key_pem(EVP_PKEY *k, char **pem, size_t *len);

/* Certificate signing requests (pki_csr.c): reads `path` (PEM), verifies its self-signature
 * and takes its public key and CN. -ENOENT, -EBADMSG (finding "pki.csr-unreadable",
 * "pki.csr-bad-signature" or "pki.csr-no-cn"), -ENOMEM. */
int azki_pki_csr_load(const char *path, EVP_PKEY **pub, char *cn, size_t cn_size,
                     struct azk_diag *d);

/* Issuer (pki_issuer.c): loads and checks req->issuer_cert/key/chain. */
int azki_pki_issuer_load(const struct azk_pki_request *req, struct azki_pki_issuer *iss,
                        struct azk_diag *d);
void azki_pki_issuer_free(struct azki_pki_issuer *iss);

/* Validity (pki_time.c). Parses "YYYY-MM-DDTHH:MM:SSZ" strictly; -EINVAL otherwise. */
int azki_pki_time_parse(const char *s, time_t *out);
/* Works out notBefore/notAfter for a request; -EINVAL (with a finding) for bad dates. */
int azki_pki_validity(const struct azk_pki_request *req, time_t now, time_t *nb, time_t *na,
                     struct azk_diag *d);

/* Certificate construction (pki_build.c). `iss` is NULL for self-signed kinds. */
int azki_pki_build(const struct azk_pki_request *req, EVP_PKEY *key,
                  const struct azki_pki_issuer *iss, time_t nb, time_t na, X509 **out,
                  struct azk_diag *d);

/* Output files (pki_output.c). */
struct azki_pki_outputs {
    char cert[512];
    char key[512];
    char chain[512]; /* "" when no chain file */
};
/* Plans the names; no key file (o->key "") when the request has a CSR. */
int azki_pki_outputs_plan(const struct azk_pki_request *req, struct azki_pki_outputs *o,
                         struct azk_diag *d);
/* Writes the planned files; the key only when o->key is set. */
int azki_pki_outputs_write(const struct azk_pki_request *req, const struct azki_pki_outputs *o,
                          X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain,
                          struct azk_diag *d);

/* subjectAltName of server certificates (pki_san.c): checks req->san (-EINVAL with a
 * finding; entries on other kinds are refused), and adds the extension to `x`. */
int azki_pki_san_check(const struct azk_pki_request *req, struct azk_diag *d);
int azki_pki_san_add(X509 *x, const struct azk_pki_request *req);

/* Human name of a kind: "root CA", "device certificate", ... */
const char *azki_pki_kind_name(enum azk_pki_kind kind);

#endif

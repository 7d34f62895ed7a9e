/* Internal parts of the credential store shared by its source files. */
#ifndef AZK_CRED_INTERNAL_H
#define AZK_CRED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azkit/cred.h"
#include "azkit/cred_backend.h"
#include "common/root_migration.h"

struct azk_credstore {
    const struct azk_cred_backend_ops *ops;
    void *ctx;
    char *description;
};

/* ---- canonical.c ---- */

/* Content in canonical form (heap) and what had to change to get there. */
struct azki_canon {
    char *data;
    size_t len;
    bool had_crlf;         /* CRLF or lone CR line endings converted to LF */
    bool had_trailing_nul; /* trailing NUL byte(s) removed: the sizeof() mistake */
};

/* Canonicalises `buf`: trailing NULs dropped, CRLF/CR -> LF, trailing whitespace removed.
 * Returns 0; -EBADMSG for a NUL inside the content (binary data such as DER); -EINVAL when
 * nothing is left; -ENOMEM. Findings explain errors; warnings are left to the caller. */
int azki_canonicalize(const void *buf, size_t len, struct azki_canon *out, struct azk_diag *d);
void azki_canon_free(struct azki_canon *c);

/* ---- validate.c ---- */

/* Result of validating canonical content for a type. */
struct azki_validated {
    STACK_OF(X509) *certs; /* types 0 and 1 */
    EVP_PKEY *key;         /* type 2 */
    char *replacement;     /* type 2 decrypted with a passphrase: the PKCS#8 PEM to store */
    size_t replacement_len;
};

/* Validates canonical content. Errors (nothing may be written) and content warnings (type
 * misuse, expiry, retired roots, outside text) go to `d`. Returns 0, -EBADMSG, -EKEYREJECTED
 * or -ENOMEM. */
int azki_validate(int type, const char *content, size_t len, const char *passphrase,
                 struct azki_validated *v, struct azk_diag *d);
void azki_validated_free(struct azki_validated *v);

/* Warnings about certificates, shared by write and describe. */
void azki_check_certs(int type, STACK_OF(X509) *certs, struct azk_diag *d);
/* Warning when content of `len` bytes would not fit one AT%CMNG write. */
void azki_check_size(azk_sec_tag_t tag, int type, size_t len, struct azk_diag *d);

/* ---- checks across credentials (store.c) ---- */

/* Warns when the key and the leaf certificate of `tag` do not belong together. `cert` and
 * `key` may be NULL, in which case they are loaded from the store. */
void azki_check_key_matches(struct azk_credstore *s, azk_sec_tag_t tag, X509 *cert,
                           EVP_PKEY *key, struct azk_diag *d);

/* Whether the tag's key (or its remembered public key) belongs to `cert`, and whether `key`
 * belongs to the tag's certificate: an enum azk_key_match. */
int azki_cert_match(struct azk_credstore *s, azk_sec_tag_t tag, X509 *cert);
int azki_key_match(struct azk_credstore *s, azk_sec_tag_t tag, EVP_PKEY *key);

/* Reads any credential, keys included, into a heap buffer (cleansed and freed with
 * azki_secure_free). Internal only: never hand the result of a type-2 read to a caller. */
int azki_store_read_alloc(struct azk_credstore *s, azk_sec_tag_t tag, int type, char **out,
                         size_t *len);
void azki_secure_free(char *buf, size_t len);

/* A certificate credential (type 0 or 1) as a stack (free with sk_X509_pop_free). Returns 0,
 * the read's error (-ENOENT when absent), or -EBADMSG when it does not parse (`d` says why). */
int azki_store_load_certs(struct azk_credstore *s, azk_sec_tag_t tag, int type,
                         STACK_OF(X509) **out, struct azk_diag *d);

/* ---- pubkey_memory.c: public keys of keys the store does not release ---- */

/* Files the public key `pub` under the digest of its private key in the store. 0 or -errno. */
int azki_pubkey_remember(const uint8_t digest[AZK_CRED_DIGEST_SIZE], EVP_PKEY *pub);
/* The public key filed under `digest`: 0, -ENODATA (none), -EBADMSG. */
int azki_pubkey_recall(const uint8_t digest[AZK_CRED_DIGEST_SIZE], EVP_PKEY **out);
/* The public key of the private key in `tag` (a public-only EVP_PKEY): from the key when the
 * store releases it, else remembered. 0; -ENOENT (no key); -ENODATA (not remembered);
 * -EBADMSG; -ENOMEM. */
int azki_tag_public_key(struct azk_credstore *s, azk_sec_tag_t tag, EVP_PKEY **out);

/* Tag and type checks shared by every front operation. */
int azki_check_tag_type(azk_sec_tag_t tag, int type, struct azk_diag *d);

#endif

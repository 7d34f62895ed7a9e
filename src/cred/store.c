/* The store front: everything that is the same for every backend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/ossl.h"
#include "cred/internal.h"
#include "cred/key_loader.h"

AZK_API int azk_credstore_open_backend(const struct azk_cred_backend_ops *ops, void *ctx,
                                       const char *description, struct azk_credstore **out)
{
    if (ops == NULL || ops->write == NULL || ops->read == NULL || ops->remove == NULL ||
        ops->list == NULL || out == NULL)
        return -EINVAL;
    struct azk_credstore *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->ops = ops;
    s->ctx = ctx;
    s->description = strdup(description ? description : ops->name);
    if (s->description == NULL) {
        free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

AZK_API void azk_credstore_close(struct azk_credstore *store)
{
    if (store == NULL)
        return;
    if (store->ops->close)
        store->ops->close(store->ctx);
    free(store->description);
    free(store);
}

AZK_API const char *azk_credstore_describe(const struct azk_credstore *store)
{
    return store->description;
}

AZK_API const char *azk_credstore_why(const struct azk_credstore *store)
{
    return store->ops->why ? store->ops->why(store->ctx) : NULL;
}

AZK_API const char *azk_credstore_firmware(const struct azk_credstore *store)
{
    return store->ops->firmware ? store->ops->firmware(store->ctx) : NULL;
}

int azki_check_tag_type(azk_sec_tag_t tag, int type, struct azk_diag *d)
{
    if (tag > AZK_SEC_TAG_MAX) {
        azk_diag_add(d, AZK_SEV_ERROR, "cred.reserved-sec-tag",
                     "Use a tag from 0 to 2147483647; larger tags are reserved by the modem.",
                     "security tag %u is reserved by the modem", (unsigned)tag);
        return -ERANGE;
    }
    if (type < 0 || type >= AZK_CRED_TYPE_COUNT) {
        azk_diag_add(d, AZK_SEV_ERROR, "cred.bad-type",
                     "Types: 0 ca, 1 cert, 2 key, 3 psk, 4 identity.",
                     "credential type %d is not one azkit stores", type);
        return -EINVAL;
    }
    return 0;
}

void azki_secure_free(char *buf, size_t len)
{
    if (buf != NULL)
        OPENSSL_clear_free(buf, len + 1);
}

int azki_store_read_alloc(struct azk_credstore *s, azk_sec_tag_t tag, int type, char **out,
                         size_t *len)
{
    size_t cap = 8192;
    for (int attempt = 0; attempt < 4; attempt++) {
        char *buf = OPENSSL_malloc(cap + 1);
        if (buf == NULL)
            return -ENOMEM;
        size_t n = cap;
        int rc = s->ops->read(s->ctx, tag, type, buf, &n);
        if (rc == 0) {
            buf[n] = '\0';
            *out = buf;
            *len = n;
            return 0;
        }
        OPENSSL_clear_free(buf, cap + 1);
        if (rc != -ENOMEM)
            return rc;
        cap = n; /* size needed; it may grow again under a concurrent writer */
    }
    return -EIO;
}

int azki_cred_load_private_key(struct azk_credstore *store, azk_sec_tag_t tag, EVP_PKEY **out)
{
    char *buf;
    size_t len;
    int rc = azki_store_read_alloc(store, tag, AZK_CRED_PRIVATE_KEY, &buf, &len);
    if (rc != 0)
        return rc;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL) {
        azki_secure_free(buf, len);
        return -ENOMEM;
    }
    *out = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    azki_secure_free(buf, len);
    ERR_clear_error();
    return *out != NULL ? 0 : -EBADMSG;
}

int azki_store_load_certs(struct azk_credstore *s, azk_sec_tag_t tag, int type,
                         STACK_OF(X509) **out, struct azk_diag *d)
{
    char *buf;
    size_t len;
    *out = NULL;
    int rc = azki_store_read_alloc(s, tag, type, &buf, &len);
    if (rc != 0)
        return rc;
    rc = azki_load_certs(buf, len, out, d);
    azki_secure_free(buf, len);
    return rc;
}

static X509 *load_leaf(struct azk_credstore *s, azk_sec_tag_t tag)
{
    STACK_OF(X509) *sk = NULL;
    X509 *leaf = NULL;
    if (azki_store_load_certs(s, tag, AZK_CRED_CLIENT_CERT, &sk, NULL) == 0) {
        leaf = sk_X509_shift(sk);
        sk_X509_pop_free(sk, X509_free);
    }
    return leaf;
}

int azki_cert_match(struct azk_credstore *s, azk_sec_tag_t tag, X509 *cert)
{
    EVP_PKEY *pub = NULL;
    int rc = azki_tag_public_key(s, tag, &pub);
    int m = rc == -ENOENT ? AZK_KEY_MATCH_NO_KEY
            : rc != 0     ? AZK_KEY_MATCH_UNKNOWN
            : EVP_PKEY_eq(X509_get0_pubkey(cert), pub) == 1 ? AZK_KEY_MATCH_YES
                                                            : AZK_KEY_MATCH_NO;
    EVP_PKEY_free(pub);
    ERR_clear_error();
    return m;
}

int azki_key_match(struct azk_credstore *s, azk_sec_tag_t tag, EVP_PKEY *key)
{
    X509 *cert = load_leaf(s, tag);
    int m = cert == NULL ? AZK_KEY_MATCH_NO_CERT
            : EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1 ? AZK_KEY_MATCH_YES
                                                            : AZK_KEY_MATCH_NO;
    X509_free(cert);
    ERR_clear_error();
    return m;
}

void azki_check_key_matches(struct azk_credstore *s, azk_sec_tag_t tag, X509 *cert,
                           EVP_PKEY *key, struct azk_diag *d)
{
    X509 *own_cert = NULL;
    EVP_PKEY *own_key = NULL;
    if (cert == NULL)
        cert = own_cert = load_leaf(s, tag);
    /* The key, or for a store that does not release it its remembered public half
     * (cred_keygen.h): either way only the public key is compared. */
    if (key == NULL && cert != NULL && azki_tag_public_key(s, tag, &own_key) == 0)
        key = own_key;
    if (cert != NULL && key != NULL) {
        EVP_PKEY *pub = X509_get0_pubkey(cert);
        if (pub == NULL || EVP_PKEY_eq(pub, key) != 1) {
            char cn[128];
            azki_x509_name_cn(X509_get_subject_name(cert), cn, sizeof(cn));
            azk_diag_add(d, AZK_SEV_WARNING, "cred.key-mismatch",
                         "Write the key that was generated with this certificate (the pair "
                         "from the same 'azkit pki device' run), or the certificate issued for "
                         "this key. TLS client authentication fails with a mismatched pair.",
                         "the private key in sec_tag %u does not belong to its client "
                         "certificate ('%s')", (unsigned)tag, cn);
        }
    }
    ERR_clear_error();
    X509_free(own_cert);
    EVP_PKEY_free(own_key);
}

AZK_API int azk_cred_write_ex(struct azk_credstore *store, azk_sec_tag_t tag,
                              enum azk_cred_type type, const void *buf, size_t len,
                              const struct azk_cred_write_opts *opts, struct azk_diag *diag)
{
    int rc = azki_check_tag_type(tag, (int)type, diag);
    if (rc != 0)
        return rc;
    if (buf == NULL) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.empty", NULL, "no content given");
        return -EINVAL;
    }
    struct azki_canon canon;
    rc = azki_canonicalize(buf, len, &canon, diag);
    if (rc != 0)
        return rc;
    if (canon.had_trailing_nul)
        azk_diag_add(diag, AZK_SEV_WARNING, "cred.nul-normalised",
                     "Pass strlen(pem), not sizeof(pem), as the length; with sizeof() "
                     "modem_key_mgmt_cmp() never matches and the credential is rewritten on "
                     "every boot.",
                     "the content ended with a NUL byte (the sizeof() mistake); it was removed");
    if (canon.had_crlf)
        azk_diag_add(diag, AZK_SEV_WARNING, "cred.crlf-normalised",
                     "Save PEM files with LF line endings; some modem firmware refuses CRLF "
                     "(CME ERROR 527) and the digest differs.",
                     "CRLF line endings were converted to LF");

    if (opts != NULL && opts->passphrase != NULL && type != AZK_CRED_PRIVATE_KEY)
        azk_diag_add(diag, AZK_SEV_WARNING, "cred.passphrase-unused", NULL,
                     "a passphrase only applies to private keys (type 2); it was ignored");
    struct azki_validated v;
    rc = azki_validate((int)type, canon.data, canon.len, opts ? opts->passphrase : NULL, &v, diag);
    if (rc != 0) {
        azki_canon_free(&canon);
        return rc;
    }
    const char *content = v.replacement ? v.replacement : canon.data;
    size_t clen = v.replacement ? v.replacement_len : canon.len;
    azki_check_size(tag, (int)type, clen, diag);
    if (type == AZK_CRED_CLIENT_CERT)
        azki_check_key_matches(store, tag, sk_X509_value(v.certs, 0), NULL, diag);
    else if (type == AZK_CRED_PRIVATE_KEY)
        azki_check_key_matches(store, tag, NULL, v.key, diag);

    rc = store->ops->write(store->ctx, tag, (int)type, content, clen);
    const char *why = rc != 0 ? azk_credstore_why(store) : NULL;
    if (rc != 0)
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.write-failed",
                     why ? why
                         : "Check that the store is writable and the disk is not full; the "
                           "previous credential, if any, is unchanged.",
                     "storing sec_tag %u type %d failed: %s", (unsigned)tag, (int)type,
                     azk_strerror(rc));
    azki_validated_free(&v);
    azki_canon_free(&canon);
    return rc;
}

AZK_API int azk_cred_write(struct azk_credstore *store, azk_sec_tag_t tag,
                           enum azk_cred_type type, const void *buf, size_t len)
{
    return azk_cred_write_ex(store, tag, type, buf, len, NULL, NULL);
}

AZK_API int azk_cred_read(struct azk_credstore *store, azk_sec_tag_t tag,
                          enum azk_cred_type type, void *buf, size_t *len)
{
    int rc = azki_check_tag_type(tag, (int)type, NULL);
    if (rc != 0)
        return rc;
    if (type == AZK_CRED_PRIVATE_KEY)
        return -EACCES; /* private keys cannot be read back, as on the modem */
    return store->ops->read(store->ctx, tag, (int)type, buf, len);
}

AZK_API int azk_cred_delete(struct azk_credstore *store, azk_sec_tag_t tag,
                            enum azk_cred_type type)
{
    int rc = azki_check_tag_type(tag, (int)type, NULL);
    return rc != 0 ? rc : store->ops->remove(store->ctx, tag, (int)type);
}

AZK_API int azk_cred_clear(struct azk_credstore *store, azk_sec_tag_t tag)
{
    int rc = azki_check_tag_type(tag, 0, NULL);
    if (rc != 0)
        return rc;
    if (store->ops->clear)
        return store->ops->clear(store->ctx, tag);
    for (int t = 0; t < AZK_CRED_TYPE_COUNT; t++) {
        int r = store->ops->remove(store->ctx, tag, t);
        if (r != 0 && r != -ENOENT)
            return r;
    }
    return 0;
}

AZK_API int azk_cred_digest(struct azk_credstore *store, azk_sec_tag_t tag,
                            enum azk_cred_type type, uint8_t out[AZK_CRED_DIGEST_SIZE])
{
    int rc = azki_check_tag_type(tag, (int)type, NULL);
    if (rc != 0)
        return rc;
    if (store->ops->digest)
        return store->ops->digest(store->ctx, tag, (int)type, out);
    char *buf;
    size_t len;
    rc = azki_store_read_alloc(store, tag, (int)type, &buf, &len);
    if (rc != 0)
        return rc;
    unsigned int mdlen = 0;
    rc = EVP_Digest(buf, len, out, &mdlen, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
    azki_secure_free(buf, len);
    return rc;
}

AZK_API int azk_cred_exists(struct azk_credstore *store, azk_sec_tag_t tag,
                            enum azk_cred_type type, bool *exists)
{
    uint8_t d[AZK_CRED_DIGEST_SIZE];
    int rc = azk_cred_digest(store, tag, type, d);
    if (rc == -ENOENT) {
        *exists = false;
        return 0;
    }
    if (rc == 0)
        *exists = true;
    return rc;
}

AZK_API int azk_cred_cmp(struct azk_credstore *store, azk_sec_tag_t tag,
                         enum azk_cred_type type, const void *buf, size_t len)
{
    uint8_t stored[AZK_CRED_DIGEST_SIZE], given[AZK_CRED_DIGEST_SIZE];
    int rc = azk_cred_digest(store, tag, type, stored);
    if (rc != 0)
        return rc;
    struct azki_canon canon;
    rc = azki_canonicalize(buf, len, &canon, NULL);
    if (rc == -EINVAL || rc == -EBADMSG)
        return 1; /* empty or binary content cannot equal a stored credential */
    if (rc != 0)
        return rc;
    unsigned int mdlen = 0;
    rc = EVP_Digest(canon.data, canon.len, given, &mdlen, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
    azki_canon_free(&canon);
    if (rc != 0)
        return rc;
    return CRYPTO_memcmp(stored, given, sizeof(stored)) == 0 ? 0 : 1;
}

AZK_API int azk_cred_list(struct azk_credstore *store, azk_cred_list_cb cb, void *user)
{
    return store->ops->list(store->ctx, cb, user);
}

AZK_API int azk_cred_describe(struct azk_credstore *store, azk_sec_tag_t tag, int type,
                              struct azk_cred_info *info, struct azk_diag *diag)
{
    memset(info, 0, sizeof(*info));
    if (type >= AZK_CRED_TYPE_COUNT && tag <= AZK_SEC_TAG_MAX) {
        /* A type the store lists but azkit does not write (a modem's 5 and up): by number,
         * with the digest the store gives, never read. */
        info->tag = tag;
        info->type = type;
        int rc = store->ops->digest ? store->ops->digest(store->ctx, tag, type, info->digest)
                                    : -ENODATA;
        if (rc == -ENODATA || rc == -EPROTO) {
            info->no_digest = true;
            rc = 0;
        }
        return rc;
    }
    int rc = azki_check_tag_type(tag, type, diag);
    if (rc != 0)
        return rc;
    info->tag = tag;
    info->type = type;
    rc = azk_cred_digest(store, tag, (enum azk_cred_type)type, info->digest);
    if (rc != 0)
        return rc;
    char *buf;
    size_t len;
    rc = azki_store_read_alloc(store, tag, type, &buf, &len);
    if (rc == -EACCES) { /* a backend that cannot release keys: the digest, and the public
                            key remembered from its CSR (cred_keygen.h) */
        EVP_PKEY *pub = NULL;
        if (type == AZK_CRED_PRIVATE_KEY && azki_tag_public_key(store, tag, &pub) == 0) {
            azki_pkey_describe(pub, info->key_type, sizeof(info->key_type));
            info->key_match = azki_key_match(store, tag, pub);
            azki_check_key_matches(store, tag, NULL, pub, diag);
        }
        EVP_PKEY_free(pub);
        ERR_clear_error();
        return 0;
    }
    if (rc != 0)
        return rc;
    info->size = len;
    azki_check_size(tag, type, len, diag);
    if (type == AZK_CRED_CA_CHAIN || type == AZK_CRED_CLIENT_CERT) {
        STACK_OF(X509) *sk = NULL;
        if (azki_load_certs(buf, len, &sk, NULL) == 0) {
            int n = sk_X509_num(sk);
            info->cert_count = (size_t)n;
            for (int i = 0; i < n && i < AZK_CRED_MAX_CERTS; i++)
                azki_x509_summarize(sk_X509_value(sk, i), &info->certs[i]);
            azki_check_certs(type, sk, diag);
            if (type == AZK_CRED_CLIENT_CERT) {
                azki_check_key_matches(store, tag, sk_X509_value(sk, 0), NULL, diag);
                info->key_match = azki_cert_match(store, tag, sk_X509_value(sk, 0));
            }
            sk_X509_pop_free(sk, X509_free);
        } else {
            azk_diag_add(diag, AZK_SEV_WARNING, "cred.stored-unparsable",
                         "Write the credential again with 'azkit cred write'.",
                         "sec_tag %u type %d no longer parses as PEM certificates",
                         (unsigned)tag, type);
        }
    } else if (type == AZK_CRED_PRIVATE_KEY) {
        EVP_PKEY *k = NULL;
        if (azki_cred_load_private_key(store, tag, &k) == 0) {
            azki_pkey_describe(k, info->key_type, sizeof(info->key_type));
            azki_check_key_matches(store, tag, NULL, k, diag);
            info->key_match = azki_key_match(store, tag, k);
        }
        EVP_PKEY_free(k);
    }
    azki_secure_free(buf, len);
    ERR_clear_error();
    return 0;
}

/**
 * @file tls_tags.h
 * @brief A TLS client context built from security tags, the way an nRF91 builds a TLS socket
 *        from its sec_tag list: every tag's CA chain (type 0) is trusted; the client
 *        certificate chain (type 1) and private key (type 2) come from one tag.
 *
 * The private key goes from the store into OpenSSL inside libazkit and never reaches the
 * caller as bytes.
 */
#ifndef AZKIT_TLS_TAGS_H
#define AZKIT_TLS_TAGS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "azkit/common.h"
#include "azkit/cred.h"
#include "azkit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AZK_TLS_TAGS_MAX 8 /**< sec tags one socket may name (the nRF91 allows 7) */

/** What the context was built from. */
struct azk_tls_tags_info {
    size_t ca_count;              /**< CA certificates trusted (all tags) */
    char ca_subjects[512];        /**< their subject CNs, "; "-separated (for explanations) */
    bool has_client;              /**< a client certificate and key are offered */
    azk_sec_tag_t client_tag;     /**< the tag they came from */
    char client_cn[128];          /**< the leaf's subject CN ("" without a client certificate) */
    char client_thumbprint[65];   /**< the leaf's SHA-256 thumbprint, uppercase hex ("" without) */
    size_t client_chain_len;      /**< certificates in the client chain (leaf included) */
};

/**
 * @brief Builds an OpenSSL client SSL_CTX (TLS 1.2 minimum, peer verification on) from tags.
 * @param store  The credential store.
 * @param tags   The socket's tags, in order (1..AZK_TLS_TAGS_MAX).
 * @param ntags  Their number.
 * @param out    Receives the context (free with SSL_CTX_free()).
 * @param info   Receives what was used (may be NULL).
 * @param diag   Findings (may be NULL): errors say what is missing and where it should be
 *               ("tls.no-ca", "tls.key-missing", "tls.key-mismatch", "tls.bad-credential").
 * @return 0; -ENOENT when no tag holds a CA certificate; -ENOKEY when a tag has a client
 *         certificate but no private key, or the key does not match it; -EACCES when the
 *         backend keeps keys to itself (a modem does TLS on its own); -EBADMSG for a
 *         credential that does not parse; -EINVAL for bad arguments; -ENOMEM.
 */
AZK_API int azk_tls_ctx_from_tags(struct azk_credstore *store, const azk_sec_tag_t *tags,
                                  size_t ntags, SSL_CTX **out, struct azk_tls_tags_info *info,
                                  struct azk_diag *diag);

#ifdef __cplusplus
}
#endif
#endif

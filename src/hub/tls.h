/* azkit-hub's TLS server context, built like Azure IoT Hub's endpoint.
 *
 * - TLS 1.2 minimum; TLS 1.3 maximum unless the configuration says 1.2 (`--tls-max 1.2`).
 * - TLS 1.2: exactly Azure's eight ECDHE suites (HUB_TLS12_CIPHERS); TLS 1.3: OpenSSL's
 *   default suites (HUB_TLS13_SUITES). No RSA key exchange, no SHA-1, no ChaCha20 in 1.2.
 * - A client certificate is requested but never required and never verified here: the
 *   CertificateRequest names no CA (empty list), SSL_VERIFY_PEER is set without
 *   FAIL_IF_NO_PEER_CERT, and the verify callback always returns 1. The handshake still proves
 *   possession of the client key (CertificateVerify); the chain is judged after CONNECT by
 *   auth.c against the registry, as Azure does.
 * - No session resumption in any form (no tickets, no session cache, TLS 1.3 sends no
 *   tickets), so every connection presents -- and has checked -- its certificate.
 * - SSL_MODE_RELEASE_BUFFERS (thousands of idle device connections).
 */
#ifndef AZK_HUB_TLS_H
#define AZK_HUB_TLS_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "azkit/diag.h"

/* Azure IoT Hub's TLS 1.2 suites (Microsoft Learn, "Transport Layer Security (TLS) support in IoT Hub"), OpenSSL names. */
#define HUB_TLS12_CIPHERS                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                             \
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:"                                     \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"                                 \
    "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384"
/* OpenSSL 3's default TLS 1.3 suites, set explicitly so openssl.cnf cannot change them. */
#define HUB_TLS13_SUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

struct hub_tls_opts {
    const char *chain_file; /* server certificate followed by its intermediates (PEM) */
    const char *key_file;   /* its private key (PEM) */
    int max_version;        /* 0 or 13: TLS 1.3; 12: TLS 1.2 only */
};

/* Builds the server SSL_CTX. Returns 0 with *out set (free with SSL_CTX_free), -EINVAL for
 * bad options, -ENOENT / -EBADMSG (with a finding naming the file) when the chain or key cannot
 * be loaded, -EKEYREJECTED when the key does not match the certificate, -ENOMEM / -EIO. */
int hub_tls_ctx_new(const struct hub_tls_opts *opts, SSL_CTX **out, struct azk_diag *d);

/* The client's chain as it sent it: `leaf` (NULL when the client sent no certificate) and
 * `intermediates` (everything after the leaf, in the order sent; never NULL after a successful
 * call). Both are new references owned by the struct. */
struct hub_peer_chain {
    X509 *leaf;
    STACK_OF(X509) *intermediates;
};

/* Fills `out` from a server-side SSL after the handshake. The intermediates are taken out of
 * the SSL's session, not copied (an idle connection then does not hold them; the session
 * keeps only the leaf), so call it once per connection: a second call finds the leaf and no
 * intermediates. Returns 0 (also when the client sent no certificate: leaf NULL), -EINVAL,
 * -ENOMEM (what was not moved yet stays in the session). */
int hub_tls_peer_chain(SSL *ssl, struct hub_peer_chain *out);

/* Frees what hub_tls_peer_chain() took (safe on a zeroed or already freed struct); call it
 * once authentication has decided. */
void hub_tls_peer_chain_free(struct hub_peer_chain *c);

#endif

/* Plain words for what went wrong while connecting (the "-111" problem): name resolution, TCP,
 * and TLS (which certificate check failed, what the device trusts, what the server sent). */
#ifndef AZK_PORT_EXPLAIN_H
#define AZK_PORT_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

void azki_explain_resolve(const char *host, const char *gai_text, char *out, size_t size);
/* `err` a negative errno of connect(). */
void azki_explain_connect(const char *host, uint16_t port, int err, char *out, size_t size);
/* After a failed SSL_connect on `ssl` to `host`; `trusted` names the CAs the device trusts. */
void azki_explain_tls(SSL *ssl, const char *host, const char *trusted, char *out, size_t size);

/* What a failed TLS handshake means for a retry, for every driver alike: -ECONNRESET when an
 * I/O error or the peer gone mid-handshake may fix itself (`io_failed`: the driver's own wait
 * failed), -ECONNABORTED for a certificate or protocol refusal, which will not. Call it right
 * after SSL_connect failed with `ssl_error` (SSL_get_error), before azki_explain_tls(). */
int azki_tls_handshake_error(SSL *ssl, int ssl_error, bool io_failed);

/* A connection lost after the handshake: `rx` bytes had come since; `rc` > 0 for an orderly
 * close, else a negative errno; `sending` when it broke on a write. Reads OpenSSL's error
 * queue (an alert) and clears it. */
void azki_explain_lost(size_t rx, int rc, bool sending, char *why, size_t size);

#endif

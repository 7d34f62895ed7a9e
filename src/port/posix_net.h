/* TCP and TLS connection set-up shared by the POSIX drivers (the device client's driver and
 * the FOTA download): deadlines, plain-words explanations of failures. Internal. */
#ifndef AZK_PORT_POSIX_NET_H
#define AZK_PORT_POSIX_NET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* Waits until fd is readable/writable (`events` of poll()) or the deadline (the
 * azk_posix_now_ms() clock); 0, -ETIMEDOUT, or a negative errno of poll(). */
int azki_wait_fd(int fd, short events, uint64_t deadline);

/* A non-blocking TCP connection to host:port before the deadline; *fd_out on 0. Failures in
 * words in `why`: -EHOSTUNREACH (the name does not resolve), a negative errno of connect(). */
int azki_tcp_connect(const char *host, uint16_t port, uint64_t deadline, int *fd_out,
                     char *why, size_t whylen);

/* TLS client handshake on fd (non-blocking) with SNI and certificate name check = host;
 * *ssl_out is set (also on failure: the caller frees it). 0; -ETIMEDOUT; -ENOMEM;
 * or azki_tls_handshake_error()'s -ECONNRESET / -ECONNABORTED, explained in `why` (`trusted`:
 * the CAs the device trusts, for the explanation; may be NULL). */
int azki_tls_connect(SSL **ssl_out, int fd, SSL_CTX *ctx, const char *host, uint64_t deadline,
                     const char *trusted, char *why, size_t whylen);

#endif

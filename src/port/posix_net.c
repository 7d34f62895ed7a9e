/* TCP and TLS connection set-up shared by the POSIX drivers (port/posix_net.h). */
#include "port/posix_net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "azkit/client_posix.h"
#include "port/explain.h"

/* Waits until fd is readable/writable or the deadline; 0, or -ETIMEDOUT. */
int azki_wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = azk_posix_now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, (int)(deadline - now));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* TCP to host:port (or opts->connect_address), non-blocking with a deadline. */
int azki_tcp_connect(const char *host, uint16_t port, uint64_t deadline, int *fd_out,
                       char *why, size_t whylen)
{
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g != 0) {
        azki_explain_resolve(host, gai_strerror(g), why, whylen);
        return -EHOSTUNREACH;
    }
    int rc = -ECONNREFUSED;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        /* MQTT writes small packets and waits for small answers: without TCP_NODELAY, Nagle's
         * algorithm holds a packet back for the peer's delayed ACK (40 ms on Linux). */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            continue;
        }
        rc = azki_wait_fd(fd, POLLOUT, deadline);
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0)
            rc = -soerr;
        if (rc == 0) {
            *fd_out = fd;
            freeaddrinfo(res);
            return 0;
        }
        close(fd);
    }
    freeaddrinfo(res);
    azki_explain_connect(host, port, rc, why, whylen);
    return rc;
}

int azki_tls_connect(SSL **ssl_out, int fd, SSL_CTX *ctx, const char *host, uint64_t deadline,
                     const char *trusted, char *why, size_t whylen)
{
    SSL *ssl = *ssl_out = SSL_new(ctx);
    if (ssl == NULL)
        return -ENOMEM;
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
    SSL_set_fd(ssl, fd);
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(ssl, r);
        int w = e == SSL_ERROR_WANT_READ    ? azki_wait_fd(fd, POLLIN, deadline)
                : e == SSL_ERROR_WANT_WRITE ? azki_wait_fd(fd, POLLOUT, deadline)
                                            : -EPROTO;
        if (w == 0)
            continue;
        if (w == -ETIMEDOUT) {
            snprintf(why, whylen, "the TLS handshake with %s did not finish in time", host);
            return w;
        }
        /* An I/O error or the peer gone mid-handshake may fix itself (-ECONNRESET: retried);
         * a certificate or protocol refusal will not (-ECONNABORTED). */
        int err = azki_tls_handshake_error(ssl, e, w != -EPROTO);
        azki_explain_tls(ssl, host, trusted, why, whylen);
        return err;
    }
}

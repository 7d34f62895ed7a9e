/* One device client on Linux: TCP + TLS + poll() around the sans-I/O core
 * (azkit/client_posix.h). Connection problems become plain words (explain_*). */
#include "azkit/client_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "port/explain.h"
#include "port/posix_net.h"
#include "port/sigpipe.h"

#define CONNECT_TIMEOUT_MS 15000u

uint64_t azk_posix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct conn {
    int fd;
    SSL *ssl;
    size_t rx;   /* bytes received since the handshake */
    bool broken; /* an I/O or TLS error: no close_notify (OpenSSL forbids SSL_shutdown) */
};

static void conn_close(struct conn *k)
{
    if (k->ssl != NULL) {
        if (!k->broken)
            SSL_shutdown(k->ssl);
        SSL_free(k->ssl);
    }
    k->broken = false;
    if (k->fd >= 0)
        close(k->fd);
    k->ssl = NULL;
    k->fd = -1;
}

static int tls_handshake(struct conn *k, SSL_CTX *ctx, struct azk_span name, uint64_t deadline,
                         const char *trusted, char *why, size_t whylen)
{
    char host[AZK_CLIENT_HOST_MAX + 1];
    snprintf(host, sizeof(host), "%.*s", (int)name.len, name.ptr);
    int rc = azki_tls_connect(&k->ssl, k->fd, ctx, host, deadline, trusted, why, whylen);
    /* One read(2) takes whatever the kernel holds (several records: a run of PUBACKs), where
     * without read-ahead OpenSSL reads each record's 5-byte header and its body apart. */
    if (rc == 0)
        SSL_set_read_ahead(k->ssl, 1);
    return rc;
}

/* Writes the client's output; 0, or a negative errno (connection broken). */
static int flush_out(struct azk_client *c, struct conn *k, uint64_t deadline)
{
    const uint8_t *data;
    size_t n;
    while ((n = azk_client_output(c, &data)) > 0) {
        ERR_clear_error();
        int w = SSL_write(k->ssl, data, (int)n);
        if (w > 0) {
            azk_client_output_consumed(c, (size_t)w);
            continue;
        }
        int e = SSL_get_error(k->ssl, w);
        int rc = e == SSL_ERROR_WANT_WRITE  ? azki_wait_fd(k->fd, POLLOUT, deadline)
                 : e == SSL_ERROR_WANT_READ ? azki_wait_fd(k->fd, POLLIN, deadline)
                                            : -EPIPE;
        if (rc != 0) {
            k->broken = true;
            return rc;
        }
    }
    return 0;
}

/* Reads what is there; 0, 1 when the peer closed, or a negative errno. */
static int read_in(struct azk_client *c, struct conn *k)
{
    uint8_t buf[16384];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(k->ssl, buf, sizeof(buf));
        if (r > 0) {
            k->rx += (size_t)r;
            if (azk_client_receive(c, buf, (size_t)r, azk_posix_now_ms()) != 0)
                return 0; /* the client failed and wants the connection closed */
            /* Nothing left in OpenSSL's buffers: poll says when the kernel has more, so no
             * read(2) is spent to learn EAGAIN. */
            if (!SSL_has_pending(k->ssl))
                return 0;
            continue;
        }
        int e = SSL_get_error(k->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN)
            return 1;
        k->broken = true;
        /* A TLS alert from the server (e.g. it refused the client certificate after a TLS 1.3
         * handshake): a refusal, not a network problem. */
        unsigned long oe = ERR_peek_error();
        if (e == SSL_ERROR_SSL && ERR_GET_LIB(oe) == ERR_LIB_SSL &&
            ERR_GET_REASON(oe) >= SSL_AD_REASON_OFFSET)
            return -ECONNABORTED;
        return e == SSL_ERROR_SYSCALL && errno != 0 ? -errno : 1;
    }
}

static int run_loop(struct azk_client *c, const struct azk_posix_opts *o, uint32_t ct);

int azk_client_run_posix(struct azk_client *c, const struct azk_posix_opts *o)
{
    if (c == NULL || o == NULL || o->tls == NULL)
        return -EINVAL;
    uint32_t ct = o->connect_timeout_ms ? o->connect_timeout_ms : CONNECT_TIMEOUT_MS;
    if (azk_client_state(c) == AZK_CLIENT_IDLE)
        azk_client_start(c, azk_posix_now_ms());
    sigset_t old_mask;
    azki_sigpipe_block(&old_mask);
    int result = run_loop(c, o, ct);
    azki_sigpipe_restore(&old_mask);
    return result;
}

static int run_loop(struct azk_client *c, const struct azk_posix_opts *o, uint32_t ct)
{
    struct conn k = {-1, NULL, 0, false};
    bool stopping = false;
    uint64_t app_wake = 0;
    char why[768];
    for (;;) {
        uint64_t now = azk_posix_now_ms();
        if (!stopping && o->stop != NULL && *o->stop) {
            stopping = true;
            azk_client_stop(c);
        }
        if (o->on_turn != NULL && !stopping && azk_client_state(c) != AZK_CLIENT_FAILED &&
            (app_wake == 0 || now >= app_wake || azk_client_state(c) == AZK_CLIENT_CONNECTED)) {
            int64_t w = o->on_turn(o->ctx, c, now);
            if (w < 0) {
                stopping = true;
                azk_client_stop(c);
            }
            app_wake = w > 0 ? (uint64_t)w : 0;
        }
        uint64_t next = azk_client_tick(c, now);
        struct azk_client_endpoint ep;
        if (k.fd < 0 && azk_client_endpoint(c, &ep)) {
            char host[AZK_CLIENT_HOST_MAX + 1];
            snprintf(host, sizeof(host), "%.*s", (int)ep.host.len, ep.host.ptr);
            uint64_t deadline = now + ct;
            why[0] = '\0';
            int rc = azki_tcp_connect(o->connect_address ? o->connect_address : host, ep.port,
                                 deadline, &k.fd, why, sizeof(why));
            if (rc == 0)
                rc = tls_handshake(&k, o->tls, ep.host, deadline, o->trusted_cas, why,
                                   sizeof(why));
            if (rc != 0) {
                k.broken = true;
                conn_close(&k);
                azk_client_transport_down(c, rc, azk_span_from_str(why), azk_posix_now_ms());
                continue;
            }
            k.rx = 0;
            azk_client_transport_up(c, azk_posix_now_ms());
        }
        if (k.fd >= 0) {
            int rc = flush_out(c, &k, azk_posix_now_ms() + ct);
            if (rc == 0 && azk_client_wants_close(c)) {
                conn_close(&k);
                azk_client_transport_down(c, 0, (struct azk_span){0}, azk_posix_now_ms());
                continue;
            }
            if (rc != 0) {
                azki_explain_lost(k.rx, rc, true, why, sizeof(why));
                conn_close(&k);
                azk_client_transport_down(c, rc, azk_span_from_str(why), azk_posix_now_ms());
                continue;
            }
        }
        enum azk_client_state st = azk_client_state(c);
        if (k.fd < 0 && (st == AZK_CLIENT_FAILED || st == AZK_CLIENT_STOPPED))
            return st == AZK_CLIENT_FAILED ? azk_client_last_error(c) : 0;
        /* Sleep until input, a client timer, the application's wake, or 1 s. */
        now = azk_posix_now_ms();
        uint64_t until = now + 1000;
        if (next != 0 && next < until)
            until = next;
        if (app_wake != 0 && app_wake < until)
            until = app_wake;
        int timeout = until > now ? (int)(until - now) : 0;
        /* Records read ahead but not yet decrypted are in OpenSSL, not in the kernel: poll
         * would not see them. */
        if (k.fd >= 0 && SSL_has_pending(k.ssl))
            timeout = 0;
        struct pollfd p = {k.fd, POLLIN, 0};
        int n = poll(&p, k.fd >= 0 ? 1 : 0, timeout);
        if (n < 0 && errno != EINTR) {
            int e = -errno;
            k.broken = true;
            conn_close(&k);
            return e;
        }
        if (k.fd >= 0 && (n > 0 || SSL_has_pending(k.ssl))) {
            int rc = read_in(c, &k);
            if (rc != 0) {
                azki_explain_lost(k.rx, rc, false, why, sizeof(why));
                conn_close(&k);
                azk_client_transport_down(c, rc > 0 ? -ECONNRESET : rc, azk_span_from_str(why),
                                          azk_posix_now_ms());
            }
        }
    }
}

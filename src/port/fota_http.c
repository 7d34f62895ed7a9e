/* HTTPS range requests for FOTA downloads (azkit/fota_posix.h): one keep-alive connection,
 * TLS trust from the caller's context (a security tag's CA), SNI = the image host. */
#include "azkit/fota_posix.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "azkit/client_posix.h"
#include "port/posix_net.h"

#define HEAD_MAX 8192

void azk_fota_http_init(struct azk_fota_http *h, SSL_CTX *ctx, const char *connect_address)
{
    memset(h, 0, sizeof(*h));
    h->ctx = ctx;
    h->connect_address = connect_address;
    h->_internal.fd = -1;
}

static void drop(struct azk_fota_http *h, bool clean)
{
    if (h->_internal.ssl) {
        if (clean)
            SSL_shutdown(h->_internal.ssl);
        SSL_free(h->_internal.ssl);
    }
    if (h->_internal.fd >= 0)
        close(h->_internal.fd);
    h->_internal.ssl = NULL;
    h->_internal.fd = -1;
    h->_internal.host[0] = '\0';
}

void azk_fota_http_close(struct azk_fota_http *h)
{
    drop(h, true);
}

/* host[:port] into a name and a port. */
static int split_host(const char *host, char *name, size_t size, uint16_t *port)
{
    const char *colon = strrchr(host, ':');
    size_t n = colon ? (size_t)(colon - host) : strlen(host);
    *port = 443;
    if (n == 0 || n >= size)
        return -EINVAL;
    if (colon) {
        char *e;
        unsigned long p = strtoul(colon + 1, &e, 10);
        if (*e || p == 0 || p > 65535)
            return -EINVAL;
        *port = (uint16_t)p;
    }
    memcpy(name, host, n);
    name[n] = '\0';
    return 0;
}

static int open_conn(struct azk_fota_http *h, const char *host, uint64_t deadline, char *why,
                     size_t whylen)
{
    char name[AZK_FOTA_HOST_SIZE];
    uint16_t port;
    if (h->_internal.ssl && strcmp(h->_internal.host, host) == 0)
        return 0;
    drop(h, true);
    if (split_host(host, name, sizeof(name), &port) < 0) {
        snprintf(why, whylen, "fwLocation.host \"%s\" is not host[:port]", host);
        return -EBADMSG;
    }
    int rc = azki_tcp_connect(h->connect_address ? h->connect_address : name, port, deadline,
                              &h->_internal.fd, why, whylen);
    if (rc == 0)
        rc = azki_tls_connect(&h->_internal.ssl, h->_internal.fd, h->ctx, name, deadline,
                              h->trusted, why, whylen);
    if (rc < 0) {
        drop(h, false);
        return rc;
    }
    snprintf(h->_internal.host, sizeof(h->_internal.host), "%s", host);
    return 0;
}

/* SSL_write/SSL_read with the deadline: bytes moved, 0 for a closed connection, or -errno. */
static int io(struct azk_fota_http *h, bool writing, void *buf, size_t n, uint64_t deadline)
{
    for (;;) {
        ERR_clear_error();
        int r = writing ? SSL_write(h->_internal.ssl, buf, (int)n)
                        : SSL_read(h->_internal.ssl, buf, (int)n);
        if (r > 0)
            return r;
        int e = SSL_get_error(h->_internal.ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        int w = e == SSL_ERROR_WANT_READ    ? azki_wait_fd(h->_internal.fd, POLLIN, deadline)
                : e == SSL_ERROR_WANT_WRITE ? azki_wait_fd(h->_internal.fd, POLLOUT, deadline)
                                            : -ECONNRESET;
        if (w < 0)
            return w;
    }
}

static int status_error(int status)
{
    return status == 404 ? -ENOENT : status == 416 ? -ERANGE : status == 200 ? -EBADMSG
                                                                             : -EPROTO;
}

/* Reads the head; moves what came after it to the front of body (*got bytes). */
static int read_head(struct azk_fota_http *h, struct azk_fota_http_head *hd, uint8_t *body,
                     size_t cap, size_t *got, uint64_t deadline)
{
    char head[HEAD_MAX];
    size_t n = 0;
    for (;;) {
        int r = io(h, false, head + n, sizeof(head) - n, deadline);
        if (r <= 0)
            return r == 0 ? -ECONNRESET : r;
        n += (size_t)r;
        long hl = azk_fota_http_parse_head(head, n, hd);
        if (hl < 0 || (hl == 0 && n == sizeof(head)))
            return -EBADMSG;
        if (hl > 0) {
            size_t extra = n - (size_t)hl;
            if (extra > cap)
                return -EBADMSG;
            memcpy(body, head + hl, extra);
            *got = extra;
            return 0;
        }
    }
}

static int request(struct azk_fota_http *h, const char *host, const char *path, uint64_t start,
                   uint64_t end, uint8_t *buf, size_t *len, uint64_t *total, uint64_t deadline,
                   char *why, size_t whylen)
{
    char req[AZK_FOTA_HOST_SIZE + AZK_FOTA_PATH_SIZE + 160];
    struct azk_fota_http_head hd;
    size_t cap = (size_t)(end - start + 1), got = 0;
    int n = snprintf(req, sizeof(req),
                     "GET %s%s HTTP/1.1\r\nHost: %s\r\nRange: bytes=%llu-%llu\r\n"
                     "Connection: keep-alive\r\n\r\n", path[0] == '/' ? "" : "/", path, host,
                     (unsigned long long)start, (unsigned long long)end);
    int rc = open_conn(h, host, deadline, why, whylen);
    if (rc < 0)
        return rc;
    if ((n > 0 && (size_t)n >= sizeof(req)) || (rc = io(h, true, req, (size_t)n, deadline)) <= 0)
        return rc < 0 ? rc : -ECONNRESET;
    if ((rc = read_head(h, &hd, buf, cap, &got, deadline)) < 0) {
        snprintf(why, whylen, "%s: no complete HTTP answer to the range request", host);
        return rc;
    }
    if (hd.status != 206) {
        snprintf(why, whylen, "%s/%s answered %d to bytes=%llu-%llu", host, path, hd.status,
                 (unsigned long long)start, (unsigned long long)end);
        return status_error(hd.status);
    }
    if (!hd.has_range || hd.first != start || hd.last > end || hd.chunked ||
        (hd.has_length && hd.length != hd.last - hd.first + 1)) {
        snprintf(why, whylen, "%s/%s: a 206 without a matching Content-Range (the download "
                 "needs `Content-Range: bytes %llu-.../total`)", host, path,
                 (unsigned long long)start);
        return -EBADMSG;
    }
    size_t want = (size_t)(hd.last - hd.first + 1);
    if (got > want)
        return -EBADMSG;
    while (got < want) {
        int r = io(h, false, buf + got, want - got, deadline);
        if (r <= 0) {
            snprintf(why, whylen, "%s: the connection broke after %zu of %zu bytes", host, got,
                     want);
            return r == 0 ? -ECONNRESET : r;
        }
        got += (size_t)r;
    }
    *len = got;
    *total = hd.total;
    if (hd.close)
        drop(h, true);
    return 0;
}

int azk_fota_http_get(struct azk_fota_http *h, const char *host, const char *path,
                      uint64_t start, uint64_t end, uint8_t *buf, size_t *len, uint64_t *total,
                      char *why, size_t whylen)
{
    char scratch[8];
    if (why == NULL) {
        why = scratch;
        whylen = sizeof(scratch);
    }
    why[0] = '\0';
    if (h == NULL || host == NULL || path == NULL || buf == NULL || len == NULL ||
        total == NULL || end < start || end - start >= SIZE_MAX)
        return -EINVAL;
    uint64_t deadline = azk_posix_now_ms() + (h->timeout_ms ? h->timeout_ms : 15000u);
    /* a kept-alive connection the server has closed since: one new connection */
    bool reused = h->_internal.ssl && strcmp(h->_internal.host, host) == 0;
    int rc = request(h, host, path, start, end, buf, len, total, deadline, why, whylen);
    if (rc == -ECONNRESET && reused) {
        drop(h, false);
        rc = request(h, host, path, start, end, buf, len, total, deadline, why, whylen);
    }
    if (rc < 0)
        drop(h, false);
    return rc;
}

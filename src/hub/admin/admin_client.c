/* Blocking HTTPS/1.1 client for the admin commands (OpenSSL socket BIOs). */
#include "hub/admin/admin_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "azkit/azure_hub.h"
#include "hub/service/sas.h"

#define RESPONSE_MAX (64u * 1024 * 1024)

static void seterr(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t size, const char *fmt, ...)
{
    if (err == NULL || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

static int connect_to(const struct hub_admin_target *t, int timeout_s, char *err, size_t es)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof(port), "%d", t->port);
    const char *host = t->host[0] ? t->host : "127.0.0.1";
    char h[256];
    snprintf(h, sizeof(h), "%s", host);
    size_t hl = strlen(h);
    if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') {
        memmove(h, h + 1, hl - 2);
        h[hl - 2] = '\0';
    }
    int g = getaddrinfo(h, port, &hints, &res);
    if (g != 0) {
        seterr(err, es, "cannot resolve %s: %s", h, gai_strerror(g));
        return -EHOSTUNREACH;
    }
    int fd = -1, e = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        struct timeval tv = {timeout_s, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        seterr(err, es, "cannot connect to %s:%d: %s (is `azkit-hub serve` running?)", h,
               t->port, strerror(e));
        return e == ETIMEDOUT || e == EINPROGRESS || e == EAGAIN ? -ETIMEDOUT : -ECONNREFUSED;
    }
    return fd;
}

struct rbuf {
    SSL *ssl;
    char *data;
    size_t len, cap, pos;
    bool eof;
    int err;
};

/* Reads more bytes; returns 0, 1 at EOF, or a negative errno. */
static int fill(struct rbuf *b)
{
    if (b->eof)
        return 1;
    if (b->cap - b->len < 16384) {
        size_t nc = b->cap ? b->cap * 2 : 32768;
        if (nc > RESPONSE_MAX + 65536)
            return -EFBIG;
        char *p = realloc(b->data, nc + 1);
        if (p == NULL)
            return -ENOMEM;
        b->data = p;
        b->cap = nc;
    }
    int n = SSL_read(b->ssl, b->data + b->len, (int)(b->cap - b->len));
    if (n > 0) {
        b->len += (size_t)n;
        b->data[b->len] = '\0';
        return 0;
    }
    int se = SSL_get_error(b->ssl, n);
    if (se == SSL_ERROR_ZERO_RETURN || (se == SSL_ERROR_SYSCALL && errno == 0) ||
        se == SSL_ERROR_SSL) {
        ERR_clear_error();
        b->eof = true;
        return 1;
    }
    if (se == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -ETIMEDOUT;
    b->eof = true;
    return 1;
}

/* Ensures `n` unread bytes are buffered; returns 0 or negative (-EBADMSG on early EOF). */
static int need(struct rbuf *b, size_t n)
{
    while (b->len - b->pos < n) {
        int rc = fill(b);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return -EBADMSG;
    }
    return 0;
}

/* Finds "\r\n" from pos, reading as needed; returns the line length or negative. */
static long line(struct rbuf *b)
{
    for (;;) {
        char *start = b->data ? b->data + b->pos : NULL;
        char *nl = start ? strstr(start, "\r\n") : NULL;
        if (nl != NULL)
            return nl - start;
        if (b->len - b->pos > 65536)
            return -EBADMSG;
        int rc = fill(b);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return -EBADMSG;
    }
}

static int append(char **out, size_t *len, const char *p, size_t n)
{
    if (*len + n > RESPONSE_MAX)
        return -EFBIG;
    char *q = realloc(*out, *len + n + 1);
    if (q == NULL)
        return -ENOMEM;
    memcpy(q + *len, p, n);
    *len += n;
    q[*len] = '\0';
    *out = q;
    return 0;
}

static int read_response(struct rbuf *b, struct hub_http_response *out)
{
    long l = line(b);
    if (l < 0)
        return (int)l;
    int status = 0;
    if (sscanf(b->data + b->pos, "HTTP/1.%*d %d", &status) != 1 || status < 100)
        return -EBADMSG;
    b->pos += (size_t)l + 2;
    long content_length = -1;
    bool chunked = false;
    for (;;) {
        l = line(b);
        if (l < 0)
            return (int)l;
        char *h = b->data + b->pos;
        h[l] = '\0';
        b->pos += (size_t)l + 2;
        if (l == 0)
            break;
        char *colon = strchr(h, ':');
        if (colon == NULL)
            return -EBADMSG;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(h, "Content-Length") == 0)
            content_length = strtol(v, NULL, 10);
        else if (strcasecmp(h, "Transfer-Encoding") == 0 && strstr(v, "chunked"))
            chunked = true;
        else if (strcasecmp(h, "ETag") == 0) {
            size_t vl = strlen(v);
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v++;
                vl -= 2;
            }
            snprintf(out->etag, sizeof(out->etag), "%.*s", (int)vl, v);
        } else if (strcasecmp(h, "Content-Type") == 0)
            snprintf(out->content_type, sizeof(out->content_type), "%s", v);
        else if (strcasecmp(h, "x-ms-continuation") == 0)
            snprintf(out->continuation, sizeof(out->continuation), "%s", v);
        else if (strcasecmp(h, "x-ms-item-type") == 0)
            snprintf(out->item_type, sizeof(out->item_type), "%s", v);
    }
    out->status = status;
    int rc = 0;
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        /* no body */
    } else if (chunked) {
        for (;;) {
            l = line(b);
            if (l < 0)
                return (int)l;
            unsigned long n = strtoul(b->data + b->pos, NULL, 16);
            b->pos += (size_t)l + 2;
            if (n == 0) {
                while ((l = line(b)) > 0) /* trailers */
                    b->pos += (size_t)l + 2;
                break;
            }
            if (n > RESPONSE_MAX || (rc = need(b, n + 2)) != 0)
                return rc ? rc : -EFBIG;
            if ((rc = append(&out->body, &out->body_len, b->data + b->pos, n)) != 0)
                return rc;
            b->pos += n + 2;
        }
    } else if (content_length >= 0) {
        if ((size_t)content_length > RESPONSE_MAX)
            return -EFBIG;
        if ((rc = need(b, (size_t)content_length)) != 0)
            return rc;
        if ((rc = append(&out->body, &out->body_len, b->data + b->pos,
                         (size_t)content_length)) != 0)
            return rc;
    } else {
        while ((rc = fill(b)) == 0)
            ;
        if (rc < 0)
            return rc;
        if ((rc = append(&out->body, &out->body_len, b->data + b->pos, b->len - b->pos)) != 0)
            return rc;
    }
    if (out->body == NULL && (out->body = calloc(1, 1)) == NULL)
        return -ENOMEM;
    return 0;
}

static bool is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int write_all(SSL *ssl, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        int w = SSL_write(ssl, c, n > 1u << 30 ? 1 << 30 : (int)n);
        if (w <= 0)
            return -EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int hub_admin_request(const struct hub_admin_target *t, const char *method, const char *path,
                      const struct hub_admin_header *headers, size_t header_count,
                      const void *body, size_t body_len, struct hub_http_response *out,
                      char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (err && err_size)
        err[0] = '\0';
    if (t == NULL || method == NULL || path == NULL || path[0] != '/' || t->port <= 0)
        return -EINVAL;
    int timeout = t->timeout_s > 0 ? t->timeout_s : 60;
    char token[HUB_SAS_TOKEN_MAX];
    if (t->authorization != NULL) {
        snprintf(token, sizeof(token), "%s", t->authorization);
    } else if (hub_sas_create(t->key, t->sr, t->skn[0] ? t->skn : "iothubowner",
                       (int64_t)time(NULL) + 3600, token, sizeof(token)) < 0) {
        seterr(err, err_size, "cannot sign a token: the service key is not valid base64");
        return -EINVAL;
    }
    int fd = connect_to(t, timeout, err, err_size);
    if (fd < 0) {
        OPENSSL_cleanse(token, sizeof(token));
        return fd;
    }
    int rc = 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    struct rbuf b = {0};
    char *req = NULL;
    if (ctx == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
        seterr(err, err_size, "cannot load the hub's CA certificate %s", t->ca_file);
        rc = -EPROTO;
        goto out;
    }
    ssl = SSL_new(ctx);
    if (ssl == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    const char *name = t->tls_name[0] ? t->tls_name : (t->host[0] ? t->host : "127.0.0.1");
    if (is_ip(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
    } else {
        SSL_set_tlsext_host_name(ssl, name);
        SSL_set1_host(ssl, name);
    }
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        long vr = SSL_get_verify_result(ssl);
        unsigned long e = ERR_get_error();
        if (vr != X509_V_OK)
            seterr(err, err_size, "the hub's certificate does not verify against %s for %s: %s",
                   t->ca_file, name, X509_verify_cert_error_string(vr));
        else
            seterr(err, err_size, "TLS handshake with %s:%d failed: %s", name, t->port,
                   e ? ERR_reason_error_string(e) : "connection closed");
        ERR_clear_error();
        rc = -EPROTO;
        goto out;
    }
    /* The request head. */
    bool has_ct = false;
    size_t extra = 0;
    for (size_t i = 0; i < header_count; i++) {
        extra += strlen(headers[i].name) + strlen(headers[i].value) + 4;
        if (strcasecmp(headers[i].name, "Content-Type") == 0)
            has_ct = true;
    }
    size_t cap = strlen(path) + extra + strlen(token) + 1024;
    req = malloc(cap);
    if (req == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    const char *sep = strchr(path, '?') ? "&" : "?";
    bool has_ver = strstr(path, "api-version=") != NULL;
    int n = snprintf(req, cap,
                     "%s %s%s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"
                     "User-Agent: azkit-hub-admin\r\nAccept: application/json\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n%s",
                     method, path, has_ver ? "" : sep, has_ver ? "" : "api-version=" AZK_HUB_API_VERSION,
                     t->sr[0] ? t->sr : name, token, body_len,
                     has_ct || body_len == 0 ? "" : "Content-Type: application/json; charset=utf-8\r\n");
    for (size_t i = 0; i < header_count && n > 0 && (size_t)n < cap; i++)
        n += snprintf(req + n, cap - (size_t)n, "%s: %s\r\n", headers[i].name, headers[i].value);
    if (n > 0 && (size_t)n < cap)
        n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (n < 0 || (size_t)n >= cap) {
        rc = -EINVAL;
        goto out;
    }
    if (write_all(ssl, req, (size_t)n) != 0 || (body_len && write_all(ssl, body, body_len) != 0)) {
        seterr(err, err_size, "the hub closed the connection while the request was sent");
        rc = -EIO;
        goto out;
    }
    b.ssl = ssl;
    rc = read_response(&b, out);
    if (rc == -ETIMEDOUT)
        seterr(err, err_size, "no answer from the hub within %d s", timeout);
    else if (rc != 0)
        seterr(err, err_size, "bad HTTP response from the hub: %s", strerror(-rc));
out:
    if (req != NULL) {
        OPENSSL_cleanse(req, strlen(req));
        free(req);
    }
    OPENSSL_cleanse(token, sizeof(token));
    free(b.data);
    if (ssl != NULL) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    close(fd);
    if (rc != 0)
        hub_http_response_free(out);
    return rc;
}

void hub_http_response_free(struct hub_http_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

void hub_admin_error_parse(const struct hub_http_response *r, char *code, size_t code_size,
                           char *text, size_t text_size)
{
    code[0] = '\0';
    text[0] = '\0';
    cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "Message");
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring;
        if (strncmp(s, "ErrorCode:", 10) == 0) {
            s += 10;
            const char *semi = strchr(s, ';');
            size_t l = semi ? (size_t)(semi - s) : strlen(s);
            snprintf(code, code_size, "%.*s", (int)l, s);
            s = semi ? semi + 1 : s + l;
        }
        snprintf(text, text_size, "%s", s);
    }
    cJSON_Delete(j);
}

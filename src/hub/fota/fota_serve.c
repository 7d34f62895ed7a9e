/* The firmware image server (fota.h): GET and HEAD of /firmware/<token>/<file> on the service
 * port, with byte ranges, ETag (the quoted SHA-256), If-Range, If-None-Match, keep-alive, and
 * the download faults.
 *
 * A body is streamed from the file in pieces: evhttp_send_reply_start() with a Content-Length
 * (so evhttp does not chunk), one piece at a time once the previous one is written, then
 * evhttp_send_reply_end(), after which the kept-alive connection reads its next request. The
 * connection's close callback tells a stream that its peer went away mid-body: evhttp then
 * either still holds the request (and frees it with the connection) or has handed it back
 * (req's connection NULL), in which case evhttp_send_reply_end() frees it. */
#include "hub/fota/fota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "hub/fota/fota_http.h"
#include "hub/log.h"

#define PIECE (16 * 1024)

struct hub_fota_stream {
    struct hub_fota_stream *next, *prev;
    struct hub_fota *f;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *timer;   /* the stall */
    int fd;
    uint64_t off, end;     /* image bytes still to send: [off, end) */
    uint64_t sent;         /* body bytes sent */
    bool stalled, stall_done, cut;
};

static void stream_free(struct hub_fota_stream *st)
{
    if (st->next != NULL)
        st->next->prev = st->prev;
    if (st->prev != NULL)
        st->prev->next = st->next;
    else if (st->f != NULL && st->f->streams == st)
        st->f->streams = st->next;
    if (st->timer != NULL)
        event_free(st->timer);
    if (st->fd >= 0)
        close(st->fd);
    free(st);
}

/* The connection is going away (peer closed, a drop fault, the hub stopping). */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct hub_fota_stream *st = arg;
    if (evhttp_request_get_connection(st->req) == NULL)
        evhttp_send_reply_end(st->req); /* handed back to us: this frees it */
    stream_free(st);
}

static void send_next(struct hub_fota_stream *st);

static void on_written(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    send_next(arg);
}

static void on_stall_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_fota_stream *st = arg;
    st->stalled = false;
    st->stall_done = true;
    send_next(st);
}

/* Cuts the connection under evhttp as the service's deadline does: evhttp sees EOF and frees
 * the connection, which calls on_close. */
static void cut(struct hub_fota_stream *st)
{
    struct hub_fota_faults *fl = &st->f->faults;
    fl->dropped++;
    st->cut = true;
    hub_log(HUB_LOG_INFO, "firmware: fault injection: connection dropped after %llu body bytes "
            "(image offset %llu)", (unsigned long long)st->sent, (unsigned long long)st->off);
    evutil_socket_t s = bufferevent_getfd(evhttp_connection_get_bufferevent(st->evcon));
    if (s >= 0)
        shutdown(s, SHUT_RDWR);
}

static void send_next(struct hub_fota_stream *st)
{
    const struct hub_fota_faults *fl = &st->f->faults;
    if (st->cut)
        return;
    if (st->off == st->end) {
        evhttp_connection_set_closecb(st->evcon, NULL, NULL);
        evhttp_send_reply_end(st->req);
        stream_free(st);
        return;
    }
    uint64_t n = st->end - st->off;
    if (n > PIECE)
        n = PIECE;
    if (fl->drop) {
        if (st->sent >= fl->drop_after) {
            if (!fl->drop_every)
                st->f->faults.drop = false;
            cut(st);
            return;
        }
        if (n > fl->drop_after - st->sent)
            n = fl->drop_after - st->sent;
    }
    if (fl->drop_at_set && fl->drop_at >= st->off && fl->drop_at < st->end) {
        if (st->off == fl->drop_at) {
            st->f->faults.drop_at_set = false; /* once */
            cut(st);
            return;
        }
        if (n > fl->drop_at - st->off)
            n = fl->drop_at - st->off;
    }
    if (fl->stall && !st->stall_done) {
        if (st->sent >= fl->stall_after) {
            struct timeval tv = {(time_t)fl->stall_s, 0};
            st->stalled = true;
            evtimer_add(st->timer, &tv);
            return;
        }
        if (n > fl->stall_after - st->sent)
            n = fl->stall_after - st->sent;
    }
    char buf[PIECE];
    ssize_t got = pread(st->fd, buf, (size_t)n, (off_t)st->off);
    if (got != (ssize_t)n) {
        hub_log(HUB_LOG_ERROR, "firmware: cannot read the image file: %s",
                got < 0 ? strerror(errno) : "it is shorter than its catalogue entry");
        st->cut = true;
        shutdown(bufferevent_getfd(evhttp_connection_get_bufferevent(st->evcon)), SHUT_RDWR);
        return;
    }
    if (fl->corrupt && fl->corrupt_at >= st->off && fl->corrupt_at < st->off + n)
        buf[fl->corrupt_at - st->off] ^= (char)0xff;
    struct evbuffer *eb = evbuffer_new();
    if (eb == NULL || evbuffer_add(eb, buf, (size_t)n) != 0) {
        evbuffer_free(eb);
        st->cut = true;
        shutdown(bufferevent_getfd(evhttp_connection_get_bufferevent(st->evcon)), SHUT_RDWR);
        return;
    }
    st->off += n;
    st->sent += n;
    evhttp_send_reply_chunk_with_cb(st->req, eb, on_written, st);
    evbuffer_free(eb);
}

static void reply_plain(struct evhttp_request *req, int status, const char *reason,
                        const char *text, bool head)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char len[24];
    snprintf(len, sizeof(len), "%zu", text ? strlen(text) : (size_t)0);
    evhttp_add_header(h, "Content-Length", len);
    if (text != NULL)
        evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    struct evbuffer *b = NULL;
    if (text != NULL && !head && (b = evbuffer_new()) != NULL)
        evbuffer_add(b, text, strlen(text));
    evhttp_send_reply(req, status, reason, b);
    if (b != NULL)
        evbuffer_free(b);
}

/* The image of /firmware/<token>/<file>, or NULL. */
static const struct hub_fota_image *image_of(const struct hub_fota *f, const char *path)
{
    static const char prefix[] = "/firmware/";
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    const char *tok = path + sizeof(prefix) - 1;
    const char *slash = strchr(tok, '/');
    if (slash == NULL || slash - tok != HUB_FOTA_TOKEN_HEX)
        return NULL;
    for (size_t i = 0; i < f->count; i++) {
        const struct hub_fota_image *im = &f->images[i];
        if (memcmp(im->token, tok, HUB_FOTA_TOKEN_HEX) == 0 && strcmp(im->file, slash + 1) == 0)
            return im;
    }
    return NULL;
}

void hub_fota_serve(struct hub_fota *f, struct evhttp_request *req, const char *path)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    bool head = cmd == EVHTTP_REQ_HEAD;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (cmd != EVHTTP_REQ_GET && !head) {
        evhttp_add_header(h, "Allow", "GET, HEAD");
        reply_plain(req, 405, "Method Not Allowed", "Use GET or HEAD.\n", false);
        return;
    }
    const struct hub_fota_image *im = image_of(f, path);
    if (im == NULL) {
        reply_plain(req, 404, "Not Found", "No such firmware image.\n", head);
        return;
    }
    char path_buf[PATH_MAX + 200];
    snprintf(path_buf, sizeof(path_buf), "%s/%s/%s", f->dir, im->token, im->file);
    char etag[70];
    snprintf(etag, sizeof(etag), "\"%s\"", im->sha256);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    evhttp_add_header(h, "ETag", etag);
    evhttp_add_header(h, "Accept-Ranges", "bytes");
    if (hub_fota_etag_match(evhttp_find_header(in, "If-None-Match"), etag, true)) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return;
    }
    uint64_t first = 0, last = im->size ? im->size - 1 : 0;
    enum hub_fota_range kind = HUB_FOTA_RANGE_FULL;
    if (hub_fota_if_range_ok(evhttp_find_header(in, "If-Range"), etag))
        kind = hub_fota_range_parse(evhttp_find_header(in, "Range"), im->size, &first, &last);
    char v[80];
    if (kind == HUB_FOTA_RANGE_UNSATISFIABLE) {
        snprintf(v, sizeof(v), "bytes */%llu", (unsigned long long)im->size);
        evhttp_add_header(h, "Content-Range", v);
        reply_plain(req, 416, "Range Not Satisfiable", NULL, head);
        return;
    }
    uint64_t len = im->size == 0 ? 0 : last - first + 1;
    int status = kind == HUB_FOTA_RANGE_PARTIAL ? 206 : 200;
    if (status == 206) {
        snprintf(v, sizeof(v), "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)last, (unsigned long long)im->size);
        evhttp_add_header(h, "Content-Range", v);
    }
    evhttp_add_header(h, "Content-Type", "application/octet-stream");
    snprintf(v, sizeof(v), "%llu", (unsigned long long)len);
    evhttp_add_header(h, "Content-Length", v);
    const char *reason = status == 206 ? "Partial Content" : "OK";
    if (head || len == 0) {
        evhttp_send_reply(req, status, reason, NULL);
        return;
    }
    struct hub_fota_stream *st = calloc(1, sizeof(*st));
    if (st != NULL)
        st->fd = open(path_buf, O_RDONLY | O_CLOEXEC);
    if (st != NULL && st->fd >= 0)
        st->timer = evtimer_new(f->base, on_stall_end, st);
    if (st == NULL || st->fd < 0 || st->timer == NULL) {
        hub_log(HUB_LOG_ERROR, "firmware: cannot open %s: %s", path_buf, strerror(errno));
        if (st != NULL) {
            if (st->fd >= 0)
                close(st->fd);
            free(st);
        }
        evhttp_clear_headers(h);
        reply_plain(req, 500, "Internal Server Error", "Cannot read the image.\n", false);
        return;
    }
    st->f = f;
    st->req = req;
    st->evcon = evhttp_request_get_connection(req);
    st->off = first;
    st->end = first + len;
    st->next = f->streams;
    if (f->streams != NULL)
        f->streams->prev = st;
    f->streams = st;
    evhttp_connection_set_closecb(st->evcon, on_close, st);
    evhttp_send_reply_start(req, status, reason);
    send_next(st);
}

unsigned hub_fota_stalled(const struct hub_fota *f)
{
    unsigned n = 0;
    for (const struct hub_fota_stream *st = f->streams; st != NULL; st = st->next)
        n += st->stalled;
    return n;
}

void hub_fota_resume_stalls(struct hub_fota *f)
{
    for (struct hub_fota_stream *st = f->streams; st != NULL; st = st->next)
        if (st->stalled) {
            evtimer_del(st->timer);
            struct timeval now = {0, 0};
            evtimer_add(st->timer, &now); /* on_stall_end on the next loop pass */
        }
}

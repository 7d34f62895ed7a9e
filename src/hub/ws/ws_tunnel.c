/* MQTT and AMQP over WebSockets: the takeover of an upgraded service connection and the filter
 * between WebSocket frames and the MQTT or AMQP connection; see ws_tunnel.h. */
#include "hub/ws/ws_tunnel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>

#include "hub/amqp/amqp.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/mqtt/conn.h"
#include "hub/ws/ws_frame.h"

/* Time the last bytes (a CONNACK, a Close frame) get to leave once the connection ended. */
#define WS_FLUSH_S 2

enum tunnel_state {
    WS_LIVE,     /* the MQTT or AMQP connection owns the filter */
    WS_DRAINING, /* the filter is gone: flushing the TLS bufferevent's output */
    WS_FREEING,  /* evhttp_connection_free() is scheduled */
};

struct hub_ws_tunnel {
    struct hub_ws_tunnel *next, *prev;
    struct hub_ws_tunnels *list;          /* NULL once detached (the service stopped) */
    struct evhttp_connection *evcon;      /* NULL once detached */
    struct bufferevent *tls;              /* evhttp's TLS bufferevent */
    struct event_base *base;
    enum hub_ws_proto proto;
    struct hub_conn *conn;                /* HUB_WS_MQTT, while WS_LIVE */
    struct amqp_conn *amqp;               /* HUB_WS_AMQP, while WS_LIVE */
    enum tunnel_state state;
    uint64_t max_payload;
    struct hub_ws_stream stream;
    struct hub_ws_frame frame;            /* the data frame whose payload is being read */
    uint64_t frame_done;                  /* payload bytes of it already passed on */
    bool in_frame;
    bool close_sent, close_received, failed;
};

static void list_unlink(struct hub_ws_tunnel *t)
{
    if (t->list == NULL)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        t->list->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->list = NULL;
}

/* A frame from the hub straight onto the TLS connection (control frames; data frames go
 * through the output filter). */
static void send_frame(struct hub_ws_tunnel *t, uint8_t opcode, const void *payload, size_t n)
{
    uint8_t h[HUB_WS_HEADER_MAX];
    size_t hl = hub_ws_frame_header(h, opcode, n);
    struct evbuffer *out = bufferevent_get_output(t->tls);
    evbuffer_add(out, h, hl);
    if (n > 0)
        evbuffer_add(out, payload, n);
}

static void send_close(struct hub_ws_tunnel *t, uint16_t code)
{
    if (t->close_sent)
        return;
    t->close_sent = true;
    uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    send_frame(t, HUB_WS_CLOSE, b, sizeof(b));
}

/* The WebSocket ended (`why` goes to the log): so does the connection inside. */
static void end_inner(struct hub_ws_tunnel *t, const char *why)
{
    if (t->conn != NULL)
        hub_conn_close(t->conn, true, "%s", why);
    if (t->amqp != NULL)
        hub_amqp_conn_end(t->amqp, why);
}

/* A frame the hub refuses: Close with `code`, and the inner connection ends with `why` in the
 * log (as any malformed MQTT or AMQP would). */
static enum bufferevent_filter_result fail(struct hub_ws_tunnel *t, struct evbuffer *src,
                                           uint16_t code, const char *why)
{
    t->failed = true;
    evbuffer_drain(src, evbuffer_get_length(src));
    send_close(t, code);
    char text[160];
    snprintf(text, sizeof(text), "WebSocket: %s (closed with %u)", why, code);
    end_inner(t, text);
    return BEV_ERROR;
}

/* A whole control frame (header parsed, payload in src). */
static enum bufferevent_filter_result control(struct hub_ws_tunnel *t, struct evbuffer *src,
                                              const struct hub_ws_frame *f)
{
    uint8_t body[HUB_WS_CONTROL_MAX];
    size_t n = (size_t)f->payload_len;
    evbuffer_drain(src, f->header_len);
    evbuffer_remove(src, body, n);
    hub_ws_unmask(body, n, f->mask, 0);
    if (f->opcode == HUB_WS_PING) {
        if (!t->close_sent)
            send_frame(t, HUB_WS_PONG, body, n);
        return BEV_OK;
    }
    if (f->opcode == HUB_WS_PONG)
        return BEV_OK;
    /* Close: answer with the same code (RFC 6455 5.5.1) and end the inner connection. */
    t->close_received = true;
    unsigned code = n >= 2 ? ((unsigned)body[0] << 8 | body[1]) : 1005;
    send_close(t, n >= 2 ? (uint16_t)code : HUB_WS_CLOSE_NORMAL);
    evbuffer_drain(src, evbuffer_get_length(src));
    char text[64];
    snprintf(text, sizeof(text), "WebSocket closed by the %s (code %u)",
             t->proto == HUB_WS_AMQP ? "client" : "device", code);
    end_inner(t, text);
    return BEV_OK;
}

/* Client frames in `src` -> MQTT or AMQP bytes in `dst`. Data payloads stream through (a frame
 * may be larger than what has arrived); control frames are acted on once whole. */
static enum bufferevent_filter_result ws_in(struct evbuffer *src, struct evbuffer *dst,
                                            ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                            void *ctx)
{
    (void)mode;
    struct hub_ws_tunnel *t = ctx;
    while (evbuffer_get_length(src) > 0) {
        if (t->failed || t->close_received) {
            evbuffer_drain(src, evbuffer_get_length(src));
            return BEV_OK;
        }
        size_t avail = evbuffer_get_length(src);
        if (t->in_frame) {
            uint8_t chunk[16384];
            uint64_t left = t->frame.payload_len - t->frame_done;
            size_t n = avail < sizeof(chunk) ? avail : sizeof(chunk);
            if (left < n)
                n = (size_t)left;
            if (lim >= 0 && (size_t)lim < n)
                n = (size_t)lim;
            if (n == 0)
                return BEV_OK;
            evbuffer_remove(src, chunk, n);
            hub_ws_unmask(chunk, n, t->frame.mask, t->frame_done);
            evbuffer_add(dst, chunk, n);
            if (lim >= 0)
                lim -= (ev_ssize_t)n;
            t->frame_done += n;
            t->in_frame = t->frame_done < t->frame.payload_len;
            continue;
        }
        size_t peek = avail < HUB_WS_HEADER_MAX ? avail : HUB_WS_HEADER_MAX;
        const uint8_t *h = evbuffer_pullup(src, (ev_ssize_t)peek);
        struct hub_ws_frame f;
        const char *why = NULL;
        uint16_t code = 0;
        int rc = hub_ws_frame_parse(h, peek, t->max_payload, &f, &why, &code);
        if (rc == -EAGAIN)
            return BEV_NEED_MORE;
        if (rc == 0)
            rc = hub_ws_stream_check(&t->stream, &f, &why, &code);
        if (rc != 0)
            return fail(t, src, code, why);
        if (f.opcode & 0x8u) {
            if (avail < f.header_len + f.payload_len)
                return BEV_NEED_MORE;
            enum bufferevent_filter_result r = control(t, src, &f);
            if (r != BEV_OK)
                return r;
            continue;
        }
        evbuffer_drain(src, f.header_len);
        t->frame = f;
        t->frame_done = 0;
        t->in_frame = f.payload_len > 0;
    }
    return BEV_OK;
}

/* MQTT or AMQP bytes from the connection -> one binary frame per write. Neither aligns its
 * packets with frames (MQTT 3.1.1 section 6; AMQP over WebSockets is a byte stream), so a
 * PUBLISH's header and payload may go in two frames. */
static enum bufferevent_filter_result ws_out(struct evbuffer *src, struct evbuffer *dst,
                                             ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                             void *ctx)
{
    (void)lim; /* the TLS bufferevent has no write high-water mark */
    (void)mode;
    struct hub_ws_tunnel *t = ctx;
    size_t n = evbuffer_get_length(src);
    if (t->close_sent) {
        evbuffer_drain(src, n);
        return BEV_OK;
    }
    if (n == 0)
        return BEV_OK;
    uint8_t h[HUB_WS_HEADER_MAX];
    size_t hl = hub_ws_frame_header(h, HUB_WS_BINARY, n);
    evbuffer_add(dst, h, hl);
    evbuffer_remove_buffer(src, dst, n);
    return BEV_OK;
}

/* Frees evhttp's connection (socket and TLS session with it), then the tunnel. */
static void free_now(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_ws_tunnel *t = arg;
    if (t->evcon != NULL) {
        list_unlink(t);
        evhttp_connection_free(t->evcon);
    }
    free(t);
}

static void schedule_free(struct hub_ws_tunnel *t)
{
    bufferevent_setcb(t->tls, NULL, NULL, NULL, NULL);
    bufferevent_disable(t->tls, EV_READ | EV_WRITE);
    t->state = WS_FREEING;
    /* Not from inside the bufferevent's own callback. */
    if (event_base_once(t->base, -1, EV_TIMEOUT, free_now, t, NULL) != 0)
        free_now(-1, 0, t);
}

static void drained(struct bufferevent *bev, void *arg)
{
    (void)bev;
    schedule_free(arg);
}

static void drain_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    schedule_free(arg); /* error, EOF or the flush timeout: nothing more can leave */
}

/* The filter is freed (the inner connection ended): send what is queued, then free. */
static void filter_freed(void *arg)
{
    struct hub_ws_tunnel *t = arg;
    t->conn = NULL;
    t->amqp = NULL;
    if (t->evcon == NULL) { /* detached: evhttp_free() took the connection */
        free(t);
        return;
    }
    send_close(t, HUB_WS_CLOSE_NORMAL);
    t->state = WS_DRAINING;
    bufferevent_disable(t->tls, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(t->tls)) == 0) {
        schedule_free(t);
        return;
    }
    bufferevent_setcb(t->tls, NULL, drained, drain_event, t);
    bufferevent_setwatermark(t->tls, EV_WRITE, 0, 0);
    struct timeval tv = {WS_FLUSH_S, 0};
    bufferevent_set_timeouts(t->tls, NULL, &tv);
    bufferevent_enable(t->tls, EV_WRITE);
}

int hub_ws_tunnel_open(struct hub_daemon *d, struct hub_ws_tunnels *list,
                       struct evhttp_request *req, const char accept[HUB_WS_ACCEPT_SIZE],
                       enum hub_ws_proto proto, const char *peer, uint64_t max_payload)
{
    if (proto == HUB_WS_AMQP && d->amqp == NULL)
        return -ENOTSUP;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *tls = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = tls ? bufferevent_openssl_get_ssl(tls) : NULL;
    if (ssl == NULL)
        return -EINVAL;
    struct hub_ws_tunnel *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->evcon = evcon;
    t->tls = tls;
    t->base = d->base;
    t->max_payload = max_payload;
    t->state = WS_LIVE;
    t->proto = proto;
    struct bufferevent *filter = bufferevent_filter_new(tls, ws_in, ws_out, 0, filter_freed, t);
    if (filter == NULL) {
        free(t);
        return -ENOMEM;
    }
    t->list = list;
    t->next = list->head;
    if (list->head)
        list->head->prev = t;
    list->head = t;
    /* evhttp's idle timeouts no longer apply: MQTT's keepalive (AMQP's idle timeout) does. */
    bufferevent_set_timeouts(tls, NULL, NULL);
    char resp[256];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n\r\n", accept, hub_ws_proto_name(proto));
    evbuffer_add(bufferevent_get_output(tls), resp, (size_t)n);
    char name[64];
    snprintf(name, sizeof(name), "%s (wss)", peer);
    if (proto == HUB_WS_AMQP)
        t->amqp = hub_amqp_adopt(d->amqp, filter, name);
    else
        t->conn = hub_conn_adopt(d, filter, ssl, name);
    if (t->conn == NULL && t->amqp == NULL)
        return 0; /* filter freed: the tunnel flushes and frees the connection */
    hub_log(HUB_LOG_DEBUG, "conn %s: WebSocket upgrade accepted (subprotocol %s)", name,
            hub_ws_proto_name(proto));
    /* Bytes the client sent right behind the handshake are already read: pass them on from the
     * loop (deferred), not from inside evhttp's request callback. */
    if (evbuffer_get_length(bufferevent_get_input(tls)) > 0)
        bufferevent_trigger(tls, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    return 0;
}

void hub_ws_tunnels_detach(struct hub_ws_tunnels *list)
{
    for (struct hub_ws_tunnel *t = list->head; t != NULL;) {
        struct hub_ws_tunnel *next = t->next;
        t->next = t->prev = NULL;
        t->list = NULL;
        t->evcon = NULL;
        if (t->state == WS_DRAINING) {
            bufferevent_setcb(t->tls, NULL, NULL, NULL, NULL);
            free(t);
        }
        /* WS_LIVE: freed with the filter (filter_freed); WS_FREEING: by free_now. */
        t = next;
    }
    list->head = NULL;
}

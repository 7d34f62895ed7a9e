/* One MQTT connection: TLS bufferevent, framing with the core decoder, timers, output and an
 * orderly close. Packets are decoded in place in libevent's input buffer (no per-connection
 * packet buffer), so an idle connection holds only what libevent and OpenSSL hold. */
#include "hub/mqtt/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h> /* ev_write: hub_conn_send */
#include <event2/event.h>
#include <openssl/err.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/iothub/telemetry.h"

#define AZURE_MAX_IDLE_MS (1767 * 1000LL) /* Azure's keepalive cap */

static void conn_free(struct hub_conn *c)
{
    hub_puback_free_all(c);
    if (c->kind->freed)
        c->kind->freed(c);
    if (c->timer)
        event_free(c->timer);
    if (c->bev)
        bufferevent_free(c->bev); /* frees the SSL and closes the socket */
    free(c->will_topic);
    free(c->will_payload);
    free(c);
}

void hub_conn_ref(struct hub_conn *c)
{
    c->refs++;
}

void hub_conn_unref(struct hub_conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

bool hub_conn_alive(const struct hub_conn *c)
{
    return c->state != HUB_CONN_CLOSING;
}

void hub_conn_send(struct hub_conn *c, const void *data, size_t len)
{
    if (!hub_conn_alive(c))
        return;
    bufferevent_write(c->bev, data, len);
    /* An OpenSSL bufferevent writes only when epoll reports the socket writable: epoll_ctl to
     * watch it, epoll_wait, the write, epoll_ctl to stop, per PUBACK. Running its write
     * callback now (later in this loop turn, once for all sends of the turn) writes at once;
     * with the daemon's changelist (daemon.c) the watch it asked for and the stop after the
     * write cancel out before they reach the kernel. A socket that cannot take the bytes
     * stays watched as before. */
    if (c->write_now)
        event_active(&c->bev->ev_write, EV_WRITE, 1);
}

uint16_t hub_conn_publish(struct hub_conn *c, const char *topic, size_t topic_len,
                          const void *payload, size_t payload_len, int qos)
{
    struct azk_mqtt_publish p;
    memset(&p, 0, sizeof(p));
    p.topic = (struct azk_span){topic, topic_len};
    p.payload = (struct azk_span){payload, payload_len};
    p.qos = (uint8_t)qos;
    if (qos > 0) {
        if (++c->next_packet_id == 0)
            c->next_packet_id = 1;
        p.packet_id = c->next_packet_id;
    }
    uint8_t hdr[16 + 65535];
    size_t n = 0;
    /* Header and topic from the encoder, the payload straight from where it is. */
    if (azk_mqtt_encode_publish_header(&p, hdr, sizeof(hdr), &n) != 0) {
        hub_log(HUB_LOG_ERROR, "conn %s %s: cannot encode PUBLISH to %.*s", c->peer,
                c->device_id, (int)topic_len, topic);
        return 0;
    }
    hub_conn_send(c, hdr, n);
    hub_conn_send(c, payload, payload_len);
    return p.packet_id;
}

static void finish_close(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_conn *c = arg;
    c->d->open_conns--;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        c->d->all_conns = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    c->all_prev = c->all_next = NULL;
    hub_conn_unref(c);
}

static void write_drained(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct hub_conn *c = arg;
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    /* Free outside the bufferevent's own callback. */
    event_base_once(c->d->base, -1, EV_TIMEOUT, finish_close, c, NULL);
}

static void closing_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    write_drained(bev, arg);
}

/* The connection leaves the admission phase (accept pacing, daemon.c). */
static void admitted(struct hub_conn *c)
{
    if (!c->admitting)
        return;
    c->admitting = false;
    hub_daemon_admitted(c->d);
}

__attribute__((format(printf, 4, 0))) static void
close_at(struct hub_conn *c, enum hub_log_level level, bool store_will, const char *why,
         va_list ap)
{
    if (c->state == HUB_CONN_CLOSING)
        return;
    char text[512];
    vsnprintf(text, sizeof(text), why, ap);
    if (c->device_id[0])
        hub_log(level, "conn %s device '%s': disconnected: %s", c->peer, c->device_id, text);
    else
        hub_log(level, "conn %s: closed: %s", c->peer, text);
    admitted(c);
    if (store_will && c->has_will && c->state == HUB_CONN_CONNECTED && !c->got_disconnect)
        hub_telemetry_store_will(c);
    c->state = HUB_CONN_CLOSING;
    if (c->kind->closed)
        c->kind->closed(c);
    if (c->timer)
        event_del(c->timer);
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        write_drained(c->bev, c);
    } else {
        /* Flush what is queued (a CONNACK 5, a last PUBACK), then free. */
        bufferevent_setcb(c->bev, NULL, write_drained, closing_event, c);
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        struct timeval tv = {2, 0};
        bufferevent_set_timeouts(c->bev, NULL, &tv);
    }
}

void hub_conn_close(struct hub_conn *c, bool store_will, const char *why, ...)
{
    va_list ap;
    va_start(ap, why);
    close_at(c, HUB_LOG_INFO, store_will, why, ap);
    va_end(ap);
}

/* A refusal the hub decided on its own (a timeout): logged as a warning. */
__attribute__((format(printf, 2, 3))) static void refuse_close(struct hub_conn *c,
                                                               const char *why, ...)
{
    va_list ap;
    va_start(ap, why);
    close_at(c, HUB_LOG_WARN, false, why, ap);
    va_end(ap);
}

static void arm_timer(struct hub_conn *c, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(c->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_conn *c = arg;
    if (c->state == HUB_CONN_AWAIT_CONNECT || c->state == HUB_CONN_HANDSHAKE) {
        /* The device is charged only for time the hub waited for it: bytes it sent that the
         * hub has not read yet mean the hub is behind (saturated), so the clock restarts. */
        int unread = 0;
        if (ioctl(bufferevent_getfd(c->bev), FIONREAD, &unread) == 0 && unread > 0) {
            arm_timer(c, c->d->cfg.connect_timeout_ms);
            return;
        }
        if (c->state == HUB_CONN_HANDSHAKE)
            refuse_close(c, "TLS handshake not finished %u s after the hub started it "
                         "(%zu connections being admitted)", c->d->cfg.connect_timeout_ms / 1000,
                         c->d->admitting);
        else
            refuse_close(c, "no CONNECT within %u s of the TLS handshake",
                         c->d->cfg.connect_timeout_ms / 1000);
        return;
    }
    if (c->state != HUB_CONN_CONNECTED)
        return;
    int64_t now = hub_now_ms();
    int64_t idle = now - c->last_rx_ms;
    if (idle >= c->timeout_ms) {
        hub_conn_close(c, true, "keepalive: nothing received for %lld s",
                       (long long)(idle / 1000));
        return;
    }
    if (c->token_expires_ms != 0 && now >= c->token_expires_ms) {
        hub_conn_close(c, true, "its SAS token expired (the device must connect with a new one)");
        return;
    }
    int64_t wait = c->timeout_ms - idle;
    if (c->token_expires_ms != 0 && c->token_expires_ms - now < wait)
        wait = c->token_expires_ms - now;
    arm_timer(c, wait);
}

void hub_conn_resume_read(struct hub_conn *c)
{
    c->read_paused = false;
    bufferevent_enable(c->bev, EV_READ);
    bufferevent_flush(c->bev, EV_READ, BEV_NORMAL);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void hub_conn_start_keepalive(struct hub_conn *c, uint16_t keepalive_s)
{
    int64_t t = keepalive_s ? (int64_t)keepalive_s * 1500 : AZURE_MAX_IDLE_MS;
    c->timeout_ms = t < AZURE_MAX_IDLE_MS ? t : AZURE_MAX_IDLE_MS;
    event_del(c->timer);
    int64_t wait = c->timeout_ms;
    if (c->token_expires_ms != 0 && c->token_expires_ms - hub_now_ms() < wait)
        wait = c->token_expires_ms - hub_now_ms();
    arm_timer(c, wait > 0 ? wait : 0);
}

/* Before CONNECT, only CONNECT (MQTT 3.1.1 section 3.1: the first packet must be CONNECT). */
static const char not_connect[] = "the first packet must be CONNECT";
const struct hub_conn_kind hub_kind_await_connect = {
    .name = "awaiting CONNECT",
    .packets = {
        [0] = {NULL, not_connect},
        [AZK_MQTT_CONNECT] = {hub_handle_connect, NULL},
        [AZK_MQTT_CONNACK] = {NULL, not_connect},
        [AZK_MQTT_PUBLISH] = {NULL, not_connect},
        [AZK_MQTT_PUBACK] = {NULL, not_connect},
        [AZK_MQTT_PUBREC] = {NULL, not_connect},
        [AZK_MQTT_PUBREL] = {NULL, not_connect},
        [AZK_MQTT_PUBCOMP] = {NULL, not_connect},
        [AZK_MQTT_SUBSCRIBE] = {NULL, not_connect},
        [AZK_MQTT_SUBACK] = {NULL, not_connect},
        [AZK_MQTT_UNSUBSCRIBE] = {NULL, not_connect},
        [AZK_MQTT_UNSUBACK] = {NULL, not_connect},
        [AZK_MQTT_PINGREQ] = {NULL, not_connect},
        [AZK_MQTT_PINGRESP] = {NULL, not_connect},
        [AZK_MQTT_DISCONNECT] = {NULL, not_connect},
        [15] = {NULL, not_connect},
    },
    .closed = NULL,
    .freed = NULL,
};

/* The one place a packet's handler is chosen: by the connection's kind. */
static int dispatch(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    const struct hub_packet_rule *r = &c->kind->packets[p->type & 15u];
    if (r->handle != NULL)
        return r->handle(c, p);
    hub_conn_close(c, c->state == HUB_CONN_CONNECTED, "%s (%s connection)", r->refusal,
                   c->kind->name);
    return -1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct hub_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct azk_mqtt_decoder_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.role = AZK_MQTT_ROLE_SERVER;
    cfg.max_packet_size = (uint32_t)(c->d->cfg.max_telemetry_packet + 1024);
    /* Device ids may hold '+' and '#': the Azure topic parsers decide where they are allowed. */
    cfg.allow_wildcards_in_publish_topic = true;
    cfg.allow_any_wildcards_in_filters = true;
    hub_conn_ref(c);
    while (hub_conn_alive(c)) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 2)
            break;
        size_t peek = avail < 5 ? avail : 5;
        const uint8_t *hdr = evbuffer_pullup(in, (ev_ssize_t)peek);
        struct azk_mqtt_packet pkt;
        size_t total = 0;
        enum azk_mqtt_reason why = AZK_MQTT_R_OK;
        int rc = azk_mqtt_decode(&cfg, hdr, peek, &pkt, &total, &why);
        if (rc == -EAGAIN && total == 0)
            break; /* the remaining length is not complete yet */
        if (rc == -EAGAIN) {
            if (avail < total)
                break;
            const uint8_t *whole = evbuffer_pullup(in, (ev_ssize_t)total);
            rc = azk_mqtt_decode(&cfg, whole, total, &pkt, &total, &why);
        }
        if (rc != 0) {
            /* The two CONNECT problems MQTT answers with a CONNACK before closing. */
            uint8_t code = why == AZK_MQTT_R_PROTOCOL_LEVEL  ? AZK_MQTT_CONNACK_UNACCEPTABLE_PROTOCOL
                           : why == AZK_MQTT_R_CLIENT_ID_EMPTY ? AZK_MQTT_CONNACK_IDENTIFIER_REJECTED
                                                               : 0;
            if (code != 0 && c->state == HUB_CONN_AWAIT_CONNECT) {
                struct azk_mqtt_connack a = {false, code};
                uint8_t out[4];
                size_t n = 0;
                azk_mqtt_encode_connack(&a, out, sizeof(out), &n);
                hub_conn_send(c, out, n);
            }
            hub_conn_close(c, true, "malformed MQTT: %s", azk_mqtt_reason_str(why));
            break;
        }
        c->last_rx_ms = hub_now_ms();
        int hrc = dispatch(c, &pkt);
        if (c->state != HUB_CONN_AWAIT_CONNECT)
            admitted(c);
        if (hub_conn_alive(c))
            evbuffer_drain(in, total);
        if (hrc != 0)
            break;
    }
    hub_conn_unref(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct hub_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->state = HUB_CONN_AWAIT_CONNECT;
        event_del(c->timer);
        arm_timer(c, c->d->cfg.connect_timeout_ms);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        hub_conn_close(c, true, "connection closed by the device");
    } else if (what & BEV_EVENT_ERROR) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[160] = "";
        if (e)
            ERR_error_string_n(e, buf, sizeof(buf));
        hub_conn_close(c, true, "%s%s", c->state == HUB_CONN_HANDSHAKE ? "TLS handshake failed: "
                                                                      : "connection error: ",
                       e ? buf : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    } else if (what & BEV_EVENT_TIMEOUT) {
        hub_conn_close(c, true, "timeout");
    }
}

/* A new connection on `bev` (its callbacks not set yet), `ssl` its TLS session. */
static struct hub_conn *conn_new(struct hub_daemon *d, SSL *ssl, const char *peer)
{
    struct hub_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->d = d;
    c->id = ++d->next_conn_id;
    c->refs = 1;
    c->kind = &hub_kind_await_connect;
    c->ssl = ssl;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->timer = evtimer_new(d->base, timer_cb, c);
    return c;
}

/* Starts serving c->bev: callbacks, the connection list, and the clock of its first step. */
static void conn_start(struct hub_conn *c)
{
    struct hub_daemon *d = c->d;
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (++d->open_conns > d->trim_peak_conns)
        d->trim_peak_conns = d->open_conns; /* mem_trim.c */
    c->all_next = d->all_conns;
    if (d->all_conns)
        d->all_conns->all_prev = c;
    d->all_conns = c;
    arm_timer(c, d->cfg.connect_timeout_ms);
}

void hub_conn_accept(struct hub_daemon *d, int fd, const char *peer)
{
    SSL *ssl = SSL_new(d->tls);
    struct hub_conn *c = ssl ? conn_new(d, ssl, peer) : NULL;
    if (c == NULL) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        hub_log(HUB_LOG_ERROR, "conn %s: out of memory", peer);
        return;
    }
    c->bev = bufferevent_openssl_socket_new(d->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev == NULL) {
            SSL_free(ssl);
            evutil_closesocket(fd);
        }
        conn_free(c);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    c->write_now = true; /* adopted ones (WebSocket tunnels) are other kinds of bufferevent */
    c->admitting = true;
    d->admitting++;
    /* The handshake must not take forever either; accepts are paced (daemon.c), so the clock
     * starts when the hub starts serving the connection. */
    conn_start(c);
}

struct hub_conn *hub_conn_adopt(struct hub_daemon *d, struct bufferevent *bev, SSL *ssl,
                                const char *peer)
{
    struct hub_conn *c = conn_new(d, ssl, peer);
    if (c != NULL)
        c->bev = bev;
    if (c == NULL || c->timer == NULL) {
        if (c != NULL)
            conn_free(c); /* frees bev too */
        else
            bufferevent_free(bev);
        hub_log(HUB_LOG_ERROR, "conn %s: out of memory", peer);
        return NULL;
    }
    c->state = HUB_CONN_AWAIT_CONNECT; /* TLS is up: the CONNECT clock starts now */
    conn_start(c);
    return c;
}

void hub_conn_close_all(struct hub_daemon *d)
{
    /* Closing only marks and schedules; the list is unlinked when each one is finished. */
    for (struct hub_conn *c = d->all_conns; c != NULL; c = c->all_next)
        if (hub_conn_alive(c))
            hub_conn_close(c, false, "azkit-hub is stopping");
}

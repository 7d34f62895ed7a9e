/* The AMQP listener and its connections: TLS bytes from the bufferevent into Proton's driver,
 * the driver's output back into the bufferevent (see amqp.h for why). */
#include "hub/amqp/amqp_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/transport.h>

#include "hub/daemon.h"
#include "hub/log.h"

static void conn_free(struct amqp_conn *c)
{
    amqp_conn_forget_pending(c);
    eh_conn_free(c);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    if (c->tick)
        event_free(c->tick);
    if (c->bev)
        bufferevent_free(c->bev); /* BEV_OPT_CLOSE_ON_FREE: closes the SSL and the socket */
    pn_connection_driver_destroy(&c->drv);
    free(c);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct amqp_conn *c = arg;
    if (!c->ending) {
        amqp_conn_pump(c);
        return;
    }
    /* hub_amqp_conn_end: the transport under AMQP failed; nothing more is read or sent. */
    pn_connection_driver_close(&c->drv);
    if (amqp_conn_pump(c))
        conn_free(c);
}

static void log_condition(struct amqp_conn *c, pn_condition_t *cond, const char *what)
{
    if (cond != NULL && pn_condition_is_set(cond))
        hub_log(HUB_LOG_INFO, "AMQP %s: %s: %s: %s", c->peer, what, pn_condition_get_name(cond),
                pn_condition_get_description(cond) ? pn_condition_get_description(cond) : "");
}

bool amqp_conn_pump(struct amqp_conn *c)
{
    pn_event_t *e;
    int64_t now = hub_now_ms(), next = 0;
    for (;;) {
        while ((e = pn_connection_driver_next_event(&c->drv)) != NULL) {
            if (pn_event_type(e) == PN_TRANSPORT_ERROR)
                log_condition(c, pn_transport_condition(c->drv.transport), "transport error");
            amqp_handle_event(c, e);
        }
        pn_bytes_t out = pn_connection_driver_write_buffer(&c->drv);
        if (out.size > 0) {
            if (c->bev)
                bufferevent_write(c->bev, out.start, out.size);
            pn_connection_driver_write_done(&c->drv, out.size);
            continue;
        }
        /* Proton's clock: an empty frame the peer's idle timeout asks for now, or the close
         * of a peer silent past ours, is made here and must go out in this same pump (made
         * after the writes, it waited for the next tick: heartbeats left a whole period late
         * and peers with short idle timeouts dropped the connection). Also the next deadline. */
        next = pn_transport_tick(c->drv.transport, now);
        if (pn_connection_driver_write_buffer(&c->drv).size == 0 &&
            !pn_connection_driver_has_event(&c->drv))
            break;
    }
    if (pn_connection_driver_finished(&c->drv)) {
        struct evbuffer *o = c->bev ? bufferevent_get_output(c->bev) : NULL;
        if (o == NULL || evbuffer_get_length(o) == 0) {
            hub_log(HUB_LOG_DEBUG, "AMQP %s: closed", c->peer);
            conn_free(c);
            return false;
        }
        c->finishing = true; /* the write callback frees it once flushed */
        bufferevent_disable(c->bev, EV_READ);
        return true;
    }
    /* Proton's next deadline (heartbeats it owes the peer, the peer's idle timeout). */
    if (next > 0 && c->tick) {
        int64_t ms = next > now ? next - now : 0;
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        evtimer_add(c->tick, &tv);
    }
    return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct amqp_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (evbuffer_get_length(in) > 0) {
        pn_rwbytes_t rb = pn_connection_driver_read_buffer(&c->drv);
        if (rb.size == 0) {
            /* Proton takes no more input (closed, or its buffer is full until it has
             * written): run it and come back. */
            if (!amqp_conn_pump(c))
                return;
            rb = pn_connection_driver_read_buffer(&c->drv);
            if (rb.size == 0) {
                /* Closed for input: what follows is ignored. Otherwise the bytes stay for the
                 * next read (never dropped from the middle of a stream). */
                if (pn_connection_driver_read_closed(&c->drv))
                    evbuffer_drain(in, evbuffer_get_length(in));
                break;
            }
        }
        int n = evbuffer_remove(in, rb.start, rb.size);
        if (n <= 0)
            break;
        pn_connection_driver_read_done(&c->drv, (size_t)n);
    }
    amqp_conn_pump(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct amqp_conn *c = arg;
    if (c->finishing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct amqp_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_ERROR) {
        unsigned long e = bufferevent_get_openssl_error(c->bev);
        hub_log(HUB_LOG_INFO, "AMQP %s: connection ended: %s", c->peer,
                e ? ERR_reason_error_string(e) : "socket error or reset");
    }
    /* The peer is gone: Proton sees the end of input and output; nothing more can be sent. */
    bufferevent_free(c->bev);
    c->bev = NULL;
    pn_connection_driver_close(&c->drv);
    if (amqp_conn_pump(c))
        conn_free(c); /* not finished yet, but without a socket it never will be */
}

/* A connection's record and Proton driver (server side, SASL, idle timeout), in a's list;
 * NULL when out of memory. */
static struct amqp_conn *conn_new(struct hub_amqp *a, const char *peer)
{
    struct hub_daemon *d = a->d;
    struct amqp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (pn_connection_driver_init(&c->drv, NULL, NULL) != 0) {
        free(c);
        return NULL;
    }
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->a = a;
    c->next = a->conns.next;
    c->prev = &a->conns;
    a->conns.next->prev = c;
    a->conns.next = c;
    pn_transport_t *t = c->drv.transport;
    pn_transport_set_server(t);
    pn_transport_set_max_frame(t, HUB_AMQP_MAX_FRAME);
    /* Announced to the peer, which then sends at least an empty frame every half of it; a
     * connection silent for longer (the peer gone, or stuck before AMQP) is closed.
     * --amqp-idle-timeout, Azure's 4 minutes by default; 0 announces none. */
    pn_transport_set_idle_timeout(t, (pn_millis_t)d->cfg.amqp_idle_timeout_s * 1000u);
    amqp_sasl_setup(t);
    /* Service SDKs open without SASL or with ANONYMOUS/MSSBCBS; authorisation is the CBS
     * token that follows. */
    pn_transport_require_auth(t, false);
    pn_connection_set_container(c->drv.connection, d->hubs[0].hostname);
    pn_connection_driver_bind(&c->drv);
    c->tick = evtimer_new(d->base, on_tick, c);
    if (c->tick == NULL) {
        conn_free(c);
        return NULL;
    }
    return c;
}

/* The connection's bytes flow through `bev` from now on. */
static void conn_attach(struct amqp_conn *c, struct bufferevent *bev)
{
    c->bev = bev;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* A new connection: over TLS (the AMQP port) or plain (the Event Hubs emulator port). */
static void accept_conn(struct hub_amqp *a, evutil_socket_t fd, struct sockaddr *sa, bool tls)
{
    struct hub_daemon *d = a->d;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char peer[80];
    hub_peer_text(sa, peer, sizeof(peer));
    struct amqp_conn *c = conn_new(a, peer);
    SSL *ssl = c && tls ? SSL_new(d->tls_roots[HUB_ROOT_CURRENT]) : NULL;
    evutil_make_socket_nonblocking(fd);
    struct bufferevent *bev = NULL;
    if (c != NULL && (!tls || ssl != NULL))
        bev = tls ? bufferevent_openssl_socket_new(d->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                   BEV_OPT_CLOSE_ON_FREE)
                  : bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        hub_log(HUB_LOG_WARN, "AMQP: out of memory; connection refused");
        if (ssl)
            SSL_free(ssl);
        evutil_closesocket(fd);
        if (c)
            conn_free(c);
        return;
    }
    /* A peer that closes without TLS close_notify has still ended cleanly. */
    if (tls)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    conn_attach(c, bev);
    hub_log(HUB_LOG_DEBUG, "AMQP %s: accepted%s", c->peer, tls ? "" : " (plain AMQP)");
}

struct amqp_conn *hub_amqp_adopt(struct hub_amqp *a, struct bufferevent *bev, const char *peer)
{
    struct amqp_conn *c = conn_new(a, peer);
    if (c == NULL) {
        hub_log(HUB_LOG_WARN, "AMQP %s: out of memory; connection refused", peer);
        bufferevent_free(bev);
        return NULL;
    }
    conn_attach(c, bev);
    hub_log(HUB_LOG_DEBUG, "AMQP %s: accepted (AMQP over WebSockets)", c->peer);
    return c;
}

void hub_amqp_conn_end(struct amqp_conn *c, const char *why)
{
    if (c->ending)
        return;
    hub_log(HUB_LOG_INFO, "AMQP %s: %s", c->peer, why);
    c->ending = true;
    if (c->bev)
        bufferevent_disable(c->bev, EV_READ);
    /* From the loop (on_tick): the caller may be inside c's bufferevent. */
    event_active(c->tick, EV_TIMEOUT, 0);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    (void)salen;
    accept_conn(arg, fd, sa, true);
}

static void accept_plain_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                            int salen, void *arg)
{
    (void)l;
    (void)salen;
    accept_conn(arg, fd, sa, false);
}

/* Offers something to every open connection of a hub, then pumps it out. */
static void offer_each(struct hub_amqp *a, void (*offer)(struct amqp_conn *))
{
    for (struct amqp_conn *c = a->conns.next, *n; c != &a->conns; c = n) {
        n = c->next;
        if (c->hub != NULL && !c->finishing) {
            offer(c);
            amqp_conn_pump(c); /* may free c, never another connection */
        }
    }
}

static void tel_offer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    offer_each(arg, eh_conn_offer_telemetry);
}

void hub_amqp_telemetry_ready(struct hub_amqp *a)
{
    if (a != NULL)
        event_active(a->tel_offer, EV_TIMEOUT, 0);
}

static void offer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    offer_each(arg, amqp_conn_offer_feedback);
}

int hub_amqp_start(struct hub_daemon *d, struct hub_amqp **out)
{
    *out = NULL;
    struct hub_amqp *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->d = d;
    a->conns.next = a->conns.prev = &a->conns;
    int rc = hub_listen_bind(d->base, d->cfg.listen, d->cfg.amqp_port, accept_cb, a,
                             &a->listener);
    if (rc < 0) {
        free(a);
        return rc;
    }
    a->offer = event_new(d->base, -1, 0, offer_cb, a);
    a->tel_offer = event_new(d->base, -1, 0, tel_offer_cb, a);
    if (a->offer == NULL || a->tel_offer == NULL) {
        hub_amqp_stop(a);
        return -ENOMEM;
    }
    d->amqp_port = rc;
    if (d->cfg.eventhubs_port >= 0) {
        /* Plain AMQP carries the SAS token in the clear: loopback only. */
        rc = hub_listen_bind(d->base, "127.0.0.1", d->cfg.eventhubs_port, accept_plain_cb, a,
                             &a->plain);
        if (rc < 0 && d->cfg.eventhubs_port_given) {
            hub_log(HUB_LOG_ERROR, "cannot listen for plain AMQP on 127.0.0.1:%d: %s -- fix: "
                    "pick another --eventhubs-port, or stop what uses it",
                    d->cfg.eventhubs_port, strerror(-rc));
            hub_amqp_stop(a);
            d->amqp_port = 0;
            return rc;
        }
        if (rc < 0)
            hub_log(HUB_LOG_WARN, "Event Hubs emulator port not served: cannot listen on "
                    "127.0.0.1:%d (%s) -- fix: --eventhubs-port N (0 = any free port)",
                    d->cfg.eventhubs_port, strerror(-rc));
        else
            d->eventhubs_port = rc;
    }
    *out = a;
    return 0;
}

void hub_amqp_stop(struct hub_amqp *a)
{
    if (a == NULL)
        return;
    if (a->listener)
        evconnlistener_free(a->listener);
    if (a->plain)
        evconnlistener_free(a->plain);
    if (a->tel_offer)
        event_free(a->tel_offer);
    while (a->conns.next != &a->conns)
        conn_free(a->conns.next);
    if (a->offer)
        event_free(a->offer);
    free(a);
}

void hub_amqp_feedback_ready(struct hub_amqp *a, struct hub_iothub *h)
{
    (void)h; /* every connection with a token looks at its own hub's queue */
    if (a != NULL)
        event_active(a->offer, EV_TIMEOUT, 0);
}

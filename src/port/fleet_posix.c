/* Many device clients in one process (azkit/fleet.h): one epoll loop, non-blocking TCP and
 * TLS, a certificate per device issued on the fly. Each device is the same sans-I/O client
 * `azkit run` uses; only the driver differs. */
#include "azkit/fleet.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "azkit/client.h"
#include "azkit/client_posix.h"
#include "azkit/sas_token.h"
#include "pki/pki_internal.h"
#include "port/explain.h"
#include "port/fleet_payload.h"
#include "port/fleet_stats.h"
#include "port/sigpipe.h"

#define MAX_DEVICES 100000u

enum phase { P_IDLE = 0, P_CONNECTING, P_HANDSHAKE, P_UP };

/* A QoS 1 message between azk_client_send_telemetry() and its PUBACK: `left` bytes of the
 * client's output still precede its end; when they are written, `written_us` is set. */
struct mark {
    uint32_t msg_id;
    uint32_t left;
    uint64_t written_us;
};

struct dev {
    struct fleet *f;
    size_t index;
    char id[AZK_CLIENT_ID_MAX + 1];
    struct azk_client c;
    uint8_t *work;
    X509 *cert;
    EVP_PKEY *key;
    int fd;
    SSL *ssl;
    enum phase phase;
    bool started, registered, connected, ever_connected, failed;
    uint32_t lost;      /* QoS 1 messages in flight when a connection was lost (not resent) */
    size_t rx;          /* bytes received on the current connection */
    uint64_t next_send, handshake_deadline;
    uint32_t sent, acked;
    char host[AZK_CLIENT_HOST_MAX + 1];
    uint16_t port;
    bool blocked;       /* the window or the output is full: wait for a PUBACK or a drain */
    bool conn_dps;      /* the current connection goes to DPS */
    uint64_t conn_us;   /* when the current connection's TCP connect began */
    uint64_t first_us;  /* when the first one began (0: not yet) */
    struct mark *marks; /* the in-flight window's messages (f->window entries) */
    uint8_t n_marks;
    char *sas_key;      /* symmetric keys: the device key derived from the group key */
    uint64_t renew_at;  /* when to renew the hub connection's SAS token (0: nothing) */
};

/* Resolved endpoints (DPS and the hubs): getaddrinfo blocks, so once per host:port. */
#define ADDR_CACHE 8
struct addr_entry {
    char key[AZK_CLIENT_HOST_MAX + 8];
    struct sockaddr_storage addr;
    socklen_t len;
};

struct fleet {
    const struct azk_fleet_opts *o;
    struct azk_fleet_stats st;
    struct dev *devs;
    int ep;
    struct addr_entry addrs[ADDR_CACHE];
    size_t n_addrs;
    uint8_t window;     /* the in-flight window (1..AZK_CLIENT_INFLIGHT_MAX) */
    char *payload;      /* scratch for one message (payload_cap bytes) */
    size_t payload_cap;
    struct azki_hist connect, ready, puback;
    char token[AZK_SAS_TOKEN_MAX]; /* the SAS token of the CONNECT being made */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The latency summaries into the counters (before they are reported). */
static void summarize(struct fleet *f)
{
    azki_hist_summary(&f->connect, &f->st.connect);
    azki_hist_summary(&f->ready, &f->st.ready);
    azki_hist_summary(&f->puback, &f->st.puback);
}

/* ---- telemetry and PUBACK times -------------------------------------------------------- */

/* Message `seq` of device `d` into f->payload; returns its length. */
static size_t make_payload(const struct fleet *f, const struct dev *d, uint32_t seq)
{
    return azki_fleet_payload(f->o->payload_size, d->id, seq, f->payload, f->payload_cap);
}

static void mark_sent(struct dev *d, uint32_t msg_id)
{
    const uint8_t *out;
    if (d->n_marks < d->f->window)
        d->marks[d->n_marks++] = (struct mark){msg_id, (uint32_t)azk_client_output(&d->c, &out),
                                               0};
}

/* `n` more bytes of the output were written: the messages that ended in them are out. */
static void marks_written(struct dev *d, size_t n)
{
    uint64_t t = 0;
    for (uint8_t i = 0; i < d->n_marks; i++) {
        struct mark *m = &d->marks[i];
        if (m->left == 0)
            continue;
        m->left = m->left > n ? m->left - (uint32_t)n : 0;
        if (m->left == 0)
            m->written_us = t ? t : (t = now_us());
    }
}

/* Message `msg_id` was acknowledged (acked) or is gone; its PUBACK time is counted. */
static void mark_done(struct dev *d, uint32_t msg_id, bool acked)
{
    for (uint8_t i = 0; i < d->n_marks; i++) {
        struct mark *m = &d->marks[i];
        if (m->msg_id != msg_id)
            continue;
        if (acked && m->left == 0 && m->written_us != 0) {
            uint64_t t = now_us();
            azki_hist_add(&d->f->puback, t > m->written_us ? t - m->written_us : 0);
        }
        *m = d->marks[--d->n_marks];
        return;
    }
}

/* ---- credentials ------------------------------------------------------------------------ */

/* A P-256 key and a certificate for `cn`, issued by the fleet's CA in memory: what
 * `azkit pki device` makes (the same builder: clientAuth, CA:FALSE, one hour backdated). */
static int issue(const struct azk_fleet_opts *o, const char *cn, X509 **cert, EVP_PKEY **key)
{
    struct azk_pki_request req = {.kind = AZK_PKI_DEVICE, .common_name = cn,
                                  .key_alg = AZK_KEY_EC_P256};
    struct azki_pki_issuer iss = {o->issuer, o->issuer_key, o->chain};
    time_t nb, na;
    int rc = azki_pki_key_generate(AZK_KEY_EC_P256, key);
    if (rc == 0)
        rc = azki_pki_validity(&req, time(NULL), &nb, &na, NULL);
    if (rc == 0)
        rc = azki_pki_build(&req, *key, &iss, nb, na, cert, NULL);
    return rc;
}

/* ---- events from the clients ------------------------------------------------------------- */

/* Any direct method: 200 and a small JSON answer (as `azkit run --answer-methods`). */
static void answer_method(struct dev *d, const struct azk_client_event *ev)
{
    char body[300];
    snprintf(body, sizeof(body), "{\"method\":\"%.*s\",\"result\":\"ok\"}",
             (int)(ev->name.len < 200 ? ev->name.len : 200), ev->name.ptr);
    if (azk_client_method_respond(&d->c, ev->rid, 200, azk_span_from_str(body)) == 0)
        d->f->st.methods++;
}

/* The hub connection is gone (lost, or closed to renew the SAS token). */
static void connection_gone(struct dev *d)
{
    struct azk_fleet_stats *st = &d->f->st;
    if (d->connected)
        st->connected--;
    d->connected = false;
    st->reconnects++;
    /* Unacknowledged messages of the lost connection are not resent (clean session). */
    d->lost = d->sent - d->acked;
    d->n_marks = 0;
    d->blocked = false;
}

/* A symmetric-key device's CONNECT password: a fresh token (azk_client_config.password). */
static void sas_password(void *ctx, bool dps, struct azk_mqtt_connect *m)
{
    struct dev *d = ctx;
    int64_t expires_ms = 0;
    if (azk_sas_connect_password(d->sas_key, NULL, d->f->o->sas_ttl_s, dps, m, d->f->token,
                                 sizeof(d->f->token), &expires_ms) == 0 && !dps)
        d->renew_at = azk_posix_now_ms() + azk_sas_renew_in_ms(expires_ms);
}

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    struct dev *d = ctx;
    struct azk_fleet_stats *st = &d->f->st;
    char kind[sizeof(st->errors[0].kind)];
    switch (ev->kind) {
    case AZK_CLIENT_EV_DPS_ASSIGNED:
        if (!d->registered)
            st->registered++;
        d->registered = true;
        break;
    case AZK_CLIENT_EV_CONNECTED:
        d->connected = true;
        st->connected++;
        if (!d->ever_connected) {
            d->ever_connected = true;
            st->ever_connected++;
            if (d->first_us != 0)
                azki_hist_add(&d->f->ready, now_us() - d->first_us);
            if (st->ever_connected == st->devices)
                st->all_connected_ms = st->elapsed_ms;
        }
        break;
    case AZK_CLIENT_EV_DISCONNECTED:
        connection_gone(d);
        break;
    case AZK_CLIENT_EV_RETRYING:
        azki_fleet_error_kind(ev, kind, sizeof(kind));
        azki_fleet_count_error(st->retries, &st->n_retries, kind);
        break;
    case AZK_CLIENT_EV_TELEMETRY_FAILED:
        mark_done(d, ev->msg_id, false);
        break;
    case AZK_CLIENT_EV_METHOD:
        answer_method(d, ev);
        break;
    case AZK_CLIENT_EV_FAILED:
        if (d->connected)
            st->connected--;
        d->connected = false;
        d->failed = true;
        st->failed++;
        azki_fleet_error_kind(ev, kind, sizeof(kind));
        azki_fleet_count_error(st->errors, &st->n_errors, kind);
        if (st->first_failure[0] == '\0') {
            struct azk_span t = ev->text;
            if (ev->failure == AZK_CLIENT_F_CONNACK && t.len == 0)
                t = azk_span_from_str(azk_connack_text(ev->code));
            snprintf(st->first_failure, sizeof(st->first_failure), "%s: %s (code %d): %.*s",
                     d->id, azk_client_failure_name(ev->failure), ev->code, (int)t.len, t.ptr);
        }
        break;
    case AZK_CLIENT_EV_TELEMETRY_ACKED:
        d->acked++;
        st->acked++;
        mark_done(d, ev->msg_id, true);
        d->blocked = false;
        break;
    default:
        break;
    }
}

/* ---- transport ----------------------------------------------------------------------------- */

static void watch(struct dev *d, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.ptr = d};
    if (epoll_ctl(d->f->ep, EPOLL_CTL_MOD, d->fd, &e) != 0)
        epoll_ctl(d->f->ep, EPOLL_CTL_ADD, d->fd, &e);
}

static void drop(struct dev *d, int err, const char *why, uint64_t now)
{
    if (d->ssl != NULL) {
        if (d->phase == P_UP && err == 0)
            SSL_shutdown(d->ssl);
        SSL_free(d->ssl);
        d->ssl = NULL;
    }
    if (d->fd >= 0) {
        epoll_ctl(d->f->ep, EPOLL_CTL_DEL, d->fd, NULL);
        close(d->fd);
        d->fd = -1;
    }
    d->phase = P_IDLE;
    azk_client_transport_down(&d->c, err, azk_span_from_str(why ? why : ""), now);
}

/* The address of host:port, resolved once per distinct endpoint. */
static const struct addr_entry *resolve(struct fleet *f, const char *host, uint16_t port,
                                        char *why, size_t wl)
{
    char key[sizeof(f->addrs[0].key)];
    snprintf(key, sizeof(key), "%s:%u", host, port);
    for (size_t i = 0; i < f->n_addrs; i++)
        if (strcmp(f->addrs[i].key, key) == 0)
            return &f->addrs[i];
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    const char *target = f->o->connect_address ? f->o->connect_address : host;
    int g = getaddrinfo(target, ps, &hints, &res);
    if (g != 0) {
        azki_explain_resolve(target, gai_strerror(g), why, wl);
        return NULL;
    }
    struct addr_entry *e = &f->addrs[f->n_addrs < ADDR_CACHE ? f->n_addrs++ : ADDR_CACHE - 1];
    memcpy(&e->addr, res->ai_addr, res->ai_addrlen);
    e->len = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(e->key, sizeof(e->key), "%s", key);
    return e;
}

static void open_transport(struct dev *d, const struct azk_client_endpoint *ep, uint64_t now)
{
    struct fleet *f = d->f;
    char why[512] = "";
    snprintf(d->host, sizeof(d->host), "%.*s", (int)ep->host.len, ep->host.ptr);
    d->port = ep->port;
    d->rx = 0;
    d->conn_dps = ep->dps;
    d->conn_us = now_us();
    if (d->first_us == 0)
        d->first_us = d->conn_us;
    const struct addr_entry *a = resolve(f, d->host, ep->port, why, sizeof(why));
    if (a == NULL) {
        drop(d, -EHOSTUNREACH, why, now);
        return;
    }
    d->fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0) {
        snprintf(why, sizeof(why), "cannot open a socket: %s (raise `ulimit -n` for many "
                 "devices)", strerror(errno));
        drop(d, -errno, why, now);
        return;
    }
    int one = 1; /* small MQTT packets: no Nagle delay (client_posix.c) */
    setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!d->started) {
        d->started = true;
        f->st.started++;
    }
    d->handshake_deadline = now + 30000;
    if (connect(d->fd, (const struct sockaddr *)&a->addr, a->len) != 0 && errno != EINPROGRESS) {
        azki_explain_connect(d->host, ep->port, -errno, why, sizeof(why));
        drop(d, -errno, why, now);
        return;
    }
    d->phase = P_CONNECTING;
    watch(d, EPOLLOUT);
}

static void handshake(struct dev *d, uint64_t now)
{
    char why[768];
    if (d->ssl == NULL) {
        d->ssl = SSL_new(d->f->o->tls);
        if (d->ssl == NULL || (d->cert != NULL && (SSL_use_certificate(d->ssl, d->cert) != 1 ||
                                                   SSL_use_PrivateKey(d->ssl, d->key) != 1))) {
            drop(d, -ENOMEM, "cannot set up TLS", now);
            return;
        }
        for (int i = 0; d->f->o->chain && i < sk_X509_num(d->f->o->chain); i++)
            SSL_add1_chain_cert(d->ssl, sk_X509_value(d->f->o->chain, i));
        SSL_set_mode(d->ssl, SSL_MODE_RELEASE_BUFFERS);
        SSL_set_tlsext_host_name(d->ssl, d->host);
        SSL_set1_host(d->ssl, d->host);
        SSL_set_fd(d->ssl, d->fd);
        d->phase = P_HANDSHAKE;
    }
    ERR_clear_error();
    int r = SSL_connect(d->ssl);
    if (r == 1) {
        d->phase = P_UP;
        enum azk_client_state cs = azk_client_state(&d->c);
        if (cs == AZK_CLIENT_STOPPED || cs == AZK_CLIENT_FAILED) {
            drop(d, 0, NULL, now); /* stopped while the handshake ran */
            return;
        }
        azk_client_transport_up(&d->c, now);
        watch(d, EPOLLIN);
        return;
    }
    int e = SSL_get_error(d->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        watch(d, EPOLLIN);
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        watch(d, EPOLLOUT);
        return;
    }
    /* A refusal ends the device; an I/O error (a saturated server resetting) is retried. */
    int err = azki_tls_handshake_error(d->ssl, e, false);
    azki_explain_tls(d->ssl, d->host, d->f->o->trusted_cas, why, sizeof(why));
    drop(d, err, why, now);
}

/* Writes what the client queued; waits for EPOLLOUT when the socket is full. */
static void flush_out(struct dev *d, uint64_t now)
{
    const uint8_t *data;
    size_t n;
    while ((n = azk_client_output(&d->c, &data)) > 0) {
        ERR_clear_error();
        int w = SSL_write(d->ssl, data, (int)n);
        if (w > 0) {
            azk_client_output_consumed(&d->c, (size_t)w);
            marks_written(d, (size_t)w);
            continue;
        }
        int e = SSL_get_error(d->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            watch(d, e == SSL_ERROR_WANT_WRITE ? EPOLLIN | EPOLLOUT : EPOLLIN);
            return;
        }
        char why[512];
        azki_explain_lost(d->rx, -EPIPE, true, why, sizeof(why));
        drop(d, -EPIPE, why, now);
        return;
    }
    watch(d, EPOLLIN);
    d->blocked = false; /* the output drained: room for more */
    if (azk_client_wants_close(&d->c))
        drop(d, 0, NULL, now);
}

static void read_in(struct dev *d, uint64_t now)
{
    uint8_t buf[4096];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(d->ssl, buf, sizeof(buf));
        if (r > 0) {
            /* The server's first packet is its CONNACK: a hub connection's latency ends at an
             * accepting one (0x20, length 2, flags, code 0). */
            if (d->rx == 0 && !d->conn_dps && r >= 4 && buf[0] == 0x20 && buf[3] == 0)
                azki_hist_add(&d->f->connect, now_us() - d->conn_us);
            d->rx += (size_t)r;
            azk_client_receive(&d->c, buf, (size_t)r, now);
            continue;
        }
        int e = SSL_get_error(d->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return;
        char why[512];
        azki_explain_lost(d->rx, e == SSL_ERROR_ZERO_RETURN ? 1 : -ECONNRESET, false, why,
                         sizeof(why));
        drop(d, -ECONNRESET, why, now);
        return;
    }
}

static void on_io(struct dev *d, uint32_t events, uint64_t now)
{
    if (d->phase == P_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            char why[512];
            azki_explain_connect(d->host, d->port, -(soerr ? soerr : ECONNREFUSED), why,
                                sizeof(why));
            drop(d, -(soerr ? soerr : ECONNREFUSED), why, now);
            return;
        }
        handshake(d, now);
    } else if (d->phase == P_HANDSHAKE) {
        handshake(d, now);
    } else if (d->phase == P_UP) {
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            read_in(d, now);
        if (d->phase == P_UP && (events & EPOLLOUT))
            flush_out(d, now);
    }
}

/* ---- the loop ------------------------------------------------------------------------------- */

/* Sends what is due: one message per interval, or with no interval as many as the in-flight
 * window and the output take (written out in between). */
static void send_due(struct dev *d, uint64_t now)
{
    const struct azk_fleet_opts *o = d->f->o;
    bool flushed = false;
    while (d->phase == P_UP && d->connected && !d->blocked && d->sent < o->messages &&
           now >= d->next_send) {
        size_t len = make_payload(d->f, d, d->sent + 1);
        uint32_t id = 0;
        int rc = azk_client_send_telemetry(&d->c, (struct azk_span){0},
                                           (struct azk_span){d->f->payload, len},
                                           o->qos, &id);
        if (rc == 0) {
            d->sent++;
            d->f->st.sent++;
            if (o->qos == 1)
                mark_sent(d, id);
            if (o->interval_ms) {
                d->next_send = now + o->interval_ms;
                return;
            }
            continue;
        }
        const uint8_t *pending;
        if (rc == -ENOBUFS && !flushed && azk_client_output(&d->c, &pending) > 0) {
            flushed = true; /* the output is full: write it, then try once more */
            flush_out(d, now);
            continue;
        }
        if (rc == -ENOBUFS) {
            d->blocked = true; /* until a PUBACK or a drained output */
            return;
        }
        d->next_send = now + 20; /* not connected after all: later */
        return;
    }
}

/* One device's timers, telemetry and connection wishes; returns its next wake (0: none). */
static uint64_t service(struct dev *d, uint64_t now, bool stopping)
{
    const struct azk_fleet_opts *o = d->f->o;
    uint64_t next = azk_client_tick(&d->c, now);
    if (d->renew_at != 0 && now >= d->renew_at && !stopping && d->connected) {
        d->renew_at = 0; /* a clean reconnect with a new SAS token */
        connection_gone(d);
        azk_client_reconnect(&d->c);
    }
    if (d->renew_at != 0 && d->connected)
        next = next == 0 || d->renew_at < next ? d->renew_at : next;
    if (!stopping)
        send_due(d, now);
    if (d->phase == P_UP && d->sent < o->messages && !stopping && d->connected && !d->blocked)
        next = next == 0 || d->next_send < next ? d->next_send : next;
    struct azk_client_endpoint ep;
    if (d->phase == P_IDLE && azk_client_endpoint(&d->c, &ep))
        open_transport(d, &ep, now);
    if ((d->phase == P_CONNECTING || d->phase == P_HANDSHAKE) && stopping)
        drop(d, 0, NULL, now);
    if ((d->phase == P_CONNECTING || d->phase == P_HANDSHAKE) && now >= d->handshake_deadline)
        drop(d, -ETIMEDOUT, "the TCP connect or TLS handshake did not finish in 30 s", now);
    /* Whatever the client queued (answers, polls, PINGREQs, telemetry) goes out now. */
    const uint8_t *pending;
    if (d->phase == P_UP && (azk_client_output(&d->c, &pending) > 0 ||
                             azk_client_wants_close(&d->c)))
        flush_out(d, now);
    return next;
}

static bool device_done(const struct dev *d, const struct azk_fleet_opts *o)
{
    enum azk_client_state s = azk_client_state(&d->c);
    if (s == AZK_CLIENT_FAILED || s == AZK_CLIENT_STOPPED)
        return d->phase == P_IDLE;
    return d->ever_connected && d->sent >= o->messages &&
           (o->qos == 0 || d->acked + d->lost >= o->messages);
}

int azk_fleet_run(const struct azk_fleet_opts *o, struct azk_fleet_stats *out)
{
    if (o == NULL || out == NULL || o->tls == NULL ||
        (o->group_key == NULL && (o->issuer == NULL || o->issuer_key == NULL)) || o->count == 0 || o->count > MAX_DEVICES ||
        (o->id_scope == NULL) == (o->hub_host == NULL) || (o->qos != 0 && o->qos != 1) ||
        o->inflight > AZK_CLIENT_INFLIGHT_MAX ||
        (o->payload_size != 0 && (o->payload_size < azk_fleet_payload_min(o) ||
                                  o->payload_size > AZK_FLEET_PAYLOAD_MAX)))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o->count + 64) {
        rl.rlim_cur = rl.rlim_max < o->count + 64 ? rl.rlim_max : o->count + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < o->count + 16)
            return -EMFILE;
    }
    /* The histograms are a few KB each: on the heap, not the stack. */
    struct fleet *const f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -ENOMEM;
    f->o = o;
    f->st.devices = o->count;
    f->window = o->inflight ? o->inflight : 1;
    f->devs = calloc(o->count, sizeof(*f->devs));
    struct mark *marks = calloc(o->count * f->window, sizeof(*marks));
    char *keys = o->group_key ? calloc(o->count, AZK_SAS_KEY_B64_MAX) : NULL;
    f->payload_cap = (o->payload_size > AZK_CLIENT_ID_MAX + 48 ? o->payload_size
                                                               : AZK_CLIENT_ID_MAX + 48) + 1;
    f->payload = malloc(f->payload_cap);
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    /* The send half of the work buffer holds a whole PUBLISH (topic, id and payload). */
    size_t ws = o->work_size ? o->work_size : 4096;
    if (ws < 2 * (o->payload_size + 512))
        ws = 2 * (o->payload_size + 512);
    int rc = f->devs && marks && f->payload && f->ep >= 0 && (keys || !o->group_key) ? 0
                                                                                    : -ENOMEM;
    const char *prefix = o->id_prefix ? o->id_prefix : "fleet-";
    for (size_t i = 0; rc == 0 && i < o->count; i++) {
        struct dev *d = &f->devs[i];
        d->f = f;
        d->index = i;
        d->fd = -1;
        d->marks = marks + i * f->window;
        snprintf(d->id, sizeof(d->id), "%s%zu", prefix, o->first_index + i);
        d->work = malloc(ws);
        /* Each device's own credential: a key derived from the group key (as DPS derives it),
         * or a certificate issued now. */
        if (o->group_key) {
            d->sas_key = keys + i * AZK_SAS_KEY_B64_MAX;
            rc = azk_sas_derive_key(o->group_key, d->id, d->sas_key);
        } else if (d->work != NULL) {
            rc = issue(o, d->id, &d->cert, &d->key);
        }
        if (d->work == NULL || rc != 0) {
            rc = rc ? rc : -ENOMEM;
            break;
        }
        struct azk_client_config cfg = {.on_event = on_event, .ctx = d,
                                        .inflight_max = f->window,
                                        .password = o->group_key ? sas_password : NULL};
        if (o->id_scope) {
            cfg.id_scope = azk_span_from_str(o->id_scope);
            cfg.registration_id = azk_span_from_str(d->id);
            if (o->dps_host)
                cfg.dps_host = azk_span_from_str(o->dps_host);
        } else {
            cfg.hub_host = azk_span_from_str(o->hub_host);
            cfg.device_id = azk_span_from_str(d->id);
        }
        rc = azk_client_init(&d->c, &cfg, d->work, ws);
    }
    sigset_t old_mask;
    azki_sigpipe_block(&old_mask);
    uint64_t t0 = azk_posix_now_ms(), last_progress = t0;
    uint32_t rate = o->rate ? o->rate : 200;
    size_t launched = 0;
    bool stopping = false;
    struct epoll_event evs[256];
    while (rc == 0) {
        uint64_t now = azk_posix_now_ms();
        f->st.elapsed_ms = now - t0;
        if (!stopping && ((o->stop && *o->stop) ||
                          (o->duration_s && f->st.elapsed_ms >= (uint64_t)o->duration_s * 1000))) {
            stopping = true;
            for (size_t i = 0; i < o->count; i++)
                azk_client_stop(&f->devs[i].c);
        }
        /* Start devices at the configured rate. */
        while (!stopping && launched < o->count && launched * 1000u <= f->st.elapsed_ms * rate)
            azk_client_start(&f->devs[launched++].c, now);
        uint64_t wake = 0;
        size_t done = 0;
        for (size_t i = 0; i < launched; i++) {
            struct dev *d = &f->devs[i];
            uint64_t w = service(d, now, stopping);
            if (w != 0 && (wake == 0 || w < wake))
                wake = w;
            done += device_done(d, o);
        }
        if (done == o->count && !stopping) {
            stopping = true;
            for (size_t i = 0; i < o->count; i++)
                azk_client_stop(&f->devs[i].c);
            continue;
        }
        bool idle = true;
        for (size_t i = 0; i < launched && idle; i++)
            idle = f->devs[i].phase == P_IDLE;
        if (stopping && idle)
            break;
        if (o->progress && now - last_progress >= 1000) {
            last_progress = now;
            summarize(f);
            o->progress(o->ctx, &f->st);
        }
        int timeout = 50;
        if (wake != 0)
            timeout = wake <= now ? 0 : (wake - now < 50 ? (int)(wake - now) : 50);
        int n = epoll_wait(f->ep, evs, 256, timeout);
        now = azk_posix_now_ms();
        for (int i = 0; i < n; i++)
            on_io(evs[i].data.ptr, evs[i].events, now);
    }
    for (size_t i = 0; f->devs && i < o->count; i++) {
        struct dev *d = &f->devs[i];
        if (d->ssl)
            SSL_free(d->ssl);
        if (d->fd >= 0)
            close(d->fd);
        X509_free(d->cert);
        EVP_PKEY_free(d->key);
        free(d->work);
    }
    free(f->devs);
    free(marks);
    if (keys != NULL)
        OPENSSL_cleanse(keys, o->count * AZK_SAS_KEY_B64_MAX);
    free(keys);
    OPENSSL_cleanse(f->token, sizeof(f->token));
    free(f->payload);
    if (f->ep >= 0)
        close(f->ep);
    azki_sigpipe_restore(&old_mask);
    f->st.elapsed_ms = azk_posix_now_ms() - t0;
    summarize(f);
    *out = f->st;
    if (o->progress && rc == 0)
        o->progress(o->ctx, &f->st);
free(f);
    return rc;
}

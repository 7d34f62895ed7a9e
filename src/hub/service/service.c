/* The HTTPS service API: evhttp over OpenSSL bufferevents, SAS authorisation, routing to the
 * resource files (svc_*.c), and the answer helpers they share. */
#include "hub/service/service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "azkit/azure_hub.h"
#include "hub/amqp/amqp.h"
#include "hub/daemon.h"
#include "hub/fota/fota.h"
#include "hub/log.h"
#include "hub/service/sas.h"
#include "hub/server_pki.h"
#include "hub/service/svc_device_c2d.h"
#include "hub/service/svc_common.h"
#include "hub/tls.h"
#include "hub/iothub/twin_limits.h"
#include "hub/ws/ws_handshake.h"
#include "hub/ws/ws_tunnel.h"

#define SVC_BODY_MAX (512 * 1024)
#define SVC_HEADERS_MAX (64 * 1024)
#define SVC_MAX_HOSTS (HUB_MAX_HOSTNAMES + HUB_LINKED_MAX + 4)
/* Concurrent service connections; the next ones are closed at once (with a log line). */
#define SVC_MAX_CONNS 256
/* A new connection must complete its TLS handshake and its first request (line, headers and
 * body) within this many seconds, however slowly it trickles bytes in. */
#define SVC_REQUEST_DEADLINE_S 15
/* evhttp's per-read/write idle timeout, and the time a kept-alive connection gets, after an
 * answer, to send its next complete request. */
#define SVC_IDLE_S 120

/* One accepted service connection (see "connection limits" below). */
struct svc_conn {
    struct svc_conn *next, *prev;
    struct hub_service *s; /* NULL once the service stopped */
    struct bufferevent *bev;
    struct event *timer;   /* the request deadline (or the refusal); NULL after stop */
    bool refused;          /* over the cap: closed at once, not counted */
    bool websocket;        /* now MQTT over WebSockets (ws/): no longer counted */
};

struct hub_service {
    struct hub_daemon *d;
    SSL_CTX *ctx;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    char service_key[64];
    struct hub_sas_policy policies[2]; /* iothubowner, provisioningserviceowner */
    size_t policy_count;
    const char *hosts[SVC_MAX_HOSTS];
    size_t host_count;
    struct svc_op ops;   /* list head of pending asynchronous answers */
    void *telemetry;     /* svc_telemetry.c's state */
    struct svc_conn conns; /* list head of the accepted connections */
    size_t conn_count;     /* those counted against SVC_MAX_CONNS */
    struct hub_ws_tunnels ws; /* connections turned into MQTT over WebSockets */
    struct hub_fota *fota;    /* firmware images and their server (hub/fota/) */
};

struct hub_fota *svc_fota_state(struct hub_service *s)
{
    return s->fota;
}

void **svc_telemetry_slot(struct hub_service *s)
{
    return &s->telemetry;
}

/* ---- answers ------------------------------------------------------------------------------ */

static void add_common_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char id[40];
    svc_random_hex(16, id);
    evhttp_add_header(h, "iothub-request-id", id);
}

void svc_reply_json(struct evhttp_request *req, int status, cJSON *obj, const char *etag)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    add_common_headers(req);
    struct evbuffer *buf = evbuffer_new();
    if (obj != NULL) {
        char *text = cJSON_PrintUnformatted(obj);
        cJSON_Delete(obj);
        if (text == NULL) {
            evbuffer_free(buf);
            evhttp_send_reply(req, 500, "Internal Server Error", NULL);
            return;
        }
        evbuffer_add(buf, text, strlen(text));
        free(text);
        evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
    }
    if (etag != NULL) {
        char q[HUB_ETAG_MAX + 4];
        snprintf(q, sizeof(q), "\"%s\"", etag);
        evhttp_add_header(h, "ETag", q);
    }
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
}

void svc_reply_empty(struct evhttp_request *req, int status)
{
    add_common_headers(req);
    evhttp_send_reply(req, status, NULL, NULL);
}

void svc_reply_page(struct svc_req *r, cJSON *items, const char *item_type, const char *next)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "x-ms-item-type", item_type);
    if (next != NULL)
        evhttp_add_header(h, "x-ms-continuation", next);
    svc_reply_json(r->req, 200, items, NULL);
}

/* Fills `o` with IoT Hub's error shape, {"Message":"ErrorCode:<code>;<text>",
 * "ExceptionMessage":"Tracking ID:..."}, which the service SDKs' parsers and the admin client
 * read; returns the tracking id and time in tid/when for shapes that add their own fields. */
static void add_hub_error(cJSON *o, const char *code, const char *text, char tid[40],
                          char when[40])
{
    char msg[700], track[200];
    snprintf(msg, sizeof(msg), "ErrorCode:%s;%s", code, text);
    svc_random_hex(16, tid);
    svc_time_iso(hub_now_ms(), when);
    snprintf(track, sizeof(track), "Tracking ID:%s-G:0-TimeStamp:%s", tid, when);
    cJSON_AddStringToObject(o, "Message", msg);
    cJSON_AddStringToObject(o, "ExceptionMessage", track);
}

void svc_reply_error(struct evhttp_request *req, int status, const char *code, const char *fmt, ...)
{
    char text[512], tid[40], when[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    add_hub_error(o, code, text, tid, when);
    evhttp_add_header(evhttp_request_get_output_headers(req), "iothub-errorcode", code);
    svc_reply_json(req, status, o, NULL);
}

void svc_reply_store_error(struct evhttp_request *req, int rc, const char *what)
{
    switch (rc) {
    case -ENOENT:
        svc_reply_error(req, 404, "DeviceNotFound", "Device %s not found.", what);
        break;
    case -ESTALE:
        svc_reply_error(req, 412, "PreconditionFailed",
                        "Precondition failed: the If-Match etag does not match %s's current "
                        "etag.", what);
        break;
    case -EEXIST:
        svc_reply_error(req, 409, "DeviceAlreadyExists", "A device with ID '%s' is already "
                        "registered.", what);
        break;
    case -EINVAL:
    case -EBADMSG:
        svc_reply_error(req, 400, "ArgumentInvalid", "Invalid request for %s.", what);
        break;
    case -E2BIG:
        svc_reply_error(req, 400, "ArgumentInvalid", "The twin of %s would exceed IoT Hub's "
                        "size limits (tags %d KB, desired and reported properties %d KB each).",
                        what, HUB_TWIN_TAGS_MAX / 1024, HUB_TWIN_SECTION_MAX / 1024);
        break;
    case -ENOSPC:
        svc_reply_error(req, 403, "DeviceMaximumQueueDepthExceeded",
                        "Maximum number of messages in the queue (%d) for device %s exceeded.",
                        HUB_C2D_QUEUE_MAX, what);
        break;
    case -EIO:
        svc_reply_error(req, 503, "ServiceUnavailable", "The hub could not store the change "
                        "(%s).", what);
        break;
    default:
        svc_reply_error(req, 500, "ServerError", "Internal error (%s): %s.", what,
                        azk_strerror(rc));
        break;
    }
}

void svc_dps_reply_error(struct evhttp_request *req, int status, int code, const char *name,
                         const char *fmt, ...)
{
    char text[512], tid[40], when[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    /* IoT Hub's shape, which the service SDKs' error parsers and the admin client read ... */
    add_hub_error(o, name, text, tid, when);
    /* ... and DPS's ProvisioningServiceErrorDetails. */
    cJSON_AddNumberToObject(o, "errorCode", code);
    cJSON_AddStringToObject(o, "trackingId", tid);
    cJSON_AddStringToObject(o, "message", text);
    cJSON_AddStringToObject(o, "timestampUtc", when);
    char num[16];
    snprintf(num, sizeof(num), "%d", code);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "x-ms-error-code", num);
    evhttp_add_header(h, "iothub-errorcode", name);
    svc_reply_json(req, status, o, NULL);
}

void svc_dps_reply_store_error(struct evhttp_request *req, int rc, const char *what)
{
    switch (rc) {
    case -ENOENT:
        svc_dps_reply_error(req, 404, 404201, "NotFound", "%s not found.", what);
        break;
    case -ESTALE:
        svc_dps_reply_error(req, 412, 412002, "PreconditionFailed",
                            "Precondition failed: the If-Match etag does not match the current "
                            "etag of %s.", what);
        break;
    case -EEXIST:
        svc_dps_reply_error(req, 409, 409201, "Conflict", "%s already exists.", what);
        break;
    case -EINVAL:
    case -EBADMSG:
        svc_dps_reply_error(req, 400, 400004, "ArgumentInvalid", "Invalid request for %s.", what);
        break;
    case -EIO:
        svc_dps_reply_error(req, 503, 503001, "ServiceUnavailable",
                            "The service could not store the change (%s).", what);
        break;
    default:
        svc_dps_reply_error(req, 500, 500001, "ServerError", "Internal error (%s): %s.", what,
                            azk_strerror(rc));
        break;
    }
}

/* ---- asynchronous answers ----------------------------------------------------------------- */

struct svc_op *svc_op_new(struct svc_req *r, const char *id, int kind)
{
    struct svc_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return NULL;
    if (id != NULL)
        snprintf(op->id, sizeof(op->id), "%s", id);
    op->kind = kind;
    op->s = r->s;
    op->d = r->d;
    op->hub = r->hub;
    op->req = r->req;
    struct svc_op *head = &r->s->ops;
    op->next = head->next;
    op->prev = head;
    head->next->prev = op;
    head->next = op;
    return op;
}

void svc_op_free(struct svc_op *op)
{
    if (op == NULL)
        return;
    if (op->next) {
        op->next->prev = op->prev;
        op->prev->next = op->next;
    }
    free(op->data);
    free(op);
}

bool svc_op_live(const struct svc_op *op)
{
    return op->req != NULL && op->s != NULL;
}

/* ---- request helpers ---------------------------------------------------------------------- */

const char *svc_header(const struct svc_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *svc_if_match(const struct svc_req *r, char *buf, size_t size)
{
    const char *v = svc_header(r, "If-Match");
    if (v == NULL)
        return NULL;
    while (*v == ' ')
        v++;
    if (strncmp(v, "W/", 2) == 0)
        v += 2;
    size_t l = strlen(v);
    while (l > 0 && v[l - 1] == ' ')
        l--;
    if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
        v++;
        l -= 2;
    }
    if (l >= size)
        l = size - 1;
    memcpy(buf, v, l);
    buf[l] = '\0';
    return buf;
}

cJSON *svc_body_json(struct svc_req *r)
{
    cJSON *j = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (j == NULL)
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        r->body_len ? "The request body is not valid JSON."
                                    : "The request body is missing.");
    return j;
}

bool svc_query(const struct svc_req *r, const char *name, char *buf, size_t size)
{
    if (r->query == NULL)
        return false;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(r->query, &q) != 0) {
        evhttp_clear_headers(&q);
        return false;
    }
    const char *v = evhttp_find_header(&q, name);
    bool found = v != NULL;
    if (found)
        snprintf(buf, size, "%s", v);
    evhttp_clear_headers(&q);
    return found;
}

void svc_time_iso(int64_t ms, char out[40])
{
    if (ms <= 0) {
        strcpy(out, "0001-01-01T00:00:00Z");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03uZ", (unsigned)(ms % 1000) % 1000u);
}

void svc_random_hex(size_t bytes, char *out)
{
    unsigned char b[64];
    if (bytes > sizeof(b))
        bytes = sizeof(b);
    if (RAND_bytes(b, (int)bytes) != 1)
        memset(b, 0, bytes);
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    out[2 * bytes] = '\0';
}

/* ---- routing ------------------------------------------------------------------------------ */

static enum svc_method method_of(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: return SVC_GET;
    case EVHTTP_REQ_PUT: return SVC_PUT;
    case EVHTTP_REQ_POST: return SVC_POST;
    case EVHTTP_REQ_PATCH: return SVC_PATCH;
    case EVHTTP_REQ_DELETE: return SVC_DELETE;
    default: return SVC_OTHER;
    }
}

static const char *method_name(enum svc_method m)
{
    static const char *const names[] = {"GET", "PUT", "POST", "PATCH", "DELETE", "?"};
    return names[m];
}

static void peer_of(struct evhttp_request *req, char *out, size_t size)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    const char *addr = NULL;
    ev_uint16_t port = 0;
    if (c != NULL)
        evhttp_connection_get_peer(c, (char **)&addr, &port);
    snprintf(out, size, "%s:%u", addr ? addr : "?", (unsigned)port);
}

/* DPS endpoints: /enrollments, /enrollmentGroups, /registrations and /azkit/dps/... */
static bool is_dps_path(const char *path)
{
    while (path != NULL && *path == '/')
        path++;
    if (path == NULL)
        return false;
    static const char *const roots[] = {"enrollments", "enrollmentGroups", "registrations",
                                        "azkit/dps"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        size_t l = strlen(roots[i]);
        if (strncasecmp(path, roots[i], l) == 0 &&
            (path[l] == '\0' || path[l] == '/' || path[l] == '?'))
            return true;
    }
    return false;
}

static struct svc_conn *conn_of_request(struct evhttp_request *req);
static void conn_request_started(struct evhttp_request *req);

/* The host of a token's resource ("https://host:443/devices/x" -> "host") into out. */
static void sr_host(const char *auth, char *out, size_t size)
{
    struct hub_sas_token t;
    out[0] = '\0';
    if (auth == NULL || hub_sas_parse(auth, &t) != 0)
        return;
    const char *p = t.sr;
    if (strncasecmp(p, "https://", 8) == 0)
        p += 8;
    size_t n = strcspn(p, "/");
    snprintf(out, size, "%.*s", (int)n, p);
}

/* Which IoT hub a request is for: the Host header names it (a served hub's name; anything
 * else -- localhost, an address -- is the primary hub), and a token is valid only for the hub
 * its resource (sr) names. The token was verified against the served names, so an sr that
 * is not a linked hub's name is one of the primary hub's (its --hostname values, localhost,
 * 127.0.0.1, ::1): such a token is for the primary hub, never for a linked one. NULL (after
 * answering 401) when the two disagree. */
static struct hub_iothub *request_hub(struct svc_req *r, const char *auth, const char *peer)
{
    const char *host = evhttp_request_get_host(r->req);
    struct hub_iothub *by_host = host ? hub_iothub_find(r->d, host, strlen(host)) : NULL;
    char sr[HUB_SAS_SR_MAX + 1];
    sr_host(auth, sr, sizeof(sr));
    struct hub_iothub *by_sr = hub_iothub_find(r->d, sr, strlen(sr));
    struct hub_iothub *h = by_host ? by_host : &r->d->hubs[0];
    if (by_sr == NULL)
        by_sr = &r->d->hubs[0];
    if (by_sr != h) {
        hub_log(HUB_LOG_INFO, "service API: refused a request to %s from %s: its token (sr "
                "'%s') is for %s", h->hostname, peer, sr, by_sr->hostname);
        svc_reply_error(r->req, 401, "IotHubUnauthorizedAccess",
                        "Unauthorized: the token's resource (sr) '%s' names IoT hub %s, the "
                        "request went to %s.", sr, by_sr->hostname, h->hostname);
        return NULL;
    }
    return h;
}

/* The WebSocket handshake's parts of a request. */
static void ws_request_of(struct evhttp_request *req, const char *path, struct hub_ws_request *w)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    w->is_get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
    w->path = path;
    w->upgrade = evhttp_find_header(h, "Upgrade");
    w->connection = evhttp_find_header(h, "Connection");
    w->version = evhttp_find_header(h, "Sec-WebSocket-Version");
    w->key = evhttp_find_header(h, "Sec-WebSocket-Key");
    w->protocol = evhttp_find_header(h, "Sec-WebSocket-Protocol");
}

/* MQTT and AMQP over WebSockets (hub/ws/ws_tunnel.h): by subprotocol, the connection becomes an
 * MQTT connection, which authenticates the device at CONNECT as on the MQTT port, or an AMQP
 * connection, authorised by CBS token as on the AMQP port; a bad handshake gets an HTTP
 * status. */
static void serve_websocket(struct hub_service *s, struct evhttp_request *req,
                            const struct hub_ws_request *w, const char *peer)
{
    char accept[HUB_WS_ACCEPT_SIZE];
    const char *why = NULL;
    enum hub_ws_proto proto = HUB_WS_MQTT;
    int status = hub_ws_check(w, accept, &proto, &why);
    if (status == 0) {
        /* Frames may hold several MQTT packets or AMQP frames (or parts): a few of the largest
         * accepted. */
        uint64_t max = 4 * ((uint64_t)s->d->cfg.max_telemetry_packet + 1024);
        if (proto == HUB_WS_AMQP)
            max = 4 * (uint64_t)HUB_AMQP_MAX_FRAME;
        int rc = hub_ws_tunnel_open(s->d, &s->ws, req, accept, proto, peer, max);
        struct svc_conn *c = rc == 0 ? conn_of_request(req) : NULL;
        if (c != NULL && !c->refused && !c->websocket) {
            /* A device (or AMQP) connection now, under MQTT or AMQP timers: it leaves the service's
             * connection cap, so devices over WebSockets do not crowd out REST callers. */
            c->websocket = true;
            s->conn_count--;
        }
        if (rc == 0)
            return;
        status = rc == -ENOTSUP ? 400 : 500;
        why = rc == -ENOTSUP ? "AMQP is not served (the AMQP port could not be bound)"
                             : "cannot take over the connection";
    }
    hub_log(HUB_LOG_INFO, "service API: refused a WebSocket handshake from %s: %s (HTTP %d)",
            peer, why, status);
    if (status == 426)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Sec-WebSocket-Version", "13");
    svc_reply_error(req, status, status == 404 ? "NotFound" : status == 500 ? "ServerError"
                                                                           : "ArgumentInvalid",
                    "Refused WebSocket handshake: %s.", why);
}

enum hub_sas_result hub_service_verify(const struct hub_service *s, const char *token,
                                       enum hub_sas_scope scope, int64_t now_s,
                                       const struct hub_sas_policy **matched)
{
    const struct hub_sas_policy *pol = NULL;
    enum hub_sas_result ar = hub_sas_verify(token, s->policies, s->policy_count, s->hosts,
                                            s->host_count, now_s, &pol);
    if (ar == HUB_SAS_OK && !hub_sas_policy_allows(pol->name, scope))
        ar = HUB_SAS_WRONG_SCOPE;
    if (matched != NULL)
        *matched = ar == HUB_SAS_OK ? pol : NULL;
    return ar;
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct hub_service *s = arg;
    conn_request_started(req);
    struct svc_req r;
    memset(&r, 0, sizeof(r));
    r.s = s;
    r.d = s->d;
    r.req = req;
    r.method = method_of(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    r.query = uri ? evhttp_uri_get_query(uri) : NULL;
    char peer[80];
    peer_of(req, peer, sizeof(peer));

    /* A WebSocket upgrade carries no token: the device authenticates in MQTT's CONNECT. */
    struct hub_ws_request wr;
    ws_request_of(req, path, &wr);
    if (hub_ws_is_upgrade(&wr)) {
        serve_websocket(s, req, &wr, peer);
        return;
    }
    /* Firmware images carry no token either: the path's random part is the capability
     * (hub/fota/fota.h), as azure_fota's download client sends no credentials. */
    if (path != NULL && strncmp(path, "/firmware/", 10) == 0) {
        hub_fota_serve(s->fota, req, path);
        return;
    }
    /* The device side (C2D over HTTPS) is authorised with the device's own token. */
    if (svc_device_c2d_path(path)) {
        svc_device_c2d(s->d, req, path, svc_header(&r, "Authorization"), peer);
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", "0");
        evhttp_send_reply(req, 405, "Method Not Allowed", NULL); /* HEAD is for images */
        return;
    }

    /* Authorisation first: nothing about the hub is revealed without a valid token. */
    const char *auth = svc_header(&r, "Authorization");
    bool dps = is_dps_path(path);
    const struct hub_sas_policy *pol = NULL;
    enum hub_sas_result ar = hub_service_verify(s, auth, dps ? HUB_SAS_SCOPE_DPS
                                                             : HUB_SAS_SCOPE_HUB,
                                                hub_now_ms() / 1000, &pol);
    if (ar != HUB_SAS_OK) {
        hub_log(HUB_LOG_INFO, "service API: refused %s %s from %s: %s", method_name(r.method),
                path ? path : "?", peer, hub_sas_result_text(ar));
        if (dps)
            svc_dps_reply_error(req, 401, 401002, "IotHubUnauthorizedAccess",
                                "Unauthorized: %s.", hub_sas_result_text(ar));
        else
            svc_reply_error(req, 401, "IotHubUnauthorizedAccess", "Unauthorized: %s.",
                            hub_sas_result_text(ar));
        return;
    }
    if (!dps && (r.hub = request_hub(&r, auth, peer)) == NULL)
        return;
    if (dps)
        r.hub = &r.d->hubs[0];

    /* Path segments, percent-decoded. */
    char segbuf[SVC_MAX_SEGS][SVC_SEG_MAX + 1];
    const char *p = path ? path : "/";
    while (*p == '/')
        p++;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t n = 0;
        if (r.nseg == SVC_MAX_SEGS || len > SVC_SEG_MAX ||
            azk_pct_decode((struct azk_span){p, len}, segbuf[r.nseg], SVC_SEG_MAX, &n) != 0) {
            svc_reply_error(req, 400, "ArgumentInvalid", "Malformed request path.");
            return;
        }
        segbuf[r.nseg][n] = '\0';
        if (strlen(segbuf[r.nseg]) != n) {
            svc_reply_error(req, 400, "ArgumentInvalid", "Malformed request path.");
            return;
        }
        r.seg[r.nseg] = segbuf[r.nseg];
        r.nseg++;
        if (e == NULL)
            break;
        p = e + 1;
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    r.body_len = evbuffer_get_length(in);
    r.body = malloc(r.body_len + 1);
    if (r.body == NULL) {
        svc_reply_error(req, 500, "ServerError", "Out of memory.");
        return;
    }
    evbuffer_copyout(in, r.body, r.body_len);
    r.body[r.body_len] = '\0';

    hub_log(HUB_LOG_DEBUG, "service API: %s %s from %s (%s)", method_name(r.method),
            path ? path : "/", peer, pol->name);

    const char *s0 = r.nseg > 0 ? r.seg[0] : "";
    if (strcmp(s0, "enrollments") == 0) {
        svc_dps_enrollments(&r);
    } else if (strcasecmp(s0, "enrollmentGroups") == 0) {
        svc_dps_groups(&r);
    } else if (strcmp(s0, "registrations") == 0) {
        svc_dps_registrations(&r);
    } else if (strcmp(s0, "azkit") == 0 && r.nseg >= 3 && strcmp(r.seg[1], "dps") == 0 &&
               strcmp(r.seg[2], "certificates") == 0) {
        svc_dps_cas(&r);
    } else if (dps) {
        svc_dps_reply_error(req, 404, 404001, "NotFound", "No such endpoint: %s.", path);
    } else if (strcmp(s0, "devices") == 0 && r.nseg == 2 && strcmp(r.seg[1], "query") == 0 &&
               r.method == SVC_POST) {
        svc_devices_query(&r); /* POST on a device id is not an operation: this is the query */
    } else if (strcmp(s0, "devices") == 0) {
        svc_devices(&r);
    } else if (strcmp(s0, "twins") == 0) {
        if (r.nseg == 3 && strcmp(r.seg[2], "methods") == 0)
            svc_methods(&r);
        else
            svc_twins(&r);
    } else if (strcmp(s0, "azkit") == 0 && r.nseg >= 2) {
        if (strcmp(r.seg[1], "certificates") == 0)
            svc_cas(&r);
        else if (strcmp(r.seg[1], "devices") == 0)
            svc_c2d(&r);
        else if (strcmp(r.seg[1], "telemetry") == 0)
            svc_telemetry(&r);
        else if (strcmp(r.seg[1], "faults") == 0)
            svc_faults(&r);
        else if (strcmp(r.seg[1], "consumer-groups") == 0)
            svc_consumer_groups(&r);
        else if (strcmp(r.seg[1], "server-root") == 0)
            svc_server_root(&r);
        else if (strcmp(r.seg[1], "fota") == 0)
            svc_fota(&r);
        else
            svc_reply_error(req, 404, "NotFound", "No such endpoint: %s.", path);
    } else {
        svc_reply_error(req, 404, "NotFound", "No such endpoint: %s.", path ? path : "/");
    }
    free(r.body);
}

/* ---- connection limits -------------------------------------------------------------------- *
 *
 * libevent 2.1's evhttp has no connection cap and no absolute deadline: evhttp_set_timeout()
 * and evhttp_set_timeout_tv() are per-read idle timeouts (a client sending one byte every
 * minute resets them forever), and 2.1 has neither evhttp_set_max_connections() nor
 * evhttp_set_newreqcb() (both 2.2). The only per-connection hook at accept time is the
 * bufferevent callback (bevcb), which does not get the evhttp_connection. So:
 *  - bevcb creates a struct svc_conn, hangs it on the SSL object (ex_data) and counts it;
 *    the ex_data free callback runs when the bufferevent frees its SSL, i.e. when evhttp has
 *    freed the connection, however that happened (EOF, error, timeout, evhttp_free), and
 *    uncounts it. evhttp_connection_set_closecb() is not usable for this: the connection is
 *    unknown until its first request is complete.
 *  - a timer per connection is the deadline; when it fires the socket is shut down
 *    (shutdown(2), the fd stays evhttp's), so evhttp sees EOF and frees the connection through
 *    its normal error path. A connection over the cap gets the same treatment at once (bevcb
 *    must return an SSL bufferevent: NULL would make evhttp serve plain HTTP).
 *  - the router (handle) stops the timer when a request is complete: a handler may hold the
 *    request (telemetry follow mode, direct methods) and the socket is never cut under it. The
 *    request's on-complete callback (answer written) arms it again with SVC_IDLE_S for the next
 *    request of a kept-alive connection -- the bound evhttp's idle timeout gave such a
 *    connection before, now absolute.
 * The deadline covers the TLS handshake, the request line, the headers and the body (at most
 * SVC_BODY_MAX): evhttp tells nothing at the end of the headers before the whole request. */

static int conn_ex_index = -1;

static void conn_unlink(struct svc_conn *c)
{
    if (c->next != NULL) {
        c->next->prev = c->prev;
        c->prev->next = c->next;
        c->next = c->prev = NULL;
    }
}

/* SSL_free() of a service connection's SSL (loop thread: bufferevents are freed there). */
static void conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    struct svc_conn *c = ptr;
    if (c == NULL)
        return;
    if (c->s != NULL) {
        if (!c->refused && !c->websocket && c->s->conn_count > 0)
            c->s->conn_count--;
        conn_unlink(c);
    }
    if (c->timer != NULL)
        event_free(c->timer);
    free(c);
}

static void peer_of_fd(evutil_socket_t fd, char *out, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
            port = ntohs(a->sin6_port);
        } else if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
            port = ntohs(a->sin_port);
        }
    }
    snprintf(out, size, "%s:%u", addr, port);
}

static void conn_cut(evutil_socket_t unused, short what, void *arg)
{
    (void)unused;
    (void)what;
    struct svc_conn *c = arg;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    char peer[80];
    peer_of_fd(fd, peer, sizeof(peer));
    if (c->refused)
        hub_log(HUB_LOG_WARN, "service API: refused connection from %s: %d connections "
                "already open", peer, SVC_MAX_CONNS);
    else
        hub_log(HUB_LOG_INFO, "service API: closing connection from %s: no complete request "
                "in time (%d s for the first, %d s after an answer)", peer,
                SVC_REQUEST_DEADLINE_S, SVC_IDLE_S);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR); /* evhttp sees EOF and frees the connection */
}

static struct svc_conn *conn_of_request(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    struct svc_conn *c = ssl && conn_ex_index >= 0 ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
    return c != NULL && c->s != NULL ? c : NULL;
}

/* The answer to a request is written: the connection may send its next request. */
static void conn_request_done(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct svc_conn *c = conn_of_request(req);
    if (c != NULL && c->timer != NULL) {
        struct timeval tv = {SVC_IDLE_S, 0};
        evtimer_add(c->timer, &tv);
    }
}

/* A complete request reached the router: no deadline while it is handled. */
static void conn_request_started(struct evhttp_request *req)
{
    struct svc_conn *c = conn_of_request(req);
    if (c != NULL && c->timer != NULL && !c->refused)
        evtimer_del(c->timer);
    evhttp_request_set_on_complete_cb(req, conn_request_done, NULL);
}

/* ---- TLS ---------------------------------------------------------------------------------- */

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
    struct hub_service *s = arg;
    SSL *ssl = SSL_new(s->ctx);
    if (ssl == NULL)
        return NULL;
    struct svc_conn *c = calloc(1, sizeof(*c));
    if (c != NULL && (c->timer = evtimer_new(base, conn_cut, c)) == NULL) {
        free(c);
        c = NULL;
    }
    if (c != NULL && SSL_set_ex_data(ssl, conn_ex_index, c) != 1) {
        event_free(c->timer);
        free(c);
        c = NULL;
    }
    /* From here the SSL owns c (conn_ex_free). Without c (out of memory) the connection is
     * served unlimited rather than refused. */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    if (c != NULL) {
        c->s = s;
        c->bev = bev;
        c->next = s->conns.next;
        c->prev = &s->conns;
        s->conns.next->prev = c;
        s->conns.next = c;
        struct timeval tv = {SVC_REQUEST_DEADLINE_S, 0};
        if (s->conn_count >= SVC_MAX_CONNS) {
            c->refused = true; /* cut on the next loop pass, once evhttp has set the fd */
            tv.tv_sec = 0;
        } else {
            s->conn_count++;
        }
        evtimer_add(c->timer, &tv);
    }
    return bev;
}

/* The same TLS as the MQTT port (hub_tls_ctx_new): devices connect here too (MQTT over
 * WebSockets) and may present a client certificate, which MQTT's CONNECT then judges. */
static int make_ctx(const struct hub_daemon *d, const struct hub_pki *pki, SSL_CTX **out)
{
    struct azk_diag dg;
    azk_diag_init(&dg);
    struct hub_tls_opts to = {pki->chain_path, pki->key_path, d->cfg.tls_max};
    int rc = hub_tls_ctx_new(&to, out, &dg);
    for (size_t i = 0; i < dg.count; i++)
        hub_log(HUB_LOG_ERROR, "service API: %s%s%s", dg.items[i].message,
                dg.items[i].fix[0] ? " -- fix: " : "", dg.items[i].fix);
    return rc;
}

static void on_telemetry(void *ctx, uint64_t last_seq)
{
    struct hub_iothub *h = ctx;
    if (h->d->service != NULL)
        svc_telemetry_committed(h->d->service, h, last_seq);
    hub_amqp_telemetry_ready(h->d->amqp); /* the Event Hubs partition receivers */
}

int hub_service_start(struct hub_daemon *d, const struct hub_pki *pki,
                      struct hub_service **out)
{
    *out = NULL;
    struct hub_service *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->d = d;
    s->ops.next = s->ops.prev = &s->ops;
    s->conns.next = s->conns.prev = &s->conns;
    snprintf(s->service_key, sizeof(s->service_key), "%s", pki->service_key);
    s->policies[0] = (struct hub_sas_policy){HUB_SAS_POLICY_HUB, s->service_key};
    s->policies[1] = (struct hub_sas_policy){HUB_SAS_POLICY_DPS, s->service_key};
    s->policy_count = 2;
    for (size_t i = 0; i < d->hub_count; i++)
        s->hosts[s->host_count++] = d->hubs[i].hostname;
    for (size_t i = 0; i < d->cfg.hostname_count && s->host_count < SVC_MAX_HOSTS - 3; i++)
        s->hosts[s->host_count++] = d->cfg.hostnames[i];
    s->hosts[s->host_count++] = "localhost";
    s->hosts[s->host_count++] = "127.0.0.1";
    s->hosts[s->host_count++] = "::1";

    if (conn_ex_index < 0)
        conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
    if (conn_ex_index < 0) {
        free(s);
        return -ENOMEM;
    }
    int rc = make_ctx(d, pki, &s->ctx);
    if (rc != 0) {
        free(s);
        return rc;
    }
    rc = hub_fota_open(d->cfg.data_dir, d->base, &s->fota);
    if (rc != 0) {
        hub_log(HUB_LOG_ERROR, "cannot read the firmware catalogue %s/fota/images.json: %s "
                "-- fix: repair or remove it (and the images under %s/fota)", d->cfg.data_dir,
                azk_strerror(rc), d->cfg.data_dir);
        hub_service_stop(s);
        return rc;
    }
    s->http = evhttp_new(d->base);
    if (s->http == NULL) {
        hub_service_stop(s);
        return -ENOMEM;
    }
    evhttp_set_bevcb(s->http, bevcb, s);
    evhttp_set_gencb(s->http, handle, s);
    evhttp_set_max_body_size(s->http, SVC_BODY_MAX);
    evhttp_set_max_headers_size(s->http, SVC_HEADERS_MAX);
    evhttp_set_timeout(s->http, SVC_IDLE_S);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_HEAD);
    s->sock = evhttp_bind_socket_with_handle(s->http, d->cfg.listen,
                                             (ev_uint16_t)d->cfg.service_port);
    if (s->sock == NULL) {
        int e = errno ? errno : EADDRINUSE;
        hub_log(HUB_LOG_ERROR, "cannot listen for the service API on %s:%d: %s -- fix: pick "
                "another --service-port, or stop what uses it", d->cfg.listen,
                d->cfg.service_port, strerror(e));
        hub_service_stop(s);
        return -e;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(s->sock), (struct sockaddr *)&ss, &sl);
    d->service_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                               : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    rc = svc_telemetry_init(s, d);
    if (rc != 0) {
        hub_service_stop(s);
        return rc;
    }
    for (size_t i = 0; i < d->hub_count; i++)
        hub_store_set_telemetry_listener(d->hubs[i].store, on_telemetry, &d->hubs[i]);
    *out = s;
    return 0;
}

void hub_service_stop(struct hub_service *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->d->hub_count; i++)
        if (s->d->hubs[i].store != NULL)
            hub_store_set_telemetry_listener(s->d->hubs[i].store, NULL, NULL);
    svc_telemetry_shutdown(s);
    /* Ops still waiting for a store completion or a device: answer 503 and detach them (the
     * completion frees them later). */
    for (struct svc_op *op = s->ops.next; op != &s->ops;) {
        struct svc_op *next = op->next;
        if (op->req != NULL)
            svc_reply_error(op->req, 503, "ServiceUnavailable", "azkit-hub is stopping.");
        op->req = NULL;
        op->s = NULL;
        op->next = op->prev = NULL;
        op = next;
    }
    s->ops.next = s->ops.prev = &s->ops;
    /* Connections outlive the service until the loop frees their bufferevents: detach them
     * (conn_ex_free then only frees them) and drop their timers now. */
    for (struct svc_conn *c = s->conns.next; c != &s->conns;) {
        struct svc_conn *next = c->next;
        c->s = NULL;
        c->next = c->prev = NULL;
        if (c->timer != NULL)
            event_free(c->timer);
        c->timer = NULL;
        c = next;
    }
    s->conns.next = s->conns.prev = &s->conns;
    s->conn_count = 0;
    hub_ws_tunnels_detach(&s->ws);
    if (s->http != NULL)
        evhttp_free(s->http);
    hub_fota_close(s->fota); /* after the connections that stream images are gone */
    SSL_CTX_free(s->ctx);
    s->d->service_port = 0;
    memset(s->service_key, 0, sizeof(s->service_key));
    free(s);
}

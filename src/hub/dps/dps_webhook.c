/* DPS custom allocation: the webhook call (dps_webhook.h). */
#include "hub/dps/dps_webhook.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hub/daemon.h"
#include "hub/dps/dps_ops.h"
#include "hub/iothub/iothub.h"
#include "hub/log.h"

/* Bodies larger than this are not an AllocationResponse anyone means. */
#define WEBHOOK_ANSWER_MAX (64 * 1024)

struct dps_webhook_call {
    struct dps_op *op;          /* NULL once cancelled */
    struct hub_daemon *d;
    dps_webhook_done_fn done;
    struct evhttp_uri *uri;
    struct evhttp_connection *conn;
    SSL_CTX *tls;
    bool finished;
};

void dps_webhook_result_clear(struct dps_webhook_result *r)
{
    free(r->initial_twin);
    free(r->payload);
    r->initial_twin = r->payload = NULL;
}

static void call_free(struct dps_webhook_call *c)
{
    if (c->conn)
        evhttp_connection_free(c->conn); /* frees the bufferevent and its SSL */
    if (c->uri)
        evhttp_uri_free(c->uri);
    SSL_CTX_free(c->tls);
    free(c);
}

static void finish(struct dps_webhook_call *c, struct dps_webhook_result *r)
{
    struct dps_op *op = c->op;
    c->op = NULL;
    if (op != NULL) {
        op->webhook = NULL;
        c->done(op, r);
    }
    dps_webhook_result_clear(r);
}

static void free_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    call_free(arg);
}

void dps_webhook_cancel(struct dps_webhook_call *c)
{
    c->op = NULL;
    if (!c->finished)
        call_free(c); /* frees the pending request without its callback */
}

static void failed(struct dps_webhook_result *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failed(struct dps_webhook_result *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    r->error_code = code;
}

/* Reads an AllocationResponse into r. */
static void take_answer(struct hub_daemon *d, const char *body, size_t len,
                        struct dps_webhook_result *r)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *hub = cJSON_GetObjectItemCaseSensitive(j, "iotHubHostName");
    if (hub == NULL) /* the table in Microsoft's page spells it iotHubHostname */
        hub = cJSON_GetObjectItemCaseSensitive(j, "iotHubHostname");
    const cJSON *twin = cJSON_GetObjectItemCaseSensitive(j, "initialTwin");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(j, "payload");
    if (!cJSON_IsObject(j)) {
        failed(r, DPS_ERR_WEBHOOK_FAILED, "the webhook's answer is not a JSON object");
    } else if (!cJSON_IsString(hub)) {
        failed(r, DPS_ERR_WEBHOOK_FAILED, "the webhook's answer has no \"iotHubHostName\"");
    } else if (hub_iothub_find(d, hub->valuestring, strlen(hub->valuestring)) == NULL) {
        failed(r, DPS_ERR_WEBHOOK_FAILED, "the webhook chose %.100s, which is not a hub linked "
               "to this DPS", hub->valuestring);
    } else if (twin != NULL && !cJSON_IsNull(twin) && !cJSON_IsObject(twin)) {
        failed(r, DPS_ERR_WEBHOOK_FAILED, "the webhook's \"initialTwin\" is not an object");
    } else {
        struct hub_iothub *h = hub_iothub_find(d, hub->valuestring, strlen(hub->valuestring));
        snprintf(r->iot_hub, sizeof(r->iot_hub), "%s", h->hostname);
        if (cJSON_IsObject(twin))
            r->initial_twin = cJSON_PrintUnformatted(twin);
        if (payload != NULL && !cJSON_IsNull(payload))
            r->payload = cJSON_PrintUnformatted(payload);
    }
    cJSON_Delete(j);
}

/* Why an https call got no answer, when TLS is the reason; NULL otherwise. */
static const char *tls_failure(struct dps_webhook_call *c, char *buf, size_t size)
{
    struct bufferevent *bev = c->tls && c->conn ? evhttp_connection_get_bufferevent(c->conn)
                                                : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (ssl == NULL)
        return NULL;
    long v = SSL_get_verify_result(ssl);
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (v != X509_V_OK)
        snprintf(buf, size, "its TLS certificate was not accepted: %s (the hub trusts the "
                 "system's CAs and --dps-webhook-ca; the certificate must name the URL's host)",
                 X509_verify_cert_error_string(v));
    else if (e != 0)
        snprintf(buf, size, "TLS failed: %s", ERR_reason_error_string(e));
    else
        return NULL;
    return buf;
}

static void answered(struct evhttp_request *req, void *arg)
{
    struct dps_webhook_call *c = arg;
    if (c->finished)
        return;
    c->finished = true;
    struct dps_webhook_result r;
    memset(&r, 0, sizeof(r));
    int status = req ? evhttp_request_get_response_code(req) : 0;
    struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
    size_t len = in ? evbuffer_get_length(in) : 0;
    char why[300];
    if (req == NULL || status == 0) {
        const char *tls = tls_failure(c, why, sizeof(why));
        if (tls != NULL)
            failed(&r, DPS_ERR_WEBHOOK_FAILED, "the webhook could not be called: %s", tls);
        else
            failed(&r, DPS_ERR_WEBHOOK_FAILED, "the webhook did not answer (timeout, refused "
                   "connection or closed)");
    } else if (status == 401 || status == 403) {
        failed(&r, DPS_ERR_WEBHOOK_REFUSED, "the webhook refused the call (HTTP %d)", status);
    } else if (status != 200) {
        failed(&r, DPS_ERR_WEBHOOK_FAILED, "the webhook answered HTTP %d", status);
    } else if (len > WEBHOOK_ANSWER_MAX) {
        failed(&r, DPS_ERR_WEBHOOK_FAILED, "the webhook's answer is larger than %d bytes",
               WEBHOOK_ANSWER_MAX);
    } else {
        take_answer(c->d, (const char *)evbuffer_pullup(in, -1), len, &r);
    }
    finish(c, &r);
    /* The connection is freed outside its own callback. */
    if (event_base_once(c->d->base, -1, EV_TIMEOUT, free_later, c, NULL) != 0)
        hub_log(HUB_LOG_ERROR, "dps: cannot schedule freeing a webhook call");
}

/* The AllocationRequest. */
static char *request_body(struct dps_op *op, const char *prev_hub, const char *prev_device)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *enr = op->kind == DPS_MATCH_INDIVIDUAL
                     ? dps_enrollment_to_json(op->enr, NULL, DPS_JSON_API)
                     : dps_group_to_json(op->grp, DPS_JSON_API);
    /* The webhook learns the attestation type, never the symmetric keys (Microsoft Learn's
     * example request shows {"type":"symmetricKey"} alone). */
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(enr, "attestation"),
                                            "symmetricKey");
    cJSON_AddItemToObject(o, op->kind == DPS_MATCH_INDIVIDUAL ? "individualEnrollment"
                                                              : "enrollmentGroup", enr);
    cJSON *ctx = cJSON_AddObjectToObject(o, "deviceRuntimeContext");
    cJSON_AddStringToObject(ctx, "registrationId", op->registration_id);
    if (prev_hub && *prev_hub)
        cJSON_AddStringToObject(ctx, "currentIotHubHostName", prev_hub);
    if (prev_device && *prev_device)
        cJSON_AddStringToObject(ctx, "currentDeviceId", prev_device);
    if (op->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        cJSON_AddObjectToObject(ctx, "symmetricKey");
    } else {
        cJSON *cert = cJSON_AddObjectToObject(cJSON_AddObjectToObject(ctx, "x509"),
                                              "clientCertificate");
        cJSON_AddStringToObject(cert, "sha1Thumbprint", op->leaf_sha1);
        cJSON_AddStringToObject(cert, "sha256Thumbprint", op->leaf_sha256);
    }
    if (op->payload) {
        cJSON *p = cJSON_Parse(op->payload);
        if (p)
            cJSON_AddItemToObject(ctx, "payload", p);
    }
    cJSON *hubs = cJSON_AddArrayToObject(o, "linkedHubs");
    for (size_t i = 0; i < op->d->hub_count; i++)
        cJSON_AddItemToArray(hubs, cJSON_CreateString(op->d->hubs[i].hostname));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* TLS for an https webhook: the system's CAs and --dps-webhook-ca, the host name checked. */
static SSL *tls_for(struct dps_webhook_call *c, const char *host)
{
    const struct hub_config *cfg = &c->d->cfg;
    c->tls = SSL_CTX_new(TLS_client_method());
    if (c->tls == NULL)
        return NULL;
    SSL_CTX_set_verify(c->tls, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_verify_paths(c->tls);
    if (cfg->dps_webhook_ca && SSL_CTX_load_verify_locations(c->tls, cfg->dps_webhook_ca,
                                                             NULL) != 1)
        hub_log(HUB_LOG_WARN, "dps: cannot read --dps-webhook-ca %s", cfg->dps_webhook_ca);
    SSL *ssl = SSL_new(c->tls);
    if (ssl == NULL)
        return NULL;
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
    return ssl;
}

/* The loop's resolver (/etc/resolv.conf and /etc/hosts), so that looking up a webhook's host
 * never blocks the loop; without one, libevent resolves with a blocking getaddrinfo. */
static struct evdns_base *dns_for(struct hub_daemon *d)
{
    if (d->dns == NULL) {
        d->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (d->dns == NULL)
            hub_log(HUB_LOG_WARN, "dps: no asynchronous resolver (/etc/resolv.conf); webhook "
                    "host names are looked up with a blocking call");
    }
    return d->dns;
}

int dps_webhook_call(struct dps_op *op, const char *prev_hub, const char *prev_device,
                     dps_webhook_done_fn done)
{
    const struct dps_common *com = op->kind == DPS_MATCH_INDIVIDUAL ? &op->enr->c : &op->grp->c;
    struct dps_webhook_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->op = op;
    c->d = op->d;
    op->webhook = c;
    c->done = done;
    struct dps_webhook_result r;
    memset(&r, 0, sizeof(r));
    c->uri = evhttp_uri_parse(com->webhook_url);
    const char *scheme = c->uri ? evhttp_uri_get_scheme(c->uri) : NULL;
    const char *host = c->uri ? evhttp_uri_get_host(c->uri) : NULL;
    bool https = scheme && strcasecmp(scheme, "https") == 0;
    if (host == NULL || scheme == NULL || (!https && strcasecmp(scheme, "http") != 0)) {
        failed(&r, DPS_ERR_WEBHOOK_FAILED, "the webhook URL cannot be used");
        c->finished = true;
        finish(c, &r);
        call_free(c);
        return 0;
    }
    int port = evhttp_uri_get_port(c->uri);
    if (port < 0)
        port = https ? 443 : 80;
    struct bufferevent *bev = NULL;
    if (https) {
        SSL *ssl = tls_for(c, host);
        bev = ssl ? bufferevent_openssl_socket_new(op->d->base, -1, ssl,
                                                   BUFFEREVENT_SSL_CONNECTING,
                                                   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)
                  : NULL;
        if (bev == NULL)
            SSL_free(ssl);
    } else {
        bev = bufferevent_socket_new(op->d->base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    char *body = request_body(op, prev_hub, prev_device);
    struct evhttp_request *req = body ? evhttp_request_new(answered, c) : NULL;
    c->conn = bev ? evhttp_connection_base_bufferevent_new(op->d->base, dns_for(op->d), bev,
                                                           host, (unsigned short)port)
                  : NULL;
    if (c->conn == NULL || req == NULL) {
        if (c->conn == NULL && bev != NULL)
            bufferevent_free(bev);
        if (req)
            evhttp_request_free(req);
        free(body);
        op->webhook = NULL;
        call_free(c);
        return -ENOMEM;
    }
    evhttp_connection_set_timeout(c->conn, (int)op->d->cfg.dps_webhook_timeout_s);
    evhttp_connection_set_retries(c->conn, 0);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", host);
    evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    free(body);
    const char *path = evhttp_uri_get_path(c->uri);
    const char *query = evhttp_uri_get_query(c->uri);
    char target[DPS_WEBHOOK_URL_MAX + 8];
    snprintf(target, sizeof(target), "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    hub_log(HUB_LOG_INFO, "dps registration '%s': calling the custom allocation webhook %s://%s:%d%s",
            op->registration_id, https ? "https" : "http", host, port, path && *path ? path : "/");
    if (evhttp_make_request(c->conn, req, EVHTTP_REQ_POST, target) != 0) {
        /* libevent freed the request; report as an unanswered call. */
        answered(NULL, c);
    }
    return 0;
}

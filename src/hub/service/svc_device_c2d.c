/* The device side of IoT Hub's HTTPS API for cloud-to-device messages, on the service port, as
 * the device SDKs' HTTP transports use it (azure-iot-device-http):
 *
 *   GET    /devices/{id}/messages/devicebound                  receive: 200 with the message
 *          (body = payload; ETag = lock token; iothub-* headers), or 204 when none
 *   DELETE /devices/{id}/messages/devicebound/{lockToken}         complete -> Success feedback
 *   DELETE /devices/{id}/messages/devicebound/{lockToken}?reject  reject   -> Rejected feedback
 *   POST   /devices/{id}/messages/devicebound/{lockToken}/abandon back to the queue
 *
 * Authorised as the device's MQTT CONNECT is, by a device SAS token in Authorization (sr =
 * {host}/devices/{id}, the device's key, or a hub policy that may connect devices). A lock
 * token that is not the device's live lock is 412 DeviceMessageLockLost, as on IoT Hub. What a
 * settle does to the queue and to feedback is in iothub/c2d.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "azkit/azure_hub.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/mqtt/conn.h"
#include "hub/service/sas.h"
#include "hub/service/svc_common.h"
#include "hub/service/svc_device_c2d.h"

#define PREFIX "/devices/"

/* One path segment [p, p+len) percent-decoded into out; false when malformed or too long. */
static bool segment(const char *p, size_t len, char *out, size_t out_size)
{
    size_t n = 0;
    if (len == 0 || len >= out_size ||
        azk_pct_decode((struct azk_span){p, len}, out, out_size - 1, &n) != 0)
        return false;
    out[n] = '\0';
    return strlen(out) == n;
}

/* The SDKs write deviceBound or devicebound. */
bool svc_device_c2d_parse(const char *path, struct svc_device_c2d_path *out)
{
    memset(out, 0, sizeof(*out));
    if (path == NULL || strncmp(path, PREFIX, strlen(PREFIX)) != 0)
        return false;
    const char *p = path + strlen(PREFIX);
    const char *slash = strchr(p, '/');
    static const char mid[] = "/messages/devicebound";
    if (slash == NULL || !segment(p, (size_t)(slash - p), out->id, sizeof(out->id)) ||
        strncasecmp(slash, mid, strlen(mid)) != 0)
        return false;
    p = slash + strlen(mid);
    if (*p == '\0')
        return true;
    if (*p != '/')
        return false;
    p++;
    slash = strchr(p, '/');
    size_t tl = slash ? (size_t)(slash - p) : strlen(p);
    if (!segment(p, tl, out->token, sizeof(out->token)))
        return false;
    if (slash == NULL)
        return true;
    out->abandon = strcmp(slash, "/abandon") == 0;
    return out->abandon;
}

bool svc_device_c2d_path(const char *path)
{
    struct svc_device_c2d_path dp;
    return svc_device_c2d_parse(path, &dp);
}

/* The device's token against its keys, as hub/mqtt/handle_connect.c checks a CONNECT. */
static enum hub_sas_result authorize(struct hub_iothub *h, const struct hub_device *dev,
                                     const char *auth)
{
    if (auth == NULL || strlen(auth) > HUB_SAS_TOKEN_MAX)
        return HUB_SAS_MALFORMED;
    const char *hosts[HUB_IOTHUB_SAS_HOSTS_MAX];
    size_t n = hub_iothub_sas_hosts(h, hosts);
    struct hub_sas_device sd = {dev->device_id, dev->primary_key, dev->secondary_key};
    struct hub_sas_policy owner = {HUB_SAS_POLICY_HUB, h->d->service_key};
    int64_t expires_s = 0;
    return hub_sas_verify_device(auth, &sd, &owner, hosts, n, hub_now_ms() / 1000, &expires_s);
}

/* Response headers of a received message, from its stored property bag: system properties
 * under their iothub-* names, the rest as iothub-app-{name}. */
static void message_headers(struct evkeyvalq *out, const char *device_id,
                            const struct hub_c2d_msg *m, const char *token)
{
    char v[HUB_DEVICE_ID_MAX + 64];
    snprintf(v, sizeof(v), "\"%s\"", token);
    evhttp_add_header(out, "ETag", v);
    evhttp_add_header(out, "iothub-messageid", m->message_id);
    snprintf(v, sizeof(v), "/devices/%s/messages/devicebound", device_id);
    evhttp_add_header(out, "iothub-to", v);
    snprintf(v, sizeof(v), "%u", (unsigned)m->delivery_count);
    evhttp_add_header(out, "iothub-deliverycount", v);
    svc_time_iso(m->enqueued_ms, v);
    evhttp_add_header(out, "iothub-enqueuedtime", v);
    if (m->expiry_ms) {
        svc_time_iso(m->expiry_ms, v);
        evhttp_add_header(out, "iothub-expiry", v);
    }
    static const struct {
        const char *key, *header;
    } sys[] = {{"$.cid", "iothub-correlationid"}, {"$.uid", "iothub-userid"},
               {"$.ct", "iothub-contenttype"},    {"$.ce", "iothub-contentencoding"},
               {"iothub-ack", "iothub-ack"}};
    struct azk_prop_iter it;
    azk_prop_iter_init(&it, azk_span_from_str(m->properties ? m->properties : ""));
    char key[256], value[1024], name[300];
    for (;;) {
        struct azk_prop p;
        int r = azk_prop_next_decoded(&it, key, sizeof(key) - 1, value, sizeof(value) - 1, &p);
        if (r == -ENOENT)
            break;
        if (r != 0)
            continue; /* too long for a header here: left out */
        key[p.key.len] = '\0';
        value[p.value.len] = '\0';
        const char *header = NULL;
        for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
            if (strcmp(key, sys[i].key) == 0)
                header = sys[i].header;
        if (header == NULL && (key[0] == '$' || strncmp(key, "iothub-", 7) == 0))
            continue; /* $.mid, $.to, $.exp: sent above */
        if (header == NULL) {
            snprintf(name, sizeof(name), "iothub-app-%s", key);
            header = name;
        }
        evhttp_add_header(out, header, value);
    }
}

static void receive(struct evhttp_request *req, struct hub_iothub *h, const char *id)
{
    struct hub_c2d_msg m;
    char token[37];
    int rc = hub_c2d_http_receive(h, id, &m, token);
    if (rc == -EAGAIN) {
        svc_reply_empty(req, 204);
        return;
    }
    if (rc != 0) {
        svc_reply_store_error(req, rc, id);
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    message_headers(out, id, &m, token);
    struct evbuffer *body = evbuffer_new();
    if (body != NULL)
        evbuffer_add(body, m.payload, m.payload_len);
    hub_log(HUB_LOG_DEBUG, "device '%s': C2D message %s received over HTTPS (delivery %u)", id,
            m.message_id, (unsigned)m.delivery_count);
    evhttp_send_reply(req, 200, "OK", body);
    if (body != NULL)
        evbuffer_free(body);
    hub_c2d_msg_clear(&m);
}

/* The SDKs send a bare "&reject" (no '=', which evhttp's query parser refuses). */
bool svc_device_c2d_rejects(const char *query)
{
    for (const char *p = query; p != NULL && *p;) {
        size_t n = strcspn(p, "&");
        if ((n == 6 && strncmp(p, "reject", 6) == 0) ||
            (n > 7 && strncmp(p, "reject=", 7) == 0 && !(n == 12 && strncasecmp(p + 7, "false", 5) == 0)))
            return true;
        p += n;
        if (*p == '&')
            p++;
    }
    return false;
}

void svc_device_c2d(struct hub_daemon *d, struct evhttp_request *req, const char *path,
                    const char *auth, const char *peer)
{
    struct svc_device_c2d_path dp;
    if (!svc_device_c2d_parse(path, &dp)) {
        svc_reply_error(req, 400, "ArgumentInvalid", "Malformed request path.");
        return;
    }
    const char *host = evhttp_request_get_host(req);
    struct hub_iothub *h = host ? hub_iothub_find(d, host, strlen(host)) : NULL;
    if (h == NULL)
        h = &d->hubs[0];
    struct hub_device dev;
    enum hub_sas_result ar = HUB_SAS_MALFORMED;
    bool known = hub_store_device_get(h->store, dp.id, &dev) == 0;
    if (known && dev.status == HUB_DEVICE_ENABLED)
        ar = authorize(h, &dev, auth);
    if (ar != HUB_SAS_OK) {
        /* The same answer for an unknown device as for a bad token: nothing is revealed. */
        hub_log(HUB_LOG_INFO, "device API: refused %s from %s for device '%s': %s", path, peer,
                dp.id, !known ? "no such device" : dev.status != HUB_DEVICE_ENABLED
                                                       ? "the device is disabled"
                                                       : hub_sas_result_text(ar));
        svc_reply_error(req, 401, "IotHubUnauthorizedAccess", "Unauthorized.");
        return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (dp.token[0] == '\0') {
        if (cmd != EVHTTP_REQ_GET) {
            svc_reply_error(req, 405, "MethodNotAllowed", "Use GET to receive a message.");
            return;
        }
        receive(req, h, dp.id);
        return;
    }
    enum hub_c2d_outcome outcome;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (dp.abandon && cmd == EVHTTP_REQ_POST) {
        outcome = HUB_C2D_ABANDON;
    } else if (!dp.abandon && cmd == EVHTTP_REQ_DELETE) {
        outcome = svc_device_c2d_rejects(query) ? HUB_C2D_REJECT : HUB_C2D_COMPLETE;
    } else {
        svc_reply_error(req, 405, "MethodNotAllowed",
                        "Use DELETE to complete or reject (?reject) a message, POST .../abandon "
                        "to abandon it.");
        return;
    }
    if (hub_c2d_http_settle(h, dp.id, dp.token, outcome) != 0) {
        svc_reply_error(req, 412, "DeviceMessageLockLost",
                        "The lock token '%s' is not the device's lock of a message (settled "
                        "already, expired after %d s, or never given).",
                        dp.token, HUB_C2D_LOCK_MS / 1000);
        return;
    }
    svc_reply_empty(req, 204);
}

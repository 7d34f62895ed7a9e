/* The device client's lifecycle: configuration, transport events, output buffer, timers,
 * MQTT packets and the IoT Hub phase (connect, subscribe, incoming messages). The DPS phase is
 * in client_dps.c, the application's sends in client_api.c. */
#include <errno.h>
#include <string.h>

#include "azkit/azure_dps.h"
#include "azkit/azure_hub.h"
#include "azkit/azure_ids.h"
#include "azkit/json.h"
#include "client_internal.h"

#define KEEPALIVE_DEFAULT_S 240
#define KEEPALIVE_MAX_S 1177 /* Azure times out at min(1.5 x keepalive, 1767 s) */
#define RESPONSE_TIMEOUT_MS 30000u
#define DPS_TIMEOUT_MS 300000u
#define RETRY_MIN_MS 1000u
#define RETRY_MAX_MS 300000u
#define WORK_MIN 1024u

enum { SUB_C2D_QOS = 1 };

static int copy_span(char *dst, size_t size, struct azk_span s)
{
    if (s.len >= size || (s.len > 0 && s.ptr == NULL))
        return -EINVAL;
    if (s.len > 0)
        memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
    return 0;
}

/* "name[:port]": checks the name and the port. */
int azki_client_host_valid(const char *h)
{
    size_t n = strlen(h), i = 0;
    if (n == 0)
        return -EINVAL;
    for (; i < n && h[i] != ':'; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_'))
            return -EINVAL;
    }
    if (i == 0 || i > AZK_CLIENT_HOST_MAX)
        return -EINVAL;
    if (i == n)
        return 0;
    uint32_t port = 0;
    size_t digits = 0;
    for (i++; i < n; i++, digits++) {
        if (h[i] < '0' || h[i] > '9')
            return -EINVAL;
        port = port * 10u + (uint32_t)(h[i] - '0');
        if (port > 65535u)
            return -EINVAL;
    }
    return digits > 0 && port > 0 ? 0 : -EINVAL;
}

/* Splits "name[:port]" (validated) into the name span and the port. */
static void host_split(const char *h, struct azk_span *name, uint16_t *port)
{
    size_t n = 0;
    while (h[n] != '\0' && h[n] != ':')
        n++;
    *name = (struct azk_span){h, n};
    uint32_t p = 0;
    if (h[n] == ':')
        for (const char *d = h + n + 1; *d; d++)
            p = p * 10u + (uint32_t)(*d - '0');
    *port = (uint16_t)(p ? p : AZK_CLIENT_MQTT_PORT);
}

int azk_client_init(struct azk_client *c, const struct azk_client_config *cfg, void *work,
                    size_t work_size)
{
    if (c == NULL || cfg == NULL || cfg->on_event == NULL || work == NULL ||
        work_size < WORK_MIN || cfg->keepalive_s > KEEPALIVE_MAX_S ||
        cfg->inflight_max > AZK_CLIENT_INFLIGHT_MAX)
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    struct azk_client_config *k = &CL(c)->cfg;
    *k = *cfg;
    if (k->keepalive_s == 0)
        k->keepalive_s = KEEPALIVE_DEFAULT_S;
    if (k->response_timeout_ms == 0)
        k->response_timeout_ms = RESPONSE_TIMEOUT_MS;
    if (k->dps_timeout_ms == 0)
        k->dps_timeout_ms = DPS_TIMEOUT_MS;
    if (k->inflight_max == 0)
        k->inflight_max = AZK_CLIENT_INFLIGHT_DEFAULT;
    if (k->retry_min_ms == 0)
        k->retry_min_ms = RETRY_MIN_MS;
    if (k->retry_max_ms == 0)
        k->retry_max_ms = k->retry_min_ms > RETRY_MAX_MS ? k->retry_min_ms : RETRY_MAX_MS;
    else if (k->retry_max_ms < k->retry_min_ms)
        k->retry_max_ms = k->retry_min_ms;
    bool dps = cfg->id_scope.len > 0;
    if (dps) {
        struct azk_span dh = cfg->dps_host.len ? cfg->dps_host
                                               : azk_span_from_str(AZK_CLIENT_DPS_HOST_DEFAULT);
        if (copy_span(CL(c)->scope, sizeof(CL(c)->scope), cfg->id_scope) != 0 ||
            copy_span(CL(c)->reg_id, sizeof(CL(c)->reg_id), cfg->registration_id) != 0 ||
            azk_registration_id_validate(cfg->registration_id, NULL) != 0 ||
            copy_span(CL(c)->dps_host, sizeof(CL(c)->dps_host), dh) != 0 ||
            azki_client_host_valid(CL(c)->dps_host) != 0 ||
            copy_span(CL(c)->payload, sizeof(CL(c)->payload), cfg->register_payload) != 0 ||
            (cfg->register_payload.len > 0 &&
             azk_json_validate(cfg->register_payload, NULL, NULL) != 0))
            return -EINVAL;
        for (size_t i = 0; i < cfg->id_scope.len; i++) {
            char ch = cfg->id_scope.ptr[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
                return -EINVAL;
        }
        CL(c)->payload_len = cfg->register_payload.len;
    } else if (copy_span(CL(c)->hub_host, sizeof(CL(c)->hub_host), cfg->hub_host) != 0 ||
               azki_client_host_valid(CL(c)->hub_host) != 0 ||
               copy_span(CL(c)->device_id, sizeof(CL(c)->device_id), cfg->device_id) != 0 ||
               azk_device_id_validate(cfg->device_id, NULL) != 0) {
        return -EINVAL;
    }
    /* The spans of the config point at the caller's memory: only the copies are used. */
    k->id_scope = k->registration_id = k->dps_host = k->register_payload = k->hub_host =
        k->device_id = (struct azk_span){0};
    size_t rx = work_size / 2;
    struct azk_mqtt_decoder_config dc = {.role = AZK_MQTT_ROLE_CLIENT};
    if (azk_mqtt_decoder_init(&CL(c)->dec, &dc, work, rx) != 0)
        return -EINVAL;
    CL(c)->tx = (uint8_t *)work + rx;
    CL(c)->tx_size = work_size - rx;
    /* The fallback random sequence starts from the id (FNV-1a): devices differ. */
    uint32_t h = 2166136261u;
    for (const char *p = CL(c)->scope[0] ? CL(c)->reg_id : CL(c)->device_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    CL(c)->rng = h ? h : 1u;
    return 0;
}

int azk_client_last_error(const struct azk_client *c)
{
    return CL(c)->state == AZK_CLIENT_FAILED ? CL(c)->fail_err : 0;
}

enum azk_client_state azk_client_state(const struct azk_client *c)
{
    return CL(c)->state;
}

int azk_client_start(struct azk_client *c, uint64_t now)
{
    if (CL(c)->state != AZK_CLIENT_IDLE)
        return -EALREADY;
    CL(c)->now = now;
    CL(c)->state = CL(c)->scope[0] ? AZK_CLIENT_DPS_CONNECTING : AZK_CLIENT_HUB_CONNECTING;
    CL(c)->want_transport = true;
    if (CL(c)->scope[0])
        azki_client_dps_stored(c);
    return 0;
}

void azki_client_emit(struct azk_client *c, struct azk_client_event *ev)
{
    CL(c)->cfg.on_event(CL(c)->cfg.ctx, ev);
}

void azki_client_close_transport(struct azk_client *c)
{
    if (CL(c)->transport_up && !CL(c)->closing) {
        uint8_t *at;
        size_t room, n = 0;
        if (azki_client_out_reserve(c, &at, &room) == 0 &&
            azk_mqtt_encode_disconnect(at, room, &n) == 0)
            azki_client_out_commit(c, n);
    }
    CL(c)->closing = true;
    CL(c)->deadline = 0;
}

void azki_client_fail(struct azk_client *c, enum azk_client_failure f, int code, int err,
                     struct azk_span text)
{
    if (CL(c)->state == AZK_CLIENT_FAILED || CL(c)->state == AZK_CLIENT_STOPPED)
        return;
    CL(c)->state = AZK_CLIENT_FAILED;
    CL(c)->fail_err = err < 0 ? err : -EPROTO;
    CL(c)->want_transport = false;
    CL(c)->wake = 0;
    azki_client_close_transport(c);
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_FAILED, .failure = f, .code = code,
                                  .err = err, .text = text};
    ev.hub = azk_span_from_str(CL(c)->hub_host);
    ev.device_id = azk_span_from_str(CL(c)->device_id);
    azki_client_emit(c, &ev);
}

void azk_client_stop(struct azk_client *c)
{
    if (CL(c)->state == AZK_CLIENT_STOPPED)
        return;
    CL(c)->state = AZK_CLIENT_STOPPED;
    CL(c)->want_transport = false;
    CL(c)->wake = 0;
    azki_client_close_transport(c);
}

bool azk_client_endpoint(const struct azk_client *c, struct azk_client_endpoint *ep)
{
    if (!CL(c)->want_transport || CL(c)->transport_up || CL(c)->closing)
        return false;
    bool dps = CL(c)->state == AZK_CLIENT_DPS_CONNECTING;
    if (!dps && CL(c)->state != AZK_CLIENT_HUB_CONNECTING)
        return false;
    host_split(dps ? CL(c)->dps_host : CL(c)->hub_host, &ep->host, &ep->port);
    ep->dps = dps;
    return true;
}

int azk_client_reconnect(struct azk_client *c)
{
    if (CL(c)->state != AZK_CLIENT_CONNECTED)
        return -ENOTCONN;
    /* As after DPS: once the transport is down, the hub again at once. */
    CL(c)->state = AZK_CLIENT_HUB_CONNECTING;
    CL(c)->handoff = true;
    azki_client_close_transport(c);
    return 0;
}

bool azk_client_wants_close(const struct azk_client *c)
{
    return CL(c)->transport_up && CL(c)->closing;
}

/* ---- output ------------------------------------------------------------------------------ */

int azki_client_out_reserve(struct azk_client *c, uint8_t **at, size_t *room)
{
    *at = CL(c)->tx + CL(c)->tx_len;
    *room = CL(c)->tx_size - CL(c)->tx_len;
    return CL(c)->transport_up && !CL(c)->closing ? 0 : -ENOTCONN;
}

void azki_client_out_commit(struct azk_client *c, size_t n)
{
    CL(c)->tx_len += n;
    CL(c)->last_tx = CL(c)->now;
}

/* Queues the PUBACKs that did not fit earlier. */
static void flush_pending_acks(struct azk_client *c)
{
    while (CL(c)->n_pending_acks > 0) {
        uint8_t *at;
        size_t room, n = 0;
        if (azki_client_out_reserve(c, &at, &room) != 0 ||
            azk_mqtt_encode_ack(AZK_MQTT_PUBACK, CL(c)->pending_acks[0], at, room, &n) != 0)
            return;
        azki_client_out_commit(c, n);
        CL(c)->n_pending_acks--;
        memmove(CL(c)->pending_acks, CL(c)->pending_acks + 1,
                CL(c)->n_pending_acks * sizeof(CL(c)->pending_acks[0]));
    }
}

void azki_client_ack(struct azk_client *c, const struct azk_mqtt_publish *p)
{
    if (p->qos != 1)
        return;
    uint8_t *at;
    size_t room, n = 0;
    if (CL(c)->n_pending_acks == 0 && azki_client_out_reserve(c, &at, &room) == 0 &&
        azk_mqtt_encode_ack(AZK_MQTT_PUBACK, p->packet_id, at, room, &n) == 0) {
        azki_client_out_commit(c, n);
        return;
    }
    /* No room now: acknowledge as soon as output drains (the hub keeps the message until). */
    if (CL(c)->n_pending_acks < sizeof(CL(c)->pending_acks) / sizeof(CL(c)->pending_acks[0]))
        CL(c)->pending_acks[CL(c)->n_pending_acks++] = p->packet_id;
}

size_t azk_client_output(const struct azk_client *c, const uint8_t **data)
{
    *data = CL(c)->tx;
    return CL(c)->tx_len;
}

void azk_client_output_consumed(struct azk_client *c, size_t n)
{
    if (n >= CL(c)->tx_len) {
        CL(c)->tx_len = 0;
    } else {
        memmove(CL(c)->tx, CL(c)->tx + n, CL(c)->tx_len - n);
        CL(c)->tx_len -= n;
    }
    flush_pending_acks(c);
    azki_client_pump(c);
}

int azki_client_publish(struct azk_client *c, struct azk_span topic, struct azk_span payload,
                       int qos, bool dup, uint16_t *packet_id)
{
    uint8_t *at;
    size_t room, n = 0;
    if (azki_client_out_reserve(c, &at, &room) != 0)
        return -ENOTCONN;
    struct azk_mqtt_publish p = {.topic = topic, .payload = payload, .qos = (uint8_t)qos,
                                 .dup = dup};
    if (qos == 1) {
        if (++CL(c)->next_packet_id == 0)
            CL(c)->next_packet_id = 1;
        p.packet_id = CL(c)->next_packet_id;
    }
    int rc = azk_mqtt_encode_publish(&p, at, room, &n);
    if (rc == -ENOBUFS && n > CL(c)->tx_size)
        return -EMSGSIZE;
    if (rc != 0)
        return rc;
    azki_client_out_commit(c, n);
    if (packet_id != NULL)
        *packet_id = p.packet_id;
    return 0;
}

int azki_client_rid(struct azk_client *c, char *buf, size_t size, size_t *len)
{
    if (size < 2 || azk_rid_next(&CL(c)->rid_counter, AZK_RID_DECIMAL, buf, size - 1, len) != 0)
        return -ENOBUFS;
    buf[*len] = '\0';
    return 0;
}

/* ---- connecting ---------------------------------------------------------------------------- */

static void send_connect(struct azk_client *c)
{
    bool dps = CL(c)->state == AZK_CLIENT_DPS_CONNECTING;
    char user[AZK_CLIENT_HOST_MAX + AZK_CLIENT_ID_MAX * 2 + 96];
    size_t ulen = 0;
    int rc;
    if (dps) {
        rc = azki_client_dps_connect_fields(c, user, sizeof(user), &ulen);
    } else {
        struct azk_hub_username u = {0};
        uint16_t port;
        host_split(CL(c)->hub_host, &u.host, &port);
        u.device_id = azk_span_from_str(CL(c)->device_id);
        rc = azk_hub_username_build(&u, user, sizeof(user), &ulen, NULL);
    }
    const char *id = dps ? CL(c)->reg_id : CL(c)->device_id;
    struct azk_mqtt_connect m = {
        .client_id = azk_span_from_str(id),
        .keep_alive = CL(c)->cfg.keepalive_s,
        .clean_session = true,
        .has_username = true,
        .username = {user, ulen},
    };
    if (CL(c)->cfg.password != NULL) /* SAS: a token made for this connection */
        CL(c)->cfg.password(CL(c)->cfg.ctx, dps, &m);
    uint8_t *at;
    size_t room, n = 0;
    if (rc == 0)
        rc = azki_client_out_reserve(c, &at, &room);
    if (rc == 0)
        rc = azk_mqtt_encode_connect(&m, at, room, &n);
    if (rc != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 0, rc,
                        azk_span_from_str("cannot encode a packet (work buffer too small?)"));
        return;
    }
    azki_client_out_commit(c, n);
    CL(c)->awaiting_connack = true;
    CL(c)->deadline = CL(c)->now + CL(c)->cfg.response_timeout_ms;
}

void azk_client_transport_up(struct azk_client *c, uint64_t now)
{
    CL(c)->now = now;
    if (!CL(c)->want_transport || CL(c)->transport_up)
        return;
    CL(c)->transport_up = true;
    CL(c)->closing = false;
    CL(c)->tx_len = 0;
    CL(c)->ping_out = false;
    CL(c)->sub_packet_id = 0;
    CL(c)->mqtt_up = false;
    CL(c)->n_pending_acks = 0;
    CL(c)->last_rx = now;
    azk_mqtt_decoder_reset(&CL(c)->dec);
    CL(c)->dps_deadline = CL(c)->state == AZK_CLIENT_DPS_CONNECTING
                              ? now + CL(c)->cfg.dps_timeout_ms
                              : 0;
    send_connect(c);
}

static void hub_subscribe(struct azk_client *c)
{
    char c2d[AZK_CLIENT_ID_MAX + 40];
    size_t c2d_len = 0;
    struct azk_mqtt_subscription subs[4] = {
        {azk_span_from_str("$iothub/twin/res/#"), 0},
        {azk_span_from_str("$iothub/twin/PATCH/properties/desired/#"), 0},
        {azk_span_from_str("$iothub/methods/POST/#"), 0},
        {{c2d, 0}, SUB_C2D_QOS},
    };
    uint8_t *at;
    size_t room, n = 0;
    int rc = azk_hub_c2d_filter(azk_span_from_str(CL(c)->device_id), c2d, sizeof(c2d), &c2d_len,
                                NULL);
    subs[3].filter.len = c2d_len;
    if (++CL(c)->next_packet_id == 0)
        CL(c)->next_packet_id = 1;
    CL(c)->sub_packet_id = CL(c)->next_packet_id;
    if (rc == 0)
        rc = azki_client_out_reserve(c, &at, &room);
    if (rc == 0)
        rc = azk_mqtt_encode_subscribe(CL(c)->sub_packet_id, subs, 4, at, room, &n);
    if (rc != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 0, rc,
                        azk_span_from_str("cannot encode a packet (work buffer too small?)"));
        return;
    }
    azki_client_out_commit(c, n);
    CL(c)->deadline = CL(c)->now + CL(c)->cfg.response_timeout_ms;
}

static int on_connack(struct azk_client *c, const struct azk_mqtt_connack *a)
{
    if (!CL(c)->awaiting_connack)
        return -EPROTO;
    CL(c)->awaiting_connack = false;
    if (a->return_code == AZK_MQTT_CONNACK_NOT_AUTHORIZED && azki_client_dps_refused(c))
        return 0;
    if (a->return_code != 0) {
        /* The code says it all; its meaning in words is the driver's (azk_connack_text):
         * firmware flash is not spent on sentences. 3 (unavailable) fixes itself. */
        azki_client_setback(c, AZK_CLIENT_F_CONNACK, a->return_code, -ECONNREFUSED,
                           (struct azk_span){0},
                           a->return_code != AZK_MQTT_CONNACK_SERVER_UNAVAILABLE);
        return 0;
    }
    CL(c)->deadline = 0;
    CL(c)->mqtt_up = true;
    if (CL(c)->state == AZK_CLIENT_DPS_CONNECTING)
        azki_client_dps_subscribed(c); /* subscribes, then registers on SUBACK */
    else
        hub_subscribe(c);
    return 0;
}

static void on_suback(struct azk_client *c, const struct azk_mqtt_packet *p)
{
    if (CL(c)->sub_packet_id == 0 || p->u.suback.packet_id != CL(c)->sub_packet_id)
        return;
    CL(c)->sub_packet_id = 0;
    CL(c)->deadline = 0;
    struct azk_mqtt_iter it;
    uint8_t code;
    azk_mqtt_iter_init(&it, p);
    while (azk_mqtt_iter_next_suback_code(&it, &code)) {
        if (code == AZK_MQTT_SUBACK_FAILURE) {
            azki_client_setback(c, AZK_CLIENT_F_SUBSCRIBE, AZK_MQTT_SUBACK_FAILURE, -EACCES,
                               azk_span_from_str("the server refused a subscription"), true);
            return;
        }
    }
    if (CL(c)->state == AZK_CLIENT_DPS_CONNECTING) {
        CL(c)->state = AZK_CLIENT_DPS_REGISTERING;
        azki_client_dps_wake(c); /* the register request */
        return;
    }
    CL(c)->state = AZK_CLIENT_CONNECTED;
    CL(c)->attempts = 0;
    CL(c)->hub_refusals = 0;
    CL(c)->registered_again = false;
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_CONNECTED};
    ev.hub = azk_span_from_str(CL(c)->hub_host);
    ev.device_id = azk_span_from_str(CL(c)->device_id);
    azki_client_emit(c, &ev);
    azki_client_pump(c); /* what waited in the outbox */
}

/* ---- incoming messages (IoT Hub) ------------------------------------------------------------ */

static void hub_publish(struct azk_client *c, const struct azk_mqtt_publish *p)
{
    azki_client_ack(c, p);
    struct azk_hub_topic t;
    if (azk_hub_parse_service_topic(p->topic, azk_span_from_str(CL(c)->device_id), &t) != 0)
        return; /* not a topic this client asked for: ignore */
    struct azk_client_event ev = {0};
    ev.payload = p->payload;
    ev.rid = t.rid;
    switch (t.kind) {
    case AZK_HUB_TOPIC_TWIN_RESPONSE:
        ev.kind = AZK_CLIENT_EV_TWIN;
        ev.status = t.status;
        ev.version = t.version_num;
        break;
    case AZK_HUB_TOPIC_TWIN_DESIRED:
        ev.kind = AZK_CLIENT_EV_DESIRED;
        ev.version = t.version_num;
        break;
    case AZK_HUB_TOPIC_METHOD_REQUEST:
        ev.kind = AZK_CLIENT_EV_METHOD;
        ev.name = t.method_name;
        break;
    case AZK_HUB_TOPIC_C2D:
        ev.kind = AZK_CLIENT_EV_C2D;
        ev.properties = t.properties;
        break;
    default:
        return;
    }
    azki_client_emit(c, &ev);
}

static int on_packet(struct azk_client *c, const struct azk_mqtt_packet *p)
{
    bool dps = CL(c)->state == AZK_CLIENT_DPS_CONNECTING ||
               CL(c)->state == AZK_CLIENT_DPS_REGISTERING;
    switch (p->type) {
    case AZK_MQTT_CONNACK:
        return on_connack(c, &p->u.connack);
    case AZK_MQTT_SUBACK:
        on_suback(c, p);
        return 0;
    case AZK_MQTT_PINGRESP:
        if (CL(c)->ping_out) {
            CL(c)->ping_out = false;
            CL(c)->deadline = 0;
        }
        return 0;
    case AZK_MQTT_PUBACK:
        if (!dps)
            azki_client_puback(c, p->u.packet_id);
        return 0;
    case AZK_MQTT_PUBLISH:
        if (dps)
            azki_client_dps_publish(c, &p->u.publish);
        else
            hub_publish(c, &p->u.publish);
        return 0;
    default:
        return -EPROTO;
    }
}

int azk_client_receive(struct azk_client *c, const void *data, size_t len, uint64_t now)
{
    CL(c)->now = now;
    if (!CL(c)->transport_up)
        return -ENOTCONN;
    if (CL(c)->closing || CL(c)->state == AZK_CLIENT_FAILED ||
        CL(c)->state == AZK_CLIENT_STOPPED)
        return 0; /* the connection is on its way out */
    CL(c)->last_rx = now;
    const uint8_t *d = data;
    while (len > 0) {
        size_t used = 0;
        struct azk_mqtt_packet p;
        int rc = azk_mqtt_decoder_feed(&CL(c)->dec, d, len, &used, &p);
        if (rc < 0) {
            enum azk_mqtt_reason why = azk_mqtt_decoder_reason(&CL(c)->dec);
            azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, (int)why, rc,
                            rc == -EMSGSIZE
                                ? azk_span_from_str("a packet larger than the receive half of "
                                                    "the work buffer")
                                : azk_span_from_str(azk_mqtt_reason_str(why)));
            return rc;
        }
        d += used;
        len -= used;
        if (rc == AZK_MQTT_PACKET) {
            rc = on_packet(c, &p);
            if (rc != 0) {
                azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, (int)p.type, rc,
                                azk_span_from_str("unexpected packet from the server"));
                return rc;
            }
        }
        if (CL(c)->closing)
            break; /* the rest belongs to a connection being closed */
    }
    return 0;
}

/* ---- the transport goes away ---------------------------------------------------------------- */

/* A uniform value in 0..range: the injected random source, else the fallback sequence
 * (xorshift32). */
static uint32_t draw(struct azk_client *c, uint32_t range)
{
    uint32_t r;
    if (CL(c)->cfg.random != NULL) {
        r = CL(c)->cfg.random(CL(c)->cfg.random_ctx);
    } else {
        r = CL(c)->rng;
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        CL(c)->rng = r;
    }
    /* r * (range + 1) / 2^32: uniform over 0..range without a 64-bit division. */
    return (uint32_t)(((uint64_t)r * ((uint64_t)range + 1u)) >> 32);
}

void azki_client_setback(struct azk_client *c, enum azk_client_failure f, int code, int err,
                        struct azk_span text, bool refusal)
{
    const struct azk_client_config *k = &CL(c)->cfg;
    if (CL(c)->state == AZK_CLIENT_FAILED || CL(c)->state == AZK_CLIENT_STOPPED)
        return;
    if (k->no_retry || (refusal && !k->retry_refusals) ||
        (k->max_retries != 0 && CL(c)->attempts >= k->max_retries)) {
        azki_client_fail(c, f, code, err, text);
        return;
    }
    bool was_connected = CL(c)->state == AZK_CLIENT_CONNECTED;
    uint32_t n = ++CL(c)->attempts, wait;
    if (refusal) {
        wait = k->retry_max_ms / 2u + draw(c, k->retry_max_ms - k->retry_max_ms / 2u);
    } else {
        /* Full jitter over min(max, min * 2^(n-1)). */
        uint32_t window = k->retry_min_ms;
        while (--n > 0 && window < k->retry_max_ms)
            window = window > k->retry_max_ms / 2u ? k->retry_max_ms : window * 2u;
        wait = draw(c, window < k->retry_max_ms ? window : k->retry_max_ms);
    }
    CL(c)->state = AZK_CLIENT_BACKOFF;
    CL(c)->want_transport = false;
    CL(c)->deadline = 0;
    CL(c)->wake = CL(c)->now + wait;
    if (CL(c)->wake == 0)
        CL(c)->wake = 1;
    if (CL(c)->transport_up)
        azki_client_close_transport(c);
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_DISCONNECTED, .failure = f, .code = code,
                                  .err = err, .text = text, .retry_in_ms = wait,
                                  .attempt = CL(c)->attempts};
    ev.hub = azk_span_from_str(CL(c)->hub_host);
    ev.device_id = azk_span_from_str(CL(c)->device_id);
    if (was_connected) {
        azki_client_emit(c, &ev);
        if (CL(c)->state != AZK_CLIENT_BACKOFF)
            return; /* the callback stopped the client */
    }
    ev.kind = AZK_CLIENT_EV_RETRYING;
    azki_client_emit(c, &ev);
}

void azk_client_transport_down(struct azk_client *c, int err, struct azk_span text, uint64_t now)
{
    CL(c)->now = now;
    bool asked = CL(c)->closing;
    CL(c)->transport_up = false;
    CL(c)->closing = false;
    CL(c)->tx_len = 0;
    CL(c)->deadline = 0;
    CL(c)->ping_out = false;
    CL(c)->mqtt_up = false;
    CL(c)->awaiting_connack = false;
    CL(c)->sub_packet_id = 0;
    CL(c)->n_pending_acks = 0;
    azki_client_inflight_lost(c, err ? err : -ECONNRESET, text);
    if (CL(c)->handoff) {
        /* DPS assigned a hub (or azk_client_reconnect()) and the connection is closed: now
         * the hub. */
        CL(c)->handoff = false;
        CL(c)->want_transport = CL(c)->state == AZK_CLIENT_HUB_CONNECTING;
        return;
    }
    enum azk_client_state st = CL(c)->state;
    if (asked || st == AZK_CLIENT_IDLE || st >= AZK_CLIENT_BACKOFF)
        return; /* closed because the client asked: the reason was handled then */
    /* The words (text) are the driver's. */
    /* A TLS handshake the server or the device refused (-ECONNABORTED) will not fix itself;
     * anything else on the way may. */
    azki_client_setback(c, AZK_CLIENT_F_TRANSPORT, 0, err ? err : -ECONNRESET, text,
                       err == -ECONNABORTED && st != AZK_CLIENT_CONNECTED);
}

/* ---- timers --------------------------------------------------------------------------------- */

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* An answer did not come in time: the connection is dead or the server is stuck. */
static void deadline_passed(struct azk_client *c)
{
    azki_client_setback(c, AZK_CLIENT_F_TIMEOUT, 0, -ETIMEDOUT,
                       azk_span_from_str(CL(c)->ping_out ? "no PINGRESP or PUBACK in time: the "
                                                           "connection is dead"
                                                         : "the server did not answer in time"),
                       false);
}

uint64_t azk_client_tick(struct azk_client *c, uint64_t now)
{
    CL(c)->now = now;
    if (CL(c)->deadline != 0 && now >= CL(c)->deadline) {
        CL(c)->deadline = 0;
        deadline_passed(c);
    }
    if (CL(c)->wake != 0 && now >= CL(c)->wake) {
        CL(c)->wake = 0;
        if (CL(c)->state == AZK_CLIENT_BACKOFF) {
            /* Again: to the hub once DPS named one, else DPS from the start. */
            CL(c)->state = CL(c)->hub_host[0] ? AZK_CLIENT_HUB_CONNECTING
                                              : AZK_CLIENT_DPS_CONNECTING;
            CL(c)->operation_id[0] = '\0';
            CL(c)->want_transport = true;
        } else if (CL(c)->state == AZK_CLIENT_DPS_REGISTERING) {
            azki_client_dps_wake(c);
        }
    }
    if (CL(c)->dps_deadline != 0 && now >= CL(c)->dps_deadline) {
        CL(c)->dps_deadline = 0;
        if (CL(c)->state == AZK_CLIENT_DPS_CONNECTING ||
            CL(c)->state == AZK_CLIENT_DPS_REGISTERING)
            deadline_passed(c);
    }
    if (CL(c)->ack_deadline != 0 && now >= CL(c)->ack_deadline) {
        CL(c)->ack_deadline = 0;
        CL(c)->ping_out = true; /* the words of a dead connection */
        deadline_passed(c);
    }
    flush_pending_acks(c);
    azki_client_pump(c);
    /* Keepalive wherever MQTT is up -- also while DPS's retry-after runs: a PINGREQ when
     * nothing was sent, or nothing received, for the keepalive period (a link that swallows
     * what the device sends is found while telemetry flows). */
    uint64_t keepalive_ms = (uint64_t)CL(c)->cfg.keepalive_s * 1000u;
    bool mqtt_up = CL(c)->mqtt_up && CL(c)->transport_up && !CL(c)->closing;
    uint64_t next = 0;
    if (mqtt_up && !CL(c)->ping_out) {
        uint64_t quiet = CL(c)->last_tx < CL(c)->last_rx ? CL(c)->last_tx : CL(c)->last_rx;
        if (now >= quiet + keepalive_ms) {
            uint8_t *at;
            size_t room, n = 0;
            if (azki_client_out_reserve(c, &at, &room) == 0 &&
                azk_mqtt_encode_pingreq(at, room, &n) == 0) {
                azki_client_out_commit(c, n);
                CL(c)->ping_out = true;
                CL(c)->deadline = now + CL(c)->cfg.response_timeout_ms;
            } else {
                next = now + 100; /* the output is full: try again once it drained */
            }
        } else {
            next = quiet + keepalive_ms;
        }
    }
    /* (The DPS deadline needs no wake of its own: while DPS runs, an answer deadline or a
     * retry-after wake is always pending, and it is checked then.) */
    next = earliest(next, earliest(CL(c)->deadline, earliest(CL(c)->wake, CL(c)->ack_deadline)));
    return next != 0 && next <= now ? now + 1 : next;
}

const char *azk_client_failure_name(enum azk_client_failure f)
{
    switch (f) {
    case AZK_CLIENT_F_NONE: return "none";
    case AZK_CLIENT_F_TRANSPORT: return "transport";
    case AZK_CLIENT_F_CONNACK: return "connack-refused";
    case AZK_CLIENT_F_PROTOCOL: return "protocol";
    case AZK_CLIENT_F_TIMEOUT: return "timeout";
    case AZK_CLIENT_F_DPS_UNAUTHORIZED: return "dps-unauthorized";
    case AZK_CLIENT_F_DPS_DISABLED: return "dps-disabled";
    case AZK_CLIENT_F_DPS_FAILED: return "dps-failed";
    case AZK_CLIENT_F_DPS_ERROR: return "dps-error";
    case AZK_CLIENT_F_SUBSCRIBE: return "subscribe-refused";
    }
    return "unknown";
}

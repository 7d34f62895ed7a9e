/* CONNECT: who is this, and may it connect? Decided at the application layer as IoT Hub
 * decides it -- the TLS handshake accepted any certificate -- and every refusal is CONNACK 5
 * with one log line saying which rule failed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/auth.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/log.h"
#include "hub/service/sas.h"
#include "hub/mqtt/session.h"
#include "hub/tls.h"

static void connack(struct hub_conn *c, uint8_t code, bool session_present)
{
    struct azk_mqtt_connack a = {session_present, code};
    uint8_t out[4];
    size_t n = 0;
    azk_mqtt_encode_connack(&a, out, sizeof(out), &n);
    hub_conn_send(c, out, n);
}

static int refuse(struct hub_conn *c, const char *device, const char *rule, const char *why)
{
    hub_log(HUB_LOG_WARN, "conn %s device '%s': refused (CONNACK 5): %s: %s", c->peer, device,
            rule, why);
    connack(c, AZK_MQTT_CONNACK_NOT_AUTHORIZED, false);
    hub_conn_close(c, false, "not authorized");
    return -1;
}

static enum hub_x509_type auth_type(enum hub_auth_type t)
{
    switch (t) {
    case HUB_AUTH_SELF_SIGNED: return HUB_X509_TYPE_SELF_SIGNED;
    case HUB_AUTH_CA: return HUB_X509_TYPE_CA;
    case HUB_AUTH_SAS: return HUB_X509_TYPE_SAS;
    case HUB_AUTH_NONE: return HUB_X509_TYPE_NONE;
    }
    return HUB_X509_TYPE_UNKNOWN;
}

/* The X.509 verdict, with the registry entry (NULL: not registered; looked up once by the
 * caller) and the hub's verified CAs. */
static void decide(struct hub_conn *c, struct hub_iothub *h, const char *device_id,
                   const struct hub_device *dev, struct hub_x509_verdict *v)
{
    bool registered = dev != NULL;
    struct hub_x509_device ad = {
        .type = registered ? auth_type(dev->auth) : HUB_X509_TYPE_UNKNOWN,
        .primary_thumbprint = registered ? dev->primary_thumbprint : NULL,
        .secondary_thumbprint = registered ? dev->secondary_thumbprint : NULL,
        .enabled = registered && dev->status == HUB_DEVICE_ENABLED,
    };
    /* The verified CAs as parsed the last time the CA table changed (iothub.c). */
    const struct hub_x509_cas *cas = hub_iothub_verified_cas(h);
    const struct hub_x509_cas none = {NULL, 0}; /* out of memory: refused as internal */
    struct hub_peer_chain chain = {0};
    hub_tls_peer_chain(c->ssl, &chain);
    struct hub_x509_input in = {
        .leaf = chain.leaf,
        .intermediates = chain.intermediates,
        .device = registered ? &ad : NULL,
        .device_id = device_id,
        .verified_cas = cas != NULL ? cas : &none,
        .now = time(NULL),
    };
    hub_x509_decide(&in, v);
    /* The peer chain is not needed any more: free it (thousands of idle connections). */
    hub_tls_peer_chain_free(&chain);
}

/* The SAS verdict of a device with symmetric keys: its token (the CONNECT password) must name
 * this hub and the device, be signed with one of its keys (or the hub-level policy's), and not
 * have expired; the connection then ends when the token does (c->token_expires_ms). 0, or -1
 * with `why` saying which rule failed. */
static int sas_decide(struct hub_conn *c, struct hub_iothub *h, const struct azk_mqtt_connect *m,
                      const struct hub_device *dev, char *why, size_t whylen)
{
    if (dev->status != HUB_DEVICE_ENABLED) {
        snprintf(why, whylen, "the device is disabled");
        return -1;
    }
    if (!m->has_password || m->password.len == 0 || m->password.len > HUB_SAS_TOKEN_MAX) {
        snprintf(why, whylen, "the device authenticates with a SAS token: send "
                 "'SharedAccessSignature sr=%.100s/devices/%.64s&sig=...&se=...' as the password",
                 h->hostname, dev->device_id);
        return -1;
    }
    char token[HUB_SAS_TOKEN_MAX + 1];
    memcpy(token, m->password.ptr, m->password.len);
    token[m->password.len] = '\0';
    const char *hosts[HUB_IOTHUB_SAS_HOSTS_MAX];
    size_t n = hub_iothub_sas_hosts(h, hosts);
    struct hub_sas_device sd = {dev->device_id, dev->primary_key, dev->secondary_key};
    struct hub_sas_policy owner = {HUB_SAS_POLICY_HUB, c->d->service_key};
    int64_t expires_s = 0;
    enum hub_sas_result r = hub_sas_verify_device(token, &sd, &owner, hosts, n,
                                                  hub_now_ms() / 1000, &expires_s);
    OPENSSL_cleanse(token, sizeof(token));
    if (r != HUB_SAS_OK) {
        snprintf(why, whylen, "%s", r == HUB_SAS_WRONG_RESOURCE
                 ? "the token's resource (sr) is not this hub's '<host>/devices/<device id>'"
                 : hub_sas_result_text(r));
        return -1;
    }
    c->token_expires_ms = expires_s * 1000;
    snprintf(why, whylen, "sas: token valid until %lld", (long long)expires_s);
    return 0;
}

static void keep_will(struct hub_conn *c, const struct azk_mqtt_connect *m)
{
    c->has_will = m->will;
    if (!m->will)
        return;
    /* IoT Hub stores a Will only when its topic is the device's telemetry topic. */
    struct azk_hub_topic t;
    if (azk_hub_parse_device_topic(m->will_topic, azk_span_from_str(c->device_id), &t) != 0 ||
        t.kind != AZK_HUB_TOPIC_TELEMETRY) {
        hub_log(HUB_LOG_WARN, "conn %s device '%s': Will topic '%.*s' is not the device's "
                "telemetry topic; the Will is ignored", c->peer, c->device_id,
                (int)m->will_topic.len, m->will_topic.ptr);
        c->has_will = false;
        return;
    }
    c->will_topic = strndup(m->will_topic.ptr, m->will_topic.len);
    c->will_payload = malloc(m->will_payload.len ? m->will_payload.len : 1);
    if (c->will_topic == NULL || c->will_payload == NULL) {
        c->has_will = false;
        return;
    }
    memcpy(c->will_payload, m->will_payload.ptr, m->will_payload.len);
    c->will_payload_len = m->will_payload.len;
    c->will_retain = m->will_retain;
}

int hub_handle_connect(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    const struct azk_mqtt_connect *m = &p->u.connect;
    struct hub_daemon *d = c->d;
    char client_id[HUB_DEVICE_ID_MAX + 1];
    snprintf(client_id, sizeof(client_id), "%.*s", (int)m->client_id.len, m->client_id.ptr);
    if (!m->has_username)
        return refuse(c, client_id, "username", "CONNECT has no username; IoT Hub expects "
                      "'{host}/{deviceId}/?api-version=2021-04-12'");
    struct azk_hub_username u;
    int hub_rc = azk_hub_username_parse(m->username, &u);
    /* DPS: '{idScope}/registrations/{registrationId}/api-version=...' (dps_connect.c). Such a
     * username also parses as an IoT Hub module identity ("{host}/registrations/{module}"),
     * which this hub does not serve; so a DPS-shaped username goes to DPS, which refuses an
     * unknown id scope with a clear reason. */
    struct azk_dps_username du;
    if (azk_dps_username_parse(m->username, &du) == 0 &&
        (hub_rc != 0 || u.module_id.len != 0 || azk_span_eq_str(du.id_scope, d->dps.id_scope)))
        return hub_dps_connect(c, m, &du);
    if (hub_rc != 0)
        return refuse(c, client_id, "username", "the username is not "
                      "'{host}/{deviceId}/?api-version=...'");
    if (u.module_id.len != 0)
        return refuse(c, client_id, "username", "module identities are not supported");
    if (!azk_span_eq(u.device_id, m->client_id))
        return refuse(c, client_id, "client id",
                      "the MQTT client id must equal the device id in the username");
    /* Which hub: by the TLS server name and the username's host (iothub.h). */
    char why[512];
    struct hub_iothub *h = hub_iothub_select(d, SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name),
                                             u.host.ptr, u.host.len, why, sizeof(why));
    if (h == NULL)
        return refuse(c, client_id, "hub name", why);
    uint8_t fault_code;
    if (hub_faults_take_connect(d, &fault_code)) {
        hub_log(HUB_LOG_INFO, "conn %s device '%s': refused by fault injection (CONNACK %u)",
                c->peer, client_id, fault_code);
        connack(c, fault_code, false);
        hub_conn_close(c, false, "fault injection");
        return -1;
    }
    /* A device registered with symmetric keys authenticates with a SAS token; every other
     * device with its X.509 certificate. */
    char how[384];
    struct hub_device dev;
    bool registered = hub_store_device_get(h->store, client_id, &dev) == 0;
    if (registered && dev.auth == HUB_AUTH_SAS) {
        if (sas_decide(c, h, m, &dev, how, sizeof(how)) != 0)
            return refuse(c, client_id, "sas", how);
    } else {
        struct hub_x509_verdict v;
        decide(c, h, client_id, registered ? &dev : NULL, &v);
        if (!v.accepted)
            return refuse(c, client_id, hub_x509_reason_name(v.reason), v.message);
        snprintf(how, sizeof(how), "%s", v.message);
    }

    /* One connection per device: a new one drops the old. */
    struct hub_conn *old = hub_devmap_get(&h->conns, client_id);
    if (old != NULL && old != c)
        hub_conn_close(old, true, "a new connection of the same device replaced it");

    snprintf(c->device_id, sizeof(c->device_id), "%s", client_id);
    c->kind = &hub_kind_device;
    c->hub = h;
    snprintf(c->auth_desc, sizeof(c->auth_desc), "%s", how);
    c->clean_session = m->clean_session;
    bool session_present = hub_session_open(c);
    keep_will(c, m);
    c->state = HUB_CONN_CONNECTED;
    if (hub_devmap_put(&h->conns, client_id, c) == c) {
        connack(c, AZK_MQTT_CONNACK_SERVER_UNAVAILABLE, false);
        hub_conn_close(c, false, "out of memory");
        return -1;
    }
    hub_store_device_set_connected(h->store, client_id, true, hub_now_ms());
    connack(c, AZK_MQTT_CONNACK_ACCEPTED, session_present);
    hub_conn_start_keepalive(c, m->keep_alive);
    hub_log(HUB_LOG_INFO, "conn %s device '%s': connected to %s (%s; %s, keepalive %u s, clean "
            "session %d%s)", c->peer, client_id, h->hostname, how, SSL_get_version(c->ssl),
            m->keep_alive, m->clean_session, session_present ? ", session present" : "");
    hub_c2d_pump(c);
    return 0;
}

/* DPS connections: CONNECT (any certificate or none; the chain is kept for the requests),
 * the one subscription DPS documents, the two request topics, PINGREQ and DISCONNECT. The rule
 * table hub_kind_dps says what happens to every other packet type. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/log.h"

static int dps_publish(struct hub_conn *c, const struct azk_mqtt_packet *p);
static int dps_puback(struct hub_conn *c, const struct azk_mqtt_packet *p);
static int dps_subscribe(struct hub_conn *c, const struct azk_mqtt_packet *p);
static int dps_unsubscribe(struct hub_conn *c, const struct azk_mqtt_packet *p);
static int dps_pingreq(struct hub_conn *c, const struct azk_mqtt_packet *p);
static void dps_closed(struct hub_conn *c);
static void dps_freed(struct hub_conn *c);

const struct hub_conn_kind hub_kind_dps = {
    .name = "DPS",
    .packets = {
        [0] = {NULL, "reserved packet type 0"},
        [AZK_MQTT_CONNECT] = {NULL, "second CONNECT on one connection"},
        [AZK_MQTT_CONNACK] = {NULL, "CONNACK is sent by servers, not devices"},
        [AZK_MQTT_PUBLISH] = {dps_publish, NULL},
        [AZK_MQTT_PUBACK] = {dps_puback, NULL},
        [AZK_MQTT_PUBREC] = {NULL, "PUBREC: DPS does not support QoS 2"},
        [AZK_MQTT_PUBREL] = {NULL, "PUBREL: DPS does not support QoS 2"},
        [AZK_MQTT_PUBCOMP] = {NULL, "PUBCOMP: DPS does not support QoS 2"},
        [AZK_MQTT_SUBSCRIBE] = {dps_subscribe, NULL},
        [AZK_MQTT_SUBACK] = {NULL, "SUBACK is sent by servers, not devices"},
        [AZK_MQTT_UNSUBSCRIBE] = {dps_unsubscribe, NULL},
        [AZK_MQTT_UNSUBACK] = {NULL, "UNSUBACK is sent by servers, not devices"},
        [AZK_MQTT_PINGREQ] = {dps_pingreq, NULL},
        [AZK_MQTT_PINGRESP] = {NULL, "PINGRESP is sent by servers, not devices"},
        [AZK_MQTT_DISCONNECT] = {hub_handle_disconnect, NULL},
        [15] = {NULL, "reserved packet type 15"},
    },
    .closed = dps_closed,
    .freed = dps_freed,
};

static void connack(struct hub_conn *c, uint8_t code)
{
    struct azk_mqtt_connack a = {false, code};
    uint8_t out[4];
    size_t n = 0;
    azk_mqtt_encode_connack(&a, out, sizeof(out), &n);
    hub_conn_send(c, out, n);
}

static int refuse(struct hub_conn *c, const char *reg_id, const char *why)
{
    hub_log(HUB_LOG_WARN, "conn %s dps registration '%s': refused (CONNACK 5): %s", c->peer,
            reg_id, why);
    connack(c, AZK_MQTT_CONNACK_NOT_AUTHORIZED);
    hub_conn_close(c, false, "not authorized");
    return -1;
}

int hub_dps_connect(struct hub_conn *c, const struct azk_mqtt_connect *m,
                    const struct azk_dps_username *u)
{
    struct hub_daemon *d = c->d;
    char reg_id[HUB_DEVICE_ID_MAX + 1];
    snprintf(reg_id, sizeof(reg_id), "%.*s", (int)u->registration_id.len,
             u->registration_id.ptr);
    if (!azk_span_eq(u->registration_id, m->client_id))
        return refuse(c, reg_id, "the MQTT client id must equal the registration id in the "
                      "username");
    if (!azk_span_eq_str(u->id_scope, d->dps.id_scope)) {
        char why[160];
        snprintf(why, sizeof(why), "id scope '%.*s' is not this DPS's ('%s')",
                 (int)u->id_scope.len, u->id_scope.ptr, d->dps.id_scope);
        return refuse(c, reg_id, why);
    }
    /* A SAS token (symmetric-key attestation) is checked per register request, as X.509. */
    char *token = NULL;
    if ((m->has_password && m->password.len > 0 &&
         (token = strndup(m->password.ptr, m->password.len)) == NULL) ||
        hub_tls_peer_chain(c->ssl, &c->dps_chain) != 0) {
        if (token) {
            OPENSSL_cleanse(token, strlen(token));
            free(token);
        }
        connack(c, AZK_MQTT_CONNACK_SERVER_UNAVAILABLE);
        hub_conn_close(c, false, "out of memory");
        return -1;
    }
    c->kind = &hub_kind_dps;
    c->dps_sas_token = token;
    snprintf(c->device_id, sizeof(c->device_id), "%s", reg_id);
    c->clean_session = true; /* DPS keeps no session whatever the flag says */
    c->has_will = false;     /* and no Will */
    c->state = HUB_CONN_CONNECTED;
    c->dps_prev = NULL;
    c->dps_next = d->dps.conns;
    if (d->dps.conns)
        d->dps.conns->dps_prev = c;
    d->dps.conns = c;
    char cn[128] = "";
    if (c->dps_chain.leaf)
        X509_NAME_get_text_by_NID(X509_get_subject_name(c->dps_chain.leaf), NID_commonName, cn,
                                  sizeof(cn));
    snprintf(c->auth_desc, sizeof(c->auth_desc), "DPS, %s%s%s%s",
             c->dps_chain.leaf ? "certificate CN=" : "no certificate", cn,
             c->dps_chain.leaf && sk_X509_num(c->dps_chain.intermediates) > 0
                 ? " with intermediates" : "",
             c->dps_sas_token ? ", SAS token" : "");
    connack(c, AZK_MQTT_CONNACK_ACCEPTED);
    hub_conn_start_keepalive(c, m->keep_alive);
    hub_log(HUB_LOG_INFO, "conn %s dps registration '%s': connected (%s; %s, keepalive %u s, "
            "clean session %d)", c->peer, reg_id, c->auth_desc, SSL_get_version(c->ssl),
            m->keep_alive, m->clean_session);
    return 0;
}

static void dps_closed(struct hub_conn *c)
{
    struct hub_dps *dps = &c->d->dps;
    if (c->dps_prev)
        c->dps_prev->dps_next = c->dps_next;
    else if (dps->conns == c)
        dps->conns = c->dps_next;
    if (c->dps_next)
        c->dps_next->dps_prev = c->dps_prev;
    c->dps_prev = c->dps_next = NULL;
}

static void dps_freed(struct hub_conn *c)
{
    hub_tls_peer_chain_free(&c->dps_chain);
    if (c->dps_sas_token) {
        OPENSSL_cleanse(c->dps_sas_token, strlen(c->dps_sas_token));
        free(c->dps_sas_token);
        c->dps_sas_token = NULL;
    }
}

void hub_dps_close_all(struct hub_daemon *d)
{
    while (d->dps.conns)
        hub_conn_close(d->dps.conns, false, "azkit-hub is stopping");
}

static bool is_res_filter(struct azk_span f)
{
    return azk_span_eq_str(f, AZK_DPS_RESPONSE_FILTER);
}

static int dps_subscribe(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    uint8_t codes[8];
    size_t n = 0;
    struct azk_mqtt_iter it;
    struct azk_mqtt_subscription sub;
    azk_mqtt_iter_init(&it, p);
    while (azk_mqtt_iter_next_subscription(&it, &sub)) {
        if (!is_res_filter(sub.filter) || n == sizeof(codes)) {
            hub_conn_close(c, true, "SUBSCRIBE to '%.*s': DPS devices may subscribe only to "
                           "%s", (int)sub.filter.len, sub.filter.ptr, AZK_DPS_RESPONSE_FILTER);
            return -1;
        }
        codes[n++] = sub.qos > 1 ? 1 : sub.qos; /* QoS 2 granted as 1 */
    }
    c->subs |= HUB_SUB_DPS_RES;
    uint8_t out[16];
    size_t len = 0;
    if (azk_mqtt_encode_suback(p->u.subscribe.packet_id, codes, n, out, sizeof(out), &len) == 0)
        hub_conn_send(c, out, len);
    return 0;
}

static int dps_unsubscribe(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    struct azk_mqtt_iter it;
    struct azk_span filter;
    azk_mqtt_iter_init(&it, p);
    while (azk_mqtt_iter_next_filter(&it, &filter)) {
        if (!is_res_filter(filter)) {
            hub_conn_close(c, true, "UNSUBSCRIBE from '%.*s': not a DPS topic", (int)filter.len,
                           filter.ptr);
            return -1;
        }
        c->subs &= ~(unsigned)HUB_SUB_DPS_RES;
    }
    uint8_t out[4];
    size_t len = 0;
    azk_mqtt_encode_ack(AZK_MQTT_UNSUBACK, p->u.unsubscribe.packet_id, out, sizeof(out), &len);
    hub_conn_send(c, out, len);
    return 0;
}

static int dps_publish(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    const struct azk_mqtt_publish *pub = &p->u.publish;
    if (pub->qos > 1) {
        hub_conn_close(c, true, "PUBLISH with QoS 2 (DPS supports QoS 0 and 1)");
        return -1;
    }
    struct azk_dps_topic t;
    int rc = azk_dps_parse_request_topic(pub->topic, &t);
    if (rc != 0) {
        hub_conn_close(c, true, "PUBLISH to '%.*s': %s", (int)pub->topic.len, pub->topic.ptr,
                       rc == -ENOENT ? "not a DPS request topic (iotdps-register or "
                                       "iotdps-get-operationstatus)"
                                     : "malformed DPS request topic");
        return -1;
    }
    /* QoS 1: the PUBACK (in order behind earlier ones) goes before the answer. */
    struct hub_puback *slot = NULL;
    if (pub->qos == 1 && (slot = hub_puback_reserve(c, pub->packet_id)) == NULL) {
        hub_conn_close(c, true, "out of memory");
        return -1;
    }
    if (slot)
        hub_puback_ready(c, slot);
    return hub_dps_request(c, &t, pub->payload);
}

/* DPS answers at QoS 0, so a PUBACK acknowledges nothing the hub sent: ignored, as a device
 * connection ignores a PUBACK for nothing in flight. */
static int dps_puback(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    hub_log(HUB_LOG_DEBUG, "conn %s dps registration '%s': PUBACK %u for nothing in flight",
            c->peer, c->device_id, p->u.packet_id);
    return 0;
}

/* Keepalive only: a DPS connection has no device record to touch. */
static int dps_pingreq(struct hub_conn *c, const struct azk_mqtt_packet *p)
{
    (void)p;
    hub_send_pingresp(c);
    return 0;
}

/* DPS requests of a connected device: register (PUT iotdps-register) and operation status
 * (GET iotdps-get-operationstatus), answered on $dps/registrations/res/{status}/?$rid=...
 * with the request's $rid echoed exactly, only to the connection that asked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "azkit/azure_payloads.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/dps/dps_match.h"
#include "hub/dps/dps_ops.h"
#include "hub/dps/dps_symkey.h"
#include "hub/iothub/faults.h"
#include "hub/log.h"
#include "hub/store/store_dps.h"

static struct azk_span str_span(const char *s)
{
    return (struct azk_span){s, strlen(s)};
}

static void send_response(struct hub_conn *c, int status, struct azk_span rid,
                          int64_t retry_after, const struct azk_dps_response *r)
{
    /* Like IoT Hub's twin responses: only to a device subscribed to $dps/registrations/res/#. */
    if (!(c->subs & HUB_SUB_DPS_RES)) {
        hub_log(HUB_LOG_WARN, "conn %s dps registration '%s': res/%d not sent: the device is "
                "not subscribed to %s", c->peer, c->device_id, status, AZK_DPS_RESPONSE_FILTER);
        return;
    }
    char topic[512];
    size_t tlen = 0;
    if (azk_dps_response_topic(status, rid, retry_after, topic, sizeof(topic), &tlen) != 0)
        return;
    size_t need = 0;
    if (azk_dps_response_build(r, NULL, 0, &need) != -ENOBUFS) {
        hub_log(HUB_LOG_ERROR, "dps registration '%s': cannot build the res/%d body",
                c->device_id, status);
        return;
    }
    char *buf = malloc(need);
    size_t blen = 0;
    if (buf != NULL && azk_dps_response_build(r, buf, need, &blen) == 0)
        hub_conn_publish(c, topic, tlen, buf, blen, 0);
    free(buf);
    hub_log(HUB_LOG_DEBUG, "conn %s dps registration '%s': %.*s", c->peer, c->device_id,
            (int)tlen, topic);
}

/* A request-level error: {"errorCode","trackingId","message","timestampUtc"}, with a
 * retry-after (seconds) on the topic when not -1. */
static void send_error_after(struct hub_conn *c, struct azk_span rid, int32_t code,
                             const char *message, int64_t retry_after)
{
    char tracking[37], ts[32];
    dps_uuid4(tracking);
    dps_time_text(hub_now_ms(), ts);
    struct azk_dps_response r;
    memset(&r, 0, sizeof(r));
    r.has_error_code = true;
    r.error_code = code;
    r.tracking_id = str_span(tracking);
    r.message = str_span(message);
    r.timestamp_utc = str_span(ts);
    send_response(c, code / 1000, rid, retry_after, &r);
}

static void send_error(struct hub_conn *c, struct azk_span rid, int32_t code,
                       const char *message)
{
    send_error_after(c, rid, code, message, -1);
}

static enum azk_dps_status wire_status(enum dps_reg_status s)
{
    switch (s) {
    case DPS_REG_UNASSIGNED: return AZK_DPS_STATUS_UNASSIGNED;
    case DPS_REG_ASSIGNING: return AZK_DPS_STATUS_ASSIGNING;
    case DPS_REG_ASSIGNED: return AZK_DPS_STATUS_ASSIGNED;
    case DPS_REG_FAILED: return AZK_DPS_STATUS_FAILED;
    case DPS_REG_DISABLED: return AZK_DPS_STATUS_DISABLED;
    }
    return AZK_DPS_STATUS_UNKNOWN;
}

/* The finished operation: res/200 with the full registrationState. */
static void send_result(struct hub_conn *c, struct azk_span rid, const struct dps_op *op)
{
    const struct dps_registration *reg = &op->result;
    char created[32], updated[32], hub[DPS_HOST_MAX + 16];
    dps_time_text(reg->meta.created_ms, created);
    dps_time_text(reg->meta.updated_ms, updated);
    hub_dps_endpoint(c->d, reg->assigned_hub, hub, sizeof(hub));
    struct azk_dps_response r;
    memset(&r, 0, sizeof(r));
    r.operation_id = str_span(op->id);
    r.status = wire_status(reg->status);
    r.has_registration_state = true;
    struct azk_dps_registration_state *s = &r.registration_state;
    s->registration_id = str_span(reg->registration_id);
    s->created_date_time_utc = str_span(created);
    if (reg->status == DPS_REG_ASSIGNED) {
        s->assigned_hub = str_span(hub);
        s->device_id = str_span(reg->device_id);
    }
    s->status = r.status;
    if (reg->substatus != DPS_SUB_NONE)
        s->substatus = str_span(dps_reg_substatus_name(reg->substatus));
    if (reg->error_code != 0) {
        s->has_error_code = true;
        s->error_code = reg->error_code;
        s->error_message = str_span(reg->error_message);
    }
    s->last_updated_date_time_utc = str_span(updated);
    s->etag = str_span(reg->meta.etag);
    if (op->payload)
        s->payload = str_span(op->payload);
    /* Symmetric key: "symmetricKey":{"enrollmentGroupId"?} as DPS's DeviceRegistrationResult. */
    char att[DPS_GROUP_ID_MAX * 2 + 32] = "";
    if (reg->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        s->attestation_name = str_span("symmetricKey");
        if (reg->group_id[0]) {
            cJSON *o = cJSON_CreateObject();
            char *txt = NULL;
            if (o && cJSON_AddStringToObject(o, "enrollmentGroupId", reg->group_id))
                txt = cJSON_PrintUnformatted(o);
            if (txt)
                snprintf(att, sizeof att, "%s", txt);
            free(txt);
            cJSON_Delete(o);
        }
        s->attestation = str_span(att[0] ? att : "{}");
    }
    send_response(c, 200, rid, -1, &r);
}

static void send_assigning(struct hub_conn *c, struct azk_span rid, const struct dps_op *op,
                           bool with_state)
{
    struct azk_dps_response r;
    memset(&r, 0, sizeof(r));
    r.operation_id = str_span(op->id);
    r.status = AZK_DPS_STATUS_ASSIGNING;
    if (with_state) {
        r.has_registration_state = true;
        r.registration_state.registration_id = str_span(op->registration_id);
        r.registration_state.status = AZK_DPS_STATUS_ASSIGNING;
    }
    send_response(c, 202, rid, c->d->cfg.dps_retry_after_s, &r);
}

/* A disabled enrollment or group: an operation status, not an error (DPS REST "Runtime Registration - Register Device": status "disabled"). */
static void send_disabled(struct hub_conn *c, struct azk_span rid)
{
    struct azk_dps_response r;
    memset(&r, 0, sizeof(r));
    r.operation_id = (struct azk_span){"", 0};
    r.status = AZK_DPS_STATUS_DISABLED;
    r.has_registration_state = true;
    r.registration_state.registration_id = str_span(c->device_id);
    r.registration_state.status = AZK_DPS_STATUS_DISABLED;
    send_response(c, 200, rid, -1, &r);
}

static int do_register(struct hub_conn *c, struct azk_span rid, struct azk_span body)
{
    struct hub_daemon *d = c->d;
    struct azk_dps_register_request req;
    int rc = azk_dps_register_request_parse(body, &req);
    if (rc != 0) {
        hub_log(HUB_LOG_WARN, "conn %s dps registration '%s': register body is not a JSON "
                "object", c->peer, c->device_id);
        send_error(c, rid, 400004, "The request body is not a valid DeviceRegistration.");
        return 0;
    }
    if (req.registration_id.ptr != NULL &&
        (req.registration_id.len != strlen(c->device_id) ||
         strncasecmp(req.registration_id.ptr, c->device_id, req.registration_id.len) != 0)) {
        hub_log(HUB_LOG_WARN, "conn %s dps registration '%s': the body's registrationId "
                "'%.*s' is not the connection's", c->peer, c->device_id,
                (int)req.registration_id.len, req.registration_id.ptr);
        send_error(c, rid, 400004, "The registrationId in the body does not match the one "
                   "of the connection.");
        return 0;
    }
    struct dps_store_view v;
    hub_store_dps_view(d->dps_store, &v);
    struct dps_match_input in = {
        .registration_id = c->device_id,
        .leaf = c->dps_chain.leaf,
        .intermediates = c->dps_chain.intermediates,
        .enrollments = v.enrollments,
        .n_enrollments = v.n_enrollments,
        .groups = v.groups,
        .n_groups = v.n_groups,
        .cas = v.cas,
        .n_cas = v.n_cas,
        .now = time(NULL),
        .sas_token = c->dps_sas_token,
        .id_scope = d->dps.id_scope,
    };
    /* A SAS token in CONNECT means symmetric-key attestation; otherwise X.509. A device that
     * presented a certificate and a password that is no SharedAccessSignature at all is an
     * X.509 device with a stray password (matched as before tokens existed). */
    bool token = c->dps_sas_token &&
                 (!c->dps_chain.leaf || strstr(c->dps_sas_token, "SharedAccessSignature"));
    struct dps_match_result m;
    if (token)
        dps_match_symkey(&in, &m);
    else
        dps_match_x509(&in, &m);
    if (m.kind == DPS_MATCH_REFUSED) {
        hub_log(HUB_LOG_WARN, "conn %s dps registration '%s': register refused (%s): %s",
                c->peer, c->device_id, dps_refuse_reason_name(m.reason), m.message);
        if (m.reason == DPS_REFUSE_DISABLED)
            send_disabled(c, rid);
        else
            send_error(c, rid, m.error_code ? m.error_code : DPS_ERR_UNAUTHORIZED,
                       token ? "Unauthorized." : "Invalid certificate.");
        return 0;
    }
    struct dps_op *op = dps_op_new(d, c->device_id);
    if (op == NULL) {
        hub_conn_close(c, true, "out of memory");
        return -1;
    }
    op->kind = m.kind;
    op->attestation = m.attestation;
    snprintf(op->leaf_sha1, sizeof(op->leaf_sha1), "%s", m.leaf_sha1);
    snprintf(op->leaf_sha256, sizeof(op->leaf_sha256), "%s", m.leaf_sha256);
    rc = m.kind == DPS_MATCH_INDIVIDUAL ? dps_op_set_enrollment(op, &v.enrollments[m.index])
                                        : dps_op_set_group(op, &v.groups[m.index]);
    if (rc == 0 && req.payload.ptr != NULL &&
        (op->payload = strndup(req.payload.ptr, req.payload.len)) == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = dps_op_schedule(op, d->cfg.dps_assign_delay_s);
    if (rc != 0) {
        dps_op_discard(op);
        hub_conn_close(c, true, "out of memory");
        return -1;
    }
    hub_log(HUB_LOG_INFO, "conn %s dps registration '%s': register accepted (%s), operation "
            "%s", c->peer, c->device_id, m.message, op->id);
    send_assigning(c, rid, op, false);
    return 0;
}

static int do_poll(struct hub_conn *c, struct azk_span rid, struct azk_span op_id)
{
    struct dps_op *op = dps_op_find(c->d, op_id);
    /* Another registration's operation is as unknown as one that never existed. */
    if (op == NULL || strcasecmp(op->registration_id, c->device_id) != 0) {
        hub_log(HUB_LOG_WARN, "conn %s dps registration '%s': operation status of unknown "
                "operation '%.*s'", c->peer, c->device_id, (int)op_id.len, op_id.ptr);
        send_error(c, rid, 404000, "The operation was not found.");
        return 0;
    }
    if (op->done)
        send_result(c, rid, op);
    else
        send_assigning(c, rid, op, true);
    return 0;
}

/* Fault injection (azkit-hub fault dps-throttle): 429 with retry-after, as DPS throttles. */
#define DPS_ERR_THROTTLED 429001
#define DPS_THROTTLE_RETRY_AFTER_S 1

static void send_throttled(struct hub_conn *c, struct azk_span rid)
{
    hub_log(HUB_LOG_INFO, "conn %s dps registration '%s': throttled (429, fault injection)",
            c->peer, c->device_id);
    send_error_after(c, rid, DPS_ERR_THROTTLED,
                     "Operations are being throttled for this tenant (fault injection).",
                     DPS_THROTTLE_RETRY_AFTER_S);
}

int hub_dps_request(struct hub_conn *c, const struct azk_dps_topic *t, struct azk_span body)
{
    if ((t->kind == AZK_DPS_TOPIC_REGISTER || t->kind == AZK_DPS_TOPIC_OPERATION_STATUS) &&
        hub_faults_take_dps(c->d)) {
        send_throttled(c, t->rid);
        return 0;
    }
    if (t->kind == AZK_DPS_TOPIC_REGISTER)
        return do_register(c, t->rid, body);
    if (t->kind == AZK_DPS_TOPIC_OPERATION_STATUS)
        return do_poll(c, t->rid, t->operation_id);
    hub_conn_close(c, true, "PUBLISH to a DPS topic devices do not publish to");
    return -1;
}

/* The device client's DPS phase: CONNECT with the DPS username, SUBSCRIBE to the responses,
 * register, poll the operation honouring retry-after, and hand over to the assigned hub. */
#include <errno.h>
#include <string.h>

#include "azkit/azure_dps.h"
#include "azkit/azure_ids.h"
#include "azkit/azure_payloads.h"
#include "client_internal.h"

#define DPS_RETRY_AFTER_DEFAULT_S 3u /* what DPS sends; used when a 202 has no retry-after */
/* One sentence for every DPS answer the client cannot use (no JSON, no operationId or
 * registrationState, a hub or device id it cannot use): flash is not spent on more. */
#define BAD_ANSWER "DPS sent an answer this client cannot use"

int azki_client_dps_connect_fields(struct azk_client *c, char *user, size_t size, size_t *len)
{
    struct azk_dps_username u = {
        .id_scope = azk_span_from_str(CL(c)->scope),
        .registration_id = azk_span_from_str(CL(c)->reg_id),
        .client_version = azk_span_from_str("azkit"),
    };
    return azk_dps_username_build(&u, user, size, len, NULL);
}

void azki_client_dps_subscribed(struct azk_client *c)
{
    struct azk_mqtt_subscription sub = {azk_span_from_str(AZK_DPS_RESPONSE_FILTER), 1};
    if (++CL(c)->next_packet_id == 0)
        CL(c)->next_packet_id = 1;
    CL(c)->sub_packet_id = CL(c)->next_packet_id;
    uint8_t *at;
    size_t room, n = 0;
    int rc = azki_client_out_reserve(c, &at, &room);
    if (rc == 0)
        rc = azk_mqtt_encode_subscribe(CL(c)->sub_packet_id, &sub, 1, at, room, &n);
    if (rc != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 0, rc,
                        azk_span_from_str("cannot encode a packet (work buffer too small?)"));
        return;
    }
    azki_client_out_commit(c, n);
    CL(c)->deadline = CL(c)->now + CL(c)->cfg.response_timeout_ms;
}

/* Appends `s` (len bytes) at *at; false when it does not fit. */
static bool put(char *buf, size_t size, size_t *at, const char *s, size_t len)
{
    if (len > size - *at)
        return false;
    memcpy(buf + *at, s, len);
    *at += len;
    return true;
}

/* The register request body. 0 or -ENOBUFS. */
static int register_body(char *buf, size_t size, const char *reg_id, const char *payload,
                                size_t payload_len, size_t *len)
{
    size_t at = 0;
    bool ok = put(buf, size, &at, "{\"registrationId\":\"", 19) &&
              put(buf, size, &at, reg_id, strlen(reg_id)) && put(buf, size, &at, "\"", 1);
    if (ok && payload_len > 0)
        ok = put(buf, size, &at, ",\"payload\":", 11) &&
             put(buf, size, &at, payload, payload_len);
    ok = ok && put(buf, size, &at, "}", 1);
    *len = at;
    return ok ? 0 : -ENOBUFS;
}

/* The register request (no operation yet) or an operation-status poll. */
void azki_client_dps_wake(struct azk_client *c)
{
    char rid[16], topic[200], body[700];
    size_t rid_len = 0, tlen = 0, blen = 0;
    int rc = azki_client_rid(c, rid, sizeof(rid), &rid_len);
    struct azk_span r = {rid, rid_len};
    if (rc == 0 && CL(c)->operation_id[0] == '\0') {
        rc = azk_dps_register_topic(r, topic, sizeof(topic), &tlen);
        /* {"registrationId":"<id>"[,"payload":<json>]}: the id was validated at init (its
         * characters need no escaping) and the payload is valid JSON, so no JSON writer is
         * linked into firmware for this. */
        if (rc == 0)
            rc = register_body(body, sizeof(body), CL(c)->reg_id, CL(c)->payload,
                               CL(c)->payload_len, &blen);
    } else if (rc == 0) {
        rc = azk_dps_operation_status_topic(r, azk_span_from_str(CL(c)->operation_id), topic,
                                            sizeof(topic), &tlen);
    }
    if (rc == 0)
        rc = azki_client_publish(c, (struct azk_span){topic, tlen}, (struct azk_span){body, blen},
                                0, false, NULL);
    if (rc != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 0, rc,
                        azk_span_from_str("cannot encode a packet (work buffer too small?)"));
        return;
    }
    CL(c)->deadline = CL(c)->now + CL(c)->cfg.response_timeout_ms;
}

static void later(struct azk_client *c, const struct azk_dps_topic *t)
{
    /* The server's retry-after, 0 included (poll at once); the default only without one. */
    uint32_t s = t->has_retry_after ? t->retry_after : DPS_RETRY_AFTER_DEFAULT_S;
    CL(c)->deadline = 0;
    CL(c)->wake = CL(c)->now + (uint64_t)s * 1000u;
}

static void assigned(struct azk_client *c, const struct azk_dps_registration_state *rs)
{
    if (rs->assigned_hub.len >= sizeof(CL(c)->hub_host) ||
        rs->device_id.len >= sizeof(CL(c)->device_id) ||
        azk_device_id_validate(rs->device_id, NULL) != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 200, -EBADMSG,
                        azk_span_from_str(BAD_ANSWER));
        return;
    }
    memcpy(CL(c)->hub_host, rs->assigned_hub.ptr, rs->assigned_hub.len);
    CL(c)->hub_host[rs->assigned_hub.len] = '\0';
    memcpy(CL(c)->device_id, rs->device_id.ptr, rs->device_id.len);
    CL(c)->device_id[rs->device_id.len] = '\0';
    if (azki_client_host_valid(CL(c)->hub_host) != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 200, -EBADMSG,
                        azk_span_from_str(BAD_ANSWER));
        return;
    }
    struct azk_assignment_store *st = CL(c)->cfg.assignment;
    if (st != NULL)
        st->save(st, azk_span_from_str(CL(c)->scope), azk_span_from_str(CL(c)->reg_id),
                 azk_span_from_str(CL(c)->hub_host), azk_span_from_str(CL(c)->device_id));
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_DPS_ASSIGNED};
    ev.hub = azk_span_from_str(CL(c)->hub_host);
    ev.device_id = azk_span_from_str(CL(c)->device_id);
    ev.substatus = rs->substatus;
    CL(c)->deadline = 0;
    CL(c)->wake = 0;
    /* Close DPS; once the driver reports it closed, connect to the hub. */
    CL(c)->state = AZK_CLIENT_HUB_CONNECTING;
    CL(c)->want_transport = false;
    CL(c)->handoff = true;
    azki_client_close_transport(c);
    azki_client_emit(c, &ev);
}

void azki_client_dps_publish(struct azk_client *c, const struct azk_mqtt_publish *p)
{
    struct azk_dps_topic t;
    struct azk_dps_response r;
    azki_client_ack(c, p);
    if (CL(c)->state != AZK_CLIENT_DPS_REGISTERING ||
        azk_dps_parse_response_topic(p->topic, &t) != 0)
        return; /* not an answer to us */
    if (t.status == 429 || t.status >= 500) {
        later(c, &t); /* throttled or busy: the same request again after retry-after */
        return;
    }
    if (azk_dps_response_parse(p->payload, &r) != 0) {
        azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, t.status, -EBADMSG,
                        azk_span_from_str(BAD_ANSWER));
        return;
    }
    if (t.status == 202) {
        if (r.operation_id.len == 0 || r.operation_id.len >= sizeof(CL(c)->operation_id)) {
            azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 202, -EBADMSG,
                            azk_span_from_str(BAD_ANSWER));
            return;
        }
        memcpy(CL(c)->operation_id, r.operation_id.ptr, r.operation_id.len);
        CL(c)->operation_id[r.operation_id.len] = '\0';
        later(c, &t);
        return;
    }
    if (t.status == 200) {
        const struct azk_dps_registration_state *rs = &r.registration_state;
        enum azk_dps_status st = r.status != AZK_DPS_STATUS_NONE ? r.status : rs->status;
        if (st == AZK_DPS_STATUS_ASSIGNED && !r.has_registration_state) {
            azki_client_fail(c, AZK_CLIENT_F_PROTOCOL, 200, -EBADMSG,
                            azk_span_from_str(BAD_ANSWER));
        } else if (st == AZK_DPS_STATUS_ASSIGNED) {
            assigned(c, rs);
        } else if (st == AZK_DPS_STATUS_DISABLED) {
            azki_client_setback(c, AZK_CLIENT_F_DPS_DISABLED, 0, -EACCES,
                               azk_span_from_str("the enrollment or registration is disabled in "
                                                 "DPS"),
                               true);
        } else if (st == AZK_DPS_STATUS_ASSIGNING) {
            later(c, &t);
        } else {
            azki_client_setback(c, AZK_CLIENT_F_DPS_FAILED,
                               rs->has_error_code ? rs->error_code : 0, -EPROTO,
                               rs->error_message.len
                                   ? rs->error_message
                                   : azk_span_from_str("DPS could not assign a hub"),
                               true);
        }
        return;
    }
    struct azk_span why = r.message.len ? r.message : azk_span_from_str("DPS refused the request");
    int code = r.has_error_code ? r.error_code : t.status;
    if (t.status == 401)
        azki_client_setback(c, AZK_CLIENT_F_DPS_UNAUTHORIZED, code, -EACCES, why, true);
    else
        azki_client_setback(c, AZK_CLIENT_F_DPS_ERROR, code, -EPROTO, why, true);
}

void azki_client_dps_stored(struct azk_client *c)
{
    struct azk_assignment_store *st = CL(c)->cfg.assignment;
    /* The store gives back what save() was given (checked then); keeping it intact is the
     * store's business. */
    if (st == NULL ||
        st->load(st, azk_span_from_str(CL(c)->scope), azk_span_from_str(CL(c)->reg_id),
                 CL(c)->hub_host, sizeof(CL(c)->hub_host), CL(c)->device_id,
                 sizeof(CL(c)->device_id)) != 0 ||
        !CL(c)->hub_host[0] || !CL(c)->device_id[0]) {
        CL(c)->hub_host[0] = CL(c)->device_id[0] = '\0';
        return; /* none (or unusable): DPS */
    }
    CL(c)->state = AZK_CLIENT_HUB_CONNECTING;
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_DPS_ASSIGNED, .stored = true};
    ev.hub = azk_span_from_str(CL(c)->hub_host);
    ev.device_id = azk_span_from_str(CL(c)->device_id);
    azki_client_emit(c, &ev);
}

bool azki_client_dps_refused(struct azk_client *c)
{
    if (!CL(c)->scope[0] || CL(c)->registered_again || CL(c)->state != AZK_CLIENT_HUB_CONNECTING)
        return false;
    uint8_t limit = CL(c)->cfg.dps_again_after ? CL(c)->cfg.dps_again_after : 3u;
    if (++CL(c)->hub_refusals >= limit) {
        /* The hub does not know the device (any more): DPS may have moved it. */
        CL(c)->registered_again = true;
        CL(c)->hub_host[0] = CL(c)->device_id[0] = '\0';
        if (CL(c)->cfg.assignment != NULL)
            CL(c)->cfg.assignment->forget(CL(c)->cfg.assignment);
    }
    azki_client_setback(c, AZK_CLIENT_F_CONNACK, 5, -ECONNREFUSED, (struct azk_span){0}, false);
    return true;
}

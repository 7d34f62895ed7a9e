/* The Proton events of one AMQP connection: sessions and links by address, CBS put-token,
 * C2D messages into the devices' queues, and feedback out to the back-end. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/object.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include "hub/amqp/amqp_addr.h"
#include "hub/amqp/amqp_internal.h"
#include "hub/amqp/amqp_msg.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/mqtt/conn.h"
#include "hub/service/service.h"
#include "hub/store/store.h"

#define LINK_CREDIT 100                 /* messages a peer may send ahead */
#define MESSAGE_MAX (1024 * 1024)       /* largest message the hub reads (whole) */
#define FEEDBACK_CONTENT_TYPE "application/vnd.microsoft.iothub.feedback.json"

PN_HANDLE(LINK_KIND)
PN_HANDLE(DELIVERY_RECORDS)

enum amqp_link_kind amqp_link_kind(pn_link_t *l)
{
    return (enum amqp_link_kind)(intptr_t)pn_record_get(pn_link_attachments(l), LINK_KIND);
}

void amqp_link_set_kind(pn_link_t *l, enum amqp_link_kind k)
{
    pn_record_t *r = pn_link_attachments(l);
    pn_record_def(r, LINK_KIND, PN_VOID);
    pn_record_set(r, LINK_KIND, (void *)(intptr_t)k);
}

bool amqp_authorised(const struct amqp_conn *c)
{
    return c->hub != NULL && c->auth_expiry_s > hub_now_ms() / 1000;
}

/* Attaches a link the peer asked for, or refuses it with an AMQP error. */
void amqp_refuse_link(pn_link_t *l, const char *condition, const char *text)
{
    pn_condition_set_name(pn_link_condition(l), condition);
    pn_condition_set_description(pn_link_condition(l), text);
    pn_link_open(l);
    pn_link_close(l);
}

static void on_link_open(struct amqp_conn *c, pn_link_t *l)
{
    bool ours_receives = pn_link_is_receiver(l);
    pn_terminus_t *remote = ours_receives ? pn_link_remote_target(l) : pn_link_remote_source(l);
    const char *addr = pn_terminus_get_address(remote);
    enum hub_amqp_node node = hub_amqp_node_of(addr);
    pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
    pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
    enum amqp_link_kind k = LINK_OTHER;
    if (node == HUB_AMQP_NODE_CBS)
        k = ours_receives ? LINK_CBS_IN : LINK_CBS_OUT;
    else if (node == HUB_AMQP_NODE_DEVICEBOUND && ours_receives)
        k = LINK_C2D;
    else if (node == HUB_AMQP_NODE_FEEDBACK && !ours_receives)
        k = LINK_FEEDBACK;
    if (k == LINK_OTHER && node == HUB_AMQP_NODE_UNKNOWN) {
        eh_link_open(c, l, addr);
        return;
    }
    if (k == LINK_OTHER) {
        hub_log(HUB_LOG_INFO, "AMQP %s: refused a %s link to '%s': no such node", c->peer,
                ours_receives ? "sending" : "receiving", addr ? addr : "(none)");
        char text[400];
        snprintf(text, sizeof(text), "The AMQP node '%.200s' does not exist here (azkit-hub "
                 "serves $cbs, /messages/devicebound and /messages/serviceBound/feedback).",
                 addr ? addr : "(none)");
        amqp_refuse_link(l, "amqp:not-found", text);
        return;
    }
    if ((k == LINK_C2D || k == LINK_FEEDBACK) && !amqp_authorised(c)) {
        hub_log(HUB_LOG_INFO, "AMQP %s: refused a link to '%s': no valid token was put on "
                "$cbs%s", c->peer, addr, c->auth_expiry_s ? " (it expired)" : "");
        amqp_refuse_link(l, "amqp:unauthorized-access", c->auth_expiry_s
                    ? "Unauthorized: the token put on $cbs has expired."
                    : "Unauthorized: put a service token (SharedAccessSignature, policy "
                      "iothubowner) on $cbs before attaching to this node.");
        return;
    }
    amqp_link_set_kind(l, k);
    pn_link_open(l);
    if (ours_receives)
        pn_link_flow(l, LINK_CREDIT);
    hub_log(HUB_LOG_DEBUG, "AMQP %s: link '%s' attached (%s)", c->peer, addr,
            ours_receives ? "peer sends" : "peer receives");
    if (k == LINK_FEEDBACK)
        amqp_conn_offer_feedback(c);
}

pn_delivery_t *amqp_send_message(pn_link_t *l, pn_message_t *m, bool settled)
{
    static uint64_t tag_counter;
    uint64_t tag = ++tag_counter;
    pn_delivery_t *dlv = pn_delivery(l, pn_dtag((const char *)&tag, sizeof(tag)));
    pn_rwbytes_t buf = {0, NULL};
    ssize_t n = pn_message_send(m, l, &buf);
    free(buf.start);
    if (n < 0)
        return NULL;
    if (settled)
        pn_delivery_settle(dlv);
    return dlv;
}

static void put_string(pn_data_t *d, const char *s)
{
    pn_data_put_string(d, pn_bytes(strlen(s), s));
}

/* The response to a put-token: correlation id = the request's message id. */
static void cbs_respond(struct amqp_conn *c, const struct hub_amqp_cbs_req *req, int code,
                        const char *desc)
{
    pn_link_t *out = NULL;
    for (pn_link_t *l = pn_link_head(c->drv.connection, PN_LOCAL_ACTIVE); l;
         l = pn_link_next(l, PN_LOCAL_ACTIVE))
        if (amqp_link_kind(l) == LINK_CBS_OUT) {
            out = l;
            break;
        }
    if (out == NULL) {
        hub_log(HUB_LOG_INFO, "AMQP %s: put-token answered %d but there is no receiving $cbs "
                "link to send it on", c->peer, code);
        return;
    }
    pn_message_t *m = pn_message();
    pn_atom_t cid = {.type = PN_STRING};
    cid.u.as_bytes = pn_bytes(strlen(req->message_id), req->message_id);
    pn_message_set_correlation_id(m, cid);
    if (req->reply_to[0])
        pn_message_set_address(m, req->reply_to);
    pn_data_t *ap = pn_message_properties(m);
    pn_data_put_map(ap);
    pn_data_enter(ap);
    put_string(ap, "status-code");
    pn_data_put_int(ap, code);
    put_string(ap, "status-description");
    put_string(ap, desc);
    pn_data_exit(ap);
    amqp_send_message(out, m, true);
    pn_message_free(m);
}

/* The host part of a token's resource ("amqps://host:5671/x" -> "host"). */
static struct hub_iothub *hub_of_sr(struct hub_daemon *d, const char *sr)
{
    const char *p = strstr(sr, "://");
    p = p ? p + 3 : sr;
    size_t n = strcspn(p, ":/");
    struct hub_iothub *h = hub_iothub_find(d, p, n);
    return h ? h : &d->hubs[0];
}

static void on_cbs_request(struct amqp_conn *c, pn_message_t *m)
{
    struct hub_amqp_cbs_req req;
    const char *why = NULL;
    if (hub_amqp_cbs_request(m, &req, &why) != 0) {
        hub_log(HUB_LOG_INFO, "AMQP %s: bad CBS request: %s", c->peer, why);
        cbs_respond(c, &req, 400, why);
        return;
    }
    if (strcmp(req.type, "servicebus.windows.net:sastoken") != 0) {
        hub_log(HUB_LOG_INFO, "AMQP %s: put-token of type '%s' refused", c->peer, req.type);
        cbs_respond(c, &req, 400, "Only tokens of type servicebus.windows.net:sastoken "
                    "(SharedAccessSignature) are accepted.");
        return;
    }
    struct hub_daemon *d = c->a->d;
    const struct hub_sas_policy *pol = NULL;
    int64_t now_s = hub_now_ms() / 1000;
    enum hub_sas_result r = d->service
                                ? hub_service_verify(d->service, req.token, HUB_SAS_SCOPE_HUB,
                                                     now_s, &pol)
                                : HUB_SAS_MALFORMED;
    struct hub_sas_token t;
    if (r == HUB_SAS_OK && hub_sas_parse(req.token, &t) != 0)
        r = HUB_SAS_MALFORMED;
    if (r != HUB_SAS_OK) {
        hub_log(HUB_LOG_INFO, "AMQP %s: put-token for '%s' refused: %s", c->peer, req.name,
                hub_sas_result_text(r));
        char desc[200];
        snprintf(desc, sizeof(desc), "Unauthorized: %s.", hub_sas_result_text(r));
        cbs_respond(c, &req, 401, desc);
        return;
    }
    if (!hub_amqp_audience_in_scope(t.sr, req.name)) {
        hub_log(HUB_LOG_INFO, "AMQP %s: put-token refused: the token's resource '%s' does not "
                "cover the audience '%s'", c->peer, t.sr, req.name);
        cbs_respond(c, &req, 401, "Unauthorized: the token's resource (sr) does not cover the "
                    "audience (name).");
        return;
    }
    c->hub = hub_of_sr(d, t.sr);
    c->auth_expiry_s = t.se;
    snprintf(c->auth_policy, sizeof(c->auth_policy), "%s", pol->name);
    hub_log(HUB_LOG_INFO, "AMQP %s: token of policy %s put for '%s' (IoT hub %s, expires in "
            "%lld s)", c->peer, pol->name, req.name, c->hub->hostname,
            (long long)(t.se - now_s));
    cbs_respond(c, &req, 200, "OK");
}

/* ---- C2D ------------------------------------------------------------------------------- */

/* A C2D message waiting for the store's commit before its delivery is accepted. */
struct amqp_pending {
    struct amqp_pending *next;
    struct amqp_conn *c;      /* NULL once the connection is gone */
    pn_delivery_t *dlv;
    struct hub_iothub *hub;
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char message_id[HUB_C2D_ID_MAX + 1];
};

static void settle_with(pn_delivery_t *dlv, uint64_t outcome, const char *condition,
                        const char *desc)
{
    if (condition != NULL) {
        pn_condition_t *cond = pn_disposition_condition(pn_delivery_local(dlv));
        pn_condition_set_name(cond, condition);
        pn_condition_set_description(cond, desc);
    }
    pn_delivery_update(dlv, outcome);
    pn_delivery_settle(dlv);
}

static void c2d_done(void *ctx, int rc)
{
    struct amqp_pending *p = ctx;
    if (rc == 0) {
        struct hub_conn *dc = hub_devmap_get(&p->hub->conns, p->device_id);
        if (dc != NULL && hub_conn_alive(dc))
            hub_c2d_pump(dc);
    }
    struct amqp_conn *c = p->c;
    if (c != NULL) {
        for (struct amqp_pending **pp = &c->pending; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        if (rc == 0)
            settle_with(p->dlv, PN_ACCEPTED, NULL, NULL);
        else
            settle_with(p->dlv, PN_REJECTED, "amqp:internal-error",
                        "The message could not be stored.");
        amqp_conn_pump(c);
    }
    free(p);
}

/* Feedback sent on link l and not yet accepted goes back to the hub's queue. */
static void requeue_unsettled(struct amqp_conn *c, pn_link_t *l)
{
    for (pn_delivery_t *dlv = pn_unsettled_head(l); dlv; dlv = pn_unsettled_next(dlv)) {
        pn_record_t *r = pn_delivery_attachments(dlv);
        struct hub_feedback_rec *recs = pn_record_get(r, DELIVERY_RECORDS);
        if (recs != NULL) {
            hub_feedback_requeue(&c->hub->feedback, recs);
            pn_record_set(r, DELIVERY_RECORDS, NULL);
        }
    }
}

void amqp_conn_forget_pending(struct amqp_conn *c)
{
    for (struct amqp_pending *p = c->pending; p; p = p->next)
        p->c = NULL;
    c->pending = NULL;
    /* Feedback sent but not accepted goes back to its queue. */
    if (c->hub == NULL || c->drv.connection == NULL)
        return;
    for (pn_link_t *l = pn_link_head(c->drv.connection, 0); l; l = pn_link_next(l, 0)) {
        if (amqp_link_kind(l) != LINK_FEEDBACK)
            continue;
        requeue_unsettled(c, l);
    }
}

static void on_c2d(struct amqp_conn *c, pn_delivery_t *dlv, pn_message_t *m)
{
    if (!amqp_authorised(c)) {
        settle_with(dlv, PN_REJECTED, "amqp:unauthorized-access",
                    "Unauthorized: the token put on $cbs has expired.");
        return;
    }
    struct hub_amqp_c2d *msg = malloc(sizeof(*msg));
    struct hub_amqp_refusal ref;
    if (msg == NULL) {
        settle_with(dlv, PN_REJECTED, "amqp:internal-error", "Out of memory.");
        return;
    }
    if (hub_amqp_c2d_from_message(m, hub_now_ms(), msg, &ref) != 0) {
        hub_log(HUB_LOG_INFO, "AMQP %s: C2D message refused: %s", c->peer, ref.description);
        settle_with(dlv, PN_REJECTED, ref.condition, ref.description);
        free(msg);
        return;
    }
    struct amqp_pending *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        settle_with(dlv, PN_REJECTED, "amqp:internal-error", "Out of memory.");
        free(msg);
        return;
    }
    struct hub_c2d_msg q;
    memset(&q, 0, sizeof(q));
    snprintf(q.message_id, sizeof(q.message_id), "%s", msg->message_id);
    q.payload = (void *)msg->body;
    q.payload_len = msg->body_len;
    q.properties = msg->props;
    q.expiry_ms = msg->expiry_ms;
    p->c = c;
    p->dlv = dlv;
    p->hub = c->hub;
    snprintf(p->device_id, sizeof(p->device_id), "%s", msg->device_id);
    snprintf(p->message_id, sizeof(p->message_id), "%s", msg->message_id);
    int rc = hub_store_c2d_enqueue(c->hub->store, msg->device_id, &q, NULL, c2d_done, p);
    if (rc < 0) {
        /* Azure's conditions, as the service SDKs map them: amqp:not-found ->
         * DeviceNotFoundError, amqp:resource-limit-exceeded ->
         * DeviceMaximumQueueDepthExceededError (azure-iothub amqp_service_errors.js and
         * azure-iot-amqp-base amqp_common_errors.js, translateError). */
        char desc[600];
        const char *cond;
        if (rc == -ENOENT) {
            cond = "amqp:not-found";
            snprintf(desc, sizeof(desc), "Device '%s' not found on IoT hub %s.", msg->device_id,
                     c->hub->hostname);
        } else if (rc == -ENOSPC) {
            cond = "amqp:resource-limit-exceeded";
            snprintf(desc, sizeof(desc), "Device '%s' already has %d cloud-to-device messages "
                     "queued (the maximum).", msg->device_id, HUB_C2D_QUEUE_MAX);
        } else {
            cond = "amqp:internal-error";
            snprintf(desc, sizeof(desc), "The message could not be queued: %s.",
                     strerror(-rc));
        }
        hub_log(HUB_LOG_INFO, "AMQP %s: C2D message %s for '%s' refused: %s", c->peer,
                msg->message_id, msg->device_id, cond);
        settle_with(dlv, PN_REJECTED, cond, desc);
        free(p);
        free(msg);
        return;
    }
    p->next = c->pending;
    c->pending = p;
    hub_log(HUB_LOG_INFO, "AMQP %s: C2D message %s queued for '%s' (%zu bytes, ack %s)",
            c->peer, msg->message_id, msg->device_id, msg->body_len, hub_c2d_ack_name(msg->ack));
    free(msg);
}

/* ---- incoming and outgoing deliveries ----------------------------------------------------- */

static void on_incoming(struct amqp_conn *c, pn_link_t *l, pn_delivery_t *dlv)
{
    if (!pn_delivery_readable(dlv))
        return;
    size_t size = pn_delivery_pending(dlv);
    if (size > MESSAGE_MAX) {
        pn_condition_set_name(pn_link_condition(l), "amqp:link:message-size-exceeded");
        pn_condition_set_description(pn_link_condition(l), "Messages are limited to 1 MB.");
        pn_link_close(l);
        return;
    }
    if (pn_delivery_partial(dlv))
        return;
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return;
    ssize_t n = pn_link_recv(l, buf, size);
    pn_link_advance(l);
    if (pn_link_credit(l) < LINK_CREDIT / 2)
        pn_link_flow(l, LINK_CREDIT - pn_link_credit(l));
    pn_message_t *m = pn_message();
    if (n < 0 || hub_amqp_decode(m, buf, (size_t)n) != 0) {
        settle_with(dlv, PN_REJECTED, "amqp:decode-error", "The message could not be decoded.");
    } else if (amqp_link_kind(l) == LINK_CBS_IN) {
        on_cbs_request(c, m);
        settle_with(dlv, PN_ACCEPTED, NULL, NULL);
    } else if (amqp_link_kind(l) == LINK_EH_MGMT_IN) {
        eh_on_management(c, m);
        settle_with(dlv, PN_ACCEPTED, NULL, NULL);
    } else if (amqp_link_kind(l) == LINK_C2D) {
        on_c2d(c, dlv, m); /* settled now (refused) or when stored */
    } else {
        settle_with(dlv, PN_REJECTED, "amqp:not-allowed", "Nothing is received on this link.");
    }
    pn_message_free(m);
    free(buf);
}

/* The peer settled (or gave an outcome for) a delivery the hub sent. */
static void on_outgoing_update(struct amqp_conn *c, pn_delivery_t *dlv)
{
    if (!pn_delivery_updated(dlv) && !pn_delivery_remote_state(dlv))
        return;
    pn_record_t *r = pn_delivery_attachments(dlv);
    struct hub_feedback_rec *recs = pn_record_get(r, DELIVERY_RECORDS);
    if (recs != NULL && c->hub != NULL) {
        if (pn_delivery_remote_state(dlv) == PN_ACCEPTED)
            hub_feedback_free_list(recs);
        else /* released, modified, rejected: offered again later */
            hub_feedback_requeue(&c->hub->feedback, recs);
        pn_record_set(r, DELIVERY_RECORDS, NULL);
    }
    pn_delivery_settle(dlv);
}

void amqp_conn_offer_feedback(struct amqp_conn *c)
{
    if (c->hub == NULL || c->drv.connection == NULL)
        return;
    for (pn_link_t *l = pn_link_head(c->drv.connection, PN_LOCAL_ACTIVE | PN_REMOTE_ACTIVE); l;
         l = pn_link_next(l, PN_LOCAL_ACTIVE | PN_REMOTE_ACTIVE)) {
        if (amqp_link_kind(l) != LINK_FEEDBACK)
            continue;
        while (pn_link_credit(l) > 0 && c->hub->feedback.head != NULL) {
            struct hub_feedback_rec *taken = NULL;
            char *json = hub_feedback_take_json(&c->hub->feedback, HUB_FEEDBACK_BATCH, &taken);
            if (json == NULL)
                return;
            pn_message_t *m = pn_message();
            char mid[37];
            hub_uuid4(mid);
            pn_atom_t id = {.type = PN_STRING};
            id.u.as_bytes = pn_bytes(strlen(mid), mid);
            pn_message_set_id(m, id);
            pn_message_set_content_type(m, FEEDBACK_CONTENT_TYPE);
            pn_message_set_content_encoding(m, "utf-8");
            pn_data_t *body = pn_message_body(m);
            pn_message_set_inferred(m, true); /* the body goes as a data section */
            pn_data_put_binary(body, pn_bytes(strlen(json), json));
            pn_delivery_t *dlv = amqp_send_message(l, m, false);
            pn_message_free(m);
            free(json);
            if (dlv == NULL) {
                hub_feedback_requeue(&c->hub->feedback, taken);
                return;
            }
            pn_record_t *r = pn_delivery_attachments(dlv);
            pn_record_def(r, DELIVERY_RECORDS, PN_VOID);
            pn_record_set(r, DELIVERY_RECORDS, taken);
        }
    }
}

void amqp_handle_event(struct amqp_conn *c, pn_event_t *e)
{
    switch (pn_event_type(e)) {
    case PN_CONNECTION_REMOTE_OPEN:
        pn_connection_open(pn_event_connection(e));
        break;
    case PN_CONNECTION_REMOTE_CLOSE:
        pn_connection_close(pn_event_connection(e));
        break;
    case PN_SESSION_REMOTE_OPEN:
        if (pn_session_state(pn_event_session(e)) & PN_LOCAL_UNINIT)
            pn_session_open(pn_event_session(e));
        break;
    case PN_SESSION_REMOTE_CLOSE:
        pn_session_close(pn_event_session(e));
        break;
    case PN_LINK_REMOTE_OPEN:
        if (pn_link_state(pn_event_link(e)) & PN_LOCAL_UNINIT)
            on_link_open(c, pn_event_link(e));
        break;
    case PN_LINK_REMOTE_CLOSE:
    case PN_LINK_REMOTE_DETACH: {
        pn_link_t *l = pn_event_link(e);
        if (amqp_link_kind(l) == LINK_FEEDBACK && c->hub != NULL)
            requeue_unsettled(c, l);
        if (!(pn_link_state(l) & PN_LOCAL_CLOSED))
            pn_link_close(l);
        break;
    }
    case PN_LINK_FLOW:
        if (amqp_link_kind(pn_event_link(e)) == LINK_FEEDBACK)
            amqp_conn_offer_feedback(c);
        else if (amqp_link_kind(pn_event_link(e)) == LINK_EH_RECV)
            eh_conn_offer_telemetry(c);
        break;
    case PN_LINK_FINAL:
        eh_link_final(c, pn_event_link(e));
        break;
    case PN_DELIVERY: {
        pn_delivery_t *dlv = pn_event_delivery(e);
        pn_link_t *l = pn_delivery_link(dlv);
        if (pn_link_is_receiver(l))
            on_incoming(c, l, dlv);
        else
            on_outgoing_update(c, dlv);
        break;
    }
    default:
        break;
    }
}

/* The Event Hubs-compatible endpoint on the AMQP connections: the $management request/response
 * links (ReadEventHubProperties, partition properties) and partition receivers that deliver
 * the stored telemetry, then new telemetry as it is stored, as far as the link credit goes.
 * Names and types follow @azure/event-hubs (managementClient.ts, eventData.ts). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/object.h>
#include <proton/terminus.h>

#include "hub/amqp/amqp_internal.h"
#include "hub/amqp/eh_addr.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store/store.h"

#define SELECTOR_FILTER "apache.org:selector-filter:string"
#define READ_BATCH 64 /* most messages read from the store at once */

PN_HANDLE(EH_RECV_STATE)

/* A partition receiver: where it is in its partition. */
struct eh_recv {
    struct eh_recv *next, **pprev; /* the connection's list */
    pn_link_t *link;
    int part;
    enum hub_tel_key key; /* what `after` is; HUB_TEL_AFTER_SEQ once a message was sent */
    int64_t after;
};

static struct eh_recv *recv_of(pn_link_t *l)
{
    return pn_record_get(pn_link_attachments(l), EH_RECV_STATE);
}

static void recv_free(struct eh_recv *r)
{
    *r->pprev = r->next;
    if (r->next)
        r->next->pprev = r->pprev;
    pn_record_set(pn_link_attachments(r->link), EH_RECV_STATE, NULL);
    free(r);
}

void eh_link_final(struct amqp_conn *c, pn_link_t *l)
{
    (void)c;
    struct eh_recv *r = amqp_link_kind(l) == LINK_EH_RECV ? recv_of(l) : NULL;
    if (r != NULL)
        recv_free(r);
}

void eh_conn_free(struct amqp_conn *c)
{
    while (c->eh_recvs != NULL)
        recv_free(c->eh_recvs);
}

/* The receiver's filter text into buf (NUL-terminated); NULL when it has none or it does not
 * fit (a filter longer than any the SDKs write). */
static const char *selector_of(pn_link_t *l, char *buf, size_t size)
{
    pn_data_t *f = pn_terminus_filter(pn_link_remote_source(l));
    pn_data_rewind(f);
    if (!pn_data_next(f) || pn_data_type(f) != PN_MAP)
        return NULL;
    pn_data_enter(f);
    while (pn_data_next(f)) {
        pn_type_t kt = pn_data_type(f);
        pn_bytes_t key = kt == PN_SYMBOL ? pn_data_get_symbol(f)
                         : kt == PN_STRING ? pn_data_get_string(f) : pn_bytes(0, NULL);
        if (!pn_data_next(f))
            break;
        if (key.size != strlen(SELECTOR_FILTER) || memcmp(key.start, SELECTOR_FILTER, key.size))
            continue;
        if (pn_data_type(f) != PN_DESCRIBED)
            return NULL;
        pn_data_enter(f);
        pn_data_next(f); /* the descriptor */
        if (!pn_data_next(f) || pn_data_type(f) != PN_STRING)
            return NULL;
        pn_bytes_t v = pn_data_get_string(f);
        if (v.size >= size || memchr(v.start, '\0', v.size) != NULL)
            return NULL;
        memcpy(buf, v.start, v.size);
        buf[v.size] = '\0';
        return buf;
    }
    return NULL;
}

/* The receiver's start, from its filter (none: the earliest message). */
static int start_of(struct amqp_conn *c, pn_link_t *l, struct eh_recv *r, const char **why)
{
    char buf[512];
    const char *sel = selector_of(l, buf, sizeof(buf));
    r->key = HUB_TEL_AFTER_SEQ;
    r->after = 0;
    if (sel == NULL)
        return 0;
    struct hub_eh_position pos;
    if (hub_eh_filter_parse(sel, &pos, why) != 0)
        return -EINVAL;
    int64_t back = pos.inclusive && pos.value > INT64_MIN ? 1 : 0;
    switch (pos.from) {
    case HUB_EH_FROM_LATEST:
        r->after = (int64_t)hub_store_telemetry_last_seq(c->hub->store);
        break;
    case HUB_EH_FROM_OFFSET:
        r->after = pos.value - back;
        break;
    case HUB_EH_FROM_SEQNO:
        r->key = HUB_TEL_AFTER_PSEQ;
        r->after = pos.value - back;
        break;
    case HUB_EH_FROM_TIME:
        r->key = HUB_TEL_AFTER_TIME;
        r->after = pos.value - back;
        break;
    }
    return 0;
}

__attribute__((format(printf, 5, 6))) static void
refuse(struct amqp_conn *c, pn_link_t *l, const char *addr, const char *cond, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    hub_log(HUB_LOG_INFO, "AMQP %s: refused a link to '%s': %s", c->peer, addr ? addr : "(none)",
            text);
    amqp_refuse_link(l, cond, text);
}

void eh_link_open(struct amqp_conn *c, pn_link_t *l, const char *addr)
{
    struct hub_eh_address a;
    enum hub_eh_node node = hub_eh_address_parse(addr, &a);
    bool ours_receives = pn_link_is_receiver(l);
    if (node == HUB_EH_NODE_NONE || (node == HUB_EH_NODE_PARTITION && ours_receives)) {
        refuse(c, l, addr, "amqp:not-found", "The AMQP node '%.200s' does not exist here "
               "(azkit-hub serves $cbs, /messages/devicebound, /messages/serviceBound/feedback, "
               "and for Event Hubs <hub>/$management and "
               "<hub>/ConsumerGroups/<group>/Partitions/<id>).", addr ? addr : "(none)");
        return;
    }
    if (!amqp_authorised(c)) {
        refuse(c, l, addr, "amqp:unauthorized-access", "%s", c->auth_expiry_s
               ? "Unauthorized: the token put on $cbs has expired."
               : "Unauthorized: put a SharedAccessSignature of policy iothubowner on $cbs "
                 "first.");
        return;
    }
    char entity[HUB_EH_NAME_MAX + 1];
    hub_eh_entity_of_host(c->hub->hostname, entity, sizeof(entity));
    if (a.entity[0] && strcasecmp(a.entity, entity) != 0) {
        refuse(c, l, addr, "amqp:not-found", "The messaging entity '%.100s' could not be found "
               "(the Event Hubs-compatible name of this IoT hub is its EntityPath).", a.entity);
        return;
    }
    if (node == HUB_EH_NODE_MANAGEMENT) {
        amqp_link_set_kind(l, ours_receives ? LINK_EH_MGMT_IN : LINK_EH_MGMT_OUT);
        pn_link_open(l);
        if (ours_receives)
            pn_link_flow(l, 50);
        return;
    }
    if (!hub_eh_groups_has(&c->a->d->eh_groups, a.consumer_group)) {
        refuse(c, l, addr, "amqp:not-found", "The consumer group '%.100s' does not exist "
               "(`azkit-hub consumer-group create NAME` creates one).", a.consumer_group);
        return;
    }
    if ((unsigned)a.partition >= hub_store_partitions(c->hub->store)) {
        refuse(c, l, addr, "amqp:not-found", "The partition '%d' does not exist "
               "(see the partition ids of ReadEventHubProperties).", a.partition);
        return;
    }
    struct eh_recv *r = calloc(1, sizeof(*r));
    const char *why = "out of memory";
    if (r == NULL || start_of(c, l, r, &why) != 0) {
        free(r);
        refuse(c, l, addr, "amqp:invalid-field", "Bad selector filter: %s.", why);
        return;
    }
    r->part = a.partition;
    r->link = l;
    r->next = c->eh_recvs;
    r->pprev = &c->eh_recvs;
    if (r->next)
        r->next->pprev = &r->next;
    c->eh_recvs = r;
    pn_record_t *rec = pn_link_attachments(l);
    pn_record_def(rec, EH_RECV_STATE, PN_VOID);
    pn_record_set(rec, EH_RECV_STATE, r);
    amqp_link_set_kind(l, LINK_EH_RECV);
    pn_link_open(l);
    hub_log(HUB_LOG_INFO, "AMQP %s: Event Hubs receiver on partition %d of consumer group %s",
            c->peer, a.partition, a.consumer_group);
}

/* ---- telemetry out -------------------------------------------------------------------- */

static void put_sym(pn_data_t *d, const char *s)
{
    pn_data_put_symbol(d, pn_bytes(strlen(s), s));
}

static void put_str(pn_data_t *d, const char *s)
{
    pn_data_put_string(d, pn_bytes(strlen(s), s));
}

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A stored record as IoT Hub's built-in endpoint delivers it. */
static pn_message_t *message_of(const struct hub_telemetry *t)
{
    pn_message_t *m = pn_message();
    cJSON *sys = cJSON_Parse(t->sys_props ? t->sys_props : "{}");
    cJSON *app = cJSON_Parse(t->app_props ? t->app_props : "{}");
    const char *s;
    pn_atom_t id = {.type = PN_STRING};
    if ((s = json_str(sys, "message-id")) != NULL) {
        id.u.as_bytes = pn_bytes(strlen(s), s);
        pn_message_set_id(m, id);
    }
    if ((s = json_str(sys, "correlation-id")) != NULL) {
        id.u.as_bytes = pn_bytes(strlen(s), s);
        pn_message_set_correlation_id(m, id);
    }
    if ((s = json_str(sys, "content-type")) != NULL)
        pn_message_set_content_type(m, s);
    if ((s = json_str(sys, "content-encoding")) != NULL)
        pn_message_set_content_encoding(m, s);

    char offset[24];
    snprintf(offset, sizeof(offset), "%llu", (unsigned long long)t->seq);
    pn_data_t *ma = pn_message_annotations(m);
    pn_data_put_map(ma);
    pn_data_enter(ma);
    put_sym(ma, "x-opt-sequence-number");
    pn_data_put_long(ma, t->pseq);
    put_sym(ma, "x-opt-offset");
    put_str(ma, offset);
    put_sym(ma, "x-opt-enqueued-time");
    pn_data_put_timestamp(ma, t->enqueued_ms);
    put_sym(ma, "iothub-connection-device-id");
    put_str(ma, t->device_id);
    put_sym(ma, "iothub-connection-auth-method");
    s = json_str(sys, "iothub-connection-auth-method");
    put_str(ma, s ? s : "");
    put_sym(ma, "iothub-enqueuedtime");
    pn_data_put_timestamp(ma, t->enqueued_ms);
    put_sym(ma, "iothub-message-source");
    put_str(ma, t->msg_type[0] ? t->msg_type : "Telemetry");
    static const char *const more[] = {"iothub-interface-id", "iothub-creation-time-utc"};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        if ((s = json_str(sys, more[i])) != NULL) {
            put_sym(ma, more[i]);
            put_str(ma, s);
        }
    pn_data_exit(ma);

    pn_data_t *ap = pn_message_properties(m);
    pn_data_put_map(ap);
    pn_data_enter(ap);
    const cJSON *it;
    cJSON_ArrayForEach(it, app) {
        if (it->string == NULL)
            continue;
        put_str(ap, it->string);
        if (cJSON_IsString(it))
            put_str(ap, it->valuestring);
        else
            pn_data_put_null(ap);
    }
    pn_data_exit(ap);

    pn_message_set_inferred(m, true); /* the body goes as a data section */
    pn_data_put_binary(pn_message_body(m), pn_bytes(t->payload_len, t->payload));
    cJSON_Delete(sys);
    cJSON_Delete(app);
    return m;
}

/* Sends what link l's credit allows; false when the store could not be read. */
static bool offer_link(struct amqp_conn *c, pn_link_t *l, struct eh_recv *r)
{
    while (pn_link_credit(l) > 0) {
        size_t want = (size_t)pn_link_credit(l);
        if (want > READ_BATCH)
            want = READ_BATCH;
        struct hub_telemetry *arr = NULL;
        size_t n = 0;
        if (hub_store_telemetry_read_part(c->hub->store, r->part, r->key, r->after, want, &arr,
                                          &n) != 0)
            return false;
        for (size_t i = 0; i < n; i++) {
            pn_message_t *m = message_of(&arr[i]);
            pn_delivery_t *dlv = amqp_send_message(l, m, true);
            pn_message_free(m);
            if (dlv == NULL)
                break;
            r->key = HUB_TEL_AFTER_SEQ;
            r->after = (int64_t)arr[i].seq;
        }
        hub_telemetry_free_array(arr, n);
        if (n < want)
            break;
    }
    return true;
}

void eh_conn_offer_telemetry(struct amqp_conn *c)
{
    if (c->hub == NULL || c->drv.connection == NULL)
        return;
    for (pn_link_t *l = pn_link_head(c->drv.connection, PN_LOCAL_ACTIVE | PN_REMOTE_ACTIVE); l;
         l = pn_link_next(l, PN_LOCAL_ACTIVE | PN_REMOTE_ACTIVE)) {
        struct eh_recv *r = amqp_link_kind(l) == LINK_EH_RECV ? recv_of(l) : NULL;
        if (r == NULL || pn_link_credit(l) <= 0)
            continue;
        if (!amqp_authorised(c)) {
            pn_condition_set_name(pn_link_condition(l), "amqp:unauthorized-access");
            pn_condition_set_description(pn_link_condition(l),
                                         "Unauthorized: the token put on $cbs has expired.");
            pn_link_close(l);
            continue;
        }
        if (!offer_link(c, l, r))
            hub_log(HUB_LOG_WARN, "AMQP %s: telemetry of partition %d could not be read",
                    c->peer, r->part);
    }
}

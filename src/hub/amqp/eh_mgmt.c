/* The Event Hubs $management node: READ of com.microsoft:eventhub (ReadEventHubProperties:
 * name, created_at, partition_ids) and com.microsoft:partition (begin/last sequence number,
 * last offset, last enqueued time, is_partition_empty), with the names @azure/event-hubs reads
 * (managementClient.ts). The response goes on the peer's receiving $management link, with
 * status-code / status-description as application properties, correlated by message id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <proton/codec.h>
#include <proton/connection.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/terminus.h>

#include "hub/amqp/amqp_internal.h"
#include "hub/amqp/eh_addr.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store/store.h"

static void put_str(pn_data_t *d, const char *s)
{
    pn_data_put_string(d, pn_bytes(strlen(s), s));
}

/* The string application property `name` of m into buf (NUL-terminated), or NULL (absent,
 * not a string, or longer than size - 1). */
static const char *app_prop(pn_message_t *m, const char *name, char *buf, size_t size)
{
    pn_data_t *p = pn_message_properties(m);
    pn_data_rewind(p);
    if (!pn_data_next(p) || pn_data_type(p) != PN_MAP)
        return NULL;
    pn_data_enter(p);
    const char *found = NULL;
    size_t nl = strlen(name);
    while (pn_data_next(p)) {
        pn_bytes_t k = pn_data_type(p) == PN_STRING ? pn_data_get_string(p) : pn_bytes(0, NULL);
        bool match = k.size == nl && memcmp(k.start, name, nl) == 0;
        if (!pn_data_next(p))
            break;
        if (match && pn_data_type(p) == PN_STRING) {
            pn_bytes_t v = pn_data_get_string(p);
            if (v.size < size && memchr(v.start, '\0', v.size) == NULL) {
                memcpy(buf, v.start, v.size);
                buf[v.size] = '\0';
                found = buf;
            }
            break;
        }
    }
    pn_data_rewind(p);
    return found;
}

/* The peer's receiving $management link for reply address `to` (else any). */
static pn_link_t *reply_link(struct amqp_conn *c, const char *to)
{
    pn_link_t *any = NULL;
    for (pn_link_t *l = pn_link_head(c->drv.connection, PN_LOCAL_ACTIVE); l;
         l = pn_link_next(l, PN_LOCAL_ACTIVE)) {
        if (amqp_link_kind(l) != LINK_EH_MGMT_OUT)
            continue;
        const char *t = pn_terminus_get_address(pn_link_remote_target(l));
        if (to != NULL && t != NULL && strcmp(t, to) == 0)
            return l;
        if (any == NULL)
            any = l;
    }
    return any;
}

static void respond(struct amqp_conn *c, pn_message_t *req, pn_message_t *resp, int code,
                    const char *desc)
{
    pn_message_set_correlation_id(resp, pn_message_get_id(req));
    const char *to = pn_message_get_reply_to(req);
    if (to != NULL)
        pn_message_set_address(resp, to);
    pn_data_t *ap = pn_message_properties(resp);
    pn_data_put_map(ap);
    pn_data_enter(ap);
    put_str(ap, "status-code");
    pn_data_put_int(ap, code);
    put_str(ap, "status-description");
    put_str(ap, desc);
    pn_data_exit(ap);
    pn_link_t *l = reply_link(c, to);
    if (l == NULL)
        hub_log(HUB_LOG_INFO, "AMQP %s: $management answered %d but there is no receiving "
                "$management link", c->peer, code);
    else
        amqp_send_message(l, resp, true);
}

static void hub_properties(struct amqp_conn *c, pn_data_t *b, const char *entity)
{
    unsigned parts = hub_store_partitions(c->hub->store);
    pn_data_put_map(b);
    pn_data_enter(b);
    put_str(b, "name");
    put_str(b, entity);
    put_str(b, "type");
    put_str(b, "com.microsoft:eventhub");
    put_str(b, "created_at");
    pn_data_put_timestamp(b, c->a->d->started_ms);
    put_str(b, "partition_count");
    pn_data_put_int(b, (int32_t)parts);
    put_str(b, "partition_ids");
    pn_data_put_array(b, false, PN_STRING);
    pn_data_enter(b);
    for (unsigned i = 0; i < parts; i++) {
        char id[12];
        snprintf(id, sizeof(id), "%u", i);
        put_str(b, id);
    }
    pn_data_exit(b);
    pn_data_exit(b);
}

static int partition_properties(struct amqp_conn *c, pn_data_t *b, const char *entity,
                                const char *id)
{
    char *end = NULL;
    long part = id ? strtol(id, &end, 10) : -1;
    if (id == NULL || *id == '\0' || *end != '\0' || part < 0 ||
        part >= (long)hub_store_partitions(c->hub->store))
        return 404;
    struct hub_tel_part_info info;
    if (hub_store_telemetry_part_info(c->hub->store, (int)part, &info) != 0)
        return 500;
    char offset[24];
    snprintf(offset, sizeof(offset), "%lld", info.empty ? -1LL : (long long)info.last_seq);
    pn_data_put_map(b);
    pn_data_enter(b);
    put_str(b, "name");
    put_str(b, entity);
    put_str(b, "type");
    put_str(b, "com.microsoft:partition");
    put_str(b, "partition");
    put_str(b, id);
    put_str(b, "begin_sequence_number");
    pn_data_put_long(b, info.empty ? -1 : info.begin_pseq);
    put_str(b, "last_enqueued_sequence_number");
    pn_data_put_long(b, info.last_pseq);
    put_str(b, "last_enqueued_offset");
    put_str(b, offset);
    put_str(b, "last_enqueued_time_utc");
    pn_data_put_timestamp(b, info.last_enqueued_ms);
    put_str(b, "is_partition_empty");
    pn_data_put_bool(b, info.empty);
    pn_data_exit(b);
    return 200;
}

void eh_on_management(struct amqp_conn *c, pn_message_t *m)
{
    pn_message_t *resp = pn_message();
    char opb[32], typeb[64], nameb[HUB_EH_NAME_MAX + 1], partb[16];
    const char *op = app_prop(m, "operation", opb, sizeof(opb));
    const char *type = app_prop(m, "type", typeb, sizeof(typeb));
    const char *name = app_prop(m, "name", nameb, sizeof(nameb));
    char entity[HUB_EH_NAME_MAX + 1];
    hub_eh_entity_of_host(c->hub->hostname, entity, sizeof(entity));
    int code;
    const char *desc;
    if (!amqp_authorised(c)) {
        code = 401;
        desc = "Unauthorized: the token put on $cbs has expired.";
    } else if (op == NULL || strcmp(op, "READ") != 0 || type == NULL) {
        code = 400;
        desc = "Only the READ operation of com.microsoft:eventhub and com.microsoft:partition "
               "is served.";
    } else if (name == NULL || strcasecmp(name, entity) != 0) {
        code = 404;
        desc = "The messaging entity could not be found (name is not this hub's EntityPath).";
    } else if (strcmp(type, "com.microsoft:eventhub") == 0) {
        hub_properties(c, pn_message_body(resp), entity);
        code = 200;
        desc = "OK";
    } else if (strcmp(type, "com.microsoft:partition") == 0) {
        code = partition_properties(c, pn_message_body(resp), entity,
                                    app_prop(m, "partition", partb, sizeof(partb)));
        desc = code == 200 ? "OK" : code == 404 ? "The partition does not exist."
                                                : "The partition could not be read.";
    } else {
        code = 400;
        desc = "Unknown type (com.microsoft:eventhub and com.microsoft:partition are served).";
    }
    if (code != 200)
        hub_log(HUB_LOG_INFO, "AMQP %s: $management %s %s refused: %d %s", c->peer,
                op ? op : "-", type ? type : "-", code, desc);
    respond(c, m, resp, code, desc);
    pn_message_free(resp);
}

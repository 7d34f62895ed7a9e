/* What the application sends through a connected client: telemetry, twin requests and method
 * answers. Each goes into the output buffer at once or not at all (-ENOBUFS). */
#include <errno.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "client_internal.h"

#define TOPIC_MAX 1024

static bool connected(const struct azk_client *c)
{
    return CL(c)->state == AZK_CLIENT_CONNECTED && CL(c)->transport_up && !CL(c)->closing;
}

/* `devices/{id}/messages/events/{props}` into topic[TOPIC_MAX]. */
static int telemetry_topic(const struct azk_client *c, struct azk_span props, char *topic,
                           size_t *len)
{
    size_t n = 0;
    int rc = azk_hub_telemetry_topic(azk_span_from_str(CL(c)->device_id), NULL, 0, topic,
                                     TOPIC_MAX, &n, NULL);
    if (rc != 0)
        return rc == -ENOBUFS ? -EINVAL : rc;
    if (props.len > TOPIC_MAX - n)
        return -EINVAL;
    if (props.len > 0)
        memcpy(topic + n, props.ptr, props.len);
    *len = n + props.len;
    return 0;
}

static void track(struct azk_client *c, uint32_t msg_id, uint16_t packet_id)
{
    if (CL(c)->n_inflight == 0)
        CL(c)->ack_deadline = CL(c)->now + CL(c)->cfg.response_timeout_ms;
    CL(c)->inflight[CL(c)->n_inflight].msg_id = msg_id;
    CL(c)->inflight[CL(c)->n_inflight].packet_id = packet_id;
    CL(c)->n_inflight++;
}

int azk_client_send_telemetry(struct azk_client *c, struct azk_span props,
                              struct azk_span payload, int qos, uint32_t *msg_id)
{
    if (c == NULL || (qos != 0 && qos != 1) || (props.len > 0 && props.ptr == NULL) ||
        (payload.len > 0 && payload.ptr == NULL))
        return -EINVAL;
    struct azk_outbox *ob = CL(c)->cfg.outbox;
    bool queued = qos == 1 && ob != NULL;
    if (!queued && !connected(c))
        return -ENOTCONN;
    char topic[TOPIC_MAX];
    size_t n = 0;
    int rc = 0;
    /* Before DPS named the device the topic is not known: the outbox takes the message, and
     * one that cannot go is reported when it is sent (AZK_CLIENT_EV_TELEMETRY_FAILED). */
    if (!queued || CL(c)->device_id[0] != '\0')
        rc = telemetry_topic(c, props, topic, &n);
    /* Topic length, packet id, at most 5 bytes of fixed header: never fits the output. */
    if (rc == 0 && (payload.len > CL(c)->tx_size || n + payload.len + 9u > CL(c)->tx_size))
        rc = -EMSGSIZE;
    if (rc != 0)
        return rc;
    if (queued) {
        uint32_t id = 0;
        rc = ob->put(ob, props, payload, &id);
        if (rc != 0)
            return rc;
        if (msg_id != NULL)
            *msg_id = id;
        azki_client_pump(c);
        return 0;
    }
    if (qos == 1 && CL(c)->n_inflight >= CL(c)->cfg.inflight_max)
        return -ENOBUFS;
    uint16_t pid = 0;
    rc = azki_client_publish(c, (struct azk_span){topic, n}, payload, qos, false, &pid);
    if (rc != 0)
        return rc;
    if (qos == 1)
        track(c, pid, pid);
    if (msg_id != NULL)
        *msg_id = pid;
    return 0;
}

void azki_client_pump(struct azk_client *c)
{
    struct azk_outbox *ob = CL(c)->cfg.outbox;
    if (ob == NULL || !connected(c))
        return;
    while (CL(c)->n_inflight < CL(c)->cfg.inflight_max) {
        struct azk_outbox_msg m;
        if (ob->next(ob, CL(c)->out_cursor, &m) != 0)
            return;
        char topic[TOPIC_MAX];
        size_t n = 0;
        uint16_t pid = 0;
        int rc = telemetry_topic(c, m.props, topic, &n);
        if (rc == 0)
            rc = azki_client_publish(c, (struct azk_span){topic, n}, m.payload, 1,
                                    m.id <= CL(c)->dup_hi, &pid);
        if (rc == -ENOBUFS)
            return; /* the output is full: more once it drained */
        CL(c)->out_cursor = m.id;
        if (rc != 0) {
            /* Kept by an earlier run with a larger buffer, or a property bag this device id
             * cannot carry: it can never be sent. Say so, and let the others through. */
            struct azk_client_event ev = {.kind = AZK_CLIENT_EV_TELEMETRY_FAILED,
                                          .msg_id = m.id, .err = rc};
            ob->remove(ob, m.id);
            azki_client_emit(c, &ev);
            continue;
        }
        if (m.id > CL(c)->dup_hi)
            CL(c)->dup_hi = m.id;
        track(c, m.id, pid);
    }
}

void azki_client_puback(struct azk_client *c, uint16_t packet_id)
{
    uint8_t i = 0, n = CL(c)->n_inflight;
    while (i < n && CL(c)->inflight[i].packet_id != packet_id)
        i++;
    if (i == n)
        return; /* not ours (a connection earlier): nothing waits for it */
    uint32_t id = CL(c)->inflight[i].msg_id;
    memmove(&CL(c)->inflight[i], &CL(c)->inflight[i + 1],
            (size_t)(n - i - 1u) * sizeof(CL(c)->inflight[0]));
    CL(c)->n_inflight--;
    CL(c)->ack_deadline = CL(c)->n_inflight ? CL(c)->now + CL(c)->cfg.response_timeout_ms : 0;
    if (CL(c)->cfg.outbox != NULL)
        CL(c)->cfg.outbox->remove(CL(c)->cfg.outbox, id);
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_TELEMETRY_ACKED, .packet_id = packet_id,
                                  .msg_id = id};
    azki_client_emit(c, &ev);
    azki_client_pump(c);
}

void azki_client_inflight_lost(struct azk_client *c, int err, struct azk_span text)
{
    uint8_t n = CL(c)->n_inflight;
    CL(c)->n_inflight = 0;
    CL(c)->out_cursor = 0;
    CL(c)->ack_deadline = 0;
    if (CL(c)->cfg.outbox != NULL)
        return; /* still in the outbox: sent again on the next connection */
    for (uint8_t i = 0; i < n; i++) {
        struct azk_client_event ev = {.kind = AZK_CLIENT_EV_TELEMETRY_FAILED,
                                      .packet_id = CL(c)->inflight[i].packet_id,
                                      .msg_id = CL(c)->inflight[i].msg_id, .err = err,
                                      .text = text};
        azki_client_emit(c, &ev);
    }
}

static int copy_rid(const char *rid, size_t len, char *out, size_t size)
{
    if (out == NULL)
        return 0;
    if (size <= len)
        return -EINVAL;
    memcpy(out, rid, len + 1);
    return 0;
}

int azk_client_twin_get(struct azk_client *c, char *rid_out, size_t rid_size)
{
    if (c == NULL)
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char rid[16], topic[64];
    size_t rl = 0, n = 0;
    int rc = azki_client_rid(c, rid, sizeof(rid), &rl);
    if (rc == 0)
        rc = azk_hub_twin_get_topic((struct azk_span){rid, rl}, topic, sizeof(topic), &n);
    if (rc == 0)
        rc = copy_rid(rid, rl, rid_out, rid_size);
    if (rc == 0)
        rc = azki_client_publish(c, (struct azk_span){topic, n}, (struct azk_span){0}, 0, false,
                                NULL);
    return rc;
}

int azk_client_twin_report(struct azk_client *c, struct azk_span json, char *rid_out,
                           size_t rid_size)
{
    if (c == NULL || json.len == 0 || json.ptr == NULL)
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char rid[16], topic[80];
    size_t rl = 0, n = 0;
    int rc = azki_client_rid(c, rid, sizeof(rid), &rl);
    if (rc == 0)
        rc = azk_hub_twin_patch_topic((struct azk_span){rid, rl}, topic, sizeof(topic), &n);
    if (rc == 0)
        rc = copy_rid(rid, rl, rid_out, rid_size);
    if (rc == 0)
        rc = azki_client_publish(c, (struct azk_span){topic, n}, json, 0, false, NULL);
    return rc;
}

int azk_client_method_respond(struct azk_client *c, struct azk_span rid, int status,
                              struct azk_span json)
{
    if (c == NULL || rid.len == 0 || rid.ptr == NULL)
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char topic[TOPIC_MAX];
    size_t n = 0;
    int rc = azk_hub_method_response_topic(status, rid, topic, sizeof(topic), &n);
    if (rc != 0)
        return rc == -ENOBUFS ? -EINVAL : rc;
    struct azk_span body = json.len ? json : azk_span_from_str("null");
    return azki_client_publish(c, (struct azk_span){topic, n}, body, 0, false, NULL);
}

/* AMQP messages the hub receives: see amqp_msg.h. */
#include "hub/amqp/amqp_msg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <proton/codec.h>

#include "hub/service/svc_common.h"

/* Copies an AMQP string or symbol of the current node into out; false when it is neither, it
 * holds a NUL, or it does not fit. */
static bool text_of(pn_data_t *d, char *out, size_t size)
{
    pn_type_t t = pn_data_type(d);
    pn_bytes_t b = t == PN_STRING ? pn_data_get_string(d)
                   : t == PN_SYMBOL ? pn_data_get_symbol(d)
                                    : (pn_bytes_t){0, NULL};
    if ((t != PN_STRING && t != PN_SYMBOL) || b.size >= size ||
        (b.size && memchr(b.start, '\0', b.size) != NULL))
        return false;
    if (b.size)
        memcpy(out, b.start, b.size);
    out[b.size] = '\0';
    return true;
}

/* A scalar application property value as text; false for other types or when it does not
 * fit. */
static bool value_text(pn_data_t *d, char *out, size_t size)
{
    int n;
    switch (pn_data_type(d)) {
    case PN_STRING:
    case PN_SYMBOL:
        return text_of(d, out, size);
    case PN_BOOL: n = snprintf(out, size, "%s", pn_data_get_bool(d) ? "true" : "false"); break;
    case PN_UBYTE: n = snprintf(out, size, "%u", (unsigned)pn_data_get_ubyte(d)); break;
    case PN_BYTE: n = snprintf(out, size, "%d", (int)pn_data_get_byte(d)); break;
    case PN_USHORT: n = snprintf(out, size, "%u", (unsigned)pn_data_get_ushort(d)); break;
    case PN_SHORT: n = snprintf(out, size, "%d", (int)pn_data_get_short(d)); break;
    case PN_UINT: n = snprintf(out, size, "%" PRIu32, pn_data_get_uint(d)); break;
    case PN_INT: n = snprintf(out, size, "%" PRId32, pn_data_get_int(d)); break;
    case PN_ULONG: n = snprintf(out, size, "%" PRIu64, pn_data_get_ulong(d)); break;
    case PN_LONG: n = snprintf(out, size, "%" PRId64, pn_data_get_long(d)); break;
    default: return false;
    }
    return n >= 0 && (size_t)n < size;
}

int hub_amqp_decode(pn_message_t *m, const char *bytes, size_t size)
{
    if (size == 0 || bytes == NULL)
        return -EINVAL;
    return pn_message_decode(m, bytes, size) == 0 ? 0 : -EINVAL;
}

int hub_amqp_id_text(pn_atom_t id, char *out, size_t size)
{
    int n;
    out[0] = '\0';
    switch (id.type) {
    case PN_NULL:
    case PN_INVALID:
        return 0;
    case PN_STRING:
    case PN_BINARY: {
        pn_bytes_t b = id.u.as_bytes;
        if (b.size >= size)
            return -EINVAL;
        for (size_t i = 0; i < b.size; i++)
            if ((unsigned char)b.start[i] < 0x20 || b.start[i] == 0x7f)
                return -EINVAL;
        if (b.size)
            memcpy(out, b.start, b.size);
        out[b.size] = '\0';
        return (int)b.size;
    }
    case PN_UUID: {
        const unsigned char *u = (const unsigned char *)id.u.as_uuid.bytes;
        n = snprintf(out, size,
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                     u[12], u[13], u[14], u[15]);
        break;
    }
    case PN_ULONG: n = snprintf(out, size, "%" PRIu64, id.u.as_ulong); break;
    default: return -EINVAL;
    }
    return n >= 0 && (size_t)n < size ? n : -EINVAL;
}

/* Finds key `name` in a map of string/symbol keys and leaves the cursor on its value. */
static bool map_find(pn_data_t *d, const char *name)
{
    pn_data_rewind(d);
    if (!pn_data_next(d) || pn_data_type(d) != PN_MAP)
        return false;
    size_t count = pn_data_get_map(d);
    pn_data_enter(d);
    for (size_t i = 0; i + 1 < count; i += 2) {
        if (!pn_data_next(d))
            break;
        char key[64];
        bool match = text_of(d, key, sizeof(key)) && strcmp(key, name) == 0;
        if (!pn_data_next(d))
            break;
        if (match)
            return true;
    }
    return false;
}

int hub_amqp_cbs_request(pn_message_t *m, struct hub_amqp_cbs_req *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    /* The id and reply-to first: a refusal is answered to them too. */
    if (hub_amqp_id_text(pn_message_get_id(m), out->message_id, sizeof(out->message_id)) < 0) {
        *why = "the message id is not a string, uuid or ulong of at most 128 characters";
        return -EINVAL;
    }
    const char *rt = pn_message_get_reply_to(m);
    snprintf(out->reply_to, sizeof(out->reply_to), "%s", rt ? rt : "");
    pn_data_t *ap = pn_message_properties(m);
    char op[32];
    if (!map_find(ap, "operation") || !text_of(ap, op, sizeof(op)) ||
        strcmp(op, "put-token") != 0) {
        *why = "not a put-token request (application property operation)";
        return -EINVAL;
    }
    if (!map_find(ap, "type") || !text_of(ap, out->type, sizeof(out->type))) {
        *why = "the application property type is missing or not a string";
        return -EINVAL;
    }
    if (!map_find(ap, "name") || !text_of(ap, out->name, sizeof(out->name)) ||
        out->name[0] == '\0') {
        *why = "the application property name (the audience) is missing, empty, not a string "
               "or too long";
        return -EINVAL;
    }
    pn_data_t *body = pn_message_body(m);
    pn_data_rewind(body);
    if (!pn_data_next(body) || !text_of(body, out->token, sizeof(out->token))) {
        *why = "the body is not the token as an AMQP string (at most 1024 bytes)";
        return -EINVAL;
    }
    *why = NULL;
    return 0;
}

static int refuse(struct hub_amqp_refusal *ref, const char *condition, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct hub_amqp_refusal *ref, const char *condition, const char *fmt, ...)
{
    ref->condition = condition;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ref->description, sizeof(ref->description), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

#define ARGUMENT_ERROR "com.microsoft:argument-error"

/* Application properties: "iothub-ack" sets the ack mode, the others go into the bag. */
static int map_app_properties(pn_message_t *m, struct hub_amqp_c2d *out,
                              struct hub_c2d_bag *app, struct hub_amqp_refusal *ref)
{
    pn_data_t *d = pn_message_properties(m);
    pn_data_rewind(d);
    if (!pn_data_next(d))
        return 0;
    if (pn_data_type(d) != PN_MAP)
        return refuse(ref, ARGUMENT_ERROR, "the application properties are not a map");
    size_t count = pn_data_get_map(d);
    pn_data_enter(d);
    for (size_t i = 0; i + 1 < count; i += 2) {
        char key[1024], value[1024];
        if (!pn_data_next(d) || !text_of(d, key, sizeof(key)) || key[0] == '\0')
            return refuse(ref, ARGUMENT_ERROR, "an application property name is not a "
                          "non-empty string of at most 1023 bytes");
        if (!pn_data_next(d) || !value_text(d, value, sizeof(value)))
            return refuse(ref, ARGUMENT_ERROR, "application property '%.64s': the value is "
                          "not a string, boolean or integer of at most 1023 bytes", key);
        if (strcmp(key, "iothub-ack") == 0) {
            if (hub_c2d_ack_parse(value, &out->ack) != 0)
                return refuse(ref, ARGUMENT_ERROR, "iothub-ack '%.32s' is not none, positive, "
                              "negative or full", value);
            continue;
        }
        hub_c2d_bag_add(app, key, value);
    }
    return 0;
}

int hub_amqp_c2d_from_message(pn_message_t *m, int64_t now_ms, struct hub_amqp_c2d *out,
                              struct hub_amqp_refusal *ref)
{
    memset(out, 0, sizeof(*out));
    memset(ref, 0, sizeof(*ref));
    const char *to = pn_message_get_address(m);
    int rc = hub_amqp_device_of_to(to, out->device_id, sizeof(out->device_id));
    if (rc != 0)
        return refuse(ref, ARGUMENT_ERROR, "the message's 'to' %s%.80s%s is not "
                      "/devices/{deviceId}/messages/devicebound%s", to ? "'" : "",
                      to ? to : "(none)", to ? "'" : "",
                      rc == -ENAMETOOLONG ? " (the device id is longer than 128 characters)"
                                          : "");
    char cid[HUB_AMQP_ID_TEXT_MAX + 1], uid[HUB_AMQP_ID_TEXT_MAX + 1];
    int n = hub_amqp_id_text(pn_message_get_id(m), out->message_id, sizeof(out->message_id));
    if (n < 0)
        return refuse(ref, ARGUMENT_ERROR, "the message id is not a string, uuid or ulong of "
                      "at most %d characters", HUB_C2D_ID_MAX);
    if (n == 0)
        hub_uuid4(out->message_id);
    if (hub_amqp_id_text(pn_message_get_correlation_id(m), cid, sizeof(cid)) < 0)
        return refuse(ref, ARGUMENT_ERROR, "the correlation id is not a string, uuid or ulong "
                      "of at most %d characters", HUB_AMQP_ID_TEXT_MAX);
    pn_bytes_t ub = pn_message_get_user_id(m);
    pn_atom_t ua = {.type = PN_BINARY, .u.as_bytes = ub};
    if (hub_amqp_id_text(ua, uid, sizeof(uid)) < 0)
        return refuse(ref, ARGUMENT_ERROR, "the user id is longer than %d bytes or not text",
                      HUB_AMQP_ID_TEXT_MAX);
    pn_timestamp_t exp = pn_message_get_expiry_time(m);
    if (exp != 0 && exp <= now_ms)
        return refuse(ref, ARGUMENT_ERROR, "the message expired before it was sent "
                      "(absolute-expiry-time is in the past)");
    out->expiry_ms = exp;

    pn_data_t *body = pn_message_body(m);
    pn_data_rewind(body);
    if (pn_data_next(body)) {
        pn_type_t t = pn_data_type(body);
        pn_bytes_t b = t == PN_BINARY ? pn_data_get_binary(body)
                       : t == PN_STRING ? pn_data_get_string(body)
                                        : (pn_bytes_t){0, NULL};
        if (t != PN_BINARY && t != PN_STRING && t != PN_NULL)
            return refuse(ref, ARGUMENT_ERROR, "the body is neither one data section nor an "
                          "AMQP string");
        out->body = b.start;
        out->body_len = b.size;
    }
    if (out->body_len > HUB_C2D_PAYLOAD_MAX)
        return refuse(ref, "amqp:link:message-size-exceeded", "the message is %zu bytes; "
                      "cloud-to-device messages are limited to %d", out->body_len,
                      HUB_C2D_PAYLOAD_MAX);

    struct hub_c2d_bag app, sys;
    memset(&app, 0, sizeof(app));
    memset(&sys, 0, sizeof(sys));
    if (map_app_properties(m, out, &app, ref) != 0)
        return -EINVAL;
    /* The system properties as the MQTT device sees them ($.mid, $.to, ...; as the REST path
     * stores them, svc_c2d.c). */
    hub_c2d_bag_add(&sys, "$.mid", out->message_id);
    char topic_to[HUB_DEVICE_ID_MAX + 64];
    snprintf(topic_to, sizeof(topic_to), "/devices/%s/messages/deviceBound", out->device_id);
    hub_c2d_bag_add(&sys, "$.to", topic_to);
    if (cid[0])
        hub_c2d_bag_add(&sys, "$.cid", cid);
    if (uid[0])
        hub_c2d_bag_add(&sys, "$.uid", uid);
    const char *ct = pn_message_get_content_type(m), *ce = pn_message_get_content_encoding(m);
    if (ct && ct[0])
        hub_c2d_bag_add(&sys, "$.ct", ct);
    if (ce && ce[0])
        hub_c2d_bag_add(&sys, "$.ce", ce);
    if (out->expiry_ms) {
        char t[40];
        svc_time_iso(out->expiry_ms, t);
        hub_c2d_bag_add(&sys, "$.exp", t);
    }
    if (out->ack != HUB_C2D_ACK_NONE)
        hub_c2d_bag_add(&sys, "iothub-ack", hub_c2d_ack_name(out->ack));
    rc = hub_c2d_props_join(&app, &sys, out->device_id, out->props, sizeof(out->props));
    if (rc != 0)
        return refuse(ref, ARGUMENT_ERROR, "the message properties are too long: %s",
                      rc == -E2BIG ? "the device's topic would exceed 4096 bytes"
                                   : "at most 4096 bytes encoded");
    return 0;
}

/* DPS register request and registration/operation response bodies: one format definition,
 * built and parsed here for both the device and the hub. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azkit/azure_payloads.h"
#include "azkit/json.h"
#include "json_internal.h"

static const char *const status_names[] = {
    NULL, "unassigned", "assigning", "assigned", "failed", "disabled",
};

AZK_API const char *azk_dps_status_str(enum azk_dps_status status)
{
    if ((unsigned)status < sizeof(status_names) / sizeof(status_names[0]))
        return status_names[status];
    return NULL;
}

static enum azk_dps_status status_from(struct azk_span raw)
{
    unsigned i;
    for (i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (azk_json_string_eq_str(raw, status_names[i]))
            return (enum azk_dps_status)i;
    return AZK_DPS_STATUS_UNKNOWN;
}

/* Reads the value after a property name: a string (stored) or null (absent). */
static int read_string(struct azk_json_reader *r, struct azk_span *dst)
{
    int rc = azk_json_reader_next(r);
    if (rc < 0)
        return rc;
    if (r->token.kind == AZK_JSON_STRING) {
        *dst = r->token.slice;
        return 0;
    }
    return r->token.kind == AZK_JSON_NULL ? 0 : -EBADMSG;
}

/* Reads an integer that must fit int32_t, or null (absent). */
static int read_int32(struct azk_json_reader *r, bool *has, int32_t *dst)
{
    int64_t v;
    int rc = azk_json_reader_next(r);
    if (rc < 0)
        return rc;
    if (r->token.kind == AZK_JSON_NULL)
        return 0;
    if (r->token.kind != AZK_JSON_NUMBER)
        return -EBADMSG;
    rc = azk_json_token_get_int64(&r->token, &v);
    if (rc == -EDOM)
        return -EBADMSG;
    if (rc < 0)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return -ERANGE;
    *has = true;
    *dst = (int32_t)v;
    return 0;
}

enum { FIELD_OTHER = 30, FIELD_END = 31 }; /* names[] lists at most 30 fields (seen bits) */

/* Reads the next member name of an object: its index in names[], FIELD_OTHER for a name not
 * listed, FIELD_END at the end of the object, -EBADMSG for a listed name seen before (a
 * repeated field makes the body malformed) or the reader's error. */
static int next_field(struct azk_json_reader *r, const char *const *names, int count,
                      uint32_t *seen)
{
    int i, rc = azk_json_reader_next(r);
    if (rc < 0)
        return rc;
    if (r->token.kind == AZK_JSON_END_OBJECT)
        return FIELD_END;
    for (i = 0; i < count; i++)
        if (azk_json_token_eq_str(&r->token, names[i])) {
            if (*seen & (1u << i))
                return -EBADMSG;
            *seen |= 1u << i;
            return i;
        }
    return FIELD_OTHER;
}

/* ---- register request -------------------------------------------------------------------- */

AZK_API int azk_dps_register_request_build(struct azk_span registration_id,
                                           struct azk_span payload_json, char *buf,
                                           size_t buf_size, size_t *out_len)
{
    struct azk_json_writer w;
    int rc;

    if (!out_len)
        return -EINVAL;
    *out_len = 0;
    if (!registration_id.ptr || (!payload_json.ptr && payload_json.len))
        return -EINVAL;
    rc = azk_json_writer_init(&w, buf, buf_size);
    if (rc < 0)
        return rc;
    azk_json_writer_begin_object(&w);
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("registrationId"));
    azk_json_writer_string(&w, registration_id);
    if (payload_json.ptr) {
        azk_json_writer_property_name(&w, AZK_SPAN_LIT("payload"));
        azk_json_writer_raw(&w, payload_json);
    }
    azk_json_writer_end_object(&w);
    return azk_json_writer_finish(&w, out_len);
}

AZK_API int azk_dps_register_request_parse(struct azk_span body,
                                           struct azk_dps_register_request *out)
{
    static const char *const names[] = {"registrationId", "payload"};
    struct azk_json_reader r;
    const char *p = body.ptr;
    size_t n = body.len;
    uint32_t seen = 0;
    int rc;

    if (!out || (!body.ptr && body.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    azki_json__trim(&p, &n);
    if (n == 0) {
        out->empty = true;
        return 0;
    }
    rc = azki_json__open_object(&r, body);
    if (rc < 0)
        return rc;
    for (;;) {
        int i = next_field(&r, names, 2, &seen);
        if (i < 0)
            return i;
        if (i == FIELD_END)
            break;
        if (i == 0)
            rc = read_string(&r, &out->registration_id);
        else if (i == 1)
            rc = azk_json_reader_skip(&r, &out->payload);
        else
            rc = azk_json_reader_skip(&r, NULL);
        if (rc < 0)
            return rc;
    }
    return azki_json__close_document(&r);
}

/* ---- response ---------------------------------------------------------------------------- */

static int read_status(struct azk_json_reader *r, enum azk_dps_status *status,
                       struct azk_span *text)
{
    int rc = read_string(r, text);
    if (rc == 0 && text->ptr)
        *status = status_from(*text);
    return rc;
}

static int parse_registration_state(struct azk_json_reader *r,
                                    struct azk_dps_registration_state *st)
{
    static const char *const names[] = {
        "registrationId", "createdDateTimeUtc", "assignedHub", "deviceId",
        "status", "substatus", "lastUpdatedDateTimeUtc", "etag",
        "errorCode", "errorMessage", "payload",
    };
    uint32_t seen = 0;
    int rc;

    for (;;) {
        int i = next_field(r, names, (int)(sizeof(names) / sizeof(names[0])), &seen);
        if (i < 0)
            return i;
        if (i == FIELD_END)
            break;
        switch (i) {
        case 0: rc = read_string(r, &st->registration_id); break;
        case 1: rc = read_string(r, &st->created_date_time_utc); break;
        case 2: rc = read_string(r, &st->assigned_hub); break;
        case 3: rc = read_string(r, &st->device_id); break;
        case 4: rc = read_status(r, &st->status, &st->status_text); break;
        case 5: rc = read_string(r, &st->substatus); break;
        case 6: rc = read_string(r, &st->last_updated_date_time_utc); break;
        case 7: rc = read_string(r, &st->etag); break;
        case 8: rc = read_int32(r, &st->has_error_code, &st->error_code); break;
        case 9: rc = read_string(r, &st->error_message); break;
        case 10: rc = azk_json_reader_skip(r, &st->payload); break;
        default: rc = azk_json_reader_skip(r, NULL); break;
        }
        if (rc < 0)
            return rc;
    }
    if ((st->assigned_hub.ptr == NULL) != (st->device_id.ptr == NULL))
        return -EBADMSG;
    return 0;
}

AZK_API int azk_dps_response_parse(struct azk_span body, struct azk_dps_response *out)
{
    static const char *const names[] = {
        "operationId", "status", "registrationState", "errorCode",
        "trackingId", "message", "timestampUtc",
    };
    struct azk_json_reader r;
    uint32_t seen = 0;
    int rc;

    if (!out || (!body.ptr && body.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    rc = azki_json__open_object(&r, body);
    if (rc < 0)
        return rc;
    for (;;) {
        int i = next_field(&r, names, (int)(sizeof(names) / sizeof(names[0])), &seen);
        if (i < 0)
            return i;
        if (i == FIELD_END)
            break;
        switch (i) {
        case 0: rc = read_string(&r, &out->operation_id); break;
        case 1: rc = read_status(&r, &out->status, &out->status_text); break;
        case 2:
            rc = azk_json_reader_next(&r);
            if (rc < 0)
                break;
            if (r.token.kind == AZK_JSON_BEGIN_OBJECT) {
                out->has_registration_state = true;
                rc = parse_registration_state(&r, &out->registration_state);
            } else if (r.token.kind != AZK_JSON_NULL) {
                rc = -EBADMSG;
            }
            break;
        case 3: rc = read_int32(&r, &out->has_error_code, &out->error_code); break;
        case 4: rc = read_string(&r, &out->tracking_id); break;
        case 5: rc = read_string(&r, &out->message); break;
        case 6: rc = read_string(&r, &out->timestamp_utc); break;
        default: rc = azk_json_reader_skip(&r, NULL); break;
        }
        if (rc < 0)
            return rc;
    }
    return azki_json__close_document(&r);
}

static void put_string(struct azk_json_writer *w, const char *name, struct azk_span value)
{
    if (!value.ptr)
        return;
    azk_json_writer_property_name(w, azk_span_from_str(name));
    azk_json_writer_string(w, value);
}

static int put_status(struct azk_json_writer *w, enum azk_dps_status status,
                      struct azk_span text)
{
    if (status == AZK_DPS_STATUS_NONE)
        return 0;
    if (status == AZK_DPS_STATUS_UNKNOWN) {
        if (!text.ptr)
            return -EINVAL;
        put_string(w, "status", text);
        return 0;
    }
    if (!azk_dps_status_str(status))
        return -EINVAL;
    put_string(w, "status", azk_span_from_str(azk_dps_status_str(status)));
    return 0;
}

AZK_API int azk_dps_response_build(const struct azk_dps_response *resp, char *buf,
                                   size_t buf_size, size_t *out_len)
{
    struct azk_json_writer w;
    int rc;

    if (!out_len)
        return -EINVAL;
    *out_len = 0;
    if (!resp)
        return -EINVAL;
    rc = azk_json_writer_init(&w, buf, buf_size);
    if (rc < 0)
        return rc;
    azk_json_writer_begin_object(&w);
    put_string(&w, "operationId", resp->operation_id);
    if ((rc = put_status(&w, resp->status, resp->status_text)) < 0)
        return rc;
    if (resp->has_registration_state) {
        const struct azk_dps_registration_state *st = &resp->registration_state;
        azk_json_writer_property_name(&w, AZK_SPAN_LIT("registrationState"));
        azk_json_writer_begin_object(&w);
        if (st->attestation_name.ptr && st->attestation_name.len) {
            azk_json_writer_property_name(&w, st->attestation_name);
            azk_json_writer_raw(&w, st->attestation.len ? st->attestation : AZK_SPAN_LIT("{}"));
        }
        put_string(&w, "registrationId", st->registration_id);
        put_string(&w, "createdDateTimeUtc", st->created_date_time_utc);
        put_string(&w, "assignedHub", st->assigned_hub);
        put_string(&w, "deviceId", st->device_id);
        if ((rc = put_status(&w, st->status, st->status_text)) < 0)
            return rc;
        put_string(&w, "substatus", st->substatus);
        if (st->has_error_code) {
            azk_json_writer_property_name(&w, AZK_SPAN_LIT("errorCode"));
            azk_json_writer_int64(&w, st->error_code);
        }
        put_string(&w, "errorMessage", st->error_message);
        put_string(&w, "lastUpdatedDateTimeUtc", st->last_updated_date_time_utc);
        put_string(&w, "etag", st->etag);
        if (st->payload.ptr) {
            azk_json_writer_property_name(&w, AZK_SPAN_LIT("payload"));
            azk_json_writer_raw(&w, st->payload);
        }
        azk_json_writer_end_object(&w);
    }
    if (resp->has_error_code) {
        azk_json_writer_property_name(&w, AZK_SPAN_LIT("errorCode"));
        azk_json_writer_int64(&w, resp->error_code);
    }
    put_string(&w, "trackingId", resp->tracking_id);
    put_string(&w, "message", resp->message);
    put_string(&w, "timestampUtc", resp->timestamp_utc);
    azk_json_writer_end_object(&w);
    return azk_json_writer_finish(&w, out_len);
}

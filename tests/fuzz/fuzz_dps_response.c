/* libFuzzer target: DPS response and register request bodies. Whatever parses is rebuilt with
 * the builders (from the decoded text), must parse again to the same values, and rebuilding
 * that must give identical bytes (builder <-> parser round trip through the JSON writer). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_payloads.h"
#include "azkit/json.h"
#include "fuzz_util.h"


/* Decodes a raw string field into the arena (absent stays absent). */
static struct azk_span dec(struct azk_span raw, char **arena, char *arena_end)
{
    struct azk_span out = {NULL, 0};
    size_t len;
    if (!raw.ptr)
        return out;
    REQUIRE(azk_json_string_unescape(raw, *arena, (size_t)(arena_end - *arena), &len) == 0);
    out.ptr = *arena;
    out.len = len;
    *arena += len;
    return out;
}

static void decode_state(struct azk_dps_registration_state *s, char **a, char *end)
{
    s->registration_id = dec(s->registration_id, a, end);
    s->created_date_time_utc = dec(s->created_date_time_utc, a, end);
    s->assigned_hub = dec(s->assigned_hub, a, end);
    s->device_id = dec(s->device_id, a, end);
    s->status_text = dec(s->status_text, a, end);
    s->substatus = dec(s->substatus, a, end);
    s->last_updated_date_time_utc = dec(s->last_updated_date_time_utc, a, end);
    s->etag = dec(s->etag, a, end);
    s->error_message = dec(s->error_message, a, end);
}

static void decode_response(struct azk_dps_response *r, char **a, char *end)
{
    r->operation_id = dec(r->operation_id, a, end);
    r->status_text = dec(r->status_text, a, end);
    decode_state(&r->registration_state, a, end);
    r->tracking_id = dec(r->tracking_id, a, end);
    r->message = dec(r->message, a, end);
    r->timestamp_utc = dec(r->timestamp_utc, a, end);
}

static bool same(struct azk_span a, struct azk_span b)
{
    return (a.ptr == NULL) == (b.ptr == NULL) && azk_span_eq(a, b);
}

static void same_state(const struct azk_dps_registration_state *x,
                       const struct azk_dps_registration_state *y)
{
    REQUIRE(same(x->registration_id, y->registration_id));
    REQUIRE(same(x->created_date_time_utc, y->created_date_time_utc));
    REQUIRE(same(x->assigned_hub, y->assigned_hub));
    REQUIRE(same(x->device_id, y->device_id));
    REQUIRE(x->status == y->status);
    REQUIRE(same(x->status_text, y->status_text));
    REQUIRE(same(x->substatus, y->substatus));
    REQUIRE(same(x->last_updated_date_time_utc, y->last_updated_date_time_utc));
    REQUIRE(same(x->etag, y->etag));
    REQUIRE(x->has_error_code == y->has_error_code);
    REQUIRE(!x->has_error_code || x->error_code == y->error_code);
    REQUIRE(same(x->error_message, y->error_message));
    REQUIRE(same(x->payload, y->payload));
}

static void response_round_trip(struct azk_span in, size_t size)
{
    struct azk_dps_response r1, r2;
    char *arena1, *arena2, *out, *out2, *a;
    size_t need, len, len2;
    int rc = azk_dps_response_parse(in, &r1);

    REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG);
    if (rc)
        return;
    arena1 = malloc(size + 1);
    a = arena1;
    decode_response(&r1, &a, arena1 + size + 1);

    /* the decoded text is valid UTF-8 and the payload valid JSON: building cannot fail */
    REQUIRE(azk_dps_response_build(&r1, NULL, 0, &need) == -ENOBUFS);
    out = malloc(need);
    out2 = malloc(need);
    REQUIRE(out && out2);
    REQUIRE(azk_dps_response_build(&r1, out, need, &len) == 0 && len == need);
    REQUIRE(azk_dps_response_build(&r1, out2, need - 1, &len2) == -ENOBUFS && len2 == need);

    REQUIRE(azk_dps_response_parse((struct azk_span){out, len}, &r2) == 0);
    arena2 = malloc(len + 1);
    a = arena2;
    decode_response(&r2, &a, arena2 + len + 1);
    REQUIRE(same(r1.operation_id, r2.operation_id));
    REQUIRE(r1.status == r2.status && same(r1.status_text, r2.status_text));
    REQUIRE(r1.has_registration_state == r2.has_registration_state);
    if (r1.has_registration_state)
        same_state(&r1.registration_state, &r2.registration_state);
    REQUIRE(r1.has_error_code == r2.has_error_code);
    REQUIRE(!r1.has_error_code || r1.error_code == r2.error_code);
    REQUIRE(same(r1.tracking_id, r2.tracking_id));
    REQUIRE(same(r1.message, r2.message));
    REQUIRE(same(r1.timestamp_utc, r2.timestamp_utc));

    /* rebuilding the re-parsed response gives identical bytes */
    REQUIRE(azk_dps_response_build(&r2, out2, need, &len2) == 0);
    REQUIRE(len2 == len && memcmp(out, out2, len) == 0);
    free(arena1);
    free(arena2);
    free(out);
    free(out2);
}

static void request_round_trip(struct azk_span in, size_t size)
{
    struct azk_dps_register_request q1, q2;
    char *arena, *a, *out;
    struct azk_span id;
    size_t need, len;
    int rc = azk_dps_register_request_parse(in, &q1);

    REQUIRE(rc == 0 || rc == -EBADMSG || rc == -E2BIG);
    if (rc || !q1.registration_id.ptr)
        return;
    arena = malloc(size + 1);
    a = arena;
    id = dec(q1.registration_id, &a, arena + size + 1);
    REQUIRE(azk_dps_register_request_build(id, q1.payload, NULL, 0, &need) == -ENOBUFS);
    out = malloc(need);
    REQUIRE(azk_dps_register_request_build(id, q1.payload, out, need, &len) == 0 && len == need);
    REQUIRE(azk_dps_register_request_parse((struct azk_span){out, len}, &q2) == 0);
    REQUIRE(!q2.empty && azk_json_string_eq_str(q2.registration_id, "") == (id.len == 0));
    REQUIRE(same(q1.payload, q2.payload));
    {
        char *d = malloc(len + 1);
        size_t dl;
        REQUIRE(azk_json_string_unescape(q2.registration_id, d, len + 1, &dl) == 0);
        REQUIRE(dl == id.len && memcmp(d, id.ptr, dl) == 0);
        free(d);
    }
    free(out);
    free(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct azk_span in = {size ? (const char *)data : NULL, size};
    response_round_trip(in, size);
    request_round_trip(in, size);
    return 0;
}

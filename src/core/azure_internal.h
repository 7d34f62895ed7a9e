/* Internal to the core's Azure protocol files (azure_*.c): a bounded string writer and small
 * parsing helpers. Not installed, not part of the API. */
#ifndef AZK_CORE_AZURE_INTERNAL_H
#define AZK_CORE_AZURE_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "core_writer.h"

/* Percent-encodes everything but the RFC 3986 unreserved characters A-Z a-z 0-9 - . _ ~ */
void azki_w_pct(struct azki_w *w, struct azk_span s);

/* Writes a property bag (keys and values percent-encoded); -EINVAL for an empty key. */
int azki_w_bag(struct azki_w *w, const struct azk_prop *props, size_t count);

/* Shared by the telemetry and C2D builders: validates the device id and writes
 * "devices/{device_id}/messages/{kind}". Returns 0 or -EINVAL (out_len NULL, bad id). */
int azki_w_device_messages(struct azki_w *w, struct azk_span device_id, const char *kind,
                          char *buf, size_t buf_size, const size_t *out_len,
                          struct azk_id_error *err);

/* Span helpers. */
static inline struct azk_span azki_sp(const char *p, size_t n)
{
    struct azk_span s = {p, n};
    return s;
}

static inline bool azki_starts(struct azk_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len >= n && memcmp(s.ptr, lit, n) == 0;
}

/* Drops `n` bytes from the front of `s` (n <= s.len). */
static inline struct azk_span azki_skip(struct azk_span s, size_t n)
{
    return azki_sp(s.ptr + n, s.len - n);
}

/* Index of the first `c` in `s`, or s.len. */
static inline size_t azki_find(struct azk_span s, char c)
{
    const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
    return p ? (size_t)(p - s.ptr) : s.len;
}

/* Parses a whole span as a decimal int (optional '-'), range of int32. */
int azki_parse_int(struct azk_span s, int *out);
/* Parses a whole span as unsigned decimal, at most `max`. */
int azki_parse_u64(struct azk_span s, uint64_t max, uint64_t *out);

/* Is `s` a valid value for $rid / operationId in a topic we build (see azure_hub.h). */
bool azki_token_ok(struct azk_span s);

/* Splits `rest` = "{status}/?{query}" into status and query: 0 or -EBADMSG. */
int azki_split_status_query(struct azk_span rest, int *status, struct azk_span *query);

/* Parsed well-known query parameters of a response/request topic. */
struct azki_topic_query {
    struct azk_span rid;
    bool has_rid;
    struct azk_span version;
    bool has_version;
    struct azk_span retry_after;
    bool has_retry_after;
    struct azk_span operation_id;
    bool has_operation_id;
};

/* Parses a query string, filling the known parameters (keys compared after percent-decoding, so
 * "%24rid" is "$rid"); unknown parameters are ignored. Duplicates or a key without a name give
 * -EBADMSG. */
int azki_topic_query_parse(struct azk_span query, struct azki_topic_query *q);

/* Checks that a device-id segment in a topic/filter is acceptable: a valid device id; equal to
 * `connected` when that is non-empty; '+'/'#' only when equal to a non-empty `connected`.
 * 0, -EACCES (a different device) or -EBADMSG. */
int azki_check_topic_device(struct azk_span seg, struct azk_span connected);

#endif

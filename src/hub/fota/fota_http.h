/* The HTTP rules of the firmware image server (RFC 9110): the Range header of a GET, If-Range
 * and If-None-Match against the image's ETag. Pure functions over request header values
 * (external input: fuzzed by tests/fuzz/fuzz_hub_fota_http.c); no allocation, any thread. */
#ifndef AZK_HUB_FOTA_HTTP_H
#define AZK_HUB_FOTA_HTTP_H

#include <stdbool.h>
#include <stdint.h>

enum hub_fota_range {
    HUB_FOTA_RANGE_FULL,          /* no usable Range: answer 200 with the whole image */
    HUB_FOTA_RANGE_PARTIAL,       /* one satisfiable range: 206 with bytes *first..*last */
    HUB_FOTA_RANGE_UNSATISFIABLE, /* 416, with a Content-Range of "bytes", "*", "/" and the total */
};

/*
 * The answer to `Range: value` for an image of `total` bytes. Accepts one range of unit
 * "bytes" (case-insensitive): "a-b", "a-" and the suffix "-n", with optional spaces. A last
 * position past the end is cut to total - 1. A value that is not one well-formed byte range (a
 * list of several, another unit, b < a, garbage) is ignored as RFC 9110 allows: FULL.
 * `value` NULL means no Range header (FULL). *first and *last are set only for PARTIAL.
 */
enum hub_fota_range hub_fota_range_parse(const char *value, uint64_t total, uint64_t *first,
                                         uint64_t *last);

/*
 * Whether the entity-tag list `value` (If-None-Match: "*" or a comma-separated list of
 * quoted tags, each possibly W/-prefixed) matches `etag` (the quoted tag of the image, e.g.
 * "\"abc\""). `weak`: weak comparison (If-None-Match; W/ ignored), else strong (W/ tags never
 * match). A malformed list matches nothing. NULL value: false.
 */
bool hub_fota_etag_match(const char *value, const char *etag, bool weak);

/* Whether a Range may be honoured under `If-Range: value` (NULL: no header, true): only when
 * it is the image's strong ETag; a date or any other tag means "send the whole image". */
bool hub_fota_if_range_ok(const char *value, const char *etag);

#endif

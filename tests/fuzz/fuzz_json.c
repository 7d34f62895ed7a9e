/* libFuzzer target: the core's JSON reader, and writer round trips. Every valid input is
 * re-serialised token by token with the writer; the output must read back as the same token
 * sequence, re-serialise to identical bytes, and raw passthrough must copy the input. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/json.h"
#include "fuzz_util.h"


/* Re-serialises the tokens of a valid document; returns the writer's finish() code. */
static int reserialise(struct azk_span in, char *out, size_t out_size, size_t *out_len,
                       char *scratch, size_t scratch_size)
{
    struct azk_json_reader r;
    struct azk_json_writer w;
    size_t dlen;
    int rc;

    REQUIRE(azk_json_reader_init(&r, in) == 0);
    REQUIRE(azk_json_writer_init(&w, out, out_size) == 0);
    while ((rc = azk_json_reader_next(&r)) > 0) {
        switch (r.token.kind) {
        case AZK_JSON_BEGIN_OBJECT: rc = azk_json_writer_begin_object(&w); break;
        case AZK_JSON_END_OBJECT: rc = azk_json_writer_end_object(&w); break;
        case AZK_JSON_BEGIN_ARRAY: rc = azk_json_writer_begin_array(&w); break;
        case AZK_JSON_END_ARRAY: rc = azk_json_writer_end_array(&w); break;
        case AZK_JSON_PROPERTY_NAME:
        case AZK_JSON_STRING:
            REQUIRE(azk_json_token_unescape(&r.token, scratch, scratch_size, &dlen) == 0);
            REQUIRE(dlen <= r.token.slice.len);
            rc = r.token.kind == AZK_JSON_STRING
                     ? azk_json_writer_string(&w, (struct azk_span){scratch, dlen})
                     : azk_json_writer_property_name(&w, (struct azk_span){scratch, dlen});
            break;
        case AZK_JSON_NUMBER: {
            int64_t v;
            int nrc = azk_json_token_get_int64(&r.token, &v);
            REQUIRE(nrc == 0 || nrc == -EDOM || nrc == -ERANGE);
            rc = nrc == 0 ? azk_json_writer_int64(&w, v) : azk_json_writer_raw(&w, r.token.slice);
            break;
        }
        case AZK_JSON_TRUE: rc = azk_json_writer_bool(&w, true); break;
        case AZK_JSON_FALSE: rc = azk_json_writer_bool(&w, false); break;
        case AZK_JSON_NULL: rc = azk_json_writer_null(&w); break;
        default: REQUIRE(0);
        }
        REQUIRE(rc == 0);
    }
    REQUIRE(rc == 0);
    return azk_json_writer_finish(&w, out_len);
}

/* The two documents have the same tokens (strings compared decoded, numbers by value). */
static void same_tokens(struct azk_span a, struct azk_span b, char *s1, char *s2, size_t cap)
{
    struct azk_json_reader ra, rb;
    int x, y;
    REQUIRE(azk_json_reader_init(&ra, a) == 0);
    REQUIRE(azk_json_reader_init(&rb, b) == 0);
    do {
        x = azk_json_reader_next(&ra);
        y = azk_json_reader_next(&rb);
        REQUIRE(x == y && x >= 0);
        if (x == 0)
            break;
        REQUIRE(ra.token.kind == rb.token.kind);
        if (ra.token.kind == AZK_JSON_STRING || ra.token.kind == AZK_JSON_PROPERTY_NAME) {
            size_t l1, l2;
            REQUIRE(azk_json_token_unescape(&ra.token, s1, cap, &l1) == 0);
            REQUIRE(azk_json_token_unescape(&rb.token, s2, cap, &l2) == 0);
            REQUIRE(l1 == l2 && memcmp(s1, s2, l1) == 0);
        } else if (ra.token.kind == AZK_JSON_NUMBER) {
            int64_t v1, v2;
            int c1 = azk_json_token_get_int64(&ra.token, &v1);
            int c2 = azk_json_token_get_int64(&rb.token, &v2);
            REQUIRE(c1 == c2);
            if (c1 == 0)
                REQUIRE(v1 == v2);
            else
                REQUIRE(azk_span_eq(ra.token.slice, rb.token.slice));
        }
    } while (x > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct azk_span in = {(const char *)data, size};
    struct azk_json_reader r;
    enum azk_json_error reason;
    size_t offset, out_size = 6 * size + 64, len, len2, need;
    char *out, *out2, *s1, *s2;
    int rc, vrc;

    if (size == 0)
        in.ptr = NULL;
    REQUIRE(azk_json_reader_init(&r, in) == 0);
    while ((rc = azk_json_reader_next(&r)) > 0) {
        /* token slices stay inside the input */
        REQUIRE(r.token.slice.ptr >= in.ptr &&
                r.token.slice.ptr + r.token.slice.len <= in.ptr + size);
        REQUIRE(r.token.offset < size);
    }
    vrc = azk_json_validate(in, &reason, &offset);
    REQUIRE(vrc == rc && reason == r.error && offset == r.error_offset);
    REQUIRE(azk_json_reader_next(&r) == rc); /* sticky */
    {
        struct azk_span v;
        int frc = azk_json_object_find(in, "a", &v);
        if (frc == -ENOENT || frc == 0)
            REQUIRE(rc == 0);
        if (frc == 0)
            REQUIRE(v.ptr >= in.ptr && v.ptr + v.len <= in.ptr + size);
    }
    if (rc < 0) {
        REQUIRE(rc == -EBADMSG || rc == -E2BIG);
        REQUIRE(reason != AZK_JSON_OK && offset <= size);
        return 0;
    }

    out = malloc(out_size);
    out2 = malloc(out_size);
    s1 = malloc(size + 1);
    s2 = malloc(out_size);
    REQUIRE(out && out2 && s1 && s2);

    /* measuring pass: too-small buffer reports the exact size */
    REQUIRE(reserialise(in, NULL, 0, &need, s1, size + 1) == -ENOBUFS);
    REQUIRE(reserialise(in, out, out_size, &len, s1, size + 1) == 0);
    REQUIRE(len == need);
    if (len > 1)
        REQUIRE(reserialise(in, out2, len - 1, &len2, s1, size + 1) == -ENOBUFS && len2 == len);
    REQUIRE(azk_json_validate((struct azk_span){out, len}, NULL, NULL) == 0);
    same_tokens(in, (struct azk_span){out, len}, s1, s2, size + 1);
    /* idempotent: the writer's output re-serialises to itself */
    REQUIRE(reserialise((struct azk_span){out, len}, out2, out_size, &len2, s2, out_size) == 0);
    REQUIRE(len2 == len && memcmp(out, out2, len) == 0);

    /* raw passthrough copies the value without surrounding whitespace */
    {
        struct azk_json_writer w;
        const char *p = in.ptr;
        size_t n = size;
        REQUIRE(azk_json_writer_init(&w, out2, out_size) == 0);
        REQUIRE(azk_json_writer_raw(&w, in) == 0);
        REQUIRE(azk_json_writer_finish(&w, &len2) == 0);
        while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
            p++;
            n--;
        }
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
            n--;
        REQUIRE(len2 == n && memcmp(out2, p, n) == 0);
    }
    free(out);
    free(out2);
    free(s1);
    free(s2);
    return 0;
}

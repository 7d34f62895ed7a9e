/* JSON pull reader (RFC 8259, strict): tokens are spans into the input; no heap, no float. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core_num.h"
#include "azkit/json.h"
#include "json_internal.h"

enum {
    ST_START,              /* the top-level value */
    ST_VALUE_AFTER_COLON,  /* a member's value */
    ST_VALUE_AFTER_COMMA,  /* an array element after `,` */
    ST_VALUE_OR_END_ARRAY, /* right after `[` */
    ST_NAME_OR_END_OBJECT, /* right after `{` */
    ST_NAME_AFTER_COMMA,   /* a member name after `,` */
    ST_COMMA_OR_END,       /* after a value inside a container */
    ST_EOF,                /* after the top-level value: only whitespace may follow */
    ST_DONE,
    ST_ERROR,
};

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int azki_json__utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2;
        lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) {
        need = 2;
        hi = 0x9F;
    } else if (c == 0xF0) {
        need = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) {
        need = 3;
        hi = 0x8F;
    } else {
        return 0;
    }
    for (i = 1; i <= need; i++) {
        unsigned char b;
        if (i >= n)
            return -1;
        b = p[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return 0;
    }
    return (int)need + 1;
}

void azki_json__trim(const char **p, size_t *n)
{
    while (*n > 0 && is_ws((unsigned char)(*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_ws((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

/* Number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, starting at p[i]. On success
 * *end is the index after the number and *integer tells whether it has neither fraction nor
 * exponent. A letter, digit or `.` right after the number makes it malformed. */
static enum azk_json_error scan_number(const unsigned char *p, size_t n, size_t i, size_t *end,
                                       bool *integer, size_t *err_at)
{
    size_t start = i;

    *integer = true;
    if (i < n && p[i] == '-')
        i++;
    if (i >= n) {
        *err_at = n;
        return AZK_JSON_ERR_TRUNCATED;
    }
    if (p[i] == '0') {
        i++;
        if (i < n && is_digit(p[i])) {
            *err_at = start;
            return AZK_JSON_ERR_LEADING_ZERO;
        }
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < n && is_digit(p[i]))
            i++;
    } else {
        *err_at = i;
        return AZK_JSON_ERR_BAD_NUMBER;
    }
    if (i < n && p[i] == '.') {
        *integer = false;
        i++;
        if (i >= n) {
            *err_at = n;
            return AZK_JSON_ERR_TRUNCATED;
        }
        if (!is_digit(p[i])) {
            *err_at = i;
            return AZK_JSON_ERR_BAD_NUMBER;
        }
        while (i < n && is_digit(p[i]))
            i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        *integer = false;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        if (i >= n) {
            *err_at = n;
            return AZK_JSON_ERR_TRUNCATED;
        }
        if (!is_digit(p[i])) {
            *err_at = i;
            return AZK_JSON_ERR_BAD_NUMBER;
        }
        while (i < n && is_digit(p[i]))
            i++;
    }
    if (i < n && (is_alnum(p[i]) || p[i] == '.')) {
        *err_at = i;
        return AZK_JSON_ERR_BAD_NUMBER;
    }
    *end = i;
    return AZK_JSON_OK;
}

/* Reads 4 hex digits at p[i]. */
static enum azk_json_error hex4(const unsigned char *p, size_t n, size_t i, unsigned *cp,
                                size_t *err_at)
{
    unsigned v = 0;
    size_t k;
    for (k = 0; k < 4; k++) {
        int h;
        if (i + k >= n) {
            *err_at = n;
            return AZK_JSON_ERR_TRUNCATED;
        }
        h = azki_hex_digit(p[i + k]);
        if (h < 0) {
            *err_at = i + k;
            return AZK_JSON_ERR_BAD_ESCAPE;
        }
        v = (v << 4) | (unsigned)h;
    }
    *cp = v;
    return AZK_JSON_OK;
}

/* Scans the string whose opening quote is at p[q]; *end is the index of the closing quote. */
static enum azk_json_error scan_string(const unsigned char *p, size_t n, size_t q, size_t *end,
                                       bool *escapes, size_t *err_at)
{
    size_t i = q + 1;
    *escapes = false;
    for (;;) {
        unsigned char c;
        if (i >= n) {
            *err_at = n;
            return AZK_JSON_ERR_TRUNCATED;
        }
        c = p[i];
        if (c == '"') {
            *end = i;
            return AZK_JSON_OK;
        }
        if (c < 0x20) {
            *err_at = i;
            return AZK_JSON_ERR_CONTROL_CHAR;
        }
        if (c == '\\') {
            *escapes = true;
            if (i + 1 >= n) {
                *err_at = n;
                return AZK_JSON_ERR_TRUNCATED;
            }
            switch (p[i + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                i += 2;
                break;
            case 'u': {
                unsigned cp, lo;
                enum azk_json_error e = hex4(p, n, i + 2, &cp, err_at);
                if (e != AZK_JSON_OK)
                    return e;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    *err_at = i;
                    return AZK_JSON_ERR_BAD_SURROGATE;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    size_t j = i + 6;
                    if (j >= n || (p[j] == '\\' && j + 1 >= n)) {
                        *err_at = n;
                        return AZK_JSON_ERR_TRUNCATED;
                    }
                    if (p[j] != '\\' || p[j + 1] != 'u') {
                        *err_at = i;
                        return AZK_JSON_ERR_BAD_SURROGATE;
                    }
                    e = hex4(p, n, j + 2, &lo, err_at);
                    if (e != AZK_JSON_OK)
                        return e;
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        *err_at = i;
                        return AZK_JSON_ERR_BAD_SURROGATE;
                    }
                    i = j + 6;
                } else {
                    i += 6;
                }
                break;
            }
            default:
                *err_at = i;
                return AZK_JSON_ERR_BAD_ESCAPE;
            }
            continue;
        }
        if (c >= 0x80) {
            int len = azki_json__utf8_seq(p + i, n - i);
            if (len < 0) {
                *err_at = n;
                return AZK_JSON_ERR_TRUNCATED;
            }
            if (len == 0) {
                *err_at = i;
                return AZK_JSON_ERR_BAD_UTF8;
            }
            i += (size_t)len;
            continue;
        }
        i++;
    }
}

static int fail(struct azk_json_reader *r, enum azk_json_error e, size_t at)
{
    r->error = e;
    r->error_offset = at;
    r->_state = ST_ERROR;
    r->token.kind = AZK_JSON_NONE;
    return e == AZK_JSON_ERR_DEPTH ? -E2BIG : -EBADMSG;
}

static bool top_is_object(const struct azk_json_reader *r)
{
    unsigned d = r->_depth - 1u;
    return (r->_stack[d / 8] >> (d % 8)) & 1u;
}

static void set_token(struct azk_json_reader *r, enum azk_json_token_kind kind, size_t start,
                      size_t len)
{
    r->token.kind = kind;
    r->token.slice.ptr = r->_in.ptr + start;
    r->token.slice.len = len;
    r->token.has_escapes = false;
    r->token.offset = start;
}

static void after_value(struct azk_json_reader *r)
{
    r->_state = r->_depth == 0 ? ST_EOF : ST_COMMA_OR_END;
}

static int read_end(struct azk_json_reader *r, bool object)
{
    size_t at = r->_pos;
    if (r->_depth == 0 || top_is_object(r) != object)
        return fail(r, AZK_JSON_ERR_MISMATCHED_BRACKET, at);
    r->_depth--;
    set_token(r, object ? AZK_JSON_END_OBJECT : AZK_JSON_END_ARRAY, at, 1);
    r->_pos = at + 1;
    after_value(r);
    return 1;
}

static int read_value(struct azk_json_reader *r)
{
    const unsigned char *p = (const unsigned char *)r->_in.ptr;
    size_t n = r->_in.len, at = r->_pos, end = 0, err_at = 0;
    enum azk_json_error e;
    unsigned char c;

    if (at >= n)
        return fail(r, r->_state == ST_START ? AZK_JSON_ERR_EMPTY : AZK_JSON_ERR_TRUNCATED, n);
    c = p[at];
    switch (c) {
    case '{':
    case '[':
        if (r->_depth >= AZK_JSON_MAX_DEPTH)
            return fail(r, AZK_JSON_ERR_DEPTH, at);
        if (c == '{')
            r->_stack[r->_depth / 8] |= (uint8_t)(1u << (r->_depth % 8));
        else
            r->_stack[r->_depth / 8] &= (uint8_t) ~(1u << (r->_depth % 8));
        r->_depth++;
        set_token(r, c == '{' ? AZK_JSON_BEGIN_OBJECT : AZK_JSON_BEGIN_ARRAY, at, 1);
        r->_pos = at + 1;
        r->_state = c == '{' ? ST_NAME_OR_END_OBJECT : ST_VALUE_OR_END_ARRAY;
        return 1;
    case '"': {
        bool esc;
        e = scan_string(p, n, at, &end, &esc, &err_at);
        if (e != AZK_JSON_OK)
            return fail(r, e, err_at);
        set_token(r, AZK_JSON_STRING, at, 0);
        r->token.slice.ptr = r->_in.ptr + at + 1;
        r->token.slice.len = end - at - 1;
        r->token.has_escapes = esc;
        r->_pos = end + 1;
        after_value(r);
        return 1;
    }
    case 't':
    case 'f':
    case 'n': {
        const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t k, len = strlen(lit);
        for (k = 0; k < len; k++) {
            if (at + k >= n)
                return fail(r, AZK_JSON_ERR_TRUNCATED, n);
            if (p[at + k] != (unsigned char)lit[k])
                return fail(r, AZK_JSON_ERR_BAD_LITERAL, at);
        }
        if (at + len < n && is_alnum(p[at + len]))
            return fail(r, AZK_JSON_ERR_BAD_LITERAL, at);
        set_token(r, c == 't' ? AZK_JSON_TRUE : c == 'f' ? AZK_JSON_FALSE : AZK_JSON_NULL, at,
                  len);
        r->_pos = at + len;
        after_value(r);
        return 1;
    }
    default:
        break;
    }
    if (c == '-' || is_digit(c)) {
        bool integer;
        e = scan_number(p, n, at, &end, &integer, &err_at);
        if (e != AZK_JSON_OK)
            return fail(r, e, err_at);
        set_token(r, AZK_JSON_NUMBER, at, end - at);
        r->_pos = end;
        after_value(r);
        return 1;
    }
    if (c == '+' || c == '.')
        return fail(r, AZK_JSON_ERR_BAD_NUMBER, at);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return fail(r, AZK_JSON_ERR_BAD_LITERAL, at);
    return fail(r, AZK_JSON_ERR_UNEXPECTED_CHAR, at);
}

static int read_name(struct azk_json_reader *r)
{
    const unsigned char *p = (const unsigned char *)r->_in.ptr;
    size_t n = r->_in.len, at = r->_pos, end = 0, err_at = 0, i;
    bool esc;
    enum azk_json_error e = scan_string(p, n, at, &end, &esc, &err_at);

    if (e != AZK_JSON_OK)
        return fail(r, e, err_at);
    i = end + 1;
    while (i < n && is_ws(p[i]))
        i++;
    if (i >= n)
        return fail(r, AZK_JSON_ERR_TRUNCATED, n);
    if (p[i] != ':')
        return fail(r, AZK_JSON_ERR_EXPECTED_COLON, i);
    set_token(r, AZK_JSON_PROPERTY_NAME, at, 0);
    r->token.slice.ptr = r->_in.ptr + at + 1;
    r->token.slice.len = end - at - 1;
    r->token.has_escapes = esc;
    r->_pos = i + 1;
    r->_state = ST_VALUE_AFTER_COLON;
    return 1;
}

AZK_API int azk_json_reader_init(struct azk_json_reader *r, struct azk_span json)
{
    if (!r || (!json.ptr && json.len))
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->_in = json;
    r->_state = ST_START;
    return 0;
}

AZK_API int azk_json_reader_next(struct azk_json_reader *r)
{
    const unsigned char *p;
    size_t n;

    if (!r)
        return -EINVAL;
    if (r->_state == ST_ERROR)
        return r->error == AZK_JSON_ERR_DEPTH ? -E2BIG : -EBADMSG;
    if (r->_state == ST_DONE) {
        r->token.kind = AZK_JSON_NONE;
        return 0;
    }
    p = (const unsigned char *)r->_in.ptr;
    n = r->_in.len;
    for (;;) {
        unsigned char c;
        while (r->_pos < n && is_ws(p[r->_pos]))
            r->_pos++;
        c = r->_pos < n ? p[r->_pos] : 0;
        switch (r->_state) {
        case ST_START:
        case ST_VALUE_AFTER_COLON:
            return read_value(r);
        case ST_VALUE_AFTER_COMMA:
            if (r->_pos < n && c == ']')
                return fail(r, AZK_JSON_ERR_TRAILING_COMMA, r->_pos);
            return read_value(r);
        case ST_VALUE_OR_END_ARRAY:
            if (r->_pos < n && (c == ']' || c == '}'))
                return read_end(r, c == '}');
            return read_value(r);
        case ST_NAME_OR_END_OBJECT:
        case ST_NAME_AFTER_COMMA:
            if (r->_pos >= n)
                return fail(r, AZK_JSON_ERR_TRUNCATED, n);
            if (c == '"')
                return read_name(r);
            if (c == '}' && r->_state == ST_NAME_AFTER_COMMA)
                return fail(r, AZK_JSON_ERR_TRAILING_COMMA, r->_pos);
            if (c == '}' || c == ']')
                return read_end(r, c == '}');
            return fail(r, AZK_JSON_ERR_EXPECTED_NAME, r->_pos);
        case ST_COMMA_OR_END:
            if (r->_pos >= n)
                return fail(r, AZK_JSON_ERR_TRUNCATED, n);
            if (c == ',') {
                r->_pos++;
                r->_state = top_is_object(r) ? ST_NAME_AFTER_COMMA : ST_VALUE_AFTER_COMMA;
                continue;
            }
            if (c == '}' || c == ']')
                return read_end(r, c == '}');
            return fail(r, AZK_JSON_ERR_UNEXPECTED_CHAR, r->_pos);
        case ST_EOF:
            if (r->_pos < n)
                return fail(r, AZK_JSON_ERR_TRAILING_DATA, r->_pos);
            r->_state = ST_DONE;
            r->token.kind = AZK_JSON_NONE;
            r->token.slice.ptr = r->_in.ptr ? r->_in.ptr + n : NULL;
            r->token.slice.len = 0;
            r->token.offset = n;
            return 0;
        default:
            return -EINVAL;
        }
    }
}

AZK_API int azk_json_reader_skip(struct azk_json_reader *r, struct azk_span *raw)
{
    size_t start;
    int rc;

    if (!r)
        return -EINVAL;
    if (raw) {
        raw->ptr = NULL;
        raw->len = 0;
    }
    if (r->_state == ST_ERROR)
        return r->error == AZK_JSON_ERR_DEPTH ? -E2BIG : -EBADMSG;
    if (r->token.kind == AZK_JSON_PROPERTY_NAME) {
        rc = azk_json_reader_next(r);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return -EINVAL;
    }
    switch (r->token.kind) {
    case AZK_JSON_NONE:
    case AZK_JSON_END_OBJECT:
    case AZK_JSON_END_ARRAY:
    case AZK_JSON_PROPERTY_NAME:
        return 0;
    default:
        break;
    }
    start = r->token.offset;
    if (r->token.kind == AZK_JSON_BEGIN_OBJECT || r->token.kind == AZK_JSON_BEGIN_ARRAY) {
        uint16_t target = (uint16_t)(r->_depth - 1u);
        do {
            rc = azk_json_reader_next(r);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return -EINVAL;
        } while (!(r->_depth == target && (r->token.kind == AZK_JSON_END_OBJECT ||
                                           r->token.kind == AZK_JSON_END_ARRAY)));
    }
    if (raw) {
        raw->ptr = r->_in.ptr + start;
        raw->len = r->_pos - start;
    }
    return 0;
}

AZK_API int azk_json_validate(struct azk_span json, enum azk_json_error *reason, size_t *offset)
{
    struct azk_json_reader r;
    int rc = azk_json_reader_init(&r, json);

    if (reason)
        *reason = AZK_JSON_OK;
    if (offset)
        *offset = 0;
    if (rc < 0)
        return rc;
    while ((rc = azk_json_reader_next(&r)) > 0)
        ;
    if (rc < 0) {
        if (reason)
            *reason = r.error;
        if (offset)
            *offset = r.error_offset;
    }
    return rc;
}

/* Decodes one character of escaped string contents at raw[*i] into out (1..4 bytes). Returns
 * the byte count or -1 for a malformed escape or surrogate. */
static int decode_one(const unsigned char *p, size_t n, size_t *i, unsigned char out[4])
{
    unsigned cp, lo;
    size_t err_at;

    if (p[*i] != '\\') {
        out[0] = p[(*i)++];
        return 1;
    }
    if (*i + 1 >= n)
        return -1;
    switch (p[*i + 1]) {
    case '"': out[0] = '"'; break;
    case '\\': out[0] = '\\'; break;
    case '/': out[0] = '/'; break;
    case 'b': out[0] = '\b'; break;
    case 'f': out[0] = '\f'; break;
    case 'n': out[0] = '\n'; break;
    case 'r': out[0] = '\r'; break;
    case 't': out[0] = '\t'; break;
    case 'u':
        if (hex4(p, n, *i + 2, &cp, &err_at) != AZK_JSON_OK)
            return -1;
        *i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (*i + 1 >= n || p[*i] != '\\' || p[*i + 1] != 'u' ||
                hex4(p, n, *i + 2, &lo, &err_at) != AZK_JSON_OK || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            *i += 6;
            cp = 0x10000u + ((cp - 0xD800u) << 10) + (lo - 0xDC00u);
        }
        if (cp < 0x80) {
            out[0] = (unsigned char)cp;
            return 1;
        }
        if (cp < 0x800) {
            out[0] = (unsigned char)(0xC0 | (cp >> 6));
            out[1] = (unsigned char)(0x80 | (cp & 0x3F));
            return 2;
        }
        if (cp < 0x10000) {
            out[0] = (unsigned char)(0xE0 | (cp >> 12));
            out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            out[2] = (unsigned char)(0x80 | (cp & 0x3F));
            return 3;
        }
        out[0] = (unsigned char)(0xF0 | (cp >> 18));
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F));
        return 4;
    default:
        return -1;
    }
    *i += 2;
    return 1;
}

AZK_API bool azk_json_string_eq_str(struct azk_span raw, const char *s)
{
    const unsigned char *p = (const unsigned char *)raw.ptr;
    size_t i = 0, j = 0, slen;

    if (!s || (!raw.ptr && raw.len))
        return false;
    slen = strlen(s);
    while (i < raw.len) {
        unsigned char b[4];
        int k = decode_one(p, raw.len, &i, b);
        if (k < 0 || (size_t)k > slen - j || memcmp(b, s + j, (size_t)k) != 0)
            return false;
        j += (size_t)k;
    }
    return j == slen;
}

AZK_API bool azk_json_token_eq_str(const struct azk_json_token *t, const char *s)
{
    if (!t || (t->kind != AZK_JSON_STRING && t->kind != AZK_JSON_PROPERTY_NAME))
        return false;
    return azk_json_string_eq_str(t->slice, s);
}

AZK_API int azk_json_string_unescape(struct azk_span raw, char *buf, size_t buf_size,
                                     size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)raw.ptr;
    size_t i = 0, len = 0;

    if (!out_len || (!buf && buf_size) || (!raw.ptr && raw.len))
        return -EINVAL;
    *out_len = 0;
    while (i < raw.len) {
        unsigned char b[4];
        int k = decode_one(p, raw.len, &i, b);
        if (k < 0)
            return -EBADMSG;
        if (len <= buf_size && (size_t)k <= buf_size - len)
            memcpy(buf + len, b, (size_t)k);
        len += (size_t)k; /* decoded text is never longer than raw, so no overflow */
    }
    *out_len = len;
    return len > buf_size ? -ENOBUFS : 0;
}

AZK_API int azk_json_token_unescape(const struct azk_json_token *t, char *buf, size_t buf_size,
                                    size_t *out_len)
{
    if (!t || (t->kind != AZK_JSON_STRING && t->kind != AZK_JSON_PROPERTY_NAME)) {
        if (out_len)
            *out_len = 0;
        return -EINVAL;
    }
    return azk_json_string_unescape(t->slice, buf, buf_size, out_len);
}

AZK_API int azk_json_number_to_int64(struct azk_span text, int64_t *out)
{
    const unsigned char *p = (const unsigned char *)text.ptr;
    size_t end = 0, err_at, i = 0;
    bool integer, neg;
    uint64_t mag = 0, limit;

    if (!out || (!text.ptr && text.len))
        return -EINVAL;
    if (text.len == 0)
        return -EBADMSG;
    if (scan_number(p, text.len, 0, &end, &integer, &err_at) != AZK_JSON_OK || end != text.len)
        return -EBADMSG;
    if (!integer)
        return -EDOM;
    neg = p[0] == '-';
    if (neg)
        i = 1;
    limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    /* scan_number() accepted the text, so only digits follow the sign. */
    struct azk_span digits = {(const char *)p + i, text.len - i};
    if (azki_dec_to_u64(digits, limit, &mag) != 0)
        return -ERANGE;
    if (neg)
        *out = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
    else
        *out = (int64_t)mag;
    return 0;
}

AZK_API int azk_json_token_get_int64(const struct azk_json_token *t, int64_t *out)
{
    if (!t || !out || t->kind != AZK_JSON_NUMBER)
        return -EINVAL;
    return azk_json_number_to_int64(t->slice, out);
}

AZK_API int azk_json_object_find(struct azk_span object, const char *name,
                                 struct azk_span *raw_value)
{
    struct azk_json_reader r;
    bool found = false;
    int rc;

    if (raw_value) {
        raw_value->ptr = NULL;
        raw_value->len = 0;
    }
    if (!name)
        return -EINVAL;
    rc = azk_json_reader_init(&r, object);
    if (rc < 0)
        return rc;
    rc = azk_json_reader_next(&r);
    if (rc < 0)
        return rc;
    if (r.token.kind != AZK_JSON_BEGIN_OBJECT)
        return -EBADMSG;
    for (;;) {
        rc = azk_json_reader_next(&r);
        if (rc < 0)
            return rc;
        if (r.token.kind == AZK_JSON_END_OBJECT)
            break;
        if (!found && azk_json_token_eq_str(&r.token, name)) {
            found = true;
            rc = azk_json_reader_skip(&r, raw_value);
        } else {
            rc = azk_json_reader_skip(&r, NULL);
        }
        if (rc < 0)
            return rc;
    }
    rc = azk_json_reader_next(&r);
    if (rc < 0)
        return rc;
    return found ? 0 : -ENOENT;
}

AZK_API const char *azk_json_error_str(enum azk_json_error err)
{
    switch (err) {
    case AZK_JSON_OK: return "no error";
    case AZK_JSON_ERR_EMPTY: return "no JSON value in the input";
    case AZK_JSON_ERR_TRUNCATED: return "input ends inside a JSON value";
    case AZK_JSON_ERR_UNEXPECTED_CHAR: return "unexpected character";
    case AZK_JSON_ERR_EXPECTED_NAME: return "expected a member name (a string)";
    case AZK_JSON_ERR_EXPECTED_COLON: return "expected ':' after a member name";
    case AZK_JSON_ERR_TRAILING_COMMA: return "trailing comma";
    case AZK_JSON_ERR_MISMATCHED_BRACKET: return "closing bracket does not match";
    case AZK_JSON_ERR_TRAILING_DATA: return "data after the JSON value";
    case AZK_JSON_ERR_BAD_LITERAL: return "invalid literal (expected true, false or null)";
    case AZK_JSON_ERR_BAD_NUMBER: return "invalid number";
    case AZK_JSON_ERR_LEADING_ZERO: return "number with a leading zero";
    case AZK_JSON_ERR_BAD_ESCAPE: return "invalid escape in a string";
    case AZK_JSON_ERR_BAD_SURROGATE: return "unpaired UTF-16 surrogate in a \\u escape";
    case AZK_JSON_ERR_CONTROL_CHAR: return "unescaped control character in a string";
    case AZK_JSON_ERR_BAD_UTF8: return "invalid UTF-8 in a string";
    case AZK_JSON_ERR_DEPTH: return "JSON nested too deeply";
    }
    return "unknown JSON error";
}

int azki_json__open_object(struct azk_json_reader *r, struct azk_span body)
{
    int rc = azk_json_reader_init(r, body);
    if (rc < 0)
        return rc;
    rc = azk_json_reader_next(r);
    if (rc < 0)
        return rc;
    return r->token.kind == AZK_JSON_BEGIN_OBJECT ? 0 : -EBADMSG;
}

int azki_json__close_document(struct azk_json_reader *r)
{
    int rc = azk_json_reader_next(r);
    return rc < 0 ? rc : rc == 0 ? 0 : -EBADMSG;
}

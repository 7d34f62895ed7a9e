/* JSON writer into a caller buffer: automatic commas, checked nesting, counts the size needed
 * when the buffer is too small, never writes past its end. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core_num.h"
#include "azkit/json.h"
#include "json_internal.h"

#define F_NEED_COMMA 0x01u /* the current container already has an element */
#define F_AFTER_NAME 0x02u /* a member name was written; its value must follow */
#define F_TOP_DONE 0x04u   /* the top-level value is complete */

static int set_err(struct azk_json_writer *w, int err)
{
    w->_err = err;
    return err;
}

static void put(struct azk_json_writer *w, const char *s, size_t n)
{
    if (w->_err)
        return;
    if (n > SIZE_MAX - w->_len) {
        set_err(w, -E2BIG);
        return;
    }
    if (w->_len < w->_size) {
        size_t avail = w->_size - w->_len;
        memcpy(w->_buf + w->_len, s, n < avail ? n : avail);
    }
    w->_len += n;
}

static bool in_object(const struct azk_json_writer *w)
{
    unsigned d = w->_depth - 1u;
    return w->_depth > 0 && ((w->_stack[d / 8] >> (d % 8)) & 1u);
}

/* Checks that a value may come now and writes the comma before it. */
static int before_value(struct azk_json_writer *w)
{
    if (w->_err)
        return w->_err;
    if (w->_depth == 0) {
        if (w->_flags & F_TOP_DONE)
            return set_err(w, -EINVAL);
    } else if (in_object(w)) {
        if (!(w->_flags & F_AFTER_NAME))
            return set_err(w, -EINVAL);
        w->_flags &= (uint8_t)~F_AFTER_NAME;
    } else if (w->_flags & F_NEED_COMMA) {
        put(w, ",", 1);
    }
    return 0;
}

static void after_value(struct azk_json_writer *w)
{
    if (w->_depth == 0)
        w->_flags |= F_TOP_DONE;
    else
        w->_flags |= F_NEED_COMMA;
}

static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
        } else {
            int k = azki_json__utf8_seq(p + i, n - i);
            if (k <= 0)
                return false;
            i += (size_t)k;
        }
    }
    return true;
}

static void put_escaped(struct azk_json_writer *w, struct azk_span s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i, run = 0;

    put(w, "\"", 1);
    for (i = 0; i < s.len; i++) {
        unsigned char c = p[i];
        char esc[6];
        size_t elen = 2;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s.ptr + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            elen = 6;
            break;
        }
        put(w, esc, elen);
    }
    put(w, s.ptr + run, s.len - run);
    put(w, "\"", 1);
}

AZK_API int azk_json_writer_init(struct azk_json_writer *w, char *buf, size_t buf_size)
{
    if (!w || (!buf && buf_size))
        return -EINVAL;
    memset(w, 0, sizeof(*w));
    w->_buf = buf;
    w->_size = buf_size;
    return 0;
}

static int begin(struct azk_json_writer *w, bool object)
{
    int rc;
    if (!w)
        return -EINVAL;
    rc = before_value(w);
    if (rc)
        return rc;
    if (w->_depth >= AZK_JSON_MAX_DEPTH)
        return set_err(w, -E2BIG);
    put(w, object ? "{" : "[", 1);
    if (object)
        w->_stack[w->_depth / 8] |= (uint8_t)(1u << (w->_depth % 8));
    else
        w->_stack[w->_depth / 8] &= (uint8_t) ~(1u << (w->_depth % 8));
    w->_depth++;
    w->_flags &= (uint8_t)~F_NEED_COMMA;
    return w->_err;
}

static int end(struct azk_json_writer *w, bool object)
{
    if (!w)
        return -EINVAL;
    if (w->_err)
        return w->_err;
    if (w->_depth == 0 || in_object(w) != object || (w->_flags & F_AFTER_NAME))
        return set_err(w, -EINVAL);
    put(w, object ? "}" : "]", 1);
    w->_depth--;
    after_value(w);
    return w->_err;
}

AZK_API int azk_json_writer_begin_object(struct azk_json_writer *w)
{
    return begin(w, true);
}

AZK_API int azk_json_writer_end_object(struct azk_json_writer *w)
{
    return end(w, true);
}

AZK_API int azk_json_writer_begin_array(struct azk_json_writer *w)
{
    return begin(w, false);
}

AZK_API int azk_json_writer_end_array(struct azk_json_writer *w)
{
    return end(w, false);
}

AZK_API int azk_json_writer_property_name(struct azk_json_writer *w, struct azk_span name)
{
    if (!w)
        return -EINVAL;
    if (w->_err)
        return w->_err;
    if (!in_object(w) || (w->_flags & F_AFTER_NAME) || (!name.ptr && name.len))
        return set_err(w, -EINVAL);
    if (!utf8_valid((const unsigned char *)name.ptr, name.len))
        return set_err(w, -EBADMSG);
    if (w->_flags & F_NEED_COMMA)
        put(w, ",", 1);
    put_escaped(w, name);
    put(w, ":", 1);
    w->_flags = (uint8_t)((w->_flags & ~F_NEED_COMMA) | F_AFTER_NAME);
    return w->_err;
}

AZK_API int azk_json_writer_string(struct azk_json_writer *w, struct azk_span value)
{
    int rc;
    if (!w)
        return -EINVAL;
    if (w->_err)
        return w->_err;
    if (!value.ptr && value.len)
        return set_err(w, -EINVAL);
    if (!utf8_valid((const unsigned char *)value.ptr, value.len))
        return set_err(w, -EBADMSG);
    rc = before_value(w);
    if (rc)
        return rc;
    put_escaped(w, value);
    after_value(w);
    return w->_err;
}

static int put_literal(struct azk_json_writer *w, const char *text, size_t len)
{
    int rc;
    if (!w)
        return -EINVAL;
    rc = before_value(w);
    if (rc)
        return rc;
    put(w, text, len);
    after_value(w);
    return w->_err;
}

AZK_API int azk_json_writer_int64(struct azk_json_writer *w, int64_t value)
{
    char tmp[AZKI_DEC_MAX];
    return put_literal(w, tmp, azki_i64_to_dec(value, tmp));
}

AZK_API int azk_json_writer_bool(struct azk_json_writer *w, bool value)
{
    return value ? put_literal(w, "true", 4) : put_literal(w, "false", 5);
}

AZK_API int azk_json_writer_null(struct azk_json_writer *w)
{
    return put_literal(w, "null", 4);
}

AZK_API int azk_json_writer_raw(struct azk_json_writer *w, struct azk_span json)
{
    struct azk_json_reader r;
    unsigned max_depth = 0;
    size_t start = 0, stop = 0;
    bool first = true;
    int rc;

    if (!w)
        return -EINVAL;
    if (w->_err)
        return w->_err;
    if (azk_json_reader_init(&r, json) < 0)
        return set_err(w, -EINVAL);
    while ((rc = azk_json_reader_next(&r)) > 0) {
        if (first) {
            start = r.token.offset;
            first = false;
        }
        if (r._depth > max_depth)
            max_depth = r._depth;
        stop = r._pos;
    }
    if (rc < 0)
        return set_err(w, rc);
    if (w->_depth + max_depth > AZK_JSON_MAX_DEPTH)
        return set_err(w, -E2BIG);
    rc = before_value(w);
    if (rc)
        return rc;
    put(w, json.ptr + start, stop - start);
    after_value(w);
    return w->_err;
}

AZK_API size_t azk_json_writer_remaining(const struct azk_json_writer *w)
{
    return w && w->_len < w->_size ? w->_size - w->_len : 0;
}

AZK_API size_t azk_json_writer_needed(const struct azk_json_writer *w)
{
    return w ? w->_len : 0;
}

AZK_API int azk_json_writer_finish(struct azk_json_writer *w, size_t *out_len)
{
    if (!w || !out_len)
        return -EINVAL;
    *out_len = 0;
    if (w->_err)
        return w->_err;
    if (w->_depth != 0 || !(w->_flags & F_TOP_DONE))
        return -EINVAL;
    *out_len = w->_len;
    return w->_len > w->_size ? -ENOBUFS : 0;
}

/* Query strings and property bags shared by the IoT Hub and DPS topics: percent-encoding, the
 * property iterator, request ids, and the small parsing helpers of azure_internal.h. */
#include "azure_internal.h"
#include "core_num.h"

static const char hex_digits[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

void azki_w_pct(struct azki_w *w, struct azk_span s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (unreserved(c)) {
            azki_w_char(w, (char)c);
        } else {
            char e[3] = {'%', hex_digits[c >> 4], hex_digits[c & 15]};
            azki_w_bytes(w, e, 3);
        }
    }
}

int azk_pct_encode(struct azk_span in, char *buf, size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || (in.ptr == NULL && in.len))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_pct(&w, in);
    return azki_w_done(&w, out_len);
}

/* Decodes the byte at s[*i] (advancing *i); -1 on a bad escape. */
static int decode_at(struct azk_span s, size_t *i)
{
    char c = s.ptr[*i];
    if (c != '%') {
        (*i)++;
        return (unsigned char)c;
    }
    if (s.len - *i < 3)
        return -1;
    int hi = azki_hex_digit(s.ptr[*i + 1]), lo = azki_hex_digit(s.ptr[*i + 2]);
    if (hi < 0 || lo < 0)
        return -1;
    *i += 3;
    return hi * 16 + lo;
}

int azk_pct_decode(struct azk_span in, char *buf, size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || (in.ptr == NULL && in.len))
        return -EINVAL;
    size_t n = 0;
    for (size_t i = 0; i < in.len;) {
        if (decode_at(in, &i) < 0)
            return -EBADMSG;
        n++;
    }
    *out_len = n;
    if (n > buf_size || (n && buf == NULL))
        return -ENOBUFS;
    /* Writing position never passes the reading position, so in-place decoding is fine. */
    size_t o = 0;
    for (size_t i = 0; i < in.len;)
        buf[o++] = (char)decode_at(in, &i);
    return 0;
}

bool azk_pct_equals(struct azk_span raw, const char *decoded)
{
    if (decoded == NULL || (raw.ptr == NULL && raw.len))
        return false;
    size_t j = 0;
    for (size_t i = 0; i < raw.len;) {
        int c = decode_at(raw, &i);
        if (c < 0 || decoded[j] == '\0' || (unsigned char)decoded[j] != c)
            return false;
        j++;
    }
    return decoded[j] == '\0';
}

void azk_prop_iter_init(struct azk_prop_iter *it, struct azk_span bag)
{
    if (it) {
        it->rest = bag;
        if (it->rest.ptr == NULL)
            it->rest.len = 0;
    }
}

/* Splits the next non-empty segment off `rest` without committing. */
static int peek(struct azk_span rest, struct azk_prop *p, size_t *consumed)
{
    size_t i = 0;
    while (i < rest.len && rest.ptr[i] == '&')
        i++;
    if (i == rest.len) {
        *consumed = i;
        return -ENOENT;
    }
    struct azk_span seg = azki_sp(rest.ptr + i, 0);
    size_t amp = azki_find(azki_skip(rest, i), '&');
    seg.len = amp;
    *consumed = i + amp;
    size_t eq = azki_find(seg, '=');
    p->key = azki_sp(seg.ptr, eq);
    p->has_value = eq < seg.len;
    p->value = p->has_value ? azki_sp(seg.ptr + eq + 1, seg.len - eq - 1) : azki_sp(seg.ptr, 0);
    if (!p->has_value)
        p->value.ptr = seg.ptr + seg.len;
    return eq == 0 ? -EBADMSG : 0;
}

int azk_prop_next(struct azk_prop_iter *it, struct azk_prop *raw)
{
    if (it == NULL || raw == NULL)
        return -EINVAL;
    size_t used;
    int rc = peek(it->rest, raw, &used);
    it->rest = azki_skip(it->rest, used);
    return rc;
}

int azk_prop_next_decoded(struct azk_prop_iter *it, char *key_buf, size_t key_size,
                          char *value_buf, size_t value_size, struct azk_prop *out)
{
    if (it == NULL || out == NULL)
        return -EINVAL;
    struct azk_prop raw;
    size_t used;
    int rc = peek(it->rest, &raw, &used);
    if (rc == -ENOENT) {
        it->rest = azki_skip(it->rest, used);
        return rc;
    }
    size_t kl = 0, vl = 0;
    int rk = rc == 0 ? azk_pct_decode(raw.key, NULL, 0, &kl) : rc;
    int rv = rc == 0 ? azk_pct_decode(raw.value, NULL, 0, &vl) : rc;
    if (rk == -EBADMSG || rv == -EBADMSG) {
        it->rest = azki_skip(it->rest, used);
        return -EBADMSG;
    }
    if (kl > key_size || vl > value_size || (kl && !key_buf) || (vl && !value_buf)) {
        out->key = azki_sp(NULL, kl);
        out->value = azki_sp(NULL, vl);
        out->has_value = raw.has_value;
        return -ENOBUFS;
    }
    azk_pct_decode(raw.key, key_buf, key_size, &kl);
    azk_pct_decode(raw.value, value_buf, value_size, &vl);
    out->key = azki_sp(key_buf, kl);
    out->value = azki_sp(value_buf, vl);
    out->has_value = raw.has_value;
    it->rest = azki_skip(it->rest, used);
    return 0;
}

int azk_prop_find(struct azk_span bag, const char *name, struct azk_prop *raw)
{
    if (name == NULL)
        return -EINVAL;
    struct azk_prop_iter it;
    struct azk_prop p;
    int rc;
    /* A key of L encoded bytes decodes to L/3 .. L bytes: most keys are told apart by their
     * length alone (the hub looks for a fault-injection key in every message). */
    size_t name_len = strlen(name);
    azk_prop_iter_init(&it, bag);
    while ((rc = azk_prop_next(&it, &p)) != -ENOENT) {
        if (rc != 0)
            return rc;
        if (p.key.len >= name_len && p.key.len / 3 <= name_len && azk_pct_equals(p.key, name)) {
            if (raw)
                *raw = p;
            return 0;
        }
    }
    return -ENOENT;
}

static int write_bag(struct azki_w *w, const struct azk_prop *props, size_t count)
{
    if (count && props == NULL)
        return -EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (props[i].key.len == 0 || props[i].key.ptr == NULL ||
            (props[i].value.ptr == NULL && props[i].value.len))
            return -EINVAL;
        if (i)
            azki_w_char(w, '&');
        azki_w_pct(w, props[i].key);
        if (props[i].has_value) {
            azki_w_char(w, '=');
            azki_w_pct(w, props[i].value);
        }
    }
    return 0;
}

int azk_prop_bag_build(const struct azk_prop *props, size_t count, char *buf, size_t buf_size,
                       size_t *out_len)
{
    if (out_len == NULL)
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    int rc = write_bag(&w, props, count);
    return rc ? rc : azki_w_done(&w, out_len);
}

int azki_w_bag(struct azki_w *w, const struct azk_prop *props, size_t count)
{
    return write_bag(w, props, count);
}

int azk_rid_next(uint32_t *counter, enum azk_rid_format format, char *buf, size_t buf_size,
                 size_t *out_len)
{
    if (counter == NULL || out_len == NULL ||
        (format != AZK_RID_DECIMAL && format != AZK_RID_HEX))
        return -EINVAL;
    uint32_t v = *counter + 1u;
    if (v == 0)
        v = 1;
    char tmp[10];
    size_t n = 0;
    unsigned base = format == AZK_RID_HEX ? 16u : 10u;
    uint32_t x = v;
    do {
        tmp[sizeof(tmp) - 1 - n++] = "0123456789abcdef"[x % base];
        x /= base;
    } while (x);
    *out_len = n;
    if (n > buf_size || buf == NULL)
        return -ENOBUFS;
    memcpy(buf, tmp + sizeof(tmp) - n, n);
    *counter = v;
    return 0;
}

bool azki_token_ok(struct azk_span s)
{
    if (s.len == 0 || s.len > 128 || s.ptr == NULL)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '&' || c == '=' || c == '#' || c == '+' ||
            c == '/' || c == '?')
            return false;
    }
    return true;
}

bool azk_rid_is_valid(struct azk_span rid)
{
    return azki_token_ok(rid);
}

int azki_parse_u64(struct azk_span s, uint64_t max, uint64_t *out)
{
    return azki_dec_to_u64(s, max, out);
}

int azki_parse_int(struct azk_span s, int *out)
{
    bool neg = s.len && s.ptr[0] == '-';
    uint64_t v;
    if (azki_parse_u64(neg ? azki_skip(s, 1) : s, neg ? (uint64_t)INT_MAX + 1u : INT_MAX, &v))
        return -EBADMSG;
    *out = neg ? (int)(-(int64_t)v) : (int)v;
    return 0;
}

int azki_split_status_query(struct azk_span rest, int *status, struct azk_span *query)
{
    size_t slash = azki_find(rest, '/');
    if (slash == rest.len || slash + 1 >= rest.len || rest.ptr[slash + 1] != '?')
        return -EBADMSG;
    if (azki_parse_int(azki_sp(rest.ptr, slash), status))
        return -EBADMSG;
    *query = azki_skip(rest, slash + 2);
    return 0;
}

static int take(struct azk_span *dst, bool *has, const struct azk_prop *p)
{
    if (*has)
        return -EBADMSG;
    *dst = p->value;
    *has = true;
    return 0;
}

int azki_topic_query_parse(struct azk_span query, struct azki_topic_query *q)
{
    memset(q, 0, sizeof(*q));
    struct azk_prop_iter it;
    struct azk_prop p;
    int rc;
    azk_prop_iter_init(&it, query);
    while ((rc = azk_prop_next(&it, &p)) != -ENOENT) {
        if (rc != 0)
            return -EBADMSG;
        if (azk_pct_equals(p.key, "$rid"))
            rc = take(&q->rid, &q->has_rid, &p);
        else if (azk_pct_equals(p.key, "$version"))
            rc = take(&q->version, &q->has_version, &p);
        else if (azk_pct_equals(p.key, "retry-after"))
            rc = take(&q->retry_after, &q->has_retry_after, &p);
        else if (azk_pct_equals(p.key, "operationId"))
            rc = take(&q->operation_id, &q->has_operation_id, &p);
        if (rc)
            return rc;
    }
    return 0;
}

static bool has_wildcard(struct azk_span s)
{
    return azki_find(s, '+') < s.len || azki_find(s, '#') < s.len;
}

int azki_check_topic_device(struct azk_span seg, struct azk_span connected)
{
    bool same = connected.len > 0 && azk_span_eq(seg, connected);
    if (has_wildcard(seg) && !same)
        return -EBADMSG;
    if (azk_device_id_validate(seg, NULL))
        return -EBADMSG;
    if (connected.len && !same)
        return -EACCES;
    return 0;
}

int azki_w_device_messages(struct azki_w *w, struct azk_span device_id, const char *kind,
                          char *buf, size_t buf_size, const size_t *out_len,
                          struct azk_id_error *err)
{
    if (out_len == NULL || azk_device_id_validate(device_id, err))
        return -EINVAL;
    azki_w_init(w, buf, buf_size);
    azki_w_lit(w, "devices/");
    azki_w_span(w, device_id);
    azki_w_lit(w, "/messages/");
    azki_w_lit(w, kind);
    return 0;
}

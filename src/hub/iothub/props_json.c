/* Property bag -> application and system properties as JSON text, written directly: every
 * stored message goes through here, and building and printing cJSON trees cost about a fifth
 * of the hub's instructions per message at an in-flight window of 16. */
#include "hub/iothub/props_json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_hub.h"

#define KEY_MAX 511
#define VALUE_MAX 4095

/* `$.xx` system property keys and the names Azure gives them. */
static const struct {
    const char *key, *name;
} sys_names[] = {
    {"$.mid", "message-id"},       {"$.cid", "correlation-id"},
    {"$.ct", "content-type"},      {"$.ce", "content-encoding"},
    {"$.uid", "user-id"},          {"$.to", "to"},
    {"$.exp", "absolute-expiry-time"}, {"$.ctime", "iothub-creation-time-utc"},
    {"$.ifid", "iothub-interface-id"}, {"$.on", "output-name"},
};

struct entry {
    struct azk_span name, value;
    bool has_value, sys, dead;
};

struct list {
    struct entry *v, local[16];
    size_t n, cap;
};

static bool span_is(struct azk_span s, const char *str)
{
    size_t n = strlen(str);
    return s.len == n && memcmp(s.ptr, str, n) == 0;
}

/* Azure's name of a system property key, the key itself for other `$.` and iothub-* keys, or
 * an empty span for an application property. */
static struct azk_span system_name(struct azk_span key)
{
    for (size_t i = 0; i < sizeof sys_names / sizeof sys_names[0]; i++)
        if (span_is(key, sys_names[i].key))
            return azk_span_from_str(sys_names[i].name);
    if ((key.len >= 2 && memcmp(key.ptr, "$.", 2) == 0) ||
        (key.len >= 7 && memcmp(key.ptr, "iothub-", 7) == 0))
        return key;
    return (struct azk_span){NULL, 0};
}

/* Adds an entry; an earlier one of the same object and name is dropped. 0 or -ENOMEM. */
static int add(struct list *l, struct entry e)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].dead && l->v[i].sys == e.sys && l->v[i].name.len == e.name.len &&
            memcmp(l->v[i].name.ptr, e.name.ptr, e.name.len) == 0)
            l->v[i].dead = true;
    if (l->n == l->cap) {
        size_t cap = l->cap * 2;
        struct entry *v = malloc(cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        memcpy(v, l->v, l->n * sizeof *v);
        if (l->v != l->local)
            free(l->v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
    return 0;
}

/* Bytes a JSON string cannot hold as they are: control characters, '"' and '\\'. */
#define ESC16 true, true, true, true, true, true, true, true, true, true, true, true, true, true, \
              true, true
static const bool needs_escape[256] = {ESC16, ESC16, ['"'] = true, ['\\'] = true};

/* Writes s as a JSON string; out has room for 2 + 6 * s.len bytes. Runs of bytes that need
 * no escape are copied at once. Not azk_json_writer_string: that refuses bytes that are not
 * UTF-8, and a device's property values have always been stored as sent. */
static char *put_string(char *o, struct azk_span s)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    size_t i = 0;
    while (i < s.len) {
        size_t run = i;
        while (run < s.len && !needs_escape[(unsigned char)s.ptr[run]])
            run++;
        memcpy(o, s.ptr + i, run - i);
        o += run - i;
        if (run == s.len)
            break;
        unsigned char ch = (unsigned char)s.ptr[run];
        const char *esc = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\b' ? "\\b"
                        : ch == '\f' ? "\\f" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r"
                        : ch == '\t' ? "\\t" : NULL;
        if (esc != NULL) {
            *o++ = esc[0];
            *o++ = esc[1];
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[ch >> 4];
            o[5] = hex[ch & 15];
            o += 6;
        }
        i = run + 1;
    }
    *o++ = '"';
    return o;
}

/* The object of the live entries with sys == want, heap, or NULL when out of memory. */
static char *print_object(const struct list *l, bool want)
{
    size_t size = 3;
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].dead && l->v[i].sys == want)
            size += 6 * (l->v[i].name.len + l->v[i].value.len) + 8;
    char *out = malloc(size), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < l->n; i++) {
        const struct entry *e = &l->v[i];
        if (e->dead || e->sys != want)
            continue;
        if (o != out + 1)
            *o++ = ',';
        o = put_string(o, e->name);
        *o++ = ':';
        if (e->has_value) {
            o = put_string(o, e->value);
        } else {
            memcpy(o, "null", 4);
            o += 4;
        }
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

/* Percent-decodes `raw` into `dst` (room for raw.len bytes) in one pass: 0 with *out the
 * decoded text, or -EBADMSG for a bad escape (a '%' not followed by two hex digits; dst then
 * holds part of the text). The runs between escapes are copied at once, so a key or value
 * without any costs one memchr and a copy; azk_pct_decode sees only the escapes (over a whole
 * text it checks everything before writing anything, twice the work, and the caller drops the
 * text on any error anyway). */
static int decode_into(struct azk_span raw, char *dst, struct azk_span *out)
{
    size_t i = 0, o = 0;
    while (i < raw.len) {
        const char *pct = memchr(raw.ptr + i, '%', raw.len - i);
        size_t end = pct ? (size_t)(pct - raw.ptr) : raw.len;
        memcpy(dst + o, raw.ptr + i, end - i);
        o += end - i;
        if (!pct)
            break;
        size_t one = 0; /* the escape alone: "%XX" -> one byte */
        if (raw.len - end < 3 ||
            azk_pct_decode((struct azk_span){raw.ptr + end, 3}, dst + o, 1, &one) != 0)
            return -EBADMSG;
        o += one;
        i = end + 3;
    }
    *out = (struct azk_span){dst, o};
    return 0;
}

int hub_props_json(struct azk_span bag, const struct hub_sys_prop *extra, size_t nadd,
                   char **app_json, char **sys_json)
{
    *app_json = *sys_json = NULL;
    /* Decoded text never outgrows its encoding: the bag's size holds every key and value. */
    char local_text[1024];
    char *text = bag.len <= sizeof local_text ? local_text : malloc(bag.len);
    struct list l = {.n = 0};
    l.v = l.local;
    l.cap = sizeof l.local / sizeof l.local[0];
    int rc = text != NULL ? 0 : -ENOMEM;
    size_t used = 0;
    struct azk_prop_iter it;
    azk_prop_iter_init(&it, bag);
    while (rc == 0) {
        struct azk_prop p;
        int r = azk_prop_next(&it, &p);
        if (r == -ENOENT)
            break;
        struct azk_span k, v;
        if (r != 0 || decode_into(p.key, text + used, &k) != 0 ||
            decode_into(p.value, text + used + k.len, &v) != 0) {
            rc = -EBADMSG;
            break;
        }
        if (k.len > KEY_MAX || v.len > VALUE_MAX) {
            rc = -EMSGSIZE;
            break;
        }
        used += k.len + v.len;
        /* A name or value ends at a NUL (%00), as C strings do everywhere the hub reads them:
         * otherwise "iothub-connection-device-id%00x" would be a second member that readers
         * cut to the hub's own name. */
        struct entry e = {.name = {k.ptr, strnlen(k.ptr, k.len)},
                          .value = {v.ptr, strnlen(v.ptr, v.len)},
                          .has_value = p.has_value};
        struct azk_span sname = system_name(e.name);
        if (sname.ptr != NULL) {
            e.sys = true;
            e.name = sname;
        }
        rc = add(&l, e);
    }
    for (size_t i = 0; rc == 0 && i < nadd; i++)
        rc = add(&l, (struct entry){azk_span_from_str(extra[i].name),
                                    azk_span_from_str(extra[i].value), true, true, false});
    if (rc == 0) {
        *app_json = print_object(&l, false);
        *sys_json = print_object(&l, true);
        if (*app_json == NULL || *sys_json == NULL) {
            free(*app_json);
            free(*sys_json);
            *app_json = *sys_json = NULL;
            rc = -ENOMEM;
        }
    }
    if (text != local_text)
        free(text);
    if (l.v != l.local)
        free(l.v);
    return rc;
}

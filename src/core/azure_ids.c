/* Azure's naming rules for device ids and DPS registration ids, in one place. */
#include "core_num.h"
#include "azkit/azure_ids.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool device_char(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr(AZK_DEVICE_ID_SPECIALS, c) != NULL);
}

static bool registration_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == ':';
}

static int check(struct azk_span id, size_t max, bool (*allowed)(unsigned char),
                 const char *rule, struct azk_id_error *err)
{
    struct azk_id_error e = {AZK_ID_OK, rule, 0, 0};
    if (id.len == 0 || id.ptr == NULL) {
        e.problem = AZK_ID_EMPTY;
    } else if (id.len > max) {
        e.problem = AZK_ID_TOO_LONG;
        e.index = id.len;
    } else {
        for (size_t i = 0; i < id.len; i++) {
            unsigned char c = (unsigned char)id.ptr[i];
            if (!allowed(c)) {
                e.problem = AZK_ID_BAD_CHAR;
                e.index = i;
                e.byte = c;
                break;
            }
        }
    }
    if (err)
        *err = e;
    return e.problem == AZK_ID_OK ? 0 : -EINVAL;
}

int azk_device_id_validate(struct azk_span id, struct azk_id_error *err)
{
    return check(id, AZK_DEVICE_ID_MAX, device_char, AZK_DEVICE_ID_RULE, err);
}

int azk_registration_id_validate(struct azk_span id, struct azk_id_error *err)
{
    return check(id, AZK_REGISTRATION_ID_MAX, registration_char, AZK_REGISTRATION_ID_RULE, err);
}

/* A tiny bounded text builder (no printf in the core). */
struct text {
    char *buf;
    size_t size;
    size_t len;
};

static void put(struct text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, t->len++)
        if (t->size > 0 && t->len < t->size - 1)
            t->buf[t->len] = s[i];
}

static void put_str(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_size(struct text *t, size_t v)
{
    char tmp[AZKI_DEC_MAX];
    put(t, tmp, azki_u64_to_dec((uint64_t)v, tmp));
}

size_t azk_id_error_format(const struct azk_id_error *err, char *buf, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    struct text t = {buf, buf ? size : 0, 0};
    const char *rule = err && err->rule ? err->rule : "";
    if (err == NULL || err->problem == AZK_ID_OK) {
        put_str(&t, "the id is valid");
    } else if (err->problem == AZK_ID_EMPTY) {
        put_str(&t, "the id is empty; ");
        put_str(&t, rule);
    } else if (err->problem == AZK_ID_TOO_LONG) {
        put_str(&t, "the id is ");
        put_size(&t, err->index);
        put_str(&t, " characters long; ");
        put_str(&t, rule);
    } else {
        unsigned char c = err->byte;
        if (c > 0x20 && c < 0x7f) {
            char q[3] = {'\'', (char)c, '\''};
            put(&t, q, 3);
        } else if (c == ' ') {
            put_str(&t, "a space");
        } else {
            char b[2] = {hex[c >> 4], hex[c & 15]};
            put_str(&t, "byte 0x");
            put(&t, b, 2);
        }
        put_str(&t, " at position ");
        put_size(&t, err->index + 1);
        put_str(&t, " is not allowed; ");
        put_str(&t, rule);
    }
    if (t.size > 0)
        t.buf[t.len < t.size ? t.len : t.size - 1] = '\0';
    return t.len;
}

static int check_str(const char *id, char *why, size_t why_len,
                     int (*validate)(struct azk_span, struct azk_id_error *))
{
    struct azk_id_error e;
    int rc = validate(azk_span_from_str(id), &e);
    if (why && why_len) {
        if (rc == 0)
            why[0] = '\0';
        else
            azk_id_error_format(&e, why, why_len);
    }
    return rc;
}

int azk_device_id_check(const char *id, char *why, size_t why_len)
{
    return check_str(id, why, why_len, azk_device_id_validate);
}

int azk_registration_id_check(const char *id, char *why, size_t why_len)
{
    return check_str(id, why, why_len, azk_registration_id_validate);
}

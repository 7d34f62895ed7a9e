/* Range, If-Range and If-None-Match of the firmware image server (fota_http.h). */
#include "hub/fota/fota_http.h"

#include <string.h>
#include <strings.h>

static const char *skip_sp(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Decimal digits into *v (no overflow past 2^63); the end, or NULL when none or too big. */
static const char *number(const char *p, uint64_t *v)
{
    const char *s = p;
    uint64_t n = 0;
    while (*p >= '0' && *p <= '9') {
        if (n > (UINT64_MAX / 2 - 9) / 10)
            return NULL;
        n = n * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s)
        return NULL;
    *v = n;
    return p;
}

enum hub_fota_range hub_fota_range_parse(const char *value, uint64_t total, uint64_t *first,
                                         uint64_t *last)
{
    if (value == NULL)
        return HUB_FOTA_RANGE_FULL;
    const char *p = skip_sp(value);
    if (strncasecmp(p, "bytes", 5) != 0)
        return HUB_FOTA_RANGE_FULL;
    p = skip_sp(p + 5);
    if (*p != '=')
        return HUB_FOTA_RANGE_FULL;
    p = skip_sp(p + 1);
    uint64_t a = 0, b = 0;
    bool suffix = false, open = false;
    if (*p == '-') {
        suffix = true;
        if ((p = number(p + 1, &b)) == NULL)
            return HUB_FOTA_RANGE_FULL;
    } else {
        if ((p = number(p, &a)) == NULL || *p != '-')
            return HUB_FOTA_RANGE_FULL;
        p++;
        if (*p >= '0' && *p <= '9') {
            if ((p = number(p, &b)) == NULL || b < a)
                return HUB_FOTA_RANGE_FULL;
        } else {
            open = true;
        }
    }
    p = skip_sp(p);
    if (*p != '\0')
        return HUB_FOTA_RANGE_FULL; /* several ranges, or trailing garbage: ignored */
    if (suffix) {
        if (b == 0 || total == 0)
            return HUB_FOTA_RANGE_UNSATISFIABLE;
        *first = b >= total ? 0 : total - b;
        *last = total - 1;
        return HUB_FOTA_RANGE_PARTIAL;
    }
    if (a >= total)
        return HUB_FOTA_RANGE_UNSATISFIABLE;
    *first = a;
    *last = open || b >= total ? total - 1 : b;
    return HUB_FOTA_RANGE_PARTIAL;
}

/* One entity tag at *pp ([W/]"..."): its opaque part (with quotes) in *tag and *len; false
 * when malformed. */
static bool one_tag(const char **pp, bool *is_weak, const char **tag, size_t *len)
{
    const char *p = *pp;
    *is_weak = false;
    if (p[0] == 'W' && p[1] == '/') {
        *is_weak = true;
        p += 2;
    }
    if (*p != '"')
        return false;
    const char *e = strchr(p + 1, '"');
    if (e == NULL)
        return false;
    *tag = p;
    *len = (size_t)(e - p) + 1;
    *pp = e + 1;
    return true;
}

bool hub_fota_etag_match(const char *value, const char *etag, bool weak)
{
    if (value == NULL)
        return false;
    const char *p = skip_sp(value);
    if (*p == '*')
        return *skip_sp(p + 1) == '\0';
    size_t elen = strlen(etag);
    bool matched = false;
    for (;;) {
        bool w;
        const char *t;
        size_t l;
        if (!one_tag(&p, &w, &t, &l))
            return false;
        if ((weak || !w) && l == elen && memcmp(t, etag, l) == 0)
            matched = true;
        p = skip_sp(p);
        if (*p == '\0')
            return matched;
        if (*p != ',')
            return false;
        p = skip_sp(p + 1);
    }
}

bool hub_fota_if_range_ok(const char *value, const char *etag)
{
    if (value == NULL)
        return true;
    const char *p = skip_sp(value);
    bool w;
    const char *t;
    size_t l;
    if (!one_tag(&p, &w, &t, &l) || w || *skip_sp(p) != '\0')
        return false; /* a date (we send no Last-Modified) or a weak or bad tag */
    return l == strlen(etag) && memcmp(t, etag, l) == 0;
}

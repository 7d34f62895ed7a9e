/* Documented command output against real output: masking and matching (doc_compare.h). */
#define _GNU_SOURCE
#include "doc_compare.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slack for the size of a certificate chain (see doc_compare.h). */
#define CHAIN_SIZE_SLACK 24

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Length of a date ("2026-11-27") or timestamp ("2026-11-27T03:36:31Z") at s, or 0. */
static size_t date_len(const char *s, bool *stamp)
{
    if (!(digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' && digits(s + 8, 2)))
        return 0;
    *stamp = s[10] == 'T' && digits(s + 11, 2) && s[13] == ':' && digits(s + 14, 2) &&
             s[16] == ':' && digits(s + 17, 2) && s[19] == 'Z';
    return *stamp ? 20 : 10;
}

static bool b64char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '/';
}

char *azk_doc_mask(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len + 1 > 8 ? 2 * len + 8 : 16);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        bool at_word = i == 0 || !b64char(s[i - 1]);
        bool stamp = false;
        size_t d = at_word ? date_len(s + i, &stamp) : 0;
        if (d) {
            o += (size_t)sprintf(out + o, stamp ? "<TIME>" : "<DATE>");
            i += d;
            continue;
        }
        if (at_word) {
            size_t h = 0, b = 0;
            bool lower = false, upper = false;
            while (isxdigit((unsigned char)s[i + h]))
                h++;
            while (b64char(s[i + b]) || s[i + b] == '=') {
                lower |= islower((unsigned char)s[i + b]) != 0;
                upper |= isupper((unsigned char)s[i + b]) != 0;
                b++;
            }
            if (h >= 16 && h == b) {
                o += (size_t)sprintf(out + o, "<HEX>");
                i += h;
                continue;
            }
            if (b >= 20 && lower && upper) {
                o += (size_t)sprintf(out + o, "<B64>");
                i += b;
                continue;
            }
        }
        out[o++] = s[i++];
    }
    out[o] = '\0';
    return out;
}

/* Equal text, except that digit runs (sizes) on a line about a client certificate may differ
 * by the chain slack. */
static bool line_equal(const char *d, size_t dn, const char *r, size_t rn)
{
    if (dn == rn && memcmp(d, r, dn) == 0)
        return true;
    bool chain = memmem(r, rn, "CLIENT_CERT", 11) != NULL;
    size_t i = 0, j = 0;
    while (i < dn && j < rn) {
        if (chain && isdigit((unsigned char)d[i]) && isdigit((unsigned char)r[j])) {
            long a = 0, b = 0;
            while (i < dn && isdigit((unsigned char)d[i]))
                a = a * 10 + (d[i++] - '0');
            while (j < rn && isdigit((unsigned char)r[j]))
                b = b * 10 + (r[j++] - '0');
            if (labs(a - b) > (a >= 100 ? CHAIN_SIZE_SLACK : 0))
                return false;
            continue;
        }
        if (d[i++] != r[j++])
            return false;
    }
    return i == dn && j == rn;
}

/* One documented line against one real line (both masked). */
static bool line_matches(const char *d, size_t dn, const char *r, size_t rn)
{
    if (dn > 3 && memcmp(d + dn - 3, "...", 3) == 0)
        return rn >= dn - 3 && memcmp(d, r, dn - 3) == 0;
    return line_equal(d, dn, r, rn);
}

struct lines {
    char **v;
    size_t *len;
    size_t n;
};

static void split(char *s, struct lines *l)
{
    l->n = 0;
    size_t cap = 16;
    l->v = malloc(cap * sizeof(*l->v));
    l->len = malloc(cap * sizeof(*l->len));
    for (char *p = s; *p;) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (l->n == cap) {
            cap *= 2;
            l->v = realloc(l->v, cap * sizeof(*l->v));
            l->len = realloc(l->len, cap * sizeof(*l->len));
        }
        l->v[l->n] = p;
        l->len[l->n++] = n;
        p = nl ? nl + 1 : p + n;
    }
}

static bool only_dots(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    return n == 3 && memcmp(s, "...", 3) == 0;
}

/* Matches doc lines [i..] against real lines [j..]; `*worst` records the furthest doc line
 * reached, for the message. */
static bool match_from(const struct lines *d, size_t i, const struct lines *r, size_t j,
                       bool open_end, size_t *worst)
{
    if (i > *worst)
        *worst = i;
    if (i == d->n)
        return open_end || j == r->n;
    if (only_dots(d->v[i], d->len[i])) {
        for (size_t k = j; k <= r->n; k++)
            if (match_from(d, i + 1, r, k, open_end, worst))
                return true;
        return false;
    }
    return j < r->n && line_matches(d->v[i], d->len[i], r->v[j], r->len[j]) &&
           match_from(d, i + 1, r, j + 1, open_end, worst);
}

bool azk_doc_text_matches(const char *doc, const char *real, bool excerpt, char *why, size_t n)
{
    char *md = azk_doc_mask(doc), *mr = azk_doc_mask(real);
    struct lines d, r;
    split(md, &d);
    split(mr, &r);
    size_t worst = 0;
    bool ok = false;
    for (size_t start = 0; !ok && start <= (excerpt ? r.n : 0); start++)
        ok = match_from(&d, 0, &r, start, excerpt, &worst);
    if (!ok) {
        if (worst < d.n)
            snprintf(why, n, "no match for documented line %zu: %.*s", worst + 1,
                     (int)d.len[worst], d.v[worst]);
        else
            snprintf(why, n, "the tool prints more lines than the docs show");
    }
    free(d.v);
    free(d.len);
    free(r.v);
    free(r.len);
    free(md);
    free(mr);
    return ok;
}

static bool is_dots_element(const cJSON *e)
{
    if (cJSON_IsString(e))
        return strcmp(e->valuestring, "...") == 0;
    return cJSON_IsObject(e) && cJSON_GetArraySize(e) == 1 &&
           cJSON_GetObjectItem(e, "...") != NULL;
}

/* A documented string (masked) against a real one: pieces between "..." must appear in
 * order, the first at the start and the last at the end. */
static bool string_matches(const char *doc, const char *real)
{
    char *md = azk_doc_mask(doc), *mr = azk_doc_mask(real);
    bool ok;
    const char *dots = strstr(md, "...");
    if (dots == NULL) {
        ok = strcmp(md, mr) == 0;
    } else {
        size_t pre = (size_t)(dots - md);
        ok = strncmp(md, mr, pre) == 0;
        const char *at = mr + pre, *piece = dots + 3;
        while (ok) {
            const char *next = strstr(piece, "...");
            if (next == NULL) {
                size_t pl = strlen(piece), rl = strlen(at);
                ok = rl >= pl && strcmp(at + rl - pl, piece) == 0;
                break;
            }
            char *p = strndup(piece, (size_t)(next - piece));
            const char *f = strstr(at, p);
            ok = f != NULL;
            at = f ? f + strlen(p) : at;
            free(p);
            piece = next + 3;
        }
    }
    free(md);
    free(mr);
    return ok;
}

static bool json_at(const cJSON *d, const cJSON *r, const cJSON *parent, const char *path,
                    char *why, size_t n)
{
    if (cJSON_IsString(d) && cJSON_IsString(r)) {
        if (string_matches(d->valuestring, r->valuestring))
            return true;
        snprintf(why, n, "%s: the docs show \"%s\", the tool prints \"%s\"", path,
                 d->valuestring, r->valuestring);
        return false;
    }
    if (cJSON_IsString(d) && strcmp(d->valuestring, "...") == 0)
        return true;
    if ((d->type & 0xFF) != (r->type & 0xFF)) {
        snprintf(why, n, "%s: the docs show another JSON type than the tool prints", path);
        return false;
    }
    if (cJSON_IsNumber(d)) {
        const cJSON *type = parent ? cJSON_GetObjectItem(parent, "type") : NULL;
        double slack = d->string && strcmp(d->string, "size") == 0 && cJSON_IsNumber(type) &&
                       type->valueint == 1 ? CHAIN_SIZE_SLACK : 0;
        if (d->valuedouble - r->valuedouble > slack || r->valuedouble - d->valuedouble > slack) {
            snprintf(why, n, "%s: the docs show %g, the tool prints %g", path, d->valuedouble,
                     r->valuedouble);
            return false;
        }
        return true;
    }
    char sub[512];
    if (cJSON_IsArray(d)) {
        int dn = cJSON_GetArraySize(d), rn = cJSON_GetArraySize(r);
        for (int i = 0; i < dn; i++) {
            const cJSON *de = cJSON_GetArrayItem(d, i);
            if (is_dots_element(de))
                return true;
            if (i >= rn) {
                snprintf(why, n, "%s: the docs show %d elements, the tool prints %d", path, dn,
                         rn);
                return false;
            }
            snprintf(sub, sizeof(sub), "%s[%d]", path, i);
            if (!json_at(de, cJSON_GetArrayItem(r, i), r, sub, why, n))
                return false;
        }
        if (rn > dn) {
            snprintf(why, n, "%s: the docs show %d elements, the tool prints %d", path, dn, rn);
            return false;
        }
        return true;
    }
    if (cJSON_IsObject(d)) {
        bool partial = cJSON_GetObjectItem(d, "...") != NULL;
        const cJSON *it;
        cJSON_ArrayForEach(it, d) {
            if (strcmp(it->string, "...") == 0)
                continue;
            const cJSON *ri = cJSON_GetObjectItemCaseSensitive(r, it->string);
            if (ri == NULL) {
                snprintf(why, n, "%s: the docs show \"%s\", which the tool does not print",
                         path, it->string);
                return false;
            }
            snprintf(sub, sizeof(sub), "%s.%s", path, it->string);
            if (!json_at(it, ri, d, sub, why, n))
                return false;
        }
        cJSON_ArrayForEach(it, r)
            if (!partial && cJSON_GetObjectItemCaseSensitive(d, it->string) == NULL) {
                snprintf(why, n, "%s: the tool prints \"%s\", which the docs do not show", path,
                         it->string);
                return false;
            }
        return true;
    }
    if (cJSON_IsBool(d) || cJSON_IsNull(d)) {
        if ((d->type & 0xFF) == (r->type & 0xFF))
            return true;
    }
    snprintf(why, n, "%s: values differ", path);
    return false;
}

bool azk_doc_json_matches(const cJSON *doc, const cJSON *real, char *why, size_t n)
{
    return json_at(doc, real, NULL, "$", why, n);
}

/* AT reply parsing for the nRF91 backend (at_reply.h). */
#include "cred/at_reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/cred_nrf91.h"

void azki_at_reply_init(struct azki_at_reply *r)
{
    r->buf = NULL;
    r->len = r->cap = r->ll = 0;
    r->done = false;
    r->result = 0;
    r->cme = -1;
    r->quoted = r->partial = false;
}

void azki_at_reply_free(struct azki_at_reply *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

static int append(struct azki_at_reply *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (b == NULL)
            return -ENOMEM;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return 0;
}

/* The CME code after "+CME ERROR:": digits, capped so that it cannot overflow. */
static int cme_code(const char *s)
{
    while (*s == ' ')
        s++;
    int v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v < 100000 ? v * 10 + (*s - '0') : v;
    return v;
}

/* A complete line (not inside quotes). Returns 1 for a final result, 0, or -ENOMEM. */
static int end_line(struct azki_at_reply *r)
{
    const char *line = r->line;
    size_t ll = r->ll;
    r->ll = 0;
    if (r->partial) { /* the rest of a long information line */
        r->partial = false;
        return append(r, line, ll) != 0 || append(r, "\n", 1) != 0 ? -ENOMEM : 0;
    }
    if (ll == 0)
        return 0;
    if (ll == 2 && memcmp(line, "OK", 2) == 0) {
        r->result = 0;
        return 1;
    }
    if (ll == 5 && memcmp(line, "ERROR", 5) == 0) {
        r->result = -EIO;
        return 1;
    }
    if (ll >= 11 && memcmp(line, "+CME ERROR:", 11) == 0) {
        r->line[ll] = '\0';
        r->cme = cme_code(line + 11);
        r->result = azk_nrf91_cme_errno(r->cme);
        return 1;
    }
    return append(r, line, ll) != 0 || append(r, "\n", 1) != 0 ? -ENOMEM : 0;
}

int azki_at_reply_feed(struct azki_at_reply *r, const char *p, size_t n, size_t *used)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '"')
            r->quoted = !r->quoted;
        if (!r->quoted && (ch == '\n' || ch == '\r')) {
            int rc = end_line(r);
            if (rc != 0) {
                if (used)
                    *used = i + 1;
                r->done = rc == 1;
                return rc;
            }
            continue;
        }
        if (r->ll + 1 >= sizeof(r->line)) {
            /* An information line longer than any credential: keep it in pieces. */
            if (append(r, r->line, r->ll) != 0)
                return -ENOMEM;
            r->ll = 0;
            r->partial = true;
        }
        r->line[r->ll++] = ch;
    }
    if (used)
        *used = n;
    return 0;
}

/* Decimal digits at *pp into *v, at most `max`; false when none or too large. */
static bool number(const char **pp, unsigned long max, unsigned long *v)
{
    const char *p = *pp;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    unsigned long n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (max - (unsigned long)(*p - '0')) / 10)
            return false;
        n = n * 10 + (unsigned long)(*p - '0');
    }
    while (*p == ' ')
        p++;
    *pp = p;
    *v = n;
    return true;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

size_t azki_cmng_parse_list(const char *text, struct azki_cmng_item *items, size_t max)
{
    size_t n = 0;
    for (const char *p = text; p != NULL && *p && n < max;) {
        const char *eol = strchr(p, '\n');
        struct azki_cmng_item it;
        memset(&it, 0, sizeof(it));
        unsigned long tag, type;
        const char *q = p;
        if (strncmp(q, "%CMNG:", 6) == 0 && (q += 6, number(&q, 4294967295ul, &tag)) &&
            *q++ == ',' && number(&q, 255, &type) && (*q == ',' || *q == '\n' || *q == '\0')) {
            it.tag = tag;
            it.type = (int)type;
            if (*q == ',') {
                q++;
                while (*q == ' ')
                    q++;
                size_t h = 0;
                if (*q == '"')
                    while (h < 64 && is_hex(q[1 + h]))
                        h++;
                if (h == 64 && q[65] == '"') {
                    memcpy(it.sha, q + 1, 64);
                    it.sha[64] = '\0';
                    it.has_sha = true;
                }
            }
            items[n++] = it;
        }
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

bool azki_at_plain_line(const char *text, char *out, size_t size)
{
    for (const char *p = text; p != NULL && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 0 && *p != '+' && *p != '%' &&
            !(len >= 2 && (p[0] == 'A' || p[0] == 'a') && (p[1] == 'T' || p[1] == 't'))) {
            if (size == 0)
                return true;
            size_t c = len < size - 1 ? len : size - 1;
            memcpy(out, p, c);
            out[c] = '\0';
            return true;
        }
        p = eol ? eol + 1 : NULL;
    }
    return false;
}

int azki_at_cfun(const char *text)
{
    for (const char *p = text; p != NULL && *p;) {
        const char *q = p;
        unsigned long v;
        if (strncmp(q, "+CFUN:", 6) == 0 && (q += 6, number(&q, 255, &v)))
            return (int)v;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

/* The head of an HTTP/1.x answer to a range request (azkit/fota_posix.h). External input:
 * every number is checked for overflow, nothing is read past `len`. */
#include "azkit/fota_posix.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Decimal digits only, no overflow; the number must fill [p, e). */
static int number(const char *p, const char *e, uint64_t *out)
{
    uint64_t v = 0;
    if (p == e)
        return -EBADMSG;
    for (; p < e; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return -EBADMSG;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

static void trim(const char **p, const char **e)
{
    while (*p < *e && (**p == ' ' || **p == '\t'))
        (*p)++;
    while (*e > *p && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

static bool name_is(const char *n, size_t nl, const char *want)
{
    return nl == strlen(want) && strncasecmp(n, want, nl) == 0;
}

static bool value_is(const char *v, const char *e, const char *want)
{
    return (size_t)(e - v) == strlen(want) && strncasecmp(v, want, (size_t)(e - v)) == 0;
}

/* `bytes a-b/total` (a `*` total or a-b outside it is not valid for a 206). A later
 * Content-Range field replaces an earlier one; an invalid one leaves none. */
static void content_range(const char *v, const char *e, struct azk_fota_http_head *h)
{
    const char *dash, *slash;
    uint64_t first, last, total;
    h->has_range = false;
    if (e - v < 6 || strncasecmp(v, "bytes ", 6) != 0)
        return;
    v += 6;
    dash = memchr(v, '-', (size_t)(e - v));
    slash = dash ? memchr(dash, '/', (size_t)(e - dash)) : NULL;
    if (!slash || number(v, dash, &first) || number(dash + 1, slash, &last) ||
        number(slash + 1, e, &total) || first > last || last >= total)
        return;
    h->first = first;
    h->last = last;
    h->total = total;
    h->has_range = true;
}

static int field(const char *n, size_t nl, const char *v, const char *e,
                 struct azk_fota_http_head *h)
{
    uint64_t x;
    if (name_is(n, nl, "Content-Length")) {
        if (number(v, e, &x) || (h->has_length && x != h->length))
            return -EBADMSG;
        h->has_length = true;
        h->length = x;
    } else if (name_is(n, nl, "Content-Range")) {
        content_range(v, e, h);
    } else if (name_is(n, nl, "Connection")) {
        if (value_is(v, e, "close"))
            h->close = true;
        else if (value_is(v, e, "keep-alive"))
            h->close = false;
    } else if (name_is(n, nl, "Transfer-Encoding")) {
        h->chunked |= !value_is(v, e, "identity");
    }
    return 0;
}

long azk_fota_http_parse_head(const char *head, size_t len, struct azk_fota_http_head *out)
{
    const char *end = NULL, *p = head, *line_end;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(head + i, "\r\n\r\n", 4) == 0) {
            end = head + i + 2; /* the last field's CRLF */
            break;
        }
    if (end == NULL)
        return 0;
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    line_end = memchr(p, '\r', (size_t)(end - p));
    if (line_end - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
        p[8] != ' ' || (line_end - p > 12 && p[12] != ' '))
        return -EBADMSG;
    uint64_t status;
    if (number(p + 9, p + 12, &status) || status < 100)
        return -EBADMSG;
    out->status = (int)status;
    out->close = p[7] == '0';
    for (p = line_end + 2; p < end; p = line_end + 2) {
        line_end = memchr(p, '\r', (size_t)(end - p));
        if (line_end == NULL || line_end[1] != '\n')
            return -EBADMSG;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon == NULL || colon == p)
            return -EBADMSG;
        const char *v = colon + 1, *ve = line_end;
        trim(&v, &ve);
        if (field(p, (size_t)(colon - p), v, ve, out) < 0)
            return -EBADMSG;
    }
    return (long)(end - head + 2);
}

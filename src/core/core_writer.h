/* The core's one bounded output writer, shared by every builder (topics, usernames, payloads).
 * Internal; not installed. */
#ifndef AZK_CORE_WRITER_H
#define AZK_CORE_WRITER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azkit/span.h"

/* Appends to buf[0..size) and counts the full length even when it does not fit: nothing is
 * ever written at or past buf[size]. `len` saturates at SIZE_MAX (overflow-safe on 32 bits). */
struct azki_w {
    char *buf;
    size_t size;
    size_t len;
};

static inline void azki_w_init(struct azki_w *w, char *buf, size_t size)
{
    w->buf = buf;
    w->size = buf ? size : 0;
    w->len = 0;
}

static inline void azki_w_bytes(struct azki_w *w, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (w->len < w->size) {
        size_t room = w->size - w->len;
        memcpy(w->buf + w->len, p, n < room ? n : room);
    }
    w->len = (SIZE_MAX - w->len < n) ? SIZE_MAX : w->len + n;
}

static inline void azki_w_char(struct azki_w *w, char c)
{
    azki_w_bytes(w, &c, 1);
}

static inline void azki_w_span(struct azki_w *w, struct azk_span s)
{
    azki_w_bytes(w, s.ptr, s.len);
}

static inline void azki_w_lit(struct azki_w *w, const char *s)
{
    azki_w_bytes(w, s, strlen(s));
}

/* Finishes a builder: 0 and *out_len = length, or -ENOBUFS and *out_len = size needed. */
static inline int azki_w_done(const struct azki_w *w, size_t *out_len)
{
    if (out_len)
        *out_len = w->len;
    return w->len <= w->size ? 0 : -ENOBUFS;
}

/* Decimal numbers (core_num.c: no 64-bit division). */
void azki_w_u64(struct azki_w *w, uint64_t v);
void azki_w_i64(struct azki_w *w, int64_t v);
void azki_w_int(struct azki_w *w, int v);

#endif

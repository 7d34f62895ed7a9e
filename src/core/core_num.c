/* Decimal conversions without 64-bit division (see core_num.h). */
#include "core_num.h"
#include "core_writer.h"

#include <errno.h>

static const uint64_t pow10[AZKI_DEC_MAX - 1] = {
    10000000000000000000u, 1000000000000000000u, 100000000000000000u, 10000000000000000u,
    1000000000000000u,     100000000000000u,     10000000000000u,     1000000000000u,
    100000000000u,         10000000000u,         1000000000u,         100000000u,
    10000000u,             1000000u,             100000u,             10000u,
    1000u,                 100u,                 10u,
};

size_t azki_u64_to_dec(uint64_t v, char out[AZKI_DEC_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(pow10) / sizeof(pow10[0]); i++) {
        unsigned digit = 0;
        while (v >= pow10[i]) {
            v -= pow10[i];
            digit++;
        }
        if (digit != 0 || n != 0)
            out[n++] = (char)('0' + digit);
    }
    out[n++] = (char)('0' + (unsigned)v);
    return n;
}

size_t azki_i64_to_dec(int64_t v, char out[AZKI_DEC_MAX])
{
    if (v >= 0)
        return azki_u64_to_dec((uint64_t)v, out);
    out[0] = '-';
    /* 0 - (uint64_t)v is the magnitude, INT64_MIN included; it has at most 19 digits. */
    char tmp[AZKI_DEC_MAX];
    size_t n = azki_u64_to_dec((uint64_t)0 - (uint64_t)v, tmp);
    for (size_t i = 0; i < n; i++)
        out[1 + i] = tmp[i];
    return n + 1;
}

int azki_dec_to_u64(struct azk_span s, uint64_t max, uint64_t *out)
{
    if (s.len == 0 || s.len > AZKI_DEC_MAX)
        return -EBADMSG;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c < '0' || c > '9')
            return -EBADMSG;
        if (v > (UINT64_MAX - 9u) / 10u) /* a constant: no division at run time */
            return -EBADMSG;
        v = v * 10u + (unsigned)(c - '0');
        if (v > max)
            return -EBADMSG;
    }
    *out = v;
    return 0;
}

void azki_w_u64(struct azki_w *w, uint64_t v)
{
    char tmp[AZKI_DEC_MAX];
    azki_w_bytes(w, tmp, azki_u64_to_dec(v, tmp));
}

void azki_w_i64(struct azki_w *w, int64_t v)
{
    char tmp[AZKI_DEC_MAX];
    azki_w_bytes(w, tmp, azki_i64_to_dec(v, tmp));
}

void azki_w_int(struct azki_w *w, int v)
{
    azki_w_i64(w, v);
}

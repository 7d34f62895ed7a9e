/* Decimal conversions without 64-bit division (see core_num.h). */
#include "core_num.h"
#include "core_writer.h"

#include <errno.h>

size_t azki_u64_to_dec(uint64_t v, char out[AZKI_DEC_MAX])
{
    /* Digits from the last: v / 10 and v % 10 as a long division of four 16-bit limbs, each
     * step a 32-bit division (one UDIV on a Cortex-M33) -- no table of powers of ten. */
    char rev[AZKI_DEC_MAX];
    size_t n = 0;
    do {
        uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v, r = 0, q[4];
        uint32_t limb[4] = {hi >> 16, hi & 0xffffu, lo >> 16, lo & 0xffffu};
        for (int i = 0; i < 4; i++) {
            uint32_t cur = (r << 16) | limb[i];
            q[i] = cur / 10u;
            r = cur - q[i] * 10u;
        }
        rev[n++] = (char)('0' + r);
        v = (uint64_t)(q[0] << 16 | q[1]) << 32 | (q[2] << 16 | q[3]);
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
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

int azki_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* IoT Hub's identifiers: device id check, thumbprint normalisation, etag texts. */
#include "hub/iothub/identity.h"

#include <errno.h>
#include <stdio.h>

#include "azkit/azure_ids.h"

int hub_device_id_valid(const char *id)
{
    return azk_device_id_check(id, NULL, 0) == 0 ? 0 : -EINVAL;
}

int hub_thumbprint_normalise(const char *in, char out[HUB_THUMBPRINT_MAX + 1])
{
    size_t n = 0;
    out[0] = '\0';
    if (!in)
        return 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == ':' || c == ' ' || c == '-')
            continue;
        if (c >= 'a' && c <= 'f')
            c = (char)(c - 'a' + 'A');
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            goto bad;
        if (n >= HUB_THUMBPRINT_MAX)
            goto bad;
        out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0 || n == 40 || n == 64)
        return 0;
bad:
    out[0] = '\0';
    return -EINVAL;
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

void hub_etag_from_counter(uint64_t counter, char out[HUB_ETAG_MAX + 1])
{
    char dec[24];
    int n = snprintf(dec, sizeof dec, "%llu", (unsigned long long)counter);
    base64((const unsigned char *)dec, (size_t)n, out); /* 20 digits -> 28 chars */
}

void hub_twin_etag_text(uint64_t etag, char out[HUB_ETAG_MAX + 1])
{
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(etag >> (56 - 8 * i));
    base64(be, 8, out);
}


#include "common/pct_cstr.h"

#include <errno.h>

#include "azkit/azure_hub.h"

int azki_pct_encode_cstr(const char *s, char *out, size_t size)
{
    size_t n = 0;
    if (azk_pct_encode(azk_span_from_str(s), out, size, &n) != 0 || n >= size)
        return -ENOBUFS;
    out[n] = '\0';
    return 0;
}

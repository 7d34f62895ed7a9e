/* libFuzzer target: the head of an HTTP answer to a FOTA range request
 * (azk_fota_http_parse_head, azkit/fota_posix.h). The head length must lie inside the input
 * and end with CRLF CRLF; a valid Content-Range is ordered. */
#include <errno.h>
#include <string.h>

#include "azkit/fota_posix.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct azk_fota_http_head h;
    long n = azk_fota_http_parse_head((const char *)data, size, &h);
    REQUIRE(n == 0 || n == -EBADMSG || (n >= 4 && (size_t)n <= size));
    if (n > 0) {
        REQUIRE(memcmp(data + n - 4, "\r\n\r\n", 4) == 0);
        REQUIRE(h.status >= 100 && h.status <= 999);
        REQUIRE(!h.has_range || (h.first <= h.last && h.last < h.total));
    }
    return 0;
}

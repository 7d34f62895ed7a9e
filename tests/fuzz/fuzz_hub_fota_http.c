/* libFuzzer target: the firmware image server's request header rules (src/hub/fota/
 * fota_http.c): Range against image sizes, If-None-Match and If-Range against an ETag. The
 * input is "<Range>\n<If-None-Match>\n<If-Range>" (missing parts: no header). A satisfiable
 * range always lies inside the image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/fota/fota_http.h"
#include "fuzz_util.h"

static const char etag[] = "\"9e1d95ef5a97423007e66048aa823c5447eeabc151c3f9bdab0f772bd2e7f470\"";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *parts[3] = {NULL, NULL, NULL};
    char *p = text;
    for (int i = 0; i < 3 && p != NULL; i++) {
        parts[i] = p;
        p = strchr(p, '\n');
        if (p != NULL)
            *p++ = '\0';
    }
    static const uint64_t totals[] = {0, 1, 1800, 50000, UINT64_MAX / 2};
    for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        uint64_t first = 7, last = 7;
        enum hub_fota_range k = hub_fota_range_parse(parts[0], totals[i], &first, &last);
        REQUIRE(k == HUB_FOTA_RANGE_FULL || k == HUB_FOTA_RANGE_PARTIAL ||
                k == HUB_FOTA_RANGE_UNSATISFIABLE);
        if (k == HUB_FOTA_RANGE_PARTIAL)
            REQUIRE(totals[i] > 0 && first <= last && last < totals[i]);
    }
    bool weak = hub_fota_etag_match(parts[1], etag, true);
    bool strong = hub_fota_etag_match(parts[1], etag, false);
    REQUIRE(!strong || weak); /* a strong match is a weak one too */
    (void)hub_fota_if_range_ok(parts[2], etag);
    free(text);
    return 0;
}

/* libFuzzer target: the hub's twin checks (src/hub/iothub/twin_limits.c) on any JSON a device
 * or a service call can send (cJSON parses what arrives, as the hub does). Every input is
 * either accepted or refused with a reason; a document that passes the format check of a
 * section is measured and size-checked without crashing, and the answer is stable. */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/iothub/twin_limits.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (doc == NULL)
        return 0;
    static const enum hub_twin_section secs[] = {HUB_TWIN_TAGS, HUB_TWIN_DESIRED,
                                                 HUB_TWIN_REPORTED};
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        char why[512];
        why[0] = '\0';
        int rc = hub_twin_check_format(secs[i], doc, why, sizeof(why));
        REQUIRE(rc == 0 || rc == -EBADMSG);
        REQUIRE(rc == 0 || (why[0] != '\0' && strlen(why) < sizeof(why)));
        char again[512];
        REQUIRE(hub_twin_check_format(secs[i], doc, again, sizeof(again)) == rc);
        if (rc == 0 && cJSON_IsObject(doc)) {
            size_t n = hub_twin_size(doc);
            REQUIRE(n == hub_twin_size(doc));
            int src = hub_twin_check_size(secs[i], doc, why, sizeof(why));
            REQUIRE(src == (n <= hub_twin_section_max(secs[i]) ? 0 : -E2BIG));
        }
    }
    cJSON_Delete(doc);
    return 0;
}

/* libFuzzer target: the device HTTPS API's request path and query (src/hub/service/
 * svc_device_c2d.c), which come from any client before it is authorised. The input is split at
 * its first '?' into a path and a query. A path that parses names a non-empty device id of
 * printable text and a lock token, and it parses the same way twice; the query check never
 * reads past its string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/service/svc_device_c2d.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *query = strchr(text, '?');
    if (query != NULL)
        *query++ = '\0';
    struct svc_device_c2d_path a, b;
    bool ok = svc_device_c2d_parse(text, &a);
    if (ok) {
        if (a.id[0] == '\0' || strncmp(text, "/devices/", 9) != 0)
            abort();
        if (!svc_device_c2d_parse(text, &b) || strcmp(a.id, b.id) != 0 ||
            strcmp(a.token, b.token) != 0 || a.abandon != b.abandon)
            abort();
        if (a.abandon && a.token[0] == '\0')
            abort();
    }
    if (ok != svc_device_c2d_path(text))
        abort();
    (void)svc_device_c2d_rejects(query);
    free(text);
    return 0;
}

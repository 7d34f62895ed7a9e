/* libFuzzer target: a device-to-cloud message's property bag into the JSON objects the hub
 * stores (src/hub/iothub/props_json.c); the bag is the device's topic. On success both texts
 * parse as JSON objects with no NUL escaped in them, every member name appears once per object
 * (so a device cannot add a second member that C-string readers take for one of the hub's
 * own), the hub's own system properties are there with their values, and no more members come
 * out than went in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/iothub/props_json.h"
#include "fuzz_util.h"

/* Whether the JSON text escapes a NUL (walking escapes, so a literal backslash-u is not one). */
static int escapes_nul(const char *json)
{
    for (const char *p = json; *p; p++) {
        if (*p != '\\')
            continue;
        if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
            return 1;
        p++; /* the escaped character (of \uXXXX, the u) */
    }
    return 0;
}

static size_t unique_members(const cJSON *o)
{
    size_t n = 0;
    for (const cJSON *a = o->child; a != NULL; a = a->next, n++)
        for (const cJSON *b = a->next; b != NULL; b = b->next)
            REQUIRE(strcmp(a->string, b->string) != 0);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct hub_sys_prop add[] = {{"iothub-connection-device-id", "dev"},
                                              {"mqtt-retain", "true"}};
    char *app = NULL, *sys = NULL;
    int rc = hub_props_json((struct azk_span){(const char *)data, size}, add, 2, &app, &sys);
    if (rc != 0) {
        REQUIRE(rc == -EMSGSIZE || rc == -EBADMSG || rc == -ENOMEM);
        REQUIRE(app == NULL && sys == NULL);
        return 0;
    }
    cJSON *a = cJSON_Parse(app), *s = cJSON_Parse(sys);
    REQUIRE(cJSON_IsObject(a) && cJSON_IsObject(s));
    size_t props = 1; /* at most one per '&'-separated segment */
    for (size_t i = 0; i < size; i++)
        props += data[i] == '&';
    REQUIRE(!escapes_nul(app) && !escapes_nul(sys));
    REQUIRE(unique_members(a) + unique_members(s) <= props + 2);
    REQUIRE(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                       s, "iothub-connection-device-id")), "dev") == 0);
    REQUIRE(strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "mqtt-retain")),
                   "true") == 0);
    cJSON_Delete(a);
    cJSON_Delete(s);
    free(app);
    free(sys);
    return 0;
}

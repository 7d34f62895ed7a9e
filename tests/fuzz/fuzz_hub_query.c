/* libFuzzer target: the hub's IoT Hub query parser (src/hub/service/query_parse.c), the text of
 * POST /devices/query. Any input either parses or fails with an error text that names a
 * character; a parsed query is evaluated, projected and aggregated over fixed twins. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/service/query.h"
#include "fuzz_util.h"


static const char *const twin_text[] = {
    ("{\"deviceId\":\"dev-a\",\"status\":\"enabled\",\"connectionState\":\"Connected\","
    "\"tags\":{\"location\":{\"region\":\"US\"},\"n\":5,\"a\":[1,\"x\",null,{\"b\":true}]},"
    "\"properties\":{\"desired\":{\"rate\":300,\"$version\":2},"
    "\"reported\":{\"conn\":\"wifi\",\"status\":\"Success\",\"nul\":null}}}"),
    ("{\"deviceId\":\"dev-b\",\"status\":\"disabled\",\"connectionState\":\"Disconnected\","
    "\"tags\":{\"n\":\"5\"},\"properties\":{\"desired\":{},\"reported\":{\"status\":1}}}"),
    ("{\"deviceId\":\"c\",\"tags\":{},\"properties\":{}}"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_query *q = NULL;
    char err[HUB_QUERY_ERR_MAX];
    int rc = hub_query_parse((const char *)data, size, &q, err);
    if (rc != 0) {
        REQUIRE(q == NULL);
        REQUIRE(rc == -EINVAL || rc == -ENOTSUP || rc == -E2BIG || rc == -ENOMEM);
        REQUIRE(err[0] != '\0' && strlen(err) < HUB_QUERY_ERR_MAX);
        return 0;
    }
    REQUIRE(q != NULL && err[0] == '\0');
    struct hub_query_agg *agg = q->aggregate ? hub_query_agg_new(q) : NULL;
    for (size_t i = 0; i < sizeof(twin_text) / sizeof(twin_text[0]); i++) {
        cJSON *twin = cJSON_Parse(twin_text[i]);
        REQUIRE(twin != NULL);
        if (hub_query_match(q, twin)) {
            if (agg != NULL) {
                REQUIRE(hub_query_agg_add(agg, twin) == 0);
            } else if (!q->aggregate) {
                cJSON *row = hub_query_project(q, twin);
                REQUIRE(cJSON_IsObject(row));
                char *text = cJSON_PrintUnformatted(row);
                REQUIRE(text != NULL);
                cJSON_free(text);
                cJSON_Delete(row);
            }
        }
        cJSON_Delete(twin);
    }
    if (agg != NULL) {
        cJSON *rows = hub_query_agg_rows(agg);
        REQUIRE(cJSON_IsArray(rows));
        REQUIRE(q->ngroup > 0 || cJSON_GetArraySize(rows) == 1);
        cJSON_Delete(rows);
        hub_query_agg_free(agg);
    }
    hub_query_free(q);
    return 0;
}

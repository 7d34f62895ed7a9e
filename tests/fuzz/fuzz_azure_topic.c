/* libFuzzer target: every IoT Hub / DPS topic, filter and username parser, and build → parse
 * consistency for what parses. Input: first byte selects the connected-id length split. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_dps.h"
#include "azkit/azure_hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] % 16;
    data++;
    size--;
    if (split > size)
        split = size;
    /* the connected id is the first `split` bytes; the topic is the rest (copied so ASan sees
     * any overread) */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct azk_span connected = {copy, split};
    struct azk_span topic = {copy + split, size - split};

    struct azk_hub_topic t;
    int rc = azk_hub_parse_device_topic(topic, connected, &t);
    if (rc == 0 && t.kind == AZK_HUB_TOPIC_TELEMETRY) {
        check(connected.len == 0 || azk_span_eq(t.device_id, connected));
        struct azk_prop_iter it;
        struct azk_prop p;
        char k[64], v[64];
        azk_prop_iter_init(&it, t.properties);
        int n = 0;
        while ((rc = azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p)) != -ENOENT &&
               n++ < 1000)
            if (rc == -ENOBUFS)
                azk_prop_next(&it, &p);
    }
    if (rc == 0 && (t.kind == AZK_HUB_TOPIC_TWIN_GET || t.kind == AZK_HUB_TOPIC_METHOD_RESPONSE) &&
        azk_rid_is_valid(t.rid)) {
        char out[512];
        size_t len;
        struct azk_hub_topic t2;
        if (t.kind == AZK_HUB_TOPIC_TWIN_GET)
            rc = azk_hub_twin_get_topic(t.rid, out, sizeof(out), &len);
        else
            rc = azk_hub_method_response_topic(t.status, t.rid, out, sizeof(out), &len);
        if (rc == 0) {
            check(azk_hub_parse_device_topic((struct azk_span){out, len}, connected, &t2) == 0);
            check(t2.kind == t.kind && azk_span_eq(t2.rid, t.rid) && t2.status == t.status);
        }
    }
    rc = azk_hub_parse_service_topic(topic, connected, &t);
    if (rc == 0 && t.kind == AZK_HUB_TOPIC_METHOD_REQUEST && azk_rid_is_valid(t.rid)) {
        char out[512];
        size_t len;
        struct azk_hub_topic t2;
        if (azk_hub_method_request_topic(t.method_name, t.rid, out, sizeof(out), &len) == 0) {
            check(azk_hub_parse_service_topic((struct azk_span){out, len}, connected, &t2) == 0);
            check(azk_span_eq(t2.method_name, t.method_name) && azk_span_eq(t2.rid, t.rid));
        }
    }
    enum azk_hub_filter_kind fk;
    azk_hub_parse_filter(topic, connected, &fk);

    struct azk_dps_topic d;
    rc = azk_dps_parse_response_topic(topic, &d);
    if (rc == 0 && azk_rid_is_valid(d.rid)) {
        char out[512];
        size_t len;
        struct azk_dps_topic d2;
        if (azk_dps_response_topic(d.status, d.rid, d.has_retry_after ? (int64_t)d.retry_after : -1,
                                   out, sizeof(out), &len) == 0) {
            check(azk_dps_parse_response_topic((struct azk_span){out, len}, &d2) == 0);
            check(d2.status == d.status && d2.retry_after == d.retry_after &&
                  azk_span_eq(d2.rid, d.rid));
        }
    }
    azk_dps_parse_request_topic(topic, &d);

    struct azk_hub_username hu;
    if (azk_hub_username_parse(topic, &hu) == 0)
        check(azk_device_id_validate(hu.device_id, NULL) == 0);
    struct azk_dps_username du;
    azk_dps_username_parse(topic, &du);
    struct azk_span dev, mod;
    azk_hub_client_id_parse(topic, &dev, &mod);
    free(copy);
    return 0;
}

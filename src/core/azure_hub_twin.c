/* IoT Hub device twin topics: GET and reported PATCH (device), responses and desired patches
 * (hub). */
#include "azure_internal.h"

static int rid_topic(const char *prefix, struct azk_span rid, char *buf, size_t buf_size,
                     size_t *out_len)
{
    if (out_len == NULL || !azki_token_ok(rid))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, prefix);
    azki_w_span(&w, rid);
    return azki_w_done(&w, out_len);
}

int azk_hub_twin_get_topic(struct azk_span rid, char *buf, size_t buf_size, size_t *out_len)
{
    return rid_topic(AZK_HUB_TWIN_GET_PREFIX, rid, buf, buf_size, out_len);
}

int azk_hub_twin_patch_topic(struct azk_span rid, char *buf, size_t buf_size, size_t *out_len)
{
    return rid_topic("$iothub/twin/PATCH/properties/reported/?$rid=", rid, buf, buf_size,
                     out_len);
}

int azk_hub_twin_response_topic(int status, struct azk_span rid, int64_t version, char *buf,
                                size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || !azki_token_ok(rid))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, "$iothub/twin/res/");
    azki_w_int(&w, status);
    azki_w_lit(&w, "/?$rid=");
    azki_w_span(&w, rid);
    if (version >= 0) {
        azki_w_lit(&w, "&$version=");
        azki_w_u64(&w, (uint64_t)version);
    }
    return azki_w_done(&w, out_len);
}

int azk_hub_twin_desired_topic(int64_t version, char *buf, size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || version < 0)
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, "$iothub/twin/PATCH/properties/desired/?$version=");
    azki_w_u64(&w, (uint64_t)version);
    return azki_w_done(&w, out_len);
}

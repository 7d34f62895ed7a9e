/* IoT Hub direct methods: request topic (hub) and response topic (device). */
#include "azure_internal.h"

/* Method names: 1..128 printable ASCII without space, '/', '+', '#'. */
static bool name_ok(struct azk_span n)
{
    if (n.len == 0 || n.len > 128 || n.ptr == NULL)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        unsigned char c = (unsigned char)n.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '+' || c == '#')
            return false;
    }
    return true;
}

int azk_hub_method_request_topic(struct azk_span name, struct azk_span rid, char *buf,
                                 size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || !name_ok(name) || !azki_token_ok(rid))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, "$iothub/methods/POST/");
    azki_w_span(&w, name);
    azki_w_lit(&w, "/?$rid=");
    azki_w_span(&w, rid);
    return azki_w_done(&w, out_len);
}

int azk_hub_method_response_topic(int status, struct azk_span rid, char *buf, size_t buf_size,
                                  size_t *out_len)
{
    if (out_len == NULL || !azki_token_ok(rid))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, "$iothub/methods/res/");
    azki_w_int(&w, status);
    azki_w_lit(&w, "/?$rid=");
    azki_w_span(&w, rid);
    return azki_w_done(&w, out_len);
}

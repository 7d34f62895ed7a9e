/* IoT Hub cloud-to-device messages: the subscription filter (device) and the delivery topic
 * devices/{deviceId}/messages/devicebound/{property bag} (hub). */
#include "azure_internal.h"

int azk_hub_c2d_filter(struct azk_span device_id, char *buf, size_t buf_size, size_t *out_len,
                       struct azk_id_error *err)
{
    struct azki_w w;
    int rc = azki_w_device_messages(&w, device_id, "devicebound/#", buf, buf_size, out_len, err);
    return rc ? rc : azki_w_done(&w, out_len);
}

int azk_hub_c2d_topic(struct azk_span device_id, const struct azk_prop *props, size_t count,
                      char *buf, size_t buf_size, size_t *out_len, struct azk_id_error *err)
{
    struct azki_w w;
    int rc = azki_w_device_messages(&w, device_id, "devicebound/", buf, buf_size, out_len, err);
    if (rc == 0)
        rc = azki_w_bag(&w, props, count);
    return rc ? rc : azki_w_done(&w, out_len);
}

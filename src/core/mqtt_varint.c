/* MQTT codec: the remaining-length variable length integer (1 to 4 bytes, 7 bits each). */
#include <errno.h>

#include "azkit/mqtt.h"

AZK_API size_t azk_mqtt_varint_size(uint32_t value)
{
    if (value < 128u)
        return 1;
    if (value < 16384u)
        return 2;
    if (value < 2097152u)
        return 3;
    if (value <= AZK_MQTT_MAX_REMAINING_LENGTH)
        return 4;
    return 0;
}

AZK_API int azk_mqtt_varint_encode(uint32_t value, void *buf, size_t buf_size,
                                   size_t *out_len)
{
    if (!out_len || (!buf && buf_size))
        return -EINVAL;
    size_t n = azk_mqtt_varint_size(value);
    if (n == 0)
        return -EINVAL;
    *out_len = n;
    if (buf_size < n)
        return -ENOBUFS;
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(value & 0x7Fu);
        value >>= 7;
        p[i] = (uint8_t)(i + 1 < n ? (b | 0x80u) : b);
    }
    return 0;
}

AZK_API int azk_mqtt_varint_decode(const void *data, size_t len, uint32_t *value, size_t *used)
{
    if (!value || !used || (!data && len))
        return -EINVAL;
    const uint8_t *p = data;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= len)
            return -EAGAIN;
        v |= (uint32_t)(p[i] & 0x7Fu) << (7u * i);
        if (!(p[i] & 0x80u)) {
            *value = v;
            *used = i + 1;
            return 0;
        }
    }
    return -EBADMSG;
}

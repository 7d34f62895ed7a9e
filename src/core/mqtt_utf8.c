/* MQTT codec: UTF-8 string validation (MQTT 3.1.1 section 1.5.3). */
#include "azkit/mqtt.h"

AZK_API enum azk_mqtt_reason azk_mqtt_utf8_check(struct azk_span s)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t n = s.len, i = 0;
    if (!p)
        return n ? AZK_MQTT_R_UTF8_INVALID : AZK_MQTT_R_OK;
    while (i < n) {
        uint8_t c = p[i];
        if (c == 0)
            return AZK_MQTT_R_UTF8_NUL;
        if (c < 0x80u) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80u, hi = 0xBFu; /* allowed range of the second byte */
        if (c >= 0xC2u && c <= 0xDFu) {
            need = 1;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            need = 2;
            if (c == 0xE0u)
                lo = 0xA0u; /* no overlongs */
            else if (c == 0xEDu)
                hi = 0x9Fu; /* no surrogates U+D800..U+DFFF */
        } else if (c >= 0xF0u && c <= 0xF4u) {
            need = 3;
            if (c == 0xF0u)
                lo = 0x90u; /* no overlongs */
            else if (c == 0xF4u)
                hi = 0x8Fu; /* nothing above U+10FFFF */
        } else {
            return AZK_MQTT_R_UTF8_INVALID; /* 80..C1 (continuation, overlong), F5..FF */
        }
        if (n - i - 1 < need)
            return AZK_MQTT_R_UTF8_INVALID;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return AZK_MQTT_R_UTF8_INVALID;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0u) != 0x80u)
                return AZK_MQTT_R_UTF8_INVALID;
        i += need + 1;
    }
    return AZK_MQTT_R_OK;
}

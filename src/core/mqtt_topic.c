/* MQTT codec: topic name and topic filter rules (MQTT 3.1.1 section 4.7). */
#include <string.h>

#include "azkit/mqtt.h"

AZK_API enum azk_mqtt_reason azk_mqtt_topic_check(struct azk_span topic)
{
    if (topic.len == 0)
        return AZK_MQTT_R_TOPIC_EMPTY;
    enum azk_mqtt_reason r = azk_mqtt_utf8_check(topic);
    if (r != AZK_MQTT_R_OK)
        return r;
    if (memchr(topic.ptr, '+', topic.len) || memchr(topic.ptr, '#', topic.len))
        return AZK_MQTT_R_TOPIC_WILDCARD;
    return AZK_MQTT_R_OK;
}

AZK_API enum azk_mqtt_reason azk_mqtt_filter_check(struct azk_span filter)
{
    if (filter.len == 0)
        return AZK_MQTT_R_FILTER_EMPTY;
    enum azk_mqtt_reason r = azk_mqtt_utf8_check(filter);
    if (r != AZK_MQTT_R_OK)
        return r;
    const char *f = filter.ptr;
    size_t n = filter.len;
    for (size_t i = 0; i < n; i++) {
        bool level_start = i == 0 || f[i - 1] == '/';
        bool level_end = i + 1 == n || f[i + 1] == '/';
        if (f[i] == '#' && (!level_start || i + 1 != n))
            return AZK_MQTT_R_FILTER_INVALID;
        if (f[i] == '+' && (!level_start || !level_end))
            return AZK_MQTT_R_FILTER_INVALID;
    }
    return AZK_MQTT_R_OK;
}

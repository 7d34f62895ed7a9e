/* MQTT codec: reason -> errno (the decoder uses it; the texts live in mqtt_reason.c). */
#include <errno.h>
#include <stdint.h>

#include "azkit/mqtt.h"

static const int16_t reason_errno[AZK_MQTT_R_COUNT_] = {
    [AZK_MQTT_R_OK] = 0,
    [AZK_MQTT_R_INCOMPLETE] = -EAGAIN,
    [AZK_MQTT_R_RESERVED_TYPE] = -EBADMSG,
    [AZK_MQTT_R_UNEXPECTED_TYPE] = -EPROTO,
    [AZK_MQTT_R_BAD_FLAGS] = -EBADMSG,
    [AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG] = -EBADMSG,
    [AZK_MQTT_R_PACKET_TOO_LARGE] = -EMSGSIZE,
    [AZK_MQTT_R_TRUNCATED] = -EBADMSG,
    [AZK_MQTT_R_BAD_LENGTH] = -EBADMSG,
    [AZK_MQTT_R_QOS_INVALID] = -EBADMSG,
    [AZK_MQTT_R_DUP_QOS0] = -EPROTO,
    [AZK_MQTT_R_PACKET_ID_ZERO] = -EPROTO,
    [AZK_MQTT_R_TOPIC_EMPTY] = -EPROTO,
    [AZK_MQTT_R_TOPIC_WILDCARD] = -EPROTO,
    [AZK_MQTT_R_UTF8_INVALID] = -EBADMSG,
    [AZK_MQTT_R_UTF8_NUL] = -EBADMSG,
    [AZK_MQTT_R_PROTOCOL_NAME] = -EPROTO,
    [AZK_MQTT_R_PROTOCOL_LEVEL] = -EPROTO,
    [AZK_MQTT_R_CONNECT_RESERVED_FLAG] = -EBADMSG,
    [AZK_MQTT_R_WILL_FLAGS] = -EBADMSG,
    [AZK_MQTT_R_PASSWORD_WITHOUT_USERNAME] = -EPROTO,
    [AZK_MQTT_R_CLIENT_ID_EMPTY] = -EPROTO,
    [AZK_MQTT_R_NO_FILTERS] = -EPROTO,
    [AZK_MQTT_R_FILTER_EMPTY] = -EPROTO,
    [AZK_MQTT_R_FILTER_INVALID] = -EPROTO,
    [AZK_MQTT_R_SUBSCRIBE_OPTIONS] = -EBADMSG,
    [AZK_MQTT_R_SUBACK_CODE] = -EBADMSG,
    [AZK_MQTT_R_CONNACK_FLAGS] = -EBADMSG,
    [AZK_MQTT_R_CONNACK_CODE] = -EBADMSG,
    [AZK_MQTT_R_CONNACK_SESSION_PRESENT] = -EPROTO,
};

AZK_API int azk_mqtt_reason_errno(enum azk_mqtt_reason reason)
{
    unsigned r = (unsigned)reason;
    if (r >= (unsigned)AZK_MQTT_R_COUNT_ || (r != AZK_MQTT_R_OK && reason_errno[r] == 0))
        return -EINVAL;
    return reason_errno[r];
}

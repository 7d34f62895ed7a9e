/* MQTT codec: reason texts and packet type names. Kept apart from the reason -> errno table
 * (mqtt_reason_errno.c) so firmware that never prints a reason does not link the strings. */
#include <errno.h>

#include "azkit/mqtt.h"

static const char *const reasons[AZK_MQTT_R_COUNT_] = {
    [AZK_MQTT_R_OK] = "no error",
    [AZK_MQTT_R_INCOMPLETE] = "the data ends before the packet does",
    [AZK_MQTT_R_RESERVED_TYPE] = "reserved packet type (0 or 15)",
    [AZK_MQTT_R_UNEXPECTED_TYPE] = "packet type not valid in this direction",
    [AZK_MQTT_R_BAD_FLAGS] = "reserved flag bits of the fixed header are wrong",
    [AZK_MQTT_R_REMAINING_LENGTH_TOO_LONG] = "remaining length longer than 4 bytes",
    [AZK_MQTT_R_PACKET_TOO_LARGE] = "packet larger than the configured maximum size",
    [AZK_MQTT_R_TRUNCATED] = "a field runs past the end of the packet",
    [AZK_MQTT_R_BAD_LENGTH] = "remaining length does not match the packet's contents",
    [AZK_MQTT_R_QOS_INVALID] = "QoS 3 is not a valid QoS",
    [AZK_MQTT_R_DUP_QOS0] = "PUBLISH with QoS 0 has the DUP flag set",
    [AZK_MQTT_R_PACKET_ID_ZERO] = "packet identifier 0 where a non-zero one is required",
    [AZK_MQTT_R_TOPIC_EMPTY] = "empty topic name",
    [AZK_MQTT_R_TOPIC_WILDCARD] = "topic name contains a wildcard ('+' or '#')",
    [AZK_MQTT_R_UTF8_INVALID] = "string is not well-formed UTF-8 (overlong, surrogate, "
                                 "above U+10FFFF or broken sequence)",
    [AZK_MQTT_R_UTF8_NUL] = "string contains U+0000",
    [AZK_MQTT_R_PROTOCOL_NAME] = "CONNECT protocol name is not \"MQTT\"",
    [AZK_MQTT_R_PROTOCOL_LEVEL] = "CONNECT protocol level is not 4 (MQTT 3.1.1); answer "
                                   "CONNACK 1",
    [AZK_MQTT_R_CONNECT_RESERVED_FLAG] = "CONNECT reserved flag (bit 0) is set",
    [AZK_MQTT_R_WILL_FLAGS] = "CONNECT will QoS or will retain set without the will flag",
    [AZK_MQTT_R_PASSWORD_WITHOUT_USERNAME] = "CONNECT has a password but no username",
    [AZK_MQTT_R_CLIENT_ID_EMPTY] = "empty client id with clean session 0; answer CONNACK 2",
    [AZK_MQTT_R_NO_FILTERS] = "SUBSCRIBE/UNSUBSCRIBE without topic filters or SUBACK "
                               "without return codes",
    [AZK_MQTT_R_FILTER_EMPTY] = "empty topic filter",
    [AZK_MQTT_R_FILTER_INVALID] = "topic filter with '#' not last or '+' not a whole level",
    [AZK_MQTT_R_SUBSCRIBE_OPTIONS] = "SUBSCRIBE requested-QoS byte has reserved bits set",
    [AZK_MQTT_R_SUBACK_CODE] = "SUBACK return code is not 0, 1, 2 or 0x80",
    [AZK_MQTT_R_CONNACK_FLAGS] = "CONNACK reserved flag bits are set",
    [AZK_MQTT_R_CONNACK_CODE] = "CONNACK return code above 5",
    [AZK_MQTT_R_CONNACK_SESSION_PRESENT] = "CONNACK session present with a non-zero return "
                                            "code",
};

AZK_API const char *azk_mqtt_reason_str(enum azk_mqtt_reason reason)
{
    unsigned r = (unsigned)reason;
    if (r >= (unsigned)AZK_MQTT_R_COUNT_ || !reasons[r])
        return "unknown MQTT reason";
    return reasons[r];
}

static const char *const type_names[16] = {
    "RESERVED", "CONNECT",  "CONNACK",     "PUBLISH",  "PUBACK",   "PUBREC",
    "PUBREL",   "PUBCOMP",  "SUBSCRIBE",   "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
    "PINGREQ",  "PINGRESP", "DISCONNECT", "RESERVED",
};

AZK_API const char *azk_mqtt_type_str(enum azk_mqtt_type type)
{
    unsigned t = (unsigned)type;
    return t < 16 ? type_names[t] : "RESERVED";
}

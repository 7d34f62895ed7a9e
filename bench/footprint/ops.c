/* The committed list of operations a device client needs, for the Cortex-M33 footprint
 * (bench/footprint/run). Each group is compiled alone and then all together; the anchor
 * (Azure SDK for Embedded C + coreMQTT) was measured with the same list.
 *
 * Inputs pass through opaque() so the compiler cannot fold them, and results through keep(), so
 * nothing is discarded; neither uses static storage (static RAM must stay 0). */
#include <stdint.h>
#include <string.h>

#include "azkit/azure_dps.h"
#include "azkit/azure_hub.h"
#include "azkit/azure_payloads.h"
#include "azkit/mqtt.h"

#define OPAQUE(p) __asm__ volatile("" : "+r"(p))
#define KEEP(v) __asm__ volatile("" : : "r"(v) : "memory")

__attribute__((noinline)) static struct azk_span span(const char *s)
{
    OPAQUE(s);
    return azk_span_from_str(s);
}

int main(void)
{
    uint8_t buf[512];
    size_t n = 0;
    int rc = 0;
    struct azk_span dev = span("dev-1");
    (void)dev;
    (void)n;
    (void)buf;

#if defined(AZK_FP_MQTT_CONNECT)
    { /* build CONNECT */
        struct azk_mqtt_connect c;
        memset(&c, 0, sizeof(c));
        c.client_id = dev;
        c.keep_alive = 240;
        c.clean_session = true;
        c.has_username = true;
        c.username = span("hub.azure-devices.net/dev-1/?api-version=2021-04-12");
        rc |= azk_mqtt_encode_connect(&c, buf, sizeof(buf), &n);
        KEEP(buf);
    }
#endif
#if defined(AZK_FP_MQTT_SUBSCRIBE)
    { /* build SUBSCRIBE */
        struct azk_mqtt_subscription subs[2] = {{span("$iothub/twin/res/#"), 1},
                                                {span("$iothub/methods/POST/#"), 0}};
        rc |= azk_mqtt_encode_subscribe(1, subs, 2, buf, sizeof(buf), &n);
        KEEP(buf);
    }
#endif
#if defined(AZK_FP_MQTT_PUBLISH_QOS1)
    { /* build PUBLISH QoS 1 and handle its PUBACK */
        struct azk_mqtt_publish p;
        memset(&p, 0, sizeof(p));
        p.topic = span("devices/dev-1/messages/events/");
        p.payload = span("{\"t\":21}");
        p.qos = 1;
        p.packet_id = 7;
        rc |= azk_mqtt_encode_publish(&p, buf, sizeof(buf), &n);
        struct azk_mqtt_decoder_config cfg = {0};
        cfg.role = AZK_MQTT_ROLE_CLIENT;
        cfg.max_packet_size = sizeof(buf);
        struct azk_mqtt_packet pkt;
        size_t plen;
        enum azk_mqtt_reason why;
        const char *ack = "\x40\x02\x00\x07";
        OPAQUE(ack);
        rc |= azk_mqtt_decode(&cfg, ack, 4, &pkt, &plen, &why);
        KEEP(pkt.u.packet_id);
    }
#endif
#if defined(AZK_FP_MQTT_PINGREQ)
    rc |= azk_mqtt_encode_pingreq(buf, sizeof(buf), &n);
    KEEP(buf);
#endif
#if defined(AZK_FP_MQTT_DECODE)
    { /* decode incoming packets as they arrive */
        struct azk_mqtt_decoder d;
        struct azk_mqtt_decoder_config cfg = {0};
        cfg.role = AZK_MQTT_ROLE_CLIENT;
        cfg.max_packet_size = sizeof(buf);
        rc |= azk_mqtt_decoder_init(&d, &cfg, buf, sizeof(buf));
        const char *in = "\x20\x02\x00\x00\x30\x05\x00\x01t{}";
        OPAQUE(in);
        size_t used;
        struct azk_mqtt_packet pkt;
        rc |= azk_mqtt_decoder_feed(&d, in, 11, &used, &pkt);
        KEEP(pkt.type);
        struct azk_mqtt_iter it;
        uint8_t code;
        azk_mqtt_iter_init(&it, &pkt);
        KEEP(azk_mqtt_iter_next_suback_code(&it, &code));
    }
#endif
#if defined(AZK_FP_DPS_REGISTER)
    { /* DPS: username, register topic and body */
        char out[256];
        struct azk_dps_username u;
        memset(&u, 0, sizeof(u));
        u.id_scope = span("0ne00000001");
        u.registration_id = dev;
        rc |= azk_dps_username_build(&u, out, sizeof(out), &n, NULL);
        rc |= azk_dps_register_topic(span("1"), out, sizeof(out), &n);
        rc |= azk_dps_register_request_build(dev, span(""), out, sizeof(out), &n);
        KEEP(out);
    }
#endif
#if defined(AZK_FP_DPS_POLL)
    {
        char out[256];
        rc |= azk_dps_operation_status_topic(span("2"), span("4.0a1b2c3d.0"), out, sizeof(out), &n);
        KEEP(out);
    }
#endif
#if defined(AZK_FP_DPS_PARSE_ASSIGNED)
    { /* DPS: response topic and an assigned registration response */
        struct azk_dps_topic t;
        rc |= azk_dps_parse_response_topic(span("$dps/registrations/res/200/?$rid=2"), &t);
        struct azk_dps_response r;
        rc |= azk_dps_response_parse(
            span("{\"operationId\":\"4.0a\",\"status\":\"assigned\",\"registrationState\":"
                 "{\"registrationId\":\"dev-1\",\"assignedHub\":\"h.azure-devices.net\","
                 "\"deviceId\":\"dev-1\",\"status\":\"assigned\"}}"),
            &r);
        KEEP(r.status);
    }
#endif
#if defined(AZK_FP_TWIN_GET)
    {
        char out[128];
        rc |= azk_hub_twin_get_topic(span("3"), out, sizeof(out), &n);
        KEEP(out);
    }
#endif
#if defined(AZK_FP_TWIN_REPORTED_PATCH)
    {
        char out[128];
        rc |= azk_hub_twin_patch_topic(span("4"), out, sizeof(out), &n);
        rc |= azk_twin_reported_patch_build(span("{\"fw\":\"1.0\"}"), out, sizeof(out), &n);
        KEEP(out);
    }
#endif
#if defined(AZK_FP_TWIN_DESIRED_AND_RES)
    { /* parse a desired patch and a res/ topic */
        struct azk_hub_topic t;
        rc |= azk_hub_parse_service_topic(span("$iothub/twin/PATCH/properties/desired/?$version=5"),
                                          dev, &t);
        struct azk_twin_desired_patch p;
        rc |= azk_twin_desired_patch_parse(span("{\"interval\":5,\"$version\":5}"), &p);
        rc |= azk_hub_parse_service_topic(span("$iothub/twin/res/204/?$rid=4&$version=6"), dev, &t);
        KEEP(t.status);
    }
#endif
#if defined(AZK_FP_METHOD)
    { /* parse a method request and build its response */
        struct azk_hub_topic t;
        char out[128];
        rc |= azk_hub_parse_service_topic(span("$iothub/methods/POST/reboot/?$rid=9"), dev, &t);
        rc |= azk_hub_method_response_topic(200, t.rid, out, sizeof(out), &n);
        KEEP(out);
    }
#endif
#if defined(AZK_FP_C2D)
    { /* parse a C2D topic with properties */
        struct azk_hub_topic t;
        rc |= azk_hub_parse_service_topic(
            span("devices/dev-1/messages/devicebound/%24.mid=1&%24.to=%2Fdevices%2Fdev-1&k=v"), dev,
            &t);
        struct azk_prop_iter it;
        struct azk_prop p;
        azk_prop_iter_init(&it, t.properties);
        while (azk_prop_next(&it, &p) == 0)
            KEEP(p.key.len);
    }
#endif
    return rc;
}

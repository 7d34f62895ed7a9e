/* The device client state machine, sans I/O: feed bytes and time, check the bytes it wants
 * sent and the events it reports. The server side is played with the core's own encoders and
 * decoder (server role). */
#include <errno.h>

#include "azkit/azure_dps.h"
#include "azkit/client.h"
#include "azkit/mqtt.h"
#include "azkit/twin_sync.h"
#include "core_test.h"

/* ---- a scripted server ------------------------------------------------------------------- */

#define MAX_EVENTS 16

struct rec {
    int n;
    struct azk_client_event ev[MAX_EVENTS];
    char text[MAX_EVENTS][256];
    char payload[MAX_EVENTS][256];
};

static void keep(char *dst, struct azk_span s)
{
    size_t n = s.len < 255 ? s.len : 255;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    struct rec *r = ctx;
    if (r->n == MAX_EVENTS)
        return;
    r->ev[r->n] = *ev;
    keep(r->text[r->n], ev->kind == AZK_CLIENT_EV_DPS_ASSIGNED ? ev->hub : ev->text);
    keep(r->payload[r->n], ev->kind == AZK_CLIENT_EV_METHOD ? ev->rid : ev->payload);
    r->n++;
}

static uint8_t work[8192];
static uint8_t srv_buf[8192];

/* Takes the next packet the client wants sent (decoded as the server would). */
static int take(struct azk_client *c, struct azk_mqtt_packet *p)
{
    const uint8_t *d;
    size_t n = azk_client_output(c, &d);
    if (n == 0)
        return -ENOENT;
    struct azk_mqtt_decoder_config cfg = {.role = AZK_MQTT_ROLE_SERVER};
    size_t len = 0;
    memcpy(srv_buf, d, n);
    int rc = azk_mqtt_decode(&cfg, srv_buf, n, p, &len, NULL);
    if (rc != 0)
        return rc;
    /* srv_buf keeps the bytes the packet's spans point into; drop them from the client. */
    azk_client_output_consumed(c, len);
    return 0;
}

static void feed_connack(struct azk_client *c, uint8_t code, uint64_t now)
{
    uint8_t b[4];
    size_t n = 0;
    struct azk_mqtt_connack a = {false, code};
    azk_mqtt_encode_connack(&a, b, sizeof(b), &n);
    azk_client_receive(c, b, n, now);
}

static void feed_suback(struct azk_client *c, uint16_t pid, const uint8_t *codes, size_t count,
                        uint64_t now)
{
    uint8_t b[16];
    size_t n = 0;
    azk_mqtt_encode_suback(pid, codes, count, b, sizeof(b), &n);
    /* Split in two to exercise partial input. */
    azk_client_receive(c, b, 1, now);
    azk_client_receive(c, b + 1, n - 1, now);
}

static void feed_publish(struct azk_client *c, const char *topic, const char *payload, int qos,
                         uint64_t now)
{
    uint8_t b[2048];
    size_t n = 0;
    struct azk_mqtt_publish p = {.topic = azk_span_from_str(topic),
                                 .payload = azk_span_from_str(payload),
                                 .qos = (uint8_t)qos,
                                 .packet_id = qos ? 77 : 0};
    azk_mqtt_encode_publish(&p, b, sizeof(b), &n);
    azk_client_receive(c, b, n, now);
}

static struct rec rec;

static void init_dps(struct azk_client *c)
{
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config cfg = {
        .id_scope = azk_span_from_str("0ne0000ABCD"),
        .registration_id = azk_span_from_str("dev-1"),
        .dps_host = azk_span_from_str("dps.example:8884"),
        .keepalive_s = 60,
        .on_event = on_event,
        .ctx = &rec,
    };
    CHECK_INT(azk_client_init(c, &cfg, work, sizeof(work)), 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* The whole way: DPS connect, subscribe, register, 202 + retry-after, poll, 200 assigned,
 * hand-over, hub connect, subscriptions, telemetry with PUBACK, keepalive. */
static void test_dps_then_hub(void)
{
    struct azk_client c;
    init_dps(&c);
    struct azk_client_endpoint ep;
    CHECK(!azk_client_endpoint(&c, &ep)); /* not started */
    CHECK_INT(azk_client_start(&c, 1000), 0);
    CHECK_INT(azk_client_start(&c, 1000), -EALREADY);
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK_MEM_STR(ep.host.ptr, ep.host.len, "dps.example");
    CHECK_INT(ep.port, 8884);
    CHECK(ep.dps);
    azk_client_transport_up(&c, 1000);
    CHECK(!azk_client_endpoint(&c, &ep)); /* has its transport */

    struct azk_mqtt_packet p;
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_CONNECT);
    CHECK_MEM_STR(p.u.connect.client_id.ptr, p.u.connect.client_id.len, "dev-1");
    CHECK_MEM_STR(p.u.connect.username.ptr, p.u.connect.username.len,
                  "0ne0000ABCD/registrations/dev-1/api-version=2019-03-31&ClientVersion=azkit");
    CHECK_INT(p.u.connect.keep_alive, 60);
    CHECK(p.u.connect.clean_session);

    feed_connack(&c, 0, 1010);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_SUBSCRIBE);
    struct azk_mqtt_iter it;
    struct azk_mqtt_subscription sub;
    azk_mqtt_iter_init(&it, &p);
    CHECK(azk_mqtt_iter_next_subscription(&it, &sub));
    CHECK_MEM_STR(sub.filter.ptr, sub.filter.len, "$dps/registrations/res/#");
    uint8_t one = 1;
    feed_suback(&c, p.u.subscribe.packet_id, &one, 1, 1020);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_DPS_REGISTERING);

    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PUBLISH);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len,
                  "$dps/registrations/PUT/iotdps-register/?$rid=1");
    CHECK_MEM_STR(p.u.publish.payload.ptr, p.u.publish.payload.len,
                  "{\"registrationId\":\"dev-1\"}");

    feed_publish(&c, "$dps/registrations/res/202/?$rid=1&retry-after=2",
                 "{\"operationId\":\"4.abc.def\",\"status\":\"assigning\"}", 0, 1030);
    CHECK_INT(take(&c, &p), -ENOENT); /* waits retry-after */
    CHECK_INT(azk_client_tick(&c, 1040), 3030);
    CHECK_INT(take(&c, &p), -ENOENT);
    azk_client_tick(&c, 3030);
    CHECK_INT(take(&c, &p), 0);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len,
                  "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=4.abc.def");

    feed_publish(&c, "$dps/registrations/res/200/?$rid=2",
                 "{\"operationId\":\"4.abc.def\",\"status\":\"assigned\",\"registrationState\":"
                 "{\"registrationId\":\"dev-1\",\"assignedHub\":\"hub.example:8885\","
                 "\"deviceId\":\"dev-1\",\"status\":\"assigned\",\"substatus\":"
                 "\"initialAssignment\"}}", 0, 3100);
    CHECK_INT(rec.n, 1);
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_DPS_ASSIGNED);
    CHECK_STR(rec.text[0], "hub.example:8885");
    CHECK(azk_client_wants_close(&c));
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_DISCONNECT);
    CHECK(!azk_client_endpoint(&c, &ep)); /* first the DPS connection goes */
    azk_client_transport_down(&c, 0, (struct azk_span){0}, 3110);
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK_MEM_STR(ep.host.ptr, ep.host.len, "hub.example");
    CHECK_INT(ep.port, 8885);
    CHECK(!ep.dps);

    azk_client_transport_up(&c, 3200);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_CONNECT);
    CHECK_MEM_STR(p.u.connect.username.ptr, p.u.connect.username.len,
                  "hub.example/dev-1/?api-version=2021-04-12");
    feed_connack(&c, 0, 3210);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_SUBSCRIBE);
    CHECK_INT(p.u.subscribe.count, 4);
    const char *want[] = {"$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#",
                          "$iothub/methods/POST/#", "devices/dev-1/messages/devicebound/#"};
    azk_mqtt_iter_init(&it, &p);
    for (int i = 0; i < 4; i++) {
        CHECK(azk_mqtt_iter_next_subscription(&it, &sub));
        CHECK_MEM_STR(sub.filter.ptr, sub.filter.len, want[i]);
    }
    /* Telemetry before the subscriptions are acknowledged: not connected yet. */
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("x"), 1, NULL),
              -ENOTCONN);
    uint8_t codes[4] = {0, 0, 0, 1};
    feed_suback(&c, p.u.subscribe.packet_id, codes, 4, 3220);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_CONNECTED);
    CHECK_INT(rec.ev[1].kind, AZK_CLIENT_EV_CONNECTED);

    uint32_t pid = 0;
    CHECK_INT(azk_client_send_telemetry(&c, azk_span_from_str("a=1"), azk_span_from_str("{\"t\":1}"),
                                        1, &pid),
              0);
    CHECK(pid != 0);
    CHECK_INT(take(&c, &p), 0);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len,
                  "devices/dev-1/messages/events/a=1");
    CHECK_INT(p.u.publish.qos, 1);
    uint8_t ack[4];
    size_t an = 0;
    azk_mqtt_encode_ack(AZK_MQTT_PUBACK, (uint16_t)pid, ack, sizeof(ack), &an);
    azk_client_receive(&c, ack, an, 3300);
    CHECK_INT(rec.ev[2].kind, AZK_CLIENT_EV_TELEMETRY_ACKED);
    CHECK_INT(rec.ev[2].packet_id, pid);

    /* Keepalive: a PINGREQ after 60 s of silence, and no PINGRESP closes the connection. */
    CHECK_INT(azk_client_tick(&c, 4000), 63220);
    azk_client_tick(&c, 63300);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PINGREQ);
    uint8_t pr[2] = {0xD0, 0x00};
    azk_client_receive(&c, pr, 2, 63400);
    azk_client_tick(&c, 123400);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PINGREQ);
    azk_client_tick(&c, 123400 + 30000);
    CHECK(azk_client_wants_close(&c));
}

/* Incoming: desired patch, method call (answered), C2D at QoS 1 (PUBACKed), twin answer. */
static void test_incoming(void)
{
    struct azk_client c;
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config cfg = {.hub_host = azk_span_from_str("hub.example"),
                                    .device_id = azk_span_from_str("d1"),
                                    .on_event = on_event,
                                    .ctx = &rec};
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    struct azk_client_endpoint ep;
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK_INT(ep.port, 8883);
    azk_client_transport_up(&c, 0);
    struct azk_mqtt_packet p;
    CHECK_INT(take(&c, &p), 0);
    feed_connack(&c, 0, 1);
    CHECK_INT(take(&c, &p), 0);
    uint8_t codes[4] = {0, 0, 0, 1};
    feed_suback(&c, p.u.subscribe.packet_id, codes, 4, 2);
    CHECK_INT(rec.n, 1);

    feed_publish(&c, "$iothub/twin/PATCH/properties/desired/?$version=7", "{\"x\":1,\"$version\":7}",
                 0, 10);
    CHECK_INT(rec.ev[1].kind, AZK_CLIENT_EV_DESIRED);
    CHECK_INT(rec.ev[1].version, 7);
    CHECK_STR(rec.payload[1], "{\"x\":1,\"$version\":7}");

    feed_publish(&c, "$iothub/methods/POST/reboot/?$rid=9f", "{\"delay\":1}", 0, 11);
    CHECK_INT(rec.ev[2].kind, AZK_CLIENT_EV_METHOD);
    CHECK_STR(rec.payload[2], "9f");
    CHECK_INT(azk_client_method_respond(&c, azk_span_from_str("9f"), 200, azk_span_from_str("{}")),
              0);
    CHECK_INT(take(&c, &p), 0);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len, "$iothub/methods/res/200/?$rid=9f");

    feed_publish(&c, "devices/d1/messages/devicebound/%24.mid=m1&k=v", "hello", 1, 12);
    CHECK_INT(rec.ev[3].kind, AZK_CLIENT_EV_C2D);
    CHECK_STR(rec.payload[3], "hello");
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PUBACK);
    CHECK_INT(p.u.packet_id, 77);

    char rid[16];
    CHECK_INT(azk_client_twin_get(&c, rid, sizeof(rid)), 0);
    CHECK_INT(take(&c, &p), 0);
    char topic[64];
    snprintf(topic, sizeof(topic), "$iothub/twin/GET/?$rid=%s", rid);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len, topic);
    snprintf(topic, sizeof(topic), "$iothub/twin/res/200/?$rid=%s", rid);
    feed_publish(&c, topic, "{\"desired\":{},\"reported\":{}}", 0, 13);
    CHECK_INT(rec.ev[4].kind, AZK_CLIENT_EV_TWIN);
    CHECK_INT(rec.ev[4].status, 200);

    /* Lost connection: DISCONNECTED, backoff 1 s, then it wants the hub again. */
    azk_client_transport_down(&c, -ECONNRESET, azk_span_from_str("reset"), 100);
    CHECK_INT(rec.ev[5].kind, AZK_CLIENT_EV_DISCONNECTED);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_BACKOFF);
    CHECK(!azk_client_endpoint(&c, &ep));
    uint64_t w1 = azk_client_tick(&c, 101); /* full jitter: 0 .. 1 s after the loss */
    CHECK(w1 > 100 && w1 <= 1100);
    azk_client_tick(&c, w1);
    CHECK(azk_client_endpoint(&c, &ep));
    /* A second loss doubles the wait. */
    azk_client_transport_down(&c, -ECONNREFUSED, (struct azk_span){0}, w1);
    uint64_t w2 = azk_client_tick(&c, w1);
    CHECK(w2 > w1 && w2 <= w1 + 2000);
}

/* A DPS client that sent its register request (taken from the output). */
static void dps_registering(struct azk_client *c)
{
    struct azk_mqtt_packet p;
    init_dps(c);
    azk_client_start(c, 0);
    azk_client_transport_up(c, 0);
    take(c, &p);
    feed_connack(c, 0, 1);
    take(c, &p);
    uint8_t one = 1;
    feed_suback(c, p.u.subscribe.packet_id, &one, 1, 2);
    take(c, &p);
}

/* retry-after is the server's word, 0 included (poll at once, as the SDKs do); without one
 * the client waits its default. */
static void test_dps_retry_after_values(void)
{
    struct azk_client c;
    struct azk_mqtt_packet p;
    dps_registering(&c);
    feed_publish(&c, "$dps/registrations/res/202/?$rid=1&retry-after=0",
                 "{\"operationId\":\"o\",\"status\":\"assigning\"}", 0, 10);
    azk_client_tick(&c, 10); /* no time passed: the poll goes out now */
    CHECK_INT(take(&c, &p), 0);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len,
                  "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=2&operationId=o");
    feed_publish(&c, "$dps/registrations/res/202/?$rid=2",
                 "{\"operationId\":\"o\",\"status\":\"assigning\"}", 0, 20);
    CHECK_INT(take(&c, &p), -ENOENT);
    CHECK_INT(azk_client_tick(&c, 30), 20 + 1000u * 3); /* DPS_RETRY_AFTER_DEFAULT_S */
}

/* Failures: each stops the client with its reason. */
static void test_failures(void)
{
    struct azk_client c;
    struct azk_mqtt_packet p;
    /* DPS 401 */
    dps_registering(&c);
    feed_publish(&c, "$dps/registrations/res/401/?$rid=1",
                 "{\"errorCode\":401002,\"trackingId\":\"t\",\"message\":\"Invalid certificate.\","
                 "\"timestampUtc\":\"2026-01-01T00:00:00Z\"}", 0, 3);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED);
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_FAILED);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_DPS_UNAUTHORIZED);
    CHECK_INT(rec.ev[0].code, 401002);
    CHECK_STR(rec.text[0], "Invalid certificate.");
    CHECK_INT(azk_client_last_error(&c), -EACCES);
    CHECK(azk_client_wants_close(&c));
    azk_client_transport_down(&c, 0, (struct azk_span){0}, 4);
    struct azk_client_endpoint ep;
    CHECK(!azk_client_endpoint(&c, &ep));

    /* DPS "failed" with its errorCode and message */
    dps_registering(&c);
    feed_publish(&c, "$dps/registrations/res/200/?$rid=1",
                 "{\"operationId\":\"o\",\"status\":\"failed\",\"registrationState\":{"
                 "\"registrationId\":\"dev-1\",\"status\":\"failed\",\"errorCode\":400209,"
                 "\"errorMessage\":\"no hub\"}}", 0, 3);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_DPS_FAILED);
    CHECK_INT(rec.ev[0].code, 400209);
    CHECK_STR(rec.text[0], "no hub");

    /* CONNACK 5 */
    init_dps(&c);
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    take(&c, &p);
    feed_connack(&c, 5, 1);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_CONNACK);
    CHECK_INT(rec.ev[0].code, 5);

    /* No CONNACK in time */
    init_dps(&c);
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    CHECK_INT(azk_client_tick(&c, 10), 30000);
    azk_client_tick(&c, 30000);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_TIMEOUT);

    /* Cannot connect to DPS: the driver's words are passed on */
    init_dps(&c);
    azk_client_start(&c, 0);
    azk_client_transport_down(&c, -ECONNREFUSED, azk_span_from_str("nothing listens"), 5);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_TRANSPORT);
    CHECK_INT(rec.ev[0].err, -ECONNREFUSED);
    CHECK_STR(rec.text[0], "nothing listens");

    /* A broken packet from the server */
    init_dps(&c);
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    take(&c, &p);
    uint8_t junk[2] = {0x00, 0x00}; /* reserved packet type 0 */
    CHECK(azk_client_receive(&c, junk, 2, 1) < 0);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_PROTOCOL);
}

/* CONNECT, CONNACK, SUBSCRIBE, SUBACK on a fresh transport at `now` (.. now + 2). */
static void hub_handshake(struct azk_client *c, uint64_t now)
{
    struct azk_mqtt_packet p;
    azk_client_transport_up(c, now);
    take(c, &p);
    feed_connack(c, 0, now + 1);
    take(c, &p);
    uint8_t codes[4] = {0, 0, 0, 1};
    feed_suback(c, p.u.subscribe.packet_id, codes, 4, now + 2);
}

/* A hub client (device "d1", keepalive 10 s) with an outbox (or NULL) and a window. */
static void hub_client(struct azk_client *c, struct azk_outbox *ob, uint8_t inflight)
{
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config cfg = {.hub_host = azk_span_from_str("hub.example"),
                                    .device_id = azk_span_from_str("d1"),
                                    .keepalive_s = 10,
                                    .outbox = ob,
                                    .inflight_max = inflight,
                                    .on_event = on_event,
                                    .ctx = &rec};
    CHECK_INT(azk_client_init(c, &cfg, work, 2048), 0);
    azk_client_start(c, 0);
}

/* A connected hub client (device "d1"), its subscriptions acknowledged. */
static void hub_connected(struct azk_client *c, int stop_on_disconnect)
{
    (void)stop_on_disconnect;
    hub_client(c, NULL, 0);
    hub_handshake(c, 0);
}

static struct azk_client *g_stop_target;
static void stop_on_disconnect(void *ctx, const struct azk_client_event *ev)
{
    on_event(ctx, ev);
    if (ev->kind == AZK_CLIENT_EV_DISCONNECTED)
        azk_client_stop(g_stop_target);
}

/* Findings of the review, each pinned. */
static void test_edge_cases(void)
{
    struct azk_client c;
    struct azk_mqtt_packet p;
    /* Stopping from the DISCONNECTED callback sticks. */
    hub_connected(&c, 1);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_CONNECTED);
    g_stop_target = &c;
    c._internal.cfg.on_event = stop_on_disconnect;
    azk_client_transport_down(&c, -ECONNRESET, (struct azk_span){0}, 10);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_STOPPED);
    azk_client_tick(&c, 100000);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_STOPPED);
    struct azk_client_endpoint ep;
    CHECK(!azk_client_endpoint(&c, &ep));

    /* Telemetry that can never fit: -EMSGSIZE, not -ENOBUFS forever. */
    hub_connected(&c, 0);
    static char big[1500];
    memset(big, 'x', sizeof(big) - 1);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str(big), 1, NULL),
              -EMSGSIZE);

    /* After a first connection, CONNACK 3 (unavailable) is retried, not final. */
    hub_connected(&c, 0);
    azk_client_transport_down(&c, -ECONNRESET, (struct azk_span){0}, 10);
    azk_client_tick(&c, 1010); /* the first wait is at most 1 s */
    CHECK(azk_client_endpoint(&c, &ep));
    azk_client_transport_up(&c, 1020);
    take(&c, &p);
    feed_connack(&c, 3, 1030);
    CHECK(azk_client_state(&c) != AZK_CLIENT_FAILED);
    CHECK(azk_client_wants_close(&c));
    azk_client_transport_down(&c, 0, (struct azk_span){0}, 1040);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_BACKOFF);

    /* tick never asks to be called in the past. */
    CHECK(azk_client_tick(&c, 1040) > 1040);

    /* DPS: an empty 429 waits for retry-after; a QoS 1 answer is acknowledged; a stray
     * CONNACK is a protocol error; keepalive runs while waiting. */
    dps_registering(&c);
    feed_publish(&c, "$dps/registrations/res/429/?$rid=1&retry-after=5", "", 1, 10);
    CHECK(azk_client_state(&c) == AZK_CLIENT_DPS_REGISTERING);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PUBACK);
    CHECK_INT(azk_client_tick(&c, 20), 5010);
    azk_client_tick(&c, 5010);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PUBLISH); /* the register request again */
    feed_publish(&c, "$dps/registrations/res/202/?$rid=2&retry-after=120",
                 "{\"operationId\":\"o1\",\"status\":\"assigning\"}", 0, 5020);
    azk_client_tick(&c, 5010 + 60000);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PINGREQ); /* keepalive 60 s while retry-after is 120 s */
    feed_connack(&c, 0, 70000);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_PROTOCOL);
}

static void feed_puback(struct azk_client *c, uint16_t pid, uint64_t now)
{
    uint8_t b[4];
    size_t n = 0;
    azk_mqtt_encode_ack(AZK_MQTT_PUBACK, pid, b, sizeof(b), &n);
    azk_client_receive(c, b, n, now);
}

/* The memory outbox: FIFO, out-of-order removal, full without eviction, never a byte
 * written past its memory (a guard follows the 100 bytes it is given). */
static void test_outbox_mem(void)
{
    struct azk_outbox_mem m;
    static uint8_t mem[100 + 16];
    uint8_t *buf = mem;
    memset(mem + 100, 0xa5, 16);
    CHECK_INT(azk_outbox_mem_init(&m, buf, 8), -EINVAL);
    CHECK_INT(azk_outbox_mem_init(&m, buf, 100), 0);
    struct azk_outbox *ob = &m.ob;
    uint32_t id = 0;
    /* 12 + 2 + 10 = 24 bytes each: four fit in 100. */
    for (uint32_t i = 1; i <= 4; i++) {
        CHECK_INT(ob->put(ob, azk_span_from_str("p="), azk_span_from_str("0123456789"), &id), 0);
        CHECK_INT(id, i);
    }
    CHECK_INT(ob->put(ob, azk_span_from_str("p="), azk_span_from_str("0123456789"), &id),
              -ENOSPC);
    CHECK_INT(ob->put(ob, (struct azk_span){0}, azk_span_from_str(
                                                   "0123456789012345678901234567890123456789"
                                                   "0123456789012345678901234567890123456789"
                                                   "0123456789"),
                      &id),
              -EMSGSIZE);
    CHECK_INT(azk_outbox_mem_count(&m), 4);
    struct azk_outbox_msg msg;
    CHECK_INT(ob->next(ob, 0, &msg), 0);
    CHECK_INT(msg.id, 1);
    CHECK_MEM_STR(msg.props.ptr, msg.props.len, "p=");
    CHECK_MEM_STR(msg.payload.ptr, msg.payload.len, "0123456789");
    /* Out of order: 2 goes, 1 stays first; then 1 goes and both leave the memory. */
    CHECK_INT(ob->remove(ob, 2), 0);
    CHECK_INT(ob->remove(ob, 2), -ENOENT);
    CHECK_INT(ob->next(ob, 1, &msg), 0);
    CHECK_INT(msg.id, 3);
    CHECK_INT(ob->put(ob, (struct azk_span){0}, azk_span_from_str("x"), &id), -ENOSPC);
    CHECK_INT(ob->remove(ob, 1), 0);
    CHECK_INT(ob->put(ob, (struct azk_span){0}, azk_span_from_str("x"), &id), 0);
    CHECK_INT(id, 5);
    CHECK_INT(ob->next(ob, 0, &msg), 0);
    CHECK_INT(msg.id, 3);
    CHECK_INT(ob->next(ob, 4, &msg), 0);
    CHECK_INT(msg.id, 5);
    CHECK_MEM_STR(msg.payload.ptr, msg.payload.len, "x");
    CHECK_INT(ob->next(ob, 5, &msg), -ENOENT);
    CHECK_INT(azk_outbox_mem_count(&m), 3);
    /* 5 went to the start of the memory (before 3 and 4): the ring is full at 4 records;
     * removed out of order across the wrap, the order stays 3, 4, 5, 6. */
    CHECK_INT(ob->put(ob, azk_span_from_str("p="), azk_span_from_str("0123456789"), &id), 0);
    CHECK_INT(id, 6);
    CHECK_INT(ob->put(ob, (struct azk_span){0}, azk_span_from_str("x"), &id), -ENOSPC);
    CHECK_INT(ob->remove(ob, 5), 0);
    CHECK_INT(ob->put(ob, (struct azk_span){0}, azk_span_from_str("x"), &id), -ENOSPC);
    CHECK_INT(ob->next(ob, 4, &msg), 0);
    CHECK_INT(msg.id, 6);
    CHECK_INT(ob->remove(ob, 4), 0);
    CHECK_INT(ob->next(ob, 0, &msg), 0);
    CHECK_INT(msg.id, 3);
    CHECK_INT(ob->remove(ob, 3), 0); /* the front passes 4, then 5 at the start: 6 is first */
    CHECK_INT(ob->next(ob, 0, &msg), 0);
    CHECK_INT(msg.id, 6);
    CHECK_MEM_STR(msg.payload.ptr, msg.payload.len, "0123456789");
    CHECK_INT(ob->put(ob, (struct azk_span){0}, azk_span_from_str("0123456789012345678901234567"
                                                                    "0123456789012345678901"),
                      &id),
              0); /* 64 bytes fit neither after 6 nor before it: 6 moves down to 0 */
    CHECK_INT(id, 7);
    CHECK_INT(ob->next(ob, 0, &msg), 0);
    CHECK_INT(msg.id, 6);
    CHECK_MEM_STR(msg.payload.ptr, msg.payload.len, "0123456789");
    CHECK_INT(ob->next(ob, 6, &msg), 0);
    CHECK_INT(msg.id, 7);
    CHECK_INT((int)msg.payload.len, 50);
    CHECK_INT(azk_outbox_mem_count(&m), 2);

    /* A long FIFO run through the small memory, messages of varying sizes, acknowledged
     * oldest first: the records wrap round the memory (never split), moving down only when a
     * new one fits neither after them nor before them, and every message comes out whole
     * and in order. */
    CHECK_INT(azk_outbox_mem_init(&m, buf, 100), 0);
    static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint32_t first = 1, next_id = 1;
    for (unsigned round = 0; round < 500; round++) {
        size_t len = 1 + (round * 7u) % 30u;
        int rc = ob->put(ob, (struct azk_span){0}, (struct azk_span){text + round % 5u, len},
                         &id);
        while (rc == -ENOSPC) {
            CHECK_INT(ob->next(ob, 0, &msg), 0);
            CHECK_INT(msg.id, first);
            CHECK_INT(ob->remove(ob, first++), 0);
            rc = ob->put(ob, (struct azk_span){0}, (struct azk_span){text + round % 5u, len},
                         &id);
        }
        CHECK_INT(rc, 0);
        CHECK_INT(id, next_id++);
        CHECK_INT(ob->next(ob, id - 1, &msg), 0);
        CHECK_INT(msg.id, id);
        CHECK(msg.payload.len == len && memcmp(msg.payload.ptr, text + round % 5u, len) == 0);
    }
    CHECK_INT(azk_outbox_mem_count(&m), next_id - first);
    for (size_t i = 100; i < sizeof(mem); i++)
        CHECK_INT(mem[i], 0xa5);
}

/* With an outbox: accepted before connecting, sent within the window, acknowledged ones
 * removed, the rest sent again with DUP after a reconnect; nothing reported lost. */
static void test_outbox_delivery(void)
{
    struct azk_outbox_mem m;
    static uint8_t buf[1024];
    azk_outbox_mem_init(&m, buf, sizeof(buf));
    struct azk_client c;
    struct azk_mqtt_packet p;
    hub_client(&c, &m.ob, 2);
    uint32_t id = 0;
    for (int i = 1; i <= 3; i++) {
        char body[8] = {'{', '"', 'n', '"', ':', (char)('0' + i), '}', 0};
        CHECK_INT(azk_client_send_telemetry(&c, azk_span_from_str("a=1"), azk_span_from_str(body),
                                            1, &id),
                  0);
        CHECK_INT(id, (uint32_t)i);
    }
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("q0"), 0,
                                        NULL),
              -ENOTCONN); /* QoS 0 is not kept */
    hub_handshake(&c, 0);
    uint16_t pids[3];
    for (int i = 0; i < 2; i++) { /* the window: two */
        CHECK_INT(take(&c, &p), 0);
        CHECK_INT(p.type, AZK_MQTT_PUBLISH);
        CHECK_INT(p.u.publish.qos, 1);
        CHECK(!p.u.publish.dup);
        CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len,
                      "devices/d1/messages/events/a=1");
        pids[i] = p.u.publish.packet_id;
    }
    CHECK_MEM_STR(p.u.publish.payload.ptr, p.u.publish.payload.len, "{\"n\":2}");
    CHECK_INT(take(&c, &p), -ENOENT);
    feed_puback(&c, pids[0], 10);
    CHECK_INT(rec.ev[rec.n - 1].kind, AZK_CLIENT_EV_TELEMETRY_ACKED);
    CHECK_INT(rec.ev[rec.n - 1].msg_id, 1);
    CHECK_INT(take(&c, &p), 0); /* the third now */
    CHECK_MEM_STR(p.u.publish.payload.ptr, p.u.publish.payload.len, "{\"n\":3}");
    CHECK_INT(azk_outbox_mem_count(&m), 2);

    /* The connection goes: 2 and 3 stay, sent again (DUP) on the next connection. */
    int before = rec.n;
    azk_client_transport_down(&c, -ECONNRESET, (struct azk_span){0}, 20);
    for (int i = before; i < rec.n; i++)
        CHECK(rec.ev[i].kind != AZK_CLIENT_EV_TELEMETRY_FAILED);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("{\"n\":4}"),
                                        1, &id),
              0); /* accepted while away */
    azk_client_tick(&c, 20 + 1000);
    hub_handshake(&c, 2000);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(take(&c, &p), 0);
        CHECK_INT(p.type, AZK_MQTT_PUBLISH);
        CHECK(p.u.publish.dup);
        pids[i] = p.u.publish.packet_id;
    }
    CHECK_MEM_STR(p.u.publish.payload.ptr, p.u.publish.payload.len, "{\"n\":3}");
    /* Acknowledged out of order: 3 first; then 4 (never sent before: no DUP) goes out. */
    feed_puback(&c, pids[1], 2010);
    CHECK_INT(rec.ev[rec.n - 1].msg_id, 3);
    CHECK_INT(take(&c, &p), 0);
    CHECK(!p.u.publish.dup);
    pids[2] = p.u.publish.packet_id;
    feed_puback(&c, pids[0], 2020);
    feed_puback(&c, pids[2], 2030);
    CHECK_INT(azk_outbox_mem_count(&m), 0);
    CHECK_INT(take(&c, &p), -ENOENT);

    /* Full: an error to the caller, nothing evicted. */
    static uint8_t small[64];
    azk_outbox_mem_init(&m, small, sizeof(small));
    hub_client(&c, &m.ob, 1);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("0123456789"),
                                        1, &id),
              0);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("0123456789"),
                                        1, &id),
              0);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("0123456789"),
                                        1, &id),
              -ENOSPC);
    CHECK_INT(azk_outbox_mem_count(&m), 2);
}

/* A link that swallows everything is found while telemetry flows: PINGREQ when nothing was
 * received for the keepalive period, and a PUBACK deadline. Without an outbox, what was in
 * flight is reported, and the window is enforced. */
static void test_dead_link(void)
{
    struct azk_client c;
    struct azk_mqtt_packet p;
    hub_client(&c, NULL, 1);
    hub_handshake(&c, 0);
    /* QoS 0 every second: sending alone does not hold off the PINGREQ. */
    uint64_t t = 1000;
    for (; t < 10000; t += 1000) {
        CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("x"), 0,
                                            NULL),
                  0);
        take(&c, &p);
        CHECK(azk_client_tick(&c, t) <= 10002);
        CHECK_INT(take(&c, &p), -ENOENT);
    }
    azk_client_tick(&c, 10002); /* 10 s after the last byte received */
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PINGREQ);
    uint8_t pr[2] = {0xD0, 0x00};
    azk_client_receive(&c, pr, 2, 10010);

    /* QoS 1 without an answer: the PUBACK deadline (30 s) closes the connection. */
    uint32_t id = 0;
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("y"), 1, &id),
              0);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("z"), 1, NULL),
              -ENOBUFS); /* window of one */
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.u.publish.packet_id, id);
    CHECK(azk_client_tick(&c, 10020) <= 10020 + 30000);
    azk_client_tick(&c, 10020 + 30000);
    CHECK(azk_client_wants_close(&c));
    azk_client_transport_down(&c, 0, (struct azk_span){0}, 40030);
    int failed = -1, disconnected = -1;
    for (int i = 0; i < rec.n; i++) {
        if (rec.ev[i].kind == AZK_CLIENT_EV_TELEMETRY_FAILED)
            failed = i;
        if (rec.ev[i].kind == AZK_CLIENT_EV_DISCONNECTED)
            disconnected = i;
    }
    CHECK(failed >= 0 && disconnected >= 0);
    CHECK_INT(rec.ev[failed].msg_id, id);
    CHECK_STR(rec.text[disconnected],
              "no PINGRESP or PUBACK in time: the connection is dead");
}

/* Injected random source: a per-client LCG, or a fixed value. */
struct rnd {
    uint32_t state;
    int fixed; /* 1: return `value` */
    uint32_t value;
    int64_t wait; /* the last RETRYING event's wait (-1: none) */
};

static uint32_t rnd_next(void *ctx)
{
    struct rnd *r = ctx;
    if (r->fixed)
        return r->value;
    r->state = r->state * 1664525u + 1013904223u;
    return r->state ^ (r->state >> 16);
}

static void keep_wait(void *ctx, const struct azk_client_event *ev)
{
    if (ev->kind == AZK_CLIENT_EV_RETRYING)
        ((struct rnd *)ctx)->wait = ev->retry_in_ms;
}

/* The wake schedule is full jitter as promised, checked on the schedule itself (injected clock
 * and random source): windows 1 s, 2 s, 4 s ... capped at 5 min, each wait uniform in
 * 0..window, before the first connection as after; 1,000 clients that fail at once spread
 * evenly over the first second. */
static void test_full_jitter_schedule(void)
{
    static struct azk_client fleet[1000];
    static struct rnd rnds[1000];
    static uint8_t works[1000][1024];
    int buckets[10] = {0};
    for (int i = 0; i < 1000; i++) {
        rnds[i].state = (uint32_t)i * 2654435761u + 1u;
        rnds[i].wait = -1;
        struct azk_client_config cfg = {.hub_host = azk_span_from_str("hub.example"),
                                        .device_id = azk_span_from_str("d"),
                                        .random = rnd_next,
                                        .random_ctx = &rnds[i],
                                        .on_event = keep_wait,
                                        .ctx = &rnds[i]};
        CHECK_INT(azk_client_init(&fleet[i], &cfg, works[i], sizeof(works[i])), 0);
        azk_client_start(&fleet[i], 5000);
        /* Never connected: the hub refuses TCP. Not final: a wait. */
        azk_client_transport_down(&fleet[i], -ECONNREFUSED, (struct azk_span){0}, 5000);
        CHECK_INT(azk_client_state(&fleet[i]), AZK_CLIENT_BACKOFF);
        int64_t w = rnds[i].wait;
        CHECK(w >= 0 && w <= 1000);
        /* The schedule: the driver is woken exactly then (a 0 wait reconnects at once). */
        if (w > 0)
            CHECK_INT(azk_client_tick(&fleet[i], 5000), 5000 + (uint64_t)w);
        azk_client_tick(&fleet[i], 5000 + (uint64_t)w);
        struct azk_client_endpoint ep;
        CHECK(azk_client_endpoint(&fleet[i], &ep));
        buckets[w == 1000 ? 9 : w / 100]++;
    }
    for (int b = 0; b < 10; b++) /* 100 expected per 100 ms; binomial sd ~9.5 */
        CHECK(buckets[b] >= 60 && buckets[b] <= 140);

    /* The windows: a random source at its maximum waits the whole window. */
    struct azk_client c;
    struct rnd top = {.fixed = 1, .value = 0xffffffffu};
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config cfg = {.hub_host = azk_span_from_str("hub.example"),
                                    .device_id = azk_span_from_str("d"),
                                    .random = rnd_next,
                                    .random_ctx = &top,
                                    .max_retries = 12,
                                    .on_event = on_event,
                                    .ctx = &rec};
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    uint64_t now = 0;
    const uint32_t want[12] = {1000,  2000,  4000,   8000,   16000,  32000,
                               64000, 128000, 256000, 300000, 300000, 300000};
    for (int n = 0; n < 12; n++) {
        rec.n = 0;
        azk_client_transport_down(&c, -ETIMEDOUT, (struct azk_span){0}, now);
        CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_RETRYING);
        CHECK_INT(rec.ev[0].attempt, (uint32_t)n + 1);
        CHECK_INT(rec.ev[0].retry_in_ms, want[n]);
        CHECK_INT(azk_client_tick(&c, now), now + want[n]);
        now += want[n];
        azk_client_tick(&c, now);
        struct azk_client_endpoint ep;
        CHECK(azk_client_endpoint(&c, &ep)); /* connects again */
    }
    /* --max-retries: the 13th consecutive failure is final, with its reason. */
    rec.n = 0;
    azk_client_transport_down(&c, -ETIMEDOUT, azk_span_from_str("slow"), now);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED);
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_FAILED);
    CHECK_STR(rec.text[0], "slow");

    /* At its minimum: no wait at all (full jitter reaches 0), still a wake in the future. */
    top.value = 0;
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 100);
    rec.n = 0;
    azk_client_transport_down(&c, -ECONNREFUSED, (struct azk_span){0}, 100);
    CHECK_INT(rec.ev[0].retry_in_ms, 0);
    azk_client_tick(&c, 100);
    struct azk_client_endpoint ep0;
    CHECK(azk_client_endpoint(&c, &ep0));

    /* A refusal: final by default; with retry_refusals a slow retry in the second half of
     * retry_max_ms. A successful connection resets the windows. */
    top.value = 0x80000000u;
    cfg.retry_refusals = true;
    cfg.max_retries = 0;
    CHECK_INT(azk_client_init(&c, &cfg, work, 2048), 0);
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    struct azk_mqtt_packet p;
    take(&c, &p);
    rec.n = 0;
    feed_connack(&c, 5, 10);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_BACKOFF);
    CHECK(azk_client_wants_close(&c));
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_RETRYING);
    CHECK_INT(rec.ev[0].failure, AZK_CLIENT_F_CONNACK);
    CHECK_INT(rec.ev[0].code, 5);
    CHECK_INT(rec.ev[0].retry_in_ms, 150000 + 75000);
    azk_client_transport_down(&c, 0, (struct azk_span){0}, 20); /* asked for: no new failure */
    CHECK_INT(rec.n, 1);
    azk_client_tick(&c, 10 + 225000);
    hub_handshake(&c, 10 + 225000);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_CONNECTED);
    rec.n = 0;
    azk_client_transport_down(&c, -ECONNRESET, (struct azk_span){0}, 300000);
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_DISCONNECTED);
    CHECK_INT(rec.ev[1].kind, AZK_CLIENT_EV_RETRYING);
    CHECK_INT(rec.ev[1].attempt, 1);
    CHECK_INT(rec.ev[1].retry_in_ms, 500); /* half of the first window again */
    cfg.retry_refusals = false;
    CHECK_INT(azk_client_init(&c, &cfg, work, 2048), 0);
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    take(&c, &p);
    feed_connack(&c, 5, 10);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED);
}

/* Before the first connection, DPS alike: a refused TCP connection to DPS is retried and DPS
 * is asked again from the start; a TLS refusal (-ECONNABORTED) is final; --once makes any
 * failure final. */
static void test_retry_before_first_connection(void)
{
    struct azk_client c;
    struct azk_client_endpoint ep;
    struct azk_mqtt_packet p;
    dps_registering(&c);
    rec.n = 0;
    azk_client_transport_down(&c, -ECONNRESET, azk_span_from_str("reset by the peer"), 50);
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_RETRYING);
    CHECK_STR(rec.text[0], "reset by the peer"); /* the driver's words */
    azk_client_tick(&c, 50 + rec.ev[0].retry_in_ms);
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK(ep.dps);
    azk_client_transport_up(&c, 2000);
    take(&c, &p);
    feed_connack(&c, 0, 2001);
    take(&c, &p);
    uint8_t one = 1;
    feed_suback(&c, p.u.subscribe.packet_id, &one, 1, 2002);
    CHECK_INT(take(&c, &p), 0);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len,
                  "$dps/registrations/PUT/iotdps-register/?$rid=2"); /* registers again */

    /* The overall DPS deadline (300 s): "assigning" for ever is retried from the start. */
    dps_registering(&c);
    rec.n = 0;
    uint64_t t = 10;
    for (int i = 0; i < 8 && azk_client_state(&c) == AZK_CLIENT_DPS_REGISTERING; i++) {
        feed_publish(&c, "$dps/registrations/res/202/?$rid=1&retry-after=60",
                     "{\"operationId\":\"o\",\"status\":\"assigning\"}", 0, t);
        t += 60000;
        azk_client_tick(&c, t);
        azk_client_output_consumed(&c, 100000); /* the polls and PINGREQs went out */
    }
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_BACKOFF);
    CHECK(t > 300000 && t <= 360010);
    CHECK_INT(rec.ev[rec.n - 1].kind, AZK_CLIENT_EV_RETRYING);
    CHECK_INT(rec.ev[rec.n - 1].failure, AZK_CLIENT_F_TIMEOUT);

    init_dps(&c);
    azk_client_start(&c, 0);
    azk_client_transport_down(&c, -ECONNABORTED, azk_span_from_str("untrusted"), 0);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED);

    struct azk_client_config cfg = {.hub_host = azk_span_from_str("hub.example"),
                                    .device_id = azk_span_from_str("d"),
                                    .no_retry = true,
                                    .on_event = on_event,
                                    .ctx = &rec};
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    azk_client_transport_down(&c, -ECONNREFUSED, (struct azk_span){0}, 0);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED);
}

/* An assignment store in memory (as firmware would keep it in flash). */
struct mem_assignment {
    struct azk_assignment_store st;
    char scope[40], reg[140], hub[270], dev[140];
    int saves, forgets;
};

static int ma_load(struct azk_assignment_store *s, struct azk_span scope, struct azk_span reg,
                   char *hub, size_t hub_size, char *dev, size_t dev_size)
{
    struct mem_assignment *m = (struct mem_assignment *)s;
    if (!m->hub[0] || !azk_span_eq_str(scope, m->scope) || !azk_span_eq_str(reg, m->reg))
        return -ENOENT;
    snprintf(hub, hub_size, "%s", m->hub);
    snprintf(dev, dev_size, "%s", m->dev);
    return 0;
}

static int ma_save(struct azk_assignment_store *s, struct azk_span scope, struct azk_span reg,
                   struct azk_span hub, struct azk_span dev)
{
    struct mem_assignment *m = (struct mem_assignment *)s;
    snprintf(m->scope, sizeof(m->scope), "%.*s", (int)scope.len, scope.ptr);
    snprintf(m->reg, sizeof(m->reg), "%.*s", (int)reg.len, reg.ptr);
    snprintf(m->hub, sizeof(m->hub), "%.*s", (int)hub.len, hub.ptr);
    snprintf(m->dev, sizeof(m->dev), "%.*s", (int)dev.len, dev.ptr);
    m->saves++;
    return 0;
}

static int ma_forget(struct azk_assignment_store *s)
{
    struct mem_assignment *m = (struct mem_assignment *)s;
    m->hub[0] = '\0';
    m->forgets++;
    return 0;
}

/* DPS once: the assignment DPS gave is saved; the next start connects to that hub without DPS;
 * three CONNACK 5 there in a row make the client forget it and register again (DPS may have
 * moved the device); a refusal after that is final. */
static void test_dps_assignment(void)
{
    struct mem_assignment m = {.st = {ma_load, ma_save, ma_forget}};
    struct azk_client c;
    struct azk_client_endpoint ep;
    struct azk_mqtt_packet p;
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config cfg = {
        .id_scope = azk_span_from_str("0ne0000ABCD"),
        .registration_id = azk_span_from_str("dev-1"),
        .dps_host = azk_span_from_str("dps.example"),
        .assignment = &m.st,
        .on_event = on_event,
        .ctx = &rec,
    };
    /* First start: DPS, and the assignment is saved. */
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    CHECK(azk_client_endpoint(&c, &ep) && ep.dps);
    azk_client_transport_up(&c, 0);
    take(&c, &p);
    feed_connack(&c, 0, 1);
    take(&c, &p);
    uint8_t one = 1;
    feed_suback(&c, p.u.subscribe.packet_id, &one, 1, 2);
    take(&c, &p);
    feed_publish(&c, "$dps/registrations/res/200/?$rid=1",
                 "{\"operationId\":\"o\",\"status\":\"assigned\",\"registrationState\":"
                 "{\"assignedHub\":\"hub-a.example\",\"deviceId\":\"dev-1\",\"status\":"
                 "\"assigned\"}}",
                 0, 3);
    CHECK_INT(m.saves, 1);
    CHECK_STR(m.hub, "hub-a.example");
    CHECK_STR(m.scope, "0ne0000ABCD");

    /* Next start: straight to hub-a, DPS not asked. */
    memset(&rec, 0, sizeof(rec));
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 100);
    CHECK_INT(rec.ev[0].kind, AZK_CLIENT_EV_DPS_ASSIGNED);
    CHECK(rec.ev[0].stored);
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK(!ep.dps);
    CHECK_MEM_STR(ep.host.ptr, ep.host.len, "hub-a.example");
    hub_handshake(&c, 100);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_CONNECTED);

    /* Another registration id: not this assignment. */
    cfg.registration_id = azk_span_from_str("dev-2");
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    CHECK(azk_client_endpoint(&c, &ep) && ep.dps);
    cfg.registration_id = azk_span_from_str("dev-1");

    /* The hub no longer knows the device: two refusals are retried, the third asks DPS. */
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    uint64_t now = 0;
    for (int i = 0; i < 3; i++) {
        CHECK(azk_client_endpoint(&c, &ep));
        CHECK(!ep.dps);
        azk_client_transport_up(&c, now);
        take(&c, &p);
        feed_connack(&c, 5, now + 1);
        CHECK_INT(azk_client_state(&c), AZK_CLIENT_BACKOFF);
        azk_client_transport_down(&c, 0, (struct azk_span){0}, now + 2);
        now += 400000;
        azk_client_tick(&c, now);
    }
    CHECK_INT(m.forgets, 1);
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK(ep.dps); /* registers again */
    azk_client_transport_up(&c, now);
    take(&c, &p);
    feed_connack(&c, 0, now + 1);
    take(&c, &p);
    feed_suback(&c, p.u.subscribe.packet_id, &one, 1, now + 2);
    take(&c, &p);
    feed_publish(&c, "$dps/registrations/res/200/?$rid=1",
                 "{\"operationId\":\"o\",\"status\":\"assigned\",\"registrationState\":"
                 "{\"assignedHub\":\"hub-b.example\",\"deviceId\":\"dev-1\",\"status\":"
                 "\"assigned\",\"substatus\":\"reprovisionedToNewHub\"}}",
                 0, now + 3);
    CHECK_STR(m.hub, "hub-b.example"); /* followed */
    azk_client_transport_down(&c, 0, (struct azk_span){0}, now + 4);
    CHECK(azk_client_endpoint(&c, &ep));
    CHECK_MEM_STR(ep.host.ptr, ep.host.len, "hub-b.example");
    azk_client_transport_up(&c, now + 5);
    take(&c, &p);
    feed_connack(&c, 5, now + 6);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_FAILED); /* refused after registering again */
}

/* A GET the twin sync sent: its rid matches the state's. */
static void expect_get(struct azk_client *c, struct azk_twin_sync *s)
{
    struct azk_mqtt_packet p;
    char want[64];
    CHECK_INT(take(c, &p), 0);
    snprintf(want, sizeof(want), "$iothub/twin/GET/?$rid=%s", s->_internal.rid);
    CHECK_MEM_STR(p.u.publish.topic.ptr, p.u.publish.topic.len, want);
}

static int sync_twin(struct azk_twin_sync *s, struct azk_client *c, int status, const char *doc,
                     struct azk_twin_sync_update *u)
{
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_TWIN, .status = status,
                                  .rid = azk_span_from_str(s->_internal.rid),
                                  .payload = azk_span_from_str(doc)};
    return azk_twin_sync_event(s, c, &ev, u);
}

static int sync_patch(struct azk_twin_sync *s, struct azk_client *c, int64_t v, const char *body,
                      struct azk_twin_sync_update *u)
{
    struct azk_client_event ev = {.kind = AZK_CLIENT_EV_DESIRED, .version = v,
                                  .payload = azk_span_from_str(body)};
    return azk_twin_sync_event(s, c, &ev, u);
}

/* The twin in sync: GET on every connection, patches by $version, a GET on a gap and when a
 * patch overtook the GET answer, 429 asked again, older patches ignored. */
static void test_twin_sync(void)
{
    struct azk_client c;
    struct azk_mqtt_packet p;
    struct azk_twin_sync s;
    struct azk_twin_sync_update u;
    hub_client(&c, NULL, 0);
    hub_handshake(&c, 0);
    azk_twin_sync_init(&s);
    struct azk_client_event conn = {.kind = AZK_CLIENT_EV_CONNECTED};
    CHECK_INT(azk_twin_sync_event(&s, &c, &conn, &u), 0);
    expect_get(&c, &s);
    /* v5 overtakes the answer (a snapshot at v4): the answer is applied, then a new GET. */
    CHECK_INT(sync_patch(&s, &c, 5, "{\"a\":5,\"$version\":5}", &u), 0);
    CHECK_INT(sync_twin(&s, &c, 200, "{\"desired\":{\"a\":4,\"$version\":4},\"reported\":"
                                     "{\"$version\":1}}", &u),
              1);
    CHECK_INT(u.kind, AZK_TWIN_SYNC_FULL);
    CHECK_INT(u.version, 4);
    CHECK_MEM_STR(u.desired.ptr, u.desired.len, "{\"a\":4,\"$version\":4}");
    expect_get(&c, &s);
    CHECK_INT(sync_twin(&s, &c, 200, "{\"desired\":{\"a\":5,\"$version\":5},\"reported\":{}}",
                        &u),
              1);
    CHECK_INT(u.version, 5);
    CHECK_INT(take(&c, &p), -ENOENT);
    /* In order: applied; seen or older: ignored; a gap: the full twin again. */
    CHECK_INT(sync_patch(&s, &c, 5, "{\"a\":5,\"$version\":5}", &u), 0);
    CHECK_INT(sync_patch(&s, &c, 6, "{\"a\":6,\"$version\":6}", &u), 1);
    CHECK_INT(u.kind, AZK_TWIN_SYNC_PATCH);
    CHECK_MEM_STR(u.desired.ptr, u.desired.len, "{\"a\":6,\"$version\":6}");
    CHECK_INT(sync_patch(&s, &c, 3, "{\"a\":3,\"$version\":3}", &u), 0);
    CHECK_INT(take(&c, &p), -ENOENT);
    CHECK_INT(sync_patch(&s, &c, 8, "{\"a\":8,\"$version\":8}", &u), 0);
    expect_get(&c, &s);
    /* Throttled: asked again; then the answer. */
    CHECK_INT(sync_twin(&s, &c, 429, "", &u), 0);
    expect_get(&c, &s);
    CHECK_INT(sync_twin(&s, &c, 200, "{\"desired\":{\"a\":8,\"$version\":8}}", &u), 1);
    CHECK_INT(azk_twin_sync_version(&s), 8);
    /* Offline, desired changed twice: after the reconnect the full twin brings v10. */
    struct azk_client_event lost = {.kind = AZK_CLIENT_EV_DISCONNECTED};
    azk_twin_sync_event(&s, &c, &lost, &u);
    CHECK_INT(azk_twin_sync_event(&s, &c, &conn, &u), 0);
    expect_get(&c, &s);
    CHECK_INT(sync_twin(&s, &c, 200, "{\"desired\":{\"a\":10,\"$version\":10}}", &u), 1);
    CHECK_INT(u.kind, AZK_TWIN_SYNC_FULL);
    CHECK_INT(u.version, 10);
    /* Another rid (the application's own GET): not this one's business. */
    struct azk_client_event other = {.kind = AZK_CLIENT_EV_TWIN, .status = 200,
                                     .rid = azk_span_from_str("x")};
    CHECK_INT(azk_twin_sync_event(&s, &c, &other, &u), 0);
}

/* SAS: the password callback's view of each CONNECT, and the token it hands out. */
static struct {
    int calls;
    bool dps;
    char username[128], client_id[64], token[32];
} g_pw;

static void password(void *ctx, bool dps, struct azk_mqtt_connect *m)
{
    CHECK(ctx == &rec);
    g_pw.calls++;
    g_pw.dps = dps;
    keep(g_pw.username, m->username);
    keep(g_pw.client_id, m->client_id);
    snprintf(g_pw.token, sizeof(g_pw.token), "SharedAccessSignature t%d", g_pw.calls);
    m->password = azk_span_from_str(g_pw.token);
    m->has_password = true;
}

/* A symmetric-key device: a fresh token in every CONNECT (DPS and hub), and
 * azk_client_reconnect() for a new one: DISCONNECT, at once a new CONNECT (no backoff, no
 * failure reported), and what was in flight sent again from the outbox. */
static void test_sas_password_and_reconnect(void)
{
    struct azk_client c;
    struct azk_mqtt_packet p;
    struct azk_client_endpoint ep;
    memset(&g_pw, 0, sizeof(g_pw));
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config dcfg = {.id_scope = azk_span_from_str("0ne0000ABCD"),
                                     .registration_id = azk_span_from_str("dev-1"),
                                     .password = password,
                                     .on_event = on_event,
                                     .ctx = &rec};
    CHECK_INT(azk_client_init(&c, &dcfg, work, sizeof(work)), 0);
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    CHECK_INT(take(&c, &p), 0);
    CHECK(p.u.connect.has_password);
    CHECK_MEM_STR(p.u.connect.password.ptr, p.u.connect.password.len,
                  "SharedAccessSignature t1");
    CHECK(g_pw.dps);
    CHECK_STR(g_pw.client_id, "dev-1");
    CHECK(strncmp(g_pw.username, "0ne0000ABCD/registrations/dev-1/", 32) == 0);

    struct azk_outbox_mem m;
    static uint8_t buf[1024];
    azk_outbox_mem_init(&m, buf, sizeof(buf));
    memset(&rec, 0, sizeof(rec));
    struct azk_client_config hcfg = {.hub_host = azk_span_from_str("hub.example:8884"),
                                     .device_id = azk_span_from_str("d1"),
                                     .outbox = &m.ob,
                                     .password = password,
                                     .on_event = on_event,
                                     .ctx = &rec};
    CHECK_INT(azk_client_init(&c, &hcfg, work, sizeof(work)), 0);
    CHECK_INT(azk_client_reconnect(&c), -ENOTCONN); /* not connected: nothing to renew */
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    CHECK_INT(take(&c, &p), 0);
    CHECK_MEM_STR(p.u.connect.password.ptr, p.u.connect.password.len,
                  "SharedAccessSignature t2");
    CHECK(!g_pw.dps);
    CHECK_STR(g_pw.client_id, "d1");
    CHECK(strncmp(g_pw.username, "hub.example/d1/?", 16) == 0); /* the name, no ":port" */
    feed_connack(&c, 0, 1);
    CHECK_INT(take(&c, &p), 0);
    uint8_t codes[4] = {0, 0, 0, 1};
    feed_suback(&c, p.u.subscribe.packet_id, codes, 4, 2);
    CHECK_INT(azk_client_state(&c), AZK_CLIENT_CONNECTED);
    CHECK_INT(azk_client_send_telemetry(&c, (struct azk_span){0}, azk_span_from_str("{}"), 1, NULL),
              0);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_PUBLISH);
    int events = rec.n;

    CHECK_INT(azk_client_reconnect(&c), 0);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_DISCONNECT);
    CHECK(azk_client_wants_close(&c));
    CHECK(!azk_client_endpoint(&c, &ep)); /* the old transport first */
    azk_client_transport_down(&c, 0, (struct azk_span){0}, 3);
    CHECK_INT(rec.n, events); /* no DISCONNECTED, no RETRYING */
    CHECK(azk_client_endpoint(&c, &ep)); /* at once: no tick, no wait */
    CHECK(!ep.dps);
    CHECK_MEM_STR(ep.host.ptr, ep.host.len, "hub.example");
    azk_client_transport_up(&c, 3);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_CONNECT);
    CHECK_MEM_STR(p.u.connect.password.ptr, p.u.connect.password.len,
                  "SharedAccessSignature t3");
    feed_connack(&c, 0, 4);
    CHECK_INT(take(&c, &p), 0);
    feed_suback(&c, p.u.subscribe.packet_id, codes, 4, 5);
    CHECK_INT(rec.ev[rec.n - 1].kind, AZK_CLIENT_EV_CONNECTED);
    CHECK_INT(take(&c, &p), 0); /* the message in flight, again */
    CHECK_INT(p.type, AZK_MQTT_PUBLISH);
    CHECK(p.u.publish.dup);
    CHECK_INT(azk_outbox_mem_count(&m), 1);

    /* The hub closes the connection (the token expired): after the backoff wait, a new
     * token too. */
    azk_client_transport_down(&c, -ECONNRESET, (struct azk_span){0}, 10);
    azk_client_tick(&c, 10 + 1000); /* the first wait is at most 1 s */
    CHECK(azk_client_endpoint(&c, &ep));
    azk_client_transport_up(&c, 1010);
    CHECK_INT(take(&c, &p), 0);
    CHECK_INT(p.type, AZK_MQTT_CONNECT);
    CHECK_MEM_STR(p.u.connect.password.ptr, p.u.connect.password.len,
                  "SharedAccessSignature t4");
}

/* Bad settings are refused up front. */
static void test_bad_config(void)
{
    struct azk_client c;
    struct azk_client_config cfg = {.on_event = on_event, .ctx = &rec};
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), -EINVAL); /* no hub, no DPS */
    cfg.hub_host = azk_span_from_str("hub.example");
    cfg.device_id = azk_span_from_str("bad id");
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), -EINVAL);
    cfg.device_id = azk_span_from_str("ok");
    CHECK_INT(azk_client_init(&c, &cfg, work, 100), -EINVAL); /* work too small */
    cfg.hub_host = azk_span_from_str("hub.example:0");
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), -EINVAL);
    cfg.hub_host = azk_span_from_str("hub/x");
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), -EINVAL);
    cfg.hub_host = azk_span_from_str("hub.example");
    cfg.keepalive_s = 1178;
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), -EINVAL);
    cfg.keepalive_s = 0;
    cfg.on_event = NULL;
    CHECK_INT(azk_client_init(&c, &cfg, work, sizeof(work)), -EINVAL);
    struct azk_client_config dps = {.id_scope = azk_span_from_str("0ne-bad"),
                                    .registration_id = azk_span_from_str("r"),
                                    .on_event = on_event};
    CHECK_INT(azk_client_init(&c, &dps, work, sizeof(work)), -EINVAL);
    dps.id_scope = azk_span_from_str("0ne1");
    dps.registration_id = azk_span_from_str("UPPER");
    CHECK_INT(azk_client_init(&c, &dps, work, sizeof(work)), -EINVAL);
}

int main(void)
{
    RUN_TEST(test_dps_then_hub);
    RUN_TEST(test_incoming);
    RUN_TEST(test_failures);
    RUN_TEST(test_bad_config);
    RUN_TEST(test_edge_cases);
    RUN_TEST(test_outbox_mem);
    RUN_TEST(test_outbox_delivery);
    RUN_TEST(test_dead_link);
    RUN_TEST(test_full_jitter_schedule);
    RUN_TEST(test_retry_before_first_connection);
    RUN_TEST(test_dps_assignment);
    RUN_TEST(test_dps_retry_after_values);
    RUN_TEST(test_twin_sync);
    RUN_TEST(test_sas_password_and_reconnect);
    TEST_MAIN_END();
}

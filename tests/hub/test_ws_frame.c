/* The WebSocket frame parser and handshake rules (src/hub/ws): header lengths in their three
 * forms, incomplete input at every step, each refusal with its close code, the stream rules for
 * fragments, unmasking across chunks, the server's frame headers, and the handshake's statuses
 * and accept value. */
#include <errno.h>
#include <string.h>

#include "hub/ws/ws_frame.h"
#include "hub/ws/ws_handshake.h"
#include "support/test_util.h"

static int parse(const void *buf, size_t n, uint64_t max, struct hub_ws_frame *f,
                 uint16_t *code, const char **why)
{
    *why = NULL;
    *code = 0;
    return hub_ws_frame_parse(buf, n, max, f, why, code);
}

static void test_lengths_and_incomplete_input(void **state)
{
    (void)state;
    struct hub_ws_frame f;
    uint16_t code;
    const char *why;
    const uint8_t small[] = {0x82, 0x85, 1, 2, 3, 4};
    for (size_t n = 0; n < sizeof(small); n++)
        assert_int_equal(parse(small, n, 100, &f, &code, &why), -EAGAIN);
    assert_int_equal(parse(small, sizeof(small), 100, &f, &code, &why), 0);
    assert_true(f.fin);
    assert_int_equal(f.opcode, HUB_WS_BINARY);
    assert_int_equal(f.payload_len, 5);
    assert_int_equal(f.header_len, 6);
    assert_memory_equal(f.mask, small + 2, 4);

    const uint8_t mid[] = {0x02, 0xFE, 0x01, 0x00, 9, 9, 9, 9};
    for (size_t n = 0; n < sizeof(mid); n++)
        assert_int_equal(parse(mid, n, 1000, &f, &code, &why), -EAGAIN);
    assert_int_equal(parse(mid, sizeof(mid), 1000, &f, &code, &why), 0);
    assert_false(f.fin);
    assert_int_equal(f.payload_len, 256);
    assert_int_equal(f.header_len, 8);

    const uint8_t big[] = {0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 5, 6, 7, 8};
    for (size_t n = 0; n < sizeof(big); n++)
        assert_int_equal(parse(big, n, 1u << 20, &f, &code, &why), -EAGAIN);
    assert_int_equal(parse(big, sizeof(big), 1u << 20, &f, &code, &why), 0);
    assert_int_equal(f.payload_len, 65536);
    assert_int_equal(f.header_len, 14);
    /* The limit is inclusive. */
    assert_int_equal(parse(big, sizeof(big), 65536, &f, &code, &why), 0);
    assert_int_equal(parse(big, sizeof(big), 65535, &f, &code, &why), -EPROTO);
    assert_int_equal(code, HUB_WS_CLOSE_TOO_BIG);
    assert_string_equal(why, "a frame longer than the hub accepts");
}

static void test_refusals(void **state)
{
    (void)state;
    struct hub_ws_frame f;
    uint16_t code;
    const char *why;
    static const struct {
        uint8_t b[10];
        uint16_t code;
        const char *why;
    } cases[] = {
        {{0x82, 0x05}, 1002, "not masked"},
        {{0xA2, 0x80}, 1002, "reserved bits"},
        {{0x83, 0x80}, 1002, "reserved opcode"},
        {{0x87, 0x80}, 1002, "reserved opcode"},
        {{0x8F, 0x80}, 1002, "reserved opcode"},
        {{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1002, "most significant bit"},
        {{0x09, 0x80}, 1002, "control frame"},          /* fragmented ping */
        {{0x88, 0xFE, 0, 126}, 1002, "control frame"},  /* close longer than 125 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].b, sizeof(cases[i].b), 1u << 20, &f, &code, &why), -EPROTO);
        assert_int_equal(code, cases[i].code);
        assert_non_null(strstr(why, cases[i].why));
    }
}

static void test_stream_rules(void **state)
{
    (void)state;
    struct hub_ws_stream s = {0};
    const char *why = NULL;
    uint16_t code = 0;
    struct hub_ws_frame start = {.fin = false, .opcode = HUB_WS_BINARY};
    struct hub_ws_frame cont = {.fin = false, .opcode = HUB_WS_CONTINUATION};
    struct hub_ws_frame last = {.fin = true, .opcode = HUB_WS_CONTINUATION};
    struct hub_ws_frame ping = {.fin = true, .opcode = HUB_WS_PING};
    struct hub_ws_frame text = {.fin = true, .opcode = HUB_WS_TEXT};
    assert_int_equal(hub_ws_stream_check(&s, &cont, &why, &code), -EPROTO);
    assert_int_equal(code, HUB_WS_CLOSE_PROTOCOL);
    assert_int_equal(hub_ws_stream_check(&s, &start, &why, &code), 0);
    assert_int_equal(hub_ws_stream_check(&s, &ping, &why, &code), 0);
    assert_int_equal(hub_ws_stream_check(&s, &cont, &why, &code), 0);
    assert_int_equal(hub_ws_stream_check(&s, &start, &why, &code), -EPROTO); /* new message */
    assert_int_equal(hub_ws_stream_check(&s, &last, &why, &code), 0);
    assert_false(s.in_message);
    assert_int_equal(hub_ws_stream_check(&s, &text, &why, &code), -EPROTO);
    assert_int_equal(code, HUB_WS_CLOSE_UNSUPPORTED);
}

static void test_unmask_and_server_headers(void **state)
{
    (void)state;
    const uint8_t mask[4] = {0x10, 0x20, 0x30, 0x40};
    uint8_t data[7] = {'a', 'b', 'c', 'd', 'e', 'f', 'g'}, copy[7];
    memcpy(copy, data, sizeof(copy));
    hub_ws_unmask(data, 7, mask, 0);
    /* Unmasking in two chunks with the offset gives the same bytes back. */
    hub_ws_unmask(data, 3, mask, 0);
    hub_ws_unmask(data + 3, 4, mask, 3);
    assert_memory_equal(data, copy, 7);

    uint8_t h[HUB_WS_HEADER_MAX];
    assert_int_equal(hub_ws_frame_header(h, HUB_WS_BINARY, 125), 2);
    assert_int_equal(h[0], 0x82);
    assert_int_equal(h[1], 125);
    assert_int_equal(hub_ws_frame_header(h, HUB_WS_PONG, 126), 4);
    assert_int_equal(h[0], 0x8A);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(hub_ws_frame_header(h, HUB_WS_BINARY, 70000), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7] << 16 | h[8] << 8 | h[9], 70000);
}

static void test_handshake(void **state)
{
    (void)state;
    char accept[HUB_WS_ACCEPT_SIZE];
    const char *why = NULL;
    enum hub_ws_proto proto = HUB_WS_AMQP;
    struct hub_ws_request r = {true, "/$iothub/websocket", "WebSocket", "keep-alive, Upgrade",
                               "13", "dGhlIHNhbXBsZSBub25jZQ==", "mqttv3.1, mqtt"};
    assert_true(hub_ws_is_upgrade(&r));
    assert_int_equal(hub_ws_check(&r, accept, &proto, &why), 0);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 1.3 */
    assert_int_equal(proto, HUB_WS_MQTT);
    r.path = "/%24iothub/websocket";
    assert_int_equal(hub_ws_check(&r, accept, &proto, &why), 0);

    struct hub_ws_request b = r;
    b.path = "/devices";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 404);
    b = r;
    b.is_get = false;
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b = r;
    b.connection = "keep-alive";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b = r;
    b.upgrade = NULL;
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b = r;
    b.version = "8";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 426);
    b = r;
    b.key = "dGhlIHNhbXBsZSBub25jZQ"; /* not 24 characters */
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b.key = "!!!!!!!!!!!!!!!!!!!!!!==";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b = r;
    b.protocol = "AMQPWSB10"; /* the service SDKs' AmqpWs */
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 0);
    assert_int_equal(proto, HUB_WS_AMQP);
    assert_string_equal(hub_ws_proto_name(proto), "AMQPWSB10");
    b.protocol = "AMQPWSB10, mqtt"; /* both offered: mqtt */
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 0);
    assert_int_equal(proto, HUB_WS_MQTT);
    /* The Event Hubs SDKs' path: AMQP only, even when mqtt is offered too. */
    b.path = "/$servicebus/websocket";
    assert_true(hub_ws_is_upgrade(&b));
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 0);
    assert_int_equal(proto, HUB_WS_AMQP);
    b.path = "/%24servicebus/websocket";
    b.protocol = "AMQPWSB10";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 0);
    assert_int_equal(proto, HUB_WS_AMQP);
    b.protocol = "mqtt";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    assert_non_null(strstr(why, "AMQPWSB10"));
    b.path = "/$servicebus/websockets";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 404);
    b.path = "/$iothub/websocket";
    b.protocol = "amqpwsb10";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b.protocol = "AMQPWSB1";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b.protocol = "MQTT"; /* subprotocol names are case-sensitive */
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b.protocol = "mqttx";
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    b.protocol = NULL;
    assert_int_equal(hub_ws_check(&b, accept, &proto, &why), 400);
    assert_string_equal(why, "the WebSocket subprotocol must be 'mqtt' or 'AMQPWSB10' (Sec-WebSocket-Protocol)");

    /* A REST call is not an upgrade. */
    struct hub_ws_request rest = {true, "/devices/x", NULL, "keep-alive", NULL, NULL, NULL};
    assert_false(hub_ws_is_upgrade(&rest));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_incomplete_input),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_stream_rules),
        cmocka_unit_test(test_unmask_and_server_headers),
        cmocka_unit_test(test_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* MQTT (and AMQP) over WebSockets through the real azkit-hub: the opening handshake on the service API's
 * port (refusals with their HTTP status and a log line; 101 with the RFC 6455 accept value and
 * the mqtt subprotocol), MQTT through fragmented frames with a ping in between, the device's
 * Close answered, a wrong key refused with CONNACK 5, and every bad frame (unmasked, oversized,
 * bad length, reserved opcode or bits, text, a stray continuation) closed with its status code
 * and a clear log line. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/service/sas.h"
#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static const char key1[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
static const char other[] = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
static const char rfc_key[] = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 1.3's example */

static int setup(void **state)
{
    (void)state;
    test_hub_init(&hub);
    test_hub_add_sas_device(&hub, "ws-1", key1, NULL, true);
    test_hub_start(&hub, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, NULL);
    return 0;
}

/* Reads raw bytes into d->buf (appending). 1, 0 on timeout, -1 closed. */
static int read_more(struct test_dev *d, int timeout_ms)
{
    if (SSL_pending(d->ssl) == 0) {
        struct pollfd p = {d->fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) == 0)
            return 0;
    }
    assert_true(d->have < sizeof(d->buf));
    int n = SSL_read(d->ssl, d->buf + d->have, (int)(sizeof(d->buf) - d->have));
    if (n <= 0)
        return -1;
    d->have += (size_t)n;
    return 1;
}

/* Sends `request` (a whole HTTP request head) on a new TLS connection to the service port and
 * returns the answer's status; the answer's head goes to `head`, what follows stays in d->buf. */
static int handshake_raw(struct test_dev *d, const char *request, char *head, size_t size)
{
    assert_int_equal(test_dev_tls_at(d, &hub, hub.service_port, NULL, NULL, TLS1_3_VERSION, NULL), 0);
    test_dev_send(d, request, strlen(request));
    for (;;) {
        size_t n = 0;
        for (size_t i = 0; n == 0 && i + 4 <= d->have; i++)
            if (memcmp(d->buf + i, "\r\n\r\n", 4) == 0)
                n = i + 4;
        if (n != 0) {
            snprintf(head, size, "%.*s", (int)n, (char *)d->buf);
            memmove(d->buf, d->buf + n, d->have - n);
            d->have -= n;
            break;
        }
        assert_int_equal(read_more(d, 5000), 1);
    }
    int status = 0;
    assert_int_equal(sscanf(head, "HTTP/1.1 %d", &status), 1);
    return status;
}

/* The handshake with one header changed: `path`, and Sec-WebSocket-Version / -Key / -Protocol
 * (NULL leaves a header out). */
static int handshake(struct test_dev *d, const char *method, const char *path,
                     const char *version, const char *key, const char *protocol, char *head,
                     size_t size)
{
    char req[1024];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n", method, path);
    if (version)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Sec-WebSocket-Version: %s\r\n", version);
    if (key)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Sec-WebSocket-Key: %s\r\n", key);
    if (protocol)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    snprintf(req + n, sizeof(req) - (size_t)n, "Content-Length: 0\r\n\r\n");
    return handshake_raw(d, req, head, size);
}

static void open_ws(struct test_dev *d)
{
    char head[1024];
    assert_int_equal(handshake(d, "GET", "/$iothub/websocket", "13", rfc_key, "mqtt", head,
                               sizeof(head)), 101);
}

/* A client frame into f (at least n + 14 bytes): masked unless `unmasked`; `len_override`
 * (non-zero) is written as a 64-bit length instead of the payload's own. Returns its size. */
static size_t make_frame(uint8_t *f, uint8_t first, const void *payload, size_t n, bool unmasked,
                         uint64_t len_override)
{
    size_t pos = 0;
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    f[pos++] = first;
    uint8_t m = unmasked ? 0 : 0x80;
    if (len_override) {
        f[pos++] = m | 127;
        for (int i = 0; i < 8; i++)
            f[pos++] = (uint8_t)(len_override >> (56 - 8 * i));
    } else if (n < 126) {
        f[pos++] = m | (uint8_t)n;
    } else {
        f[pos++] = m | 126;
        f[pos++] = (uint8_t)(n >> 8);
        f[pos++] = (uint8_t)n;
    }
    if (!unmasked) {
        memcpy(f + pos, mask, 4);
        pos += 4;
    }
    for (size_t i = 0; i < n; i++)
        f[pos + i] = ((const uint8_t *)payload)[i] ^ (unmasked ? 0 : mask[i & 3]);
    return pos + n;
}

static void send_frame(struct test_dev *d, uint8_t first, const void *payload, size_t n,
                       bool unmasked, uint64_t len_override)
{
    uint8_t f[2048];
    assert_true(n + 14 <= sizeof(f));
    test_dev_send(d, f, make_frame(f, first, payload, n, unmasked, len_override));
}

/* Reads one server frame (unmasked, at most 64 KB): 1 with *opcode and the payload in out,
 * -1 when the connection closed first. */
static int read_frame(struct test_dev *d, uint8_t *opcode, uint8_t *out, size_t *len)
{
    for (;;) {
        if (d->have >= 2) {
            assert_int_equal(d->buf[1] & 0x80, 0); /* server frames are not masked */
            size_t hl = 2, n = d->buf[1] & 0x7f;
            if (n == 126 && d->have >= 4) {
                n = (size_t)d->buf[2] << 8 | d->buf[3];
                hl = 4;
            } else if (n == 126 || n == 127) {
                assert_true(n == 126); /* nothing the hub sends is that long */
                n = SIZE_MAX;
            }
            if (n != SIZE_MAX && d->have >= hl + n) {
                assert_true(d->buf[0] & 0x80); /* FIN */
                *opcode = d->buf[0] & 0x0f;
                memcpy(out, d->buf + hl, n);
                *len = n;
                memmove(d->buf, d->buf + hl + n, d->have - hl - n);
                d->have -= hl + n;
                return 1;
            }
        }
        int r = read_more(d, 5000);
        assert_int_not_equal(r, 0);
        if (r < 0)
            return -1;
    }
}

/* Reads binary frames until `n` MQTT bytes arrived. */
static void read_mqtt(struct test_dev *d, uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        uint8_t op, buf[65536];
        size_t len = 0;
        assert_int_equal(read_frame(d, &op, buf, &len), 1);
        assert_int_equal(op, 2);
        assert_true(got + len <= n);
        memcpy(out + got, buf, len);
        got += len;
    }
}

/* Expects a Close frame with `code`, then the end of the connection. */
static void expect_close(struct test_dev *d, unsigned code)
{
    uint8_t op = 0, body[200];
    size_t len = 0;
    for (;;) {
        assert_int_equal(read_frame(d, &op, body, &len), 1);
        if (op == 8)
            break;
    }
    assert_true(len >= 2);
    assert_int_equal((unsigned)body[0] << 8 | body[1], code);
    while (read_more(d, 5000) > 0)
        d->have = 0;
}

static size_t connect_packet(const char *id, const char *password, uint8_t *out, size_t cap)
{
    char user[256];
    snprintf(user, sizeof(user), "localhost/%s/?api-version=2021-04-12", id);
    struct azk_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    c.client_id = azk_span_from_str(id);
    c.has_username = true;
    c.username = azk_span_from_str(user);
    c.has_password = true;
    c.password = azk_span_from_str(password);
    c.clean_session = true;
    c.keep_alive = 60;
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_connect(&c, out, cap, &n), 0);
    return n;
}

static const char *token(const char *key)
{
    static char t[1024];
    assert_true(hub_sas_create(key, "localhost/devices/ws-1", NULL, (int64_t)time(NULL) + 3600, t,
                               sizeof(t)) > 0);
    return t;
}

static void test_handshake_refusals(void **state)
{
    (void)state;
    struct test_dev d;
    char head[2048];
    assert_int_equal(handshake(&d, "GET", "/elsewhere", "13", rfc_key, "mqtt", head, sizeof(head)), 404);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "WebSockets are served only on /$iothub/websocket (MQTT, AMQP) and "
                                                  "/$servicebus/websocket (AMQP: the Event Hubs-compatible endpoint) (HTTP 404)"));

    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", rfc_key, NULL, head, sizeof(head)), 400);
    test_dev_close(&d);
    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", rfc_key, "mqttv3.1, wamp", head, sizeof(head)), 400);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "the WebSocket subprotocol must be 'mqtt' or 'AMQPWSB10' (Sec-WebSocket-Protocol) (HTTP 400)"));

    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "8", rfc_key, "mqtt", head, sizeof(head)), 426);
    test_dev_close(&d);
    assert_non_null(strstr(head, "Sec-WebSocket-Version: 13\r\n"));
    assert_true(test_hub_log_contains(&hub, "unsupported Sec-WebSocket-Version (13 is served) (HTTP 426)"));

    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", "c2hvcnQ=", "mqtt", head, sizeof(head)), 400);
    test_dev_close(&d);
    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", NULL, "mqtt", head, sizeof(head)), 400);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "missing or malformed Sec-WebSocket-Key"));

    assert_int_equal(handshake(&d, "POST", "/$iothub/websocket", "13", rfc_key, "mqtt", head, sizeof(head)), 400);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "a WebSocket handshake must be a GET (HTTP 400)"));

    /* Without Upgrade/Connection on the WebSocket path: not a handshake. */
    assert_int_equal(handshake_raw(&d, "GET /$iothub/websocket HTTP/1.1\r\nHost: localhost\r\n\r\n",
                                   head, sizeof(head)), 400);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "not a WebSocket handshake (Upgrade: websocket and "
                                            "Connection: Upgrade needed)"));
}

static void test_mqtt_through_frames(void **state)
{
    (void)state;
    struct test_dev d;
    char head[2048];
    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", rfc_key, "mqtt", head, sizeof(head)), 101);
    /* RFC 6455 1.3: this key's accept value. */
    assert_non_null(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_non_null(strstr(head, "Sec-WebSocket-Protocol: mqtt\r\n"));
    assert_non_null(strstr(head, "Upgrade: websocket\r\n"));

    /* CONNECT in two fragments, a ping between them. */
    uint8_t pkt[2048];
    size_t n = connect_packet("ws-1", token(key1), pkt, sizeof(pkt));
    send_frame(&d, 0x02, pkt, 10, false, 0);            /* binary, not final */
    send_frame(&d, 0x89, "hi", 2, false, 0);             /* ping */
    send_frame(&d, 0x80, pkt + 10, n - 10, false, 0);    /* continuation, final */
    uint8_t op = 0, body[256];
    size_t len = 0;
    assert_int_equal(read_frame(&d, &op, body, &len), 1);
    assert_int_equal(op, 0xA); /* pong with the ping's payload */
    assert_int_equal(len, 2);
    assert_memory_equal(body, "hi", 2);
    uint8_t connack[4];
    read_mqtt(&d, connack, 4);
    assert_int_equal(connack[0], 0x20);
    assert_int_equal(connack[3], 0); /* accepted */

    /* PINGREQ -> PINGRESP, an MQTT packet split over two frames. */
    send_frame(&d, 0x02, "\xc0", 1, false, 0);
    send_frame(&d, 0x80, "\x00", 1, false, 0);
    uint8_t pingresp[2];
    read_mqtt(&d, pingresp, 2);
    assert_int_equal(pingresp[0], 0xd0);

    /* The device closes: the hub answers with the same code and ends the MQTT connection. */
    send_frame(&d, 0x88, "\x03\xe8", 2, false, 0);
    expect_close(&d, 1000);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "(wss) device 'ws-1': connected to localhost"));
    assert_true(test_hub_log_contains(&hub, "(wss) device 'ws-1': disconnected: WebSocket closed by "
                                            "the device (code 1000)"));
}

/* A client that sends its CONNECT right behind the handshake, in the same TLS record, without
 * waiting for the 101: the bytes evhttp already read are passed on. */
static void test_connect_right_behind_the_handshake(void **state)
{
    (void)state;
    struct test_dev d;
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "GET /$iothub/websocket HTTP/1.1\r\nHost: localhost\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", rfc_key);
    uint8_t pkt[2048];
    size_t plen = connect_packet("ws-1", token(key1), pkt, sizeof(pkt));
    size_t total = (size_t)n + make_frame((uint8_t *)buf + n, 0x82, pkt, plen, false, 0);
    assert_int_equal(test_dev_tls_at(&d, &hub, hub.service_port, NULL, NULL, TLS1_3_VERSION, NULL), 0);
    test_dev_send(&d, buf, total);
    /* The 101, then the CONNACK. */
    size_t head = 0;
    while (head == 0) {
        for (size_t i = 0; head == 0 && i + 4 <= d.have; i++)
            if (memcmp(d.buf + i, "\r\n\r\n", 4) == 0)
                head = i + 4;
        if (head == 0)
            assert_int_equal(read_more(&d, 5000), 1);
    }
    assert_memory_equal(d.buf, "HTTP/1.1 101 ", 13);
    memmove(d.buf, d.buf + head, d.have - head);
    d.have -= head;
    uint8_t connack[4];
    read_mqtt(&d, connack, 4);
    assert_int_equal(connack[3], 0);
    test_dev_close(&d);
}

static void test_wrong_key_connack_5(void **state)
{
    (void)state;
    struct test_dev d;
    open_ws(&d);
    uint8_t pkt[2048];
    size_t n = connect_packet("ws-1", token(other), pkt, sizeof(pkt));
    send_frame(&d, 0x82, pkt, n, false, 0);
    uint8_t connack[4];
    read_mqtt(&d, connack, 4);
    assert_int_equal(connack[0], 0x20);
    assert_int_equal(connack[3], AZK_MQTT_CONNACK_NOT_AUTHORIZED);
    expect_close(&d, 1000); /* then the hub closes the WebSocket */
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "(wss) device 'ws-1': refused (CONNACK 5): sas: bad signature"));
}

/* One bad frame on a fresh WebSocket: the hub closes with `code` and logs `text`. */
static void bad_frame(uint8_t first, const void *payload, size_t n, bool unmasked,
                      uint64_t len_override, unsigned code, const char *text)
{
    struct test_dev d;
    open_ws(&d);
    send_frame(&d, first, payload, n, unmasked, len_override);
    expect_close(&d, code);
    test_dev_close(&d);
    char line[300];
    snprintf(line, sizeof(line), "(wss): closed: WebSocket: %s (closed with %u)", text, code);
    if (!test_hub_log_contains(&hub, line))
        fail_msg("no log line '%s'", line);
}

static void test_bad_frames(void **state)
{
    (void)state;
    bad_frame(0x82, "\x10\x00", 2, true, 0, 1002,
              "a frame from the client is not masked (RFC 6455 5.1)");
    bad_frame(0x82, "", 0, false, (uint64_t)1 << 40, 1009, "a frame longer than the hub accepts");
    bad_frame(0x82, "", 0, false, (uint64_t)1 << 63, 1002,
              "a frame length with its most significant bit set (RFC 6455 5.2)");
    bad_frame(0x83, "x", 1, false, 0, 1002, "reserved opcode in a frame (RFC 6455 5.2)");
    bad_frame(0x8B, "x", 1, false, 0, 1002, "reserved opcode in a frame (RFC 6455 5.2)");
    bad_frame(0xC2, "x", 1, false, 0, 1002,
              "reserved bits set in a frame (no extension was negotiated; RFC 6455 5.2)");
    bad_frame(0x81, "x", 1, false, 0, 1003,
              "a text frame (MQTT and AMQP over WebSockets use binary frames)");
    bad_frame(0x80, "x", 1, false, 0, 1002,
              "a continuation frame with no message to continue (RFC 6455 5.4)");
    bad_frame(0x09, "x", 1, false, 0, 1002,
              "a control frame that is fragmented or longer than 125 bytes (RFC 6455 5.5)");
    /* The hub is still serving. */
    struct test_dev d;
    open_ws(&d);
    test_dev_close(&d);
}

/* More WebSocket connections than the service API's connection cap (256), each a DPS
 * connection after its CONNECT: all are served, and REST calls still get through, because an
 * upgraded connection leaves the service's cap. */
static void test_websockets_leave_the_service_cap(void **state)
{
    (void)state;
    enum { N = 260 };
    char scope[64];
    test_hub_ready_str(&hub, "id_scope", scope, sizeof(scope));
    struct test_dev *devs = calloc(N, sizeof(*devs));
    assert_non_null(devs);
    for (int i = 0; i < N; i++) {
        open_ws(&devs[i]);
        char reg[32], user[200];
        snprintf(reg, sizeof(reg), "cap-%d", i);
        snprintf(user, sizeof(user), "%s/registrations/%s/api-version=2019-03-31", scope, reg);
        struct azk_mqtt_connect c;
        memset(&c, 0, sizeof(c));
        c.client_id = azk_span_from_str(reg);
        c.has_username = true;
        c.username = azk_span_from_str(user);
        c.clean_session = true;
        c.keep_alive = 120;
        uint8_t pkt[512];
        size_t n = 0;
        assert_int_equal(azk_mqtt_encode_connect(&c, pkt, sizeof(pkt), &n), 0);
        send_frame(&devs[i], 0x82, pkt, n, false, 0);
        uint8_t connack[4];
        read_mqtt(&devs[i], connack, 4);
        assert_int_equal(connack[3], 0);
    }
    cJSON *dev = test_hub_admin(&hub, 0, "device", "show", "ws-1", NULL);
    cJSON_Delete(dev);
    for (int i = 0; i < N; i++)
        test_dev_close(&devs[i]);
    free(devs);
    assert_false(test_hub_log_contains(&hub, "connections already open"));
}

/* A WebSocket with the subprotocol AMQPWSB10 on the same path: answered with that subprotocol;
 * the AMQP protocol header in a frame gets the hub's AMQP header back (Proton's server, as on the
 * AMQP port); a Close from the client is answered and ends the AMQP connection; a bad frame
 * closes it with its status code, as for MQTT. */
static void amqp_header(struct test_dev *d)
{
    static const uint8_t hdr[8] = {'A', 'M', 'Q', 'P', 0, 1, 0, 0};
    send_frame(d, 0x82, hdr, sizeof(hdr), false, 0);
    uint8_t got[256];
    size_t have = 0;
    while (have < sizeof(hdr)) {
        uint8_t op = 0;
        size_t len = 0;
        assert_int_equal(read_frame(d, &op, got + have, &len), 1);
        assert_int_equal(op, 2);
        have += len;
    }
    assert_memory_equal(got, hdr, sizeof(hdr));
}

static void test_amqp_through_frames(void **state)
{
    (void)state;
    struct test_dev d;
    char head[1024];
    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", rfc_key, "AMQPWSB10", head,
                               sizeof(head)), 101);
    assert_non_null(strstr(head, "Sec-WebSocket-Protocol: AMQPWSB10\r\n"));
    amqp_header(&d);
    send_frame(&d, 0x88, "\x03\xe8", 2, false, 0);
    expect_close(&d, 1000);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(&hub, "(wss): WebSocket closed by the client (code 1000)"));
    assert_true(test_hub_log_contains(&hub, "(wss): accepted (AMQP over WebSockets)"));

    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", rfc_key, "AMQPWSB10", head,
                               sizeof(head)), 101);
    amqp_header(&d);
    send_frame(&d, 0x81, "AMQP", 4, false, 0);
    expect_close(&d, 1003);
    test_dev_close(&d);
    assert_true(test_hub_log_contains(
        &hub, "(wss): WebSocket: a text frame (MQTT and AMQP over WebSockets use binary frames) "
              "(closed with 1003)"));

    /* The peer goes away without a Close: the AMQP connection ends with the socket. */
    assert_int_equal(handshake(&d, "GET", "/$iothub/websocket", "13", rfc_key, "AMQPWSB10", head,
                               sizeof(head)), 101);
    amqp_header(&d);
    test_dev_close(&d);
    /* The hub is still serving both subprotocols. */
    open_ws(&d);
    test_dev_close(&d);
}

/* The hub stops with WebSocket connections open (an MQTT connection, one waiting for CONNECT,
 * an AMQP connection, an upgrade request not complete): it exits cleanly (under ASan: nothing leaked) and each
 * client sees its connection end. Runs last: it stops the hub. */
static void test_stop_with_open_websockets(void **state)
{
    (void)state;
    struct test_dev live, waiting, partial, amqp;
    char ahead[1024];
    assert_int_equal(handshake(&amqp, "GET", "/$iothub/websocket", "13", rfc_key, "AMQPWSB10",
                               ahead, sizeof(ahead)), 101);
    amqp_header(&amqp);
    open_ws(&live);
    uint8_t pkt[2048];
    size_t n = connect_packet("ws-1", token(key1), pkt, sizeof(pkt));
    send_frame(&live, 0x82, pkt, n, false, 0);
    uint8_t connack[4];
    read_mqtt(&live, connack, 4);
    assert_int_equal(connack[3], 0);
    open_ws(&waiting);
    assert_int_equal(test_dev_tls_at(&partial, &hub, hub.service_port, NULL, NULL, TLS1_2_VERSION, NULL), 0);
    const char *head = "GET /$iothub/websocket HTTP/1.1\r\nHost: localhost\r\n";
    test_dev_send(&partial, head, strlen(head));
    test_hub_stop(&hub);
    struct test_dev *all[] = {&live, &waiting, &partial, &amqp};
    for (size_t i = 0; i < 4; i++) {
        int r;
        while ((r = read_more(all[i], 5000)) > 0)
            all[i]->have = 0;
        assert_int_equal(r, -1);
        test_dev_close(all[i]);
    }
    assert_true(test_hub_log_contains(&hub, "(wss) device 'ws-1': disconnected: azkit-hub is stopping"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_refusals),
        cmocka_unit_test(test_mqtt_through_frames),
        cmocka_unit_test(test_connect_right_behind_the_handshake),
        cmocka_unit_test(test_wrong_key_connack_5),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_amqp_through_frames),
        cmocka_unit_test(test_websockets_leave_the_service_cap),
        cmocka_unit_test(test_stop_with_open_websockets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

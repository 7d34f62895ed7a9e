/* libFuzzer target: the WebSocket frame parser and handshake rules of MQTT over WebSockets
 * (src/hub/ws). The input is read as the tunnel reads a client's byte stream: frame headers
 * parsed and checked against the stream rules, payloads unmasked in two chunks, until a
 * refusal or the end. Invariants: a header is accepted only when whole and within the limits
 * (shorter prefixes never parse), every refusal has a reason and a 1002/1003/1009 close code,
 * control frames are final and at most 125 bytes; unmasking twice restores the bytes. The same
 * input, cut at NULs into the handshake's fields, never crashes the handshake check, and an
 * accepted handshake gives a 28-character accept value. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hub/ws/ws_frame.h"
#include "hub/ws/ws_handshake.h"
#include "fuzz_util.h"

#define MAX_PAYLOAD 4096u

static void frames(const uint8_t *data, size_t size)
{
    struct hub_ws_stream s = {0};
    size_t pos = 0;
    while (pos < size) {
        struct hub_ws_frame f;
        const char *why = NULL;
        uint16_t code = 0;
        size_t n = size - pos;
        int rc = hub_ws_frame_parse(data + pos, n, MAX_PAYLOAD, &f, &why, &code);
        if (rc == -EAGAIN)
            return;
        if (rc == 0)
            rc = hub_ws_stream_check(&s, &f, &why, &code);
        if (rc != 0) {
            REQUIRE(rc == -EPROTO && why != NULL && why[0] != '\0');
            REQUIRE(code == HUB_WS_CLOSE_PROTOCOL || code == HUB_WS_CLOSE_TOO_BIG ||
                    code == HUB_WS_CLOSE_UNSUPPORTED);
            return;
        }
        REQUIRE(f.header_len == 6 || f.header_len == 8 || f.header_len == 14);
        REQUIRE(f.header_len <= n && f.payload_len <= MAX_PAYLOAD);
        if (f.opcode & 0x8u)
            REQUIRE(f.fin && f.payload_len <= HUB_WS_CONTROL_MAX);
        /* No prefix of an accepted header parses. */
        for (size_t k = 0; k < f.header_len; k++) {
            struct hub_ws_frame g;
            REQUIRE(hub_ws_frame_parse(data + pos, k, MAX_PAYLOAD, &g, &why, &code) != 0);
        }
        pos += f.header_len;
        size_t len = (size_t)f.payload_len < size - pos ? (size_t)f.payload_len : size - pos;
        uint8_t *p = malloc(len + 1);
        if (p == NULL)
            return;
        memcpy(p, data + pos, len);
        size_t half = len / 2;
        hub_ws_unmask(p, half, f.mask, 0);
        hub_ws_unmask(p + half, len - half, f.mask, half);
        hub_ws_unmask(p, len, f.mask, 0);
        REQUIRE(len == 0 || memcmp(p, data + pos, len) == 0);
        free(p);
        pos += len;
    }
}

static void handshake(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *field[6] = {NULL};
    size_t nf = 0;
    for (char *p = text; nf < 6 && p <= text + size; p += strlen(p) + 1)
        field[nf++] = p;
    struct hub_ws_request r = {size > 0 && (data[0] & 1u), field[0], field[1], field[2],
                               field[3], field[4], field[5]};
    char accept[HUB_WS_ACCEPT_SIZE];
    const char *why = NULL;
    bool upgrade = hub_ws_is_upgrade(&r);
    enum hub_ws_proto proto = (enum hub_ws_proto)-1;
    int st = hub_ws_check(&r, accept, &proto, &why);
    if (st == 0)
        REQUIRE(upgrade && strlen(accept) == 28 && (proto == HUB_WS_MQTT || proto == HUB_WS_AMQP));
    else
        REQUIRE(why != NULL && (st == 400 || st == 404 || st == 426 || st == 500));
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    frames(data, size);
    handshake(data, size);
    return 0;
}

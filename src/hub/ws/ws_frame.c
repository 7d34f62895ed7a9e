/* WebSocket framing, server side (RFC 6455 section 5); see ws_frame.h. */
#include "hub/ws/ws_frame.h"

#include <errno.h>

static int refuse(const char **why, uint16_t *code, const char *text, uint16_t c)
{
    *why = text;
    *code = c;
    return -EPROTO;
}

int hub_ws_frame_parse(const uint8_t *buf, size_t n, uint64_t max_payload,
                       struct hub_ws_frame *f, const char **why, uint16_t *close_code)
{
    if (n < 2)
        return -EAGAIN;
    uint8_t b0 = buf[0], b1 = buf[1];
    f->fin = (b0 & 0x80u) != 0;
    f->opcode = b0 & 0x0Fu;
    if (b0 & 0x70u)
        return refuse(why, close_code, "reserved bits set in a frame (no extension was "
                      "negotiated; RFC 6455 5.2)", HUB_WS_CLOSE_PROTOCOL);
    switch (f->opcode) {
    case HUB_WS_CONTINUATION:
    case HUB_WS_TEXT:
    case HUB_WS_BINARY:
    case HUB_WS_CLOSE:
    case HUB_WS_PING:
    case HUB_WS_PONG:
        break;
    default:
        return refuse(why, close_code, "reserved opcode in a frame (RFC 6455 5.2)",
                      HUB_WS_CLOSE_PROTOCOL);
    }
    if (!(b1 & 0x80u))
        return refuse(why, close_code, "a frame from the client is not masked (RFC 6455 5.1)",
                      HUB_WS_CLOSE_PROTOCOL);
    uint64_t len = b1 & 0x7Fu;
    size_t pos = 2;
    if (len == 126) {
        if (n < 4)
            return -EAGAIN;
        len = ((uint64_t)buf[2] << 8) | buf[3];
        pos = 4;
    } else if (len == 127) {
        if (n < 10)
            return -EAGAIN;
        if (buf[2] & 0x80u)
            return refuse(why, close_code, "a frame length with its most significant bit set "
                          "(RFC 6455 5.2)", HUB_WS_CLOSE_PROTOCOL);
        len = 0;
        for (size_t i = 2; i < 10; i++)
            len = (len << 8) | buf[i];
        pos = 10;
    }
    bool control = (f->opcode & 0x8u) != 0;
    if (control && (len > HUB_WS_CONTROL_MAX || !f->fin))
        return refuse(why, close_code, "a control frame that is fragmented or longer than 125 "
                      "bytes (RFC 6455 5.5)", HUB_WS_CLOSE_PROTOCOL);
    if (len > max_payload)
        return refuse(why, close_code, "a frame longer than the hub accepts",
                      HUB_WS_CLOSE_TOO_BIG);
    if (n < pos + 4)
        return -EAGAIN;
    for (size_t i = 0; i < 4; i++)
        f->mask[i] = buf[pos + i];
    f->payload_len = len;
    f->header_len = pos + 4;
    return 0;
}

int hub_ws_stream_check(struct hub_ws_stream *s, const struct hub_ws_frame *f, const char **why,
                        uint16_t *close_code)
{
    if (f->opcode & 0x8u)
        return 0; /* control frames may come in the middle of a fragmented message */
    if (f->opcode == HUB_WS_TEXT)
        return refuse(why, close_code,
                      "a text frame (MQTT and AMQP over WebSockets use binary frames)",
                      HUB_WS_CLOSE_UNSUPPORTED);
    if (f->opcode == HUB_WS_CONTINUATION && !s->in_message)
        return refuse(why, close_code, "a continuation frame with no message to continue "
                      "(RFC 6455 5.4)", HUB_WS_CLOSE_PROTOCOL);
    if (f->opcode == HUB_WS_BINARY && s->in_message)
        return refuse(why, close_code, "a new message before the fragmented one ended "
                      "(RFC 6455 5.4)", HUB_WS_CLOSE_PROTOCOL);
    s->in_message = !f->fin;
    return 0;
}

void hub_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(offset + i) & 3u];
}

size_t hub_ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80u | (opcode & 0x0Fu));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFFu) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

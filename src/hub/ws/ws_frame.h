/* WebSocket framing (RFC 6455 section 5), server side: the header parser for the frames a
 * client sends, the stream rules between frames (fragmentation), unmasking, and the header of
 * the frames the server sends. Pure functions over bytes: no I/O, no allocation. */
#ifndef AZK_HUB_WS_FRAME_H
#define AZK_HUB_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hub_ws_opcode {
    HUB_WS_CONTINUATION = 0x0,
    HUB_WS_TEXT = 0x1,
    HUB_WS_BINARY = 0x2,
    HUB_WS_CLOSE = 0x8,
    HUB_WS_PING = 0x9,
    HUB_WS_PONG = 0xA,
};

/* Close status codes (RFC 6455 section 7.4.1) the hub sends. */
enum {
    HUB_WS_CLOSE_NORMAL = 1000,
    HUB_WS_CLOSE_PROTOCOL = 1002,
    HUB_WS_CLOSE_UNSUPPORTED = 1003, /* text frames: MQTT is binary */
    HUB_WS_CLOSE_TOO_BIG = 1009,
};

/* The longest frame header: 2 bytes, 8 of extended length, 4 of masking key. */
#define HUB_WS_HEADER_MAX 14
/* Control frames carry at most 125 bytes (section 5.5). */
#define HUB_WS_CONTROL_MAX 125

/* One client frame's header. */
struct hub_ws_frame {
    bool fin;
    uint8_t opcode;        /* enum hub_ws_opcode */
    uint64_t payload_len;
    uint8_t mask[4];
    size_t header_len;     /* bytes of the header, payload follows */
};

/* Parses the header of a client frame at `buf` (`n` bytes available).
 * `max_payload`: the longest payload accepted.
 * Returns 0 (header complete: *f filled), -EAGAIN (more bytes needed), or -EPROTO with *why
 * (static text, for the log) and *close_code (the status to close with) for a frame a server
 * must refuse: reserved bits set (no extension is negotiated), a reserved opcode, an unmasked
 * frame (section 5.1), a 64-bit length with its top bit set, a length above `max_payload`
 * (close code 1009), a control frame that is fragmented or longer than 125 bytes. */
int hub_ws_frame_parse(const uint8_t *buf, size_t n, uint64_t max_payload,
                       struct hub_ws_frame *f, const char **why, uint16_t *close_code);

/* The rules between frames of one connection: continuation frames only inside a fragmented
 * message, no new data frame before the fragmented one ended, binary messages only. */
struct hub_ws_stream {
    bool in_message; /* a fragmented message started and has not ended */
};

/* Checks a parsed header against the stream (and updates it). Returns 0 or -EPROTO with *why
 * and *close_code. */
int hub_ws_stream_check(struct hub_ws_stream *s, const struct hub_ws_frame *f, const char **why,
                        uint16_t *close_code);

/* Unmasks `n` payload bytes in place; `offset` is the position of p[0] in the frame's
 * payload (the mask cycles over the whole payload). */
void hub_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Writes the header of an unmasked, final server frame with `opcode` and a payload of `len`
 * bytes into out (at least HUB_WS_HEADER_MAX bytes); returns its length. */
size_t hub_ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len);

#endif

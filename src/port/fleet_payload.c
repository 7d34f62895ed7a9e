/* The fleet's telemetry messages (fleet_payload.h) and their smallest padded size. */
#include "port/fleet_payload.h"

#include <stdio.h>
#include <string.h>

#include "azkit/fleet.h"

#define PAYLOAD_HEAD "{\"device\":\"" /* then the id */
#define PAYLOAD_SEQ "\",\"n\":"        /* then the sequence number */
#define PAYLOAD_PAD ",\"pad\":\""      /* then 'x' up to the size, then the closing "} */
#define PAYLOAD_END "\"}"

static size_t digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t azk_fleet_payload_min(const struct azk_fleet_opts *o)
{
    const char *prefix = o->id_prefix ? o->id_prefix : "fleet-";
    size_t last = o->first_index + (o->count ? o->count - 1 : 0);
    return strlen(PAYLOAD_HEAD) + strlen(prefix) + digits(last) + strlen(PAYLOAD_SEQ) +
           digits(o->messages ? o->messages : 1) + strlen(PAYLOAD_PAD) + strlen(PAYLOAD_END);
}

size_t azki_fleet_payload(size_t size, const char *id, uint32_t seq, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, PAYLOAD_HEAD "%s" PAYLOAD_SEQ "%u", id, seq);
    if (n < 0 || (size_t)n + 1 >= cap)
        return 0;
    size_t len = (size_t)n;
    if (size == 0 || size < len + strlen(PAYLOAD_PAD) + strlen(PAYLOAD_END) || size >= cap) {
        buf[len++] = '}';
        return len;
    }
    memcpy(buf + len, PAYLOAD_PAD, strlen(PAYLOAD_PAD));
    len += strlen(PAYLOAD_PAD);
    size_t pad = size - len - strlen(PAYLOAD_END);
    memset(buf + len, 'x', pad);
    len += pad;
    memcpy(buf + len, PAYLOAD_END, strlen(PAYLOAD_END));
    return len + strlen(PAYLOAD_END);
}

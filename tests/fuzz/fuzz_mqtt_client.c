/* libFuzzer target: the MQTT decoder in the client role (server → client packets).
 * fuzz_mqtt_server.c includes this file with AZK_FUZZ_MQTT_ROLE set to the server role.
 *
 * For each input, with the wildcard options off and on:
 *  - one-shot decode; on success walk the SUBSCRIBE/UNSUBSCRIBE/SUBACK list, re-encode the
 *    packet (the encoders must accept whatever the decoder accepts) and, when the input used a
 *    minimal remaining length, require the same bytes back;
 *  - the incremental decoder fed the whole input, and again one byte at a time: both must
 *    yield the same packets and end in the same state. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/mqtt.h"

#ifndef AZK_FUZZ_MQTT_ROLE
#define AZK_FUZZ_MQTT_ROLE AZK_MQTT_ROLE_CLIENT
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[16384];
static uint8_t dbuf[4096];

/* Walks the list of pkt; returns a checksum so the loop is not optimised away. */
static size_t walk(const struct azk_mqtt_packet *pkt, struct azk_mqtt_subscription *subs,
                   struct azk_span *filters, uint8_t *codes, size_t max)
{
    struct azk_mqtt_iter it;
    struct azk_mqtt_subscription s;
    struct azk_span f;
    uint8_t c;
    size_t n = 0;
    azk_mqtt_iter_init(&it, pkt);
    switch (pkt->type) {
    case AZK_MQTT_SUBSCRIBE:
        while (azk_mqtt_iter_next_subscription(&it, &s))
            if (n < max)
                subs[n++] = s;
            else
                n++;
        if (n != pkt->u.subscribe.count)
            abort();
        break;
    case AZK_MQTT_UNSUBSCRIBE:
        while (azk_mqtt_iter_next_filter(&it, &f))
            if (n < max)
                filters[n++] = f;
            else
                n++;
        if (n != pkt->u.unsubscribe.count)
            abort();
        break;
    case AZK_MQTT_SUBACK:
        while (azk_mqtt_iter_next_suback_code(&it, &c))
            if (n < max)
                codes[n++] = c;
            else
                n++;
        if (n != pkt->u.suback.count)
            abort();
        break;
    default:
        break;
    }
    return n;
}

/* Re-encodes a decoded packet; returns the encoder's result. */
static int reencode(const struct azk_mqtt_packet *pkt, size_t *len)
{
    enum { MAX = 4096 };
    static struct azk_mqtt_subscription subs[MAX];
    static struct azk_span filters[MAX];
    static uint8_t codes[MAX];
    size_t n = walk(pkt, subs, filters, codes, MAX);
    if (n > MAX)
        return 1; /* cannot happen within -max_len, but stay safe */
    switch (pkt->type) {
    case AZK_MQTT_CONNECT:
        return azk_mqtt_encode_connect(&pkt->u.connect, out, sizeof out, len);
    case AZK_MQTT_CONNACK:
        return azk_mqtt_encode_connack(&pkt->u.connack, out, sizeof out, len);
    case AZK_MQTT_PUBLISH:
        return azk_mqtt_encode_publish(&pkt->u.publish, out, sizeof out, len);
    case AZK_MQTT_PUBACK:
    case AZK_MQTT_PUBREC:
    case AZK_MQTT_PUBREL:
    case AZK_MQTT_PUBCOMP:
    case AZK_MQTT_UNSUBACK:
        return azk_mqtt_encode_ack(pkt->type, pkt->u.packet_id, out, sizeof out, len);
    case AZK_MQTT_SUBSCRIBE:
        return azk_mqtt_encode_subscribe(pkt->u.subscribe.packet_id, subs, n, out, sizeof out,
                                         len);
    case AZK_MQTT_UNSUBSCRIBE:
        return azk_mqtt_encode_unsubscribe(pkt->u.unsubscribe.packet_id, filters, n, out,
                                           sizeof out, len);
    case AZK_MQTT_SUBACK:
        return azk_mqtt_encode_suback(pkt->u.suback.packet_id, codes, n, out, sizeof out, len);
    case AZK_MQTT_PINGREQ:
        return azk_mqtt_encode_pingreq(out, sizeof out, len);
    case AZK_MQTT_PINGRESP:
        return azk_mqtt_encode_pingresp(out, sizeof out, len);
    case AZK_MQTT_DISCONNECT:
        return azk_mqtt_encode_disconnect(out, sizeof out, len);
    }
    abort();
}

/* Feeds the input in chunks of `step` (0: all at once); returns packets seen, *rc_out the
 * final result, *reason the decoder's reason. */
static size_t feed_all(const struct azk_mqtt_decoder_config *cfg, const uint8_t *data,
                       size_t size, size_t step, int *rc_out, enum azk_mqtt_reason *reason,
                       size_t *lens, size_t max_lens)
{
    struct azk_mqtt_decoder d;
    if (azk_mqtt_decoder_init(&d, cfg, dbuf, sizeof dbuf) != 0)
        abort();
    size_t pos = 0, packets = 0;
    int rc = 0;
    while (pos < size) {
        size_t n = step == 0 || step > size - pos ? size - pos : step;
        struct azk_mqtt_packet pkt;
        size_t used;
        rc = azk_mqtt_decoder_feed(&d, data + pos, n, &used, &pkt);
        if (used > n)
            abort();
        pos += used;
        if (rc < 0)
            break;
        if (rc == AZK_MQTT_PACKET) {
            if (packets < max_lens)
                lens[packets] = pkt.remaining_length;
            packets++;
            (void)walk(&pkt, NULL, NULL, NULL, 0);
        } else if (used != n) {
            abort();
        }
    }
    *rc_out = rc;
    *reason = azk_mqtt_decoder_reason(&d);
    return packets;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int opt = 0; opt < 2; opt++) {
        struct azk_mqtt_decoder_config cfg = {.role = AZK_FUZZ_MQTT_ROLE};
        cfg.allow_wildcards_in_publish_topic = opt;
        cfg.allow_any_wildcards_in_filters = opt;

        struct azk_mqtt_packet pkt;
        size_t plen;
        enum azk_mqtt_reason r;
        int rc = azk_mqtt_decode(&cfg, data, size, &pkt, &plen, &r);
        if (rc != azk_mqtt_reason_errno(r))
            abort();
        if (rc == 0) {
            size_t len;
            if (plen > size || reencode(&pkt, &len) != 0)
                abort();
            /* same bytes back unless the input used a non-minimal remaining length */
            if (len == plen && memcmp(out, data, len) != 0)
                abort();
            /* and the re-encoded bytes decode to the same length */
            struct azk_mqtt_packet again;
            size_t alen;
            if (azk_mqtt_decode(&cfg, out, len, &again, &alen, &r) != 0 || alen != len ||
                again.type != pkt.type || again.remaining_length != pkt.remaining_length)
                abort();
        }

        static size_t lens_a[8192], lens_b[8192];
        int rc_a, rc_b;
        enum azk_mqtt_reason r_a, r_b;
        size_t na = feed_all(&cfg, data, size, 0, &rc_a, &r_a, lens_a, 8192);
        size_t nb = feed_all(&cfg, data, size, 1, &rc_b, &r_b, lens_b, 8192);
        if (na != nb || rc_a != rc_b || r_a != r_b ||
            memcmp(lens_a, lens_b, (na < 8192 ? na : 8192) * sizeof lens_a[0]) != 0)
            abort();
    }
    return 0;
}

/* libFuzzer target: the device client (azkit/client.h) fed arbitrary server bytes.
 *
 * The first input byte picks where the client stands (waiting for DPS's answer to its register
 * request, or connected to IoT Hub), the second how the rest is split into reads; the rest is
 * what the "server" sends. Between reads the clock moves and the output is drained. Whatever
 * arrives, the client must not crash or leak, keep its output within its buffer, and end up
 * failed when it reported a broken stream. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azkit/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t work[4096];

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    size_t *sum = ctx;
    /* Touch what the event points at (ASan checks the spans). */
    for (size_t i = 0; i < ev->payload.len; i++)
        *sum += (uint8_t)ev->payload.ptr[i];
    for (size_t i = 0; i < ev->text.len; i++)
        *sum += (uint8_t)ev->text.ptr[i];
    *sum += ev->hub.len + ev->device_id.len + ev->rid.len + ev->name.len;
}

static void drain(struct azk_client *c)
{
    const uint8_t *out;
    size_t n = azk_client_output(c, &out);
    if (n > sizeof(work))
        __builtin_trap();
    azk_client_output_consumed(c, n);
}

static void feed(struct azk_client *c, const uint8_t *b, size_t n, uint64_t now)
{
    azk_client_receive(c, b, n, now);
    drain(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t sum = 0;
    bool dps = (data[0] & 1) == 0;
    size_t chunk = (size_t)data[1] % 64 + 1;
    data += 2;
    size -= 2;
    struct azk_client_config cfg = {.on_event = on_event, .ctx = &sum, .keepalive_s = 5};
    if (dps) {
        cfg.id_scope = azk_span_from_str("0ne00ABC");
        cfg.registration_id = azk_span_from_str("dev-1");
        cfg.dps_host = azk_span_from_str("dps.test");
    } else {
        cfg.hub_host = azk_span_from_str("hub.test");
        cfg.device_id = azk_span_from_str("dev-1");
    }
    struct azk_client c;
    if (azk_client_init(&c, &cfg, work, sizeof(work)) != 0)
        __builtin_trap();
    azk_client_start(&c, 0);
    azk_client_transport_up(&c, 0);
    drain(&c);
    static const uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
    feed(&c, connack, sizeof(connack), 1);
    /* SUBACK for packet id 1 (DPS: one filter; hub: four). */
    static const uint8_t suback1[] = {0x90, 0x03, 0x00, 0x01, 0x01};
    static const uint8_t suback4[] = {0x90, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01};
    if (dps)
        feed(&c, suback1, sizeof(suback1), 2);
    else
        feed(&c, suback4, sizeof(suback4), 2);
    uint64_t now = 3;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        int rc = azk_client_receive(&c, data + off, n, now);
        if (rc < 0 && azk_client_state(&c) != AZK_CLIENT_FAILED)
            __builtin_trap();
        drain(&c);
        if (azk_client_wants_close(&c)) {
            azk_client_transport_down(&c, 0, (struct azk_span){0}, now);
            if (!azk_client_endpoint(&c, &(struct azk_client_endpoint){0}))
                break;
            azk_client_transport_up(&c, now);
            drain(&c);
        }
        now += 700;
        azk_client_tick(&c, now);
        drain(&c);
    }
    return (int)(sum & 0); /* always 0 */
}

/* Footprint program: a firmware that uses azkit's device client (azkit/client.h) the way a
 * driver does -- DPS registration, IoT Hub, telemetry, twin, methods, C2D -- so the state
 * machine and everything it pulls in from the core are linked. Inputs come from volatile
 * memory so nothing is constant-folded away. It authenticates with a SAS token (the password
 * callback: a real device computes it with its crypto library, whose size is not the core's)
 * and renews it (azk_client_reconnect), so that path is counted too. */
#include <stddef.h>
#include <stdint.h>

#include "azkit/client.h"

static volatile uint8_t rx[64];
static volatile size_t rx_len;
static volatile uint64_t clock_ms;
static uint8_t work[4096];
static struct azk_client client;
static volatile size_t sink;

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    (void)ctx;
    sink += ev->payload.len + (size_t)ev->kind;
    if (ev->kind == AZK_CLIENT_EV_METHOD)
        azk_client_method_respond(&client, ev->rid, 200, ev->payload);
}

static volatile char token[8];

static void password(void *ctx, bool dps, struct azk_mqtt_connect *m)
{
    (void)ctx;
    sink += m->username.len + m->client_id.len + dps;
    m->password = (struct azk_span){(const char *)token, sizeof(token)};
    m->has_password = true;
}

int main(void)
{
    struct azk_client_config cfg = {
        .id_scope = azk_span_from_str("0ne00000000"),
        .registration_id = azk_span_from_str("device-1"),
        .on_event = on_event,
        .password = password,
    };
    if (azk_client_init(&client, &cfg, work, sizeof(work)) != 0)
        return 1;
    azk_client_start(&client, clock_ms);
    for (int i = 0; i < 8; i++) {
        struct azk_client_endpoint ep;
        if (azk_client_endpoint(&client, &ep))
            azk_client_transport_up(&client, clock_ms);
        uint8_t in[64];
        for (size_t k = 0; k < sizeof(in); k++)
            in[k] = rx[k];
        azk_client_receive(&client, in, rx_len, clock_ms);
        const uint8_t *out;
        sink += azk_client_output(&client, &out);
        azk_client_output_consumed(&client, sink);
        if (azk_client_wants_close(&client))
            azk_client_transport_down(&client, 0, (struct azk_span){0}, clock_ms);
        sink += (size_t)azk_client_tick(&client, clock_ms);
        uint32_t pid;
        azk_client_send_telemetry(&client, azk_span_from_str("a=1"), azk_span_from_str("{}"), 1,
                                  &pid);
        azk_client_twin_get(&client, NULL, 0);
        azk_client_twin_report(&client, azk_span_from_str("{\"v\":1}"), NULL, 0);
        if (rx[0] == 0x42)
            azk_client_reconnect(&client);
    }
    return (int)sink;
}

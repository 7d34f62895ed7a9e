/*
 * The device client and its POSIX driver through many connect/disconnect cycles against the
 * real azkit-hub over TLS, in one process: every cycle connects, sends a QoS 1 message and
 * waits for its PUBACK; even cycles then stop cleanly (DISCONNECT), odd ones first have their
 * connection dropped by the hub (`fault drop`) and reconnect before stopping. The heap in use
 * after the warm-up cycles and after the last one must be the same (nothing kept per cycle:
 * ASan's allocator count, or glibc's mallinfo2() with its thread cache off), and under the
 * sanitizer build LeakSanitizer checks at exit that nothing was lost.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "azkit/client.h"
#include "azkit/client_posix.h"
#include "hub/hub_harness.h"
#include "support/test_util.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AZK_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define AZK_TEST_ASAN 1
#endif
#ifdef AZK_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#endif

#define CYCLES 40
#define WARMUP 5

/* Bytes the process has allocated and not freed. */
static size_t heap_in_use(void)
{
#ifdef AZK_TEST_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

struct cycle {
    const struct test_hub *hub;
    bool drop;           /* have the hub drop the connection once */
    int connects, disconnects, acked, sent;
    bool dropped, failed;
};

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    struct cycle *cy = ctx;
    switch (ev->kind) {
    case AZK_CLIENT_EV_CONNECTED: cy->connects++; break;
    case AZK_CLIENT_EV_DISCONNECTED: cy->disconnects++; break;
    case AZK_CLIENT_EV_TELEMETRY_ACKED: cy->acked++; break;
    case AZK_CLIENT_EV_FAILED: cy->failed = true; break;
    default: break;
    }
}

static int64_t on_turn(void *ctx, struct azk_client *c, uint64_t now)
{
    struct cycle *cy = ctx;
    if (azk_client_state(c) != AZK_CLIENT_CONNECTED)
        return (int64_t)(now + 20);
    if (cy->sent < cy->connects &&
        azk_client_send_telemetry(c, (struct azk_span){0}, azk_span_from_str("{\"cycle\":1}"), 1,
                                  NULL) == 0)
        cy->sent++;
    if (cy->acked < cy->sent)
        return (int64_t)(now + 20);
    if (cy->drop && !cy->dropped) {
        cy->dropped = true;
        cJSON_Delete(test_hub_admin(cy->hub, 0, "fault", "drop", "cycle-dev-1", NULL));
        return (int64_t)(now + 20);
    }
    if (cy->drop && cy->connects < 2)
        return (int64_t)(now + 20);
    return -1; /* done: disconnect cleanly */
}

static void run_cycle(const struct test_hub *h, SSL_CTX *tls, bool drop)
{
    char host[64];
    snprintf(host, sizeof(host), "localhost:%d", h->mqtt_port);
    struct cycle cy = {.hub = h, .drop = drop};
    struct azk_client_config cfg = {.hub_host = azk_span_from_str(host),
                                    .device_id = azk_span_from_str("cycle-dev-1"),
                                    .on_event = on_event,
                                    .ctx = &cy,
                                    .retry_min_ms = 50,
                                    .retry_max_ms = 200};
    static uint8_t work[16384];
    struct azk_client c;
    assert_int_equal(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    struct azk_posix_opts po = {.tls = tls, .connect_address = "127.0.0.1", .on_turn = on_turn,
                                .ctx = &cy, .connect_timeout_ms = 10000};
    assert_int_equal(azk_client_run_posix(&c, &po), 0);
    assert_false(cy.failed);
    assert_int_equal(cy.connects, drop ? 2 : 1);
    assert_int_equal(cy.disconnects, drop ? 1 : 0);
    assert_int_equal(cy.acked, cy.sent);
    assert_int_equal(azk_client_state(&c), AZK_CLIENT_STOPPED);
}

static void test_connect_disconnect_cycles(void **state)
{
    (void)state;
    struct test_hub h;
    char scratch[512], cert[700], key[700];
    test_hub_start_with_device(&h, scratch, "cycle-dev-1", cert, key);
    SSL_CTX *tls = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(tls, h.ca, NULL), 1);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(tls, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(tls, key, SSL_FILETYPE_PEM), 1);

    size_t after_warmup = 0;
    for (int i = 0; i < CYCLES; i++) {
        run_cycle(&h, tls, i % 2 == 1);
        if (i == WARMUP - 1)
            after_warmup = heap_in_use();
    }
    size_t after_all = heap_in_use();
    printf("heap in use after %d cycles: %zu bytes; after %d: %zu bytes\n", WARMUP,
           after_warmup, CYCLES, after_all);
    /* Nothing kept per cycle: 35 more cycles may not grow the heap by even one cycle's
     * connection state (an SSL object alone is several KB). */
    assert_true(after_all <= after_warmup + 2048);
    SSL_CTX_free(tls);
    test_hub_finish(&h, scratch);
}

int main(int argc, char **argv)
{
    (void)argc;
#ifndef AZK_TEST_ASAN
    /* glibc's per-thread cache keeps freed chunks counted as in use (up to 7 per size): turn
     * it off so that mallinfo2() counts what the program holds. */
    if (getenv("GLIBC_TUNABLES") == NULL) {
        setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
        execv("/proc/self/exe", argv);
    }
#else
    (void)argv;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_disconnect_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

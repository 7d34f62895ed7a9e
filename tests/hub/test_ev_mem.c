/* libevent's allocator of azkit-hub (src/hub/ev_mem.c), installed first as the hub's main()
 * does: an event base watching many descriptors keeps its small per-descriptor records in the
 * slab (counted), buffers of every size grow and shrink across the small/large boundary with
 * their bytes intact, and freeing the base gives every small record back. Under ASan this is
 * also the check that no allocation is handed to the wrong allocator. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "hub/ev_mem.h"
#include "support/test_util.h"

#define PAIRS 200

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void test_descriptors_and_buffers(void **state)
{
    (void)state;
    size_t before = hub_ev_mem_small_live();
    struct event_base *base = event_base_new();
    assert_non_null(base);
    int fds[PAIRS][2];
    struct event *evs[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
        evs[i] = event_new(base, fds[i][0], EV_READ | EV_PERSIST, on_io, NULL);
        assert_non_null(evs[i]);
        assert_int_equal(event_add(evs[i], NULL), 0);
    }
    assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0); /* nothing ready */
    size_t watching = hub_ev_mem_small_live();
    print_message("small libevent records: %zu before, %zu while watching %d descriptors\n",
                  before, watching, PAIRS);
    assert_true(watching >= before + PAIRS); /* one per descriptor, at least */

    /* Buffers: bytes intact through growth from a few bytes to 1 MiB and back. */
    struct evbuffer *b = evbuffer_new();
    assert_non_null(b);
    uint8_t chunk[4096];
    size_t total = 0;
    for (size_t n = 1; n <= sizeof chunk; n *= 2) {
        for (size_t k = 0; k < n; k++)
            chunk[k] = (uint8_t)(total + k);
        assert_int_equal(evbuffer_add(b, chunk, n), 0);
        total += n;
    }
    assert_int_equal(evbuffer_expand(b, 1 << 20), 0);
    assert_int_equal(evbuffer_get_length(b), total);
    const uint8_t *all = evbuffer_pullup(b, -1);
    for (size_t k = 0; k < total; k++)
        assert_int_equal(all[k], (uint8_t)k);
    assert_int_equal(evbuffer_drain(b, total), 0);
    evbuffer_free(b);

    for (int i = 0; i < PAIRS; i++) {
        event_free(evs[i]);
        close(fds[i][0]);
        close(fds[i][1]);
    }
    event_base_free(base);
    assert_int_equal(hub_ev_mem_small_live(), before);
}

int main(void)
{
    hub_ev_mem_install(); /* before any libevent call, as azkit-hub's main() */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptors_and_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

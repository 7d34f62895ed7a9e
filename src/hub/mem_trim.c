#include "hub/mem_trim.h"

#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdio.h>

#include <event2/event.h>

#include "hub/daemon.h"
#include "hub/log.h"

#define TRIM_CHECK_MS 2000
#define TRIM_MIN_DROP 256

enum hub_mem_trim_why hub_mem_trim_due(size_t peak, size_t base, size_t open, size_t admitting)
{
    if (open < peak && peak - open >= TRIM_MIN_DROP && (peak - open) * 4 >= peak)
        return HUB_TRIM_LEFT;
    /* A crowd that arrived: each handshake used a 16 KiB buffer and the certificate parsing
     * of the TLS library, freed once it was done; give those pages back too. */
    if (admitting == 0 && open >= base + TRIM_MIN_DROP)
        return HUB_TRIM_ARRIVED;
    return HUB_TRIM_NO;
}

/* VmRSS in KiB, or 0 when /proc cannot tell. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * 4; /* 4 KiB pages on the machines azkit-hub runs on */
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_daemon *d = arg;
    enum hub_mem_trim_why why = hub_mem_trim_due(d->trim_peak_conns, d->trim_base_conns,
                                                 d->open_conns, d->admitting);
    if (why == HUB_TRIM_NO)
        return;
    long before = rss_kib();
    malloc_trim(0);
    long after = rss_kib();
    if (why == HUB_TRIM_LEFT)
        hub_log(HUB_LOG_INFO, "memory: %zu of %zu connections have closed; returned %ld MiB "
                "to the system (resident %ld MiB now)", d->trim_peak_conns - d->open_conns,
                d->trim_peak_conns, (before - after) / 1024, after / 1024);
    else
        hub_log(HUB_LOG_INFO, "memory: %zu connections arrived and finished their handshakes; "
                "returned %ld MiB to the system (resident %ld MiB now)",
                d->open_conns - d->trim_base_conns, (before - after) / 1024, after / 1024);
    d->trim_peak_conns = d->open_conns;
    d->trim_base_conns = d->open_conns;
}

int hub_mem_trim_start(struct hub_daemon *d)
{
    d->trim_timer = event_new(d->base, -1, EV_PERSIST, on_check, d);
    if (!d->trim_timer)
        return -ENOMEM;
    struct timeval tv = {TRIM_CHECK_MS / 1000, (TRIM_CHECK_MS % 1000) * 1000};
    event_add(d->trim_timer, &tv);
    return 0;
}

void hub_mem_trim_stop(struct hub_daemon *d)
{
    if (d->trim_timer)
        event_free(d->trim_timer);
    d->trim_timer = NULL;
}

/* The fleet's bounded statistics (azkit/fleet.h): latency histograms with a fixed number of
 * log-scale buckets, whatever the number of samples, and failures counted by kind. Internal to
 * the fleet driver (fleet_posix.c). */
#ifndef AZK_PORT_FLEET_STATS_H
#define AZK_PORT_FLEET_STATS_H

#include <stdint.h>

#include "azkit/client.h"
#include "azkit/fleet.h"

/* Values in microseconds. Below 2^SUB_BITS they are counted exactly; above, each power of two
 * is cut into 2^SUB_BITS buckets (relative error under 1/2^SUB_BITS, 3 %). The last bucket
 * takes everything from 2^TOP_EXP us (about 38 hours) up. */
#define AZKI_HIST_SUB_BITS 5
#define AZKI_HIST_TOP_EXP 37
#define AZKI_HIST_BUCKETS \
    ((1u << AZKI_HIST_SUB_BITS) * (AZKI_HIST_TOP_EXP - AZKI_HIST_SUB_BITS + 1) + 1)

struct azki_hist {
    uint32_t bucket[AZKI_HIST_BUCKETS];
    uint64_t count;
    uint64_t max_us;
};

/* Adds one sample of `us` microseconds. */
void azki_hist_add(struct azki_hist *h, uint64_t us);

/* The summary of `h`: count, p50/p90/p99 (the upper bound of the bucket that holds each,
 * capped at the exact maximum) and the maximum, in milliseconds. */
void azki_hist_summary(const struct azki_hist *h, struct azk_fleet_latency *out);

/* A short stable name for a failure reported by a client event (AZK_CLIENT_EV_FAILED or
 * _RETRYING): "tls-refused", "connection-refused", "timeout", "connack-5", "dps-401",
 * "dps-unauthorized", ... written into `out` (`size` bytes, NUL-terminated). */
void azki_fleet_error_kind(const struct azk_client_event *ev, char *out, size_t size);

/* Counts one more `kind` in `list` (AZK_FLEET_ERROR_KINDS entries, *n used); when the list is
 * full, new kinds are counted as "other". */
void azki_fleet_count_error(struct azk_fleet_error_count *list, size_t *n, const char *kind);

#endif

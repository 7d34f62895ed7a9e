/* Latency histograms and failure kinds of the fleet (fleet_stats.h). */
#include "port/fleet_stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SUB (1u << AZKI_HIST_SUB_BITS)

static unsigned bucket_of(uint64_t us)
{
    if (us < SUB)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us);
    if (e >= AZKI_HIST_TOP_EXP)
        return AZKI_HIST_BUCKETS - 1;
    unsigned sub = (unsigned)(us >> (e - AZKI_HIST_SUB_BITS)) & (SUB - 1);
    return SUB + (e - AZKI_HIST_SUB_BITS) * SUB + sub;
}

/* The largest value a bucket holds. */
static uint64_t bucket_top(unsigned b)
{
    if (b < SUB)
        return b;
    if (b >= AZKI_HIST_BUCKETS - 1)
        return UINT64_MAX;
    unsigned e = (b - SUB) / SUB + AZKI_HIST_SUB_BITS, sub = (b - SUB) % SUB;
    return ((uint64_t)(SUB + sub + 1) << (e - AZKI_HIST_SUB_BITS)) - 1;
}

void azki_hist_add(struct azki_hist *h, uint64_t us)
{
    unsigned b = bucket_of(us);
    if (h->bucket[b] != UINT32_MAX)
        h->bucket[b]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

static double quantile_ms(const struct azki_hist *h, uint64_t total, double q)
{
    uint64_t rank = (uint64_t)(q * (double)total + 0.999999), seen = 0;
    if (rank == 0)
        rank = 1;
    for (unsigned b = 0; b < AZKI_HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= rank) {
            uint64_t top = bucket_top(b);
            return (double)(top < h->max_us ? top : h->max_us) / 1000.0;
        }
    }
    return (double)h->max_us / 1000.0;
}

void azki_hist_summary(const struct azki_hist *h, struct azk_fleet_latency *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t total = 0;
    for (unsigned b = 0; b < AZKI_HIST_BUCKETS; b++)
        total += h->bucket[b];
    out->count = h->count;
    if (total == 0)
        return;
    out->p50_ms = quantile_ms(h, total, 0.50);
    out->p90_ms = quantile_ms(h, total, 0.90);
    out->p99_ms = quantile_ms(h, total, 0.99);
    out->max_ms = (double)h->max_us / 1000.0;
}

static const char *transport_kind(int err)
{
    switch (err) {
    case -ECONNABORTED: return "tls-refused";
    case -ECONNREFUSED: return "connection-refused";
    case -ECONNRESET: return "connection-reset";
    case -EPIPE: return "connection-lost";
    case -ETIMEDOUT: return "timeout";
    case -EHOSTUNREACH: return "unreachable";
    case -ENETUNREACH: return "unreachable";
    case -EMFILE: return "no-socket";
    case -ENFILE: return "no-socket";
    case 0: return "closed";
    default: return "transport";
    }
}

void azki_fleet_error_kind(const struct azk_client_event *ev, char *out, size_t size)
{
    switch (ev->failure) {
    case AZK_CLIENT_F_TRANSPORT:
        snprintf(out, size, "%s", transport_kind(ev->err));
        break;
    case AZK_CLIENT_F_CONNACK:
        snprintf(out, size, "connack-%d", ev->code);
        break;
    case AZK_CLIENT_F_DPS_ERROR:
        snprintf(out, size, "dps-%d", ev->code);
        break;
    default:
        snprintf(out, size, "%s", azk_client_failure_name(ev->failure));
        break;
    }
}

void azki_fleet_count_error(struct azk_fleet_error_count *list, size_t *n, const char *kind)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i].kind, kind) == 0) {
            list[i].count++;
            return;
        }
    /* The last entry is kept for "other" (found by the loop above once it exists). */
    if (*n >= AZK_FLEET_ERROR_KINDS - 1 && strcmp(kind, "other") != 0) {
        azki_fleet_count_error(list, n, "other");
        return;
    }
    if (*n >= AZK_FLEET_ERROR_KINDS)
        return;
    snprintf(list[*n].kind, sizeof(list[*n].kind), "%s", kind);
    list[(*n)++].count = 1;
}

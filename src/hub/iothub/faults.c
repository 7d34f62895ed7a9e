/* Fault injection. */
#include "hub/iothub/faults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

bool hub_faults_take_connect(struct hub_daemon *d, uint8_t *code)
{
    if (d->faults.refuse_connects == 0)
        return false;
    d->faults.refuse_connects--;
    *code = d->faults.refuse_code ? d->faults.refuse_code : 3;
    return true;
}

bool hub_faults_take_twin(struct hub_daemon *d)
{
    if (d->faults.twin_throttle == 0)
        return false;
    d->faults.twin_throttle--;
    return true;
}

bool hub_faults_take_dps(struct hub_daemon *d)
{
    if (d->faults.dps_throttle == 0)
        return false;
    d->faults.dps_throttle--;
    return true;
}

int hub_faults_drop(struct hub_iothub *h, const char *device_id)
{
    struct hub_conn *c = hub_devmap_get(&h->conns, device_id);
    if (c == NULL)
        return -ENOENT;
    hub_conn_close(c, true, "fault injection: connection dropped by the service");
    return 0;
}

struct kill_ctx {
    struct hub_conn *c;
    uint64_t conn_id;
    char op[64], reason[128];
};

static void kill_now(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct kill_ctx *k = arg;
    if (hub_conn_alive(k->c))
        hub_conn_close(k->c, true, "fault injection: %s (%s)", k->op,
                       k->reason[0] ? k->reason : "no reason given");
    hub_conn_unref(k->c);
    free(k);
}

/* Decoded value of a property, or "" when absent. */
static void prop_value(struct azk_span bag, const char *name, char *out, size_t size)
{
    struct azk_prop p;
    out[0] = '\0';
    size_t n = 0;
    if (azk_prop_find(bag, name, &p) == 0 && p.has_value &&
        azk_pct_decode(p.value, out, size - 1, &n) == 0)
        out[n] = '\0';
}

void hub_faults_telemetry(struct hub_conn *c, struct azk_span bag)
{
    char op[64];
    prop_value(bag, "AzIoTHub_FaultOperationType", op, sizeof(op));
    if (op[0] == '\0')
        return;
    char delay[16];
    prop_value(bag, "AzIoTHub_FaultOperationDelayInSecs", delay, sizeof(delay));
    struct kill_ctx *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return;
    k->c = c;
    snprintf(k->op, sizeof(k->op), "%s", op);
    prop_value(bag, "AzIoTHub_FaultOperationCloseReason", k->reason, sizeof(k->reason));
    hub_conn_ref(c);
    long secs = strtol(delay, NULL, 10);
    struct timeval tv = {secs > 0 && secs < 3600 ? secs : 0, 0};
    hub_log(HUB_LOG_INFO, "device '%s': fault %s requested, in %ld s", c->device_id, op,
            (long)tv.tv_sec);
    event_base_once(c->d->base, -1, EV_TIMEOUT, kill_now, k, &tv);
}

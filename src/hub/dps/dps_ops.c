/* DPS operations in memory (see dps_ops.h). */
#include "hub/dps/dps_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/dps/dps_webhook.h"

#define OPS_KEEP_MS (15 * 60 * 1000LL) /* a finished operation can be polled this long */
#define OPS_MAX 10000                  /* most operations kept */

void dps_uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)rand();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void op_free(struct dps_op *op)
{
    if (op->webhook)
        dps_webhook_cancel(op->webhook);
    if (op->timer)
        event_free(op->timer);
    dps_enrollment_clear(&op->enr);
    dps_group_clear(&op->grp);
    dps_registration_clear(&op->result);
    free(op->payload);
    free(op);
}

void dps_op_discard(struct dps_op *op)
{
    struct hub_dps *dps = &op->d->dps;
    for (struct dps_op **pp = &dps->ops; *pp; pp = &(*pp)->next) {
        if (*pp == op) {
            *pp = op->next;
            dps->n_ops--;
            break;
        }
    }
    op_free(op);
}

/* Drops finished operations past their time, and the oldest finished ones over the cap.
 * Operations still assigning stay (a store completion points at them). */
static void purge(struct hub_dps *dps, int64_t now)
{
    size_t kept = 0;
    for (struct dps_op **pp = &dps->ops; *pp;) {
        struct dps_op *op = *pp;
        bool old = op->done && !op->in_flight &&
                   (now - op->done_ms > OPS_KEEP_MS || kept >= OPS_MAX);
        if (old) {
            *pp = op->next;
            dps->n_ops--;
            op_free(op);
        } else {
            kept++;
            pp = &op->next;
        }
    }
}

struct dps_op *dps_op_new(struct hub_daemon *d, const char *registration_id)
{
    purge(&d->dps, hub_now_ms());
    struct dps_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return NULL;
    op->d = d;
    snprintf(op->registration_id, sizeof(op->registration_id), "%s", registration_id);
    unsigned char r[8];
    if (RAND_bytes(r, sizeof(r)) != 1)
        memset(r, 0, sizeof(r));
    char uuid[37];
    dps_uuid4(uuid);
    snprintf(op->id, sizeof(op->id), "4.%02x%02x%02x%02x%02x%02x%02x%02x.%s", r[0], r[1], r[2],
             r[3], r[4], r[5], r[6], r[7], uuid);
    op->next = d->dps.ops;
    d->dps.ops = op;
    d->dps.n_ops++;
    return op;
}

struct dps_op *dps_op_find(struct hub_daemon *d, struct azk_span id)
{
    for (struct dps_op *op = d->dps.ops; op; op = op->next)
        if (azk_span_eq_str(id, op->id))
            return op;
    return NULL;
}

static void fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dps_assign(arg);
}

int dps_op_schedule(struct dps_op *op, unsigned delay_s)
{
    op->timer = evtimer_new(op->d->base, fire, op);
    if (op->timer == NULL)
        return -ENOMEM;
    struct timeval tv = {(time_t)delay_s, 0};
    return evtimer_add(op->timer, &tv) == 0 ? 0 : -ENOMEM;
}

void hub_dps_stop(struct hub_daemon *d)
{
    while (d->dps.ops) {
        struct dps_op *op = d->dps.ops;
        d->dps.ops = op->next;
        op_free(op);
    }
    d->dps.n_ops = 0;
}

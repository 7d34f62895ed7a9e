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

/* Frees the copy of what matched. */
static void release_match(struct dps_op *op)
{
    if (op->enr) {
        dps_enrollment_clear(op->enr);
        free(op->enr);
        op->enr = NULL;
    }
    if (op->grp) {
        dps_group_clear(op->grp);
        free(op->grp);
        op->grp = NULL;
    }
}

int dps_op_set_enrollment(struct dps_op *op, const struct dps_enrollment *e)
{
    struct dps_enrollment *copy = calloc(1, sizeof(*copy));
    if (copy == NULL || dps_enrollment_copy(copy, e) != 0) {
        free(copy);
        return -ENOMEM;
    }
    release_match(op);
    op->enr = copy;
    op->kind = DPS_MATCH_INDIVIDUAL;
    return 0;
}

int dps_op_set_group(struct dps_op *op, const struct dps_group *g)
{
    struct dps_group *copy = calloc(1, sizeof(*copy));
    if (copy == NULL || dps_group_copy(copy, g) != 0) {
        free(copy);
        return -ENOMEM;
    }
    release_match(op);
    op->grp = copy;
    op->kind = DPS_MATCH_GROUP;
    return 0;
}

void dps_op_finish(struct dps_op *op)
{
    if (!op->done) {
        op->done = true;
        op->done_ms = hub_now_ms();
        dps_op_index_finished(&op->d->dps.ops, op);
    }
    release_match(op);
    if (op->timer) { /* it has fired: the assignment it started is over */
        event_free(op->timer);
        op->timer = NULL;
    }
}

static void op_free(struct dps_op *op)
{
    if (op->webhook)
        dps_webhook_cancel(op->webhook);
    if (op->timer)
        event_free(op->timer);
    release_match(op);
    dps_registration_clear(&op->result);
    free(op->payload);
    hub_slab_free(&op->d->dps.op_slab, op);
}

void dps_op_discard(struct dps_op *op)
{
    dps_op_index_remove(&op->d->dps.ops, op);
    op_free(op);
}

/* Drops finished operations past their time, and the oldest finished ones over the cap, in
 * the order they finished (work proportional to what is dropped). Operations still assigning
 * stay (a store completion points at them); a finished one is never in flight. */
static void purge(struct hub_dps *dps, int64_t now)
{
    struct dps_op *op;
    while ((op = dps_op_index_pop_expired(&dps->ops, now, OPS_KEEP_MS, OPS_MAX)) != NULL)
        op_free(op);
}

struct dps_op *dps_op_new(struct hub_daemon *d, const char *registration_id)
{
    purge(&d->dps, hub_now_ms());
    if (d->dps.op_slab.size == 0)
        hub_slab_init(&d->dps.op_slab, sizeof(struct dps_op));
    struct dps_op *op = hub_slab_alloc(&d->dps.op_slab);
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
    if (dps_op_index_add(&d->dps.ops, op) != 0) {
        hub_slab_free(&d->dps.op_slab, op);
        return NULL;
    }
    return op;
}

struct dps_op *dps_op_find(struct hub_daemon *d, struct azk_span id)
{
    return dps_op_index_find(&d->dps.ops, id);
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
    dps_op_index_clear(&d->dps.ops, op_free);
}

/* DPS operations in memory: one per accepted register request, found by operation id (a hash
 * table, dps_op_index.h) and answered only to polls for the same registration id (on the
 * connection that asks). */
#ifndef AZK_HUB_DPS_OPS_H
#define AZK_HUB_DPS_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "azkit/span.h"
#include "hub/dps/dps_match.h"
#include "hub/dps/dps_model.h"

struct hub_daemon;
struct event;

#define DPS_OP_ID_MAX 64 /* "4.<16 hex>.<uuid>" is 55 */

struct dps_op {
    struct dps_op *hnext;      /* dps_op_index: the next one in this hash bucket */
    struct dps_op *done_prev;  /* dps_op_index: finished FIFO neighbours */
    struct dps_op *done_next;
    bool in_done_fifo;
    struct hub_daemon *d;
    char id[DPS_OP_ID_MAX + 1];
    char registration_id[DPS_REG_ID_MAX + 1];
    struct event *timer;       /* the assignment starts when it fires */
    bool in_flight;            /* store writes submitted, not committed yet */
    bool done;                 /* `result` is final */
    int64_t done_ms;
    enum dps_match_kind kind;
    enum dps_attestation attestation; /* X.509 (leaf thumbprints) or symmetric key */
    /* What matched: a copy (the enrollment may change while the operation runs), made by
     * dps_op_set_enrollment/dps_op_set_group and released by dps_op_finish. A finished
     * operation is kept for polls (up to 15 min, 10,000 of them) and holds only its result:
     * with the copies (12 KiB each) kept, a 10,000-device storm held 130 MiB for 15 min. */
    struct dps_enrollment *enr; /* DPS_MATCH_INDIVIDUAL while assigning, else NULL */
    struct dps_group *grp;      /* DPS_MATCH_GROUP while assigning, else NULL */
    char leaf_sha1[41];
    char leaf_sha256[65];
    char *payload;             /* the request's "payload" JSON, or NULL */
    struct dps_webhook_call *webhook; /* custom allocation call in flight, or NULL */
    struct dps_registration result;
};

/* A new operation for `registration_id` (indexed; finished ones past their 15 min, or the
 * oldest finished while more than 10,000 are kept, are dropped first).
 * NULL when out of memory. */
struct dps_op *dps_op_new(struct hub_daemon *d, const char *registration_id);
/* The operation with this id, or NULL. */
struct dps_op *dps_op_find(struct hub_daemon *d, struct azk_span id);
/* Starts the assignment after `delay_s` seconds (0: on the next loop turn). */
int dps_op_schedule(struct dps_op *op, unsigned delay_s);
/* Unlinks and frees one operation. */
void dps_op_discard(struct dps_op *op);
/* Gives the operation its copy of the matched individual enrollment (kind
 * DPS_MATCH_INDIVIDUAL) or group (DPS_MATCH_GROUP); sets op->kind. Returns 0 or -ENOMEM
 * (the operation is unchanged). */
int dps_op_set_enrollment(struct dps_op *op, const struct dps_enrollment *e);
int dps_op_set_group(struct dps_op *op, const struct dps_group *g);
/* The result is final: sets op->done and op->done_ms, and frees the copy of the enrollment or
 * group (op->enr and op->grp become NULL); polls are answered from op->result. */
void dps_op_finish(struct dps_op *op);

/* The assignment (dps_assign.c): allocation, reprovisioning decision, device and twin in the
 * hub's registry, registration record. Sets op->done once the record is committed. */
void dps_assign(struct dps_op *op);

/* A UUID v4 text (36 characters). */
void dps_uuid4(char out[37]);

#endif

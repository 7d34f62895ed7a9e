/* Where DPS operations are found: a hash table keyed by operation id (lookup O(1)), and the
 * finished operations in the order they finished (a FIFO: they expire in that order, so
 * purging costs what expires). Links live in struct dps_op (dps_ops.h); the index owns no
 * operation. One thread (no locking). */
#ifndef AZK_HUB_DPS_OP_INDEX_H
#define AZK_HUB_DPS_OP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/span.h"

struct dps_op;

struct dps_op_index {
    struct dps_op **buckets; /* chains through dps_op.hnext; a power of two of them */
    size_t n_buckets;
    size_t n;                /* operations indexed */
    struct dps_op *done_head; /* finished longest ago (through dps_op.done_next) */
    struct dps_op *done_tail; /* finished last */
};

/* Indexes `op` by op->id (unique: the caller makes random ids). Returns 0, or -ENOMEM when the
 * first table cannot be allocated (a table that cannot grow keeps its size: longer chains). */
int dps_op_index_add(struct dps_op_index *x, struct dps_op *op);
/* The operation whose id is exactly `id` (bytes, case-sensitive), or NULL. */
struct dps_op *dps_op_index_find(const struct dps_op_index *x, struct azk_span id);
/* Appends an indexed operation to the finished FIFO (op->done_ms is when it finished).
 * An operation already there stays where it is. */
void dps_op_index_finished(struct dps_op_index *x, struct dps_op *op);
/* Unindexes `op` (from the table and, if there, the FIFO); the last one out frees the table. */
void dps_op_index_remove(struct dps_op_index *x, struct dps_op *op);
/* The finished operation to drop now, unindexed, or NULL: the one that finished longest ago,
 * when it finished more than `keep_ms` before `now` or more than `max` operations are
 * indexed. Unfinished operations are never returned. Call until NULL. */
struct dps_op *dps_op_index_pop_expired(struct dps_op_index *x, int64_t now, int64_t keep_ms,
                                        size_t max);
/* Empties the index, passing each operation (unindexed) to `drop` if not NULL, and frees the
 * table (at stop). */
void dps_op_index_clear(struct dps_op_index *x, void (*drop)(struct dps_op *op));

#endif

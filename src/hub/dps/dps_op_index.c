/* Where DPS operations are found (see dps_op_index.h). */
#include "hub/dps/dps_op_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub/dps/dps_ops.h"

#define FIRST_BUCKETS 256

/* FNV-1a, 64 bits, over the id's bytes. */
static uint64_t id_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct dps_op **bucket(struct dps_op **b, size_t n_buckets, const char *id)
{
    return &b[id_hash(id, strlen(id)) & (n_buckets - 1)];
}

/* Twice the buckets; on failure the table stays as it is. */
static int grow(struct dps_op_index *x)
{
    size_t n = x->n_buckets ? x->n_buckets * 2 : FIRST_BUCKETS;
    struct dps_op **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < x->n_buckets; i++) {
        while (x->buckets[i]) {
            struct dps_op *op = x->buckets[i];
            x->buckets[i] = op->hnext;
            struct dps_op **to = bucket(b, n, op->id);
            op->hnext = *to;
            *to = op;
        }
    }
    free(x->buckets);
    x->buckets = b;
    x->n_buckets = n;
    return 0;
}

int dps_op_index_add(struct dps_op_index *x, struct dps_op *op)
{
    if (x->n >= x->n_buckets && grow(x) != 0 && x->n_buckets == 0)
        return -ENOMEM;
    struct dps_op **to = bucket(x->buckets, x->n_buckets, op->id);
    op->hnext = *to;
    *to = op;
    op->done_prev = op->done_next = NULL;
    op->in_done_fifo = false;
    x->n++;
    return 0;
}

struct dps_op *dps_op_index_find(const struct dps_op_index *x, struct azk_span id)
{
    if (x->n_buckets == 0 || id.len > DPS_OP_ID_MAX)
        return NULL;
    for (struct dps_op *op = x->buckets[id_hash(id.ptr, id.len) & (x->n_buckets - 1)]; op;
         op = op->hnext)
        if (azk_span_eq_str(id, op->id))
            return op;
    return NULL;
}

void dps_op_index_finished(struct dps_op_index *x, struct dps_op *op)
{
    if (op->in_done_fifo)
        return;
    op->in_done_fifo = true;
    op->done_next = NULL;
    op->done_prev = x->done_tail;
    if (x->done_tail)
        x->done_tail->done_next = op;
    else
        x->done_head = op;
    x->done_tail = op;
}

void dps_op_index_remove(struct dps_op_index *x, struct dps_op *op)
{
    for (struct dps_op **pp = bucket(x->buckets, x->n_buckets, op->id); *pp;
         pp = &(*pp)->hnext) {
        if (*pp == op) {
            *pp = op->hnext;
            x->n--;
            break;
        }
    }
    op->hnext = NULL;
    if (op->in_done_fifo) {
        if (op->done_prev)
            op->done_prev->done_next = op->done_next;
        else
            x->done_head = op->done_next;
        if (op->done_next)
            op->done_next->done_prev = op->done_prev;
        else
            x->done_tail = op->done_prev;
        op->in_done_fifo = false;
    }
    op->done_prev = op->done_next = NULL;
    if (x->n == 0) /* nothing to find: the table goes too */
        dps_op_index_clear(x, NULL);
}

struct dps_op *dps_op_index_pop_expired(struct dps_op_index *x, int64_t now, int64_t keep_ms,
                                        size_t max)
{
    struct dps_op *op = x->done_head;
    if (op == NULL || (now - op->done_ms <= keep_ms && x->n <= max))
        return NULL;
    dps_op_index_remove(x, op);
    return op;
}

void dps_op_index_clear(struct dps_op_index *x, void (*drop)(struct dps_op *op))
{
    for (size_t i = 0; i < x->n_buckets; i++) {
        while (x->buckets[i]) {
            struct dps_op *op = x->buckets[i];
            x->buckets[i] = op->hnext;
            op->hnext = op->done_prev = op->done_next = NULL;
            op->in_done_fifo = false;
            if (drop)
                drop(op);
        }
    }
    free(x->buckets);
    memset(x, 0, sizeof(*x));
}

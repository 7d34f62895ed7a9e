/* DPS operations in memory (src/hub/dps/dps_ops.c, dps_op_index.c): every one of many
 * operations found by its id and no other id found (prefixes, extensions, other case, removed
 * ones), the finished ones dropped in the order they finished (after 15 min, or the oldest
 * over the cap) and never one still assigning, and the same through dps_op_new / dps_op_find /
 * dps_op_finish / dps_op_discard on a daemon, everything freed at stop (LSan in the asan
 * build). The behaviour over MQTT (polls, 404000 for unknown ids) is test_dps_mqtt's. */
#include "support/test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/dps/dps_op_index.h"
#include "hub/dps/dps_ops.h"

#define MANY 20000
#define KEEP_MS 900000

static struct azk_span S(const char *s)
{
    return azk_span_from_str(s);
}

static struct dps_op *make_ops(size_t n)
{
    struct dps_op *ops = calloc(n, sizeof(*ops));
    assert_non_null(ops);
    for (size_t i = 0; i < n; i++)
        snprintf(ops[i].id, sizeof(ops[i].id), "4.%016zx.op-%zu", i * 7919, i);
    return ops;
}

static void test_lookup_many(void **state)
{
    (void)state;
    struct dps_op_index x = {0};
    struct dps_op *ops = make_ops(MANY);
    for (size_t i = 0; i < MANY; i++) {
        assert_int_equal(dps_op_index_add(&x, &ops[i]), 0);
        /* Found while the table grows, not only at the end. */
        assert_ptr_equal(dps_op_index_find(&x, S(ops[i / 2].id)), &ops[i / 2]);
    }
    assert_int_equal(x.n, MANY);
    for (size_t i = 0; i < MANY; i++)
        assert_ptr_equal(dps_op_index_find(&x, S(ops[i].id)), &ops[i]);

    /* Unknown ids: never made, a prefix, longer, other case, empty, too long. */
    char id[2 * DPS_OP_ID_MAX];
    assert_null(dps_op_index_find(&x, S("4.0000000000000000.op-20000")));
    snprintf(id, sizeof(id), "%s", ops[5].id);
    struct azk_span prefix = {id, strlen(id) - 1};
    assert_null(dps_op_index_find(&x, prefix));
    snprintf(id, sizeof(id), "%sx", ops[5].id);
    assert_null(dps_op_index_find(&x, S(id)));
    snprintf(id, sizeof(id), "4.%016zX.OP-%d", (size_t)1 * 7919, 1);
    assert_null(dps_op_index_find(&x, S(id)));
    assert_null(dps_op_index_find(&x, S("")));
    assert_null(dps_op_index_find(&x, (struct azk_span){NULL, 0}));
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_null(dps_op_index_find(&x, S(id)));
    /* A span into a longer text: only its bytes count. */
    snprintf(id, sizeof(id), "%s/more", ops[7].id);
    assert_ptr_equal(dps_op_index_find(&x, (struct azk_span){id, strlen(ops[7].id)}), &ops[7]);

    /* Removed ones are gone, the others stay. */
    for (size_t i = 0; i < MANY; i += 3)
        dps_op_index_remove(&x, &ops[i]);
    for (size_t i = 0; i < MANY; i++)
        assert_ptr_equal(dps_op_index_find(&x, S(ops[i].id)), i % 3 ? &ops[i] : NULL);
    assert_int_equal(x.n, MANY - (MANY + 2) / 3);

    dps_op_index_clear(&x, NULL);
    assert_int_equal(x.n, 0);
    assert_null(dps_op_index_find(&x, S(ops[1].id)));
    free(ops);
}

/* Finishes `op` at time `t`, as dps_op_finish does (once). */
static void finish(struct dps_op_index *x, struct dps_op *op, int64_t t)
{
    if (!op->done) {
        op->done = true;
        op->done_ms = t;
    }
    dps_op_index_finished(x, op);
}

static void test_expiry_order(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct dps_op_index x = {0};
    struct dps_op *ops = make_ops(N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(dps_op_index_add(&x, &ops[i]), 0);
    /* Finished out of creation order (odd ones first, then even ones); every 10th (those
     * with i % 10 == 9) still assigning. ops[i] finishes at `at[i]`. */
    size_t order[N], k = 0;
    for (size_t i = 1; i < N; i += 2)
        order[k++] = i;
    for (size_t i = 0; i < N; i += 2)
        order[k++] = i;
    int64_t at[N] = {0}, t = 1000;
    size_t n_done = 0;
    for (k = 0; k < N; k++) {
        size_t i = order[k];
        if (i % 10 == 9)
            continue;
        at[i] = t++;
        finish(&x, &ops[i], at[i]);
        finish(&x, &ops[i], t + 5000); /* finishing again: the FIFO is unchanged */
        n_done++;
    }
    /* Nothing expired yet, and under the cap: nothing dropped. */
    assert_null(dps_op_index_pop_expired(&x, 1000 + KEEP_MS, KEEP_MS, N));
    /* The first 100 to finish have passed their time: exactly those, in finish order. */
    int64_t now = 1000 + 99 + KEEP_MS + 1;
    size_t popped = 0;
    struct dps_op *op;
    int64_t last = 0;
    while ((op = dps_op_index_pop_expired(&x, now, KEEP_MS, N)) != NULL) {
        assert_true(op->done);
        assert_true(op->done_ms > last);
        last = op->done_ms;
        assert_true(now - op->done_ms > KEEP_MS);
        assert_null(dps_op_index_find(&x, S(op->id)));
        popped++;
    }
    assert_int_equal(popped, 100);
    assert_int_equal(x.n, N - 100);
    /* One finished in the middle removed (discarded): the order of the rest holds. */
    size_t mid = order[300];
    dps_op_index_remove(&x, &ops[mid]);
    /* Over the cap (50 fewer): the 50 that finished longest ago go, whatever their age. */
    popped = 0;
    while ((op = dps_op_index_pop_expired(&x, now, KEEP_MS, N - 150)) != NULL) {
        assert_true(op->done_ms > last);
        assert_true(op != &ops[mid]);
        last = op->done_ms;
        popped++;
    }
    assert_int_equal(popped, 49);
    assert_int_equal(x.n, N - 150);
    /* A cap below the operations still assigning: every finished one goes, none assigning. */
    popped = 0;
    while ((op = dps_op_index_pop_expired(&x, now, KEEP_MS, 0)) != NULL) {
        assert_true(op->done);
        popped++;
    }
    assert_int_equal(popped, n_done - 150);
    assert_int_equal(x.n, N / 10);
    for (size_t i = 9; i < N; i += 10)
        assert_ptr_equal(dps_op_index_find(&x, S(ops[i].id)), &ops[i]);
    assert_null(x.done_head);
    assert_null(x.done_tail);
    dps_op_index_clear(&x, NULL);
    free(ops);
}

/* The same through the daemon's operations: ids made by dps_op_new, unique and found. */
static void test_daemon_ops(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct hub_daemon *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    struct dps_op **ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    for (size_t i = 0; i < N; i++) {
        char rid[32];
        snprintf(rid, sizeof(rid), "dev-%zu", i);
        ops[i] = dps_op_new(d, rid);
        assert_non_null(ops[i]);
    }
    for (size_t i = 0; i < N; i++) {
        assert_ptr_equal(dps_op_find(d, S(ops[i]->id)), ops[i]);
        char rid[32];
        snprintf(rid, sizeof(rid), "dev-%zu", i);
        assert_string_equal(ops[i]->registration_id, rid);
    }
    assert_null(dps_op_find(d, S("4.0000000000000000.00000000-0000-4000-8000-000000000000")));
    /* Finished ones are kept (well within 15 min and the cap) and still found. */
    for (size_t i = 0; i < N; i += 2)
        dps_op_finish(ops[i]);
    struct dps_op *extra = dps_op_new(d, "dev-extra");
    assert_non_null(extra);
    assert_int_equal(d->dps.ops.n, N + 1);
    for (size_t i = 0; i < N; i++)
        assert_ptr_equal(dps_op_find(d, S(ops[i]->id)), ops[i]);
    /* A discarded one is unknown; the rest are not disturbed. */
    char gone[DPS_OP_ID_MAX + 1];
    snprintf(gone, sizeof(gone), "%s", ops[2]->id);
    dps_op_discard(ops[2]);
    assert_null(dps_op_find(d, S(gone)));
    assert_ptr_equal(dps_op_find(d, S(ops[4]->id)), ops[4]);
    assert_ptr_equal(dps_op_find(d, S(extra->id)), extra);
    hub_dps_stop(d);
    assert_int_equal(d->dps.ops.n, 0);
    assert_int_equal(d->dps.op_slab.live, 0);
    free(ops);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_many),
        cmocka_unit_test(test_expiry_order),
        cmocka_unit_test(test_daemon_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

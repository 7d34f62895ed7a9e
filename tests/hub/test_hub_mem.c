/* What the hub keeps after a storm of devices (docs/benchmarks.md, "Storm"): records that
 * outlive connections live in slabs that go back to the system when emptied (hub/slab.h); a
 * finished DPS operation holds only its result, not its copy of the enrollment group or its
 * timer (dps_ops.h); new twins share their "{}" and "" texts instead of allocating them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "hub/daemon.h"
#include "hub/dps/dps_ops.h"
#include "hub/slab.h"
#include "hub/store/store_internal.h"

static void test_slab_blocks_return(void **state)
{
    (void)state;
    struct hub_slab s;
    hub_slab_init(&s, 1368);
    enum { N = 500 }; /* several 64 KiB blocks */
    unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = hub_slab_alloc(&s);
        assert_non_null(p[i]);
        for (size_t k = 0; k < 1368; k++)
            assert_int_equal(p[i][k], 0);
        memset(p[i], 0xA5, 1368);
    }
    assert_int_equal(s.live, N);
    assert_true(s.blocks >= N / s.per_block);
    size_t full = s.blocks;
    /* Freeing every other record keeps every block; a new record reuses a freed one. */
    for (int i = 0; i < N; i += 2)
        hub_slab_free(&s, p[i]);
    assert_int_equal(s.blocks, full);
    unsigned char *again = hub_slab_alloc(&s);
    assert_non_null(again);
    assert_int_equal(again[0], 0); /* zeroed, not what the freed record held */
    assert_int_equal(s.blocks, full);
    hub_slab_free(&s, again);
    for (int i = 1; i < N; i += 2)
        hub_slab_free(&s, p[i]);
    assert_int_equal(s.live, 0);
    assert_int_equal(s.blocks, 0); /* every block went back to the system */
    hub_slab_free(&s, NULL);
}

static void test_slab_too_big(void **state)
{
    (void)state;
    struct hub_slab s;
    hub_slab_init(&s, 100 * 1024);
    assert_null(hub_slab_alloc(&s));
    assert_int_equal(s.blocks, 0);
}

static void test_finished_op_keeps_only_result(void **state)
{
    (void)state;
    static struct hub_daemon d;
    memset(&d, 0, sizeof(d));
    d.base = event_base_new();
    assert_non_null(d.base);
    struct dps_group g;
    memset(&g, 0, sizeof(g));
    strcpy(g.group_id, "storm");
    g.primary_pem = strdup("-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n");
    g.c.initial_twin = strdup("{\"tags\":{\"a\":1}}");
    strcpy(g.keys.primary, "c2VjcmV0");

    struct dps_op *op = dps_op_new(&d, "dev-1");
    assert_non_null(op);
    assert_int_equal(dps_op_set_group(op, &g), 0);
    assert_int_equal(op->kind, DPS_MATCH_GROUP);
    assert_non_null(op->grp);
    assert_null(op->enr);
    assert_string_equal(op->grp->group_id, "storm");
    assert_ptr_not_equal(op->grp->primary_pem, g.primary_pem); /* a copy */
    assert_int_equal(dps_op_schedule(op, 3600), 0);
    assert_non_null(op->timer);
    assert_int_equal(d.dps.op_slab.live, 1);

    dps_op_finish(op);
    assert_true(op->done);
    assert_null(op->grp); /* the copy (and the group's keys) are gone */
    assert_null(op->timer);
    struct azk_span id = {op->id, strlen(op->id)};
    assert_ptr_equal(dps_op_find(&d, id), op); /* still answers polls */

    /* An individual enrollment the same way. */
    struct dps_enrollment e;
    memset(&e, 0, sizeof(e));
    strcpy(e.registration_id, "dev-2");
    struct dps_op *op2 = dps_op_new(&d, "dev-2");
    assert_non_null(op2);
    assert_int_equal(dps_op_set_enrollment(op2, &e), 0);
    assert_non_null(op2->enr);
    dps_op_finish(op2);
    assert_null(op2->enr);

    dps_op_discard(op2);
    dps_op_discard(op);
    assert_int_equal(d.dps.ops.n, 0);
    assert_int_equal(d.dps.op_slab.live, 0);
    assert_int_equal(d.dps.op_slab.blocks, 0);
    dps_group_clear(&g);
    event_base_free(d.base);
}

static void test_new_twin_shares_empty_texts(void **state)
{
    (void)state;
    struct hub_twin a, b, c;
    assert_int_equal(store_twin_init(&a, "dev-1"), 0);
    assert_true(hub_twin_text_shared(a.desired));
    assert_true(hub_twin_text_shared(a.reported));
    assert_true(hub_twin_text_shared(a.tags));
    assert_true(hub_twin_text_shared(a.meta));
    assert_string_equal(a.desired, "{}");
    assert_string_equal(a.meta, "");
    /* A twin with content owns it; replacing a shared text frees nothing shared. */
    hub_twin_text_free(a.tags);
    a.tags = strdup("{\"site\":\"x\"}");
    assert_int_equal(store_twin_copy(&b, &a), 0);
    assert_false(hub_twin_text_shared(b.tags));
    assert_string_equal(b.tags, "{\"site\":\"x\"}");
    assert_true(hub_twin_text_shared(b.desired));
    assert_int_equal(store_twin_init(&c, "dev-2"), 0);
    hub_twin_clear(&a);
    hub_twin_clear(&b);
    assert_string_equal(c.desired, "{}"); /* still intact after the others are cleared */
    hub_twin_clear(&c);
    assert_null(c.desired);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slab_blocks_return),
        cmocka_unit_test(test_slab_too_big),
        cmocka_unit_test(test_finished_op_keeps_only_result),
        cmocka_unit_test(test_new_twin_shares_empty_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

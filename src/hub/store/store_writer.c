/* The store's writer thread: the only thread that writes SQLite. It takes every queued
 * operation (up to group_max_ops) and applies them in ONE transaction (group commit), then
 * hands them back to the loop thread through a pipe, in submission order.
 *
 * Durability: the connection runs with journal_mode=WAL and synchronous=FULL (store_schema.c),
 * so COMMIT returns only after the WAL is fsynced. A completion runs only after its COMMIT
 * returned, hence a write whose completion ran survives kill -9 and power loss, and one fsync
 * is paid per group, not per message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub/store/store_internal.h"

struct store_op *store_op_new(enum store_op_kind kind, hub_store_done_fn done, void *ctx)
{
    struct store_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->kind = kind;
    op->done = done;
    op->ctx = ctx;
    return op;
}

void store_op_free(struct store_op *op)
{
    if (!op)
        return;
    switch (op->kind) {
    case OP_DEVICE_PUT:
        if (op->u.device)
            hub_twin_clear(&op->u.device->twin);
        free(op->u.device);
        break;
    case OP_CONN_STATE:
        free(op->u.conn.rows);
        break;
    case OP_CA_PUT:
        hub_ca_clear(&op->u.ca);
        break;
    case OP_TWIN_PUT:
        hub_twin_clear(&op->u.twin);
        break;
    case OP_C2D_PUT:
        hub_c2d_msg_clear(&op->u.c2d);
        break;
    case OP_TELEMETRY:
        hub_telemetry_clear(&op->u.tel);
        break;
    case OP_DPS_PUT:
        free(op->u.dps.doc);
        break;
    default:
        break;
    }
    free(op);
}

void store_submit(struct hub_store *st, struct store_op *op)
{
    op->next = NULL;
    st->ops_submitted++;
    pthread_mutex_lock(&st->mu);
    if (st->q_tail)
        st->q_tail->next = op;
    else
        st->q_head = op;
    st->q_tail = op;
    if (!st->kick_ev)
        pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (st->kick_ev && !st->kick_armed) {
        st->kick_armed = true;
        event_active(st->kick_ev, EV_TIMEOUT, 0);
    }
}

enum txn_step { TXN_BEGIN, TXN_COMMIT, TXN_ROLLBACK };

/* Runs a transaction statement, prepared on first use and kept (sqlite3_exec parsed the text
 * of two statements per group again each time, a tenth of a message's cost). */
static int txn(struct hub_store *st, enum txn_step step)
{
    static const char *const sql[] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    if (!st->txn[step]) {
        int rc = sqlite3_prepare_v3(st->db, sql[step], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->txn[step], NULL);
        if (rc != SQLITE_OK)
            return store_sqlite_errno(rc);
    }
    int rc = sqlite3_step(st->txn[step]);
    sqlite3_reset(st->txn[step]);
    return rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc);
}

static int apply_one(struct hub_store *st, struct store_op *op)
{
    switch (op->kind) {
    case OP_SYNC:
        return 0;
    case OP_DEVICE_PUT:
    case OP_DEVICE_DELETE:
    case OP_CONN_STATE:
        return store_registry_apply(st->db, op);
    case OP_CA_PUT:
    case OP_CA_DELETE:
        return store_cas_apply(st->db, op);
    case OP_TWIN_PUT:
        return store_twins_apply(st->db, &op->u.twin);
    case OP_C2D_PUT:
    case OP_C2D_DELETE:
    case OP_C2D_DELIVERY:
    case OP_C2D_PURGE:
        return store_c2d_apply(st->db, op);
    case OP_TELEMETRY:
        return store_telemetry_apply(st, st->db, op);
    case OP_DPS_PUT:
    case OP_DPS_DELETE:
        return store_dps_apply(st->db, op);
    }
    return -EINVAL;
}

/* Applies ops [first, end) in one transaction. Returns 0 or a negative errno (rolled back). */
static int apply_group(struct hub_store *st, struct store_op *first, struct store_op *end)
{
    int rc = txn(st, TXN_BEGIN);
    if (rc < 0)
        return rc;
    /* A rollback undoes a segment the group emptied and the records it added. */
    struct store_tel_ring ring = st->tel_ring;
    for (struct store_op *op = first; op != end && rc == 0; op = op->next)
        rc = apply_one(st, op);
    if (rc == 0)
        rc = txn(st, TXN_COMMIT);
    if (rc < 0) {
        txn(st, TXN_ROLLBACK);
        st->tel_ring = ring;
        return rc;
    }
    atomic_fetch_add(&st->transactions, 1);
    return 0;
}

static void finish(struct hub_store *st, struct store_op *first, struct store_op *end, int rc)
{
    for (struct store_op *op = first; op != end; op = op->next) {
        op->rc = rc < 0 ? -EIO : 0;
        if (rc < 0) {
            atomic_fetch_add(&st->ops_failed, 1);
            continue;
        }
        atomic_fetch_add(&st->ops_committed, 1);
        if (op->kind == OP_CONN_STATE)
            atomic_fetch_add(&st->conn_flushes, 1);
        if (op->kind == OP_TELEMETRY && op->u.tel.seq > atomic_load(&st->tel_committed_seq))
            atomic_store(&st->tel_committed_seq, op->u.tel.seq);
    }
}

/* Takes at most group_max_ops operations off the queue (st->mu held); NULL when empty. */
static struct store_op *take_group(struct hub_store *st, struct store_op **last_out)
{
    struct store_op *head = st->q_head, *last = head;
    if (!head)
        return NULL;
    unsigned n = 1;
    while (last->next && n < st->group_max_ops) {
        last = last->next;
        n++;
    }
    st->q_head = last->next;
    if (!st->q_head)
        st->q_tail = NULL;
    last->next = NULL;
    *last_out = last;
    return head;
}

/* Commits one group taken by take_group() and records each operation's outcome. */
static void commit_group(struct hub_store *st, struct store_op *head)
{
    int rc = apply_group(st, head, NULL);
    if (rc < 0 && head->next) {
        /* One bad operation must not fail its neighbours: retry each on its own. */
        for (struct store_op *op = head; op; op = op->next)
            finish(st, op, op->next, apply_group(st, op, op->next));
    } else {
        finish(st, head, NULL, rc);
    }
}

/* Hands committed operations to the loop (st->mu held); true when the list was empty. */
static bool hand_over(struct hub_store *st, struct store_op *head, struct store_op *last)
{
    bool was_empty = st->d_head == NULL;
    if (st->d_tail)
        st->d_tail->next = head;
    else
        st->d_head = head;
    st->d_tail = last;
    return was_empty;
}

static void *writer_main(void *arg)
{
    struct hub_store *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->mu);
        while ((!st->q_head || st->inline_busy) && !st->stopping)
            pthread_cond_wait(&st->cv, &st->mu);
        struct store_op *last = NULL, *head = st->inline_busy ? NULL : take_group(st, &last);
        if (!head) {
            bool done = st->stopping && !st->inline_busy;
            pthread_mutex_unlock(&st->mu);
            if (done)
                break;
            continue;
        }
        st->writer_busy = true;
        pthread_mutex_unlock(&st->mu);

        commit_group(st, head);

        pthread_mutex_lock(&st->mu);
        st->writer_busy = false;
        bool was_empty = hand_over(st, head, last);
        pthread_mutex_unlock(&st->mu);
        if (was_empty) {
            ssize_t w = write(st->pipe_wr, "x", 1);
            (void)w; /* a full pipe already wakes the loop */
        }
    }
    return NULL;
}

/*
 * --durability process: a commit is a few page writes into the kernel, no fsync, so the loop
 * thread commits what it queued itself when the writer is idle, instead of waking the writer
 * and being woken back through the pipe (two thread switches per group, the larger part of a
 * PUBACK's latency on a virtual machine). The writer keeps every group it already took, and
 * completions stay in submission order: nothing is committed here while the writer holds a
 * group or completions wait to run.
 */
static bool commit_inline(struct hub_store *st)
{
    pthread_mutex_lock(&st->mu);
    if (st->writer_busy || st->d_head || !st->q_head || st->stopping) {
        pthread_mutex_unlock(&st->mu);
        return false;
    }
    st->inline_busy = true;
    pthread_mutex_unlock(&st->mu);
    for (;;) {
        pthread_mutex_lock(&st->mu);
        struct store_op *last = NULL, *head = take_group(st, &last);
        pthread_mutex_unlock(&st->mu);
        if (!head)
            break;
        commit_group(st, head);
        pthread_mutex_lock(&st->mu);
        hand_over(st, head, last);
        pthread_mutex_unlock(&st->mu);
    }
    pthread_mutex_lock(&st->mu);
    st->inline_busy = false;
    pthread_mutex_unlock(&st->mu);
    store_run_completions(st);
    return true;
}

void store_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_store *st = arg;
    st->kick_armed = false;
    if (st->sync_process_only && commit_inline(st))
        return;
    pthread_mutex_lock(&st->mu);
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

int store_writer_start(struct hub_store *st)
{
    int rc = pthread_create(&st->thread, NULL, writer_main, st);
    if (rc != 0)
        return -rc;
    st->thread_started = true;
    return 0;
}

void store_writer_stop(struct hub_store *st)
{
    if (!st->thread_started)
        return;
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    st->thread_started = false;
}

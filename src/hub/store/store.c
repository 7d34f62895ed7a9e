/* The hub's state store: open/close, completions on the loop thread, lazy connection state,
 * and the small helpers every store_*.c uses. See store.h for the threading rule. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hub/store/store_internal.h"

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *store_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int store_copy_str(char *dst, size_t size, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= size)
        return -EINVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---- completions (loop thread) ---- */

void store_run_completions(struct hub_store *st)
{
    pthread_mutex_lock(&st->mu);
    struct store_op *op = st->d_head;
    st->d_head = st->d_tail = NULL;
    pthread_mutex_unlock(&st->mu);

    bool telemetry = false;
    while (op) {
        struct store_op *next = op->next;
        if (op->kind == OP_TELEMETRY && op->rc == 0)
            telemetry = true;
        if (op->done)
            op->done(op->ctx, op->rc);
        store_op_free(op);
        op = next;
    }
    if (telemetry && st->tel_fn)
        st->tel_fn(st->tel_ctx, atomic_load(&st->tel_committed_seq));
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    store_run_completions(arg);
}

/* ---- lazy connection state ---- */

void store_conn_flush(struct hub_store *st)
{
    if (st->conn_dirty_count == 0)
        return;
    struct store_op *op = store_op_new(OP_CONN_STATE, NULL, NULL);
    struct conn_row *rows = calloc(st->conn_dirty_count, sizeof *rows);
    if (!op || !rows) {
        free(rows);
        store_op_free(op);
        return; /* retried at the next tick */
    }
    size_t n = 0;
    for (size_t b = 0; b < st->nbuckets; b++) {
        for (struct dev_entry *e = st->buckets[b]; e; e = e->hnext) {
            if (!e->conn_dirty || n >= st->conn_dirty_count)
                continue;
            memcpy(rows[n].device_id, e->dev.device_id, sizeof rows[n].device_id);
            rows[n].connected = e->dev.connected;
            rows[n].conn_ms = e->dev.connection_state_updated_ms;
            rows[n].activity_ms = e->dev.last_activity_ms;
            rows[n].session = store_session_column(&e->dev);
            e->conn_dirty = false;
            n++;
        }
    }
    st->conn_dirty_count = 0;
    op->u.conn.rows = rows;
    op->u.conn.n = n;
    store_submit(st, op);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    store_conn_flush(arg);
}

/* ---- open / close ---- */

static void store_free(struct hub_store *st)
{
    if (st->pipe_ev)
        event_free(st->pipe_ev);
    if (st->kick_ev)
        event_free(st->kick_ev);
    if (st->conn_timer)
        event_free(st->conn_timer);
    if (st->pipe_rd >= 0)
        close(st->pipe_rd);
    if (st->pipe_wr >= 0)
        close(st->pipe_wr);
    store_checkpoint_stop(st);
    store_tel_seg_close(st);
    if (st->rdb)
        sqlite3_close(st->rdb);
    for (size_t i = 0; i < sizeof st->txn / sizeof st->txn[0]; i++)
        sqlite3_finalize(st->txn[i]);
    if (st->db)
        sqlite3_close(st->db);
    store_devices_free_all(st);
    store_cas_free_all(st);
    store_dps_free_all(st);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->rmu);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->ckpt_mu);
    pthread_cond_destroy(&st->ckpt_cv);
    free(st->dir);
    free(st->db_path);
    free(st);
}

int hub_store_open(const struct hub_store_config *cfg, struct event_base *base,
                   struct hub_store **out, struct azk_diag *diag)
{
    *out = NULL;
    if (!cfg || !cfg->data_dir || !*cfg->data_dir || !base) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.io", "pass --data-dir",
                     "no data directory given for the hub's state");
        return -EINVAL;
    }
    struct hub_store *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->base = base;
    st->pipe_rd = st->pipe_wr = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->rmu, NULL);
    pthread_cond_init(&st->cv, NULL);
    pthread_mutex_init(&st->ckpt_mu, NULL);
    pthread_cond_init(&st->ckpt_cv, NULL);
    st->telemetry_max = cfg->telemetry_max ? cfg->telemetry_max : 100000;
    st->conn_flush_ms = cfg->conn_flush_ms ? cfg->conn_flush_ms : 5000;
    st->group_max_ops = cfg->group_max_ops ? cfg->group_max_ops : 4096;
    st->sync_process_only = cfg->sync_process_only;
    st->c2d_next_seq = 1;
    st->tel_next_seq = 1;
    st->partitions = cfg->partitions ? cfg->partitions : 4;
    if (st->partitions > HUB_PARTITIONS_MAX)
        st->partitions = HUB_PARTITIONS_MAX;
    st->dir = store_strdup(cfg->data_dir);
    size_t plen = strlen(cfg->data_dir) + sizeof "/hub.db";
    st->db_path = malloc(plen);
    if (!st->dir || !st->db_path) {
        store_free(st);
        return -ENOMEM;
    }
    snprintf(st->db_path, plen, "%s/hub.db", cfg->data_dir);

    int rc = store_schema_open(st, diag);
    if (rc == 0)
        rc = store_registry_load(st);
    if (rc == 0)
        rc = store_twins_load(st);
    if (rc == 0)
        rc = store_c2d_load(st);
    if (rc == 0)
        rc = store_cas_load(st);
    if (rc == 0)
        rc = store_dps_load(st);
    if (rc == 0)
        rc = store_telemetry_init(st);
    if (rc == 0)
        rc = store_checkpoint_start(st, cfg->wal_checkpoint_frames);
    if (rc < 0 && !azk_diag_has(diag, AZK_SEV_ERROR)) {
        if (rc == -EILSEQ)
            azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.corrupt",
                         "move the file away (the hub starts with an empty state) or restore "
                         "a backup",
                         "the hub database %s is damaged: %s", st->db_path,
                         st->db ? sqlite3_errmsg(st->db) : "unreadable");
        else
            azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.io", NULL,
                         "cannot load the hub database %s: %s", st->db_path,
                         st->db ? sqlite3_errmsg(st->db) : azk_strerror(rc));
    }
    if (rc < 0) {
        store_free(st);
        return rc;
    }

    int fds[2];
    if (pipe(fds) != 0) {
        rc = -errno;
        store_free(st);
        return rc;
    }
    st->pipe_rd = fds[0];
    st->pipe_wr = fds[1];
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    st->pipe_ev = event_new(base, st->pipe_rd, EV_READ | EV_PERSIST, on_pipe, st);
    st->conn_timer = event_new(base, -1, EV_PERSIST, on_conn_timer, st);
    st->kick_ev = event_new(base, -1, 0, store_kick, st);
    if (!st->pipe_ev || !st->conn_timer || !st->kick_ev) {
        store_free(st);
        return -ENOMEM;
    }
    struct timeval tv = {st->conn_flush_ms / 1000, (st->conn_flush_ms % 1000) * 1000};
    event_add(st->pipe_ev, NULL);
    event_add(st->conn_timer, &tv);

    rc = store_writer_start(st);
    if (rc < 0) {
        store_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void hub_store_close(struct hub_store *st)
{
    if (!st)
        return;
    store_conn_flush(st);
    store_writer_stop(st);
    store_run_completions(st);
    store_free(st); /* stops the checkpoint thread before closing the connections */
}

int hub_store_sync(struct hub_store *st, hub_store_done_fn done, void *ctx)
{
    struct store_op *op = store_op_new(OP_SYNC, done, ctx);
    if (!op)
        return -ENOMEM;
    store_submit(st, op);
    return 0;
}

const char *hub_store_db_path(const struct hub_store *st)
{
    return st->db_path;
}

void hub_store_get_stats(const struct hub_store *st, struct hub_store_stats *out)
{
    struct hub_store *m = (struct hub_store *)st;
    out->ops_submitted = st->ops_submitted;
    out->ops_committed = atomic_load(&m->ops_committed);
    out->ops_failed = atomic_load(&m->ops_failed);
    out->transactions = atomic_load(&m->transactions);
    out->conn_flushes = atomic_load(&m->conn_flushes);
    out->checkpoints = atomic_load(&m->ckpt_passes);
    out->checkpoints_inline = atomic_load(&m->ckpt_inline);
}

void hub_store_set_telemetry_listener(struct hub_store *st, hub_store_telemetry_fn fn,
                                      void *ctx)
{
    st->tel_fn = fn;
    st->tel_ctx = ctx;
}

int store_step_finalize(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc);
}

int store_load_rows(struct hub_store *st, const char *sql,
                    int (*row)(struct hub_store *st, sqlite3_stmt *s, void *ctx), void *ctx)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    rc = 0;
    int src = SQLITE_DONE;
    while (rc == 0 && (src = sqlite3_step(s)) == SQLITE_ROW)
        rc = row(st, s, ctx);
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlite_errno(src);
    sqlite3_finalize(s);
    return rc;
}

/* Telemetry: appended through the writer (never kept in memory), read page by page on any
 * thread through a separate read-only connection (WAL lets it read while the writer writes).
 * Retention: the writer keeps the last telemetry_max records and at most a segment more
 * (store_tel_seg.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

void hub_telemetry_clear(struct hub_telemetry *t)
{
    if (!t)
        return;
    free(t->payload); /* the one block tel_copy made: the properties are in it */
    t->payload = NULL;
    t->app_props = t->sys_props = NULL;
}

void hub_telemetry_free_array(struct hub_telemetry *arr, size_t n)
{
    for (size_t i = 0; arr && i < n; i++)
        hub_telemetry_clear(&arr[i]);
    free(arr);
}

/* A copy of `src` whose payload and property texts share one heap block, at its payload (one
 * allocation per stored or read message instead of three). */
static int tel_copy(struct hub_telemetry *dst, const struct hub_telemetry *src)
{
    const char *app = src->app_props && *src->app_props ? src->app_props : "{}";
    const char *sys = src->sys_props && *src->sys_props ? src->sys_props : "{}";
    size_t app_len = strlen(app), sys_len = strlen(sys);
    char *block = malloc(src->payload_len + app_len + sys_len + 2);
    if (!block)
        return -ENOMEM;
    *dst = *src;
    if (src->payload_len)
        memcpy(block, src->payload, src->payload_len);
    dst->payload = block;
    dst->app_props = memcpy(block + src->payload_len, app, app_len + 1);
    dst->sys_props = memcpy(dst->app_props + app_len + 1, sys, sys_len + 1);
    if (!dst->msg_type[0])
        strcpy(dst->msg_type, "Telemetry");
    return 0;
}

int store_telemetry_init(struct hub_store *st)
{
    uint64_t last;
    int rc = store_tel_seg_init(st, &last);
    if (rc < 0)
        return rc;
    st->tel_next_seq = last + 1;
    atomic_store(&st->tel_committed_seq, last);
    rc = store_telemetry_partition_init(st);
    if (rc < 0)
        return rc;

    rc = sqlite3_open_v2(st->db_path, &st->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX,
                         STORE_SQLITE_VFS);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    sqlite3_busy_timeout(st->rdb, 5000);
    return 0;
}

int hub_store_telemetry_append(struct hub_store *st, const struct hub_telemetry *rec,
                               uint64_t *seq_out, hub_store_done_fn done, void *ctx)
{
    if (!rec || memchr(rec->device_id, '\0', sizeof rec->device_id) == NULL ||
        !rec->device_id[0] || memchr(rec->msg_type, '\0', sizeof rec->msg_type) == NULL ||
        (rec->payload_len && !rec->payload))
        return -EINVAL;
    struct store_op *op = store_op_new(OP_TELEMETRY, done, ctx);
    if (!op)
        return -ENOMEM;
    if (tel_copy(&op->u.tel, rec) < 0) {
        free(op);
        return -ENOMEM;
    }
    op->u.tel.seq = st->tel_next_seq++;
    op->u.tel.part = (int)hub_telemetry_partition(rec->device_id, st->partitions);
    op->u.tel.pseq = st->tel_next_pseq[op->u.tel.part]++;
    if (!op->u.tel.enqueued_ms)
        op->u.tel.enqueued_ms = store_now_ms();
    store_telemetry_partition_note(st, op->u.tel.part, op->u.tel.seq, op->u.tel.enqueued_ms);
    if (seq_out)
        *seq_out = op->u.tel.seq;
    store_submit(st, op);
    return 0;
}

int store_telemetry_apply(struct hub_store *st, sqlite3 *db, struct store_op *op)
{
    const struct hub_telemetry *t = &op->u.tel;
    int seg;
    int rc = store_tel_seg_for_insert(st, db, &seg);
    if (rc < 0)
        return rc;
    /* The one statement every message runs: prepared once per segment (parsing it cost as
     * much as the insert), kept until the store closes. OR FAIL, not the default ABORT: every
     * constraint of a one-row INSERT is checked before it changes anything, so ABORT's
     * statement journal (a savepoint opened and closed around every message, ~2k
     * instructions) protects nothing. A seq that already exists fails the message instead of
     * replacing a stored one (seq only grows, so it never should). */
    if (!st->tel_insert[seg]) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT OR FAIL INTO telemetry_%d(seq, device_id, enqueued_ms, payload,"
                 " app_props, sys_props, msg_type, part, pseq) VALUES(?,?,?,?,?,?,?,?,?)",
                 seg);
        rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->tel_insert[seg],
                                NULL);
        if (rc != SQLITE_OK)
            return store_sqlite_errno(rc);
    }
    sqlite3_stmt *s = st->tel_insert[seg];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)t->seq);
    sqlite3_bind_text(s, 2, t->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, t->enqueued_ms);
    sqlite3_bind_blob64(s, 4, t->payload, t->payload_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, t->app_props, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, t->sys_props, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, t->msg_type, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, t->part);
    sqlite3_bind_int64(s, 9, t->pseq);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s); /* the bound memory belongs to `op` */
    if (rc != SQLITE_DONE)
        return store_sqlite_errno(rc);
    st->tel_ring.rows++;
    return 0;
}

uint64_t hub_store_telemetry_last_seq(struct hub_store *st)
{
    return atomic_load(&st->tel_committed_seq);
}

int store_telemetry_rows(sqlite3_stmt *s, struct store_tel_rows *acc)
{
    int rc = 0;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (acc->n == acc->cap) {
            size_t nc = acc->cap ? acc->cap * 2 : 16;
            struct hub_telemetry *na = realloc(acc->arr, nc * sizeof *na);
            if (!na) {
                rc = -ENOMEM;
                break;
            }
            acc->arr = na;
            acc->cap = nc;
        }
        struct hub_telemetry src_t;
        memset(&src_t, 0, sizeof src_t);
        src_t.seq = (uint64_t)sqlite3_column_int64(s, 0);
        if (store_copy_str(src_t.device_id, sizeof src_t.device_id,
                           (const char *)sqlite3_column_text(s, 1)) < 0 ||
            store_copy_str(src_t.msg_type, sizeof src_t.msg_type,
                           (const char *)sqlite3_column_text(s, 6)) < 0) {
            rc = -EIO;
            break;
        }
        src_t.enqueued_ms = sqlite3_column_int64(s, 2);
        src_t.payload = (void *)sqlite3_column_blob(s, 3);
        src_t.payload_len = (size_t)sqlite3_column_bytes(s, 3);
        src_t.app_props = (char *)sqlite3_column_text(s, 4);
        src_t.sys_props = (char *)sqlite3_column_text(s, 5);
        src_t.part = sqlite3_column_int(s, 7);
        src_t.pseq = sqlite3_column_int64(s, 8);
        if (tel_copy(&acc->arr[acc->n], &src_t) < 0) {
            rc = -ENOMEM;
            break;
        }
        acc->n++;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = -EIO;
    sqlite3_reset(s);
    return rc;
}

int hub_store_telemetry_read(struct hub_store *st, uint64_t after_seq, const char *device_id,
                             size_t max, struct hub_telemetry **out, size_t *n)
{
    return store_tel_read_rows(st, device_id ? STORE_TEL_Q_DEVICE_AFTER_SEQ
                                             : STORE_TEL_Q_AFTER_SEQ,
                               after_seq > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)after_seq,
                               device_id, 0, max, out, n);
}

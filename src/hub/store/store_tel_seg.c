/* Telemetry segments: the stored messages live in STORE_TEL_SEGMENTS tables (telemetry_0 ..
 * telemetry_7) used as a ring, the way a log keeps segment files. The writer appends to one
 * segment until it holds its share of the retention (telemetry_max / (segments - 1) records),
 * then empties the next one, which holds the oldest records, and appends there. Emptying a
 * whole table frees its pages in one pass; deleting the oldest records one by one (the single
 * table before schema 8) cost every stored message about as much again as its INSERT, once
 * the hub was past its retention. The store keeps at least telemetry_max records and at most
 * a segment more.
 *
 * Readers walk the segments in seq order inside one read transaction, so a segment the
 * writer empties and refills meanwhile is never seen half old, half new. The view `telemetry`
 * (the union of the segments) is for people and tests reading the file with sqlite3. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

uint64_t store_tel_seg_capacity(const struct hub_store *st)
{
    uint64_t cap = (st->telemetry_max + STORE_TEL_SEGMENTS - 2) / (STORE_TEL_SEGMENTS - 1);
    return cap ? cap : 1;
}

static int prepare_persistent(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    return store_sqlite_errno(
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL));
}

/* One statement giving every segment's first and last seq (NULL, NULL when empty): columns
 * 2k and 2k+1 for segment k. Each is one lookup at an end of the table's b-tree. */
static int bounds_stmt(sqlite3 *db, sqlite3_stmt **out)
{
    char sql[1024] = "SELECT ";
    size_t len = strlen(sql);
    for (int k = 0; k < STORE_TEL_SEGMENTS; k++)
        len += (size_t)snprintf(sql + len, sizeof sql - len,
                                "%s(SELECT seq FROM telemetry_%d ORDER BY seq LIMIT 1),"
                                " (SELECT seq FROM telemetry_%d ORDER BY seq DESC LIMIT 1)",
                                k ? ", " : "", k, k);
    if (len >= sizeof sql)
        return -EOVERFLOW;
    return prepare_persistent(db, sql, out);
}

/* Steps `s` (a bounds_stmt) into spans of the non-empty segments, oldest first. */
static int read_bounds(sqlite3_stmt *s, struct store_tel_span spans[STORE_TEL_SEGMENTS],
                       int *n)
{
    *n = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        for (int k = 0; k < STORE_TEL_SEGMENTS; k++) {
            if (sqlite3_column_type(s, 2 * k) == SQLITE_NULL)
                continue;
            struct store_tel_span sp = {k, (uint64_t)sqlite3_column_int64(s, 2 * k),
                                        (uint64_t)sqlite3_column_int64(s, 2 * k + 1)};
            int i = (*n)++;
            for (; i > 0 && spans[i - 1].lo > sp.lo; i--) /* insertion sort by first seq */
                spans[i] = spans[i - 1];
            spans[i] = sp;
        }
        rc = sqlite3_step(s);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    return rc == SQLITE_ROW ? -EIO : store_sqlite_errno(rc); /* one row, or something is wrong */
}

/* ---- writer ---- */

int store_tel_seg_init(struct hub_store *st, uint64_t *last_seq)
{
    *last_seq = 0;
    sqlite3_stmt *s = NULL;
    struct store_tel_span spans[STORE_TEL_SEGMENTS];
    int n = 0;
    int rc = bounds_stmt(st->db, &s);
    if (rc == 0)
        rc = read_bounds(s, spans, &n);
    sqlite3_finalize(s);
    if (rc < 0)
        return rc;
    /* The segment holding the newest record is the one being filled. */
    st->tel_ring.seg = n ? spans[n - 1].seg : 0;
    st->tel_ring.rows = 0;
    if (!n)
        return 0;
    *last_seq = spans[n - 1].hi;
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM telemetry_%d", st->tel_ring.seg);
    rc = store_sqlite_errno(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL));
    if (rc < 0)
        return rc;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        st->tel_ring.rows = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return src == SQLITE_ROW ? 0 : store_sqlite_errno(src);
}

int store_tel_seg_for_insert(struct hub_store *st, sqlite3 *db, int *seg)
{
    if (st->tel_ring.rows >= store_tel_seg_capacity(st)) {
        int next = (st->tel_ring.seg + 1) % STORE_TEL_SEGMENTS;
        char sql[64];
        /* No WHERE: SQLite frees the table's pages without visiting its rows one by one. */
        snprintf(sql, sizeof sql, "DELETE FROM telemetry_%d", next);
        int rc = store_sqlite_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
        if (rc < 0)
            return rc;
        st->tel_ring.seg = next;
        st->tel_ring.rows = 0;
    }
    *seg = st->tel_ring.seg;
    return 0;
}

/* ---- readers ---- */

#define ROWS "SELECT " STORE_TEL_COLUMNS
#define ENDS "SELECT pseq, seq, enqueued_ms"
/* Each read: what it selects, and what follows the segment's table name. */
static const struct {
    const char *select, *rest;
} read_sql[STORE_TEL_Q_COUNT] = {
    [STORE_TEL_Q_AFTER_SEQ] = {ROWS, "WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
    [STORE_TEL_Q_DEVICE_AFTER_SEQ] = {ROWS,
                                      "WHERE seq > ?1 AND device_id = ?3 ORDER BY seq LIMIT ?2"},
    [STORE_TEL_Q_PART_AFTER_SEQ] = {ROWS, "WHERE part = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2"},
    [STORE_TEL_Q_PART_AFTER_PSEQ] = {ROWS,
                                     "WHERE part = ?3 AND pseq > ?1 ORDER BY seq LIMIT ?2"},
    [STORE_TEL_Q_PART_AFTER_TIME] = {ROWS, "WHERE part = ?3 AND enqueued_ms > ?1"
                                           " ORDER BY seq LIMIT ?2"},
    [STORE_TEL_Q_PART_FIRST] = {ENDS, "WHERE part = ?3 ORDER BY seq LIMIT 1"},
    [STORE_TEL_Q_PART_LAST] = {ENDS, "WHERE part = ?3 ORDER BY seq DESC LIMIT 1"},
};

sqlite3_stmt *store_tel_read_stmt(struct hub_store *st, enum store_tel_query q, int seg)
{
    if ((unsigned)q >= STORE_TEL_Q_COUNT || seg < 0 || seg >= STORE_TEL_SEGMENTS)
        return NULL;
    sqlite3_stmt **slot = &st->rd_stmt[q][seg];
    if (!*slot) {
        char sql[512];
        snprintf(sql, sizeof sql, "%s FROM telemetry_%d %s", read_sql[q].select, seg,
                 read_sql[q].rest);
        if (prepare_persistent(st->rdb, sql, slot) < 0)
            return NULL;
    }
    return *slot;
}

int store_tel_read_begin(struct hub_store *st, struct store_tel_span spans[STORE_TEL_SEGMENTS],
                         int *n)
{
    *n = 0;
    int rc = 0;
    if (!st->rd_begin)
        rc = prepare_persistent(st->rdb, "BEGIN", &st->rd_begin);
    if (rc == 0 && !st->rd_commit)
        rc = prepare_persistent(st->rdb, "COMMIT", &st->rd_commit);
    if (rc == 0 && !st->rd_bounds)
        rc = bounds_stmt(st->rdb, &st->rd_bounds);
    if (rc < 0)
        return rc;
    rc = store_sqlite_errno(sqlite3_step(st->rd_begin));
    sqlite3_reset(st->rd_begin);
    if (rc < 0)
        return rc;
    rc = read_bounds(st->rd_bounds, spans, n);
    if (rc < 0)
        store_tel_read_end(st);
    return rc;
}

void store_tel_read_end(struct hub_store *st)
{
    sqlite3_step(st->rd_commit); /* a read transaction: ending it cannot fail to keep anything */
    sqlite3_reset(st->rd_commit);
}

int store_tel_read_rows(struct hub_store *st, enum store_tel_query q, int64_t after,
                        const char *device, int part, size_t max, struct hub_telemetry **out,
                        size_t *n)
{
    *out = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    bool by_seq = q == STORE_TEL_Q_AFTER_SEQ || q == STORE_TEL_Q_DEVICE_AFTER_SEQ ||
                  q == STORE_TEL_Q_PART_AFTER_SEQ;
    struct store_tel_rows acc = {0};
    struct store_tel_span spans[STORE_TEL_SEGMENTS];
    int nspans;
    pthread_mutex_lock(&st->rmu);
    int rc = store_tel_read_begin(st, spans, &nspans);
    bool began = rc == 0;
    for (int i = 0; rc == 0 && i < nspans && acc.n < max; i++) {
        if (by_seq && after >= 0 && spans[i].hi <= (uint64_t)after)
            continue; /* nothing after `after` in this segment */
        sqlite3_stmt *s = store_tel_read_stmt(st, q, spans[i].seg);
        if (!s) {
            rc = -EIO;
            break;
        }
        sqlite3_bind_int64(s, 1, after);
        sqlite3_bind_int64(s, 2, max - acc.n > (size_t)INT64_MAX ? INT64_MAX
                                                                 : (sqlite3_int64)(max - acc.n));
        if (device)
            sqlite3_bind_text(s, 3, device, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int(s, 3, part);
        rc = store_telemetry_rows(s, &acc);
        sqlite3_clear_bindings(s); /* `device` belongs to the caller */
    }
    if (began)
        store_tel_read_end(st);
    pthread_mutex_unlock(&st->rmu);
    if (rc < 0) {
        hub_telemetry_free_array(acc.arr, acc.n);
        return rc;
    }
    *out = acc.arr;
    *n = acc.n;
    return 0;
}

void store_tel_seg_close(struct hub_store *st)
{
    for (int q = 0; q < STORE_TEL_Q_COUNT; q++)
        for (int k = 0; k < STORE_TEL_SEGMENTS; k++)
            sqlite3_finalize(st->rd_stmt[q][k]); /* NULL is a no-op */
    sqlite3_finalize(st->rd_bounds);
    sqlite3_finalize(st->rd_begin);
    sqlite3_finalize(st->rd_commit);
    for (int k = 0; k < STORE_TEL_SEGMENTS; k++)
        sqlite3_finalize(st->tel_insert[k]);
}

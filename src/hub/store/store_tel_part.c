/* Telemetry partitions (the Event Hubs-compatible endpoint's view of the telemetry table):
 * each record's partition and sequence number in it, reads of one partition, and what a
 * partition holds. The offset of a record is its store-wide seq. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "hub/store/store_internal.h"

unsigned hub_telemetry_partition(const char *device_id, unsigned n)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)device_id; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return n ? h % n : 0;
}

unsigned hub_store_partitions(const struct hub_store *st)
{
    return st->partitions;
}

void store_telemetry_partition_note(struct hub_store *st, int part, uint64_t seq, int64_t ms)
{
    if (part < 0 || part >= HUB_PARTITIONS_MAX)
        return;
    if (st->tel_last_seq[part] == 0 || ms > st->tel_max_ms[part])
        st->tel_max_ms[part] = ms;
    if (seq > st->tel_last_seq[part])
        st->tel_last_seq[part] = seq;
}

/* Whether partition `part` may hold a record after `after` (by `key`): false only when it
 * certainly does not. Every committed record was noted when it was submitted, so the answer
 * is never false for a record a read could find; receivers ask after every commit of any
 * partition, and most of the time there is nothing new in theirs. */
static bool may_have_newer(const struct hub_store *st, int part, enum hub_tel_key key,
                           int64_t after)
{
    if (part < 0 || part >= HUB_PARTITIONS_MAX)
        return true;
    if (st->tel_last_seq[part] == 0)
        return false;
    switch (key) {
    case HUB_TEL_AFTER_SEQ:
        return after < 0 || (uint64_t)after < st->tel_last_seq[part];
    case HUB_TEL_AFTER_PSEQ:
        return after < st->tel_next_pseq[part] - 1;
    case HUB_TEL_AFTER_TIME:
        return after < st->tel_max_ms[part];
    }
    return true;
}

/* Rows stored before the partition columns existed (part = -1) get them, in seq order. */
static int backfill(struct hub_store *st)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    /* Only telemetry_0 can hold them: it is the table of schema 7 and earlier, renamed. */
    int rc = sqlite3_prepare_v2(st->db, "SELECT seq, device_id, enqueued_ms FROM telemetry_0"
                                " WHERE part < 0 ORDER BY seq", -1, &sel, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db,
                                "UPDATE telemetry_0 SET part = ?, pseq = ? WHERE seq = ?", -1,
                                &upd, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(sel);
        sqlite3_finalize(upd);
        return store_sqlite_errno(rc);
    }
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *dev = (const char *)sqlite3_column_text(sel, 1);
        unsigned part = hub_telemetry_partition(dev ? dev : "", st->partitions);
        store_telemetry_partition_note(st, (int)part, (uint64_t)sqlite3_column_int64(sel, 0),
                                       sqlite3_column_int64(sel, 2));
        sqlite3_bind_int(upd, 1, (int)part);
        sqlite3_bind_int64(upd, 2, st->tel_next_pseq[part]++);
        sqlite3_bind_int64(upd, 3, sqlite3_column_int64(sel, 0));
        int u = sqlite3_step(upd);
        sqlite3_reset(upd);
        if (u != SQLITE_DONE) {
            rc = u;
            break;
        }
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (rc != SQLITE_DONE) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return store_sqlite_errno(rc);
    }
    return store_sqlite_errno(sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
}

int store_telemetry_partition_init(struct hub_store *st)
{
    sqlite3_stmt *s;
    /* One pass over the segments (there is no index by partition: every stored message would
     * pay for it). */
    int rc = sqlite3_prepare_v2(st->db, "SELECT part, max(pseq), max(seq), max(enqueued_ms)"
                                " FROM telemetry WHERE part >= 0 GROUP BY part", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int part = sqlite3_column_int(s, 0);
        /* Partitions beyond the current count (a smaller --partitions than before) keep
         * their rows, unread. */
        if (part >= 0 && part < HUB_PARTITIONS_MAX) {
            st->tel_next_pseq[part] = sqlite3_column_int64(s, 1) + 1;
            store_telemetry_partition_note(st, part, (uint64_t)sqlite3_column_int64(s, 2),
                                           sqlite3_column_int64(s, 3));
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_errno(rc);
    return backfill(st);
}

int hub_store_telemetry_read_part(struct hub_store *st, int part, enum hub_tel_key key,
                                  int64_t after, size_t max, struct hub_telemetry **out,
                                  size_t *n)
{
    *out = NULL;
    *n = 0;
    static const enum store_tel_query query[] = {
        [HUB_TEL_AFTER_SEQ] = STORE_TEL_Q_PART_AFTER_SEQ,
        [HUB_TEL_AFTER_PSEQ] = STORE_TEL_Q_PART_AFTER_PSEQ,
        [HUB_TEL_AFTER_TIME] = STORE_TEL_Q_PART_AFTER_TIME,
    };
    if (max == 0)
        return 0;
    if ((unsigned)key > HUB_TEL_AFTER_TIME)
        return -EINVAL;
    if (!may_have_newer(st, part, key, after))
        return 0;
    return store_tel_read_rows(st, query[key], after, NULL, part, max, out, n);
}

/* Steps `s` (a PART_FIRST / PART_LAST read of partition `part`): 1 and the record in `info`
 * when the segment has one, 0 when not, or a negative errno. */
static int part_end(sqlite3_stmt *s, int part, struct hub_tel_part_info *info, bool first)
{
    sqlite3_bind_int(s, 3, part);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (first) {
            info->begin_pseq = sqlite3_column_int64(s, 0);
        } else {
            info->last_pseq = sqlite3_column_int64(s, 0);
            info->last_seq = (uint64_t)sqlite3_column_int64(s, 1);
            info->last_enqueued_ms = sqlite3_column_int64(s, 2);
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int hub_store_telemetry_part_info(struct hub_store *st, int part, struct hub_tel_part_info *info)
{
    memset(info, 0, sizeof(*info));
    info->empty = true;
    info->begin_pseq = info->last_pseq = -1;
    struct store_tel_span spans[STORE_TEL_SEGMENTS];
    int nspans;
    pthread_mutex_lock(&st->rmu);
    int rc = store_tel_read_begin(st, spans, &nspans);
    if (rc < 0) {
        pthread_mutex_unlock(&st->rmu);
        return -EIO;
    }
    /* The newest record: from the newest segment back; the oldest: from the oldest on. */
    int found = 0;
    for (int i = nspans - 1; found == 0 && i >= 0; i--) {
        sqlite3_stmt *s = store_tel_read_stmt(st, STORE_TEL_Q_PART_LAST, spans[i].seg);
        found = s ? part_end(s, part, info, false) : -EIO;
    }
    if (found > 0) {
        info->empty = false;
        found = 0;
        for (int i = 0; found == 0 && i < nspans; i++) {
            sqlite3_stmt *s = store_tel_read_stmt(st, STORE_TEL_Q_PART_FIRST, spans[i].seg);
            found = s ? part_end(s, part, info, true) : -EIO;
        }
    }
    store_tel_read_end(st);
    pthread_mutex_unlock(&st->rmu);
    return found < 0 ? -EIO : 0;
}

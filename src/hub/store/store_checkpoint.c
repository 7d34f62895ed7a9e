/* WAL checkpoints beside the commits instead of inside them.
 *
 * SQLite's automatic checkpoint runs in the COMMIT that takes the WAL past 1,000 pages: it
 * fsyncs the WAL (about 4 MB written since the last one: 5-7 ms here), copies the pages into
 * the database and fsyncs that, in the thread that committed. Under --durability process that
 * thread is the event loop, so every ~300 messages all PUBACKs waited ~8 ms (a quarter of a
 * window-1 message's time on average).
 *
 * Here a thread with its own connection does the bulk: once st->ckpt_start frames wait
 * (4096 by default: 16 MiB of 4 KiB pages), it runs PASSIVE checkpoints (which never block the
 * writer) until a pass finds few new frames (st->ckpt_pass_tail, start/32). The committing
 * thread then copies the small tail itself (at most st->ckpt_tail, start/4: never more than
 * SQLite's own automatic checkpoint would) (so the checkpoint completes, and the next transaction starts
 * the WAL again from its beginning instead of growing it), and copies everything once the WAL
 * passes st->ckpt_hard (4x the start), so the WAL stays bounded whatever the load. The
 * promises do not change: a checkpoint only copies committed frames, with the connection's own
 * synchronous setting (store_schema.c). */
#include <errno.h>
#include <stdatomic.h>

#include "hub/store/store_internal.h"

/* Copies the committed frames into the database from the committing thread. */
static void checkpoint_here(struct hub_store *st, sqlite3 *db, const char *name)
{
    /* SQLITE_BUSY when the thread has just begun a pass: the next commit tries again. */
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK) {
        atomic_store(&st->ckpt_backfilled, -1);
        atomic_fetch_add(&st->ckpt_inline, 1);
    }
}

/* After each commit, in the committing thread; `frames` is the WAL's length. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct hub_store *st = arg;
    if (frames >= st->ckpt_hard) {
        /* The thread does not keep up: it stops after its pass, and this thread copies the
         * rest, however long that takes (the bound on the WAL is worth a pause). */
        atomic_store(&st->ckpt_yield, true);
        pthread_mutex_lock(&st->ckpt_mu);
        while (atomic_load(&st->ckpt_running))
            pthread_cond_wait(&st->ckpt_cv, &st->ckpt_mu);
        pthread_mutex_unlock(&st->ckpt_mu);
        checkpoint_here(st, db, name);
        atomic_store(&st->ckpt_yield, false);
        return SQLITE_OK;
    }
    if (atomic_load(&st->ckpt_running))
        return SQLITE_OK;
    /* What the thread's last passes left to copy, when they left a tail of this WAL (a
     * count past the WAL's end is from before it started again from its beginning). */
    int done = atomic_load(&st->ckpt_backfilled);
    if (done > frames)
        done = -1;
    if (done >= 0 && frames - done <= st->ckpt_tail) {
        checkpoint_here(st, db, name);
    } else if (frames - (done < 0 ? 0 : done) >= st->ckpt_start) {
        pthread_mutex_lock(&st->ckpt_mu);
        st->ckpt_wanted = true;
        pthread_cond_broadcast(&st->ckpt_cv);
        pthread_mutex_unlock(&st->ckpt_mu);
    }
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    struct hub_store *st = arg;
    pthread_mutex_lock(&st->ckpt_mu);
    for (;;) {
        while (!st->ckpt_wanted && !st->ckpt_stopping)
            pthread_cond_wait(&st->ckpt_cv, &st->ckpt_mu);
        if (st->ckpt_stopping)
            break;
        st->ckpt_wanted = false;
        atomic_store(&st->ckpt_running, true); /* set under ckpt_mu, cleared before a broadcast */
        pthread_mutex_unlock(&st->ckpt_mu);
        /* Each pass copies what was committed before it began; commits go on meanwhile.
         * Passes until one finds little new (the next is as short: the tail is small). */
        int log = 0, copied = 0, before = 0, passes = 0, rc;
        do {
            before = copied;
            rc = sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &copied);
            atomic_fetch_add(&st->ckpt_passes, 1);
        } while (rc == SQLITE_OK && copied - before > st->ckpt_pass_tail && ++passes < 8 &&
                 !atomic_load(&st->ckpt_yield));
        atomic_store(&st->ckpt_backfilled, rc == SQLITE_OK ? copied : -1);
        atomic_store(&st->ckpt_running, false);
        pthread_mutex_lock(&st->ckpt_mu);
        pthread_cond_broadcast(&st->ckpt_cv); /* a committing thread may wait (hard bound) */
    }
    pthread_mutex_unlock(&st->ckpt_mu);
    return NULL;
}

int store_checkpoint_start(struct hub_store *st, unsigned start_frames)
{
    atomic_store(&st->ckpt_backfilled, -1);
    st->ckpt_start = start_frames && start_frames <= (1u << 24) ? (int)start_frames : 4096;
    st->ckpt_pass_tail = st->ckpt_start / 32 > 2 ? st->ckpt_start / 32 : 2;
    st->ckpt_tail = st->ckpt_start / 4 > 8 ? st->ckpt_start / 4 : 8;
    st->ckpt_hard = st->ckpt_start * 4;
    int src = sqlite3_open_v2(st->db_path, &st->ckpt_db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, STORE_SQLITE_VFS);
    if (src == SQLITE_OK)
        src = sqlite3_exec(st->ckpt_db,
                           st->sync_process_only ? "PRAGMA synchronous=NORMAL"
                                                 : "PRAGMA synchronous=FULL",
                           NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return store_sqlite_errno(src);
    int rc = pthread_create(&st->ckpt_thread, NULL, ckpt_main, st);
    if (rc != 0)
        return -rc;
    st->ckpt_started = true;
    sqlite3_wal_hook(st->db, on_wal_commit, st); /* replaces SQLite's automatic checkpoint */
    return 0;
}

void store_checkpoint_stop(struct hub_store *st)
{
    if (st->ckpt_started) {
        /* Back to SQLite's automatic checkpoint; closing the last connection checkpoints. */
        sqlite3_wal_autocheckpoint(st->db, 1000);
        atomic_store(&st->ckpt_yield, true);
        pthread_mutex_lock(&st->ckpt_mu);
        st->ckpt_stopping = true;
        pthread_cond_broadcast(&st->ckpt_cv);
        pthread_mutex_unlock(&st->ckpt_mu);
        pthread_join(st->ckpt_thread, NULL);
        st->ckpt_started = false;
    }
    if (st->ckpt_db) {
        sqlite3_close(st->ckpt_db);
        st->ckpt_db = NULL;
    }
}

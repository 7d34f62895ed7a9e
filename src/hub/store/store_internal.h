/* Internals shared by store.c and store_*.c (not for other hub files: use store.h). */
#ifndef AZK_HUB_STORE_INTERNAL_H
#define AZK_HUB_STORE_INTERNAL_H

#include <pthread.h>
#include <event2/event.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "hub/slab.h"
#include "hub/store/store.h"

struct event;

/* ---- writer operations ---- */

enum store_op_kind {
    OP_SYNC = 1,
    OP_DEVICE_PUT,     /* INSERT OR REPLACE the device row (+ twin row when with_twin) */
    OP_DEVICE_DELETE,  /* device row, twin, C2D queue */
    OP_CONN_STATE,     /* lazy connection-state rows */
    OP_CA_PUT,
    OP_CA_DELETE,
    OP_TWIN_PUT,
    OP_C2D_PUT,
    OP_C2D_DELETE,     /* one message by seq */
    OP_C2D_DELIVERY,   /* delivery_count of one message */
    OP_C2D_PURGE,      /* every message of a device */
    OP_TELEMETRY,
    OP_DPS_PUT,        /* store_dps.c: one DPS row (u.dps) */
    OP_DPS_DELETE,
};

struct conn_row {
    char device_id[HUB_DEVICE_ID_MAX + 1];
    bool connected;
    int64_t conn_ms;
    int64_t activity_ms;
    int64_t session;   /* the session's subscriptions, or -1: none */
};

struct store_op {
    struct store_op *next;
    enum store_op_kind kind;
    hub_store_done_fn done;
    void *ctx;
    int rc;
    char key[HUB_DEVICE_ID_MAX + 1]; /* device id or CA name */
    union {
        /* Behind a pointer: a device row is 1 KB, and every operation (a telemetry message
         * most of all) would otherwise be allocated and zeroed at that size. */
        struct store_device_put {
            struct hub_device dev;
            bool with_twin;
            struct hub_twin twin;
        } *device;
        struct {
            struct conn_row *rows;
            size_t n;
        } conn;
        struct hub_ca ca;
        struct hub_twin twin;
        struct hub_c2d_msg c2d;  /* PUT: full; DELETE/DELIVERY: seq (+delivery_count) */
        struct hub_telemetry tel;
        struct {
            int table;   /* index into store_dps.c's table list */
            char *doc;   /* storage JSON (PUT) */
        } dps;
    } u;
};

/* ---- telemetry segments (store_tel_seg.c) ---- */

/* The tables telemetry_0 .. telemetry_<STORE_TEL_SEGMENTS - 1>, filled in turn. */
#define STORE_TEL_SEGMENTS 8

/* The segment being filled and the records it holds. */
struct store_tel_ring {
    int seg;
    uint64_t rows;
};

/* A non-empty segment and its first and last seq. */
struct store_tel_span {
    int seg;
    uint64_t lo, hi;
};

/* The reads of one segment (store_tel_read_stmt). Parameters: ?1 the lower bound (exclusive)
 * of the key, ?2 the most rows, ?3 the device id or the partition. The row reads select
 * STORE_TEL_COLUMNS in seq order; FIRST / LAST select a partition's oldest / newest record's
 * pseq, seq and enqueued_ms. */
enum store_tel_query {
    STORE_TEL_Q_AFTER_SEQ,
    STORE_TEL_Q_DEVICE_AFTER_SEQ,
    STORE_TEL_Q_PART_AFTER_SEQ,
    STORE_TEL_Q_PART_AFTER_PSEQ,
    STORE_TEL_Q_PART_AFTER_TIME,
    STORE_TEL_Q_PART_FIRST,
    STORE_TEL_Q_PART_LAST,
    STORE_TEL_Q_COUNT
};

/* ---- in-memory state ---- */

struct dev_entry {
    struct dev_entry *hnext;
    struct hub_device dev;
    struct hub_twin twin;
    struct hub_c2d_msg *c2d; /* ordered by seq */
    size_t c2d_n, c2d_cap;
    bool conn_dirty;
};

struct hub_store {
    struct event_base *base;
    char *dir;
    char *db_path;
    uint64_t telemetry_max;
    unsigned conn_flush_ms;
    unsigned group_max_ops;
    bool sync_process_only;     /* synchronous=NORMAL instead of FULL (store.h) */
    /* the telemetry INSERT of each segment, prepared once (writer thread only) */
    sqlite3_stmt *tel_insert[STORE_TEL_SEGMENTS];
    sqlite3_stmt *txn[3];       /* BEGIN IMMEDIATE, COMMIT, ROLLBACK: prepared once (same) */

    /* memory (loop thread only) */
    struct hub_slab dev_slab;   /* where the registry entries live (hub/slab.h) */
    struct dev_entry **buckets;
    size_t nbuckets;
    size_t ndevices;
    size_t conn_dirty_count;
    struct hub_ca *cas;
    size_t ncas;
    uint64_t ca_generation; /* bumped by every change of `cas` (hub_store_ca_generation) */
    uint64_t c2d_next_seq;
    uint64_t tel_next_seq;
    unsigned partitions;
    int64_t tel_next_pseq[HUB_PARTITIONS_MAX]; /* loop thread */
    /* Each partition's newest record submitted (its seq; 0: none) and the latest enqueue time
     * among its records (loop thread): a partition read asking for what came after them
     * answers at once (store_tel_part.c). */
    uint64_t tel_last_seq[HUB_PARTITIONS_MAX];
    int64_t tel_max_ms[HUB_PARTITIONS_MAX];

    /* writer */
    sqlite3 *db;            /* writer thread only after open */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store_op *q_head, *q_tail;      /* submitted, not yet taken by the writer */
    struct store_op *d_head, *d_tail;      /* finished, completion not yet run */
    bool stopping;
    struct store_tel_ring tel_ring;         /* writer thread only (store_tel_seg.c) */

    /* completion signalling */
    int pipe_rd, pipe_wr;
    struct event *pipe_ev;
    /* Submissions wake the writer once per loop iteration, not once per operation: the
     * operations one read produced (16 PUBLISHes in one TLS record, say) then commit as one
     * group instead of the writer taking the first alone while the rest arrive. */
    struct event *kick_ev;
    bool kick_armed;          /* kick_ev is active (loop thread only) */
    bool writer_busy;         /* the writer thread holds a group it took (mu) */
    bool inline_busy;         /* the loop thread commits inline (mu; store_writer.c) */
    struct event *conn_timer;

    /* WAL checkpoints (store_checkpoint.c) */
    sqlite3 *ckpt_db;                     /* the checkpoint thread's connection */
    pthread_t ckpt_thread;
    bool ckpt_started;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    bool ckpt_wanted, ckpt_stopping;      /* ckpt_mu; ckpt_cv signals each change */
    _Atomic bool ckpt_running, ckpt_yield; /* running: a pass is under way (ckpt_cv too) */
    _Atomic int ckpt_backfilled;          /* WAL frames the thread left copied, or -1 */
    int ckpt_start, ckpt_pass_tail, ckpt_tail, ckpt_hard; /* frames (store_checkpoint.c) */
    _Atomic uint64_t ckpt_passes, ckpt_inline;

    /* telemetry readers (any thread) */
    sqlite3 *rdb;
    pthread_mutex_t rmu;
    /* rdb's statements, prepared when first used (rmu; store_tel_seg.c) */
    sqlite3_stmt *rd_stmt[STORE_TEL_Q_COUNT][STORE_TEL_SEGMENTS];
    sqlite3_stmt *rd_bounds, *rd_begin, *rd_commit;
    _Atomic uint64_t tel_committed_seq;
    hub_store_c2d_expired_fn c2d_expired_fn;
    void *c2d_expired_ctx;
    hub_store_telemetry_fn tel_fn;
    void *tel_ctx;

    /* DPS (store_dps.c; loop thread only) */
    struct store_dps *dps;

    /* stats */
    uint64_t ops_submitted;                 /* loop thread */
    _Atomic uint64_t ops_committed, ops_failed, transactions, conn_flushes;
};

/* store.c */
int64_t store_now_ms(void);
char *store_strdup(const char *s);            /* NULL -> NULL */
int store_copy_str(char *dst, size_t size, const char *src); /* -EINVAL when too long */
void store_run_completions(struct hub_store *st);
void store_conn_flush(struct hub_store *st);

/* store_writer.c */
struct store_op *store_op_new(enum store_op_kind kind, hub_store_done_fn done, void *ctx);
void store_op_free(struct store_op *op);
void store_submit(struct hub_store *st, struct store_op *op);
/* The loop-side wake-up of the writer (store_submit arms it once per loop iteration). */
void store_kick(evutil_socket_t fd, short what, void *arg);
int store_writer_start(struct hub_store *st);
void store_writer_stop(struct hub_store *st);

/* store_checkpoint.c: checkpoints the WAL on a thread of its own instead of in the COMMIT
 * that fills it (start after the database is open, with the frames that wake the thread, 0 =
 * 4096; stop after the last commit). start: 0 or a negative errno; stop is safe after a
 * failed or no start. */
int store_checkpoint_start(struct hub_store *st, unsigned start_frames);
void store_checkpoint_stop(struct hub_store *st);

/* store_schema.c */
int store_schema_open(struct hub_store *st, struct azk_diag *diag);
int store_sqlite_errno(int sqlite_rc);

/* The SQLite VFS of every connection to a hub database (store_wal_vfs.c): SQLite's
 * "unix-excl", which holds one exclusive lock on the file for the whole process and keeps the
 * WAL index in the heap, so (a) a second azkit-hub on the same --data is refused instead of
 * writing the same tables with its own sequence counters, and (b) a commit takes no fcntl(2)
 * locks (6 per message before); the hub's own connections (writer, telemetry reader) share
 * the process's lock. Over it, each WAL commit is written with one pwrite(2) instead of two
 * per changed page. store_wal_vfs_register() (idempotent, thread-safe) makes it available:
 * 0, or -EIO when this SQLite has no unix-excl VFS. */
#define STORE_SQLITE_VFS "azkit-wal"
int store_wal_vfs_register(void);

/* store_registry.c */
struct dev_entry *store_dev_find(const struct hub_store *st, const char *id);
int store_dev_insert(struct hub_store *st, struct dev_entry *e);  /* takes ownership */
/* A zeroed registry entry from st->dev_slab, or NULL when out of memory. */
struct dev_entry *store_dev_new(struct hub_store *st);
/* Frees an entry (unlinked) and what it owns; NULL is ignored. */
void store_dev_free(struct hub_store *st, struct dev_entry *e);
void store_devices_free_all(struct hub_store *st);
int store_registry_load(struct hub_store *st);
int store_registry_apply(sqlite3 *db, struct store_op *op);
/* The devices.session column of a device: its session's subscriptions, or -1 (none). */
int64_t store_session_column(const struct hub_device *d);
bool store_etag_matches(const char *if_match, const char *etag);

/* store_cas.c */
int store_cas_load(struct hub_store *st);
int store_cas_apply(sqlite3 *db, struct store_op *op);
void store_cas_free_all(struct hub_store *st);
int store_ca_copy(struct hub_ca *dst, const struct hub_ca *src);

/* store_twins.c */
int store_twin_init(struct hub_twin *tw, const char *device_id);
int store_twin_copy(struct hub_twin *dst, const struct hub_twin *src);
int store_twins_load(struct hub_store *st);
int store_twins_apply(sqlite3 *db, const struct hub_twin *tw);

/* store_c2d.c */
int store_c2d_load(struct hub_store *st);
int store_c2d_apply(sqlite3 *db, struct store_op *op);
int store_c2d_copy(struct hub_c2d_msg *dst, const struct hub_c2d_msg *src);

/* store_telemetry.c */
int store_telemetry_init(struct hub_store *st);  /* next seq, read-only connection */
int store_telemetry_apply(struct hub_store *st, sqlite3 *db, struct store_op *op);
/* The columns store_telemetry_rows reads, in its order. */
#define STORE_TEL_COLUMNS \
    "seq, device_id, enqueued_ms, payload, app_props, sys_props, msg_type, part, pseq"
/* Rows read so far (a growing array, freed with hub_telemetry_free_array(arr, n)). */
struct store_tel_rows {
    struct hub_telemetry *arr;
    size_t n, cap;
};
/* Steps `s` (selecting STORE_TEL_COLUMNS) to its end, appending each row to `acc`, and
 * resets it. 0, -ENOMEM or -EIO (the rows appended so far stay in `acc`). */
int store_telemetry_rows(sqlite3_stmt *s, struct store_tel_rows *acc);

/* store_tel_seg.c: the segment ring.
 * Records a segment holds before the writer moves on: telemetry_max / (segments - 1),
 * rounded up, at least 1. */
uint64_t store_tel_seg_capacity(const struct hub_store *st);
/* At open (st->db, before the threads start): the segment holding the newest record becomes
 * the one being filled; *last_seq is that record's seq (0: none). 0 or a negative errno. */
int store_tel_seg_init(struct hub_store *st, uint64_t *last_seq);
/* Writer, inside its transaction: the segment the next record goes to, emptying the next
 * segment first when the current one is full. 0 or a negative errno (the caller rolls back
 * and restores st->tel_ring). */
int store_tel_seg_for_insert(struct hub_store *st, sqlite3 *db, int *seg);
/* Readers (st->rmu held): starts a read transaction on st->rdb and lists the non-empty
 * segments oldest first. 0 (then end it with store_tel_read_end) or a negative errno (no
 * transaction left open). */
int store_tel_read_begin(struct hub_store *st, struct store_tel_span spans[STORE_TEL_SEGMENTS],
                         int *n);
void store_tel_read_end(struct hub_store *st);
/* The cached statement `q` on segment `seg` (rmu held; reset after use), or NULL. */
sqlite3_stmt *store_tel_read_stmt(struct hub_store *st, enum store_tel_query q, int seg);
/* The rows of a row read `q` (one of the *_AFTER_* queries) after `after`, from every segment
 * in seq order, at most `max`, into a malloc'd array (hub_telemetry_free_array): ?3 is
 * `device` when not NULL, else `part`. Takes st->rmu. 0 (*out NULL when none) or a negative
 * errno (nothing handed out). */
int store_tel_read_rows(struct hub_store *st, enum store_tel_query q, int64_t after,
                        const char *device, int part, size_t max, struct hub_telemetry **out,
                        size_t *n);
/* Finalizes the statements above and the writer's INSERTs (before the connections close). */
void store_tel_seg_close(struct hub_store *st);
/* store_tel_part.c: gives rows stored before partitions existed their partition and sequence
 * number, and sets each partition's next sequence number (at open). */
int store_telemetry_partition_init(struct hub_store *st);
/* store_tel_part.c: a record of `part` with `seq`, enqueued at `ms`, was submitted (loop
 * thread). */
void store_telemetry_partition_note(struct hub_store *st, int part, uint64_t seq, int64_t ms);

/* store_dps.c */
int store_dps_load(struct hub_store *st);
int store_dps_apply(sqlite3 *db, struct store_op *op);
void store_dps_free_all(struct hub_store *st);
extern const char *const store_dps_schema_steps[];
extern const int store_dps_schema_nsteps;

/* Steps a prepared statement that returns no rows once, finalizes it, and maps the result:
 * 0 or a negative errno. */
int store_step_finalize(sqlite3_stmt *s);

/* Loads a table at open: runs `sql` and calls `row` for each result row with `ctx` (0 to go
 * on, a negative errno to stop with it). 0 or a negative errno. */
int store_load_rows(struct hub_store *st, const char *sql,
                    int (*row)(struct hub_store *st, sqlite3_stmt *s, void *ctx), void *ctx);

#endif

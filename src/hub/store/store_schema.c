/* The hub database: file creation (0600), connection settings, schema and migrations.
 *
 * Versioning: table schema_version(component, version) holds one row per component that owns
 * tables in hub.db: "hub" (this file). A later component (DPS) adds its own row and its own
 * list of steps; each component's steps run in order inside one transaction, so a crash
 * halfway leaves the previous version intact. A database whose version is newer than this
 * binary knows is refused (-EPROTO) rather than misread.
 *
 * Settings: journal_mode=WAL (readers never block the writer; the telemetry reader uses its own
 * read-only connection) and synchronous=FULL. With WAL, NORMAL already survives kill -9 (the
 * WAL frames are in the OS page cache once COMMIT returns) but may lose the last transactions
 * on power loss or a kernel crash; FULL fsyncs the WAL at every COMMIT. Because the writer
 * groups many operations per transaction, FULL costs one fsync per group, and then a
 * completion (a PUBACK, a 200 from the service API) always means "on stable storage".
 * `serve --durability process` chooses NORMAL (hub_store_config.sync_process_only).
 *
 * Page size 2 KiB (new databases only: a database in WAL mode keeps the size it was made
 * with). A telemetry commit changes about three pages (the table's last leaf and the two
 * indexes' leaves), and SQLite checksums and writes each whole page into the WAL: with 4 KiB
 * pages that was 17% of the hub's instructions per message; 2 KiB pages made window-1
 * telemetry ~6% faster. Twins and large messages take overflow pages either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "hub/store/store_internal.h"

int store_sqlite_errno(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EILSEQ;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_TOOBIG:
        return -EMSGSIZE;
    default:
        return -EIO;
    }
}

/* Steps of component "hub": step i brings the schema from version i to i+1. */
/* One telemetry segment table of schema 8 (STORE_TEL_SEGMENTS of them, 0 .. 7). */
#define TEL_SEGMENT(k)                                                                        \
    "CREATE TABLE telemetry_" #k " (seq INTEGER PRIMARY KEY NOT NULL, device_id TEXT NOT NULL," \
    " enqueued_ms INTEGER NOT NULL, payload BLOB NOT NULL,"                                  \
    " app_props TEXT NOT NULL DEFAULT '{}', sys_props TEXT NOT NULL DEFAULT '{}',"           \
    " msg_type TEXT NOT NULL DEFAULT 'Telemetry', part INTEGER NOT NULL DEFAULT -1,"         \
    " pseq INTEGER NOT NULL DEFAULT -1);"
_Static_assert(STORE_TEL_SEGMENTS == 8, "schema step 8 creates telemetry_1 .. telemetry_7");

static const char *const hub_steps[] = {
    /* 0 -> 1 */
    "CREATE TABLE devices ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " auth INTEGER NOT NULL,"
    " primary_thumbprint TEXT NOT NULL DEFAULT '',"
    " secondary_thumbprint TEXT NOT NULL DEFAULT '',"
    " primary_key TEXT NOT NULL DEFAULT '',"
    " secondary_key TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL,"
    " status_reason TEXT NOT NULL DEFAULT '',"
    " iot_edge INTEGER NOT NULL DEFAULT 0,"
    " generation_id TEXT NOT NULL,"
    " etag INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL,"
    " status_updated_ms INTEGER NOT NULL,"
    " connected INTEGER NOT NULL DEFAULT 0,"
    " conn_updated_ms INTEGER NOT NULL DEFAULT 0,"
    " last_activity_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE cas ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " pem TEXT NOT NULL,"
    " thumbprint_sha1 TEXT NOT NULL DEFAULT '',"
    " thumbprint_sha256 TEXT NOT NULL DEFAULT '',"
    " verified INTEGER NOT NULL DEFAULT 0,"
    " verification_code TEXT NOT NULL DEFAULT '',"
    " etag INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL);"
    "CREATE TABLE twins ("
    " device_id TEXT PRIMARY KEY NOT NULL,"
    " desired TEXT NOT NULL,"
    " desired_version INTEGER NOT NULL,"
    " reported TEXT NOT NULL,"
    " reported_version INTEGER NOT NULL,"
    " tags TEXT NOT NULL,"
    " etag INTEGER NOT NULL,"
    " version INTEGER NOT NULL);"
    /* properties: the URL-encoded property bag as it goes into the device's topic. */
    "CREATE TABLE c2d ("
    " seq INTEGER PRIMARY KEY NOT NULL,"
    " device_id TEXT NOT NULL,"
    " message_id TEXT NOT NULL,"
    " payload BLOB NOT NULL,"
    " properties TEXT NOT NULL DEFAULT '',"
    " enqueued_ms INTEGER NOT NULL,"
    " expiry_ms INTEGER NOT NULL DEFAULT 0,"
    " delivery_count INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX c2d_device ON c2d(device_id, seq);"
    /* app_props / sys_props: JSON object texts. */
    "CREATE TABLE telemetry ("
    " seq INTEGER PRIMARY KEY NOT NULL,"
    " device_id TEXT NOT NULL,"
    " enqueued_ms INTEGER NOT NULL,"
    " payload BLOB NOT NULL,"
    " app_props TEXT NOT NULL DEFAULT '{}',"
    " sys_props TEXT NOT NULL DEFAULT '{}',"
    " msg_type TEXT NOT NULL DEFAULT 'Telemetry');"
    "CREATE INDEX telemetry_device ON telemetry(device_id, seq);",
    /* 1 -> 2: persistent MQTT sessions (the subscriptions, or -1: no session) */
    "ALTER TABLE devices ADD COLUMN session INTEGER NOT NULL DEFAULT -1;",
    /* 2 -> 3: deviceScope of Edge devices and their children */
    "ALTER TABLE devices ADD COLUMN device_scope TEXT NOT NULL DEFAULT '';",
    /* 3 -> 4: twin metadata (when each desired/reported property was last updated) */
    "ALTER TABLE twins ADD COLUMN meta TEXT NOT NULL DEFAULT '';",
    /* 4 -> 5: Event Hubs-compatible endpoint: each message's partition and its sequence
     * number in that partition (-1: not assigned yet; store_telemetry_init assigns them). */
    "ALTER TABLE telemetry ADD COLUMN part INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE telemetry ADD COLUMN pseq INTEGER NOT NULL DEFAULT -1;"
    "CREATE INDEX telemetry_part ON telemetry(part, seq);",
    /* 5 -> 6: every stored message paid for a second index, kept only for the service API's
     * reads of one device (GET /azkit/telemetry?device=): those now walk the rows by seq. */
    "DROP INDEX IF EXISTS telemetry_device;",
    /* 6 -> 7: the partition index went the same way: every stored message paid for an index
     * entry, and again when retention deleted it (a quarter of the hub's work per message past
     * 100,000 stored). Partition reads walk the rows by seq (store_tel_part.c). */
    "DROP INDEX IF EXISTS telemetry_part;",
    /* 7 -> 8: telemetry in a ring of segment tables (store_tel_seg.c): retention empties a
     * whole table instead of deleting the oldest record for every new one. The old table is
     * the first segment; `telemetry` becomes a view of them all (for reading the file by
     * hand). The columns are those of the old table, in its order. */
    "ALTER TABLE telemetry RENAME TO telemetry_0;"
    TEL_SEGMENT(1) TEL_SEGMENT(2) TEL_SEGMENT(3) TEL_SEGMENT(4) TEL_SEGMENT(5) TEL_SEGMENT(6)
    TEL_SEGMENT(7)
    "CREATE VIEW telemetry AS SELECT * FROM telemetry_0"
    " UNION ALL SELECT * FROM telemetry_1 UNION ALL SELECT * FROM telemetry_2"
    " UNION ALL SELECT * FROM telemetry_3 UNION ALL SELECT * FROM telemetry_4"
    " UNION ALL SELECT * FROM telemetry_5 UNION ALL SELECT * FROM telemetry_6"
    " UNION ALL SELECT * FROM telemetry_7;",
};

static int exec(sqlite3 *db, const char *sql)
{
    return store_sqlite_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int component_version(sqlite3 *db, const char *component, int *version)
{
    sqlite3_stmt *s = NULL;
    *version = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT version FROM schema_version WHERE component=?", -1,
                                &s, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc);
}

/* Brings one component to the last of its steps. Returns 0, -EPROTO (newer), or an error. */
static int migrate(sqlite3 *db, const char *component, const char *const *steps, int nsteps,
                   int *found)
{
    int rc = exec(db, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
                  " component TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)");
    int v = 0;
    if (rc == 0)
        rc = component_version(db, component, &v);
    *found = v;
    if (rc == 0 && v > nsteps)
        rc = -EPROTO;
    for (int i = v; rc == 0 && i < nsteps; i++)
        rc = exec(db, steps[i]);
    if (rc == 0 && v < nsteps) {
        sqlite3_stmt *s = NULL;
        rc = store_sqlite_errno(sqlite3_prepare_v2(
            db, "INSERT OR REPLACE INTO schema_version(component, version) VALUES(?, ?)", -1,
            &s, NULL));
        if (rc == 0) {
            sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
            sqlite3_bind_int(s, 2, nsteps);
            rc = store_sqlite_errno(sqlite3_step(s));
        }
        sqlite3_finalize(s);
    }
    if (rc == 0)
        rc = exec(db, "COMMIT");
    if (rc < 0)
        exec(db, "ROLLBACK");
    return rc;
}

static int not_writable(struct hub_store *st, struct azk_diag *diag, const char *what, int err)
{
    azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.not-writable",
                 "give the hub a data directory it can write (--data-dir), or fix its owner "
                 "and permissions",
                 "the hub cannot write its state: %s %s: %s", what,
                 strcmp(what, "data directory") == 0 ? st->dir : st->db_path,
                 azk_strerror(err));
    return err;
}

int store_schema_open(struct hub_store *st, struct azk_diag *diag)
{
    int rc = azki_mkdir_p(st->dir, 0700);
    if (rc < 0)
        return not_writable(st, diag, "data directory", rc);
    struct stat sb;
    if (stat(st->dir, &sb) != 0)
        return not_writable(st, diag, "data directory", -errno);
    if (!S_ISDIR(sb.st_mode))
        return not_writable(st, diag, "data directory", -ENOTDIR);
    if (access(st->dir, W_OK | X_OK) != 0)
        return not_writable(st, diag, "data directory", -errno);

    /* Create the file ourselves so it is 0600 whatever the umask; SQLite gives the -wal and
     * -shm files the database file's permissions. The descriptor is closed before SQLite
     * opens the file (closing one later would drop SQLite's POSIX locks). */
    int fd = open(st->db_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool created = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = open(st->db_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return not_writable(st, diag, "database", -errno);
    if (fstat(fd, &sb) != 0) {
        rc = -errno;
        close(fd);
        return not_writable(st, diag, "database", rc);
    }
    if ((sb.st_mode & 0777) != 0600 && fchmod(fd, 0600) != 0) {
        rc = -errno;
        close(fd);
        return not_writable(st, diag, "database", rc);
    }
    close(fd);
    /* SQLite takes an empty file for a new database, but only a file created just now may be
     * empty: SQLite writes the first page when WAL mode is set, below. An existing 0-byte
     * hub.db was left by a crash (of the system, or of a first start before that write) or by
     * an operator, and opening it would give a hub that silently lost every device. */
    if (!created && sb.st_size == 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.empty",
                     "restore the file from a backup; or, to start with an empty hub on "
                     "purpose, delete it",
                     "the hub database %s is empty (0 bytes): it holds no devices, twins or "
                     "messages, and the hub will not start on it as if it were new",
                     st->db_path);
        return -EILSEQ;
    }

    if (store_wal_vfs_register() < 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.io", "build azkit-hub against SQLite 3.x for Unix",
                     "this SQLite library has no \"unix-excl\" VFS");
        return -EIO;
    }
    /* No per-call mutex (2,300 instructions per stored message): the connection is used by
     * one thread at a time -- the loader before the threads start, then the writer thread or
     * the loop thread committing inline, which exclude each other under st->mu
     * (store_writer.c); the telemetry reader and the checkpointer have their own. */
    int src = sqlite3_open_v2(st->db_path, &st->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              STORE_SQLITE_VFS);
    if (src != SQLITE_OK) {
        rc = store_sqlite_errno(src);
        if (rc == -EACCES)
            return not_writable(st, diag, "database", rc);
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.io", NULL, "cannot open %s: %s",
                     st->db_path, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
        return rc;
    }
    sqlite3_extended_result_codes(st->db, 0);

    /* journal_mode is the first statement that reads the file: a damaged header shows here,
     * and so does another process holding the file (no busy wait: it will not let go). */
    sqlite3_stmt *s = NULL;
    src = sqlite3_exec(st->db, "PRAGMA page_size=2048", NULL, NULL, NULL); /* new files only */
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    bool wal = src == SQLITE_ROW &&
               strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    rc = store_sqlite_errno(src);
    if (rc == 0 && !wal)
        rc = -EIO;
    sqlite3_busy_timeout(st->db, 5000);
    if (rc == 0)
        rc = exec(st->db, st->sync_process_only ? "PRAGMA synchronous=NORMAL"
                                                : "PRAGMA synchronous=FULL");
    if (rc == 0)
        rc = exec(st->db, "PRAGMA foreign_keys=OFF");
    /* Debian builds SQLite with SECURE_DELETE: every page that retention frees would be
     * zeroed and written once more (into the WAL, then the database). FAST still zeroes what
     * is deleted inside pages that are written anyway, and leaves whole freed pages to be
     * reused; the file is 0600 in a 0700 directory (above). */
    if (rc == 0)
        rc = exec(st->db, "PRAGMA secure_delete=FAST");
    int found = 0;
    if (rc == 0)
        rc = migrate(st->db, "hub", hub_steps, (int)(sizeof hub_steps / sizeof hub_steps[0]),
                     &found);
    if (rc == 0) /* component "dps": its tables (store_dps.c) */
        rc = migrate(st->db, "dps", store_dps_schema_steps, store_dps_schema_nsteps, &found);
    if (rc == -EPROTO) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.newer-schema",
                     "run the azkit-hub version that wrote it, or use another --data-dir",
                     "the hub database %s has schema version %d; this azkit-hub knows up to %d",
                     st->db_path, found, (int)(sizeof hub_steps / sizeof hub_steps[0]));
    } else if (rc == -EILSEQ) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.corrupt",
                     "move the file away (the hub then starts with an empty state) or restore "
                     "a backup",
                     "%s is not a valid hub database: %s", st->db_path,
                     sqlite3_errmsg(st->db));
    } else if (rc == -EACCES) {
        return not_writable(st, diag, "database", rc);
    } else if (rc == -EBUSY) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.in-use",
                     "stop the other azkit-hub (or process) using it, or give this one another "
                     "--data directory",
                     "the hub database %s is in use by another process (is an azkit-hub already "
                     "serving this data directory?)",
                     st->db_path);
    } else if (rc < 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "hub.store.io", NULL,
                     "cannot prepare the hub database %s: %s", st->db_path,
                     sqlite3_errmsg(st->db));
    }
    return rc;
}

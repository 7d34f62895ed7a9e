/*
 * azkit-hub state store: device registry, verified CAs, twins, C2D queues and telemetry in
 * SQLite (WAL) at <data dir>/hub.db (mode 0600).
 *
 * Threading rule (see src/hub/README.md):
 *  - Every function here except hub_store_telemetry_read() / hub_store_telemetry_last_seq()
 *    must be called on the LOOP THREAD (the thread that runs the event_base given to
 *    hub_store_open()). They never touch the disk: the registry, CAs, twins and C2D queues
 *    live in memory (loaded at open) and every read is served from memory.
 *  - A mutation updates memory at once (a get right after it sees the new state) and queues
 *    the SQLite write for the store's single writer thread, which commits many queued
 *    operations per transaction (group commit).
 *  - Each mutation takes an optional completion `done(ctx, rc)`. It runs ON THE LOOP THREAD
 *    after the transaction holding the write committed (rc 0) or failed (rc -EIO), and
 *    completions run in submission order across all mutation kinds (a PUBACK sent from a
 *    completion is therefore in order). `done` may be NULL.
 *  - When a mutation returns a negative value it was rejected up front: nothing changed and
 *    `done` is NOT called. When it returns 0 (or a count), `done` will be called exactly once,
 *    at the latest from hub_store_close().
 *  - A failed commit (disk full, I/O error) completes its operations with -EIO; the in-memory
 *    state is not rolled back (the writer first retries each operation of a failed group in
 *    its own transaction, so one bad operation does not fail its neighbours).
 *
 * Durability: once `done` ran with rc 0, the write survives kill -9 and power loss
 * (synchronous=FULL in WAL mode: the commit fsyncs the WAL); with sync_process_only it
 * survives kill -9 of the hub only (synchronous=NORMAL: the WAL frames are written to the
 * OS before `done`, not fsynced).
 *
 * Connection state (connected flag, connection-state and last-activity times) is the
 * exception: it is kept in memory and persisted lazily (every few seconds and at close),
 * without a completion.
 *
 * Errors are negative errno values (include/azkit/common.h).
 */
#ifndef AZK_HUB_STORE_H
#define AZK_HUB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/diag.h"
#include "hub/iothub/identity.h"

struct event_base;
struct hub_store;

typedef void (*hub_store_done_fn)(void *ctx, int rc);

/* ---- open / close ------------------------------------------------------------------------ */

struct hub_store_config {
    const char *data_dir;          /* required; created (0700) when missing; DB is hub.db */
    uint64_t telemetry_max;        /* records kept, at least; 0 = 100000 */
    unsigned conn_flush_ms;        /* lazy connection-state persistence period; 0 = 5000 */
    unsigned group_max_ops;        /* most operations per transaction; 0 = 4096 */
    bool sync_process_only;        /* true: synchronous=NORMAL (survives kill -9, not power
                                      loss); false: synchronous=FULL (the default) */
    unsigned partitions;           /* telemetry partitions, 1..HUB_PARTITIONS_MAX; 0 = 4 */
    unsigned wal_checkpoint_frames; /* WAL frames that start a checkpoint on the checkpoint
                                      thread (store_checkpoint.c); 0 = 4096 (16 MiB) */
};

/*
 * Opens (creating or migrating) <data_dir>/hub.db, loads registry, CAs, twins and C2D queues
 * into memory and starts the writer thread. `base` is the loop's event_base (no evthread
 * setup needed: completions are signalled through a pipe).
 * Returns 0, -EACCES (data dir or DB not writable), -EILSEQ (corrupt DB or not a database),
 * -EPROTO (DB written by a newer azkit-hub schema), -ENOMEM, -EIO. Every failure adds an error
 * finding to `diag` (may be NULL): codes "hub.store.not-writable", "hub.store.corrupt",
 * "hub.store.newer-schema", "hub.store.io".
 */
int hub_store_open(const struct hub_store_config *cfg, struct event_base *base,
                   struct hub_store **out, struct azk_diag *diag);

/*
 * Flushes everything queued (and the lazy connection state), joins the writer thread, runs
 * every remaining completion (rc 0 if its commit succeeded, else -EIO), closes SQLite and
 * frees the store. Call on the loop thread, before event_base_free(); the event loop need not
 * be running. Not from inside a completion. NULL is ok.
 */
void hub_store_close(struct hub_store *st);

/* A barrier: `done` runs after every mutation submitted before it has completed. */
int hub_store_sync(struct hub_store *st, hub_store_done_fn done, void *ctx);

/* Path of the database file (valid until close). */
const char *hub_store_db_path(const struct hub_store *st);

struct hub_store_stats {
    uint64_t ops_submitted;   /* mutations queued for the writer */
    uint64_t ops_committed;   /* mutations whose transaction committed */
    uint64_t ops_failed;      /* mutations completed with an error */
    uint64_t transactions;    /* COMMITs by the writer (group commit: far fewer than ops) */
    uint64_t conn_flushes;    /* lazy connection-state writes */
    uint64_t checkpoints;     /* WAL checkpoint passes on the checkpoint thread */
    uint64_t checkpoints_inline; /* the small tail (or, past 4x the start, everything) copied
                                    by the committing thread */
};
void hub_store_get_stats(const struct hub_store *st, struct hub_store_stats *out);

/* ---- device registry --------------------------------------------------------------------- */

enum hub_auth_type {
    HUB_AUTH_NONE = 0,        /* "none" */
    HUB_AUTH_SELF_SIGNED = 1, /* "selfSigned": X.509 thumbprints */
    HUB_AUTH_CA = 2,          /* "certificateAuthority" */
    HUB_AUTH_SAS = 3,         /* "sas": symmetric keys */
};

enum hub_device_status {
    HUB_DEVICE_ENABLED = 0,
    HUB_DEVICE_DISABLED = 1,
};

struct hub_device {
    char device_id[HUB_DEVICE_ID_MAX + 1];
    enum hub_auth_type auth;
    /* selfSigned: normalised to uppercase hex, no separators, 40 (SHA-1) or 64 (SHA-256)
     * characters; secondary may be empty. The store normalises what it is given. */
    char primary_thumbprint[HUB_THUMBPRINT_MAX + 1];
    char secondary_thumbprint[HUB_THUMBPRINT_MAX + 1];
    /* sas: base64 keys (opaque to the store). */
    char primary_key[HUB_SAS_KEY_MAX + 1];
    char secondary_key[HUB_SAS_KEY_MAX + 1];
    enum hub_device_status status;
    char status_reason[HUB_STATUS_REASON_MAX + 1];
    bool iot_edge;                                  /* capabilities.iotEdge */
    /* deviceScope: an Edge device's own scope (the store sets it: HUB_DEVICE_SCOPE_PREFIX
     * "{deviceId}-{generationId}"), or a child device's parent's scope; "" = none. */
    char device_scope[HUB_DEVICE_SCOPE_MAX + 1];
    /* Set by the store (ignored on input, except generation_id on create when non-empty): */
    char generation_id[HUB_GENERATION_ID_MAX + 1];  /* e.g. "638412345678901234" */
    uint64_t etag_counter;                          /* 0 at create, +1 per update */
    char etag[HUB_ETAG_MAX + 1];                    /* base64 of the decimal counter: "MA==" */
    int64_t created_ms;                             /* Unix ms */
    int64_t updated_ms;                             /* last registry update */
    int64_t status_updated_ms;                      /* last status change */
    /* Connection state (memory; persisted lazily): */
    bool connected;
    int64_t connection_state_updated_ms;
    int64_t last_activity_ms;
    /* The device's persistent MQTT session (CleanSession=0): whether one exists and its
     * subscriptions (bits the MQTT side defines). Survives a restart; ignored on create and
     * update input. */
    bool has_session;
    unsigned session_subs;
    /* Derived: messages currently in the device's C2D queue (Azure's
     * cloudToDeviceMessageCount). */
    uint32_t c2d_message_count;
};




/*
 * Creates a device (and its empty twin). Uses from `in`: device_id, auth, thumbprints, keys,
 * status, status_reason, iot_edge, generation_id (generated when empty). `out` (may be NULL)
 * receives the stored entry. Returns 0, -EINVAL (bad id, thumbprint or auth fields),
 * -EEXIST, -ENOMEM.
 */
int hub_store_device_create(struct hub_store *st, const struct hub_device *in,
                            struct hub_device *out, hub_store_done_fn done, void *ctx);

/*
 * Replaces the updatable fields of an existing device (auth, thumbprints, keys, status,
 * status_reason, iot_edge) and bumps its etag. `if_match`: NULL, "" or "*" = no check;
 * otherwise it must equal the current etag text (quotes around it are accepted) or the call
 * fails with -ESTALE. Returns 0, -ENOENT, -EINVAL, -ESTALE, -ENOMEM.
 */
int hub_store_device_update(struct hub_store *st, const struct hub_device *in,
                            const char *if_match, struct hub_device *out,
                            hub_store_done_fn done, void *ctx);

/* Copies a device into `out`. Returns 0 or -ENOENT. */
int hub_store_device_get(const struct hub_store *st, const char *device_id,
                         struct hub_device *out);

/* All devices sorted by id: a malloc'd array the caller frees with free(). *n may be 0 (then
 * *out is NULL). Returns 0 or -ENOMEM. */
int hub_store_device_list(const struct hub_store *st, struct hub_device **out, size_t *n);

size_t hub_store_device_count(const struct hub_store *st);

/* Deletes a device with its twin and C2D queue. `if_match` as for update.
 * Returns 0, -ENOENT, -ESTALE, -ENOMEM. */
int hub_store_device_delete(struct hub_store *st, const char *device_id, const char *if_match,
                            hub_store_done_fn done, void *ctx);

/* Connection state (memory now, SQLite lazily; no completion). Returns 0 or -ENOENT. */
int hub_store_device_set_connected(struct hub_store *st, const char *device_id, bool connected,
                                   int64_t now_ms);
int hub_store_device_touch(struct hub_store *st, const char *device_id, int64_t now_ms);
/* The persistent session: `has_session` false ends it (CleanSession=1); otherwise `subs` are
 * its subscriptions. Memory now, SQLite lazily as the connection state. 0 or -ENOENT. */
int hub_store_device_set_session(struct hub_store *st, const char *device_id, bool has_session,
                                 unsigned subs);

/* ---- verified CAs ------------------------------------------------------------------------ */

struct hub_ca {
    char name[HUB_CA_NAME_MAX + 1];
    char *pem;                                        /* heap, NUL-terminated */
    char thumbprint_sha1[41];                         /* uppercase hex */
    char thumbprint_sha256[HUB_THUMBPRINT_MAX + 1];   /* uppercase hex */
    bool verified;
    char verification_code[HUB_CA_CODE_MAX + 1];      /* current proof-of-possession code */
    uint64_t etag_counter;                            /* set by the store */
    char etag[HUB_ETAG_MAX + 1];                      /* set by the store */
    int64_t created_ms;                               /* set by the store */
    int64_t updated_ms;                               /* set by the store */
};

/* Frees the heap parts of a CA (not the struct itself). */
void hub_ca_clear(struct hub_ca *ca);

/*
 * Creates or replaces a CA by name (name, pem, thumbprints, verified, verification_code are
 * taken from `in`; thumbprints are normalised; a replacement keeps created_ms and bumps the
 * etag). `if_match` as for device update (only checked when the CA exists).
 * `out` (may be NULL) receives a copy (free with hub_ca_clear()).
 * Returns 0, -EINVAL (empty name or PEM, bad thumbprint), -ESTALE, -ENOMEM.
 */
int hub_store_ca_put(struct hub_store *st, const struct hub_ca *in, const char *if_match,
                     struct hub_ca *out, hub_store_done_fn done, void *ctx);

/* Copy of a CA (free with hub_ca_clear()). Returns 0, -ENOENT, -ENOMEM. */
int hub_store_ca_get(const struct hub_store *st, const char *name, struct hub_ca *out);

/* All CAs sorted by name; free each with hub_ca_clear() and the array with free().
 * Returns 0 or -ENOMEM. */
int hub_store_ca_list(const struct hub_store *st, struct hub_ca **out, size_t *n);

/* A number that changes whenever the CA table changes in memory (a CA added, replaced,
 * deleted, verified or given a code): what a cache of the parsed CAs compares. */
uint64_t hub_store_ca_generation(const struct hub_store *st);

/* Returns 0, -ENOENT, -ESTALE. */
int hub_store_ca_delete(struct hub_store *st, const char *name, const char *if_match,
                        hub_store_done_fn done, void *ctx);

/* Sets the verified flag (bumps the etag; verifying clears the verification code).
 * Returns 0 or -ENOENT. */
int hub_store_ca_set_verified(struct hub_store *st, const char *name, bool verified,
                              hub_store_done_fn done, void *ctx);

/* Stores a new verification code (bumps the etag). Returns 0, -ENOENT, -EINVAL. */
int hub_store_ca_set_verification_code(struct hub_store *st, const char *name,
                                       const char *code, hub_store_done_fn done, void *ctx);

/* ---- twins ------------------------------------------------------------------------------- */

struct hub_twin {
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char *desired;            /* JSON object text without "$version"; heap */
    int64_t desired_version;  /* desired.$version */
    char *reported;           /* JSON object text without "$version"; heap */
    int64_t reported_version; /* reported.$version */
    char *tags;               /* JSON object text; heap */
    uint64_t etag;            /* service-side twin etag counter (text: hub_twin_etag_text) */
    uint64_t version;         /* service-side twin version */
    char *meta;               /* desired/reported metadata (iothub/twin_meta.h); heap, "" when
                               * not recorded */
};

/* A new device's twin: desired "{}" $version 1, reported "{}" $version 1, tags "{}",
 * etag 1, version 1. */

/* Frees the heap parts of a twin (not the struct). */
void hub_twin_clear(struct hub_twin *tw);
/* Frees one text of a twin (desired, reported, tags, meta) before it is replaced. The texts
 * "{}" and "" that every new twin starts with are shared by all twins, not allocated per
 * device (tiny allocations made during a storm of devices pinned heap pages for good), so a
 * twin's text is freed only through this or hub_twin_clear, and never written in place. */
void hub_twin_text_free(char *text);
/* Whether `text` is one of the shared texts (for tests). */
bool hub_twin_text_shared(const char *text);


/* Copy of a device's twin (free with hub_twin_clear()). Returns 0, -ENOENT, -ENOMEM. */
int hub_store_twin_get(const struct hub_store *st, const char *device_id, struct hub_twin *out);

/* Zero-copy read: the stored twin, valid until the next store call on the loop thread.
 * NULL when the device does not exist. */
const struct hub_twin *hub_store_twin_peek(const struct hub_store *st, const char *device_id);

/*
 * Replaces a device's whole twin with `tw` (all fields stored as given, counters included;
 * NULL JSON fields are stored as "{}"). The merge and versioning logic lives in twin.c.
 * Returns 0, -ENOENT (no such device), -ENOMEM.
 */
int hub_store_twin_set(struct hub_store *st, const struct hub_twin *tw, hub_store_done_fn done,
                       void *ctx);

/* ---- cloud-to-device queue --------------------------------------------------------------- */

struct hub_c2d_msg {
    uint64_t seq;                          /* store-assigned, increasing (queue order) */
    char message_id[HUB_C2D_ID_MAX + 1];   /* given, or generated (uuid v4) when empty */
    void *payload;                         /* heap */
    size_t payload_len;
    /* The property bag exactly as it goes into the device's topic: URL-encoded key=value
     * pairs joined with '&' (application properties and system ones such as %24.mid,
     * %24.to, %24.ct). Heap, NUL-terminated; may be NULL/empty. */
    char *properties;
    int64_t enqueued_ms;
    int64_t expiry_ms;                     /* absolute Unix ms; 0 = never expires */
    uint32_t delivery_count;               /* times sent to the device */
    uint16_t packet_id;                    /* MQTT packet id while in flight; 0 = not */
};

/* Frees the heap parts of a message (not the struct). */
void hub_c2d_msg_clear(struct hub_c2d_msg *m);

/*
 * Appends a message to a device's queue (message_id, payload, properties, expiry_ms from
 * `msg`; enqueued_ms is set now). Expired messages are dropped first. `id_out` (may be NULL)
 * receives the message id. Returns 0, -ENOENT (no device), -ENOSPC (50 queued), -EINVAL,
 * -ENOMEM.
 */
int hub_store_c2d_enqueue(struct hub_store *st, const char *device_id,
                          const struct hub_c2d_msg *msg, char id_out[HUB_C2D_ID_MAX + 1],
                          hub_store_done_fn done, void *ctx);

/*
 * Copies the oldest undelivered (not in-flight) message into `out` (free with
 * hub_c2d_msg_clear()). Messages whose expiry_ms <= now_ms are dropped on the way (persisted
 * without a completion). Returns 0, -ENOENT (no device), -EAGAIN (nothing to deliver),
 * -ENOMEM.
 */
int hub_store_c2d_next(struct hub_store *st, const char *device_id, int64_t now_ms,
                       struct hub_c2d_msg *out);

/* Marks a message in flight under `packet_id` (non-zero) and increments its delivery count
 * (persisted). Returns 0, -ENOENT (no such device/message), -EINVAL. */
int hub_store_c2d_mark_inflight(struct hub_store *st, const char *device_id,
                                const char *message_id, uint16_t packet_id,
                                hub_store_done_fn done, void *ctx);

/* PUBACK: removes the in-flight message sent under `packet_id`. Returns 0 or -ENOENT. */
int hub_store_c2d_ack_packet(struct hub_store *st, const char *device_id, uint16_t packet_id,
                             hub_store_done_fn done, void *ctx);

/* Removes a message by id (complete/reject, dead-lettering). Returns 0 or -ENOENT. */
int hub_store_c2d_remove(struct hub_store *st, const char *device_id, const char *message_id,
                         hub_store_done_fn done, void *ctx);

/* Puts every in-flight message of a device back in the queue (disconnect). Memory only: the
 * in-flight mark is never persisted (after a restart nothing is in flight).
 * Returns the number requeued, or -ENOENT. */
int hub_store_c2d_requeue_inflight(struct hub_store *st, const char *device_id);

/* Removes every message of a device; `each` (may be NULL) sees each message, in queue order,
 * before it goes (the Purged feedback). Returns the number removed, or -ENOENT. */
typedef void (*hub_store_c2d_each_fn)(void *ctx, const struct hub_c2d_msg *m);
int hub_store_c2d_purge(struct hub_store *st, const char *device_id, hub_store_c2d_each_fn each,
                        void *each_ctx, hub_store_done_fn done, void *ctx);

/* Called on the loop thread for each message the queue drops because it expired (they are
 * dropped when the device's queue is next used: a new message, a delivery), before it is
 * freed. One listener; NULL removes it. */
typedef void (*hub_store_c2d_expired_fn)(void *ctx, const char *device_id,
                                         const struct hub_c2d_msg *m);
void hub_store_set_c2d_expired_listener(struct hub_store *st, hub_store_c2d_expired_fn fn,
                                        void *ctx);

/* Messages queued for a device (in flight included, expired ones not yet dropped included).
 * Returns the count or -ENOENT. */
int hub_store_c2d_count(const struct hub_store *st, const char *device_id);

/* ---- telemetry --------------------------------------------------------------------------- */

struct hub_telemetry {
    uint64_t seq;                          /* store-assigned sequence number, increasing */
    char device_id[HUB_DEVICE_ID_MAX + 1];
    int64_t enqueued_ms;                   /* 0 on append = now */
    void *payload;                         /* heap on read */
    size_t payload_len;
    char *app_props;                       /* JSON object text of application properties */
    char *sys_props;                       /* JSON object text of system properties */
    char msg_type[HUB_MSG_TYPE_MAX + 1];   /* "" = "Telemetry"; e.g. "Will" */
    int part;                              /* store-assigned partition (hub_telemetry_partition) */
    int64_t pseq;                          /* store-assigned sequence number in the partition,
                                              from 0 */
};

#define HUB_PARTITIONS_MAX 32

/* The partition of a device's messages: a stable hash (FNV-1a) of the id modulo `n` (n >= 1). */
unsigned hub_telemetry_partition(const char *device_id, unsigned n);

/* Frees the heap parts of a record the store made (not the struct): its payload, one block
 * that also holds the property texts. */
void hub_telemetry_clear(struct hub_telemetry *t);
/* Frees an array returned by hub_store_telemetry_read(). */
void hub_telemetry_free_array(struct hub_telemetry *arr, size_t n);

/*
 * Appends a record (device_id, enqueued_ms, payload, app_props, sys_props, msg_type are
 * copied; NULL props are stored as "{}"). `seq_out` (may be NULL) receives its sequence
 * number at once; it is readable by hub_store_telemetry_read() once `done` ran.
 * Returns 0, -EINVAL, -ENOMEM. The device need not be registered.
 */
int hub_store_telemetry_append(struct hub_store *st, const struct hub_telemetry *rec,
                               uint64_t *seq_out, hub_store_done_fn done, void *ctx);

/*
 * Reads up to `max` committed records with seq > after_seq, in seq order, optionally only
 * those of `device_id` (NULL = all). Any thread (a separate read-only SQLite connection,
 * serialised by a mutex). *out is a malloc'd array (free with hub_telemetry_free_array());
 * *n may be 0. Returns 0, -ENOMEM, -EIO.
 */
int hub_store_telemetry_read(struct hub_store *st, uint64_t after_seq, const char *device_id,
                             size_t max, struct hub_telemetry **out, size_t *n);

/* What a partition read starts after (exclusive). */
enum hub_tel_key {
    HUB_TEL_AFTER_SEQ = 0,  /* the store-wide seq (the Event Hubs offset) */
    HUB_TEL_AFTER_PSEQ,     /* the sequence number in the partition */
    HUB_TEL_AFTER_TIME,     /* enqueued_ms */
};

/*
 * Reads up to `max` committed records of partition `part` whose `key` is greater than
 * `after`, in seq order. The loop thread only (the one that calls hub_store_telemetry_append):
 * a read after the partition's newest record is answered from what append keeps, without
 * SQLite. Returns 0, -ENOMEM, -EIO.
 */
int hub_store_telemetry_read_part(struct hub_store *st, int part, enum hub_tel_key key,
                                  int64_t after, size_t max, struct hub_telemetry **out,
                                  size_t *n);

/* What a partition holds (committed records). */
struct hub_tel_part_info {
    bool empty;
    int64_t begin_pseq, last_pseq; /* -1 when empty */
    uint64_t last_seq;             /* 0 when empty */
    int64_t last_enqueued_ms;      /* 0 when empty */
};

/* Fills `info` for partition `part` (any thread). Returns 0 or -EIO. */
int hub_store_telemetry_part_info(struct hub_store *st, int part, struct hub_tel_part_info *info);

/* The partition count the store was opened with. */
unsigned hub_store_partitions(const struct hub_store *st);

/* Highest committed telemetry sequence number (0 = none). Any thread. */
uint64_t hub_store_telemetry_last_seq(struct hub_store *st);

/* Called on the loop thread after a commit that held telemetry, with the highest committed
 * seq (for the service API's follow mode). One listener; NULL removes it. */
typedef void (*hub_store_telemetry_fn)(void *ctx, uint64_t last_seq);
void hub_store_set_telemetry_listener(struct hub_store *st, hub_store_telemetry_fn fn,
                                      void *ctx);

#endif

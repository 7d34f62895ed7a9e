/* Device registry: the in-memory table (hash by device id), its mutations, loading at open
 * and the SQL the writer runs for it. Connection state is persisted lazily (store.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

/* ---- hash table ---- */

static size_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

struct dev_entry *store_dev_find(const struct hub_store *st, const char *id)
{
    if (!id || !st->nbuckets)
        return NULL;
    for (struct dev_entry *e = st->buckets[hash_id(id) & (st->nbuckets - 1)]; e; e = e->hnext)
        if (strcmp(e->dev.device_id, id) == 0)
            return e;
    return NULL;
}

static int grow(struct hub_store *st)
{
    size_t nb = st->nbuckets ? st->nbuckets * 2 : 64;
    struct dev_entry **b = calloc(nb, sizeof *b);
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < st->nbuckets; i++) {
        struct dev_entry *e = st->buckets[i];
        while (e) {
            struct dev_entry *next = e->hnext;
            size_t k = hash_id(e->dev.device_id) & (nb - 1);
            e->hnext = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->nbuckets = nb;
    return 0;
}

int store_dev_insert(struct hub_store *st, struct dev_entry *e)
{
    if (st->ndevices + 1 > st->nbuckets) {
        int rc = grow(st);
        if (rc < 0)
            return rc;
    }
    size_t k = hash_id(e->dev.device_id) & (st->nbuckets - 1);
    e->hnext = st->buckets[k];
    st->buckets[k] = e;
    st->ndevices++;
    return 0;
}

static void dev_unlink(struct hub_store *st, struct dev_entry *e)
{
    struct dev_entry **pp = &st->buckets[hash_id(e->dev.device_id) & (st->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = e->hnext;
        st->ndevices--;
    }
}

struct dev_entry *store_dev_new(struct hub_store *st)
{
    if (st->dev_slab.size == 0)
        hub_slab_init(&st->dev_slab, sizeof(struct dev_entry));
    return hub_slab_alloc(&st->dev_slab);
}

void store_dev_free(struct hub_store *st, struct dev_entry *e)
{
    if (!e)
        return;
    hub_twin_clear(&e->twin);
    for (size_t i = 0; i < e->c2d_n; i++)
        hub_c2d_msg_clear(&e->c2d[i]);
    free(e->c2d);
    hub_slab_free(&st->dev_slab, e);
}

void store_devices_free_all(struct hub_store *st)
{
    for (size_t i = 0; i < st->nbuckets; i++) {
        struct dev_entry *e = st->buckets[i];
        while (e) {
            struct dev_entry *next = e->hnext;
            store_dev_free(st, e);
            e = next;
        }
    }
    free(st->buckets);
    st->buckets = NULL;
    st->nbuckets = st->ndevices = 0;
}

/* ---- helpers ---- */

bool store_etag_matches(const char *if_match, const char *etag)
{
    if (!if_match || !*if_match || strcmp(if_match, "*") == 0)
        return true;
    const char *p = if_match;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    return strlen(etag) == n && memcmp(p, etag, n) == 0;
}

static void generation_id(char out[HUB_GENERATION_ID_MAX + 1])
{
    /* Azure's generationId looks like .NET ticks: 100 ns since year 1. */
    static uint64_t last;
    uint64_t ticks = (uint64_t)store_now_ms() * 10000ULL + 621355968000000000ULL;
    if (ticks <= last)
        ticks = last + 1;
    last = ticks;
    snprintf(out, HUB_GENERATION_ID_MAX + 1, "%llu", (unsigned long long)ticks);
}

/* Copies and checks the updatable fields of `in` into `d`. */
static int take_fields(struct hub_device *d, const struct hub_device *in)
{
    if (in->auth < HUB_AUTH_NONE || in->auth > HUB_AUTH_SAS)
        return -EINVAL;
    if (in->status != HUB_DEVICE_ENABLED && in->status != HUB_DEVICE_DISABLED)
        return -EINVAL;
    char p[HUB_THUMBPRINT_MAX + 1], s[HUB_THUMBPRINT_MAX + 1];
    if (hub_thumbprint_normalise(in->primary_thumbprint, p) < 0 ||
        hub_thumbprint_normalise(in->secondary_thumbprint, s) < 0)
        return -EINVAL;
    if (in->auth == HUB_AUTH_SELF_SIGNED && !p[0] && !s[0])
        return -EINVAL;
    if (memchr(in->primary_key, '\0', sizeof in->primary_key) == NULL ||
        memchr(in->secondary_key, '\0', sizeof in->secondary_key) == NULL ||
        memchr(in->status_reason, '\0', sizeof in->status_reason) == NULL)
        return -EINVAL;
    d->auth = in->auth;
    memcpy(d->primary_thumbprint, p, sizeof p);
    memcpy(d->secondary_thumbprint, s, sizeof s);
    memcpy(d->primary_key, in->primary_key, sizeof d->primary_key);
    memcpy(d->secondary_key, in->secondary_key, sizeof d->secondary_key);
    d->status = in->status;
    memcpy(d->status_reason, in->status_reason, sizeof d->status_reason);
    if (memchr(in->device_scope, '\0', sizeof in->device_scope) == NULL)
        return -EINVAL;
    memcpy(d->device_scope, in->device_scope, sizeof d->device_scope);
    d->iot_edge = in->iot_edge;
    return 0;
}

/* An Edge device's scope is its own, as IoT Hub sets it; a device that stops being an Edge
 * device loses it. */
static void set_edge_scope(struct hub_device *d)
{
    char own[HUB_DEVICE_SCOPE_MAX + 1];
    snprintf(own, sizeof own, "%s%s-%s", HUB_DEVICE_SCOPE_PREFIX, d->device_id, d->generation_id);
    if (d->iot_edge)
        memcpy(d->device_scope, own, sizeof own);
    else if (strcmp(d->device_scope, own) == 0)
        d->device_scope[0] = '\0';
}

static void fill_out(const struct dev_entry *e, struct hub_device *out)
{
    *out = e->dev;
    out->c2d_message_count = (uint32_t)e->c2d_n;
}

static int submit_put(struct hub_store *st, const struct dev_entry *e, bool with_twin,
                      hub_store_done_fn done, void *ctx)
{
    struct store_op *op = store_op_new(OP_DEVICE_PUT, done, ctx);
    if (!op)
        return -ENOMEM;
    op->u.device = calloc(1, sizeof *op->u.device);
    if (!op->u.device) {
        store_op_free(op);
        return -ENOMEM;
    }
    op->u.device->dev = e->dev;
    op->u.device->with_twin = with_twin;
    if (with_twin && store_twin_copy(&op->u.device->twin, &e->twin) < 0) {
        store_op_free(op);
        return -ENOMEM;
    }
    store_submit(st, op);
    return 0;
}

/* ---- API ---- */

int hub_store_device_create(struct hub_store *st, const struct hub_device *in,
                            struct hub_device *out, hub_store_done_fn done, void *ctx)
{
    if (!in || memchr(in->device_id, '\0', sizeof in->device_id) == NULL ||
        hub_device_id_valid(in->device_id) < 0)
        return -EINVAL;
    if (store_dev_find(st, in->device_id))
        return -EEXIST;
    struct dev_entry *e = store_dev_new(st);
    if (!e)
        return -ENOMEM;
    int rc = take_fields(&e->dev, in);
    if (rc < 0) {
        store_dev_free(st, e);
        return rc;
    }
    memcpy(e->dev.device_id, in->device_id, sizeof e->dev.device_id);
    if (in->generation_id[0] &&
        memchr(in->generation_id, '\0', sizeof in->generation_id) != NULL)
        memcpy(e->dev.generation_id, in->generation_id, sizeof e->dev.generation_id);
    else
        generation_id(e->dev.generation_id);
    set_edge_scope(&e->dev);
    e->dev.etag_counter = 0;
    hub_etag_from_counter(0, e->dev.etag);
    int64_t now = store_now_ms();
    e->dev.created_ms = e->dev.updated_ms = e->dev.status_updated_ms = now;
    rc = store_twin_init(&e->twin, e->dev.device_id);
    if (rc == 0)
        rc = store_dev_insert(st, e);
    if (rc < 0) {
        store_dev_free(st, e);
        return rc;
    }
    rc = submit_put(st, e, true, done, ctx);
    if (rc < 0) {
        dev_unlink(st, e);
        store_dev_free(st, e);
        return rc;
    }
    if (out)
        fill_out(e, out);
    return 0;
}

int hub_store_device_update(struct hub_store *st, const struct hub_device *in,
                            const char *if_match, struct hub_device *out,
                            hub_store_done_fn done, void *ctx)
{
    if (!in || memchr(in->device_id, '\0', sizeof in->device_id) == NULL)
        return -EINVAL;
    struct dev_entry *e = store_dev_find(st, in->device_id);
    if (!e)
        return -ENOENT;
    if (!store_etag_matches(if_match, e->dev.etag))
        return -ESTALE;
    struct hub_device d = e->dev;
    int rc = take_fields(&d, in);
    if (rc < 0)
        return rc;
    set_edge_scope(&d);
    int64_t now = store_now_ms();
    if (d.status != e->dev.status)
        d.status_updated_ms = now;
    d.updated_ms = now;
    d.etag_counter++;
    hub_etag_from_counter(d.etag_counter, d.etag);
    struct hub_device old = e->dev;
    e->dev = d;
    rc = submit_put(st, e, false, done, ctx);
    if (rc < 0) {
        e->dev = old;
        return rc;
    }
    if (out)
        fill_out(e, out);
    return 0;
}

int hub_store_device_get(const struct hub_store *st, const char *device_id,
                         struct hub_device *out)
{
    const struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    fill_out(e, out);
    return 0;
}

static int cmp_dev(const void *a, const void *b)
{
    return strcmp(((const struct hub_device *)a)->device_id,
                  ((const struct hub_device *)b)->device_id);
}

int hub_store_device_list(const struct hub_store *st, struct hub_device **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (st->ndevices == 0)
        return 0;
    struct hub_device *arr = malloc(st->ndevices * sizeof *arr);
    if (!arr)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < st->nbuckets; i++)
        for (const struct dev_entry *e = st->buckets[i]; e; e = e->hnext)
            fill_out(e, &arr[k++]);
    qsort(arr, k, sizeof *arr, cmp_dev);
    *out = arr;
    *n = k;
    return 0;
}

size_t hub_store_device_count(const struct hub_store *st)
{
    return st->ndevices;
}

int hub_store_device_delete(struct hub_store *st, const char *device_id, const char *if_match,
                            hub_store_done_fn done, void *ctx)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    if (!store_etag_matches(if_match, e->dev.etag))
        return -ESTALE;
    struct store_op *op = store_op_new(OP_DEVICE_DELETE, done, ctx);
    if (!op)
        return -ENOMEM;
    memcpy(op->key, e->dev.device_id, sizeof op->key);
    dev_unlink(st, e);
    if (e->conn_dirty)
        st->conn_dirty_count--;
    store_dev_free(st, e);
    store_submit(st, op);
    return 0;
}

static void mark_dirty(struct hub_store *st, struct dev_entry *e)
{
    if (!e->conn_dirty) {
        e->conn_dirty = true;
        st->conn_dirty_count++;
    }
}

int hub_store_device_set_connected(struct hub_store *st, const char *device_id, bool connected,
                                   int64_t now_ms)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    e->dev.connected = connected;
    e->dev.connection_state_updated_ms = now_ms;
    if (now_ms > e->dev.last_activity_ms)
        e->dev.last_activity_ms = now_ms;
    mark_dirty(st, e);
    return 0;
}

int hub_store_device_set_session(struct hub_store *st, const char *device_id, bool has_session,
                                 unsigned subs)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    if (e->dev.has_session != has_session || (has_session && e->dev.session_subs != subs)) {
        e->dev.has_session = has_session;
        e->dev.session_subs = has_session ? subs : 0;
        mark_dirty(st, e);
    }
    return 0;
}

int64_t store_session_column(const struct hub_device *d)
{
    return d->has_session ? (int64_t)d->session_subs : -1;
}

int hub_store_device_touch(struct hub_store *st, const char *device_id, int64_t now_ms)
{
    struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    if (now_ms > e->dev.last_activity_ms) {
        e->dev.last_activity_ms = now_ms;
        mark_dirty(st, e);
    }
    return 0;
}

/* ---- persistence ---- */

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
    return store_sqlite_errno(sqlite3_prepare_v2(db, sql, -1, s, NULL));
}

static int put_device(sqlite3 *db, const struct hub_device *d)
{
    sqlite3_stmt *s;
    int rc = prepare(db,
                     "INSERT OR REPLACE INTO devices(id, auth, primary_thumbprint,"
                     " secondary_thumbprint, primary_key, secondary_key, status, status_reason,"
                     " iot_edge, generation_id, etag, created_ms, updated_ms, status_updated_ms,"
                     " connected, conn_updated_ms, last_activity_ms, session, device_scope)"
                     " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, d->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, (int)d->auth);
    sqlite3_bind_text(s, 3, d->primary_thumbprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, d->secondary_thumbprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, d->primary_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, d->secondary_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, (int)d->status);
    sqlite3_bind_text(s, 8, d->status_reason, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 9, d->iot_edge ? 1 : 0);
    sqlite3_bind_text(s, 10, d->generation_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)d->etag_counter);
    sqlite3_bind_int64(s, 12, d->created_ms);
    sqlite3_bind_int64(s, 13, d->updated_ms);
    sqlite3_bind_int64(s, 14, d->status_updated_ms);
    sqlite3_bind_int(s, 15, d->connected ? 1 : 0);
    sqlite3_bind_int64(s, 16, d->connection_state_updated_ms);
    sqlite3_bind_int64(s, 17, d->last_activity_ms);
    sqlite3_bind_int64(s, 18, store_session_column(d));
    sqlite3_bind_text(s, 19, d->device_scope, -1, SQLITE_STATIC);
    return step_done(s);
}

static int delete_by(sqlite3 *db, const char *sql, const char *key)
{
    sqlite3_stmt *s;
    int rc = prepare(db, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    return step_done(s);
}

int store_registry_apply(sqlite3 *db, struct store_op *op)
{
    int rc = 0;
    switch (op->kind) {
    case OP_DEVICE_PUT:
        rc = put_device(db, &op->u.device->dev);
        if (rc == 0 && op->u.device->with_twin)
            rc = store_twins_apply(db, &op->u.device->twin);
        return rc;
    case OP_DEVICE_DELETE:
        rc = delete_by(db, "DELETE FROM devices WHERE id=?", op->key);
        if (rc == 0)
            rc = delete_by(db, "DELETE FROM twins WHERE device_id=?", op->key);
        if (rc == 0)
            rc = delete_by(db, "DELETE FROM c2d WHERE device_id=?", op->key);
        return rc;
    case OP_CONN_STATE: {
        sqlite3_stmt *s;
        rc = prepare(db,
                     "UPDATE devices SET connected=?, conn_updated_ms=?, last_activity_ms=?,"
                     " session=? WHERE id=?",
                     &s);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < op->u.conn.n && rc == 0; i++) {
            const struct conn_row *r = &op->u.conn.rows[i];
            sqlite3_reset(s);
            sqlite3_bind_int(s, 1, r->connected ? 1 : 0);
            sqlite3_bind_int64(s, 2, r->conn_ms);
            sqlite3_bind_int64(s, 3, r->activity_ms);
            sqlite3_bind_int64(s, 4, r->session);
            sqlite3_bind_text(s, 5, r->device_id, -1, SQLITE_STATIC);
            int src = sqlite3_step(s);
            rc = src == SQLITE_DONE ? 0 : store_sqlite_errno(src);
        }
        sqlite3_finalize(s);
        return rc;
    }
    default:
        return -EINVAL;
    }
}

static int col_str(sqlite3_stmt *s, int col, char *dst, size_t size)
{
    const char *v = (const char *)sqlite3_column_text(s, col);
    return store_copy_str(dst, size, v) < 0 ? -EILSEQ : 0;
}

int store_registry_load(struct hub_store *st)
{
    sqlite3_stmt *s;
    int rc = prepare(st->db,
                     "SELECT id, auth, primary_thumbprint, secondary_thumbprint, primary_key,"
                     " secondary_key, status, status_reason, iot_edge, generation_id, etag,"
                     " created_ms, updated_ms, status_updated_ms, connected, conn_updated_ms,"
                     " last_activity_ms, session, device_scope FROM devices",
                     &s);
    if (rc < 0)
        return rc;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        struct dev_entry *e = store_dev_new(st);
        if (!e) {
            rc = -ENOMEM;
            break;
        }
        struct hub_device *d = &e->dev;
        rc = col_str(s, 0, d->device_id, sizeof d->device_id);
        d->auth = (enum hub_auth_type)sqlite3_column_int(s, 1);
        if (rc == 0)
            rc = col_str(s, 2, d->primary_thumbprint, sizeof d->primary_thumbprint);
        if (rc == 0)
            rc = col_str(s, 3, d->secondary_thumbprint, sizeof d->secondary_thumbprint);
        if (rc == 0)
            rc = col_str(s, 4, d->primary_key, sizeof d->primary_key);
        if (rc == 0)
            rc = col_str(s, 5, d->secondary_key, sizeof d->secondary_key);
        d->status = sqlite3_column_int(s, 6) ? HUB_DEVICE_DISABLED : HUB_DEVICE_ENABLED;
        if (rc == 0)
            rc = col_str(s, 7, d->status_reason, sizeof d->status_reason);
        d->iot_edge = sqlite3_column_int(s, 8) != 0;
        if (rc == 0)
            rc = col_str(s, 9, d->generation_id, sizeof d->generation_id);
        d->etag_counter = (uint64_t)sqlite3_column_int64(s, 10);
        hub_etag_from_counter(d->etag_counter, d->etag);
        d->created_ms = sqlite3_column_int64(s, 11);
        d->updated_ms = sqlite3_column_int64(s, 12);
        d->status_updated_ms = sqlite3_column_int64(s, 13);
        /* A restart disconnects everybody; the last known times stay. */
        d->connected = false;
        d->connection_state_updated_ms = sqlite3_column_int64(s, 15);
        d->last_activity_ms = sqlite3_column_int64(s, 16);
        int64_t session = sqlite3_column_int64(s, 17);
        d->has_session = session >= 0;
        d->session_subs = session >= 0 ? (unsigned)session : 0;
        if (rc == 0)
            rc = col_str(s, 18, d->device_scope, sizeof d->device_scope);
        if (rc == 0 && (d->auth < HUB_AUTH_NONE || d->auth > HUB_AUTH_SAS))
            rc = -EILSEQ;
        if (rc == 0)
            rc = store_twin_init(&e->twin, d->device_id);
        if (rc == 0 && store_dev_find(st, d->device_id))
            rc = -EILSEQ;
        if (rc == 0)
            rc = store_dev_insert(st, e);
        if (rc < 0) {
            store_dev_free(st, e);
            break;
        }
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlite_errno(src);
    sqlite3_finalize(s);
    return rc;
}

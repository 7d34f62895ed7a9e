/* Device twins: kept in memory beside their device entry, stored whole (the merge and
 * versioning rules live in twin.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

static const char shared_object[] = "{}";
static const char shared_empty[] = "";

bool hub_twin_text_shared(const char *text)
{
    return text == shared_object || text == shared_empty;
}

void hub_twin_text_free(char *text)
{
    if (!hub_twin_text_shared(text))
        free(text);
}

/* `s` (or `dflt` when NULL) as a twin text: the shared text when it is "{}" or "", else a
 * heap copy (NULL when out of memory). */
static char *twin_text(const char *s, const char *dflt)
{
    if (s == NULL)
        s = dflt;
    if (strcmp(s, shared_object) == 0)
        return (char *)(uintptr_t)shared_object; /* read-only: never written, never freed */
    if (s[0] == '\0')
        return (char *)(uintptr_t)shared_empty;
    return strdup(s);
}

void hub_twin_clear(struct hub_twin *tw)
{
    if (!tw)
        return;
    hub_twin_text_free(tw->desired);
    hub_twin_text_free(tw->reported);
    hub_twin_text_free(tw->tags);
    hub_twin_text_free(tw->meta);
    tw->desired = tw->reported = tw->tags = tw->meta = NULL;
}

static int twin_fill(struct hub_twin *dst, const char *id, const char *desired,
                     const char *reported, const char *tags, const char *meta)
{
    memset(dst, 0, sizeof *dst);
    if (store_copy_str(dst->device_id, sizeof dst->device_id, id) < 0)
        return -EINVAL;
    dst->desired = twin_text(desired, "{}");
    dst->reported = twin_text(reported, "{}");
    dst->tags = twin_text(tags, "{}");
    dst->meta = twin_text(meta, "");
    if (!dst->desired || !dst->reported || !dst->tags || !dst->meta) {
        hub_twin_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

int store_twin_init(struct hub_twin *tw, const char *device_id)
{
    int rc = twin_fill(tw, device_id, NULL, NULL, NULL, NULL);
    if (rc < 0)
        return rc;
    tw->desired_version = 1;
    tw->reported_version = 1;
    tw->etag = 1;
    tw->version = 1;
    return 0;
}

int store_twin_copy(struct hub_twin *dst, const struct hub_twin *src)
{
    int rc = twin_fill(dst, src->device_id, src->desired, src->reported, src->tags,
                       src->meta);
    if (rc < 0)
        return rc;
    dst->desired_version = src->desired_version;
    dst->reported_version = src->reported_version;
    dst->etag = src->etag;
    dst->version = src->version;
    return 0;
}

int hub_store_twin_get(const struct hub_store *st, const char *device_id, struct hub_twin *out)
{
    memset(out, 0, sizeof *out);
    const struct dev_entry *e = store_dev_find(st, device_id);
    if (!e)
        return -ENOENT;
    return store_twin_copy(out, &e->twin);
}

const struct hub_twin *hub_store_twin_peek(const struct hub_store *st, const char *device_id)
{
    const struct dev_entry *e = store_dev_find(st, device_id);
    return e ? &e->twin : NULL;
}

int hub_store_twin_set(struct hub_store *st, const struct hub_twin *tw, hub_store_done_fn done,
                       void *ctx)
{
    if (!tw || memchr(tw->device_id, '\0', sizeof tw->device_id) == NULL)
        return -EINVAL;
    struct dev_entry *e = store_dev_find(st, tw->device_id);
    if (!e)
        return -ENOENT;
    struct hub_twin mem;
    struct store_op *op = store_op_new(OP_TWIN_PUT, done, ctx);
    if (!op)
        return -ENOMEM;
    if (store_twin_copy(&mem, tw) < 0) {
        store_op_free(op);
        return -ENOMEM;
    }
    if (store_twin_copy(&op->u.twin, &mem) < 0) {
        hub_twin_clear(&mem);
        store_op_free(op);
        return -ENOMEM;
    }
    hub_twin_clear(&e->twin);
    e->twin = mem;
    store_submit(st, op);
    return 0;
}

int store_twins_apply(sqlite3 *db, const struct hub_twin *tw)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT OR REPLACE INTO twins(device_id, desired,"
                                " desired_version, reported, reported_version, tags, etag,"
                                " version, meta) VALUES(?,?,?,?,?,?,?,?,?)",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    sqlite3_bind_text(s, 1, tw->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, tw->desired, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, tw->desired_version);
    sqlite3_bind_text(s, 4, tw->reported, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, tw->reported_version);
    sqlite3_bind_text(s, 6, tw->tags, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)tw->etag);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)tw->version);
    sqlite3_bind_text(s, 9, tw->meta ? tw->meta : "", -1, SQLITE_STATIC);
    return store_step_finalize(s);
}

static int store_twins_load_row(struct hub_store *st, sqlite3_stmt *s, void *ctx)
{
    (void)ctx;
    struct dev_entry *e = store_dev_find(st, (const char *)sqlite3_column_text(s, 0));
    if (!e)
        return 0; /* orphan row (cannot happen: deletes cascade in one transaction) */
    struct hub_twin tw;
    int rc = twin_fill(&tw, e->dev.device_id, (const char *)sqlite3_column_text(s, 1),
                   (const char *)sqlite3_column_text(s, 3),
                   (const char *)sqlite3_column_text(s, 5),
                   (const char *)sqlite3_column_text(s, 8));
    if (rc < 0)
        return rc;
    tw.desired_version = sqlite3_column_int64(s, 2);
    tw.reported_version = sqlite3_column_int64(s, 4);
    tw.etag = (uint64_t)sqlite3_column_int64(s, 6);
    tw.version = (uint64_t)sqlite3_column_int64(s, 7);
    hub_twin_clear(&e->twin);
    e->twin = tw;
    return 0;
}

int store_twins_load(struct hub_store *st)
{
    return store_load_rows(st,
                           "SELECT device_id, desired, desired_version, reported,"
                           " reported_version, tags, etag, version, meta FROM twins",
                           store_twins_load_row, NULL);
}

/* DPS state in the hub store: enrollments, groups, DPS CAs and registration records.
 * In memory (one array per table, loaded at open); each row is persisted whole as the
 * storage JSON of dps_model.c in a table (id TEXT PRIMARY KEY, doc TEXT). */
#include "hub/store/store_dps.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

/* Schema of component "dps" (run by store_schema.c): step i brings version i to i+1. */
const char *const store_dps_schema_steps[] = {
    /* 0 -> 1 */
    "CREATE TABLE dps_enrollments (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL);"
    "CREATE TABLE dps_groups (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL);"
    "CREATE TABLE dps_cas (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL);"
    "CREATE TABLE dps_registrations (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL);",
};
const int store_dps_schema_nsteps =
    (int)(sizeof store_dps_schema_steps / sizeof store_dps_schema_steps[0]);

/* ---- one generic table per record type ---- */

struct kind {
    const char *delete_sql;
    const char *put_sql;
    const char *load_sql;
    size_t size;
    size_t id_off;
    size_t id_size;
    int (*copy)(void *dst, const void *src);
    void (*clear)(void *rec);
    cJSON *(*to_doc)(const void *rec);
    int (*from_doc)(const cJSON *doc, void *out);
    bool (*valid)(const void *rec);
};

enum { T_ENR, T_GRP, T_CA, T_REG, T_COUNT };

struct table {
    char *arr; /* n records of kind.size bytes */
    size_t n;
};

struct store_dps {
    struct table t[T_COUNT];
};

/* adapters */
static int enr_copy(void *d, const void *s) { return dps_enrollment_copy(d, s); }
static void enr_clear(void *r) { dps_enrollment_clear(r); }
static cJSON *enr_doc(const void *r) { return dps_enrollment_to_json(r, NULL, DPS_JSON_STORAGE); }
static int enr_from(const cJSON *j, void *o)
{
    return dps_enrollment_from_json(j, NULL, NULL, DPS_JSON_STORAGE, o, NULL, 0);
}
static bool enr_valid(const void *r)
{
    const struct dps_enrollment *e = r;
    return e->registration_id[0] &&
           (e->attestation == DPS_ATTEST_SYMMETRIC_KEY ? e->keys.primary[0] && e->keys.secondary[0]
                                                       : e->primary_pem != NULL);
}
static int grp_copy(void *d, const void *s) { return dps_group_copy(d, s); }
static void grp_clear(void *r) { dps_group_clear(r); }
static cJSON *grp_doc(const void *r) { return dps_group_to_json(r, DPS_JSON_STORAGE); }
static int grp_from(const cJSON *j, void *o)
{
    return dps_group_from_json(j, NULL, NULL, DPS_JSON_STORAGE, o, NULL, 0);
}
static bool grp_valid(const void *r)
{
    const struct dps_group *g = r;
    return g->group_id[0] &&
           (g->attestation == DPS_ATTEST_SYMMETRIC_KEY ? g->keys.primary[0] && g->keys.secondary[0]
                                                       : g->primary_pem || g->ca_primary[0]);
}
static int ca_copy(void *d, const void *s) { return dps_ca_copy(d, s); }
static void ca_clear(void *r) { dps_ca_clear(r); }
static cJSON *ca_doc(const void *r) { return dps_ca_to_json(r, DPS_JSON_STORAGE); }
static int ca_from(const cJSON *j, void *o)
{
    return dps_ca_from_json(j, NULL, DPS_JSON_STORAGE, o, NULL, 0);
}
static bool ca_valid(const void *r)
{
    const struct dps_ca *c = r;
    return c->name[0] && c->pem && c->pem[0];
}
static int reg_copy(void *d, const void *s) { return dps_registration_copy(d, s); }
static void reg_clear(void *r) { dps_registration_clear(r); }
static cJSON *reg_doc(const void *r) { return dps_registration_to_json(r, DPS_JSON_STORAGE); }
static int reg_from(const cJSON *j, void *o)
{
    return dps_registration_from_json(j, DPS_JSON_STORAGE, o, NULL, 0);
}
static bool reg_valid(const void *r)
{
    return ((const struct dps_registration *)r)->registration_id[0] != '\0';
}

#define SQL(t)                                                                                 \
    "DELETE FROM " t " WHERE id=?", "INSERT OR REPLACE INTO " t "(id, doc) VALUES(?, ?)",      \
        "SELECT doc FROM " t

static const struct kind kinds[T_COUNT] = {
    [T_ENR] = {SQL("dps_enrollments"), sizeof(struct dps_enrollment),
               offsetof(struct dps_enrollment, registration_id), DPS_REG_ID_MAX + 1, enr_copy,
               enr_clear, enr_doc, enr_from, enr_valid},
    [T_GRP] = {SQL("dps_groups"), sizeof(struct dps_group), offsetof(struct dps_group, group_id),
               DPS_GROUP_ID_MAX + 1, grp_copy, grp_clear, grp_doc, grp_from, grp_valid},
    [T_CA] = {SQL("dps_cas"), sizeof(struct dps_ca), offsetof(struct dps_ca, name),
              HUB_CA_NAME_MAX + 1, ca_copy, ca_clear, ca_doc, ca_from, ca_valid},
    [T_REG] = {SQL("dps_registrations"), sizeof(struct dps_registration),
               offsetof(struct dps_registration, registration_id), DPS_REG_ID_MAX + 1, reg_copy,
               reg_clear, reg_doc, reg_from, reg_valid},
};

static const char *rec_id(int t, const void *rec)
{
    return (const char *)rec + kinds[t].id_off;
}

/* Every record starts with its struct dps_meta. */
static struct dps_meta *rec_meta(void *rec)
{
    return rec;
}

static void *at(const struct table *tb, int t, size_t i)
{
    return tb->arr + i * kinds[t].size;
}

static void *find(const struct hub_store *st, int t, const char *id, size_t *idx)
{
    if (!st->dps || !id)
        return NULL;
    const struct table *tb = &st->dps->t[t];
    for (size_t i = 0; i < tb->n; i++) {
        void *r = at(tb, t, i);
        if (strcmp(rec_id(t, r), id) == 0) {
            if (idx)
                *idx = i;
            return r;
        }
    }
    return NULL;
}

static int ensure(struct hub_store *st)
{
    if (!st->dps)
        st->dps = calloc(1, sizeof *st->dps);
    return st->dps ? 0 : -ENOMEM;
}

void store_dps_free_all(struct hub_store *st)
{
    if (!st->dps)
        return;
    for (int t = 0; t < T_COUNT; t++) {
        struct table *tb = &st->dps->t[t];
        for (size_t i = 0; i < tb->n; i++)
            kinds[t].clear(at(tb, t, i));
        free(tb->arr);
    }
    free(st->dps);
    st->dps = NULL;
}

static int submit_put(struct hub_store *st, int t, const void *rec, hub_store_done_fn done,
                      void *ctx)
{
    cJSON *doc = kinds[t].to_doc(rec);
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    struct store_op *op = text ? store_op_new(OP_DPS_PUT, done, ctx) : NULL;
    if (!op) {
        cJSON_free(text);
        return -ENOMEM;
    }
    op->u.dps.table = t;
    op->u.dps.doc = store_strdup(text);
    cJSON_free(text);
    if (!op->u.dps.doc) {
        free(op);
        return -ENOMEM;
    }
    store_copy_str(op->key, sizeof op->key, rec_id(t, rec));
    store_submit(st, op);
    return 0;
}

static int put(struct hub_store *st, int t, const void *in, const char *if_match, void *out,
               hub_store_done_fn done, void *ctx)
{
    const struct kind *k = &kinds[t];
    if (out)
        memset(out, 0, k->size);
    if (!in || memchr(rec_id(t, in), '\0', k->id_size) == NULL || !k->valid(in))
        return -EINVAL;
    if (ensure(st) < 0)
        return -ENOMEM;
    size_t idx = 0;
    void *cur = find(st, t, rec_id(t, in), &idx);
    if (cur && !store_etag_matches(if_match, rec_meta(cur)->etag))
        return -ESTALE;
    struct table *tb = &st->dps->t[t];
    if (!cur) {
        char *arr = realloc(tb->arr, (tb->n + 1) * k->size);
        if (!arr)
            return -ENOMEM;
        tb->arr = arr;
    }
    char *rec = malloc(k->size);
    if (!rec || k->copy(rec, in) < 0) {
        free(rec);
        return -ENOMEM;
    }
    struct dps_meta *m = rec_meta(rec);
    int64_t now = store_now_ms();
    m->created_ms = cur ? rec_meta(cur)->created_ms : now;
    m->updated_ms = now;
    m->etag_counter = cur ? rec_meta(cur)->etag_counter + 1 : 0;
    hub_etag_from_counter(m->etag_counter, m->etag);
    int rc = submit_put(st, t, rec, done, ctx);
    if (rc < 0) {
        k->clear(rec);
        free(rec);
        return rc;
    }
    if (cur) {
        k->clear(cur);
        memcpy(cur, rec, k->size);
    } else {
        cur = at(tb, t, tb->n++);
        memcpy(cur, rec, k->size);
    }
    free(rec);
    if (out && k->copy(out, cur) < 0)
        memset(out, 0, k->size);
    return 0;
}

static int get(const struct hub_store *st, int t, const char *id, void *out)
{
    memset(out, 0, kinds[t].size);
    const void *r = find(st, t, id, NULL);
    if (!r)
        return -ENOENT;
    return kinds[t].copy(out, r);
}

static int cmp_enr(const void *a, const void *b)
{
    return strcmp(rec_id(T_ENR, a), rec_id(T_ENR, b));
}
static int cmp_grp(const void *a, const void *b)
{
    return strcmp(rec_id(T_GRP, a), rec_id(T_GRP, b));
}
static int cmp_ca(const void *a, const void *b)
{
    return strcmp(rec_id(T_CA, a), rec_id(T_CA, b));
}
static int cmp_reg(const void *a, const void *b)
{
    return strcmp(rec_id(T_REG, a), rec_id(T_REG, b));
}

static void free_array(int t, void *arr, size_t n)
{
    for (size_t i = 0; arr && i < n; i++)
        kinds[t].clear((char *)arr + i * kinds[t].size);
    free(arr);
}

static int list(const struct hub_store *st, int t, void **out, size_t *n)
{
    static int (*const cmps[T_COUNT])(const void *, const void *) = {cmp_enr, cmp_grp, cmp_ca,
                                                                      cmp_reg};
    *out = NULL;
    *n = 0;
    if (!st->dps || !st->dps->t[t].n)
        return 0;
    const struct table *tb = &st->dps->t[t];
    char *arr = calloc(tb->n, kinds[t].size);
    if (!arr)
        return -ENOMEM;
    for (size_t i = 0; i < tb->n; i++) {
        if (kinds[t].copy(arr + i * kinds[t].size, at(tb, t, i)) < 0) {
            free_array(t, arr, i);
            return -ENOMEM;
        }
    }
    qsort(arr, tb->n, kinds[t].size, cmps[t]);
    *out = arr;
    *n = tb->n;
    return 0;
}

static int del(struct hub_store *st, int t, const char *id, const char *if_match,
               hub_store_done_fn done, void *ctx)
{
    size_t idx = 0;
    void *cur = find(st, t, id, &idx);
    if (!cur)
        return -ENOENT;
    if (!store_etag_matches(if_match, rec_meta(cur)->etag))
        return -ESTALE;
    struct store_op *op = store_op_new(OP_DPS_DELETE, done, ctx);
    if (!op)
        return -ENOMEM;
    op->u.dps.table = t;
    store_copy_str(op->key, sizeof op->key, id);
    struct table *tb = &st->dps->t[t];
    kinds[t].clear(cur);
    memmove(cur, at(tb, t, idx + 1), (tb->n - idx - 1) * kinds[t].size);
    tb->n--;
    store_submit(st, op);
    return 0;
}

/* ---- writer thread ---- */

int store_dps_apply(sqlite3 *db, struct store_op *op)
{
    int t = op->u.dps.table;
    if (t < 0 || t >= T_COUNT)
        return -EINVAL;
    sqlite3_stmt *s = NULL;
    const char *sql = op->kind == OP_DPS_DELETE ? kinds[t].delete_sql : kinds[t].put_sql;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    sqlite3_bind_text(s, 1, op->key, -1, SQLITE_STATIC);
    if (op->kind == OP_DPS_PUT)
        sqlite3_bind_text(s, 2, op->u.dps.doc, -1, SQLITE_STATIC);
    return store_step_finalize(s);
}

/* ---- load at open ---- */

/* One row of a DPS table: the record as a JSON document. */
static int load_row(struct hub_store *st, sqlite3_stmt *s, void *ctx)
{
    int t = *(const int *)ctx;
    struct table *tb = &st->dps->t[t];
    cJSON *doc = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
    if (!doc)
        return -EILSEQ;
    char *arr = realloc(tb->arr, (tb->n + 1) * kinds[t].size);
    if (!arr) {
        cJSON_Delete(doc);
        return -ENOMEM;
    }
    tb->arr = arr;
    int rc = kinds[t].from_doc(doc, at(tb, t, tb->n));
    cJSON_Delete(doc);
    if (rc < 0)
        return rc == -ENOMEM ? rc : -EILSEQ;
    tb->n++;
    return 0;
}

static int load_table(struct hub_store *st, int t)
{
    return store_load_rows(st, kinds[t].load_sql, load_row, &t);
}

int store_dps_load(struct hub_store *st)
{
    int rc = ensure(st);
    for (int t = 0; rc == 0 && t < T_COUNT; t++)
        rc = load_table(st, t);
    return rc;
}

/* ---- public API ---- */

int hub_store_dps_enrollment_put(struct hub_store *st, const struct dps_enrollment *in,
                                 const char *if_match, struct dps_enrollment *out,
                                 hub_store_done_fn done, void *ctx)
{
    return put(st, T_ENR, in, if_match, out, done, ctx);
}
int hub_store_dps_enrollment_get(const struct hub_store *st, const char *registration_id,
                                 struct dps_enrollment *out)
{
    return get(st, T_ENR, registration_id, out);
}
int hub_store_dps_enrollment_list(const struct hub_store *st, struct dps_enrollment **out,
                                  size_t *n)
{
    return list(st, T_ENR, (void **)out, n);
}
int hub_store_dps_enrollment_delete(struct hub_store *st, const char *registration_id,
                                    const char *if_match, hub_store_done_fn done, void *ctx)
{
    return del(st, T_ENR, registration_id, if_match, done, ctx);
}
void dps_enrollment_free_array(struct dps_enrollment *arr, size_t n)
{
    free_array(T_ENR, arr, n);
}

int hub_store_dps_group_put(struct hub_store *st, const struct dps_group *in,
                            const char *if_match, struct dps_group *out, hub_store_done_fn done,
                            void *ctx)
{
    return put(st, T_GRP, in, if_match, out, done, ctx);
}
int hub_store_dps_group_get(const struct hub_store *st, const char *group_id,
                            struct dps_group *out)
{
    return get(st, T_GRP, group_id, out);
}
int hub_store_dps_group_list(const struct hub_store *st, struct dps_group **out, size_t *n)
{
    return list(st, T_GRP, (void **)out, n);
}
int hub_store_dps_group_delete(struct hub_store *st, const char *group_id, const char *if_match,
                               hub_store_done_fn done, void *ctx)
{
    return del(st, T_GRP, group_id, if_match, done, ctx);
}
void dps_group_free_array(struct dps_group *arr, size_t n)
{
    free_array(T_GRP, arr, n);
}

int hub_store_dps_ca_put(struct hub_store *st, const struct dps_ca *in, const char *if_match,
                         struct dps_ca *out, hub_store_done_fn done, void *ctx)
{
    return put(st, T_CA, in, if_match, out, done, ctx);
}
int hub_store_dps_ca_get(const struct hub_store *st, const char *name, struct dps_ca *out)
{
    return get(st, T_CA, name, out);
}
int hub_store_dps_ca_list(const struct hub_store *st, struct dps_ca **out, size_t *n)
{
    return list(st, T_CA, (void **)out, n);
}
int hub_store_dps_ca_delete(struct hub_store *st, const char *name, const char *if_match,
                            hub_store_done_fn done, void *ctx)
{
    return del(st, T_CA, name, if_match, done, ctx);
}
void dps_ca_free_array(struct dps_ca *arr, size_t n)
{
    free_array(T_CA, arr, n);
}

int hub_store_dps_registration_put(struct hub_store *st, const struct dps_registration *in,
                                   const char *if_match, struct dps_registration *out,
                                   hub_store_done_fn done, void *ctx)
{
    return put(st, T_REG, in, if_match, out, done, ctx);
}
int hub_store_dps_registration_get(const struct hub_store *st, const char *registration_id,
                                   struct dps_registration *out)
{
    return get(st, T_REG, registration_id, out);
}
int hub_store_dps_registration_list(const struct hub_store *st, struct dps_registration **out,
                                    size_t *n)
{
    return list(st, T_REG, (void **)out, n);
}
int hub_store_dps_registration_delete(struct hub_store *st, const char *registration_id,
                                      const char *if_match, hub_store_done_fn done, void *ctx)
{
    return del(st, T_REG, registration_id, if_match, done, ctx);
}
void dps_registration_free_array(struct dps_registration *arr, size_t n)
{
    free_array(T_REG, arr, n);
}

void hub_store_dps_view(const struct hub_store *st, struct dps_store_view *out)
{
    memset(out, 0, sizeof *out);
    if (!st->dps)
        return;
    out->enrollments = (const struct dps_enrollment *)(const void *)st->dps->t[T_ENR].arr;
    out->n_enrollments = st->dps->t[T_ENR].n;
    out->groups = (const struct dps_group *)(const void *)st->dps->t[T_GRP].arr;
    out->n_groups = st->dps->t[T_GRP].n;
    out->cas = (const struct dps_ca *)(const void *)st->dps->t[T_CA].arr;
    out->n_cas = st->dps->t[T_CA].n;
}

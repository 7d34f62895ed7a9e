/* Verified CAs of the hub (Azure's "certificates" resource): in memory, persisted whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

void hub_ca_clear(struct hub_ca *ca)
{
    if (!ca)
        return;
    free(ca->pem);
    ca->pem = NULL;
}

int store_ca_copy(struct hub_ca *dst, const struct hub_ca *src)
{
    *dst = *src;
    dst->pem = store_strdup(src->pem ? src->pem : "");
    return dst->pem ? 0 : -ENOMEM;
}

static struct hub_ca *find(const struct hub_store *st, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < st->ncas; i++)
        if (strcmp(st->cas[i].name, name) == 0)
            return &st->cas[i];
    return NULL;
}

void store_cas_free_all(struct hub_store *st)
{
    for (size_t i = 0; i < st->ncas; i++)
        hub_ca_clear(&st->cas[i]);
    free(st->cas);
    st->cas = NULL;
    st->ncas = 0;
}

static int submit_put(struct hub_store *st, const struct hub_ca *ca, hub_store_done_fn done,
                      void *ctx)
{
    struct store_op *op = store_op_new(OP_CA_PUT, done, ctx);
    if (!op)
        return -ENOMEM;
    if (store_ca_copy(&op->u.ca, ca) < 0) {
        free(op);
        return -ENOMEM;
    }
    store_submit(st, op);
    return 0;
}

int hub_store_ca_put(struct hub_store *st, const struct hub_ca *in, const char *if_match,
                     struct hub_ca *out, hub_store_done_fn done, void *ctx)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!in || memchr(in->name, '\0', sizeof in->name) == NULL || !in->name[0] || !in->pem ||
        !in->pem[0] || memchr(in->verification_code, '\0', sizeof in->verification_code) == NULL)
        return -EINVAL;
    char t1[HUB_THUMBPRINT_MAX + 1], t256[HUB_THUMBPRINT_MAX + 1];
    if (hub_thumbprint_normalise(in->thumbprint_sha1, t1) < 0 ||
        hub_thumbprint_normalise(in->thumbprint_sha256, t256) < 0 ||
        (t1[0] && strlen(t1) != 40) || (t256[0] && strlen(t256) != 64))
        return -EINVAL;
    struct hub_ca *cur = find(st, in->name);
    if (cur && !store_etag_matches(if_match, cur->etag))
        return -ESTALE;

    struct hub_ca ca = *in;
    ca.pem = store_strdup(in->pem);
    if (!ca.pem)
        return -ENOMEM;
    memcpy(ca.thumbprint_sha1, t1, sizeof ca.thumbprint_sha1);
    memcpy(ca.thumbprint_sha256, t256, sizeof ca.thumbprint_sha256);
    int64_t now = store_now_ms();
    ca.created_ms = cur ? cur->created_ms : now;
    ca.updated_ms = now;
    ca.etag_counter = cur ? cur->etag_counter + 1 : 0;
    hub_etag_from_counter(ca.etag_counter, ca.etag);

    if (!cur) {
        struct hub_ca *arr = realloc(st->cas, (st->ncas + 1) * sizeof *arr);
        if (!arr) {
            hub_ca_clear(&ca);
            return -ENOMEM;
        }
        st->cas = arr;
    }
    int rc = submit_put(st, &ca, done, ctx);
    if (rc < 0) {
        hub_ca_clear(&ca);
        return rc;
    }
    if (cur) {
        hub_ca_clear(cur);
        *cur = ca;
    } else {
        cur = &st->cas[st->ncas++];
        *cur = ca;
    }
    st->ca_generation++;
    if (out)
        store_ca_copy(out, cur); /* out->pem stays NULL if that allocation fails */
    return 0;
}

int hub_store_ca_get(const struct hub_store *st, const char *name, struct hub_ca *out)
{
    memset(out, 0, sizeof *out);
    const struct hub_ca *ca = find(st, name);
    if (!ca)
        return -ENOENT;
    return store_ca_copy(out, ca);
}

static int cmp_ca(const void *a, const void *b)
{
    return strcmp(((const struct hub_ca *)a)->name, ((const struct hub_ca *)b)->name);
}

int hub_store_ca_list(const struct hub_store *st, struct hub_ca **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!st->ncas)
        return 0;
    struct hub_ca *arr = calloc(st->ncas, sizeof *arr);
    if (!arr)
        return -ENOMEM;
    for (size_t i = 0; i < st->ncas; i++) {
        if (store_ca_copy(&arr[i], &st->cas[i]) < 0) {
            for (size_t j = 0; j < i; j++)
                hub_ca_clear(&arr[j]);
            free(arr);
            return -ENOMEM;
        }
    }
    qsort(arr, st->ncas, sizeof *arr, cmp_ca);
    *out = arr;
    *n = st->ncas;
    return 0;
}

uint64_t hub_store_ca_generation(const struct hub_store *st)
{
    return st->ca_generation;
}

int hub_store_ca_delete(struct hub_store *st, const char *name, const char *if_match,
                        hub_store_done_fn done, void *ctx)
{
    struct hub_ca *ca = find(st, name);
    if (!ca)
        return -ENOENT;
    if (!store_etag_matches(if_match, ca->etag))
        return -ESTALE;
    struct store_op *op = store_op_new(OP_CA_DELETE, done, ctx);
    if (!op)
        return -ENOMEM;
    memcpy(op->key, ca->name, sizeof op->key);
    hub_ca_clear(ca);
    size_t i = (size_t)(ca - st->cas);
    memmove(&st->cas[i], &st->cas[i + 1], (st->ncas - i - 1) * sizeof *ca);
    st->ncas--;
    st->ca_generation++;
    store_submit(st, op);
    return 0;
}

static int modify(struct hub_store *st, const char *name, const bool *verified,
                  const char *code, hub_store_done_fn done, void *ctx)
{
    struct hub_ca *cur = find(st, name);
    if (!cur)
        return -ENOENT;
    struct hub_ca ca = *cur;
    if (verified) {
        ca.verified = *verified;
        if (*verified)
            ca.verification_code[0] = '\0';
    }
    if (code && store_copy_str(ca.verification_code, sizeof ca.verification_code, code) < 0)
        return -EINVAL;
    ca.etag_counter++;
    hub_etag_from_counter(ca.etag_counter, ca.etag);
    ca.updated_ms = store_now_ms();
    int rc = submit_put(st, &ca, done, ctx); /* ca.pem is still cur->pem: copied by submit */
    if (rc < 0)
        return rc;
    *cur = ca;
    st->ca_generation++;
    return 0;
}

int hub_store_ca_set_verified(struct hub_store *st, const char *name, bool verified,
                              hub_store_done_fn done, void *ctx)
{
    return modify(st, name, &verified, NULL, done, ctx);
}

int hub_store_ca_set_verification_code(struct hub_store *st, const char *name,
                                       const char *code, hub_store_done_fn done, void *ctx)
{
    if (!code)
        return -EINVAL;
    return modify(st, name, NULL, code, done, ctx);
}

int store_cas_apply(sqlite3 *db, struct store_op *op)
{
    sqlite3_stmt *s;
    int rc;
    if (op->kind == OP_CA_DELETE) {
        rc = sqlite3_prepare_v2(db, "DELETE FROM cas WHERE name=?", -1, &s, NULL);
        if (rc != SQLITE_OK)
            return store_sqlite_errno(rc);
        sqlite3_bind_text(s, 1, op->key, -1, SQLITE_STATIC);
    } else {
        const struct hub_ca *ca = &op->u.ca;
        rc = sqlite3_prepare_v2(db,
                                "INSERT OR REPLACE INTO cas(name, pem, thumbprint_sha1,"
                                " thumbprint_sha256, verified, verification_code, etag,"
                                " created_ms, updated_ms) VALUES(?,?,?,?,?,?,?,?,?)",
                                -1, &s, NULL);
        if (rc != SQLITE_OK)
            return store_sqlite_errno(rc);
        sqlite3_bind_text(s, 1, ca->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, ca->pem, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, ca->thumbprint_sha1, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, ca->thumbprint_sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, ca->verified ? 1 : 0);
        sqlite3_bind_text(s, 6, ca->verification_code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 7, (sqlite3_int64)ca->etag_counter);
        sqlite3_bind_int64(s, 8, ca->created_ms);
        sqlite3_bind_int64(s, 9, ca->updated_ms);
    }
    return store_step_finalize(s);
}

static int store_cas_load_row(struct hub_store *st, sqlite3_stmt *s, void *ctx)
{
    (void)ctx;
    struct hub_ca ca;
    memset(&ca, 0, sizeof ca);
    if (store_copy_str(ca.name, sizeof ca.name, (const char *)sqlite3_column_text(s, 0)) <
            0 ||
        store_copy_str(ca.thumbprint_sha1, sizeof ca.thumbprint_sha1,
                       (const char *)sqlite3_column_text(s, 2)) < 0 ||
        store_copy_str(ca.thumbprint_sha256, sizeof ca.thumbprint_sha256,
                       (const char *)sqlite3_column_text(s, 3)) < 0 ||
        store_copy_str(ca.verification_code, sizeof ca.verification_code,
                       (const char *)sqlite3_column_text(s, 5)) < 0) {
        return -EILSEQ;
    }
    ca.verified = sqlite3_column_int(s, 4) != 0;
    ca.etag_counter = (uint64_t)sqlite3_column_int64(s, 6);
    hub_etag_from_counter(ca.etag_counter, ca.etag);
    ca.created_ms = sqlite3_column_int64(s, 7);
    ca.updated_ms = sqlite3_column_int64(s, 8);
    ca.pem = store_strdup((const char *)sqlite3_column_text(s, 1));
    struct hub_ca *arr = ca.pem ? realloc(st->cas, (st->ncas + 1) * sizeof *arr) : NULL;
    if (!arr) {
        hub_ca_clear(&ca);
        return -ENOMEM;
    }
    st->cas = arr;
    st->cas[st->ncas++] = ca;
    st->ca_generation++;
    return 0;
}

int store_cas_load(struct hub_store *st)
{
    return store_load_rows(st,
                           "SELECT name, pem, thumbprint_sha1, thumbprint_sha256, verified,"
                           " verification_code, etag, created_ms, updated_ms FROM cas",
                           store_cas_load_row, NULL);
}

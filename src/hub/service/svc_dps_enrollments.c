/* /enrollments: DPS individual enrollments (Azure's shapes, the DPS service REST API on Microsoft Learn, api-version 2021-10-01):
 * PUT/GET/DELETE /enrollments/{id}, POST /enrollments/query, bulk POST /enrollments. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store/store_dps.h"
#include "hub/dps/dps.h"
#include "hub/service/svc_common.h"

/* ---- individual enrollments ---------------------------------------------------------------- */

static void what_of(const char *id, char *out, size_t size)
{
    snprintf(out, size, "Enrollment %s", id);
}

/* The API JSON of an enrollment, with its registration state when there is one. */
static cJSON *enrollment_json(const struct hub_daemon *d, const struct dps_enrollment *e)
{
    struct dps_registration reg;
    bool have = hub_store_dps_registration_get(d->dps_store, e->registration_id, &reg) == 0;
    cJSON *o = dps_enrollment_to_json(e, have ? &reg : NULL, DPS_JSON_API);
    if (o != NULL)
        hub_dps_fix_assigned_hub(d, o);
    if (have)
        dps_registration_clear(&reg);
    return o;
}

/* Parses and validates a body for `id` (existing may be NULL). 0 or -EINVAL with err. */
static int parse_enrollment(struct hub_store *st, const cJSON *j, const char *id,
                            struct dps_enrollment *out, char *err, size_t errlen)
{
    struct dps_enrollment cur;
    bool have = id != NULL && hub_store_dps_enrollment_get(st, id, &cur) == 0;
    int rc = dps_enrollment_from_json(j, id, have ? &cur : NULL, DPS_JSON_API, out, err, errlen);
    if (have)
        dps_enrollment_clear(&cur);
    return rc;
}

static void put_enrollment(struct svc_req *r, const char *id)
{
    cJSON *j = svc_dps_body_json(r);
    if (j == NULL)
        return;
    struct dps_enrollment e;
    char err[DPS_ERRMSG_MAX + 64];
    int rc = parse_enrollment(r->d->dps_store, j, id, &e, err, sizeof(err));
    cJSON_Delete(j);
    if (rc != 0) {
        svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid", "%s.", err);
        return;
    }
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_dps_put_if_match(r, ifm_buf, sizeof(ifm_buf), e.meta.etag);
    char what[HUB_DEVICE_ID_MAX + 32];
    what_of(id, what, sizeof(what));
    struct svc_op *op = svc_dps_op_new(r, SVC_DPS_OP_PUT, what);
    if (op == NULL) {
        dps_enrollment_clear(&e);
        return;
    }
    struct dps_enrollment out;
    rc = hub_store_dps_enrollment_put(r->d->dps_store, &e, ifm, &out, svc_dps_op_done, op);
    dps_enrollment_clear(&e);
    if (rc == 0) {
        svc_dps_op_answer(op, enrollment_json(r->d, &out), out.meta.etag);
        dps_enrollment_clear(&out);
        hub_log(HUB_LOG_INFO, "service API: DPS enrollment '%s' stored", id);
    }
    svc_dps_op_submitted(r, op, rc);
}

static void query_enrollments(struct svc_req *r)
{
    struct svc_dps_page pg;
    struct dps_enrollment *all = NULL;
    size_t n = 0;
    if (!svc_dps_page_begin(r, &pg, DPS_REG_ID_MAX) ||
        !svc_dps_page_listed(r, &pg, hub_store_dps_enrollment_list(r->d->dps_store, &all, &n),
                             "the enrollment list"))
        return;
    for (size_t i = 0; i < n; i++)
        if (svc_dps_page_take(&pg, all[i].registration_id) > 0)
            cJSON_AddItemToArray(pg.items, enrollment_json(r->d, &all[i]));
    svc_reply_page(r, pg.items, "Enrollment", pg.next);
    dps_enrollment_free_array(all, n);
}

/* ---- bulk ------------------------------------------------------------------------------------ */

enum bulk_mode { BULK_CREATE, BULK_UPDATE, BULK_UPDATE_IF_MATCH, BULK_DELETE };

struct bulk {
    cJSON *errors; /* [{registrationId, errorCode, errorStatus}] */
};

struct bulk_item {
    struct svc_op *op;
    char id[DPS_REG_ID_MAX + 1];
};

static void bulk_error(struct bulk *b, const char *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void bulk_error(struct bulk *b, const char *id, int code, const char *fmt, ...)
{
    char text[DPS_ERRMSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "registrationId", id ? id : "");
    cJSON_AddNumberToObject(e, "errorCode", code);
    cJSON_AddStringToObject(e, "errorStatus", text);
    cJSON_AddItemToArray(b->errors, e);
}

static void bulk_store_error(struct bulk *b, const char *id, int rc)
{
    switch (rc) {
    case -ENOENT: bulk_error(b, id, 404201, "Enrollment %s not found.", id); break;
    case -ESTALE: bulk_error(b, id, 412002, "The etag does not match enrollment %s.", id); break;
    case -EEXIST: bulk_error(b, id, 409201, "Enrollment %s already exists.", id); break;
    case -EINVAL: bulk_error(b, id, 400004, "Invalid enrollment %s.", id); break;
    default: bulk_error(b, id, 500001, "Enrollment %s: %s.", id, azk_strerror(rc)); break;
    }
}

/* One pending part less; the last one answers. */
static void bulk_release(struct svc_op *op)
{
    if (--op->pending > 0)
        return;
    struct bulk *b = op->data;
    if (svc_op_live(op)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "isSuccessful", cJSON_GetArraySize(b->errors) == 0);
        cJSON_AddItemToObject(o, "errors", b->errors);
        b->errors = NULL;
        svc_reply_json(op->req, 200, o, NULL);
    }
    cJSON_Delete(b->errors);
    svc_op_free(op);
}

static void bulk_done(void *ctx, int rc)
{
    struct bulk_item *it = ctx;
    if (rc != 0)
        bulk_store_error(it->op->data, it->id, rc);
    struct svc_op *op = it->op;
    free(it);
    bulk_release(op);
}

static void bulk_one(struct svc_req *r, struct svc_op *op, enum bulk_mode mode, const cJSON *item)
{
    struct bulk *b = op->data;
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(item, "registrationId");
    const char *id = cJSON_IsString(idj) ? idj->valuestring : NULL;
    if (id == NULL || strlen(id) > DPS_REG_ID_MAX) {
        bulk_error(b, id, 400004, "Every enrollment needs a registrationId (1..%d characters).",
                   DPS_REG_ID_MAX);
        return;
    }
    struct bulk_item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        bulk_store_error(b, id, -ENOMEM);
        return;
    }
    it->op = op;
    snprintf(it->id, sizeof(it->id), "%s", id);
    int rc;
    if (mode == BULK_DELETE) {
        rc = hub_store_dps_enrollment_delete(r->d->dps_store, id, NULL, bulk_done, it);
    } else {
        struct dps_enrollment e, cur;
        char err[DPS_ERRMSG_MAX + 64];
        if (parse_enrollment(r->d->dps_store, item, id, &e, err, sizeof(err)) != 0) {
            bulk_error(b, id, 400004, "%s", err);
            free(it);
            return;
        }
        bool exists = hub_store_dps_enrollment_get(r->d->dps_store, id, &cur) == 0;
        if (exists)
            dps_enrollment_clear(&cur);
        const char *ifm = mode == BULK_UPDATE_IF_MATCH && e.meta.etag[0] ? e.meta.etag : NULL;
        if (mode == BULK_CREATE && exists)
            rc = -EEXIST;
        else
            rc = hub_store_dps_enrollment_put(r->d->dps_store, &e, ifm, NULL, bulk_done, it);
        dps_enrollment_clear(&e);
    }
    if (rc < 0) {
        bulk_store_error(b, id, rc);
        free(it);
        return;
    }
    op->pending++;
}

static void bulk(struct svc_req *r)
{
    cJSON *j = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(j, "mode");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "enrollments");
    static const char *const names[] = {"create", "update", "updateIfMatchEtag", "delete"};
    int m = -1;
    for (int i = 0; i < 4 && cJSON_IsString(mode); i++)
        if (strcmp(mode->valuestring, names[i]) == 0)
            m = i;
    if (m < 0 || !cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
        cJSON_Delete(j);
        svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid",
                            "The body must be {\"mode\":\"create|update|updateIfMatchEtag|"
                            "delete\",\"enrollments\":[...]} with at least one enrollment.");
        return;
    }
    struct svc_op *op = svc_op_new(r, NULL, 0);
    struct bulk *b = op ? calloc(1, sizeof(*b)) : NULL;
    if (b == NULL || (b->errors = cJSON_CreateArray()) == NULL) {
        free(b);
        svc_op_free(op);
        cJSON_Delete(j);
        svc_dps_reply_store_error(r->req, -ENOMEM, "the bulk operation");
        return;
    }
    op->data = b;
    op->pending = 1; /* this function's own hold */
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
        bulk_one(r, op, (enum bulk_mode)m, item);
    hub_log(HUB_LOG_INFO, "service API: DPS bulk %s: %d of %d enrollments submitted", names[m],
            op->pending - 1, cJSON_GetArraySize(list));
    cJSON_Delete(j);
    bulk_release(op);
}

/* ---- routing ---------------------------------------------------------------------------------- */

void svc_dps_enrollments(struct svc_req *r)
{
    if (r->nseg == 1) {
        if (r->method == SVC_POST)
            bulk(r);
        else
            svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed",
                                "Use POST /enrollments (bulk) or POST /enrollments/query.");
        return;
    }
    const char *id = r->seg[1];
    if (r->nseg == 2 && strcmp(id, "query") == 0 && r->method == SVC_POST) {
        query_enrollments(r);
        return;
    }
    char what[HUB_DEVICE_ID_MAX + 32];
    what_of(id, what, sizeof(what));
    if (r->nseg == 3 && strcmp(r->seg[2], "attestationmechanism") == 0 &&
        r->method == SVC_POST) {
        struct dps_enrollment e;
        int rc = hub_store_dps_enrollment_get(r->d->dps_store, id, &e);
        if (rc != 0) {
            svc_dps_reply_store_error(r->req, rc, what);
            return;
        }
        svc_dps_reply_attestation(r, enrollment_json(r->d, &e));
        dps_enrollment_clear(&e);
        return;
    }
    if (r->nseg > 2) {
        svc_dps_reply_error(r->req, 404, 404001, "NotFound", "No such enrollment endpoint.");
        return;
    }
    switch (r->method) {
    case SVC_GET: {
        struct dps_enrollment e;
        int rc = hub_store_dps_enrollment_get(r->d->dps_store, id, &e);
        if (rc != 0) {
            svc_dps_reply_store_error(r->req, rc, what);
            return;
        }
        svc_reply_json(r->req, 200, enrollment_json(r->d, &e), e.meta.etag);
        dps_enrollment_clear(&e);
        return;
    }
    case SVC_PUT:
        put_enrollment(r, id);
        return;
    case SVC_DELETE:
        svc_dps_delete(r, id, what, hub_store_dps_enrollment_delete);
        return;
    default:
        svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed", "Use GET, PUT or DELETE.");
    }
}

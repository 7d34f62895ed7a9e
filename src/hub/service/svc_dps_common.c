/* Helpers the DPS resource files (svc_dps_*.c) share: asynchronous answers, query paging and
 * the request skeletons (PUT body, If-Match, DELETE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/service/svc_common.h"

/* ---- asynchronous answers ---------------------------------------------------------------- */

struct dps_answer {
    char etag[HUB_ETAG_MAX + 1];
    char *text;
};

struct svc_op *svc_dps_op_new(struct svc_req *r, int kind, const char *what)
{
    struct svc_op *op = svc_op_new(r, what, kind);
    struct dps_answer *a = op ? calloc(1, sizeof(*a)) : NULL;
    if (a == NULL) {
        svc_op_free(op);
        svc_dps_reply_store_error(r->req, -ENOMEM, what);
        return NULL;
    }
    op->data = a;
    return op;
}

void svc_dps_op_answer(struct svc_op *op, cJSON *body, const char *etag)
{
    struct dps_answer *a = op->data;
    free(a->text);
    a->text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    snprintf(a->etag, sizeof(a->etag), "%s", etag ? etag : "");
}

static void dps_op_free(struct svc_op *op)
{
    struct dps_answer *a = op->data;
    if (a != NULL)
        free(a->text);
    svc_op_free(op);
}

void svc_dps_op_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    if (svc_op_live(op)) {
        struct dps_answer *a = op->data;
        if (rc != 0)
            svc_dps_reply_store_error(op->req, rc, op->id);
        else if (op->kind == SVC_DPS_OP_DELETE)
            svc_reply_empty(op->req, 204);
        else
            svc_reply_json(op->req, 200, a->text ? cJSON_Parse(a->text) : NULL,
                           a->etag[0] ? a->etag : NULL);
    }
    dps_op_free(op);
}

void svc_dps_op_submitted(struct svc_req *r, struct svc_op *op, int rc)
{
    if (rc < 0) {
        svc_dps_reply_store_error(r->req, rc, op->id);
        dps_op_free(op);
    }
}

/* ---- query paging ------------------------------------------------------------------------ */

bool svc_dps_page_params(struct svc_req *r, size_t *max, char *after, size_t after_size)
{
    *max = 1000;
    after[0] = '\0';
    const char *m = svc_header(r, "x-ms-max-item-count");
    if (m != NULL && *m) {
        char *end;
        long v = strtol(m, &end, 10);
        if (*end != '\0' || v < 1) {
            svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid",
                                "x-ms-max-item-count must be a positive integer.");
            return false;
        }
        *max = v > 1000 ? 1000 : (size_t)v;
    }
    const char *c = svc_header(r, "x-ms-continuation");
    if (c != NULL)
        snprintf(after, after_size, "%s", c);
    /* The body is {"query":"*"} (or any SQL-like text): every record is returned. */
    if (r->body_len) {
        cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
        bool ok = cJSON_IsObject(j);
        cJSON_Delete(j);
        if (!ok) {
            svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid",
                                "The query body must be a JSON object such as {\"query\":\"*\"}.");
            return false;
        }
    }
    return true;
}

bool svc_dps_page_begin(struct svc_req *r, struct svc_dps_page *pg, size_t id_max)
{
    memset(pg, 0, sizeof(*pg));
    if (!svc_dps_page_params(r, &pg->max, pg->after, id_max + 2))
        return false;
    pg->items = cJSON_CreateArray();
    return true;
}

int svc_dps_page_take(struct svc_dps_page *pg, const char *id)
{
    if (pg->after[0] && strcmp(id, pg->after) <= 0)
        return 0;
    if (pg->taken == pg->max) {
        pg->next = pg->last;
        return -1;
    }
    pg->last = id;
    pg->taken++;
    return 1;
}

bool svc_dps_page_listed(struct svc_req *r, struct svc_dps_page *pg, int list_rc,
                         const char *what)
{
    if (list_rc == 0)
        return true;
    cJSON_Delete(pg->items);
    pg->items = NULL;
    svc_dps_reply_store_error(r->req, -ENOMEM, what);
    return false;
}

/* ---- request skeletons ------------------------------------------------------------------- */

cJSON *svc_dps_body_json(struct svc_req *r)
{
    cJSON *j = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (j == NULL)
        svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid",
                            r->body_len ? "The request body is not valid JSON."
                                        : "The request body is missing.");
    return j;
}

const char *svc_dps_put_if_match(const struct svc_req *r, char *buf, size_t size,
                                 const char *body_etag)
{
    const char *ifm = svc_if_match(r, buf, size);
    return ifm == NULL && body_etag[0] ? body_etag : ifm;
}

void svc_dps_delete(struct svc_req *r, const char *id, const char *what, svc_dps_delete_fn del)
{
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
    struct svc_op *op = svc_dps_op_new(r, SVC_DPS_OP_DELETE, what);
    if (op != NULL)
        svc_dps_op_submitted(r, op, del(r->d->dps_store, id, ifm, svc_dps_op_done, op));
}

void svc_dps_reply_attestation(struct svc_req *r, cJSON *whole)
{
    cJSON *att = cJSON_DetachItemFromObjectCaseSensitive(whole, "attestation");
    cJSON_Delete(whole);
    svc_reply_json(r->req, 200, att ? att : cJSON_CreateObject(), NULL);
}

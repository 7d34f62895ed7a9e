/* POST /devices/query: IoT Hub's device twin queries (query.h) with Azure's paging.
 *
 * Request: {"query": "SELECT ... FROM devices ..."}, optional headers x-ms-max-item-count (page
 * size, 1..SVC_QUERY_PAGE_MAX, default SVC_QUERY_PAGE_MAX) and x-ms-continuation (the token of
 * the previous page). Answer: 200 with a JSON array of rows, x-ms-item-type "twin" (SELECT *:
 * the documents of GET /twins/{id}) or "raw" (projections, aggregates), and x-ms-continuation
 * only when another page follows (the service SDKs stop when it is absent).
 *
 * Continuation tokens are "<rows already returned>:<last device id, percent-encoded>" for plain
 * queries, which walk the twins in device id order and resume after that id (a device added or
 * removed between pages does not shift the others), and "<rows already returned>:" for
 * aggregate queries, whose rows are computed again for each page and resumed by position. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/service/query.h"
#include "hub/service/svc_common.h"

/* Largest page; Microsoft Learn documents page sizes "up to 100" for twin queries. */
#define SVC_QUERY_PAGE_MAX 100

struct page {
    size_t max;                             /* rows on this page */
    size_t done;                            /* rows returned by earlier pages */
    char after[HUB_DEVICE_ID_MAX + 1];      /* plain queries: resume after this id ("" = start) */
};

/* "<done>:<percent-encoded id>" into out. */
static void token_make(size_t done, const char *after, char *out, size_t size)
{
    int n = snprintf(out, size, "%zu:", done);
    size_t len = 0;
    if (n < 0 || (size_t)n >= size ||
        azk_pct_encode(azk_span_from_str(after), out + n, size - (size_t)n - 1, &len) != 0)
        len = 0; /* cannot happen: size holds the longest id encoded */
    out[(size_t)n + len] = '\0';
}

static bool token_parse(const char *t, struct page *pg)
{
    char *end;
    if (*t < '0' || *t > '9')
        return false;
    unsigned long long done = strtoull(t, &end, 10);
    if (*end != ':' || done > 1000000000ULL)
        return false;
    size_t n = 0;
    const char *id = end + 1;
    if (azk_pct_decode(azk_span_from_str(id), pg->after, sizeof(pg->after) - 1, &n) != 0 ||
        memchr(pg->after, '\0', n) != NULL)
        return false;
    pg->after[n] = '\0';
    pg->done = (size_t)done;
    return true;
}

/* The paging headers; false after answering 400. */
static bool page_params(struct svc_req *r, struct page *pg)
{
    memset(pg, 0, sizeof(*pg));
    pg->max = SVC_QUERY_PAGE_MAX;
    const char *m = svc_header(r, "x-ms-max-item-count");
    if (m != NULL && *m) {
        char *end;
        long v = strtol(m, &end, 10);
        if (*end != '\0' || v < 1) {
            svc_reply_error(r->req, 400, "ArgumentInvalid",
                            "x-ms-max-item-count must be a positive integer (at most %d).",
                            SVC_QUERY_PAGE_MAX);
            return false;
        }
        pg->max = v > SVC_QUERY_PAGE_MAX ? SVC_QUERY_PAGE_MAX : (size_t)v;
    }
    const char *c = svc_header(r, "x-ms-continuation");
    if (c != NULL && *c && !token_parse(c, pg)) {
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "x-ms-continuation is not a continuation token of this hub: send the "
                        "x-ms-continuation of the previous page unchanged.");
        return false;
    }
    return true;
}

/* The query text of the body; NULL after answering 400. */
static struct hub_query *request_query(struct svc_req *r)
{
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return NULL;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "query");
    if (!cJSON_IsString(text)) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "The body must be {\"query\":\"SELECT * FROM devices ...\"}.");
        return NULL;
    }
    struct hub_query *q = NULL;
    char err[HUB_QUERY_ERR_MAX];
    int rc = hub_query_parse(text->valuestring, strlen(text->valuestring), &q, err);
    if (rc == -ENOMEM)
        svc_reply_error(r->req, 500, "ServerError", "Out of memory parsing the query.");
    else if (rc != 0)
        svc_reply_error(r->req, 400, "BadRequest", "Invalid query: %s.", err);
    if (rc != 0)
        hub_log(HUB_LOG_INFO, "service API: refused query \"%.200s\": %s", text->valuestring,
                err);
    cJSON_Delete(j);
    return q;
}

static void reply_page(struct svc_req *r, cJSON *rows, const char *type, bool more,
                       size_t done, const char *after)
{
    char token[32 + 3 * HUB_DEVICE_ID_MAX];
    if (more)
        token_make(done, after, token, sizeof(token));
    svc_reply_page(r, rows, type, more ? token : NULL);
}

/* Rows left before TOP is reached (SIZE_MAX without TOP). */
static size_t top_left(const struct hub_query *q, size_t done)
{
    if (q->top < 0)
        return SIZE_MAX;
    return (size_t)q->top > done ? (size_t)q->top - done : 0;
}

/* Plain queries: twins in device id order after pg->after, up to a page. */
static void run_plain(struct svc_req *r, const struct hub_query *q, const struct page *pg,
                      const struct hub_device *devs, size_t n)
{
    cJSON *rows = cJSON_CreateArray();
    size_t left = top_left(q, pg->done), want = pg->max < left ? pg->max : left, taken = 0;
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; rows != NULL && i < n && !more && taken < left; i++) {
        if (pg->after[0] && strcmp(devs[i].device_id, pg->after) <= 0)
            continue;
        cJSON *twin = svc_twin_json(r->hub, devs[i].device_id, NULL);
        if (twin == NULL)
            continue; /* removed meanwhile */
        if (hub_query_match(q, twin)) {
            if (taken == want) {
                more = true; /* a further row exists: the page is full */
            } else {
                cJSON *row = hub_query_project(q, twin);
                if (row == NULL || !cJSON_AddItemToArray(rows, row)) {
                    cJSON_Delete(row);
                    cJSON_Delete(rows);
                    rows = NULL;
                } else {
                    taken++;
                    last = devs[i].device_id;
                }
            }
        }
        cJSON_Delete(twin);
    }
    if (rows == NULL) {
        svc_reply_store_error(r->req, -ENOMEM, "the query");
        return;
    }
    reply_page(r, rows, q->star ? "twin" : "raw", more, pg->done + taken, last ? last : "");
}

/* Aggregate queries: all groups, then the page's slice of them. */
static void run_aggregate(struct svc_req *r, const struct hub_query *q, const struct page *pg,
                          const struct hub_device *devs, size_t n)
{
    struct hub_query_agg *agg = hub_query_agg_new(q);
    int rc = agg ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        cJSON *twin = svc_twin_json(r->hub, devs[i].device_id, NULL);
        if (twin != NULL && hub_query_match(q, twin))
            rc = hub_query_agg_add(agg, twin);
        cJSON_Delete(twin);
    }
    cJSON *all = rc == 0 ? hub_query_agg_rows(agg) : NULL;
    hub_query_agg_free(agg);
    cJSON *rows = all ? cJSON_CreateArray() : NULL;
    if (rows == NULL) {
        cJSON_Delete(all);
        svc_reply_store_error(r->req, -ENOMEM, "the query");
        return;
    }
    size_t total = (size_t)cJSON_GetArraySize(all), left = top_left(q, 0);
    if (total > left)
        total = left;
    size_t i = pg->done, taken = 0;
    while (i < total && taken < pg->max) {
        cJSON *row = cJSON_DetachItemFromArray(all, (int)pg->done);
        cJSON_AddItemToArray(rows, row);
        i++;
        taken++;
    }
    cJSON_Delete(all);
    reply_page(r, rows, "raw", i < total, i, "");
}

void svc_devices_query(struct svc_req *r)
{
    struct page pg;
    if (!page_params(r, &pg))
        return;
    struct hub_query *q = request_query(r);
    if (q == NULL)
        return;
    struct hub_device *devs = NULL;
    size_t n = 0;
    if (hub_store_device_list(r->hub->store, &devs, &n) != 0) {
        hub_query_free(q);
        svc_reply_store_error(r->req, -ENOMEM, "the device list");
        return;
    }
    if (q->aggregate)
        run_aggregate(r, q, &pg, devs, n);
    else
        run_plain(r, q, &pg, devs, n);
    free(devs);
    hub_query_free(q);
}

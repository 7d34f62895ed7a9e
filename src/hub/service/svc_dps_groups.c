/* /enrollmentGroups: DPS enrollment groups (X.509 signingCertificates or caReferences to a
 * verified DPS CA): PUT/GET/DELETE /enrollmentGroups/{id}, POST /enrollmentGroups/query. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store/store_dps.h"
#include "hub/service/svc_common.h"

static void what_of(const char *id, char *out, size_t size)
{
    snprintf(out, size, "Enrollment group %s", id);
}

/* caReferences must name DPS CAs that exist and are verified (proof of possession). */
static const char *ca_ref_problem(struct hub_store *st, const char *name, char *buf, size_t size)
{
    if (name[0] == '\0')
        return NULL;
    struct dps_ca ca;
    if (hub_store_dps_ca_get(st, name, &ca) != 0) {
        snprintf(buf, size, "caReferences names '%s', which is not a DPS certificate "
                 "(upload it first: azkit-hub dps-ca add)", name);
        return buf;
    }
    bool verified = ca.verified;
    dps_ca_clear(&ca);
    if (!verified) {
        snprintf(buf, size, "DPS certificate '%s' is not verified (proof of possession: "
                 "azkit-hub dps-ca verify)", name);
        return buf;
    }
    return NULL;
}

static void put_group(struct svc_req *r, const char *id)
{
    cJSON *j = svc_dps_body_json(r);
    if (j == NULL)
        return;
    struct dps_group cur, g;
    bool have = hub_store_dps_group_get(r->d->dps_store, id, &cur) == 0;
    char err[DPS_ERRMSG_MAX + 300];
    int rc = dps_group_from_json(j, id, have ? &cur : NULL, DPS_JSON_API, &g, err, sizeof(err));
    if (have)
        dps_group_clear(&cur);
    cJSON_Delete(j);
    if (rc != 0) {
        svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid", "%s.", err);
        return;
    }
    const char *problem = ca_ref_problem(r->d->dps_store, g.ca_primary, err, sizeof(err));
    if (problem == NULL)
        problem = ca_ref_problem(r->d->dps_store, g.ca_secondary, err, sizeof(err));
    if (problem != NULL) {
        dps_group_clear(&g);
        svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid", "%s.", problem);
        return;
    }
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_dps_put_if_match(r, ifm_buf, sizeof(ifm_buf), g.meta.etag);
    char what[DPS_GROUP_ID_MAX + 32];
    what_of(id, what, sizeof(what));
    struct svc_op *op = svc_dps_op_new(r, SVC_DPS_OP_PUT, what);
    if (op == NULL) {
        dps_group_clear(&g);
        return;
    }
    struct dps_group out;
    rc = hub_store_dps_group_put(r->d->dps_store, &g, ifm, &out, svc_dps_op_done, op);
    dps_group_clear(&g);
    if (rc == 0) {
        svc_dps_op_answer(op, dps_group_to_json(&out, DPS_JSON_API), out.meta.etag);
        dps_group_clear(&out);
        hub_log(HUB_LOG_INFO, "service API: DPS enrollment group '%s' stored", id);
    }
    svc_dps_op_submitted(r, op, rc);
}

static void query_groups(struct svc_req *r)
{
    struct svc_dps_page pg;
    struct dps_group *all = NULL;
    size_t n = 0;
    if (!svc_dps_page_begin(r, &pg, DPS_GROUP_ID_MAX) ||
        !svc_dps_page_listed(r, &pg, hub_store_dps_group_list(r->d->dps_store, &all, &n),
                             "the enrollment group list"))
        return;
    for (size_t i = 0; i < n; i++)
        if (svc_dps_page_take(&pg, all[i].group_id) > 0)
            cJSON_AddItemToArray(pg.items, dps_group_to_json(&all[i], DPS_JSON_API));
    svc_reply_page(r, pg.items, "EnrollmentGroup", pg.next);
    dps_group_free_array(all, n);
}

void svc_dps_groups(struct svc_req *r)
{
    if (r->nseg == 2 && strcmp(r->seg[1], "query") == 0 && r->method == SVC_POST) {
        query_groups(r);
        return;
    }
    if (r->nseg == 3 && strcmp(r->seg[2], "attestationmechanism") == 0 &&
        r->method == SVC_POST) {
        char w[DPS_GROUP_ID_MAX + 32];
        what_of(r->seg[1], w, sizeof(w));
        struct dps_group g;
        int rc = hub_store_dps_group_get(r->d->dps_store, r->seg[1], &g);
        if (rc != 0) {
            svc_dps_reply_store_error(r->req, rc, w);
            return;
        }
        svc_dps_reply_attestation(r, dps_group_to_json(&g, DPS_JSON_API));
        dps_group_clear(&g);
        return;
    }
    if (r->nseg != 2) {
        svc_dps_reply_error(r->req, 404, 404001, "NotFound",
                            "No such enrollment group endpoint.");
        return;
    }
    const char *id = r->seg[1];
    char what[DPS_GROUP_ID_MAX + 32];
    what_of(id, what, sizeof(what));
    switch (r->method) {
    case SVC_GET: {
        struct dps_group g;
        int rc = hub_store_dps_group_get(r->d->dps_store, id, &g);
        if (rc != 0) {
            svc_dps_reply_store_error(r->req, rc, what);
            return;
        }
        svc_reply_json(r->req, 200, dps_group_to_json(&g, DPS_JSON_API), g.meta.etag);
        dps_group_clear(&g);
        return;
    }
    case SVC_PUT:
        put_group(r, id);
        return;
    case SVC_DELETE:
        svc_dps_delete(r, id, what, hub_store_dps_group_delete);
        return;
    default:
        svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed", "Use GET, PUT or DELETE.");
    }
}

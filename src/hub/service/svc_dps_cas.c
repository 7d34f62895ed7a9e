/* /azkit/dps/certificates: DPS's own verified CAs (separate from the hub's /azkit/certificates),
 * with the same proof-of-possession flow (upload, generateVerificationCode, verify); the checks
 * are svc_cas.c's. Enrollment groups name them in attestation.x509.caReferences. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store/store_dps.h"
#include "hub/service/svc_common.h"

/* API JSON of a DPS CA; `with_code` adds properties.verificationCode and .certificate (the
 * answer of generateVerificationCode, as Azure's VerificationCodeResponse). */
static cJSON *dps_ca_json(const struct dps_ca *ca, bool with_code)
{
    cJSON *o = dps_ca_to_json(ca, DPS_JSON_API);
    cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "properties");
    if (p != NULL && with_code) {
        cJSON_AddStringToObject(p, "verificationCode", ca->verification_code);
        cJSON_AddStringToObject(p, "certificate", ca->pem ? ca->pem : "");
    }
    return o;
}

static void reply_ca_error(struct evhttp_request *req, int rc, const char *name)
{
    if (rc == -ENOENT)
        svc_dps_reply_error(req, 404, 404001, "CertificateNotFound",
                            "Certificate %s not found.", name);
    else {
        char what[300];
        snprintf(what, sizeof(what), "certificate %s", name);
        svc_dps_reply_store_error(req, rc, what);
    }
}

enum { OP_SHOW = 1, OP_CODE, OP_DELETE };

static void ca_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    if (svc_op_live(op)) {
        struct dps_ca ca;
        if (rc != 0)
            reply_ca_error(op->req, rc, op->id);
        else if (op->kind == OP_DELETE)
            svc_reply_empty(op->req, 204);
        else if (hub_store_dps_ca_get(op->d->dps_store, op->id, &ca) != 0)
            reply_ca_error(op->req, -ENOENT, op->id);
        else {
            svc_reply_json(op->req, 200, dps_ca_json(&ca, op->kind == OP_CODE), ca.meta.etag);
            dps_ca_clear(&ca);
        }
    }
    svc_op_free(op);
}

static struct svc_op *op_for(struct svc_req *r, const char *name, int kind)
{
    struct svc_op *op = svc_op_new(r, name, kind);
    if (op == NULL) {
        svc_dps_reply_store_error(r->req, -ENOMEM, name);
        return NULL;
    }
    return op;
}

static void submitted(struct svc_req *r, struct svc_op *op, int rc)
{
    if (rc < 0) {
        reply_ca_error(r->req, rc, op->id);
        svc_op_free(op);
    }
}

/* Replaces the stored CA (whole record) and answers from the completion. */
static void store_ca(struct svc_req *r, const struct dps_ca *ca, const char *if_match, int kind)
{
    struct svc_op *op = op_for(r, ca->name, kind);
    if (op != NULL)
        submitted(r, op, hub_store_dps_ca_put(r->d->dps_store, ca, if_match, NULL, ca_done, op));
}

static void put_ca(struct svc_req *r, const char *name)
{
    char *pem = svc_ca_body_pem(r, true);
    if (pem == NULL)
        return;
    const char *problem = svc_ca_pem_problem(pem);
    struct dps_ca ca;
    memset(&ca, 0, sizeof(ca));
    char err[DPS_ERRMSG_MAX] = "";
    if (problem == NULL && dps_ca_set_pem(&ca, pem, err, sizeof(err)) != 0)
        problem = err;
    free(pem);
    if (problem != NULL) {
        svc_dps_reply_error(r->req, 400, 400004, "InvalidCertificate", "%s", problem);
        dps_ca_clear(&ca);
        return;
    }
    snprintf(ca.name, sizeof(ca.name), "%s", name);
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
    /* A new certificate is unverified, whatever the old one was. */
    store_ca(r, &ca, ifm, OP_SHOW);
    dps_ca_clear(&ca);
    hub_log(HUB_LOG_INFO, "service API: DPS CA '%s' uploaded (not verified)", name);
}

static void generate_code(struct svc_req *r, const char *name)
{
    struct dps_ca ca;
    int rc = hub_store_dps_ca_get(r->d->dps_store, name, &ca);
    if (rc != 0) {
        reply_ca_error(r->req, rc, name);
        return;
    }
    svc_ca_new_code(ca.verification_code);
    store_ca(r, &ca, NULL, OP_CODE);
    dps_ca_clear(&ca);
}

static void verify_ca(struct svc_req *r, const char *name)
{
    struct dps_ca ca;
    int rc = hub_store_dps_ca_get(r->d->dps_store, name, &ca);
    if (rc != 0) {
        reply_ca_error(r->req, rc, name);
        return;
    }
    bool replied;
    const char *why = svc_ca_verify_body(r, true, ca.pem, ca.verification_code, &replied);
    if (replied) {
        dps_ca_clear(&ca);
        return;
    }
    if (why != NULL) {
        hub_log(HUB_LOG_INFO, "service API: DPS CA '%s' not verified: %s", name, why);
        svc_dps_reply_error(r->req, 400, 400004, "CertificateVerificationFailed",
                            "Certificate %s was not verified: %s.", name, why);
        dps_ca_clear(&ca);
        return;
    }
    ca.verified = true;
    ca.verification_code[0] = '\0';
    store_ca(r, &ca, NULL, OP_SHOW);
    dps_ca_clear(&ca);
    hub_log(HUB_LOG_INFO, "service API: DPS CA '%s' verified (proof of possession)", name);
}

static void list_cas(struct svc_req *r)
{
    struct dps_ca *all = NULL;
    size_t n = 0;
    if (hub_store_dps_ca_list(r->d->dps_store, &all, &n) != 0) {
        svc_dps_reply_store_error(r->req, -ENOMEM, "the certificate list");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "value");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, dps_ca_json(&all[i], false));
    dps_ca_free_array(all, n);
    svc_reply_json(r->req, 200, o, NULL);
}

void svc_dps_cas(struct svc_req *r)
{
    /* seg: azkit dps certificates [name [action]] */
    if (r->nseg == 3) {
        if (r->method != SVC_GET)
            svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed",
                                "Use GET /azkit/dps/certificates.");
        else
            list_cas(r);
        return;
    }
    const char *name = r->seg[3];
    if (r->nseg > 5 || name[0] == '\0' || strlen(name) > HUB_CA_NAME_MAX) {
        if (r->nseg > 5)
            svc_dps_reply_error(r->req, 404, 404001, "NotFound", "Bad certificate path.");
        else
            svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid",
                                "A certificate name is 1..%d characters.", HUB_CA_NAME_MAX);
        return;
    }
    if (r->nseg == 5) {
        if (r->method != SVC_POST)
            svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed", "Use POST.");
        else if (strcmp(r->seg[4], "generateVerificationCode") == 0)
            generate_code(r, name);
        else if (strcmp(r->seg[4], "verify") == 0)
            verify_ca(r, name);
        else
            svc_dps_reply_error(r->req, 404, 404001, "NotFound", "No such certificate action.");
        return;
    }
    switch (r->method) {
    case SVC_GET: {
        struct dps_ca ca;
        int rc = hub_store_dps_ca_get(r->d->dps_store, name, &ca);
        if (rc != 0) {
            reply_ca_error(r->req, rc, name);
            return;
        }
        svc_reply_json(r->req, 200, dps_ca_json(&ca, false), ca.meta.etag);
        dps_ca_clear(&ca);
        return;
    }
    case SVC_PUT:
        put_ca(r, name);
        return;
    case SVC_DELETE: {
        char ifm_buf[HUB_ETAG_MAX + 8];
        const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
        struct svc_op *op = op_for(r, name, OP_DELETE);
        if (op != NULL)
            submitted(r, op, hub_store_dps_ca_delete(r->d->dps_store, name, ifm, ca_done, op));
        return;
    }
    default:
        svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed", "Use GET, PUT or DELETE.");
    }
}

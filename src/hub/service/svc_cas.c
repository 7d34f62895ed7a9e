/* /azkit/certificates: verified CAs with Azure's proof-of-possession flow (upload, generate a
 * verification code, verify a certificate with CN = code signed by the CA's key). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/ossl.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/iothub/cert_text.h"
#include "hub/service/svc_common.h"

static X509 *parse_pem(const char *pem)
{
    if (pem == NULL)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (b == NULL)
        return NULL;
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

static cJSON *ca_json(const struct hub_ca *ca)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", ca->name);
    cJSON_AddStringToObject(o, "etag", ca->etag);
    cJSON_AddStringToObject(o, "type", "Microsoft.Devices/IotHubs/Certificates");
    cJSON *p = cJSON_AddObjectToObject(o, "properties");
    X509 *x = parse_pem(ca->pem);
    char t[40];
    if (x != NULL) {
        char cn[256], exp[21];
        azki_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
        azki_asn1_time_iso(X509_get0_notAfter(x), exp);
        cJSON_AddStringToObject(p, "subject", cn);
        cJSON_AddStringToObject(p, "expiry", exp);
        X509_free(x);
    }
    cJSON_AddStringToObject(p, "thumbprint", ca->thumbprint_sha1);
    cJSON_AddStringToObject(p, "sha256Thumbprint", ca->thumbprint_sha256);
    cJSON_AddBoolToObject(p, "isVerified", ca->verified);
    svc_time_iso(ca->created_ms, t);
    cJSON_AddStringToObject(p, "created", t);
    svc_time_iso(ca->updated_ms, t);
    cJSON_AddStringToObject(p, "updated", t);
    if (ca->verification_code[0])
        cJSON_AddStringToObject(p, "verificationCode", ca->verification_code);
    cJSON_AddStringToObject(p, "certificate", ca->pem ? ca->pem : "");
    return o;
}

static void reply_not_found(struct evhttp_request *req, const char *name)
{
    svc_reply_error(req, 404, "CertificateNotFound", "Certificate %s not found.", name);
}

static void reply_ca_error(struct evhttp_request *req, int rc, const char *name)
{
    if (rc == -ENOENT)
        reply_not_found(req, name);
    else if (rc == -ESTALE)
        svc_reply_error(req, 412, "PreconditionFailed",
                        "Precondition failed: the If-Match etag does not match certificate %s.",
                        name);
    else
        svc_reply_store_error(req, rc, name);
}

enum { OP_SHOW = 1, OP_DELETE };

static void ca_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    if (svc_op_live(op)) {
        struct hub_ca ca;
        if (rc != 0)
            reply_ca_error(op->req, rc, op->id);
        else if (op->kind == OP_DELETE)
            svc_reply_empty(op->req, 204);
        else if (hub_store_ca_get(op->hub->store, op->id, &ca) != 0)
            reply_not_found(op->req, op->id);
        else {
            svc_reply_json(op->req, 200, ca_json(&ca), ca.etag);
            hub_ca_clear(&ca);
        }
    }
    svc_op_free(op);
}

static struct svc_op *op_for(struct svc_req *r, const char *name, int kind)
{
    struct svc_op *op = svc_op_new(r, name, kind);
    if (op == NULL) {
        svc_reply_store_error(r->req, -ENOMEM, name);
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

/* ---- shared with svc_dps_cas.c -------------------------------------------------------- */

char *svc_ca_body_pem(struct svc_req *r, bool dps)
{
    cJSON *j = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "certificate");
    if (c == NULL)
        c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "properties"),
                                             "certificate");
    char *pem = NULL;
    if (cJSON_IsString(c) && hub_cert_text_to_pem(c->valuestring, &pem, NULL, 0) != 0)
        pem = NULL;
    cJSON_Delete(j);
    if (pem == NULL) {
        static const char why[] =
            "The body must be {\"certificate\":\"-----BEGIN CERTIFICATE-----...\"} (PEM text, "
            "the base64 of the PEM text, or the base64 of the DER).";
        if (dps)
            svc_dps_reply_error(r->req, 400, 400004, "ArgumentInvalid", "%s", why);
        else
            svc_reply_error(r->req, 400, "ArgumentInvalid", "%s", why);
    }
    return pem;
}

const char *svc_ca_pem_problem(const char *pem)
{
    X509 *x = parse_pem(pem);
    const char *why = x == NULL ? "The certificate is not a PEM X.509 certificate."
                      : !azki_x509_is_ca(x)
                          ? "The certificate is not a CA certificate (basicConstraints CA:TRUE)."
                          : NULL;
    X509_free(x);
    return why;
}

void svc_ca_new_code(char out[HUB_CA_CODE_MAX + 1])
{
    svc_random_hex(16, out);
    for (char *c = out; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
}

const char *svc_ca_proof_problem(const char *ca_pem, const char *code,
                                 const char *verification_pem)
{
    const char *why = NULL;
    X509 *cax = NULL, *vx = NULL;
    if (code == NULL || code[0] == '\0') {
        why = "no verification code: call generateVerificationCode first";
    } else if ((vx = parse_pem(verification_pem)) == NULL) {
        why = "the verification certificate is not a PEM X.509 certificate";
    } else if ((cax = parse_pem(ca_pem)) == NULL) {
        why = "the stored CA certificate cannot be read";
    } else {
        char cn[HUB_CA_CODE_MAX + 64];
        azki_x509_name_cn(X509_get_subject_name(vx), cn, sizeof(cn));
        EVP_PKEY *pub = X509_get0_pubkey(cax);
        if (strcmp(cn, code) != 0)
            why = "the verification certificate's CN is not the current verification code";
        else if (pub == NULL || X509_verify(vx, pub) != 1)
            why = "the verification certificate is not signed by the CA's private key";
        else if (X509_cmp_current_time(X509_get0_notBefore(vx)) >= 0)
            why = "the verification certificate is not valid yet";
        else if (X509_cmp_current_time(X509_get0_notAfter(vx)) <= 0)
            why = "the verification certificate has expired";
    }
    X509_free(vx);
    X509_free(cax);
    return why;
}

const char *svc_ca_verify_body(struct svc_req *r, bool dps, const char *ca_pem, const char *code,
                               bool *replied)
{
    *replied = false;
    if (code[0] == '\0')
        return svc_ca_proof_problem(ca_pem, code, NULL);
    char *pem = svc_ca_body_pem(r, dps);
    if (pem == NULL) {
        *replied = true;
        return NULL;
    }
    const char *why = svc_ca_proof_problem(ca_pem, code, pem);
    free(pem);
    return why;
}

/* ---- /azkit/certificates ----------------------------------------------------------------- */

static void put_ca(struct svc_req *r, const char *name)
{
    char *pem = svc_ca_body_pem(r, false);
    if (pem == NULL)
        return;
    const char *problem = svc_ca_pem_problem(pem);
    if (problem != NULL) {
        free(pem);
        svc_reply_error(r->req, 400, "InvalidCertificate", "%s", problem);
        return;
    }
    X509 *x = parse_pem(pem);
    struct hub_ca ca;
    memset(&ca, 0, sizeof(ca));
    snprintf(ca.name, sizeof(ca.name), "%s", name);
    ca.pem = pem;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509_digest(x, EVP_sha1(), md, &mdlen);
    azki_hex_upper(md, mdlen, ca.thumbprint_sha1);
    X509_digest(x, EVP_sha256(), md, &mdlen);
    azki_hex_upper(md, mdlen, ca.thumbprint_sha256);
    X509_free(x);
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
    struct svc_op *op = op_for(r, name, OP_SHOW);
    if (op == NULL) {
        free(pem);
        return;
    }
    int rc = hub_store_ca_put(r->hub->store, &ca, ifm, NULL, ca_done, op);
    free(pem);
    submitted(r, op, rc);
    if (rc == 0)
        hub_log(HUB_LOG_INFO, "service API: CA '%s' uploaded (not verified)", name);
}

static void generate_code(struct svc_req *r, const char *name)
{
    char code[HUB_CA_CODE_MAX + 1];
    svc_ca_new_code(code);
    struct svc_op *op = op_for(r, name, OP_SHOW);
    if (op == NULL)
        return;
    submitted(r, op, hub_store_ca_set_verification_code(r->hub->store, name, code, ca_done, op));
}

static void verify_ca(struct svc_req *r, const char *name)
{
    struct hub_ca ca;
    int rc = hub_store_ca_get(r->hub->store, name, &ca);
    if (rc != 0) {
        reply_ca_error(r->req, rc, name);
        return;
    }
    bool replied;
    const char *why = svc_ca_verify_body(r, false, ca.pem, ca.verification_code, &replied);
    hub_ca_clear(&ca);
    if (replied)
        return;
    if (why != NULL) {
        hub_log(HUB_LOG_INFO, "service API: CA '%s' not verified: %s", name, why);
        svc_reply_error(r->req, 400, "CertificateVerificationFailed",
                        "Certificate %s was not verified: %s.", name, why);
        return;
    }
    struct svc_op *op = op_for(r, name, OP_SHOW);
    if (op == NULL)
        return;
    rc = hub_store_ca_set_verified(r->hub->store, name, true, ca_done, op);
    submitted(r, op, rc);
    if (rc == 0)
        hub_log(HUB_LOG_INFO, "service API: CA '%s' verified (proof of possession)", name);
}

void svc_cas(struct svc_req *r)
{
    if (r->nseg == 2) {
        if (r->method != SVC_GET) {
            svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET /azkit/certificates.");
            return;
        }
        struct hub_ca *all = NULL;
        size_t n = 0;
        if (hub_store_ca_list(r->hub->store, &all, &n) != 0) {
            svc_reply_store_error(r->req, -ENOMEM, "the CA list");
            return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "value");
        for (size_t i = 0; i < n; i++) {
            cJSON_AddItemToArray(arr, ca_json(&all[i]));
            hub_ca_clear(&all[i]);
        }
        free(all);
        svc_reply_json(r->req, 200, o, NULL);
        return;
    }
    const char *name = r->seg[2];
    if (r->nseg > 4 || name[0] == '\0' || strlen(name) > HUB_CA_NAME_MAX) {
        svc_reply_error(r->req, r->nseg > 4 ? 404 : 400, r->nseg > 4 ? "NotFound" : "ArgumentInvalid",
                        "Bad certificate path.");
        return;
    }
    if (r->nseg == 4) {
        if (r->method != SVC_POST)
            svc_reply_error(r->req, 405, "MethodNotAllowed", "Use POST.");
        else if (strcmp(r->seg[3], "generateVerificationCode") == 0)
            generate_code(r, name);
        else if (strcmp(r->seg[3], "verify") == 0)
            verify_ca(r, name);
        else
            svc_reply_error(r->req, 404, "NotFound", "No such certificate action.");
        return;
    }
    switch (r->method) {
    case SVC_GET: {
        struct hub_ca ca;
        int rc = hub_store_ca_get(r->hub->store, name, &ca);
        if (rc != 0) {
            reply_ca_error(r->req, rc, name);
            return;
        }
        svc_reply_json(r->req, 200, ca_json(&ca), ca.etag);
        hub_ca_clear(&ca);
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
            submitted(r, op, hub_store_ca_delete(r->hub->store, name, ifm, ca_done, op));
        return;
    }
    default:
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET, PUT or DELETE.");
    }
}

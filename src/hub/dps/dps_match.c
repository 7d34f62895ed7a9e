/* DPS enrollment matching for X.509 attestation (see dps_match.h). */
#include "hub/dps/dps_match.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/ossl.h"

void dps_match_refuse(struct dps_match_result *r, enum dps_refuse_reason why, const char *fmt,
                      ...)
{
    r->kind = DPS_MATCH_REFUSED;
    r->reason = why;
    r->error_code = why == DPS_REFUSE_DISABLED ? 0 : DPS_ERR_UNAUTHORIZED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

const char *dps_refuse_reason_name(enum dps_refuse_reason r)
{
    switch (r) {
    case DPS_REFUSE_NONE: return "ok";
    case DPS_REFUSE_NO_CERTIFICATE: return "no-certificate";
    case DPS_REFUSE_NO_ENROLLMENT: return "no-enrollment";
    case DPS_REFUSE_DISABLED: return "disabled";
    case DPS_REFUSE_CERT_MISMATCH: return "certificate-mismatch";
    case DPS_REFUSE_CN_MISMATCH: return "cn-mismatch";
    case DPS_REFUSE_CHAIN_INCOMPLETE: return "chain-incomplete";
    case DPS_REFUSE_CHAIN_INVALID: return "chain-invalid";
    case DPS_REFUSE_CA_NOT_VERIFIED: return "ca-not-verified";
    case DPS_REFUSE_EXPIRED: return "expired";
    case DPS_REFUSE_NOT_YET_VALID: return "not-yet-valid";
    case DPS_REFUSE_INTERNAL: return "internal-error";
    case DPS_REFUSE_NO_TOKEN: return "no-token";
    case DPS_REFUSE_TOKEN_MALFORMED: return "token-malformed";
    case DPS_REFUSE_TOKEN_RESOURCE: return "token-wrong-resource";
    case DPS_REFUSE_TOKEN_EXPIRED: return "token-expired";
    case DPS_REFUSE_TOKEN_SIGNATURE: return "token-bad-signature";
    case DPS_REFUSE_WRONG_ATTESTATION: return "wrong-attestation";
    }
    return "unknown";
}

static X509 *first_cert(const char *pem)
{
    STACK_OF(X509) *sk = NULL;
    if (!pem || azki_load_certs(pem, strlen(pem), &sk, NULL) != 0) {
        ERR_clear_error();
        return NULL;
    }
    X509 *x = sk_X509_shift(sk);
    sk_X509_pop_free(sk, X509_free);
    return x;
}

static bool same_cert(const char *pem, X509 *x)
{
    X509 *c = first_cert(pem);
    bool eq = c && X509_cmp(c, x) == 0;
    X509_free(c);
    return eq;
}

static const char *cn_of(X509 *x, char *buf, size_t len)
{
    azki_x509_name_cn(X509_get_subject_name(x), buf, len);
    return buf;
}

/* Validity of one certificate: 0 or the refusal. */
static int validity(X509 *x, time_t now, const char *what, struct dps_match_result *r)
{
    char cn[128], when[21];
    cn_of(x, cn, sizeof cn);
    int nb = X509_cmp_time(X509_get0_notBefore(x), &now);
    int na = X509_cmp_time(X509_get0_notAfter(x), &now);
    ERR_clear_error();
    if (nb == 0 || na == 0) {
        dps_match_refuse(r, DPS_REFUSE_CHAIN_INVALID, "%s '%s' has a malformed validity period", what, cn);
        return -1;
    }
    if (nb > 0) {
        azki_asn1_time_iso(X509_get0_notBefore(x), when);
        dps_match_refuse(r, DPS_REFUSE_NOT_YET_VALID,
               "%s '%s' is not valid until %s; check the device's clock or reissue it", what,
               cn, when);
        return -1;
    }
    if (na < 0) {
        azki_asn1_time_iso(X509_get0_notAfter(x), when);
        dps_match_refuse(r, DPS_REFUSE_EXPIRED, "%s '%s' expired on %s; issue a new certificate", what,
               cn, when);
        return -1;
    }
    return 0;
}

static bool cn_ok(const struct dps_match_input *in, struct dps_match_result *r, const char *what)
{
    const char *id = in->registration_id ? in->registration_id : "";
    if (strcmp(r->leaf_cn, id) == 0)
        return true;
    dps_match_refuse(r, DPS_REFUSE_CN_MISMATCH,
           "certificate CN '%s' does not equal the registration id '%s' (%s); the device "
           "certificate's CN must be its registration id",
           r->leaf_cn, id, what);
    return false;
}

static void individual(const struct dps_match_input *in, size_t i, struct dps_match_result *r)
{
    const struct dps_enrollment *e = &in->enrollments[i];
    r->index = i;
    if (e->c.status == DPS_STATUS_DISABLED) {
        dps_match_refuse(r, DPS_REFUSE_DISABLED, "the individual enrollment '%s' is disabled",
               e->registration_id);
        return;
    }
    if (e->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        dps_match_refuse(r, DPS_REFUSE_WRONG_ATTESTATION,
               "the individual enrollment '%s' uses symmetric key attestation; the device must "
               "send a SAS token signed with its key as the CONNECT password, not a "
               "certificate", e->registration_id);
        return;
    }
    if (same_cert(e->primary_pem, in->leaf)) {
        r->secondary = false;
    } else if (e->secondary_pem && same_cert(e->secondary_pem, in->leaf)) {
        r->secondary = true;
    } else {
        dps_match_refuse(r, DPS_REFUSE_CERT_MISMATCH,
               "certificate '%s' (SHA-1 %s) is neither the primary nor the secondary client "
               "certificate of the individual enrollment '%s'",
               r->leaf_cn, r->leaf_sha1, e->registration_id);
        return;
    }
    if (!cn_ok(in, r, "individual enrollment"))
        return;
    r->kind = DPS_MATCH_INDIVIDUAL;
    snprintf(r->message, sizeof r->message, "individual enrollment '%s' (%s certificate)",
             e->registration_id, r->secondary ? "secondary" : "primary");
}

/* One certificate a group holds. */
struct cand {
    size_t group;
    bool secondary;
    bool ca_ref;
    bool verified;   /* signing certificates are trusted by being in the group */
    const char *ca_name;
    X509 *x;
};

static size_t collect(const struct dps_match_input *in, struct cand *c)
{
    size_t n = 0;
    for (size_t g = 0; g < in->n_groups; g++) {
        const struct dps_group *grp = &in->groups[g];
        for (int s = 0; s < 2; s++) {
            struct cand k = {.group = g, .secondary = s == 1};
            if (dps_group_uses_ca_refs(grp)) {
                const char *name = s ? grp->ca_secondary : grp->ca_primary;
                if (!name[0])
                    continue;
                k.ca_ref = true;
                k.ca_name = name;
                for (size_t j = 0; j < in->n_cas; j++) {
                    if (strcmp(in->cas[j].name, name) == 0) {
                        k.x = first_cert(in->cas[j].pem);
                        k.verified = in->cas[j].verified;
                        break;
                    }
                }
            } else {
                k.verified = true;
                k.x = first_cert(s ? grp->secondary_pem : grp->primary_pem);
            }
            if (k.x)
                c[n++] = k;
        }
    }
    return n;
}

static void chain_failure(X509_STORE_CTX *sc, const struct dps_group *g,
                          struct dps_match_result *r, time_t now)
{
    int err = X509_STORE_CTX_get_error(sc);
    X509 *at = X509_STORE_CTX_get_current_cert(sc);
    char cn[128] = "";
    if (at)
        cn_of(at, cn, sizeof cn);
    if ((err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID) && at &&
        validity(at, now, "certificate", r) != 0)
        return;
    dps_match_refuse(r, DPS_REFUSE_CHAIN_INVALID,
           "the chain the device sent does not verify up to the certificate of enrollment "
           "group '%s' (at '%s': %s)",
           g->group_id, cn, X509_verify_cert_error_string(err));
}

static void group_hit(const struct dps_match_input *in, const struct cand *k,
                      struct dps_match_result *r)
{
    const struct dps_group *g = &in->groups[k->group];
    r->index = k->group;
    r->secondary = k->secondary;
    char cn[128];
    cn_of(k->x, cn, sizeof cn);
    if (g->c.status == DPS_STATUS_DISABLED) {
        dps_match_refuse(r, DPS_REFUSE_DISABLED, "the enrollment group '%s' (certificate '%s') is disabled",
               g->group_id, cn);
        return;
    }
    if (k->ca_ref && !k->verified) {
        dps_match_refuse(r, DPS_REFUSE_CA_NOT_VERIFIED,
               "enrollment group '%s' refers to the DPS certificate '%s' ('%s'), which is not "
               "verified; prove possession of its key first",
               g->group_id, k->ca_name, cn);
        return;
    }
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    if (!store || !sc || X509_STORE_add_cert(store, k->x) != 1 ||
        X509_STORE_CTX_init(sc, store, in->leaf, in->intermediates) != 1) {
        dps_match_refuse(r, DPS_REFUSE_INTERNAL, "cannot set up chain verification");
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sc);
    X509_VERIFY_PARAM_set_time(param, in->now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(sc) != 1) {
        chain_failure(sc, g, r, in->now);
        goto out;
    }
    if (!cn_ok(in, r, "enrollment group"))
        goto out;
    r->kind = DPS_MATCH_GROUP;
    snprintf(r->message, sizeof r->message,
             "enrollment group '%s' (%s %s '%s')", g->group_id,
             k->secondary ? "secondary" : "primary",
             k->ca_ref ? "CA reference" : "signing certificate", cn);
out:
    X509_STORE_CTX_free(sc);
    X509_STORE_free(store);
    ERR_clear_error();
}

static void groups(const struct dps_match_input *in, struct dps_match_result *r)
{
    struct cand *c = calloc(in->n_groups * 2 + 1, sizeof *c);
    if (!c) {
        dps_match_refuse(r, DPS_REFUSE_INTERNAL, "out of memory");
        return;
    }
    size_t n = collect(in, c);
    const struct cand *hit = NULL;
    int sent = in->intermediates ? sk_X509_num(in->intermediates) : 0;
    /* The certificates the device sent, in order up the chain. */
    for (int j = 0; j < sent && !hit; j++) {
        X509 *x = sk_X509_value(in->intermediates, j);
        for (size_t k = 0; k < n && !hit; k++)
            if (X509_cmp(c[k].x, x) == 0)
                hit = &c[k];
    }
    /* A root the device did not send, above the topmost certificate it sent. */
    X509 *top = sent ? sk_X509_value(in->intermediates, sent - 1) : in->leaf;
    for (size_t k = 0; k < n && !hit; k++)
        if (azki_x509_self_signed(c[k].x) && X509_check_issued(c[k].x, top) == X509_V_OK)
            hit = &c[k];
    ERR_clear_error();
    if (hit) {
        group_hit(in, hit, r);
    } else {
        const struct cand *missing = NULL;
        for (size_t k = 0; k < n && !missing; k++)
            if (X509_check_issued(c[k].x, top) == X509_V_OK)
                missing = &c[k];
        ERR_clear_error();
        char issuer[128] = "";
        azki_x509_name_cn(X509_get_issuer_name(top), issuer, sizeof issuer);
        if (missing) {
            r->index = missing->group;
            dps_match_refuse(r, DPS_REFUSE_CHAIN_INCOMPLETE,
                   "the device did not send the certificate '%s' that enrollment group '%s' "
                   "holds; send the chain (leaf + intermediates, e.g. the .chain.pem file)",
                   issuer, in->groups[missing->group].group_id);
        } else {
            dps_match_refuse(r, DPS_REFUSE_NO_ENROLLMENT,
                   "no individual enrollment for registration id '%s' and no enrollment group "
                   "holds a certificate of its chain (leaf '%s', issued by '%s')",
                   in->registration_id ? in->registration_id : "", r->leaf_cn, issuer);
        }
    }
    for (size_t k = 0; k < n; k++)
        X509_free(c[k].x);
    free(c);
}

void dps_match_x509(const struct dps_match_input *in, struct dps_match_result *r)
{
    memset(r, 0, sizeof *r);
    r->index = SIZE_MAX;
    if (!in) {
        dps_match_refuse(r, DPS_REFUSE_INTERNAL, "no input");
        return;
    }
    if (!in->leaf) {
        const char *rid = in->registration_id ? in->registration_id : "";
        for (size_t i = 0; i < in->n_enrollments; i++) {
            if (strcasecmp(in->enrollments[i].registration_id, rid) == 0 &&
                in->enrollments[i].attestation == DPS_ATTEST_SYMMETRIC_KEY) {
                r->index = i;
                dps_match_refuse(r, DPS_REFUSE_NO_TOKEN,
                       "the individual enrollment '%s' uses symmetric key attestation and the "
                       "device sent no SAS token as its CONNECT password", rid);
                return;
            }
        }
        dps_match_refuse(r, DPS_REFUSE_NO_CERTIFICATE,
               "the device sent no client certificate in the TLS handshake");
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdn = 0;
    if (X509_digest(in->leaf, EVP_sha1(), md, &mdn) == 1 && mdn == 20)
        azki_hex_upper(md, mdn, r->leaf_sha1);
    if (X509_digest(in->leaf, EVP_sha256(), md, &mdn) == 1 && mdn == 32)
        azki_hex_upper(md, mdn, r->leaf_sha256);
    cn_of(in->leaf, r->leaf_cn, sizeof r->leaf_cn);
    ERR_clear_error();
    if (validity(in->leaf, in->now, "certificate", r) != 0)
        return;
    const char *id = in->registration_id ? in->registration_id : "";
    for (size_t i = 0; i < in->n_enrollments; i++) {
        if (strcasecmp(in->enrollments[i].registration_id, id) == 0) {
            individual(in, i, r);
            return;
        }
    }
    groups(in, r);
}

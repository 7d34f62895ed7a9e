/* The X.509 verdict after CONNECT (see auth.h). */
#include "hub/mqtt/auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "common/ossl.h"

static void refuse(struct hub_x509_verdict *v, enum hub_x509_reason r, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));

static void refuse(struct hub_x509_verdict *v, enum hub_x509_reason r, const char *fmt,
                   ...)
{
    v->accepted = false;
    v->reason = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
}

enum hub_x509_type hub_x509_type_parse(const char *s)
{
    if (s == NULL)
        return HUB_X509_TYPE_UNKNOWN;
    if (strcmp(s, "selfSigned") == 0)
        return HUB_X509_TYPE_SELF_SIGNED;
    if (strcmp(s, "certificateAuthority") == 0)
        return HUB_X509_TYPE_CA;
    if (strcmp(s, "sas") == 0)
        return HUB_X509_TYPE_SAS;
    if (strcmp(s, "none") == 0)
        return HUB_X509_TYPE_NONE;
    return HUB_X509_TYPE_UNKNOWN;
}

const char *hub_x509_reason_name(enum hub_x509_reason r)
{
    switch (r) {
    case HUB_X509_OK: return "ok";
    case HUB_X509_REFUSE_NOT_REGISTERED: return "not-registered";
    case HUB_X509_REFUSE_DISABLED: return "device-disabled";
    case HUB_X509_REFUSE_AUTH_TYPE: return "unknown-auth-type";
    case HUB_X509_REFUSE_NOT_X509: return "not-x509-device";
    case HUB_X509_REFUSE_NO_CERTIFICATE: return "no-certificate";
    case HUB_X509_REFUSE_NOT_YET_VALID: return "not-yet-valid";
    case HUB_X509_REFUSE_EXPIRED: return "expired";
    case HUB_X509_REFUSE_THUMBPRINT: return "thumbprint-mismatch";
    case HUB_X509_REFUSE_MISSING_INTERMEDIATE: return "missing-intermediate";
    case HUB_X509_REFUSE_CA_NOT_VERIFIED: return "ca-not-verified";
    case HUB_X509_REFUSE_CHAIN_INVALID: return "chain-invalid";
    case HUB_X509_REFUSE_CN_MISMATCH: return "cn-mismatch";
    case HUB_X509_REFUSE_INTERNAL: return "internal-error";
    }
    return "unknown";
}

/* Uppercase hex digits of a registered thumbprint, separators (':', ' ', '-', tab) dropped.
 * Returns the number of digits, or 0 when empty or when another character appears. */
static size_t thumb_norm(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    if (in == NULL)
        return 0;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ':' || c == ' ' || c == '-' || c == '\t')
            continue;
        if (!isxdigit(c) || n + 1 >= cap)
            return 0;
        out[n++] = (char)toupper(c);
    }
    out[n] = '\0';
    return n;
}

/* Whether `registered` matches the leaf; *alg receives "SHA-1" or "SHA-256". */
static bool thumb_match(const char *registered, const struct hub_x509_verdict *v,
                        const char **alg)
{
    char t[80];
    size_t n = thumb_norm(registered, t, sizeof(t));
    if (n == 40 && strcmp(t, v->leaf_sha1) == 0) {
        *alg = "SHA-1";
        return true;
    }
    if (n == 64 && strcmp(t, v->leaf_sha256) == 0) {
        *alg = "SHA-256";
        return true;
    }
    return false;
}

static void self_signed(const struct hub_x509_input *in, struct hub_x509_verdict *v)
{
    const char *alg = NULL;
    const struct hub_x509_device *dev = in->device;
    if (thumb_match(dev->primary_thumbprint, v, &alg)) {
        v->accepted = true;
        snprintf(v->message, sizeof(v->message), "selfSigned: primary thumbprint (%s)", alg);
        return;
    }
    if (thumb_match(dev->secondary_thumbprint, v, &alg)) {
        v->accepted = true;
        snprintf(v->message, sizeof(v->message), "selfSigned: secondary thumbprint (%s)", alg);
        return;
    }
    char p[80] = "", s[80] = "";
    thumb_norm(dev->primary_thumbprint, p, sizeof(p));
    thumb_norm(dev->secondary_thumbprint, s, sizeof(s));
    refuse(v, HUB_X509_REFUSE_THUMBPRINT,
           "certificate '%s' (SHA-1 %s, SHA-256 %s) matches neither registered thumbprint "
           "(primary %s, secondary %s); register this certificate's thumbprint or send the "
           "registered certificate",
           v->leaf_cn, v->leaf_sha1, v->leaf_sha256, p[0] ? p : "none", s[0] ? s : "none");
}

/* Validity of one certificate at `now`: 0, or the refusal. */
static int validity(X509 *x, time_t now, const char *what, struct hub_x509_verdict *v)
{
    char cn[128], when[21];
    azki_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
    int nb = X509_cmp_time(X509_get0_notBefore(x), &now);
    int na = X509_cmp_time(X509_get0_notAfter(x), &now);
    ERR_clear_error();
    if (nb == 0 || na == 0) {
        refuse(v, HUB_X509_REFUSE_CHAIN_INVALID, "%s '%s' has a malformed validity period", what,
               cn);
        return -1;
    }
    if (nb > 0) {
        azki_asn1_time_iso(X509_get0_notBefore(x), when);
        refuse(v, HUB_X509_REFUSE_NOT_YET_VALID,
               "%s '%s' is not valid until %s; check the device's clock or reissue the "
               "certificate",
               what, cn, when);
        return -1;
    }
    if (na < 0) {
        azki_asn1_time_iso(X509_get0_notAfter(x), when);
        refuse(v, HUB_X509_REFUSE_EXPIRED, "%s '%s' expired on %s; issue a new certificate", what,
               cn, when);
        return -1;
    }
    return 0;
}

int hub_x509_cas_load(struct hub_x509_cas *cas, const char *const *pems, size_t n)
{
    hub_x509_cas_clear(cas);
    cas->store = X509_STORE_new();
    if (cas->store == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        STACK_OF(X509) *sk = NULL;
        if (pems[i] == NULL || azki_load_certs(pems[i], strlen(pems[i]), &sk, NULL) != 0)
            continue; /* a damaged entry verifies nothing */
        for (int j = 0; j < sk_X509_num(sk); j++)
            if (X509_STORE_add_cert(cas->store, sk_X509_value(sk, j)) == 1)
                cas->count++;
        sk_X509_pop_free(sk, X509_free);
    }
    ERR_clear_error();
    return 0;
}

void hub_x509_cas_clear(struct hub_x509_cas *cas)
{
    X509_STORE_free(cas->store);
    cas->store = NULL;
    cas->count = 0;
}

static void chain_failure(const struct hub_x509_input *in, X509_STORE_CTX *sc,
                          struct hub_x509_verdict *v)
{
    int err = X509_STORE_CTX_get_error(sc);
    int depth = X509_STORE_CTX_get_error_depth(sc);
    X509 *at = X509_STORE_CTX_get_current_cert(sc);
    char cn[128] = "", issuer[128] = "";
    if (at != NULL) {
        azki_x509_name_cn(X509_get_subject_name(at), cn, sizeof(cn));
        azki_x509_name_cn(X509_get_issuer_name(at), issuer, sizeof(issuer));
    }
    int sent = in->intermediates != NULL ? sk_X509_num(in->intermediates) : 0;
    switch (err) {
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
        (void)validity(at, in->now, depth == 0 ? "certificate" : "CA certificate", v);
        return;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        if (sent == 0 && depth == 0) {
            refuse(v, HUB_X509_REFUSE_MISSING_INTERMEDIATE,
                   "the device sent only its certificate '%s'; its issuer '%s' is not a "
                   "verified CA, so the intermediate is missing: send the chain (leaf + "
                   "intermediates, e.g. the .chain.pem file), or verify '%s' itself",
                   cn, issuer, issuer);
            return;
        }
        refuse(v, HUB_X509_REFUSE_CA_NOT_VERIFIED,
               "the chain ends at '%s', issued by '%s', which is not a verified CA; upload and "
               "verify that CA (or send the missing intermediates)",
               cn, issuer);
        return;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        refuse(v, HUB_X509_REFUSE_CA_NOT_VERIFIED,
               "certificate '%s' is self-signed and not a verified CA; register the device as "
               "selfSigned with its thumbprint, or sign it with a verified CA",
               cn);
        return;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        refuse(v, HUB_X509_REFUSE_CA_NOT_VERIFIED,
               "the chain ends at the root '%s', which is not a verified CA; upload and verify "
               "it (or the intermediate below it)",
               cn);
        return;
    default:
        refuse(v, HUB_X509_REFUSE_CHAIN_INVALID, "the chain does not verify at '%s' (depth %d): %s",
               cn, depth, X509_verify_cert_error_string(err));
        return;
    }
}

static void ca_signed(const struct hub_x509_input *in, struct hub_x509_verdict *v)
{
    /* The hub's parsed CAs, else the PEM texts parsed for this decision alone. */
    struct hub_x509_cas own = {NULL, 0};
    const struct hub_x509_cas *cas = in->verified_cas;
    if (cas == NULL && hub_x509_cas_load(&own, in->verified_ca_pems, in->verified_ca_count) == 0)
        cas = &own;
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    if (cas == NULL || cas->store == NULL || sc == NULL) {
        refuse(v, HUB_X509_REFUSE_INTERNAL, "out of memory");
        goto out;
    }
    if (cas->count == 0) {
        char issuer[128];
        azki_x509_name_cn(X509_get_issuer_name(in->leaf), issuer, sizeof(issuer));
        refuse(v, HUB_X509_REFUSE_CA_NOT_VERIFIED,
               "certificate '%s' is issued by '%s', but the hub has no verified CA; upload "
               "and verify the CA first",
               v->leaf_cn, issuer);
        goto out;
    }
    if (X509_STORE_CTX_init(sc, cas->store, in->leaf, in->intermediates) != 1) {
        refuse(v, HUB_X509_REFUSE_INTERNAL, "cannot set up chain verification");
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sc);
    X509_VERIFY_PARAM_set_time(param, in->now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(sc) != 1) {
        chain_failure(in, sc, v);
        goto out;
    }
    const char *id = in->device_id != NULL ? in->device_id : "";
    if (strcmp(v->leaf_cn, id) != 0) {
        refuse(v, HUB_X509_REFUSE_CN_MISMATCH,
               "certificate CN '%s' does not equal the device id '%s'; a CA-signed device "
               "certificate must have CN = device id",
               v->leaf_cn, id);
        goto out;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sc);
    char anchor[128] = "";
    if (chain != NULL && sk_X509_num(chain) > 0)
        azki_x509_name_cn(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)),
                         anchor, sizeof(anchor));
    v->accepted = true;
    snprintf(v->message, sizeof(v->message), "certificateAuthority: chain to verified CA '%s'",
             anchor);
out:
    X509_STORE_CTX_free(sc);
    hub_x509_cas_clear(&own);
    ERR_clear_error();
}

void hub_x509_decide(const struct hub_x509_input *in, struct hub_x509_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (in == NULL) {
        refuse(v, HUB_X509_REFUSE_INTERNAL, "no input");
        return;
    }
    if (in->leaf != NULL) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (X509_digest(in->leaf, EVP_sha1(), md, &n) == 1 && n == 20)
            azki_hex_upper(md, n, v->leaf_sha1);
        if (X509_digest(in->leaf, EVP_sha256(), md, &n) == 1 && n == 32)
            azki_hex_upper(md, n, v->leaf_sha256);
        azki_x509_name_cn(X509_get_subject_name(in->leaf), v->leaf_cn, sizeof(v->leaf_cn));
        ERR_clear_error();
    }
    const char *id = in->device_id != NULL ? in->device_id : "";
    const struct hub_x509_device *dev = in->device;
    if (dev == NULL) {
        refuse(v, HUB_X509_REFUSE_NOT_REGISTERED, "device '%s' is not registered in the hub", id);
        return;
    }
    if (!dev->enabled) {
        refuse(v, HUB_X509_REFUSE_DISABLED, "device '%s' is disabled; enable it in the registry",
               id);
        return;
    }
    switch (dev->type) {
    case HUB_X509_TYPE_SELF_SIGNED:
    case HUB_X509_TYPE_CA:
        break;
    case HUB_X509_TYPE_SAS:
    case HUB_X509_TYPE_NONE:
        refuse(v, HUB_X509_REFUSE_NOT_X509,
               "device '%s' is registered with %s authentication, not X.509; connect with a "
               "SAS token or register it as selfSigned / certificateAuthority",
               id, dev->type == HUB_X509_TYPE_SAS ? "SAS" : "no");
        return;
    case HUB_X509_TYPE_UNKNOWN:
    default:
        refuse(v, HUB_X509_REFUSE_AUTH_TYPE, "device '%s' has an unknown authentication type", id);
        return;
    }
    if (in->leaf == NULL) {
        refuse(v, HUB_X509_REFUSE_NO_CERTIFICATE,
               "device '%s' uses X.509 authentication but sent no client certificate in the TLS "
               "handshake; configure the certificate and key on the device (security tag)",
               id);
        return;
    }
    if (validity(in->leaf, in->now, "certificate", v) != 0)
        return;
    if (dev->type == HUB_X509_TYPE_SELF_SIGNED)
        self_signed(in, v);
    else
        ca_signed(in, v);
    if (v->accepted)
        v->reason = HUB_X509_OK;
}

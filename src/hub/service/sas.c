/* SharedAccessSignature tokens and connection strings. */
#include "hub/service/sas.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azkit/azure_hub.h"
#include "azkit/sas_token.h"
#include "common/conn_string.h"
#include "common/pct_cstr.h"

static const char SCHEME[] = "SharedAccessSignature";

/* Copies a decoded percent-encoded span into a NUL-terminated buffer. */
static int decode_field(struct azk_span v, char *out, size_t size)
{
    size_t n = 0;
    if (v.len >= size)
        return -EBADMSG;
    if (azk_pct_decode(v, out, size - 1, &n) != 0)
        return -EBADMSG;
    out[n] = '\0';
    if (strlen(out) != n) /* embedded NUL */
        return -EBADMSG;
    return 0;
}

int hub_sas_parse(const char *text, struct hub_sas_token *out)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return -EINVAL;
    while (*text == ' ' || *text == '\t')
        text++;
    size_t sl = sizeof(SCHEME) - 1;
    if (strncmp(text, SCHEME, sl) != 0 || (text[sl] != ' ' && text[sl] != '\t'))
        return -EINVAL;
    text += sl;
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
        len--;
    if (len == 0 || len > HUB_SAS_TOKEN_MAX)
        return -EBADMSG;

    bool have_sr = false, have_sig = false, have_se = false, have_skn = false;
    struct azk_prop_iter it;
    struct azk_prop p;
    azk_prop_iter_init(&it, (struct azk_span){text, len});
    int rc;
    while ((rc = azk_prop_next(&it, &p)) != -ENOENT) {
        if (rc != 0 || !p.has_value)
            return -EBADMSG;
        if (azk_span_eq_str(p.key, "sr")) {
            if (have_sr || p.value.len > HUB_SAS_SR_MAX)
                return -EBADMSG;
            memcpy(out->sr_raw, p.value.ptr, p.value.len);
            out->sr_raw[p.value.len] = '\0';
            if (decode_field(p.value, out->sr, sizeof(out->sr)) != 0 || out->sr[0] == '\0')
                return -EBADMSG;
            have_sr = true;
        } else if (azk_span_eq_str(p.key, "sig")) {
            if (have_sig || decode_field(p.value, out->sig, sizeof(out->sig)) != 0 ||
                out->sig[0] == '\0')
                return -EBADMSG;
            have_sig = true;
        } else if (azk_span_eq_str(p.key, "se")) {
            if (have_se || p.value.len == 0 || p.value.len > 18)
                return -EBADMSG;
            int64_t v = 0;
            for (size_t i = 0; i < p.value.len; i++) {
                if (!isdigit((unsigned char)p.value.ptr[i]))
                    return -EBADMSG;
                v = v * 10 + (p.value.ptr[i] - '0');
            }
            out->se = v;
            have_se = true;
        } else if (azk_span_eq_str(p.key, "skn")) {
            if (have_skn || decode_field(p.value, out->skn, sizeof(out->skn)) != 0)
                return -EBADMSG;
            have_skn = true;
        } else {
            return -EBADMSG; /* Azure refuses unknown fields too */
        }
    }
    return have_sr && have_sig && have_se ? 0 : -EBADMSG;
}

/* HMAC over `sr_enc` "\n" se (azkit/sas_token.h). */
static int sign_encoded(const char *key_b64, const char *sr_enc, int64_t se, char *sig,
                        size_t sig_size)
{
    if (sig_size < AZK_SAS_SIG_MAX)
        return -ENOBUFS;
    return azk_sas_sign(key_b64, sr_enc, se, sig);
}

int hub_sas_sign(const char *key_b64, const char *sr, int64_t se, char *sig, size_t sig_size)
{
    char enc[HUB_SAS_SR_MAX * 3 + 1];
    if (key_b64 == NULL || sr == NULL || strlen(sr) > HUB_SAS_SR_MAX)
        return -EINVAL;
    if (azki_pct_encode_cstr(sr, enc, sizeof(enc)) != 0)
        return -ENOBUFS;
    return sign_encoded(key_b64, enc, se, sig, sig_size);
}

int hub_sas_create(const char *key_b64, const char *sr, const char *skn, int64_t se, char *out,
                   size_t out_size)
{
    return azk_sas_token(key_b64, sr, skn && *skn ? skn : NULL, se, out, out_size);
}

const char *hub_sas_result_text(enum hub_sas_result r)
{
    switch (r) {
    case HUB_SAS_OK: return "ok";
    case HUB_SAS_MALFORMED: return "missing or malformed SharedAccessSignature";
    case HUB_SAS_UNKNOWN_POLICY: return "unknown shared access policy (skn)";
    case HUB_SAS_WRONG_RESOURCE: return "the token's resource (sr) does not name this hub";
    case HUB_SAS_EXPIRED: return "the token has expired (se)";
    case HUB_SAS_BAD_SIGNATURE: return "bad signature";
    case HUB_SAS_WRONG_SCOPE: return "the policy (skn) has no rights on this endpoint";
    }
    return "?";
}

/* Does the decoded resource name one of the hosts? */
/* Skips the schemes a token's resource may carry: "https://" (HTTPS API), "sb://",
 * "amqps://", "amqp://" (the Event Hubs SDKs sign their AMQP audience, "sb://host/path"). */
static const char *skip_resource_scheme(const char *p)
{
    static const char *const schemes[] = {"https://", "sb://", "amqps://", "amqp://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncasecmp(p, schemes[i], strlen(schemes[i])) == 0)
            return p + strlen(schemes[i]);
    return p;
}

static bool resource_matches(const char *sr, const char *const *hosts, size_t n)
{
    const char *p = skip_resource_scheme(sr);
    size_t hl;
    if (p[0] == '[') { /* [v6]:port */
        const char *e = strchr(p, ']');
        if (e == NULL)
            return false;
        p++;
        hl = (size_t)(e - p);
        const char *after = e + 1;
        if (*after == ':') {
            after++;
            while (isdigit((unsigned char)*after))
                after++;
        }
        if (*after != '\0' && *after != '/')
            return false;
    } else {
        const char *slash = strchr(p, '/');
        size_t total = slash ? (size_t)(slash - p) : strlen(p);
        hl = total;
        /* ":port" only when what follows the last ':' is digits and there is a single ':'
         * (an IPv6 literal without brackets has several). */
        const char *colon = memchr(p, ':', total);
        if (colon != NULL && memchr(colon + 1, ':', total - (size_t)(colon + 1 - p)) == NULL) {
            bool digits = colon + 1 < p + total;
            for (const char *q = colon + 1; q < p + total; q++)
                digits = digits && isdigit((unsigned char)*q);
            if (!digits)
                return false;
            hl = (size_t)(colon - p);
        }
    }
    if (hl == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *h = hosts[i];
        if (h == NULL)
            continue;
        size_t l = strlen(h);
        if (l >= 2 && h[0] == '[' && h[l - 1] == ']') {
            h++;
            l -= 2;
        }
        if (l == hl && strncasecmp(h, p, hl) == 0)
            return true;
    }
    return false;
}

static bool const_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}

int hub_sas_key_decode(const char *key_b64, unsigned char *out, size_t out_size)
{
    return azk_sas_key_decode(key_b64, out, out_size);
}

/* Event Hubs SDKs (@azure/core-amqp createToken, azure-eventhub) sign with the key's text as
 * the HMAC key, not with its base64-decoded bytes as IoT Hub SDKs do. Their resource is
 * "sb://host/...": only such tokens are checked this way too. */
static bool signed_with_key_text(const struct hub_sas_token *t, const char *key_text)
{
    if (strncasecmp(t->sr, "sb://", 5) != 0)
        return false;
    char msg[HUB_SAS_SR_MAX * 3 + 32];
    int n = snprintf(msg, sizeof(msg), "%s\n%" PRId64, t->sr_raw, t->se);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), key_text, (int)strlen(key_text), (const unsigned char *)msg,
             (size_t)n, mac, &mac_len) == NULL)
        return false;
    char sig[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)mac_len);
    bool ok = const_eq(sig, t->sig);
    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(sig, sizeof(sig));
    return ok;
}

/* Whether `t` was signed with `key_b64`: over sr as sent, or over its canonical encoding (or
 * for an Event Hubs resource, with the key's text: signed_with_key_text). */
bool hub_sas_signed_with(const struct hub_sas_token *t, const char *key_b64)
{
    char sig[64], canon[HUB_SAS_SR_MAX * 3 + 1];
    bool ok = false;
    if (key_b64 == NULL || *key_b64 == '\0')
        return false;
    if (sign_encoded(key_b64, t->sr_raw, t->se, sig, sizeof(sig)) == 0)
        ok = const_eq(sig, t->sig);
    if (!ok && azki_pct_encode_cstr(t->sr, canon, sizeof(canon)) == 0 &&
        sign_encoded(key_b64, canon, t->se, sig, sizeof(sig)) == 0)
        ok = const_eq(sig, t->sig);
    if (!ok)
        ok = signed_with_key_text(t, key_b64);
    OPENSSL_cleanse(sig, sizeof(sig));
    return ok;
}

/* The part of a decoded resource after its host (and ":port"): "" or "/...". */
static const char *resource_path(const char *sr)
{
    const char *p = skip_resource_scheme(sr);
    if (p[0] == '[') {
        const char *e = strchr(p, ']');
        p = e ? e + 1 : p + strlen(p);
    }
    const char *slash = strchr(p, '/');
    return slash ? slash : p + strlen(p);
}

enum hub_sas_result hub_sas_verify_device(const char *password, const struct hub_sas_device *dev,
                                          const struct hub_sas_policy *policy,
                                          const char *const *hosts, size_t host_count,
                                          int64_t now_s, int64_t *expires_s)
{
    struct hub_sas_token t;
    *expires_s = 0;
    if (password == NULL || hub_sas_parse(password, &t) != 0)
        return HUB_SAS_MALFORMED;
    enum hub_sas_result res = HUB_SAS_OK;
    const char *path = resource_path(t.sr);
    char device_path[HUB_SAS_SR_MAX + 16];
    snprintf(device_path, sizeof(device_path), "/devices/%s", dev->device_id);
    bool device_resource = strcmp(path, device_path) == 0;
    if (t.skn[0] != '\0' && (policy == NULL || strcmp(t.skn, policy->name) != 0))
        res = HUB_SAS_UNKNOWN_POLICY;
    else if (!resource_matches(t.sr, hosts, host_count) ||
             !(device_resource || (t.skn[0] != '\0' && *path == '\0')))
        res = HUB_SAS_WRONG_RESOURCE;
    else if (t.se <= now_s)
        res = HUB_SAS_EXPIRED;
    else if (t.skn[0] != '\0' ? !hub_sas_signed_with(&t, policy->key_b64)
                              : !hub_sas_signed_with(&t, dev->primary_key) &&
                                    !hub_sas_signed_with(&t, dev->secondary_key))
        res = HUB_SAS_BAD_SIGNATURE;
    OPENSSL_cleanse(t.sig, sizeof(t.sig));
    if (res == HUB_SAS_OK)
        *expires_s = t.se;
    return res;
}

bool hub_sas_policy_allows(const char *name, enum hub_sas_scope scope)
{
    if (name == NULL)
        return false;
    if (strcmp(name, HUB_SAS_POLICY_HUB) == 0)
        return true;
    return scope == HUB_SAS_SCOPE_DPS && strcmp(name, HUB_SAS_POLICY_DPS) == 0;
}

enum hub_sas_result hub_sas_verify(const char *header, const struct hub_sas_policy *policies,
                                   size_t policy_count, const char *const *hosts,
                                   size_t host_count, int64_t now_s,
                                   const struct hub_sas_policy **matched)
{
    struct hub_sas_token t;
    if (matched)
        *matched = NULL;
    if (hub_sas_parse(header, &t) != 0)
        return HUB_SAS_MALFORMED;
    const struct hub_sas_policy *pol = NULL;
    for (size_t i = 0; i < policy_count && t.skn[0]; i++)
        if (strcmp(policies[i].name, t.skn) == 0)
            pol = &policies[i];
    enum hub_sas_result res = HUB_SAS_OK;
    if (pol == NULL)
        res = HUB_SAS_UNKNOWN_POLICY;
    else if (!resource_matches(t.sr, hosts, host_count))
        res = HUB_SAS_WRONG_RESOURCE;
    else if (t.se <= now_s)
        res = HUB_SAS_EXPIRED;
    else {
        if (!hub_sas_signed_with(&t, pol->key_b64))
            res = HUB_SAS_BAD_SIGNATURE;
    }
    OPENSSL_cleanse(t.sig, sizeof(t.sig));
    if (res == HUB_SAS_OK && matched)
        *matched = pol;
    return res;
}

int hub_conn_string_parse(const char *s, struct hub_conn_string *out)
{
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -EBADMSG;
    struct azk_span name, value;
    int more;
    for (const char *p = s; (more = azki_conn_string_next(&p, &name, &value)) != 0;) {
        if (more < 0)
            return -EBADMSG;
        char *dst = NULL;
        size_t cap = 0;
        if (azk_span_eq_str(name, "HostName")) {
            dst = out->host_name;
            cap = sizeof(out->host_name);
        } else if (azk_span_eq_str(name, "SharedAccessKeyName")) {
            dst = out->key_name;
            cap = sizeof(out->key_name);
        } else if (azk_span_eq_str(name, "SharedAccessKey")) {
            dst = out->key;
            cap = sizeof(out->key);
        }
        if (dst != NULL) {
            if (value.len >= cap)
                return -ENAMETOOLONG;
            memcpy(dst, value.ptr, value.len);
            dst[value.len] = '\0';
        }
    }
    return out->host_name[0] && out->key[0] ? 0 : -EBADMSG;
}

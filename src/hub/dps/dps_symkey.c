/* DPS symmetric-key attestation: keys, derivation, token matching (see dps_symkey.h). */
#include "hub/dps/dps_symkey.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "azkit/sas_token.h"
#include "hub/service/sas.h"

/* Room for a decoded key: base64 of 64 bytes is 88 characters, which b64 decoding sizes as 66. */
#define KEY_BUF 96

int dps_symkey_generate(char out[DPS_SYMKEY_MAX + 1])
{
    unsigned char b[DPS_SYMKEY_GENERATED_BYTES];
    if (RAND_bytes(b, sizeof b) != 1)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)out, b, sizeof b);
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

int dps_symkey_check(const char *key_b64, const char *what, char *err, size_t errlen)
{
    unsigned char k[KEY_BUF];
    int n = key_b64 && strlen(key_b64) <= DPS_SYMKEY_MAX ? hub_sas_key_decode(key_b64, k, sizeof k)
                                                         : -EINVAL;
    OPENSSL_cleanse(k, sizeof k);
    if (n >= DPS_SYMKEY_BYTES_MIN && n <= DPS_SYMKEY_BYTES_MAX)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s must be base64 of %d to %d bytes", what,
                 DPS_SYMKEY_BYTES_MIN, DPS_SYMKEY_BYTES_MAX);
    return -EINVAL;
}

int dps_symkey_derive(const char *group_key_b64, const char *registration_id,
                      char out[DPS_SYMKEY_MAX + 1])
{
    out[0] = '\0';
    return azk_sas_derive_key(group_key_b64, registration_id, out);
}

/* "{idScope}/registrations/{registrationId}", both compared case-insensitively. */
static bool resource_ok(const char *sr, const char *scope, const char *reg_id)
{
    static const char mid[] = "/registrations/";
    size_t sl = strlen(scope), ml = sizeof mid - 1;
    return strncasecmp(sr, scope, sl) == 0 && strncasecmp(sr + sl, mid, ml) == 0 &&
           strcasecmp(sr + sl + ml, reg_id) == 0;
}

/* Whether the token was signed with the key derived from `group_key` (none: false). */
static bool signed_derived(const struct hub_sas_token *t, const char *group_key,
                           const char *reg_id)
{
    char dk[DPS_SYMKEY_MAX + 1];
    bool ok = group_key[0] && dps_symkey_derive(group_key, reg_id, dk) == 0 &&
              hub_sas_signed_with(t, dk);
    OPENSSL_cleanse(dk, sizeof dk);
    return ok;
}

static void individual(const struct dps_match_input *in, const struct hub_sas_token *t,
                       size_t i, struct dps_match_result *r)
{
    const struct dps_enrollment *e = &in->enrollments[i];
    r->index = i;
    if (e->c.status == DPS_STATUS_DISABLED) {
        dps_match_refuse(r, DPS_REFUSE_DISABLED, "the individual enrollment '%s' is disabled",
               e->registration_id);
        return;
    }
    if (e->attestation != DPS_ATTEST_SYMMETRIC_KEY) {
        dps_match_refuse(r, DPS_REFUSE_WRONG_ATTESTATION,
               "the individual enrollment '%s' uses X.509 attestation; the device must present "
               "its certificate in the TLS handshake, not a SAS token", e->registration_id);
        return;
    }
    if (hub_sas_signed_with(t, e->keys.primary)) {
        r->secondary = false;
    } else if (hub_sas_signed_with(t, e->keys.secondary)) {
        r->secondary = true;
    } else {
        dps_match_refuse(r, DPS_REFUSE_TOKEN_SIGNATURE,
               "the SAS token is signed with neither the primary nor the secondary key of the "
               "individual enrollment '%s'", e->registration_id);
        return;
    }
    r->kind = DPS_MATCH_INDIVIDUAL;
    snprintf(r->message, sizeof r->message, "individual enrollment '%s' (%s symmetric key)",
             e->registration_id, r->secondary ? "secondary" : "primary");
}

static void groups(const struct dps_match_input *in, const struct hub_sas_token *t,
                   struct dps_match_result *r)
{
    const char *id = in->registration_id;
    bool any = false;
    for (size_t g = 0; g < in->n_groups; g++) {
        const struct dps_group *grp = &in->groups[g];
        if (grp->attestation != DPS_ATTEST_SYMMETRIC_KEY)
            continue;
        any = true;
        bool primary = signed_derived(t, grp->keys.primary, id);
        if (!primary && !signed_derived(t, grp->keys.secondary, id))
            continue;
        r->index = g;
        r->secondary = !primary;
        if (grp->c.status == DPS_STATUS_DISABLED) {
            dps_match_refuse(r, DPS_REFUSE_DISABLED, "the enrollment group '%s' is disabled",
                   grp->group_id);
            return;
        }
        r->kind = DPS_MATCH_GROUP;
        snprintf(r->message, sizeof r->message,
                 "enrollment group '%s' (device key derived from its %s symmetric key)",
                 grp->group_id, primary ? "primary" : "secondary");
        return;
    }
    if (any)
        dps_match_refuse(r, DPS_REFUSE_TOKEN_SIGNATURE,
               "no individual enrollment for registration id '%s', and the SAS token is not "
               "signed with a key derived from any symmetric-key enrollment group's keys "
               "(device key = base64(HMAC-SHA256(group key, registration id)))", id);
    else
        dps_match_refuse(r, DPS_REFUSE_NO_ENROLLMENT,
               "no individual enrollment for registration id '%s' and no symmetric-key "
               "enrollment group", id);
}

void dps_match_symkey(const struct dps_match_input *in, struct dps_match_result *r)
{
    memset(r, 0, sizeof *r);
    r->index = SIZE_MAX;
    r->attestation = DPS_ATTEST_SYMMETRIC_KEY;
    if (!in || !in->registration_id || !in->id_scope) {
        dps_match_refuse(r, DPS_REFUSE_INTERNAL, "no input");
        return;
    }
    if (!in->sas_token) {
        dps_match_refuse(r, DPS_REFUSE_NO_TOKEN, "the device sent no SAS token as the CONNECT password");
        return;
    }
    struct hub_sas_token t;
    if (hub_sas_parse(in->sas_token, &t) != 0) {
        dps_match_refuse(r, DPS_REFUSE_TOKEN_MALFORMED,
               "the CONNECT password is not a SAS token ('SharedAccessSignature sr=%s%%2f"
               "registrations%%2f%s&sig=...&se=...&skn=registration')",
               in->id_scope, in->registration_id);
        goto out;
    }
    if (t.skn[0] && strcmp(t.skn, DPS_SYMKEY_SKN) != 0) {
        dps_match_refuse(r, DPS_REFUSE_TOKEN_MALFORMED,
               "the SAS token's skn is '%.64s'; devices use '" DPS_SYMKEY_SKN "' or none",
               t.skn);
        goto out;
    }
    if (!resource_ok(t.sr, in->id_scope, in->registration_id)) {
        dps_match_refuse(r, DPS_REFUSE_TOKEN_RESOURCE,
               "the SAS token's resource (sr) is '%.200s'; it must be '%s/registrations/%s'",
               t.sr, in->id_scope, in->registration_id);
        goto out;
    }
    if ((int64_t)t.se <= (int64_t)in->now) {
        dps_match_refuse(r, DPS_REFUSE_TOKEN_EXPIRED,
               "the SAS token expired (se=%lld, now %lld); sign a new one", (long long)t.se,
               (long long)in->now);
        goto out;
    }
    for (size_t i = 0; i < in->n_enrollments; i++) {
        if (strcasecmp(in->enrollments[i].registration_id, in->registration_id) == 0) {
            individual(in, &t, i, r);
            goto out;
        }
    }
    groups(in, &t, r);
out:
    OPENSSL_cleanse(&t, sizeof t);
}

/* DPS model: records, heap management and JSON in Azure's shapes (see dps_model.h). */
#include "hub/dps/dps_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azkit/azure_ids.h"
#include "common/ossl.h"
#include "hub/dps/dps_symkey.h"
#include "hub/iothub/cert_text.h"
#include "hub/iothub/twin_limits.h"

/* ---- small helpers ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Copies a heap string field; returns false when the allocation failed. */
static bool dup_field(char **dst, const char *src)
{
    *dst = dup_or_null(src);
    return !src || *dst;
}

static int copy_text(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        return -EINVAL;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

void dps_time_text(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        t -= 1;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[24];
    if (strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        date[0] = '\0';
    snprintf(out, 32, "%.19s.%03u0000Z", date, (unsigned)frac % 1000u);
}

/* ---- heap management ---- */

static void common_clear(struct dps_common *c)
{
    free(c->initial_twin);
    c->initial_twin = NULL;
}

void dps_enrollment_clear(struct dps_enrollment *e)
{
    if (!e)
        return;
    free(e->primary_pem);
    free(e->secondary_pem);
    e->primary_pem = e->secondary_pem = NULL;
    OPENSSL_cleanse(&e->keys, sizeof e->keys);
    common_clear(&e->c);
}

int dps_enrollment_copy(struct dps_enrollment *dst, const struct dps_enrollment *src)
{
    *dst = *src;
    bool ok = dup_field(&dst->primary_pem, src->primary_pem);
    ok = dup_field(&dst->secondary_pem, src->secondary_pem) && ok;
    ok = dup_field(&dst->c.initial_twin, src->c.initial_twin) && ok;
    if (!ok) {
        dps_enrollment_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

void dps_group_clear(struct dps_group *g)
{
    if (!g)
        return;
    free(g->primary_pem);
    free(g->secondary_pem);
    g->primary_pem = g->secondary_pem = NULL;
    OPENSSL_cleanse(&g->keys, sizeof g->keys);
    common_clear(&g->c);
}

int dps_group_copy(struct dps_group *dst, const struct dps_group *src)
{
    *dst = *src;
    bool ok = dup_field(&dst->primary_pem, src->primary_pem);
    ok = dup_field(&dst->secondary_pem, src->secondary_pem) && ok;
    ok = dup_field(&dst->c.initial_twin, src->c.initial_twin) && ok;
    if (!ok) {
        dps_group_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

void dps_ca_clear(struct dps_ca *ca)
{
    if (!ca)
        return;
    free(ca->pem);
    ca->pem = NULL;
}

int dps_ca_copy(struct dps_ca *dst, const struct dps_ca *src)
{
    *dst = *src;
    if (!dup_field(&dst->pem, src->pem)) {
        dst->pem = NULL;
        return -ENOMEM;
    }
    return 0;
}

void dps_registration_clear(struct dps_registration *r)
{
    if (!r)
        return;
    free(r->payload);
    r->payload = NULL;
}

int dps_registration_copy(struct dps_registration *dst, const struct dps_registration *src)
{
    *dst = *src;
    if (!dup_field(&dst->payload, src->payload)) {
        dst->payload = NULL;
        return -ENOMEM;
    }
    return 0;
}

const char *dps_enrollment_device_id(const struct dps_enrollment *e)
{
    return e->device_id[0] ? e->device_id : e->registration_id;
}

/* ---- names ---- */

const char *dps_reg_status_name(enum dps_reg_status s)
{
    switch (s) {
    case DPS_REG_UNASSIGNED: return "unassigned";
    case DPS_REG_ASSIGNING: return "assigning";
    case DPS_REG_ASSIGNED: return "assigned";
    case DPS_REG_FAILED: return "failed";
    case DPS_REG_DISABLED: return "disabled";
    }
    return "unassigned";
}

const char *dps_reg_substatus_name(enum dps_reg_substatus s)
{
    switch (s) {
    case DPS_SUB_NONE: return "";
    case DPS_SUB_INITIAL_ASSIGNMENT: return "initialAssignment";
    case DPS_SUB_DEVICE_DATA_MIGRATED: return "deviceDataMigrated";
    case DPS_SUB_DEVICE_DATA_RESET: return "deviceDataReset";
    case DPS_SUB_REPROVISIONED_INITIAL: return "reprovisionedToInitialAssignment";
    }
    return "";
}

const char *dps_alloc_policy_name(enum dps_alloc_policy p)
{
    switch (p) {
    case DPS_ALLOC_HASHED: return "hashed";
    case DPS_ALLOC_STATIC: return "static";
    case DPS_ALLOC_GEO: return "geoLatency";
    case DPS_ALLOC_CUSTOM: return "custom";
    }
    return "hashed";
}

static int reg_status_parse(const char *s, enum dps_reg_status *out)
{
    for (int i = DPS_REG_UNASSIGNED; i <= DPS_REG_DISABLED; i++)
        if (strcmp(s, dps_reg_status_name((enum dps_reg_status)i)) == 0) {
            *out = (enum dps_reg_status)i;
            return 0;
        }
    return -EINVAL;
}

static int reg_substatus_parse(const char *s, enum dps_reg_substatus *out)
{
    for (int i = DPS_SUB_NONE; i <= DPS_SUB_REPROVISIONED_INITIAL; i++)
        if (strcmp(s, dps_reg_substatus_name((enum dps_reg_substatus)i)) == 0) {
            *out = (enum dps_reg_substatus)i;
            return 0;
        }
    return -EINVAL;
}

int dps_group_id_check(const char *id, char *err, size_t errlen)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > DPS_GROUP_ID_MAX)
        return fail(err, errlen,
                    "enrollment group id must be 1 to %d characters (letters, digits and "
                    "- . _ :)",
                    DPS_GROUP_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == ':'))
            return fail(err, errlen,
                        "'%c' at position %zu is not allowed in an enrollment group id "
                        "(letters, digits and - . _ :)",
                        c, i + 1);
    }
    return 0;
}

/* ---- certificates ---- */

/* Parses PEM holding exactly one certificate. */
static X509 *one_cert(const char *pem, const char *what, char *err, size_t errlen)
{
    STACK_OF(X509) *sk = NULL;
    if (!pem || azki_load_certs(pem, strlen(pem), &sk, NULL) != 0) {
        ERR_clear_error();
        fail(err, errlen, "%s is not a PEM certificate (-----BEGIN CERTIFICATE-----)", what);
        return NULL;
    }
    if (sk_X509_num(sk) != 1) {
        fail(err, errlen, "%s holds %d certificates; give exactly one", what, sk_X509_num(sk));
        sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    X509 *x = sk_X509_shift(sk);
    sk_X509_free(sk);
    return x;
}

static void thumbs(X509 *x, char sha1[41], char sha256[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    sha1[0] = sha256[0] = '\0';
    if (X509_digest(x, EVP_sha1(), md, &n) == 1 && n == 20)
        azki_hex_upper(md, n, sha1);
    if (X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32)
        azki_hex_upper(md, n, sha256);
}

int dps_ca_set_pem(struct dps_ca *ca, const char *text, char *err, size_t errlen)
{
    char *p = NULL;
    char why[160];
    int rc = hub_cert_text_to_pem(text, &p, why, sizeof(why));
    if (rc == -ENOMEM)
        return rc;
    if (rc != 0)
        return fail(err, errlen, "the certificate is %s", why);
    X509 *x = one_cert(p, "the certificate", err, errlen);
    if (!x) {
        free(p);
        return -EINVAL;
    }
    thumbs(x, ca->thumbprint_sha1, ca->thumbprint_sha256);
    X509_free(x);
    free(ca->pem);
    ca->pem = p;
    return 0;
}

/* "CN = a, O = b" -> "CN=a, O=b" */
static void azure_name(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 1 < len; i++) {
        if (in[i] == ' ' && (in[i + 1] == '=' || (i > 0 && in[i - 1] == '=')))
            continue;
        out[o++] = in[i];
    }
    out[o] = '\0';
}

cJSON *dps_cert_info_json(const char *pem)
{
    STACK_OF(X509) *sk = NULL;
    if (!pem || azki_load_certs(pem, strlen(pem), &sk, NULL) != 0) {
        ERR_clear_error();
        return NULL;
    }
    X509 *x = sk_X509_value(sk, 0);
    struct azk_cert_summary s;
    azki_x509_summarize(x, &s);
    long version = X509_get_version(x) + 1;
    sk_X509_pop_free(sk, X509_free);
    ERR_clear_error();
    char subj[256], iss[256];
    azure_name(s.subject, subj, sizeof subj);
    azure_name(s.issuer, iss, sizeof iss);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "subjectName", subj);
    cJSON_AddStringToObject(o, "sha1Thumbprint", s.sha1);
    cJSON_AddStringToObject(o, "sha256Thumbprint", s.sha256);
    cJSON_AddStringToObject(o, "issuerName", iss);
    cJSON_AddStringToObject(o, "notBeforeUtc", s.not_before);
    cJSON_AddStringToObject(o, "notAfterUtc", s.not_after);
    cJSON_AddStringToObject(o, "serialNumber", s.serial);
    cJSON_AddNumberToObject(o, "version", (double)version);
    return o;
}

/* A certificate entry {"certificate":"PEM"} (or, from a GET, {"info":{...}}): *out receives
 * a heap PEM or NULL when the entry is absent/null. */
static int cert_entry(const cJSON *entry, const char *what, const char *existing_pem,
                      char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!entry || cJSON_IsNull(entry))
        return 0;
    if (!cJSON_IsObject(entry))
        return fail(err, errlen, "%s must be an object {\"certificate\": \"PEM\"}", what);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(entry, "certificate");
    if (cJSON_IsString(c) && c->valuestring[0]) {
        char *pem = NULL;
        char why[160];
        int rc = hub_cert_text_to_pem(c->valuestring, &pem, why, sizeof(why));
        if (rc == -ENOMEM)
            return rc;
        if (rc != 0)
            return fail(err, errlen, "%s.certificate is %s", what, why);
        X509 *x = one_cert(pem, what, err, errlen);
        if (!x) {
            free(pem);
            return -EINVAL;
        }
        X509_free(x);
        *out = pem;
        return 0;
    }
    if (c && !cJSON_IsNull(c) && !cJSON_IsString(c))
        return fail(err, errlen, "%s.certificate must be a string (PEM)", what);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(entry, "info");
    if (cJSON_IsObject(info) && existing_pem) {
        const cJSON *t1 = cJSON_GetObjectItemCaseSensitive(info, "sha1Thumbprint");
        const cJSON *t2 = cJSON_GetObjectItemCaseSensitive(info, "sha256Thumbprint");
        X509 *x = one_cert(existing_pem, what, err, errlen);
        if (!x)
            return -EINVAL;
        char s1[41], s256[65];
        thumbs(x, s1, s256);
        X509_free(x);
        if ((cJSON_IsString(t1) && strcasecmp(t1->valuestring, s1) == 0) ||
            (cJSON_IsString(t2) && strcasecmp(t2->valuestring, s256) == 0)) {
            *out = dup_or_null(existing_pem);
            return *out ? 0 : -ENOMEM;
        }
    }
    return fail(err, errlen, "%s has no \"certificate\" (PEM text)", what);
}

static cJSON *cert_entry_json(const char *pem, enum dps_json_mode mode)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (mode == DPS_JSON_STORAGE) {
        cJSON_AddStringToObject(o, "certificate", pem);
        return o;
    }
    cJSON *info = dps_cert_info_json(pem);
    if (info)
        cJSON_AddItemToObject(o, "info", info);
    return o;
}

/* ---- common fields ---- */

static const cJSON *item(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Optional string: absent/null -> NULL; wrong type -> -EINVAL. */
static int opt_str(const cJSON *o, const char *k, const char **out, char *err, size_t errlen)
{
    const cJSON *v = item(o, k);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return fail(err, errlen, "\"%s\" must be a string", k);
    *out = v->valuestring;
    return 0;
}

static int opt_bool(const cJSON *o, const char *k, bool dflt, bool *out, char *err,
                    size_t errlen)
{
    const cJSON *v = item(o, k);
    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return fail(err, errlen, "\"%s\" must be true or false", k);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* IoT Hub's limits on a section the initial twin sets (twin_limits.h). */
static int twin_section_check(enum hub_twin_section sec, const cJSON *obj, char *err,
                              size_t errlen)
{
    char why[300];
    if (cJSON_IsObject(obj) && (hub_twin_check_format(sec, obj, why, sizeof(why)) != 0 ||
                                hub_twin_check_size(sec, obj, why, sizeof(why)) != 0))
        return fail(err, errlen, "initialTwin.%s", why);
    return 0;
}

static int twin_check(const cJSON *tw, char *err, size_t errlen)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, tw)
    {
        if (strcmp(c->string, "tags") == 0) {
            if (!cJSON_IsObject(c) && !cJSON_IsNull(c))
                return fail(err, errlen, "initialTwin.tags must be an object");
            if (twin_section_check(HUB_TWIN_TAGS, c, err, errlen) != 0)
                return -EINVAL;
        } else if (strcmp(c->string, "properties") == 0) {
            if (cJSON_IsNull(c))
                continue;
            if (!cJSON_IsObject(c))
                return fail(err, errlen, "initialTwin.properties must be an object");
            const cJSON *d;
            cJSON_ArrayForEach(d, c)
            {
                if (strcmp(d->string, "desired") != 0)
                    return fail(err, errlen,
                                "initialTwin.properties.%s is not allowed (only \"desired\")",
                                d->string);
                if (!cJSON_IsObject(d) && !cJSON_IsNull(d))
                    return fail(err, errlen, "initialTwin.properties.desired must be an object");
                if (twin_section_check(HUB_TWIN_DESIRED, d, err, errlen) != 0)
                    return -EINVAL;
            }
        } else {
            return fail(err, errlen,
                        "initialTwin.%s is not allowed (only \"tags\" and \"properties\")",
                        c->string);
        }
    }
    return 0;
}

static int host_check(const char *h, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(h);
    if (n == 0 || n > DPS_HOST_MAX)
        return fail(err, errlen, "%s must be a host name of 1 to %d characters", what,
                    DPS_HOST_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == ':'))
            return fail(err, errlen, "%s '%s' is not a host name", what, h);
    }
    return 0;
}

/* customAllocationDefinition: {"webhookUrl": "http(s)://...", "apiVersion": "..."}, required
 * with allocationPolicy "custom" (as DPS requires it), ignored otherwise. */
static int custom_from_json(const cJSON *b, struct dps_common *c, char *err, size_t errlen)
{
    c->webhook_url[0] = c->webhook_api_version[0] = '\0';
    const cJSON *cd = item(b, "customAllocationDefinition");
    if (c->allocation != DPS_ALLOC_CUSTOM)
        return 0;
    if (!cJSON_IsObject(cd))
        return fail(err, errlen, "allocationPolicy \"custom\" needs customAllocationDefinition "
                    "{\"webhookUrl\": \"https://...\", \"apiVersion\": \"2021-10-01\"}");
    const char *url = NULL, *ver = NULL;
    int rc;
    if ((rc = opt_str(cd, "webhookUrl", &url, err, errlen)) < 0 ||
        (rc = opt_str(cd, "apiVersion", &ver, err, errlen)) < 0)
        return rc;
    if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return fail(err, errlen, "customAllocationDefinition.webhookUrl must be an http:// or "
                    "https:// URL");
    if (copy_text(c->webhook_url, sizeof c->webhook_url, url) < 0)
        return fail(err, errlen, "customAllocationDefinition.webhookUrl is longer than %d "
                    "characters", DPS_WEBHOOK_URL_MAX);
    if (ver != NULL && copy_text(c->webhook_api_version, sizeof c->webhook_api_version, ver) < 0)
        return fail(err, errlen, "customAllocationDefinition.apiVersion is too long");
    return 0;
}

static int common_from_json(const cJSON *b, struct dps_common *c, char *err, size_t errlen)
{
    const char *s;
    int rc;
    if ((rc = opt_str(b, "provisioningStatus", &s, err, errlen)) < 0)
        return rc;
    c->status = DPS_STATUS_ENABLED;
    if (s && strcmp(s, "disabled") == 0)
        c->status = DPS_STATUS_DISABLED;
    else if (s && strcmp(s, "enabled") != 0)
        return fail(err, errlen, "provisioningStatus '%s' is not \"enabled\" or \"disabled\"", s);

    if ((rc = opt_str(b, "allocationPolicy", &s, err, errlen)) < 0)
        return rc;
    c->allocation = DPS_ALLOC_HASHED;
    if (s && strcmp(s, "static") == 0)
        c->allocation = DPS_ALLOC_STATIC;
    else if (s && strcmp(s, "geoLatency") == 0)
        c->allocation = DPS_ALLOC_GEO;
    else if (s && strcmp(s, "custom") == 0)
        c->allocation = DPS_ALLOC_CUSTOM;
    else if (s && strcmp(s, "hashed") != 0)
        return fail(err, errlen,
                    "allocationPolicy '%s' is not one of \"hashed\", \"static\", "
                    "\"geoLatency\", \"custom\"",
                    s);
    if ((rc = custom_from_json(b, c, err, errlen)) < 0)
        return rc;

    if ((rc = opt_str(b, "iotHubHostName", &s, err, errlen)) < 0)
        return rc;
    c->iot_hub_host_name[0] = '\0';
    if (s && *s) {
        if ((rc = host_check(s, "iotHubHostName", err, errlen)) < 0)
            return rc;
        copy_text(c->iot_hub_host_name, sizeof c->iot_hub_host_name, s);
    }

    const cJSON *hubs = item(b, "iotHubs");
    c->n_iot_hubs = 0;
    if (hubs && !cJSON_IsNull(hubs)) {
        if (!cJSON_IsArray(hubs))
            return fail(err, errlen, "\"iotHubs\" must be an array of host names");
        const cJSON *h;
        cJSON_ArrayForEach(h, hubs)
        {
            if (!cJSON_IsString(h))
                return fail(err, errlen, "\"iotHubs\" must be an array of host names");
            if ((rc = host_check(h->valuestring, "an iotHubs entry", err, errlen)) < 0)
                return rc;
            if (c->n_iot_hubs >= DPS_HUBS_MAX)
                return fail(err, errlen, "\"iotHubs\" holds more than %d hubs", DPS_HUBS_MAX);
            copy_text(c->iot_hubs[c->n_iot_hubs++], DPS_HOST_MAX + 1, h->valuestring);
        }
    }
    if (c->allocation == DPS_ALLOC_STATIC && c->n_iot_hubs > 1)
        return fail(err, errlen,
                    "allocationPolicy \"static\" takes exactly one hub in \"iotHubs\" (%zu given)",
                    c->n_iot_hubs);

    const cJSON *rp = item(b, "reprovisionPolicy");
    c->reprovision.update_hub_assignment = true;
    c->reprovision.migrate_device_data = true;
    if (rp && !cJSON_IsNull(rp)) {
        if (!cJSON_IsObject(rp))
            return fail(err, errlen, "\"reprovisionPolicy\" must be an object");
        if ((rc = opt_bool(rp, "updateHubAssignment", true,
                           &c->reprovision.update_hub_assignment, err, errlen)) < 0 ||
            (rc = opt_bool(rp, "migrateDeviceData", true, &c->reprovision.migrate_device_data,
                           err, errlen)) < 0)
            return rc;
    }

    const cJSON *tw = item(b, "initialTwin");
    c->initial_twin = NULL;
    if (tw && !cJSON_IsNull(tw)) {
        if (!cJSON_IsObject(tw))
            return fail(err, errlen, "\"initialTwin\" must be an object");
        if ((rc = twin_check(tw, err, errlen)) < 0)
            return rc;
        c->initial_twin = cJSON_PrintUnformatted(tw);
        if (!c->initial_twin)
            return -ENOMEM;
    }

    const cJSON *cap = item(b, "capabilities");
    c->iot_edge = false;
    if (cap && !cJSON_IsNull(cap)) {
        if (!cJSON_IsObject(cap))
            return fail(err, errlen, "\"capabilities\" must be an object");
        if ((rc = opt_bool(cap, "iotEdge", false, &c->iot_edge, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

static void meta_from_json(const cJSON *b, enum dps_json_mode mode, struct dps_meta *m)
{
    const cJSON *e = item(b, "etag");
    if (cJSON_IsString(e))
        copy_text(m->etag, sizeof m->etag, e->valuestring); /* too long: left empty */
    if (mode != DPS_JSON_STORAGE)
        return;
    const cJSON *v = item(b, "etagCounter");
    if (cJSON_IsNumber(v))
        m->etag_counter = (uint64_t)v->valuedouble;
    hub_etag_from_counter(m->etag_counter, m->etag);
    if (cJSON_IsNumber(v = item(b, "createdMs")))
        m->created_ms = (int64_t)v->valuedouble;
    if (cJSON_IsNumber(v = item(b, "updatedMs")))
        m->updated_ms = (int64_t)v->valuedouble;
}

static void meta_to_json(cJSON *o, const struct dps_meta *m, enum dps_json_mode mode,
                         const char *created_key, const char *updated_key)
{
    if (mode == DPS_JSON_STORAGE) {
        cJSON_AddNumberToObject(o, "etagCounter", (double)m->etag_counter);
        cJSON_AddNumberToObject(o, "createdMs", (double)m->created_ms);
        cJSON_AddNumberToObject(o, "updatedMs", (double)m->updated_ms);
        return;
    }
    char t[32];
    cJSON_AddStringToObject(o, "etag", m->etag);
    if (created_key) {
        dps_time_text(m->created_ms, t);
        cJSON_AddStringToObject(o, created_key, t);
    }
    if (updated_key) {
        dps_time_text(m->updated_ms, t);
        cJSON_AddStringToObject(o, updated_key, t);
    }
}

static void common_to_json(cJSON *o, const struct dps_common *c)
{
    cJSON_AddStringToObject(o, "provisioningStatus",
                            c->status == DPS_STATUS_DISABLED ? "disabled" : "enabled");
    cJSON_AddStringToObject(o, "allocationPolicy", dps_alloc_policy_name(c->allocation));
    if (c->iot_hub_host_name[0])
        cJSON_AddStringToObject(o, "iotHubHostName", c->iot_hub_host_name);
    if (c->allocation == DPS_ALLOC_CUSTOM) {
        cJSON *cd = cJSON_AddObjectToObject(o, "customAllocationDefinition");
        if (cd) {
            cJSON_AddStringToObject(cd, "webhookUrl", c->webhook_url);
            cJSON_AddStringToObject(cd, "apiVersion", c->webhook_api_version);
        }
    }
    cJSON *hubs = cJSON_AddArrayToObject(o, "iotHubs");
    for (size_t i = 0; hubs && i < c->n_iot_hubs; i++)
        cJSON_AddItemToArray(hubs, cJSON_CreateString(c->iot_hubs[i]));
    cJSON *rp = cJSON_AddObjectToObject(o, "reprovisionPolicy");
    if (rp) {
        cJSON_AddBoolToObject(rp, "updateHubAssignment", c->reprovision.update_hub_assignment);
        cJSON_AddBoolToObject(rp, "migrateDeviceData", c->reprovision.migrate_device_data);
    }
    if (c->initial_twin) {
        cJSON *tw = cJSON_Parse(c->initial_twin);
        if (tw)
            cJSON_AddItemToObject(o, "initialTwin", tw);
    }
    cJSON *cap = cJSON_AddObjectToObject(o, "capabilities");
    if (cap)
        cJSON_AddBoolToObject(cap, "iotEdge", c->iot_edge);
}

/* The attestation of a body: its type, and the object of that type ("x509": required;
 * "symmetricKey": may be absent, then *obj is NULL). */
static int attestation_of(const cJSON *b, enum dps_attestation *kind, const cJSON **obj,
                          char *err, size_t errlen)
{
    *obj = NULL;
    const cJSON *att = item(b, "attestation");
    if (!cJSON_IsObject(att))
        return fail(err, errlen, "\"attestation\" is required: {\"type\": \"x509\", \"x509\": "
                    "{...}} or {\"type\": \"symmetricKey\"}");
    const cJSON *type = item(att, "type");
    if (!cJSON_IsString(type))
        return fail(err, errlen, "attestation.type is required (\"x509\" or \"symmetricKey\")");
    if (strcmp(type->valuestring, "symmetricKey") == 0) {
        *kind = DPS_ATTEST_SYMMETRIC_KEY;
        const cJSON *k = item(att, "symmetricKey");
        if (k && !cJSON_IsNull(k) && !cJSON_IsObject(k))
            return fail(err, errlen, "attestation.symmetricKey must be an object");
        *obj = cJSON_IsObject(k) ? k : NULL;
        return 0;
    }
    if (strcmp(type->valuestring, "tpm") == 0)
        return fail(err, errlen, "TPM attestation is not supported: DPS does not support TPM "
                    "over MQTT; use \"x509\" or \"symmetricKey\"");
    if (strcmp(type->valuestring, "x509") != 0)
        return fail(err, errlen, "attestation type '%s' is not supported by azkit-hub; use "
                    "\"x509\" or \"symmetricKey\"", type->valuestring);
    *kind = DPS_ATTEST_X509;
    const cJSON *x = item(att, "x509");
    if (!cJSON_IsObject(x))
        return fail(err, errlen, "attestation.x509 must be an object");
    *obj = x;
    return 0;
}

/* attestation.symmetricKey.{primaryKey,secondaryKey}: given, kept from `existing` (API), or
 * generated (API); the storage form must hold both. */
static int symkeys_from_json(const cJSON *k, const struct dps_symkeys *existing,
                             enum dps_json_mode mode, struct dps_symkeys *out, char *err,
                             size_t errlen)
{
    static const char *const names[2] = {"primaryKey", "secondaryKey"};
    for (int i = 0; i < 2; i++) {
        char *dst = i ? out->secondary : out->primary;
        const char *old = existing ? (i ? existing->secondary : existing->primary) : "";
        const char *v = NULL;
        char what[48];
        snprintf(what, sizeof what, "attestation.symmetricKey.%s", names[i]);
        if (k && opt_str(k, names[i], &v, err, errlen) < 0)
            return fail(err, errlen, "%s must be a string", what);
        if (v && *v) {
            if (dps_symkey_check(v, what, err, errlen) < 0)
                return -EINVAL;
            copy_text(dst, DPS_SYMKEY_MAX + 1, v);
        } else if (old[0]) {
            copy_text(dst, DPS_SYMKEY_MAX + 1, old);
        } else if (mode == DPS_JSON_STORAGE) {
            return fail(err, errlen, "%s is missing", what);
        } else if (dps_symkey_generate(dst) < 0) {
            return fail(err, errlen, "cannot generate %s", what);
        }
    }
    return 0;
}

/* The parts of a symmetric-key enrollment or group after its id: keys, common settings and
 * metadata. */
static int symkey_record_from_json(const cJSON *b, const cJSON *x,
                                   const struct dps_symkeys *existing, enum dps_json_mode mode,
                                   struct dps_symkeys *keys, struct dps_common *c,
                                   struct dps_meta *meta, char *err, size_t errlen)
{
    int rc = symkeys_from_json(x, existing, mode, keys, err, errlen);
    if (rc == 0)
        rc = common_from_json(b, c, err, errlen);
    if (rc == 0)
        meta_from_json(b, mode, meta);
    return rc;
}

static void symkeys_to_json(cJSON *att, const struct dps_symkeys *k)
{
    cJSON *o = cJSON_AddObjectToObject(att, "symmetricKey");
    if (o) {
        cJSON_AddStringToObject(o, "primaryKey", k->primary);
        cJSON_AddStringToObject(o, "secondaryKey", k->secondary);
    }
}

/* ---- individual enrollments ---- */

int dps_enrollment_from_json(const cJSON *b, const char *path_id,
                             const struct dps_enrollment *existing, enum dps_json_mode mode,
                             struct dps_enrollment *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(b))
        return fail(err, errlen, "the body must be a JSON object (an individual enrollment)");
    const char *s;
    int rc = opt_str(b, "registrationId", &s, err, errlen);
    if (rc < 0)
        return rc;
    if (!s)
        s = path_id;
    if (!s)
        return fail(err, errlen, "\"registrationId\" is required");
    if (path_id && strcmp(s, path_id) != 0)
        return fail(err, errlen, "registrationId '%s' in the body differs from '%s' in the URL",
                    s, path_id);
    char why[200];
    if (azk_registration_id_check(s, why, sizeof why) != 0)
        return fail(err, errlen, "registrationId '%s': %s", s, why);
    copy_text(out->registration_id, sizeof out->registration_id, s);

    if ((rc = opt_str(b, "deviceId", &s, err, errlen)) < 0)
        return rc;
    if (s && *s) {
        if (azk_device_id_check(s, why, sizeof why) != 0)
            return fail(err, errlen, "deviceId '%s': %s", s, why);
        copy_text(out->device_id, sizeof out->device_id, s);
    }

    const cJSON *x = NULL;
    if ((rc = attestation_of(b, &out->attestation, &x, err, errlen)) < 0)
        return rc;
    if (out->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        rc = symkey_record_from_json(b, x, existing ? &existing->keys : NULL, mode, &out->keys,
                                     &out->c, &out->meta, err, errlen);
        if (rc < 0)
            dps_enrollment_clear(out);
        return rc;
    }
    if (item(x, "signingCertificates") || item(x, "caReferences")) {
        const cJSON *sc = item(x, "signingCertificates");
        const cJSON *cr = item(x, "caReferences");
        if ((sc && !cJSON_IsNull(sc)) || (cr && !cJSON_IsNull(cr)))
            return fail(err, errlen,
                        "an individual enrollment takes attestation.x509.clientCertificates "
                        "(the device's own certificate); signingCertificates and caReferences "
                        "belong to enrollment groups");
    }
    const cJSON *cc = item(x, "clientCertificates");
    if (!cJSON_IsObject(cc))
        return fail(err, errlen,
                    "attestation.x509.clientCertificates.primary.certificate is required");
    rc = cert_entry(item(cc, "primary"), "clientCertificates.primary",
                    existing ? existing->primary_pem : NULL, &out->primary_pem, err, errlen);
    if (rc == 0 && !out->primary_pem)
        rc = fail(err, errlen,
                  "attestation.x509.clientCertificates.primary.certificate is required");
    if (rc == 0)
        rc = cert_entry(item(cc, "secondary"), "clientCertificates.secondary",
                        existing ? existing->secondary_pem : NULL, &out->secondary_pem, err,
                        errlen);
    if (rc == 0)
        rc = common_from_json(b, &out->c, err, errlen);
    if (rc < 0) {
        dps_enrollment_clear(out);
        return rc;
    }
    meta_from_json(b, mode, &out->meta);
    return 0;
}

cJSON *dps_enrollment_to_json(const struct dps_enrollment *e, const struct dps_registration *reg,
                              enum dps_json_mode mode)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "registrationId", e->registration_id);
    if (e->device_id[0])
        cJSON_AddStringToObject(o, "deviceId", e->device_id);
    if (reg && mode == DPS_JSON_API) {
        cJSON *r = dps_registration_to_json(reg, DPS_JSON_API);
        if (r)
            cJSON_AddItemToObject(o, "registrationState", r);
    }
    cJSON *att = cJSON_AddObjectToObject(o, "attestation");
    if (e->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        cJSON_AddStringToObject(att, "type", "symmetricKey");
        symkeys_to_json(att, &e->keys);
    } else {
        cJSON_AddStringToObject(att, "type", "x509");
        cJSON *x = cJSON_AddObjectToObject(att, "x509");
        cJSON *cc = cJSON_AddObjectToObject(x, "clientCertificates");
        if (e->primary_pem)
            cJSON_AddItemToObject(cc, "primary", cert_entry_json(e->primary_pem, mode));
        if (e->secondary_pem)
            cJSON_AddItemToObject(cc, "secondary", cert_entry_json(e->secondary_pem, mode));
    }
    common_to_json(o, &e->c);
    meta_to_json(o, &e->meta, mode, "createdDateTimeUtc", "lastUpdatedDateTimeUtc");
    return o;
}

/* ---- enrollment groups ---- */

static int ca_ref(const cJSON *refs, const char *k, char out[HUB_CA_NAME_MAX + 1], char *err,
                  size_t errlen)
{
    const char *s;
    int rc = opt_str(refs, k, &s, err, errlen);
    if (rc < 0)
        return fail(err, errlen, "caReferences.%s must be the name of a DPS certificate", k);
    out[0] = '\0';
    if (s && *s && copy_text(out, HUB_CA_NAME_MAX + 1, s) < 0)
        return fail(err, errlen, "caReferences.%s is longer than %d characters", k,
                    HUB_CA_NAME_MAX);
    return 0;
}

int dps_group_from_json(const cJSON *b, const char *path_id, const struct dps_group *existing,
                        enum dps_json_mode mode, struct dps_group *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(b))
        return fail(err, errlen, "the body must be a JSON object (an enrollment group)");
    const char *s;
    int rc = opt_str(b, "enrollmentGroupId", &s, err, errlen);
    if (rc < 0)
        return rc;
    if (!s)
        s = path_id;
    if (!s)
        return fail(err, errlen, "\"enrollmentGroupId\" is required");
    if (path_id && strcmp(s, path_id) != 0)
        return fail(err, errlen,
                    "enrollmentGroupId '%s' in the body differs from '%s' in the URL", s,
                    path_id);
    if ((rc = dps_group_id_check(s, err, errlen)) < 0)
        return rc;
    copy_text(out->group_id, sizeof out->group_id, s);

    const cJSON *x = NULL;
    if ((rc = attestation_of(b, &out->attestation, &x, err, errlen)) < 0)
        return rc;
    if (out->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        rc = symkey_record_from_json(b, x, existing ? &existing->keys : NULL, mode, &out->keys,
                                     &out->c, &out->meta, err, errlen);
        if (rc < 0)
            dps_group_clear(out);
        return rc;
    }
    const cJSON *sc = item(x, "signingCertificates");
    const cJSON *cr = item(x, "caReferences");
    const cJSON *cc = item(x, "clientCertificates");
    if (cc && !cJSON_IsNull(cc))
        return fail(err, errlen,
                    "an enrollment group takes attestation.x509.signingCertificates (a root or "
                    "intermediate) or caReferences; clientCertificates belong to individual "
                    "enrollments");
    bool has_sc = sc && !cJSON_IsNull(sc), has_cr = cr && !cJSON_IsNull(cr);
    if (has_sc == has_cr)
        return fail(err, errlen,
                    "give exactly one of attestation.x509.signingCertificates and "
                    "attestation.x509.caReferences");
    if (has_sc) {
        if (!cJSON_IsObject(sc))
            return fail(err, errlen, "attestation.x509.signingCertificates must be an object");
        rc = cert_entry(item(sc, "primary"), "signingCertificates.primary",
                        existing ? existing->primary_pem : NULL, &out->primary_pem, err, errlen);
        if (rc == 0 && !out->primary_pem)
            rc = fail(err, errlen,
                      "attestation.x509.signingCertificates.primary.certificate is required");
        if (rc == 0)
            rc = cert_entry(item(sc, "secondary"), "signingCertificates.secondary",
                            existing ? existing->secondary_pem : NULL, &out->secondary_pem, err,
                            errlen);
    } else {
        if (!cJSON_IsObject(cr))
            return fail(err, errlen, "attestation.x509.caReferences must be an object");
        rc = ca_ref(cr, "primary", out->ca_primary, err, errlen);
        if (rc == 0)
            rc = ca_ref(cr, "secondary", out->ca_secondary, err, errlen);
        if (rc == 0 && !out->ca_primary[0])
            rc = fail(err, errlen, "attestation.x509.caReferences.primary is required");
    }
    if (rc == 0)
        rc = common_from_json(b, &out->c, err, errlen);
    if (rc < 0) {
        dps_group_clear(out);
        return rc;
    }
    meta_from_json(b, mode, &out->meta);
    return 0;
}

static void group_x509_to_json(cJSON *x, const struct dps_group *g, enum dps_json_mode mode)
{
    if (dps_group_uses_ca_refs(g)) {
        cJSON *cr = cJSON_AddObjectToObject(x, "caReferences");
        cJSON_AddStringToObject(cr, "primary", g->ca_primary);
        if (g->ca_secondary[0])
            cJSON_AddStringToObject(cr, "secondary", g->ca_secondary);
        else
            cJSON_AddNullToObject(cr, "secondary");
    } else {
        cJSON *sc = cJSON_AddObjectToObject(x, "signingCertificates");
        if (g->primary_pem)
            cJSON_AddItemToObject(sc, "primary", cert_entry_json(g->primary_pem, mode));
        if (g->secondary_pem)
            cJSON_AddItemToObject(sc, "secondary", cert_entry_json(g->secondary_pem, mode));
    }
}

cJSON *dps_group_to_json(const struct dps_group *g, enum dps_json_mode mode)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "enrollmentGroupId", g->group_id);
    cJSON *att = cJSON_AddObjectToObject(o, "attestation");
    if (g->attestation == DPS_ATTEST_SYMMETRIC_KEY) {
        cJSON_AddStringToObject(att, "type", "symmetricKey");
        symkeys_to_json(att, &g->keys);
    } else {
        cJSON_AddStringToObject(att, "type", "x509");
        group_x509_to_json(cJSON_AddObjectToObject(att, "x509"), g, mode);
    }
    common_to_json(o, &g->c);
    meta_to_json(o, &g->meta, mode, "createdDateTimeUtc", "lastUpdatedDateTimeUtc");
    return o;
}

/* ---- DPS certificates ---- */

int dps_ca_from_json(const cJSON *b, const char *path_name, enum dps_json_mode mode,
                     struct dps_ca *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(b))
        return fail(err, errlen, "the body must be a JSON object");
    const char *name = NULL;
    int rc = opt_str(b, "name", &name, err, errlen);
    if (rc < 0)
        return rc;
    if (!name)
        name = path_name;
    if (!name || !*name)
        return fail(err, errlen, "the certificate name is required");
    if (path_name && strcmp(name, path_name) != 0)
        return fail(err, errlen, "name '%s' in the body differs from '%s' in the URL", name,
                    path_name);
    if (copy_text(out->name, sizeof out->name, name) < 0)
        return fail(err, errlen, "the certificate name is longer than %d characters",
                    HUB_CA_NAME_MAX);
    const cJSON *props = item(b, "properties");
    const char *pem = NULL;
    if ((rc = opt_str(b, "certificate", &pem, err, errlen)) < 0)
        return rc;
    if (!pem && cJSON_IsObject(props) &&
        (rc = opt_str(props, "certificate", &pem, err, errlen)) < 0)
        return rc;
    if (!pem)
        return fail(err, errlen, "\"certificate\" (PEM text of the CA) is required");
    if ((rc = dps_ca_set_pem(out, pem, err, errlen)) < 0)
        return rc;
    if (mode == DPS_JSON_STORAGE) {
        bool v = false;
        opt_bool(b, "isVerified", false, &v, NULL, 0);
        out->verified = v;
        const char *code = NULL;
        opt_str(b, "verificationCode", &code, NULL, 0);
        copy_text(out->verification_code, sizeof out->verification_code, code);
    }
    meta_from_json(b, mode, &out->meta);
    return 0;
}

cJSON *dps_ca_to_json(const struct dps_ca *ca, enum dps_json_mode mode)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", ca->name);
    if (mode == DPS_JSON_STORAGE) {
        cJSON_AddStringToObject(o, "certificate", ca->pem ? ca->pem : "");
        cJSON_AddBoolToObject(o, "isVerified", ca->verified);
        cJSON_AddStringToObject(o, "verificationCode", ca->verification_code);
        meta_to_json(o, &ca->meta, mode, NULL, NULL);
        return o;
    }
    cJSON_AddStringToObject(o, "etag", ca->meta.etag);
    cJSON *p = cJSON_AddObjectToObject(o, "properties");
    cJSON *info = dps_cert_info_json(ca->pem);
    char t[32];
    if (info) {
        const cJSON *v = item(info, "subjectName");
        cJSON_AddStringToObject(p, "subject", cJSON_IsString(v) ? v->valuestring : "");
        v = item(info, "notAfterUtc");
        cJSON_AddStringToObject(p, "expiry", cJSON_IsString(v) ? v->valuestring : "");
        cJSON_Delete(info);
    }
    cJSON_AddStringToObject(p, "thumbprint", ca->thumbprint_sha1);
    cJSON_AddStringToObject(p, "thumbprintSha256", ca->thumbprint_sha256);
    cJSON_AddBoolToObject(p, "isVerified", ca->verified);
    dps_time_text(ca->meta.created_ms, t);
    cJSON_AddStringToObject(p, "created", t);
    dps_time_text(ca->meta.updated_ms, t);
    cJSON_AddStringToObject(p, "updated", t);
    return o;
}

/* ---- registration records ---- */

int dps_registration_from_json(const cJSON *b, enum dps_json_mode mode,
                               struct dps_registration *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(b))
        return fail(err, errlen, "a registration record must be a JSON object");
    const char *s;
    int rc = opt_str(b, "registrationId", &s, err, errlen);
    if (rc < 0)
        return rc;
    if (!s || azk_registration_id_check(s, NULL, 0) != 0)
        return fail(err, errlen, "registrationId is missing or invalid");
    copy_text(out->registration_id, sizeof out->registration_id, s);
    if (opt_str(b, "deviceId", &s, err, errlen) < 0 ||
        copy_text(out->device_id, sizeof out->device_id, s) < 0)
        return fail(err, errlen, "deviceId is invalid");
    if (opt_str(b, "assignedHub", &s, err, errlen) < 0 ||
        copy_text(out->assigned_hub, sizeof out->assigned_hub, s) < 0)
        return fail(err, errlen, "assignedHub is invalid");
    if (opt_str(b, "status", &s, err, errlen) < 0 || (s && reg_status_parse(s, &out->status) < 0))
        return fail(err, errlen, "status is invalid");
    if (opt_str(b, "substatus", &s, err, errlen) < 0 ||
        (s && reg_substatus_parse(s, &out->substatus) < 0))
        return fail(err, errlen, "substatus is invalid");
    const cJSON *v = item(b, "errorCode");
    if (cJSON_IsNumber(v))
        out->error_code = v->valueint;
    if (opt_str(b, "errorMessage", &s, err, errlen) < 0)
        return -EINVAL;
    if (s)
        snprintf(out->error_message, sizeof out->error_message, "%s", s);
    const cJSON *x = item(b, "x509");
    if (cJSON_IsObject(item(b, "symmetricKey"))) {
        x = item(b, "symmetricKey");
        out->attestation = DPS_ATTEST_SYMMETRIC_KEY;
    }
    if (cJSON_IsObject(x) && opt_str(x, "enrollmentGroupId", &s, NULL, 0) == 0 && s)
        copy_text(out->group_id, sizeof out->group_id, s);
    if (mode == DPS_JSON_STORAGE) {
        if (opt_str(b, "sha1", &s, NULL, 0) == 0 && s)
            copy_text(out->thumbprint_sha1, sizeof out->thumbprint_sha1, s);
        if (opt_str(b, "sha256", &s, NULL, 0) == 0 && s)
            copy_text(out->thumbprint_sha256, sizeof out->thumbprint_sha256, s);
    }
    const cJSON *p = item(b, "payload");
    if (p && !cJSON_IsNull(p)) {
        out->payload = cJSON_PrintUnformatted(p);
        if (!out->payload)
            return -ENOMEM;
    }
    meta_from_json(b, mode, &out->meta);
    return 0;
}

cJSON *dps_registration_to_json(const struct dps_registration *r, enum dps_json_mode mode)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *x = cJSON_AddObjectToObject(
        o, r->attestation == DPS_ATTEST_SYMMETRIC_KEY ? "symmetricKey" : "x509");
    if (r->group_id[0])
        cJSON_AddStringToObject(x, "enrollmentGroupId", r->group_id);
    cJSON_AddStringToObject(o, "registrationId", r->registration_id);
    char t[32];
    if (mode == DPS_JSON_API) {
        dps_time_text(r->meta.created_ms, t);
        cJSON_AddStringToObject(o, "createdDateTimeUtc", t);
    }
    /* assignedHub and deviceId: both or neither (the C SDK's parser insists). */
    if (r->assigned_hub[0] && r->device_id[0]) {
        cJSON_AddStringToObject(o, "assignedHub", r->assigned_hub);
        cJSON_AddStringToObject(o, "deviceId", r->device_id);
    }
    cJSON_AddStringToObject(o, "status", dps_reg_status_name(r->status));
    if (r->substatus != DPS_SUB_NONE)
        cJSON_AddStringToObject(o, "substatus", dps_reg_substatus_name(r->substatus));
    if (r->error_code) {
        cJSON_AddNumberToObject(o, "errorCode", r->error_code);
        cJSON_AddStringToObject(o, "errorMessage", r->error_message);
    }
    if (mode == DPS_JSON_STORAGE) {
        cJSON_AddStringToObject(o, "sha1", r->thumbprint_sha1);
        cJSON_AddStringToObject(o, "sha256", r->thumbprint_sha256);
        meta_to_json(o, &r->meta, mode, NULL, NULL);
    } else {
        dps_time_text(r->meta.updated_ms, t);
        cJSON_AddStringToObject(o, "lastUpdatedDateTimeUtc", t);
        cJSON_AddStringToObject(o, "etag", r->meta.etag);
    }
    if (r->payload) {
        cJSON *p = cJSON_Parse(r->payload);
        if (p)
            cJSON_AddItemToObject(o, "payload", p);
    }
    return o;
}

/*
 * Device Provisioning Service (DPS) model: individual enrollments, enrollment groups, DPS
 * verified CAs (separate from the hub's) and registration records, with JSON to and from
 * Azure's shapes (the DPS service REST API on Microsoft Learn; api-version 2021-10-01).
 *
 * Every struct owns its heap parts (char * fields): copy with dps_*_copy(), free them with
 * dps_*_clear() (the struct itself is the caller's). A zeroed struct is a valid empty value.
 *
 * JSON:
 *  - dps_*_from_json() parses a service PUT body with validation; on failure it returns
 *    -EINVAL and writes a one-line message naming the field (for the 400 response).
 *    `path_id` (may be NULL) is the id from the URL: the body's id must equal it when given,
 *    and it is used when the body has none. `existing` (may be NULL) is the stored entry:
 *    a certificate given only as {"info":{...}} (what a GET returns) keeps the stored PEM
 *    when the info's thumbprint matches it, so a GET result can be PUT back.
 *    The body's "etag" is copied into meta.etag (the service uses it as If-Match when no
 *    header is given); createdDateTimeUtc / lastUpdatedDateTimeUtc / registrationState are
 *    server fields and ignored.
 *    Attestation "x509" or "symmetricKey" ({"primaryKey","secondaryKey"}: base64, 16 to 64
 *    bytes each). In API mode a key not given (absent, null or "") keeps the stored one
 *    (`existing` with symmetric keys) or is generated (64 random bytes, as Azure does); "tpm"
 *    is refused (DPS does not support TPM over MQTT).
 *  - dps_*_to_json() renders a GET response (server fields, per-certificate `info`, no PEM).
 *    DPS_JSON_STORAGE renders the form the store persists (PEMs and server fields, read back
 *    by dps_*_from_json with DPS_JSON_STORAGE).
 */
#ifndef AZK_HUB_DPS_MODEL_H
#define AZK_HUB_DPS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "hub/iothub/identity.h"

#define DPS_REG_ID_MAX 64      /* registration id (AZK_REGISTRATION_ID_MAX) */
#define DPS_GROUP_ID_MAX 128   /* enrollment group id */
#define DPS_HOST_MAX 255       /* IoT hub host name */
#define DPS_HUBS_MAX 16        /* iotHubs entries */
#define DPS_ERRMSG_MAX 256

/* Server-maintained fields, first member of every DPS record. */
struct dps_meta {
    uint64_t etag_counter;         /* 0 at create, +1 per replace */
    char etag[HUB_ETAG_MAX + 1];   /* hub_etag_from_counter() text */
    int64_t created_ms;            /* Unix ms */
    int64_t updated_ms;
};

enum dps_prov_status {
    DPS_STATUS_ENABLED = 0,  /* "enabled" (the default) */
    DPS_STATUS_DISABLED = 1, /* "disabled" */
};

enum dps_alloc_policy {
    DPS_ALLOC_HASHED = 0,  /* "hashed" (the default): evenly weighted */
    DPS_ALLOC_STATIC = 1,  /* "static": iotHubHostName, or the single entry of iotHubs */
    DPS_ALLOC_GEO = 2,     /* "geoLatency": one region here, allocated like hashed */
    DPS_ALLOC_CUSTOM = 3,  /* "custom": a webhook picks the hub (dps_webhook.h) */
};

#define DPS_WEBHOOK_URL_MAX 1024
#define DPS_API_VERSION_MAX 32

struct dps_reprovision_policy {
    bool update_hub_assignment; /* default true */
    bool migrate_device_data;   /* default true */
};

/* Fields an individual enrollment and a group share. */
struct dps_common {
    enum dps_prov_status status;
    enum dps_alloc_policy allocation;
    char iot_hub_host_name[DPS_HOST_MAX + 1];       /* "" = none */
    char iot_hubs[DPS_HUBS_MAX][DPS_HOST_MAX + 1];  /* "iotHubs" */
    size_t n_iot_hubs;
    struct dps_reprovision_policy reprovision;
    char *initial_twin;    /* JSON object text {"tags":{},"properties":{"desired":{}}}, or NULL */
    bool iot_edge;         /* capabilities.iotEdge */
    /* customAllocationDefinition (allocationPolicy "custom"): http:// or https:// URL. */
    char webhook_url[DPS_WEBHOOK_URL_MAX + 1];
    char webhook_api_version[DPS_API_VERSION_MAX + 1];
};

/* How an enrollment or group attests devices ("attestation.type"). TPM is refused: DPS does
 * not support it over MQTT. */
enum dps_attestation {
    DPS_ATTEST_X509 = 0,           /* "x509" (records stored before symmetric keys) */
    DPS_ATTEST_SYMMETRIC_KEY = 1,  /* "symmetricKey" */
};

#define DPS_SYMKEY_MAX HUB_SAS_KEY_MAX /* base64 text of a symmetric key */

/* attestation.symmetricKey: base64 keys (never logged). */
struct dps_symkeys {
    char primary[DPS_SYMKEY_MAX + 1];
    char secondary[DPS_SYMKEY_MAX + 1];
};

struct dps_enrollment {
    struct dps_meta meta;
    char registration_id[DPS_REG_ID_MAX + 1];
    char device_id[HUB_DEVICE_ID_MAX + 1];  /* "" = the registration id */
    enum dps_attestation attestation;
    char *primary_pem;     /* attestation.x509.clientCertificates.primary.certificate */
    char *secondary_pem;   /* .secondary, or NULL */
    struct dps_symkeys keys; /* DPS_ATTEST_SYMMETRIC_KEY: the device's own keys */
    struct dps_common c;
};

struct dps_group {
    struct dps_meta meta;
    char group_id[DPS_GROUP_ID_MAX + 1];
    enum dps_attestation attestation;
    /* attestation.x509.signingCertificates (PEM), or caReferences (DPS CA names): one kind. */
    char *primary_pem;
    char *secondary_pem;
    char ca_primary[HUB_CA_NAME_MAX + 1];    /* "" = none */
    char ca_secondary[HUB_CA_NAME_MAX + 1];
    /* DPS_ATTEST_SYMMETRIC_KEY: the group keys; a device's key is derived (dps_symkey.h). */
    struct dps_symkeys keys;
    struct dps_common c;
};

/* A CA uploaded to DPS ("certificates" resource of the provisioning service). */
struct dps_ca {
    struct dps_meta meta;
    char name[HUB_CA_NAME_MAX + 1];
    char *pem;
    char thumbprint_sha1[41];                 /* uppercase hex (set by dps_ca_set_pem) */
    char thumbprint_sha256[65];
    bool verified;                            /* proof of possession done */
    char verification_code[HUB_CA_CODE_MAX + 1];
};

enum dps_reg_status {
    DPS_REG_UNASSIGNED = 0,
    DPS_REG_ASSIGNING,
    DPS_REG_ASSIGNED,
    DPS_REG_FAILED,
    DPS_REG_DISABLED,
};

enum dps_reg_substatus {
    DPS_SUB_NONE = 0,
    DPS_SUB_INITIAL_ASSIGNMENT,     /* "initialAssignment" */
    DPS_SUB_DEVICE_DATA_MIGRATED,   /* "deviceDataMigrated" */
    DPS_SUB_DEVICE_DATA_RESET,      /* "deviceDataReset" */
    DPS_SUB_REPROVISIONED_INITIAL,  /* "reprovisionedToInitialAssignment" */
};

/* Registration record (DeviceRegistrationState), one per registration id. */
struct dps_registration {
    struct dps_meta meta;                  /* created_ms = createdDateTimeUtc */
    char registration_id[DPS_REG_ID_MAX + 1];
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char assigned_hub[DPS_HOST_MAX + 1];
    enum dps_reg_status status;
    enum dps_reg_substatus substatus;
    int error_code;                        /* 0 = none */
    char error_message[DPS_ERRMSG_MAX];
    char group_id[DPS_GROUP_ID_MAX + 1];   /* the group that matched, "" = individual */
    enum dps_attestation attestation;      /* how the device attested ("x509" / "symmetricKey") */
    char thumbprint_sha1[41];              /* leaf registered with (uppercase hex) */
    char thumbprint_sha256[65];
    char *payload;                         /* JSON text, or NULL */
};

/* ---- heap management ---- */

void dps_enrollment_clear(struct dps_enrollment *e);
int dps_enrollment_copy(struct dps_enrollment *dst, const struct dps_enrollment *src);
void dps_group_clear(struct dps_group *g);
int dps_group_copy(struct dps_group *dst, const struct dps_group *src);
void dps_ca_clear(struct dps_ca *ca);
int dps_ca_copy(struct dps_ca *dst, const struct dps_ca *src);
void dps_registration_clear(struct dps_registration *r);
int dps_registration_copy(struct dps_registration *dst, const struct dps_registration *src);

/* Sets a CA's certificate (exactly one; PEM, base64 of PEM or base64 of DER: cert_text.h),
 * stored as PEM, and its thumbprints. Returns 0, -EINVAL (err says why), -ENOMEM. */
int dps_ca_set_pem(struct dps_ca *ca, const char *text, char *err, size_t errlen);

/* Which group attestation: true when the group uses caReferences. */
static inline bool dps_group_uses_ca_refs(const struct dps_group *g)
{
    return g->ca_primary[0] != '\0' || g->ca_secondary[0] != '\0';
}

/* The device id an individual enrollment assigns ("" deviceId -> registration id). */
const char *dps_enrollment_device_id(const struct dps_enrollment *e);

/* ---- names ---- */

const char *dps_reg_status_name(enum dps_reg_status s);        /* "assigned", ... */
const char *dps_reg_substatus_name(enum dps_reg_substatus s);  /* "initialAssignment", "" */
const char *dps_alloc_policy_name(enum dps_alloc_policy p);    /* "hashed", ... */

/* Enrollment group id rule: 1..128 ASCII letters, digits and - . _ :. Returns 0 or -EINVAL. */
int dps_group_id_check(const char *id, char *err, size_t errlen);

/* Azure's time text with 7 fractional digits: "2020-04-10T03:11:13.0270000Z". */
void dps_time_text(int64_t ms, char out[32]);

/* ---- JSON ---- */

enum dps_json_mode {
    DPS_JSON_API = 0,      /* service request / response */
    DPS_JSON_STORAGE = 1,  /* what the store persists */
};

int dps_enrollment_from_json(const cJSON *body, const char *path_id,
                             const struct dps_enrollment *existing, enum dps_json_mode mode,
                             struct dps_enrollment *out, char *err, size_t errlen);
/* `reg` (may be NULL) is rendered as "registrationState". */
cJSON *dps_enrollment_to_json(const struct dps_enrollment *e, const struct dps_registration *reg,
                              enum dps_json_mode mode);

int dps_group_from_json(const cJSON *body, const char *path_id, const struct dps_group *existing,
                        enum dps_json_mode mode, struct dps_group *out, char *err,
                        size_t errlen);
cJSON *dps_group_to_json(const struct dps_group *g, enum dps_json_mode mode);

/* DPS certificate resource: API form {"name","etag","properties":{"subject","expiry",
 * "thumbprint","thumbprintSha256"?, "isVerified","created","updated","certificate"?}}.
 * from_json (API) takes {"certificate":"PEM"} or {"properties":{"certificate":"PEM"}}. */
int dps_ca_from_json(const cJSON *body, const char *path_name, enum dps_json_mode mode,
                     struct dps_ca *out, char *err, size_t errlen);
cJSON *dps_ca_to_json(const struct dps_ca *ca, enum dps_json_mode mode);

/* DeviceRegistrationState: registrationId, createdDateTimeUtc, assignedHub, deviceId, status,
 * substatus, errorCode, errorMessage, lastUpdatedDateTimeUtc, etag, payload, and the
 * attestation's object: "x509":{"enrollmentGroupId"?} or "symmetricKey":{"enrollmentGroupId"?}
 * (the group that matched, if any). */
int dps_registration_from_json(const cJSON *body, enum dps_json_mode mode,
                               struct dps_registration *out, char *err, size_t errlen);
cJSON *dps_registration_to_json(const struct dps_registration *r, enum dps_json_mode mode);

/* Azure's X509CertificateInfo of the first certificate of `pem`: {subjectName, sha1Thumbprint,
 * sha256Thumbprint, issuerName, notBeforeUtc, notAfterUtc, serialNumber, version}.
 * NULL when the PEM does not parse. */
cJSON *dps_cert_info_json(const char *pem);

#endif

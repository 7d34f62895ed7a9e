/* SharedAccessSignature tokens of the service API (and of the admin client), and IoT Hub
 * connection strings.
 *
 * Token: "SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64>&se=<unix
 * seconds>&skn=<policy>" (fields in any order). Signature: base64(HMAC-SHA256(base64-decoded
 * key, url-encoded(sr) + "\n" + se)). Nothing here logs; callers never log keys or `sig`. */
#ifndef AZK_HUB_SAS_H
#define AZK_HUB_SAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUB_SAS_SR_MAX 512
#define HUB_SAS_SIG_MAX 128
#define HUB_SAS_SKN_MAX 64
#define HUB_SAS_TOKEN_MAX 1024

/* A parsed token; every field percent-decoded. */
struct hub_sas_token {
    char sr[HUB_SAS_SR_MAX + 1];       /* decoded resource, e.g. "localhost" */
    char sr_raw[HUB_SAS_SR_MAX + 1];   /* as sent (still encoded) */
    char sig[HUB_SAS_SIG_MAX + 1];     /* decoded base64 signature */
    char skn[HUB_SAS_SKN_MAX + 1];     /* policy name ("" when absent) */
    int64_t se;                        /* expiry, Unix seconds */
};

/* Parses "SharedAccessSignature k=v&k=v..." (the scheme word is required, case-sensitive as
 * Azure's; leading/trailing blanks are ignored). sr, sig and se are required; skn optional.
 * Returns 0, -EINVAL (not a SharedAccessSignature), -EBADMSG (a field missing, repeated,
 * malformed or too long). */
int hub_sas_parse(const char *text, struct hub_sas_token *out);

/* base64(HMAC-SHA256(decoded key, url-encoded(sr) + "\n" + se)) into `sig` (NUL-terminated;
 * 45 bytes are enough). `sr` is the decoded resource. Returns 0, -EINVAL (bad base64 key),
 * -ENOBUFS. */
int hub_sas_sign(const char *key_b64, const char *sr, int64_t se, char *sig, size_t sig_size);

/* Whether token `t` was signed with `key_b64` (over sr as sent, or over its canonical
 * encoding); the comparison is constant-time. false for a NULL, empty or malformed key. */
bool hub_sas_signed_with(const struct hub_sas_token *t, const char *key_b64);

/* Decodes a base64 key (standard alphabet, padded) into `out`. Returns the number of bytes,
 * or -EINVAL (not base64, empty, or longer than out_size). */
int hub_sas_key_decode(const char *key_b64, unsigned char *out, size_t out_size);

/* A whole token for `sr` (decoded) with policy `skn` (NULL/"" = none), expiring at `se`.
 * Returns the length, -EINVAL, -ENOBUFS. */
int hub_sas_create(const char *key_b64, const char *sr, const char *skn, int64_t se, char *out,
                   size_t out_size);

/* The service API's policies, both signed with the hub's one service key (<data>/pki/service.key):
 * iothubowner (IoT Hub's name; every endpoint) and provisioningserviceowner (DPS's name; the
 * DPS endpoints only -- /enrollments, /enrollmentGroups, /registrations, /azkit/dps/...). So the
 * connection string `serve` prints works for the IoT Hub service SDK as it is and for the DPS
 * service SDK with either key name. */
#define HUB_SAS_POLICY_HUB "iothubowner"
#define HUB_SAS_POLICY_DPS "provisioningserviceowner"

/* Endpoint families of the service API. */
enum hub_sas_scope {
    HUB_SAS_SCOPE_HUB = 0, /* IoT Hub endpoints (/devices, /twins, /azkit/...) */
    HUB_SAS_SCOPE_DPS = 1, /* Device Provisioning Service endpoints */
};

/* Whether the policy named `name` may use endpoints of `scope` (see above). */
bool hub_sas_policy_allows(const char *name, enum hub_sas_scope scope);

/* A shared access policy: name and base64 key. */
struct hub_sas_policy {
    const char *name;
    const char *key_b64;
};

enum hub_sas_result {
    HUB_SAS_OK = 0,
    HUB_SAS_MALFORMED,      /* missing, not a SharedAccessSignature, or unparsable */
    HUB_SAS_UNKNOWN_POLICY, /* skn names no policy of this hub (or is missing) */
    HUB_SAS_WRONG_RESOURCE, /* sr does not name this hub */
    HUB_SAS_EXPIRED,        /* se <= now */
    HUB_SAS_BAD_SIGNATURE,  /* HMAC mismatch */
    HUB_SAS_WRONG_SCOPE,    /* a valid token whose policy has no rights on the endpoint */
};

/* Stable text of a result for logs and error messages (no secrets). */
const char *hub_sas_result_text(enum hub_sas_result r);

/*
 * Verifies an Authorization header value. The resource must name one of `hosts`
 * (case-insensitive), optionally with ":port", a "https://", "sb://", "amqps://" or "amqp://"
 * scheme, and/or a "/..." path
 * (e.g. "host/devices/dev1"). The policy must be one of `policies` (by skn). Signature check
 * is constant-time; both the sent encoding of sr and the canonical one are accepted; for an
 * "sb://" resource also a signature made with the key's text as the HMAC key (the Event Hubs
 * SDKs' rule).
 * `matched` (may be NULL) receives the policy on success.
 */
enum hub_sas_result hub_sas_verify(const char *header, const struct hub_sas_policy *policies,
                                   size_t policy_count, const char *const *hosts,
                                   size_t host_count, int64_t now_s,
                                   const struct hub_sas_policy **matched);

/* A device with symmetric keys, as its token is checked. */
struct hub_sas_device {
    const char *device_id;
    const char *primary_key;   /* base64; "" or NULL: none */
    const char *secondary_key;
};

/*
 * Verifies the token a device sends as its MQTT CONNECT password, as IoT Hub does
 * ("Control access to IoT Hub with shared access signatures", Microsoft Learn): the resource
 * names one of `hosts` (the hub; ":port" and "https://" allowed) followed by
 * "/devices/<device id>"; without skn it is signed with the device's primary or secondary key;
 * with skn it must name `policy` (may be NULL: none accepted), a hub-level policy that may
 * connect devices, and then the resource may also be the hub alone. `*expires_s` receives the
 * token's expiry on success (the connection must end then).
 */
enum hub_sas_result hub_sas_verify_device(const char *password, const struct hub_sas_device *dev,
                                          const struct hub_sas_policy *policy,
                                          const char *const *hosts, size_t host_count,
                                          int64_t now_s, int64_t *expires_s);

/* "HostName=..;SharedAccessKeyName=..;SharedAccessKey=.." (any order; DeviceId etc. ignored;
 * keys case-sensitive as Azure's; values may contain '='). */
struct hub_conn_string {
    char host_name[256];
    char key_name[HUB_SAS_SKN_MAX + 1];
    char key[128];
};

/* Returns 0, -EBADMSG (missing HostName or SharedAccessKey, or a part without '='),
 * -ENAMETOOLONG. */
int hub_conn_string_parse(const char *s, struct hub_conn_string *out);

#endif

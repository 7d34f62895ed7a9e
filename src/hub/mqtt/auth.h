/* The X.509 verdict after CONNECT, decided as Azure IoT Hub decides it.
 *
 * A pure function: the certificate chain the device sent in the TLS handshake, its registry
 * entry, the device id from the CONNECT (username / client id), the verified CAs and the
 * current time go in; accept, or refuse with a reason and a message, comes out. No I/O, no
 * global state; the same inputs always give the same verdict.
 *
 *  - selfSigned: the SHA-1 (40 hex digits) or SHA-256 (64 hex digits) of the leaf's DER must
 *    equal the primary or the secondary thumbprint (case-insensitive; ':', spaces and '-' are
 *    ignored). The chain is not checked, nor is the CN (Azure does not check it).
 *  - certificateAuthority: the leaf plus the intermediates the device sent (untrusted) must
 *    chain to a verified CA, which may itself be an intermediate (partial chain); the leaf CN
 *    must equal the device id ("deviceId/moduleId" for a module: pass that as device_id).
 *  - Always: the device must be registered and enabled, and every certificate used must be
 *    within its validity period at `now`.
 */
#ifndef AZK_HUB_AUTH_H
#define AZK_HUB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

/* Authentication types of a registry entry (Azure's `authentication.type`). */
enum hub_x509_type {
    HUB_X509_TYPE_UNKNOWN = 0,     /* anything else: refused with HUB_X509_REFUSE_AUTH_TYPE */
    HUB_X509_TYPE_SAS = 1,         /* "sas": not an X.509 device */
    HUB_X509_TYPE_SELF_SIGNED = 2, /* "selfSigned": thumbprints */
    HUB_X509_TYPE_CA = 3,          /* "certificateAuthority": chain to a verified CA + CN */
    HUB_X509_TYPE_NONE = 4,        /* "none" */
};

/* The registry entry as the verdict needs it (the store's record is adapted to this). */
struct hub_x509_device {
    enum hub_x509_type type;
    const char *primary_thumbprint;   /* selfSigned: hex SHA-1 or SHA-256, or NULL / "" */
    const char *secondary_thumbprint; /* same */
    bool enabled;                     /* status "enabled" */
};

/* Why a device was refused. */
enum hub_x509_reason {
    HUB_X509_OK = 0,                  /* accepted */
    HUB_X509_REFUSE_NOT_REGISTERED,        /* no registry entry for the device id */
    HUB_X509_REFUSE_DISABLED,              /* the device is disabled */
    HUB_X509_REFUSE_AUTH_TYPE,             /* unknown authentication type */
    HUB_X509_REFUSE_NOT_X509,              /* the device uses SAS (or none), not X.509 */
    HUB_X509_REFUSE_NO_CERTIFICATE,        /* no client certificate in the TLS handshake */
    HUB_X509_REFUSE_NOT_YET_VALID,         /* a certificate is not valid yet */
    HUB_X509_REFUSE_EXPIRED,               /* a certificate has expired */
    HUB_X509_REFUSE_THUMBPRINT,            /* selfSigned: the leaf matches neither thumbprint */
    HUB_X509_REFUSE_MISSING_INTERMEDIATE,  /* CA: the device sent only its leaf, whose issuer is
                                             not a verified CA (the intermediate is missing) */
    HUB_X509_REFUSE_CA_NOT_VERIFIED,       /* CA: the chain does not reach a verified CA */
    HUB_X509_REFUSE_CHAIN_INVALID,         /* CA: bad signature, issuer not a CA, path length */
    HUB_X509_REFUSE_CN_MISMATCH,           /* CA: leaf CN != device id */
    HUB_X509_REFUSE_INTERNAL,              /* out of memory, unparsable verified CA */
};

/* Verified CAs parsed once into an X509_STORE (a hub keeps one and rebuilds it only when its CA
 * table changes, iothub.h), so a CONNECT does not parse PEM text. */
struct hub_x509_cas {
    X509_STORE *store; /* NULL until loaded */
    int count;         /* certificates in it (a damaged PEM adds none) */
};

/* Parses the PEM texts (each may hold several certificates) into `cas`, replacing what it held.
 * Returns 0, or -ENOMEM (then `cas` is empty). */
int hub_x509_cas_load(struct hub_x509_cas *cas, const char *const *pems, size_t n);
/* Frees what `cas` holds (safe on a zeroed or cleared struct). */
void hub_x509_cas_clear(struct hub_x509_cas *cas);

/* The inputs. */
struct hub_x509_input {
    X509 *leaf;                          /* the device's certificate, or NULL when none */
    STACK_OF(X509) *intermediates;       /* what it sent after the leaf (untrusted), or NULL */
    const struct hub_x509_device *device; /* NULL: not registered */
    const char *device_id;               /* from the CONNECT (module: "deviceId/moduleId") */
    const struct hub_x509_cas *verified_cas; /* verified CAs, parsed; when NULL, the PEM texts
                                                below are parsed for this decision */
    const char *const *verified_ca_pems; /* verified CAs, PEM text (each may hold several) */
    size_t verified_ca_count;
    time_t now;                          /* the current time */
};

/* The verdict. */
struct hub_x509_verdict {
    bool accepted;
    enum hub_x509_reason reason;
    char message[384];   /* why, naming the certificate and the fix; on success how (e.g.
                            "selfSigned: primary thumbprint (SHA-256)") */
    char leaf_sha1[41];  /* thumbprints of the leaf (uppercase hex), "" when none */
    char leaf_sha256[65];
    char leaf_cn[128];   /* leaf CN, "" when none */
};

/* Decides. Never fails: every problem (including an internal one) is a refusal. */
void hub_x509_decide(const struct hub_x509_input *in, struct hub_x509_verdict *out);

/* "selfSigned" / "certificateAuthority" / "sas" / "none" -> the type (HUB_X509_TYPE_UNKNOWN for
 * anything else, including NULL). */
enum hub_x509_type hub_x509_type_parse(const char *s);

/* Stable short name of a reason, e.g. "thumbprint-mismatch" (for logs and JSON). */
const char *hub_x509_reason_name(enum hub_x509_reason r);

#endif

/*
 * DPS enrollment matching for X.509 attestation, as DPS documents it. A pure function: the
 * registration id, the certificates the device sent in the TLS handshake, the enrollments,
 * groups and DPS verified CAs and the current time go in; the matched enrollment or group,
 * or a refusal with a reason and a message, comes out. No I/O, no global state.
 *
 * Rules, in order:
 *  1. The leaf must be present (none, and the individual enrollment uses symmetric keys:
 *     DPS_REFUSE_NO_TOKEN) and within its validity period.
 *  2. An individual enrollment for the registration id (case-insensitive) comes first:
 *     disabled -> refused DPS_REFUSE_DISABLED (the device sees status "disabled"); symmetric
 *     key attestation -> DPS_REFUSE_WRONG_ATTESTATION (dps_symkey.h matches tokens); the leaf
 *     must equal its primary or secondary client certificate; the leaf CN must equal the
 *     registration id.
 *  3. Otherwise groups, for the first certificate up the chain the device sent that a group
 *     holds (signingCertificates primary/secondary, or caReferences to a DPS CA): the
 *     intermediates are tried in the order sent; a root (self-signed) group certificate also
 *     matches when it issued the topmost certificate sent (devices do not send the root).
 *     A disabled group blocks (no further search). A caReferences CA must be verified. The
 *     chain the device sent must reach the group's certificate (signatures and validity
 *     checked, partial chain allowed). The leaf CN must equal the registration id.
 *  4. Nothing matched -> DPS_REFUSE_NO_ENROLLMENT (DPS 401002). A device that left out the
 *     intermediate a group holds gets DPS_REFUSE_CHAIN_INCOMPLETE instead.
 * Every refusal except DPS_REFUSE_DISABLED is DPS error 401002 ("Invalid certificate").
 */
#ifndef AZK_HUB_DPS_MATCH_H
#define AZK_HUB_DPS_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "hub/dps/dps_model.h"

#define DPS_ERR_UNAUTHORIZED 401002 /* DPS: "Invalid certificate." / not enrolled */

enum dps_match_kind {
    DPS_MATCH_REFUSED = 0,
    DPS_MATCH_INDIVIDUAL = 1,
    DPS_MATCH_GROUP = 2,
};

enum dps_refuse_reason {
    DPS_REFUSE_NONE = 0,
    DPS_REFUSE_NO_CERTIFICATE,     /* no client certificate in the handshake */
    DPS_REFUSE_NO_ENROLLMENT,      /* no individual enrollment, no group in the chain */
    DPS_REFUSE_DISABLED,           /* the matching enrollment / group is disabled */
    DPS_REFUSE_CERT_MISMATCH,      /* individual: leaf is neither client certificate */
    DPS_REFUSE_CN_MISMATCH,        /* leaf CN != registration id */
    DPS_REFUSE_CHAIN_INCOMPLETE,   /* the device did not send the certificate a group holds */
    DPS_REFUSE_CHAIN_INVALID,      /* signature / CA flags / path length */
    DPS_REFUSE_CA_NOT_VERIFIED,    /* caReferences: the DPS CA is missing or not verified */
    DPS_REFUSE_EXPIRED,            /* a certificate expired */
    DPS_REFUSE_NOT_YET_VALID,      /* a certificate is not valid yet */
    DPS_REFUSE_INTERNAL,
    /* Symmetric-key attestation (dps_symkey.h): */
    DPS_REFUSE_NO_TOKEN,           /* a symmetric-key enrollment, no SAS token in CONNECT */
    DPS_REFUSE_TOKEN_MALFORMED,    /* the CONNECT password is not a SharedAccessSignature */
    DPS_REFUSE_TOKEN_RESOURCE,     /* sr is not {idScope}/registrations/{registrationId} */
    DPS_REFUSE_TOKEN_EXPIRED,      /* se is not in the future */
    DPS_REFUSE_TOKEN_SIGNATURE,    /* signed with neither key */
    DPS_REFUSE_WRONG_ATTESTATION,  /* a token for an X.509 enrollment (or the reverse) */
};

struct dps_match_input {
    const char *registration_id;
    X509 *leaf;                       /* NULL: none sent */
    STACK_OF(X509) *intermediates;    /* what the device sent after the leaf; may be NULL */
    const struct dps_enrollment *enrollments;
    size_t n_enrollments;
    const struct dps_group *groups;
    size_t n_groups;
    const struct dps_ca *cas;         /* DPS verified CAs (caReferences) */
    size_t n_cas;
    time_t now;
    /* Symmetric-key attestation (dps_match_symkey): the CONNECT password and the id scope. */
    const char *sas_token;            /* NULL: none sent */
    const char *id_scope;
};

struct dps_match_result {
    enum dps_match_kind kind;
    enum dps_refuse_reason reason;
    int error_code;                   /* 401002 for refusals other than DISABLED; else 0 */
    size_t index;                     /* into enrollments / groups (matched, or the disabled
                                         / refusing entry when known; else SIZE_MAX) */
    bool secondary;                   /* the secondary certificate / CA / key matched */
    enum dps_attestation attestation; /* how the device attested */
    char message[384];
    char leaf_cn[128];
    char leaf_sha1[41];
    char leaf_sha256[65];
};

void dps_match_x509(const struct dps_match_input *in, struct dps_match_result *out);

/* Stable short name of a reason, e.g. "no-enrollment". */
const char *dps_refuse_reason_name(enum dps_refuse_reason r);

/* Fills `r` as a refusal for `why` (DPS 401002 unless the enrollment is disabled) with the
 * message; shared by the X.509 and symmetric-key matching. */
void dps_match_refuse(struct dps_match_result *r, enum dps_refuse_reason why, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

#endif

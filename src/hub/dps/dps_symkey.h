/*
 * DPS symmetric-key attestation (Microsoft Learn: "Symmetric key attestation", "How to
 * provision devices using symmetric key enrollment groups", "Communicate with DPS using the
 * MQTT protocol"). Pure functions, no I/O; keys are never logged and every signature is
 * compared in constant time.
 *
 * The device sends, as its MQTT CONNECT password,
 *   SharedAccessSignature sr={idScope}%2fregistrations%2f{registrationId}&sig=...&se=...
 *                         [&skn=registration]
 * signed as every SAS token (sas.h): base64(HMAC-SHA256(key, url-encoded(sr) "\n" se)).
 * The key is the individual enrollment's primary or secondary key, or for an enrollment
 * group the device key derived from the group's primary or secondary key:
 *   base64(HMAC-SHA256(base64-decoded group key, registrationId)).
 *
 * Matching (dps_match_symkey), in order:
 *  1. The token must parse (else DPS_REFUSE_TOKEN_MALFORMED); skn, when given, must be
 *     "registration"; sr must be "{idScope}/registrations/{registrationId}" (the id scope
 *     and the registration id compared case-insensitively) (DPS_REFUSE_TOKEN_RESOURCE);
 *     se must be in the future (DPS_REFUSE_TOKEN_EXPIRED).
 *  2. An individual enrollment for the registration id (case-insensitive) comes first:
 *     disabled -> DPS_REFUSE_DISABLED; X.509 -> DPS_REFUSE_WRONG_ATTESTATION; signed with
 *     neither key -> DPS_REFUSE_TOKEN_SIGNATURE.
 *  3. Otherwise the symmetric-key groups, in order: the first whose derived primary or
 *     secondary key signed the token matches (a disabled one -> DPS_REFUSE_DISABLED).
 *  4. Nothing -> DPS_REFUSE_NO_ENROLLMENT, or DPS_REFUSE_TOKEN_SIGNATURE when a
 *     symmetric-key group exists.
 * Every refusal except DPS_REFUSE_DISABLED is DPS error 401002.
 */
#ifndef AZK_HUB_DPS_SYMKEY_H
#define AZK_HUB_DPS_SYMKEY_H

#include <stddef.h>

#include "hub/dps/dps_match.h"
#include "hub/dps/dps_model.h"

#define DPS_SYMKEY_BYTES_MIN 16
#define DPS_SYMKEY_BYTES_MAX 64
#define DPS_SYMKEY_GENERATED_BYTES 64  /* what Azure generates */
#define DPS_SYMKEY_SKN "registration"  /* the key name devices send */

/* A new key: 64 random bytes, base64. Returns 0 or -EIO. */
int dps_symkey_generate(char out[DPS_SYMKEY_MAX + 1]);

/* A key as the service takes it: base64 of 16 to 64 bytes. Returns 0 or -EINVAL (err names
 * `what` and the rule; never the key). */
int dps_symkey_check(const char *key_b64, const char *what, char *err, size_t errlen);

/* A group member's device key: base64(HMAC-SHA256(decoded group key, registration id)).
 * Returns 0 or -EINVAL (bad group key). */
int dps_symkey_derive(const char *group_key_b64, const char *registration_id,
                      char out[DPS_SYMKEY_MAX + 1]);

/* The match for a device that sent in->sas_token (see above). On DPS_MATCH_GROUP the device's
 * keys are dps_symkey_derive() of the group's keys. */
void dps_match_symkey(const struct dps_match_input *in, struct dps_match_result *out);

#endif

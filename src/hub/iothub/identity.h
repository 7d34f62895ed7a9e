/* IoT Hub's identifiers and their limits, shared by the registry, DPS and the service API:
 * device ids, X.509 thumbprints, etags. No state: the store and DPS both use these without
 * depending on each other. */
#ifndef AZK_HUB_IDENTITY_H
#define AZK_HUB_IDENTITY_H

#include <stdint.h>

/* ---- limits ------------------------------------------------------------------------------ */

#define HUB_DEVICE_ID_MAX 128       /* characters; Azure's limit */
#define HUB_THUMBPRINT_MAX 64       /* SHA-256 hex; SHA-1 is 40 */
#define HUB_SAS_KEY_MAX 128         /* base64 symmetric key */
#define HUB_STATUS_REASON_MAX 128
#define HUB_GENERATION_ID_MAX 32
#define HUB_ETAG_MAX 32             /* device/CA etag text, e.g. "MA==" */
#define HUB_DEVICE_SCOPE_MAX 256    /* "ms-azure-iot-edge://{deviceId}-{generationId}" */
#define HUB_DEVICE_SCOPE_PREFIX "ms-azure-iot-edge://"
#define HUB_CA_NAME_MAX 128
#define HUB_CA_CODE_MAX 128         /* verification code */
#define HUB_C2D_ID_MAX 128          /* message id */
#define HUB_C2D_QUEUE_MAX 50        /* undelivered + in-flight messages per device (Azure: 50) */
#define HUB_C2D_TOPIC_MAX 4096      /* longest C2D delivery topic (id + property bag) */
#define HUB_MSG_TYPE_MAX 31         /* telemetry message type, e.g. "Telemetry", "Will" */

/* Validates an Azure device id: 1..128 ASCII alphanumerics and - . + % _ # * ? ! ( ) , : = @
 * ; $ '. Returns 0 or -EINVAL. */
int hub_device_id_valid(const char *id);

/* Thumbprint normalisation: removes ':' ' ' '-' separators, uppercases; the result must be 40
 * or 64 hex digits. Empty input gives "" and 0. Returns 0 or -EINVAL. */
int hub_thumbprint_normalise(const char *in, char out[HUB_THUMBPRINT_MAX + 1]);

/* Etag text of a counter as Azure writes device and CA etags: base64 of the decimal number
 * ("MA==" for 0, "MQ==" for 1). */
void hub_etag_from_counter(uint64_t counter, char out[HUB_ETAG_MAX + 1]);

/* Azure's twin etag text: base64 of the counter as 8 big-endian bytes ("AAAAAAAAAAE=" for 1). */
void hub_twin_etag_text(uint64_t etag, char out[HUB_ETAG_MAX + 1]);

#endif

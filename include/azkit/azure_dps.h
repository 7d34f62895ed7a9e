/**
 * @file azure_dps.h
 * @brief Azure IoT Hub Device Provisioning Service (DPS) MQTT strings (portable core):
 *        client id, username, topics — builders and parsers for device and service side.
 *
 * Conventions as in azure_hub.h: span inputs, caller buffers without NUL termination, 0 /
 * -EINVAL / -ENOBUFS (with *out_len = size needed) / -ENOENT / -EBADMSG. The percent-encoding
 * and query helpers (azk_pct_*, azk_prop_*) and request ids (azk_rid_next) of azure_hub.h
 * serve DPS too.
 */
#ifndef AZKIT_AZURE_DPS_H
#define AZKIT_AZURE_DPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/azure_hub.h"
#include "azkit/azure_ids.h"
#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The api-version the builder puts in the DPS username by default. */
#define AZK_DPS_API_VERSION "2019-03-31"
/** The only documented DPS subscription filter. */
#define AZK_DPS_RESPONSE_FILTER "$dps/registrations/res/#"
/** The global device endpoint host. */
#define AZK_DPS_GLOBAL_HOST "global.azure-devices-provisioning.net"

/** Fields of a DPS MQTT username. */
struct azk_dps_username {
    struct azk_span id_scope;        /**< ID scope, e.g. "0ne00000A0A" (ASCII letters, digits). */
    struct azk_span registration_id; /**< Registration id. */
    struct azk_span api_version;     /**< Builder: empty = AZK_DPS_API_VERSION. */
    struct azk_span client_version;  /**< ClientVersion (user agent); builder: plain (it
                                          percent-encodes), parser: raw; empty if absent. */
    struct azk_span model_id;        /**< model-id; same encoding rules; empty if absent. */
};

/**
 * @brief The DPS MQTT client id: the registration id (validated).
 * @param err Why the id was refused (may be NULL).
 * @return 0, -ENOBUFS, -EINVAL.
 */
AZK_API int azk_dps_client_id(struct azk_span registration_id, char *buf, size_t buf_size,
                              size_t *out_len, struct azk_id_error *err);

/**
 * @brief Builds `{idScope}/registrations/{registrationId}/api-version={v}
 *        [&ClientVersion={enc}][&model-id={enc}]` (no `?`, as DPS documents it).
 * @param u   The fields; id scope 1..64 ASCII letters/digits, valid registration id.
 * @param err Why the registration id was refused (may be NULL).
 * @return 0, -ENOBUFS, -EINVAL.
 */
AZK_API int azk_dps_username_build(const struct azk_dps_username *u, char *buf,
                                   size_t buf_size, size_t *out_len, struct azk_id_error *err);

/**
 * @brief Service side: parses a DPS username. Accepts any api-version, an optional `?` before
 *        the query, parameters in any order and unknown parameters (ignored). The registration
 *        id must pass azk_registration_id_validate() except that uppercase letters are
 *        accepted (DPS documents registration ids as case-insensitive).
 * @return 0, -EBADMSG (not `{scope}/registrations/{id}/{query}`, invalid id, no
 *         api-version), -EINVAL (NULLs).
 */
AZK_API int azk_dps_username_parse(struct azk_span username, struct azk_dps_username *out);

/** @brief `$dps/registrations/PUT/iotdps-register/?$rid={rid}`; -EINVAL unless
 *         azk_rid_is_valid(rid). */
AZK_API int azk_dps_register_topic(struct azk_span rid, char *buf, size_t buf_size,
                                   size_t *out_len);

/**
 * @brief `$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={id}`.
 * @param operation_id From the 202 response; must pass azk_rid_is_valid() (DPS operation ids
 *                     look like `4.d0a671905ea5b2c8.e7173b7b-0e54-...`).
 */
AZK_API int azk_dps_operation_status_topic(struct azk_span rid, struct azk_span operation_id,
                                           char *buf, size_t buf_size, size_t *out_len);

/**
 * @brief Service side: `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]`.
 * @param retry_after Seconds, or a negative value for none.
 */
AZK_API int azk_dps_response_topic(int status, struct azk_span rid, int64_t retry_after,
                                   char *buf, size_t buf_size, size_t *out_len);

/** Which DPS topic a parser recognised. */
enum azk_dps_topic_kind {
    AZK_DPS_TOPIC_UNKNOWN = 0,
    AZK_DPS_TOPIC_REGISTER,         /**< device → service: rid */
    AZK_DPS_TOPIC_OPERATION_STATUS, /**< device → service: rid, operation_id */
    AZK_DPS_TOPIC_RESPONSE,         /**< service → device: status, rid, retry_after */
};

/** A parsed DPS topic; spans point into the topic (raw, to be echoed verbatim). */
struct azk_dps_topic {
    enum azk_dps_topic_kind kind;
    struct azk_span rid;          /**< `$rid` value. */
    struct azk_span operation_id; /**< operationId (OPERATION_STATUS). */
    int status;                   /**< RESPONSE: the status segment. */
    bool has_retry_after;         /**< RESPONSE: a retry-after parameter was present. */
    uint32_t retry_after;         /**< RESPONSE: its value in seconds (0 if absent). */
};

/**
 * @brief Service side: classifies a PUBLISH topic from a device (register or operation-status
 *        request; parameters in any order).
 * @return 0, -ENOENT (another topic), -EBADMSG (missing/duplicate `$rid` or operationId,
 *         wildcard, NUL), -EINVAL.
 */
AZK_API int azk_dps_parse_request_topic(struct azk_span topic, struct azk_dps_topic *out);

/**
 * @brief Device side: parses a response topic `$dps/registrations/res/{status}/?...` with
 *        `$rid` and `retry-after` in any order (unknown parameters ignored).
 * @return 0, -ENOENT (another topic), -EBADMSG (bad status, missing `$rid`, non-numeric or
 *         out-of-range retry-after), -EINVAL.
 */
AZK_API int azk_dps_parse_response_topic(struct azk_span topic, struct azk_dps_topic *out);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file azure_payloads.h
 * @brief JSON bodies of DPS registration and IoT Hub twins/methods, built and parsed without
 *        heap by the core's JSON reader/writer. Each format is written once and used by both
 *        the device (build request, parse response) and the hub (parse request, build
 *        response).
 *
 * Conventions of the parsers:
 * - Output fields are spans into the input body: the body must outlive them.
 * - String fields hold the raw contents between the quotes, escapes NOT decoded (use
 *   azk_json_string_eq_str() / azk_json_string_unescape() from json.h when they may contain
 *   `\` escapes). "Raw" JSON fields (payloads, twin sections) hold the complete value text.
 * - An absent field has `ptr == NULL`; a present empty string has a non-NULL ptr and len 0.
 *   A JSON `null` for a string field counts as absent.
 * - Unknown members are skipped (their JSON is still validated). A known member occurring twice,
 *   or with the wrong JSON type, makes the body malformed (-EBADMSG), so no two parsers can
 *   disagree on which duplicate wins.
 * - The whole body is validated strictly (see json.h: UTF-8, escapes, depth ...).
 *
 * Builders take plain (unescaped) UTF-8 text and escape it; they write into `buf`/`buf_size`
 * without a NUL terminator, report the length through `*out_len`, and on -ENOBUFS set
 * `*out_len` to the size needed. Builder fields with `ptr == NULL` are left out.
 */
#ifndef AZKIT_AZURE_PAYLOADS_H
#define AZKIT_AZURE_PAYLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* DPS register request: {"registrationId":"…"[,"payload":<json>]}                          */
/* ---------------------------------------------------------------------------------------- */

/** A parsed DPS register (or poll) request body. */
struct azk_dps_register_request {
    struct azk_span registration_id; /**< Raw string contents; ptr NULL when absent. */
    struct azk_span payload;         /**< Raw custom payload JSON; ptr NULL when absent. */
    bool empty;                      /**< The body was empty or only whitespace. */
};

/**
 * @brief Builds the DPS register request body `{"registrationId":"…","payload":…}`.
 *
 * Devices may also send an empty body (the Azure SDK for Embedded C sample and NCS do, and DPS
 * accepts it); that needs no builder.
 *
 * @param registration_id The registration id (plain text, escaped as needed; not NULL ptr).
 * @param payload_json    Optional custom allocation payload: one JSON value, validated and
 *                        copied (whitespace around it dropped); `ptr == NULL` leaves the
 *                        member out.
 * @param buf             Output buffer (may be NULL when buf_size is 0).
 * @param buf_size        Size of buf.
 * @param out_len         Receives the body length, or the size needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS when buf is too small; -EBADMSG when payload_json is not valid JSON or
 *         registration_id is not valid UTF-8; -E2BIG when payload_json nests too deep;
 *         -EINVAL for NULL arguments.
 */
AZK_API int azk_dps_register_request_build(struct azk_span registration_id,
                                           struct azk_span payload_json, char *buf,
                                           size_t buf_size, size_t *out_len);

/**
 * @brief Parses a DPS register or poll request body (hub side).
 *
 * An empty body and a whitespace-only body (the Node SDK sends `' '` with polls) are accepted:
 * out->empty is set and all fields are absent. Otherwise the body must be a JSON object;
 * `registrationId` (string) and `payload` (any JSON value) are read, other members skipped.
 *
 * @param body The request body.
 * @param out  Receives the fields (spans into body; not NULL).
 * @return 0; -EBADMSG when the body is not empty and not a valid JSON object, or a known
 *         member is duplicated or has the wrong type; -E2BIG when nested too deep; -EINVAL
 *         for NULL arguments.
 */
AZK_API int azk_dps_register_request_parse(struct azk_span body,
                                           struct azk_dps_register_request *out);

/* ---------------------------------------------------------------------------------------- */
/* DPS registration/operation response (RegistrationOperationStatus) and request errors     */
/* ---------------------------------------------------------------------------------------- */

/** DPS registration/operation status. */
enum azk_dps_status {
    AZK_DPS_STATUS_NONE = 0,    /**< The `status` member is absent. */
    AZK_DPS_STATUS_UNASSIGNED,  /**< "unassigned" */
    AZK_DPS_STATUS_ASSIGNING,   /**< "assigning" */
    AZK_DPS_STATUS_ASSIGNED,    /**< "assigned" */
    AZK_DPS_STATUS_FAILED,      /**< "failed" */
    AZK_DPS_STATUS_DISABLED,    /**< "disabled" */
    AZK_DPS_STATUS_UNKNOWN,     /**< Present but none of the above (see status_text). */
};

/** The `registrationState` object of a DPS response. */
struct azk_dps_registration_state {
    struct azk_span registration_id;            /**< "registrationId" (string) */
    struct azk_span created_date_time_utc;      /**< "createdDateTimeUtc" (string) */
    struct azk_span assigned_hub;               /**< "assignedHub" (string) */
    struct azk_span device_id;                  /**< "deviceId" (string) */
    enum azk_dps_status status;                 /**< "status" as an enum */
    struct azk_span status_text;                /**< "status" raw string contents */
    struct azk_span substatus;                  /**< "substatus" (string) */
    struct azk_span last_updated_date_time_utc; /**< "lastUpdatedDateTimeUtc" (string) */
    struct azk_span etag;                       /**< "etag" (string) */
    bool has_error_code;                        /**< "errorCode" present */
    int32_t error_code;                         /**< "errorCode", e.g. 400207 */
    struct azk_span error_message;              /**< "errorMessage" (string) */
    struct azk_span payload;                    /**< "payload" raw JSON (custom allocation) */
    /** Build only (the parser skips these members): the attestation's member, written first
     *  when `attestation_name` is set, e.g. "symmetricKey" with the raw JSON object
     *  `{"enrollmentGroupId":"g1"}` (`{}` when `attestation` is empty). */
    struct azk_span attestation_name;
    struct azk_span attestation;
};

/**
 * A DPS response body: either the operation status
 * `{"operationId":…,"status":…,"registrationState":{…}}` or the request-level error
 * `{"errorCode":401002,"trackingId":…,"message":…,"timestampUtc":…}`. All members optional.
 */
struct azk_dps_response {
    struct azk_span operation_id;  /**< "operationId" (string; may be present and empty) */
    enum azk_dps_status status;    /**< "status" as an enum */
    struct azk_span status_text;   /**< "status" raw string contents */
    bool has_registration_state;   /**< "registrationState" present (an object) */
    struct azk_dps_registration_state registration_state; /**< Its fields. */
    bool has_error_code;           /**< Top-level "errorCode" present */
    int32_t error_code;            /**< Top-level "errorCode" (6-digit; HTTP status = /1000) */
    struct azk_span tracking_id;   /**< "trackingId" (string) */
    struct azk_span message;       /**< "message" (string) */
    struct azk_span timestamp_utc; /**< "timestampUtc" (string) */
};

/**
 * @brief The wire name of a status ("assigned", ...).
 * @param status A status.
 * @return The string, or NULL for AZK_DPS_STATUS_NONE and AZK_DPS_STATUS_UNKNOWN.
 */
AZK_API const char *azk_dps_status_str(enum azk_dps_status status);

/**
 * @brief Parses a DPS response body (device side).
 *
 * Requirements beyond valid JSON: the body is an object; string members are strings or null;
 * `errorCode` is an integer that fits int32_t; `registrationState` is an object or null; in
 * it `assignedHub` and `deviceId` are both present or both absent (as the Azure SDK for C
 * demands). Unknown members (`x509`, `symmetricKey`, `tpm`, ...) are skipped.
 *
 * @param body The response body.
 * @param out  Receives the fields (spans into body; zeroed first; not NULL).
 * @return 0; -EBADMSG when malformed or a rule above is broken; -ERANGE when an `errorCode`
 *         does not fit int32_t; -E2BIG when nested too deep; -EINVAL for NULL arguments.
 */
AZK_API int azk_dps_response_parse(struct azk_span body, struct azk_dps_response *out);

/**
 * @brief Builds a DPS response body (hub side) from the same struct the parser fills.
 *
 * Members are written in the order DPS uses: operationId, status, registrationState
 * {registrationId, createdDateTimeUtc, assignedHub, deviceId, status, substatus, errorCode,
 * errorMessage, lastUpdatedDateTimeUtc, etag, payload}, then errorCode, trackingId, message,
 * timestampUtc. Span fields with ptr NULL, statuses NONE, and error codes whose has_ flag is
 * false are left out; status UNKNOWN writes status_text. registrationState is written when
 * has_registration_state is set. String fields are plain text (escaped here); payload is raw
 * JSON (validated, copied).
 *
 * @param resp     The response (not NULL).
 * @param buf      Output buffer (may be NULL when buf_size is 0).
 * @param buf_size Size of buf.
 * @param out_len  Receives the body length, or the size needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS when buf is too small; -EBADMSG when a string is not valid UTF-8 or the
 *         payload is not valid JSON; -E2BIG when the payload nests too deep; -EINVAL for NULL
 *         arguments or an out-of-range status.
 */
AZK_API int azk_dps_response_build(const struct azk_dps_response *resp, char *buf,
                                   size_t buf_size, size_t *out_len);

/* ---------------------------------------------------------------------------------------- */
/* Device twin                                                                              */
/* ---------------------------------------------------------------------------------------- */

/** A twin document `{"desired":{…,"$version":N},"reported":{…,"$version":M}}`. */
struct azk_twin_document {
    struct azk_span desired;   /**< Raw desired object (incl. "$version"); ptr NULL if absent. */
    struct azk_span reported;  /**< Raw reported object; ptr NULL if absent. */
    bool has_desired_version;  /**< desired."$version" present */
    int64_t desired_version;   /**< desired."$version" */
    bool has_reported_version; /**< reported."$version" present */
    int64_t reported_version;  /**< reported."$version" */
};

/**
 * @brief Parses a twin GET response body (device side).
 *
 * The body must be an object; "desired" and "reported", when present, must be objects, and
 * their "$version" (when present) an integer. Other members are skipped.
 *
 * @param body The body.
 * @param out  Receives the sections (spans into body; zeroed first; not NULL).
 * @return 0; -EBADMSG when malformed or a rule above is broken (including a "$version" with a
 *         fraction); -ERANGE when a "$version" does not fit int64_t; -E2BIG when nested too
 *         deep; -EINVAL for NULL arguments.
 */
AZK_API int azk_twin_document_parse(struct azk_span body, struct azk_twin_document *out);

/**
 * @brief Builds a twin GET response body `{"desired":{…,"$version":N},"reported":{…,"$version":M}}`
 *        (hub side).
 * @param desired          Raw desired JSON object WITHOUT "$version" (e.g. `{}`, `{"a":1}`).
 * @param desired_version  Written as the last member of desired.
 * @param reported         Raw reported JSON object WITHOUT "$version".
 * @param reported_version Written as the last member of reported.
 * @param buf              Output buffer (may be NULL when buf_size is 0).
 * @param buf_size         Size of buf.
 * @param out_len          Receives the length, or the size needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS; -EBADMSG when a section is not a valid JSON object or already has a
 *         top-level "$version"; -E2BIG when nested too deep; -EINVAL for NULL arguments.
 */
AZK_API int azk_twin_document_build(struct azk_span desired, int64_t desired_version,
                                    struct azk_span reported, int64_t reported_version,
                                    char *buf, size_t buf_size, size_t *out_len);

/** A desired-properties PATCH `{"telemetrySendFrequency":"5m","route":null,"$version":8}`. */
struct azk_twin_desired_patch {
    struct azk_span patch; /**< The whole patch object (trimmed), "$version" included. */
    bool has_version;      /**< "$version" present */
    int64_t version;       /**< "$version" from the body */
};

/**
 * @brief Parses a desired-properties PATCH body (device side).
 * @param body The body (a JSON object).
 * @param out  Receives the patch span and "$version" (zeroed first; not NULL).
 * @return 0; -EBADMSG when not a valid JSON object or "$version" is not an integer (or is
 *         duplicated); -ERANGE when "$version" does not fit int64_t; -E2BIG when nested too
 *         deep; -EINVAL for NULL arguments.
 */
AZK_API int azk_twin_desired_patch_parse(struct azk_span body, struct azk_twin_desired_patch *out);

/**
 * @brief Builds a desired-properties PATCH body (hub side): the patch object with
 *        `"$version":N` appended as its last member.
 * @param patch    Raw JSON object WITHOUT a top-level "$version".
 * @param version  The new desired version.
 * @param buf      Output buffer (may be NULL when buf_size is 0).
 * @param buf_size Size of buf.
 * @param out_len  Receives the length, or the size needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS; -EBADMSG when patch is not a valid JSON object or has a "$version";
 *         -E2BIG when nested too deep; -EINVAL for NULL arguments.
 */
AZK_API int azk_twin_desired_patch_build(struct azk_span patch, int64_t version, char *buf,
                                         size_t buf_size, size_t *out_len);

/**
 * @brief Builds a reported-properties PATCH body (device side) from raw JSON: validates that
 *        it is one JSON object and copies it without the whitespace around it.
 * @param patch_json The patch, e.g. `{"temperature":21,"route":null}` (`null` deletes).
 * @param buf        Output buffer (may be NULL when buf_size is 0).
 * @param buf_size   Size of buf.
 * @param out_len    Receives the length, or the size needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS; -EBADMSG when patch_json is not a valid JSON object; -E2BIG when nested
 *         too deep; -EINVAL for NULL arguments.
 */
AZK_API int azk_twin_reported_patch_build(struct azk_span patch_json, char *buf,
                                          size_t buf_size, size_t *out_len);

/**
 * @brief Validates a reported-properties PATCH body (hub side): one JSON object.
 * @param body The body.
 * @param patch Optional: receives the object without the whitespace around it.
 * @return 0; -EBADMSG when not a valid JSON object; -E2BIG when nested too deep; -EINVAL for
 *         a NULL pointer with a non-zero length.
 */
AZK_API int azk_twin_reported_patch_parse(struct azk_span body, struct azk_span *patch);

/* ---------------------------------------------------------------------------------------- */
/* Direct methods                                                                           */
/* ---------------------------------------------------------------------------------------- */

/**
 * @brief Validates a direct-method request or response payload: passthrough JSON, any single
 *        value, or no payload at all (empty or whitespace-only body).
 * @param body    The body.
 * @param payload Optional: receives the value without surrounding whitespace; an empty span
 *                (ptr NULL) when the body held no value.
 * @return 0; -EBADMSG when not empty and not one valid JSON value; -E2BIG when nested too
 *         deep; -EINVAL for a NULL pointer with a non-zero length.
 */
AZK_API int azk_method_payload_validate(struct azk_span body, struct azk_span *payload);

#ifdef __cplusplus
}
#endif
#endif

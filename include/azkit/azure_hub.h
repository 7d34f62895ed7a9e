/**
 * @file azure_hub.h
 * @brief Azure IoT Hub MQTT protocol strings (portable core): client id, username, topics,
 *        property bags, request ids — builders and parsers for both sides (device and hub).
 *
 * Conventions (see src/core/README.md):
 * - Inputs are spans; nothing needs to be NUL-terminated and nothing is NUL-terminated on
 *   output: builders write exactly the bytes of the string into `buf` (an MQTT topic or
 *   username is length-delimited). On success they return 0 and set `*out_len` to the number
 *   of bytes written. When `buf_size` is too small they return -ENOBUFS, set `*out_len` to the
 *   buffer size needed and never write at or past `buf[buf_size]`. `buf` may be NULL when
 *   `buf_size` is 0 (to ask for the size).
 * - Parsers return spans into the input (no copies); the input must outlive them.
 * - Errors: -EINVAL (a bad argument: invalid id, value or NULL pointer), -ENOBUFS (see above),
 *   -ENOENT (not one of the documented topics), -EBADMSG (a documented topic but malformed),
 *   -EACCES (a topic naming a device other than the connected one).
 *
 * Device ids appear in topics and usernames literally, never percent-encoded (also `%`): IoT
 * Hub matches the id segment byte for byte (Azure/azure-iot-sdk-python#693 removed the
 * encoding of device ids from topics because the hub rejected it; Azure/azure-sdk-for-c#2092
 * replaced its "encode % as %25" advice by "must conform to MQTT topic rules"). A device id
 * cannot contain '/', so its segment is always delimited by '/'. MQTT forbids '+' and '#' in
 * PUBLISH topic names, so a real broker refuses topics built for ids containing them; the
 * parsers here accept them only as the whole device-id segment's content when it equals the
 * connected device's id (see azk_hub_parse_device_topic()).
 *
 * Property bags (telemetry and C2D topic suffixes) are `k=v&k2=v2`; builders percent-encode
 * keys and values (everything but A-Z a-z 0-9 - . _ ~, so `$.mid` becomes `%24.mid` as the
 * Node and C SDKs send it); parsers accept both encoded and literal forms, and `key`, `key=`,
 * `key=value`. `+` is kept as `+` when decoding (like decodeURIComponent, which the Node SDK
 * uses on both ends), not turned into a space.
 */
#ifndef AZKIT_AZURE_HUB_H
#define AZKIT_AZURE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/azure_ids.h"
#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/** @name Constants */
/** The api-version the builders put in the hub username by default. */
#define AZK_HUB_API_VERSION "2021-04-12"
/** Subscription filter for twin responses. */
#define AZK_HUB_TWIN_RESPONSE_FILTER "$iothub/twin/res/#"
/** Subscription filter for desired-property patches. */
#define AZK_HUB_TWIN_DESIRED_FILTER "$iothub/twin/PATCH/properties/desired/#"
/** Subscription filter for direct-method requests. */
#define AZK_HUB_METHODS_FILTER "$iothub/methods/POST/#"
/** The C2D filter with a wildcard id (what the embedded C SDK subscribes to). */
#define AZK_HUB_C2D_WILDCARD_FILTER "devices/+/messages/devicebound/#"
/** Twin GET request topic without the `$rid` value. */
#define AZK_HUB_TWIN_GET_PREFIX "$iothub/twin/GET/?$rid="

/** System property names (decoded form; either form is accepted on input). */
#define AZK_PROP_MESSAGE_ID "$.mid"
#define AZK_PROP_CORRELATION_ID "$.cid"
#define AZK_PROP_USER_ID "$.uid"
#define AZK_PROP_CONTENT_TYPE "$.ct"
#define AZK_PROP_CONTENT_ENCODING "$.ce"
#define AZK_PROP_TO "$.to"
#define AZK_PROP_EXPIRY "$.exp"
#define AZK_PROP_CREATION_TIME "$.ctime"
#define AZK_PROP_COMPONENT "$.sub"
#define AZK_PROP_OUTPUT_NAME "$.on"
#define AZK_PROP_INTERFACE_ID "$.ifid"
#define AZK_PROP_CREATION_TIME_UTC "iothub-creation-time-utc"
#define AZK_PROP_ACK "iothub-ack"

/* ---------------------------------------------------------------------------------------- */
/** @name Percent-encoding and property bags (shared with azure_dps.h) */

/**
 * @brief Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ as %XX (uppercase hex).
 * @return 0, -ENOBUFS (with *out_len = size needed) or -EINVAL (NULL out_len).
 */
AZK_API int azk_pct_encode(struct azk_span in, char *buf, size_t buf_size, size_t *out_len);

/**
 * @brief Decodes %XX escapes (either hex case); other bytes, `+` included, are copied.
 * @param in       Encoded text.
 * @param buf      Destination (may equal in.ptr: decoding never grows the text).
 * @param buf_size Size of `buf`.
 * @param out_len  Decoded length, or the size needed on -ENOBUFS.
 * @return 0, -EBADMSG (a `%` not followed by two hex digits), -ENOBUFS or -EINVAL.
 */
AZK_API int azk_pct_decode(struct azk_span in, char *buf, size_t buf_size, size_t *out_len);

/**
 * @brief Compares a raw (possibly percent-encoded) span with a decoded string without a
 *        buffer, e.g. `%24.mid` and `$.mid` both match "$.mid".
 * @return true if `raw` decodes to exactly `decoded`; false otherwise or on a bad escape.
 */
AZK_API bool azk_pct_equals(struct azk_span raw, const char *decoded);

/** One property: `key` (has_value false), `key=` (empty value) or `key=value`. */
struct azk_prop {
    struct azk_span key;   /**< Key; raw (encoded) from parsers, plain for the builder. */
    struct azk_span value; /**< Value; empty when has_value is false. */
    bool has_value;        /**< false for the bare `key` form (a null value). */
};

/** Iterator over a property bag or query string; treat as opaque. */
struct azk_prop_iter {
    struct azk_span rest; /**< The part not yet returned. */
};

/** @brief Starts iterating `bag` (`k=v&k2&k3=`; empty segments between `&` are skipped). */
AZK_API void azk_prop_iter_init(struct azk_prop_iter *it, struct azk_span bag);

/**
 * @brief The next property, as raw spans into the bag (still percent-encoded).
 * @return 0, -ENOENT at the end, -EBADMSG for an empty key (`=v`) (the iterator moves past it),
 *         -EINVAL for NULL arguments.
 */
AZK_API int azk_prop_next(struct azk_prop_iter *it, struct azk_prop *raw);

/**
 * @brief The next property, percent-decoded into caller buffers.
 * @param it         The iterator; it advances only on success or -EBADMSG.
 * @param key_buf    Receives the decoded key; `out->key` points into it.
 * @param key_size   Size of key_buf.
 * @param value_buf  Receives the decoded value; `out->value` points into it.
 * @param value_size Size of value_buf.
 * @param out        Result. On -ENOBUFS, out->key.len / out->value.len are the sizes needed
 *                   (ptr NULL) and the iterator does not move, so the call can be retried.
 * @return 0, -ENOENT at the end, -EBADMSG (empty key or bad escape), -ENOBUFS, -EINVAL.
 */
AZK_API int azk_prop_next_decoded(struct azk_prop_iter *it, char *key_buf, size_t key_size,
                                  char *value_buf, size_t value_size, struct azk_prop *out);

/**
 * @brief Finds a property by decoded name (so "$.mid" finds `%24.mid=` and `$.mid=`).
 * @param bag  The bag.
 * @param name Decoded key, NUL-terminated.
 * @param raw  Receives the first match (raw spans); may be NULL.
 * @return 0 if found, -ENOENT if not, -EBADMSG if the bag is malformed before a match.
 */
AZK_API int azk_prop_find(struct azk_span bag, const char *name, struct azk_prop *raw);

/**
 * @brief Builds a property bag, percent-encoding keys and values, joined by `&`.
 * @param props Plain (decoded) properties; keys must be non-empty.
 * @param count Number of properties (0 gives an empty bag).
 * @return 0, -ENOBUFS, or -EINVAL (empty key, NULL pointers).
 */
AZK_API int azk_prop_bag_build(const struct azk_prop *props, size_t count, char *buf,
                               size_t buf_size, size_t *out_len);

/* ---------------------------------------------------------------------------------------- */
/** @name Request ids */

/** Request id text formats. */
enum azk_rid_format {
    AZK_RID_DECIMAL, /**< "1", "2", ... "4294967295" */
    AZK_RID_HEX,     /**< "1", ... "ffffffff" (lowercase) */
};

/**
 * @brief Makes the next request id from a caller-held counter (no static state).
 * @param counter In/out: incremented first (wrapping to 1, never 0), so a counter starting at
 *                0 gives "1" first, as the C SDK's literal `$rid=1`. Not changed on error.
 * @param format  AZK_RID_DECIMAL or AZK_RID_HEX.
 * @return 0, -ENOBUFS (at most 10 bytes are ever needed) or -EINVAL.
 */
AZK_API int azk_rid_next(uint32_t *counter, enum azk_rid_format format, char *buf,
                         size_t buf_size, size_t *out_len);

/**
 * @brief Is `rid` usable as a `$rid` (or DPS operationId) value in a topic we build:
 *        1..128 printable ASCII bytes other than space and `& = # + / ?`. Parsers accept any
 *        value and return it raw, to be echoed verbatim.
 */
AZK_API bool azk_rid_is_valid(struct azk_span rid);

/* ---------------------------------------------------------------------------------------- */
/** @name CONNECT: client id and username */

/**
 * @brief The MQTT client id: `{deviceId}` or `{deviceId}/{moduleId}`.
 * @param device_id The device id (validated).
 * @param module_id A module id (validated with the device-id rules) or an empty span.
 * @param err       Why an id was refused (may be NULL).
 * @return 0, -ENOBUFS, -EINVAL (invalid id; `err` says why).
 */
AZK_API int azk_hub_client_id(struct azk_span device_id, struct azk_span module_id, char *buf,
                              size_t buf_size, size_t *out_len, struct azk_id_error *err);

/**
 * @brief Hub side: splits a client id into device and module id and validates both.
 * @param module_id Receives the module id, empty when there is none.
 * @return 0 or -EBADMSG (invalid id, empty part, more than one '/'); -EINVAL for NULLs.
 */
AZK_API int azk_hub_client_id_parse(struct azk_span client_id, struct azk_span *device_id,
                                    struct azk_span *module_id);

/** Fields of an IoT Hub MQTT username. */
struct azk_hub_username {
    struct azk_span host;        /**< Hub host name, may include `:port`. */
    struct azk_span device_id;   /**< Device id. */
    struct azk_span module_id;   /**< Module id or empty. */
    struct azk_span api_version; /**< api-version; builder: empty = AZK_HUB_API_VERSION. */
    struct azk_span client_type; /**< DeviceClientType; builder: plain (encoded by it),
                                      parser: raw (still encoded), empty if absent. */
    struct azk_span model_id;    /**< model-id (DTMI); same encoding rules; empty if absent. */
    bool has_question_mark;      /**< Parser: the query followed `/?` (false: legacy form). */
};

/**
 * @brief Builds `{host}/{deviceId}[/{moduleId}]/?api-version={v}[&DeviceClientType={enc}]
 *        [&model-id={enc}]`.
 * @param u   Fields; host must be non-empty and without '/', ids valid, api_version
 *            without `&`, `#`, `+`, `/` or spaces.
 * @param err Why an id was refused (may be NULL).
 * @return 0, -ENOBUFS, -EINVAL.
 */
AZK_API int azk_hub_username_build(const struct azk_hub_username *u, char *buf,
                                   size_t buf_size, size_t *out_len, struct azk_id_error *err);

/**
 * @brief Hub side: parses a username. Accepts any api-version, the 2020-09-30 / 2021-04-12
 *        forms, the legacy form without `?` (`{host}/{id}/api-version=...`), a module id,
 *        a host with `:port`, parameters in any order, unknown parameters (ignored) and a
 *        missing api-version (api_version empty).
 * @return 0, -EBADMSG (no host, invalid device/module id, missing query), -EINVAL (NULLs).
 */
AZK_API int azk_hub_username_parse(struct azk_span username, struct azk_hub_username *out);

/* ---------------------------------------------------------------------------------------- */
/** @name Topics: device side builders (device → hub) */

/**
 * @brief Telemetry: `devices/{deviceId}/messages/events/{property bag}`.
 * @param props Properties to append (plain; see azk_prop_bag_build()); count may be 0.
 * @return 0, -ENOBUFS, -EINVAL (invalid device id: `err` says why; or bad props).
 */
AZK_API int azk_hub_telemetry_topic(struct azk_span device_id, const struct azk_prop *props,
                                    size_t count, char *buf, size_t buf_size, size_t *out_len,
                                    struct azk_id_error *err);

/** @brief C2D subscription filter `devices/{deviceId}/messages/devicebound/#`. */
AZK_API int azk_hub_c2d_filter(struct azk_span device_id, char *buf, size_t buf_size,
                               size_t *out_len, struct azk_id_error *err);

/** @brief Twin GET `$iothub/twin/GET/?$rid={rid}`. -EINVAL if !azk_rid_is_valid(rid). */
AZK_API int azk_hub_twin_get_topic(struct azk_span rid, char *buf, size_t buf_size,
                                   size_t *out_len);

/** @brief Reported patch `$iothub/twin/PATCH/properties/reported/?$rid={rid}`. */
AZK_API int azk_hub_twin_patch_topic(struct azk_span rid, char *buf, size_t buf_size,
                                     size_t *out_len);

/**
 * @brief Method response `$iothub/methods/res/{status}/?$rid={rid}`.
 * @param status Any int (the application's status, e.g. 200; negative values are written
 *               with '-').
 */
AZK_API int azk_hub_method_response_topic(int status, struct azk_span rid, char *buf,
                                          size_t buf_size, size_t *out_len);

/* ---------------------------------------------------------------------------------------- */
/** @name Topics: hub side builders (hub → device) */

/** @brief C2D delivery `devices/{deviceId}/messages/devicebound/{property bag}`. */
AZK_API int azk_hub_c2d_topic(struct azk_span device_id, const struct azk_prop *props,
                              size_t count, char *buf, size_t buf_size, size_t *out_len,
                              struct azk_id_error *err);

/**
 * @brief Twin response `$iothub/twin/res/{status}/?$rid={rid}[&$version={version}]`.
 * @param version The new reported version, or a negative value for none.
 */
AZK_API int azk_hub_twin_response_topic(int status, struct azk_span rid, int64_t version,
                                        char *buf, size_t buf_size, size_t *out_len);

/** @brief Desired patch `$iothub/twin/PATCH/properties/desired/?$version={version}`;
 *         version must be >= 0. */
AZK_API int azk_hub_twin_desired_topic(int64_t version, char *buf, size_t buf_size,
                                       size_t *out_len);

/**
 * @brief Method request `$iothub/methods/POST/{name}/?$rid={rid}`.
 * @param name Method name: 1..128 printable ASCII bytes without space, '/', '+', '#'.
 */
AZK_API int azk_hub_method_request_topic(struct azk_span name, struct azk_span rid, char *buf,
                                         size_t buf_size, size_t *out_len);

/* ---------------------------------------------------------------------------------------- */
/** @name Topic parsing (both directions) */

/** Which topic a parser recognised. */
enum azk_hub_topic_kind {
    AZK_HUB_TOPIC_UNKNOWN = 0,
    /* device → hub (azk_hub_parse_device_topic) */
    AZK_HUB_TOPIC_TELEMETRY,          /**< device_id, properties */
    AZK_HUB_TOPIC_TWIN_GET,           /**< rid */
    AZK_HUB_TOPIC_TWIN_PATCH,         /**< rid (reported properties patch) */
    AZK_HUB_TOPIC_METHOD_RESPONSE,    /**< status, rid */
    /* hub → device (azk_hub_parse_service_topic) */
    AZK_HUB_TOPIC_C2D,                /**< device_id, properties */
    AZK_HUB_TOPIC_TWIN_RESPONSE,      /**< status, rid, optional version */
    AZK_HUB_TOPIC_TWIN_DESIRED,       /**< version */
    AZK_HUB_TOPIC_METHOD_REQUEST,     /**< method_name, rid */
};

/** A parsed topic. Spans point into the topic; unused fields are empty / 0. */
struct azk_hub_topic {
    enum azk_hub_topic_kind kind; /**< What it is. */
    struct azk_span device_id;    /**< Telemetry, C2D: the id segment (literal). */
    struct azk_span properties;   /**< Telemetry, C2D: the raw property bag (may be empty). */
    struct azk_span rid;          /**< Raw `$rid` value, to echo verbatim. */
    struct azk_span method_name;  /**< Method request: the name (raw). */
    int status;                   /**< Twin response, method response. */
    struct azk_span version;      /**< Raw `$version`, empty if absent. */
    int64_t version_num;          /**< `$version` as a number, -1 if absent or not numeric
                                       (the C SDK tests use `$version=id_one`). */
};

/**
 * @brief Hub side: classifies a PUBLISH topic from a device (telemetry, twin GET, reported
 *        patch, method response).
 * @param topic     The topic name.
 * @param connected The connected device's id (from the authenticated CONNECT). When non-empty
 *                  the id segment must equal it (else -EACCES); '+' and '#' are accepted only
 *                  inside the id segment and only when it equals this id. Empty: any valid id
 *                  is accepted and '+'/'#' are refused.
 * @param out       The result (kind AZK_HUB_TOPIC_UNKNOWN on error).
 * @return 0, -ENOENT (not a documented device→hub topic), -EBADMSG (malformed: missing or
 *         duplicate `$rid`, bad status, wildcard outside the id, invalid id), -EACCES, -EINVAL.
 */
AZK_API int azk_hub_parse_device_topic(struct azk_span topic, struct azk_span connected,
                                       struct azk_hub_topic *out);

/**
 * @brief Device side: classifies a PUBLISH topic from the hub (C2D, twin response, desired
 *        patch, method request).
 * @param topic     The topic name.
 * @param device_id This device's id: a C2D topic for another id gives -EACCES (empty: any).
 * @param out       The result.
 * @return 0, -ENOENT, -EBADMSG, -EACCES, -EINVAL (as azk_hub_parse_device_topic()).
 */
AZK_API int azk_hub_parse_service_topic(struct azk_span topic, struct azk_span device_id,
                                        struct azk_hub_topic *out);

/** What a SUBSCRIBE filter from a device asks for. */
enum azk_hub_filter_kind {
    AZK_HUB_FILTER_UNKNOWN = 0,
    AZK_HUB_FILTER_C2D,           /**< devices/{id or +}/messages/devicebound/# */
    AZK_HUB_FILTER_TWIN_RESPONSE, /**< $iothub/twin/res/# */
    AZK_HUB_FILTER_TWIN_DESIRED,  /**< $iothub/twin/PATCH/properties/desired/# */
    AZK_HUB_FILTER_METHODS,       /**< $iothub/methods/POST/# */
};

/**
 * @brief Hub side: classifies a SUBSCRIBE filter. The C2D filter's id segment may be `+` or
 *        the connected id (rules as azk_hub_parse_device_topic()).
 * @param kind Receives the kind (UNKNOWN on error).
 * @return 0, -ENOENT (unsupported filter), -EBADMSG (invalid id segment), -EACCES (another
 *         device's id), -EINVAL.
 */
AZK_API int azk_hub_parse_filter(struct azk_span filter, struct azk_span connected,
                                 enum azk_hub_filter_kind *kind);

#ifdef __cplusplus
}
#endif
#endif

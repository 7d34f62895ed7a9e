/**
 * @file fleet.h
 * @brief Many devices in one process: one device client (azkit/client.h) per device, all
 *        driven by one epoll loop with non-blocking TCP and TLS. Each device gets its own key
 *        and certificate (CN = its id), issued on the fly by a CA the caller names -- the
 *        layout of a DPS enrollment group -- or its own symmetric key, derived from a group
 *        key as DPS derives it; it registers through DPS (or connects to a hub), then sends
 *        telemetry.
 */
#ifndef AZKIT_FLEET_H
#define AZKIT_FLEET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "azkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A latency distribution (from a fixed-size log-scale histogram: percentiles are the upper
 *  bound of their bucket, within 3 % of the true value, never above the maximum). */
struct azk_fleet_latency {
    uint64_t count;              /**< samples (0: the other members are 0) */
    double p50_ms, p90_ms, p99_ms, max_ms;
};

/** Kinds of failure counted at most (more kinds are counted as "other"). */
#define AZK_FLEET_ERROR_KINDS 16

/** How often one kind of failure happened. */
struct azk_fleet_error_count {
    /** "tls-refused" (the TLS handshake was refused: -ECONNABORTED), "connection-refused",
     *  "connection-reset", "connection-lost", "timeout", "unreachable", "no-socket",
     *  "transport" (another transport errno), "closed", "connack-N" (CONNACK code N),
     *  "dps-unauthorized", "dps-disabled", "dps-failed", "dps-N" (another DPS status N),
     *  "protocol", "subscribe-refused", "other" */
    char kind[24];
    uint64_t count;
};

/** Counters, also reported while running. */
struct azk_fleet_stats {
    size_t devices;       /**< in the fleet */
    size_t started;       /**< transports opened at least once */
    size_t registered;    /**< assigned by DPS */
    size_t connected;     /**< connected to their hub now */
    size_t ever_connected;
    size_t failed;        /**< stopped with a failure */
    size_t reconnects;    /**< hub connections lost (the client reconnects) */
    uint64_t sent, acked; /**< telemetry messages */
    uint64_t elapsed_ms;
    uint64_t all_connected_ms; /**< when the last device first connected (0: not yet) */
    char first_failure[300];   /**< what the first failed device said */
    uint64_t methods;          /**< direct method calls answered (200) */
    /** From the start of a hub connection's TCP connect to its CONNACK (every hub connection,
     *  reconnections included; DPS connections are not counted). */
    struct azk_fleet_latency connect;
    /** From the start of a device's first TCP connect (to DPS when DPS is used) until it is
     *  first connected to its hub and subscribed. */
    struct azk_fleet_latency ready;
    /** From a QoS 1 PUBLISH fully written to the socket to its PUBACK. */
    struct azk_fleet_latency puback;
    /** Devices that stopped with a failure, by kind (n_errors used; their counts add up to
     *  `failed`). */
    struct azk_fleet_error_count errors[AZK_FLEET_ERROR_KINDS];
    size_t n_errors;
    /** Failures that were retried (connections lost included), by kind. */
    struct azk_fleet_error_count retries[AZK_FLEET_ERROR_KINDS];
    size_t n_retries;
};

/** Settings (zero-initialise, then set what you need). */
struct azk_fleet_opts {
    SSL_CTX *tls;             /**< trust (type 0 roots); client certificates are per device */
    const char *trusted_cas;  /**< what `tls` trusts, in words (for failure explanations) */
    size_t count;             /**< devices (1..100000) */
    const char *id_prefix;    /**< device i has id "<prefix><i>" (default "fleet-") */
    size_t first_index;       /**< i starts here (default 0) */
    const char *id_scope;     /**< DPS; else hub_host */
    const char *dps_host;     /**< default global.azure-devices-provisioning.net */
    const char *hub_host;     /**< without DPS: devices must exist in the hub */
    const char *connect_address; /**< connect here instead of resolving the hosts */
    X509 *issuer;             /**< signs the device certificates (required without group_key) */
    EVP_PKEY *issuer_key;
    STACK_OF(X509) *chain;    /**< sent after each leaf (the issuer and its intermediates) */
    /** Symmetric keys instead of certificates: device i authenticates with a SAS token signed
     *  with base64(HMAC-SHA256(group key, its id)) (a DPS symmetric-key enrollment group, or
     *  hub devices created with those keys); base64, never printed. NULL: certificates. */
    const char *group_key;
    /** SAS token lifetime in seconds (0 = 3600); each device reconnects with a new token after
     *  80 % of it (counted in `reconnects`). */
    uint32_t sas_ttl_s;
    uint32_t rate;            /**< device starts per second (0 = 200) */
    uint32_t messages;        /**< telemetry messages per device (0 = none) */
    uint32_t interval_ms;     /**< between a device's messages (0 = as fast as the in-flight
                                   window and the socket allow) */
    /** QoS 1 messages a device keeps sent and unacknowledged at most (0 = 1; at most
     *  AZK_CLIENT_INFLIGHT_MAX, 32): the device client's in-flight window. */
    uint8_t inflight;
    /** Telemetry payload size in bytes (0 = the short default `{"device":"<id>","n":<seq>}`);
     *  else that object with a "pad" string of 'x' that makes it exactly this long (at least
     *  azk_fleet_payload_min(), at most AZK_FLEET_PAYLOAD_MAX). `n` counts 1, 2, ... per
     *  device, so every message is distinct. */
    size_t payload_size;
    uint32_t duration_s;      /**< stop after this long (0 = once every device sent its
                                   messages and got their PUBACKs -- messages in flight when a
                                   connection dropped are not resent and count as done -- or
                                   failed) */
    int qos;                  /**< telemetry QoS 0 or 1 */
    size_t work_size;         /**< per device client buffer (0 = 4096, or what payload_size
                                   needs) */
    void (*progress)(void *ctx, const struct azk_fleet_stats *s); /**< about once a second */
    void *ctx;
    volatile sig_atomic_t *stop; /**< set to stop (devices disconnect cleanly) */
};

/** Largest telemetry payload (IoT Hub's device-to-cloud message limit, 256 KB). */
#define AZK_FLEET_PAYLOAD_MAX 262144u

/**
 * @brief The smallest payload_size the settings allow: the default message of the device with
 *        the longest id at the last sequence number, plus the empty "pad" member.
 * @param o Settings (id_prefix, first_index, count, messages are read).
 * @return That size in bytes.
 */
AZK_API size_t azk_fleet_payload_min(const struct azk_fleet_opts *o);

/**
 * @brief Runs the fleet until done, stopped or timed out. Every device answers every direct
 *        method with 200 and `{"method":"<name>","result":"ok"}`.
 * @param o   Settings.
 * @param out Final counters (not NULL).
 * @return 0 (look at out->failed); -EINVAL for bad settings (also an inflight over 32, or a
 *         payload_size outside azk_fleet_payload_min() .. AZK_FLEET_PAYLOAD_MAX); -ENOMEM; -EMFILE when the
 *         process may not open one socket per device (raise `ulimit -n`).
 */
AZK_API int azk_fleet_run(const struct azk_fleet_opts *o, struct azk_fleet_stats *out);

#ifdef __cplusplus
}
#endif
#endif

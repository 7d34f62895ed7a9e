/**
 * @file fleet.h
 * @brief Many devices in one process: one device client (azkit/client.h) per device, all
 *        driven by one epoll loop with non-blocking TCP and TLS. Each device gets its own key
 *        and certificate (CN = its id), issued on the fly by a CA the caller names -- the
 *        layout of a DPS enrollment group -- and registers through DPS (or connects to a hub),
 *        then sends telemetry.
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
    X509 *issuer;             /**< signs the device certificates (required) */
    EVP_PKEY *issuer_key;
    STACK_OF(X509) *chain;    /**< sent after each leaf (the issuer and its intermediates) */
    uint32_t rate;            /**< device starts per second (0 = 200) */
    uint32_t messages;        /**< telemetry messages per device (0 = none) */
    uint32_t interval_ms;     /**< between a device's messages (0 = 1000) */
    uint32_t duration_s;      /**< stop after this long (0 = once every device sent its
                                   messages and got their PUBACKs -- messages in flight when a
                                   connection dropped are not resent and count as done -- or
                                   failed) */
    int qos;                  /**< telemetry QoS 0 or 1 */
    size_t work_size;         /**< per device client buffer (0 = 4096) */
    void (*progress)(void *ctx, const struct azk_fleet_stats *s); /**< about once a second */
    void *ctx;
    volatile sig_atomic_t *stop; /**< set to stop (devices disconnect cleanly) */
};

/**
 * @brief Runs the fleet until done, stopped or timed out.
 * @param o   Settings.
 * @param out Final counters (not NULL).
 * @return 0 (look at out->failed); -EINVAL for bad settings; -ENOMEM; -EMFILE when the
 *         process may not open one socket per device (raise `ulimit -n`).
 */
AZK_API int azk_fleet_run(const struct azk_fleet_opts *o, struct azk_fleet_stats *out);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file client_posix.h
 * @brief Runs one device client (azkit/client.h) on Linux: TCP and TLS (an SSL_CTX, usually
 *        from azk_tls_ctx_from_tags()), poll(), a monotonic clock.
 *
 * The driver resolves and connects to the endpoint the client asks for, sends the endpoint's
 * name as SNI and checks the server certificate against it, and turns what went wrong into
 * plain words in the client's failure event (the text): "nothing listens on host:8883", "the
 * server's certificate is not signed by a CA this device trusts (it trusts: ...)", and so on.
 */
#ifndef AZKIT_CLIENT_POSIX_H
#define AZKIT_CLIENT_POSIX_H

#include <signal.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "azkit/client.h"
#include "azkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Settings of azk_client_run_posix(). */
struct azk_posix_opts {
    SSL_CTX *tls;                 /**< the TLS context (required; not freed) */
    /** Connect to this address instead of resolving the endpoint's name (which is still sent
     *  as SNI and checked in the certificate): for hubs whose names do not resolve here. */
    const char *connect_address;
    uint32_t connect_timeout_ms;  /**< TCP connect + TLS handshake (0 = 15000) */
    /** Set by a signal handler to stop: the client disconnects cleanly and the call returns. */
    volatile sig_atomic_t *stop;
    /** Called on every loop turn once things happened (and at least every `idle` wake); the
     *  application sends telemetry from here. Returns the time (ms, azk_posix_now_ms() clock)
     *  it wants to be called again (0 = no wish), or a negative value to stop the client. */
    int64_t (*on_turn)(void *ctx, struct azk_client *c, uint64_t now);
    void *ctx;
    /** Describes what the trust store holds, for explanations ("DigiCert Global Root G2"). */
    const char *trusted_cas;
};

/**
 * @brief What a CONNACK refusal code means, in words (the client's AZK_CLIENT_F_CONNACK failure
 *        carries only the code).
 * @param code The CONNACK return code (1..5).
 * @return A static sentence.
 */
AZK_API const char *azk_connack_text(int code);

/** @brief Milliseconds of CLOCK_MONOTONIC. */
AZK_API uint64_t azk_posix_now_ms(void);

/**
 * @brief Starts the client if needed and runs it until it fails, is stopped (opts->stop,
 *        azk_client_stop(), or on_turn returning < 0) and its connection is closed.
 * @return 0 when stopped; the failure's negative errno when the client failed (its
 *         AZK_CLIENT_EV_FAILED event has the details); -EINVAL for bad arguments.
 */
AZK_API int azk_client_run_posix(struct azk_client *c, const struct azk_posix_opts *opts);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file doctor.h
 * @brief Checks the credentials a device's TLS socket will use, the way Azure will judge them:
 *        which certificate is in which tag and type, whether the device trusts Azure's root
 *        (DigiCert Global Root G2, not only Baltimore), whether the client chain, its key and
 *        the id fit together. Each check ends ok, info, warning or failure, with a fix.
 */
#ifndef AZKIT_DOCTOR_H
#define AZKIT_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/common.h"
#include "azkit/cred.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a check ended. */
enum azk_check_status {
    AZK_CHECK_OK = 0,
    AZK_CHECK_INFO,    /**< worth knowing; not a problem */
    AZK_CHECK_WARN,    /**< works in some setups, fails in others (e.g. leaf-only chains) */
    AZK_CHECK_FAIL,    /**< Azure will refuse the connection */
    AZK_CHECK_SKIPPED, /**< could not be checked (an earlier check failed, or no id given) */
};

#define AZK_DOCTOR_MAX_CHECKS 48
#define AZK_DOCTOR_TEXT 400

/** One check. */
struct azk_check {
    const char *id;                 /**< stable, e.g. "client.key" (static storage) */
    enum azk_check_status status;
    char message[AZK_DOCTOR_TEXT];  /**< what was found, naming tags and certificates */
    char fix[AZK_DOCTOR_TEXT];      /**< what to do; "" when nothing */
};

/** The checks, in order. */
struct azk_doctor_report {
    size_t count;
    struct azk_check checks[AZK_DOCTOR_MAX_CHECKS];
};

/** The device the checks assume, beyond Azure's own rules. */
enum azk_doctor_profile {
    AZK_DOCTOR_PROFILE_ANY = 0, /**< no device limits */
    /** An nRF9160-family modem socket: at most 7 tags per socket
     *  (NRF_SOCKET_TLS_MAX_SEC_TAG_LIST_SIZE in nrfxlib's nrf_socket.h), so more gives the
     *  failure "tags.count"; the connection test (the CLI's) uses TLS 1.2 only. */
    AZK_DOCTOR_PROFILE_NRF9160,
};

/** What to check. */
struct azk_doctor_opts {
    struct azk_credstore *store;    /**< required */
    /** The socket's tags, in order (1..8). More than two gives the warning "tags.count" (NCS
     *  offers a primary and a secondary tag); a client certificate only in a tag not listed
     *  is reported by "client.cert" naming that tag. */
    const azk_sec_tag_t *tags;
    size_t ntags;
    /** The registration id (DPS) or device id the device will use; NULL: not checked (the
     *  report says which id the certificate implies). */
    const char *id;
    bool id_is_registration;        /**< `id` is a DPS registration id (else a device id) */
    /** The host the device connects to (DPS or hub). An Azure host name
     *  (*.azure-devices.net, *.azure-devices-provisioning.net): Azure's roots are required.
     *  Another host (a local azkit-hub): the root check is skipped. NULL (not known): a store
     *  that trusts only Baltimore or only the backup root fails or warns as for Azure, one that
     *  trusts none of Azure's roots gets an info ("right for a local azkit-hub"). */
    const char *host;
    /** A PEM file holding the CA certificate a DPS enrollment group (or a hub CA) is on; NULL:
     *  not checked. The check "client.enrollment-ca" fails when the chain in type 1 (leaf,
     *  then intermediates) does not reach it, naming where the chain stops, or when the file
     *  cannot be read. */
    const char *enrollment_ca_file;
    /** The device's limits to check against (zero: none). */
    enum azk_doctor_profile profile;
    /** "Now" in Unix seconds for the clock check (0: this machine's clock). A clock before
     *  azkit's release cannot be right and gives the failure "clock": certificates would look
     *  not yet valid (and expired ones valid) to anything using it. */
    int64_t now;
};

/**
 * @brief Runs the credential checks.
 * @param o   What to check.
 * @param out Receives the checks (zeroed first).
 * @return 0 (look at the statuses); -EINVAL for bad arguments; -EIO when the store cannot be
 *         read.
 */
AZK_API int azk_doctor_check_store(const struct azk_doctor_opts *o, struct azk_doctor_report *out);

/** @brief Adds a check to a report (for callers that add their own, e.g. a connection test). */
AZK_API void azk_doctor_add(struct azk_doctor_report *r, const char *id,
                            enum azk_check_status status, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** @brief The worst status in a report (AZK_CHECK_OK when empty; SKIPPED counts as OK). */
AZK_API enum azk_check_status azk_doctor_worst(const struct azk_doctor_report *r);

/**
 * @brief The failed and warned checks, most likely cause first: failures that are causes,
 *        then warnings, then the failed connection results ("online.tls", "connect.*": the
 *        effect of the causes before them, e.g. a warned leaf-only chain behind a refused
 *        registration). Within each group, in the order a device meets the problems: the
 *        clock, the socket's tags, reaching the server, trusting it, the client certificate
 *        and key, then what DPS and IoT Hub check after CONNECT (enrollment chain, id).
 * @param r     The report.
 * @param idx   Receives indexes into r->checks, in rank order.
 * @param max   Capacity of @p idx.
 * @return The number of indexes written (0: nothing failed or warned).
 */
AZK_API size_t azk_doctor_ranked(const struct azk_doctor_report *r, size_t *idx, size_t max);

/** @brief "ok", "info", "warning", "failed", "skipped". */
AZK_API const char *azk_check_status_name(enum azk_check_status s);

#ifdef __cplusplus
}
#endif
#endif

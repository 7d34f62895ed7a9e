/**
 * @file cred_nrf91.h
 * @brief The credential store of a real nRF91 modem, driven over its AT interface (a serial
 *        line to the at_client sample, AT Host or Serial Modem) with `AT%CMNG` -- the same
 *        API and `azkit cred` commands as the directory store.
 *
 * What the modem does, the backend passes on: writes are stored byte for byte and digested
 * by the modem (SHA-256), private keys cannot be read back (+CME ERROR 514 -> -EACCES), and
 * writes and deletes need the modem offline (+CFUN=4; the backend switches it there first
 * unless told not to, and a refusal, +CME ERROR 518, is -EPERM). Tags above 2147483647 are the
 * modem's and are left out of listings. One command carries the whole credential, so a
 * credential whose `AT%CMNG` command does not fit the AT buffer (4096 bytes by default, of
 * which AT Host keeps 4095 characters of a command) is refused before anything is sent
 * (-EMSGSIZE).
 *
 * Store spec for the CLI and azk_credstore_open(): `nrf91:/dev/ttyACM0[,baud=115200]`.
 */
#ifndef AZKIT_CRED_NRF91_H
#define AZKIT_CRED_NRF91_H

#include <stdbool.h>
#include <stdint.h>

#include "azkit/common.h"
#include "azkit/cred.h"
#include "azkit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options (zero-initialise). */
struct azk_nrf91_opts {
    uint32_t baud;             /**< 0 = 115200 (ignored for pseudo-terminals) */
    uint32_t timeout_ms;       /**< per command; 0 = 15000 (nrfcredstore's wait) */
    uint32_t at_buffer;        /**< the modem's AT command buffer; 0 = 4096 */
    bool keep_online;          /**< do not send AT+CFUN=4 before writes and deletes */
};

/**
 * @brief Opens the store of the modem on serial device @p device.
 *
 * Checks that an AT interface answers (`AT`), and turns on numeric errors (`AT+CMEE=1`).
 * @param device The serial device (e.g. /dev/ttyACM0, or a pseudo-terminal).
 * @param opts   Options (may be NULL).
 * @param out    Receives the store.
 * @param diag   Why it failed (may be NULL): "nrf91.open", "nrf91.no-answer".
 * @return 0; -ENOENT/-EACCES (cannot open the device); -ETIMEDOUT (nothing answers AT);
 *         -EPROTO (the answer is not an AT interface); -ENOMEM.
 */
AZK_API int azk_credstore_open_nrf91(const char *device, const struct azk_nrf91_opts *opts,
                                     struct azk_credstore **out, struct azk_diag *diag);

/**
 * @brief Opens a store by spec: `nrf91:DEVICE[,baud=N][,online]` for a modem, anything else
 *        (or NULL) is a directory (azk_credstore_open_dir()).
 * @return As the two open functions; -EINVAL for a malformed spec.
 */
AZK_API int azk_credstore_open(const char *spec, struct azk_credstore **out,
                               struct azk_diag *diag);

/** @brief The errno `modem_key_mgmt` gives for a +CME ERROR code (NCS's translate_error()). */
AZK_API int azk_nrf91_cme_errno(int cme);

#ifdef __cplusplus
}
#endif
#endif

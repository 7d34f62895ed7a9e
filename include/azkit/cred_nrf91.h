/**
 * @file cred_nrf91.h
 * @brief The credential store of a real nRF91 modem, driven over its AT interface (a serial
 *        line to the at_client sample, AT Host or Serial Modem) with `AT%CMNG` -- the same
 *        API and `azkit cred` commands as the directory store.
 *
 * What the modem does, the backend passes on: writes are stored byte for byte and digested
 * by the modem (SHA-256), private keys are never asked for (the modem refuses to read them,
 * +CME ERROR 514; the backend answers -EACCES without sending anything, and checks keys by the
 * digest in the modem's list). Tags above 2147483647 are the modem's and are left out of
 * listings; every type the modem lists is passed on, also types azkit does not write (5 and
 * up). One command carries the whole credential, so a credential whose `AT%CMNG` command does
 * not fit the AT buffer (4096 bytes by default, of which AT Host keeps 4095 characters of a
 * command) is refused before anything is sent (-EMSGSIZE).
 *
 * The functional mode: writes and deletes are allowed only when the modem is not in normal
 * operation (+CFUN 1, 2 or 21). Before the first write or delete the backend asks `AT+CFUN?`.
 * An online modem is refused (-EPERM, with the reason from azk_credstore_why()) unless
 * `allow_offline` is set; then it is switched to `AT+CFUN=4` and, when the store is closed
 * (also after a failure midway), back to the mode it had. The firmware revision (`AT+CGMR`)
 * is read once at open and reported by azk_credstore_firmware() and in the description.
 *
 * Store spec for the CLI and azk_credstore_open():
 * `nrf91:DEVICE[,baud=N][,offline=ok][,flow=none|rtscts][,eol=crlf|cr|lf][,timeout=SECONDS]`.
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

/** Hardware flow control on the serial line. */
enum azk_nrf91_flow {
    AZK_NRF91_FLOW_NONE = 0, /**< none (the default) */
    AZK_NRF91_FLOW_RTSCTS,   /**< RTS/CTS (nrfcredstore's default; the DKs wire it) */
};

/** What ends each command sent to the modem. */
enum azk_nrf91_eol {
    AZK_NRF91_EOL_CRLF = 0, /**< CR LF (the default, as nrfcredstore sends) */
    AZK_NRF91_EOL_CR,       /**< CR (AT Host's and Serial Modem's default termination) */
    AZK_NRF91_EOL_LF,       /**< LF */
};

/** Options (zero-initialise). */
struct azk_nrf91_opts {
    uint32_t baud;             /**< 0 = 115200 (ignored for pseudo-terminals) */
    uint32_t timeout_ms;       /**< per command; 0 = 15000 (nrfcredstore's wait) */
    uint32_t at_buffer;        /**< the modem's AT command buffer; 0 = 4096 */
    bool allow_offline;        /**< an online modem may be taken offline for a write or
                                    delete (and is put back on close); else it is refused */
    enum azk_nrf91_flow flow;  /**< flow control */
    enum azk_nrf91_eol eol;    /**< command termination */
};

/**
 * @brief Opens the store of the modem on serial device @p device.
 *
 * Checks that an AT interface answers (`AT`), turns on numeric errors (`AT+CMEE=1`) and reads
 * the firmware revision (`AT+CGMR`). Nothing else is sent until a command needs it.
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
 * @brief Opens a store by spec: `nrf91:DEVICE[,OPTION]...` for a modem (options above:
 *        baud=N, offline=ok|no, flow=none|rtscts, eol=crlf|cr|lf, timeout=SECONDS), anything
 *        else (or NULL: $AZKIT_STORE when it names a modem) is a directory
 *        (azk_credstore_open_dir()).
 * @param spec The spec, or NULL.
 * @param out  Receives the store.
 * @param diag Why it failed (may be NULL); "nrf91.spec" for a malformed spec.
 * @return As the two open functions; -EINVAL for a malformed spec.
 */
AZK_API int azk_credstore_open(const char *spec, struct azk_credstore **out,
                               struct azk_diag *diag);

/**
 * @brief The errno `modem_key_mgmt` gives for a +CME ERROR code (NCS's translate_error()).
 * @param cme The code of `+CME ERROR: <cme>`.
 * @return 513 -ENOENT, 514 -EACCES, 515 -ENOMEM, 518 -EPERM, 519 -EALREADY, 527 -EINVAL,
 *         528 -ECANCELED, 23 -E2BIG, 50 -EINVAL, 60 -ENOEXEC; anything else -EIO.
 */
AZK_API int azk_nrf91_cme_errno(int cme);

#ifdef __cplusplus
}
#endif
#endif

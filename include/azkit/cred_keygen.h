/**
 * @file cred_keygen.h
 * @brief Keys generated inside the store: the private key never leaves it, a certificate
 *        signing request (CSR) does.
 *
 * On an nRF91 store the modem generates the key pair (`AT%KEYGEN=<tag>,2,0,"CN=<id>"`) and
 * keeps the private key in the tag as type 2; on a directory store azkit generates it with
 * OpenSSL and stores it as any written key (mode 0600). Either way the caller gets the CSR,
 * checked (it parses, its signature verifies, its key is EC P-256, its CN is the one asked
 * for), to have a CA sign (`azkit pki sign-csr`), and writes the certificate back into the
 * same tag as type 1.
 *
 * A modem never releases its key, so the public key of the CSR is remembered on this
 * computer, filed under the SHA-256 the modem lists for the key (`AT%CMNG=1,<tag>,2`):
 * `$XDG_DATA_HOME/azkit/nrf91/keys/<SHA>.pub.pem` (default ~/.local/share/...). While the
 * tag's key digest stays the same, azk_cred_public_key() returns it, and `cred list` and the
 * doctor check the tag's certificate against it. A key replaced by other means has another
 * digest, and is then reported as not checkable, never as matching.
 */
#ifndef AZKIT_CRED_KEYGEN_H
#define AZKIT_CRED_KEYGEN_H

#include <stdbool.h>
#include <stddef.h>

#include "azkit/common.h"
#include "azkit/cred.h"
#include "azkit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options for azk_cred_keygen(). Zero-initialise. */
struct azk_keygen_opts {
    bool force; /**< Replace a key already in the tag (it is deleted first: whatever used it
                     stops working). Without it such a tag is refused (-EEXIST). */
};

/**
 * @brief Generate a P-256 key pair in @p tag (type 2) and return its CSR as PEM.
 *
 * @param store The store (a directory or an nRF91 modem).
 * @param tag   The security tag, 0..2147483647 (larger tags are the modem's: -ERANGE).
 * @param common_name The subject CN, the device id / DPS registration id (1..128 characters,
 *              no '"' or ',': the modem's attribute string cannot carry them).
 * @param opts  Options (may be NULL).
 * @param csr_pem Receives the CSR in PEM (heap, NUL-terminated; free()).
 * @param diag  Optional: why it failed ("cred.key-exists", "cred.reserved-sec-tag",
 *              "cred.keygen-refused", "cred.keygen-bad-csr", "cred.keygen-bad-cn"), and
 *              warnings (a client certificate already in the tag belongs to the old key).
 * @return 0; -EEXIST (a key is there and not @p opts->force); -ERANGE (reserved tag);
 *         -EINVAL (bad CN); -EPERM (modem online, see azk_credstore_why()); -EALREADY,
 *         -EACCES, -ENOMEM or -EIO (the modem refused: azk_credstore_why() gives the +CME
 *         ERROR code in words); -EBADMSG (the CSR returned does not parse or verify);
 *         -ETIMEDOUT.
 */
AZK_API int azk_cred_keygen(struct azk_credstore *store, azk_sec_tag_t tag,
                            const char *common_name, const struct azk_keygen_opts *opts,
                            char **csr_pem, struct azk_diag *diag);

/**
 * @brief The public key of the private key in @p tag, as SubjectPublicKeyInfo PEM.
 *
 * From the key itself when the store releases it (a directory), else the public key
 * remembered by azk_cred_keygen() for the key digest the store lists now.
 * @param pem  Receives the PEM (heap, NUL-terminated; free()).
 * @return 0; -ENOENT (no key in the tag); -ENODATA (a key the store does not release, and no
 *         public key is remembered for its digest); -EBADMSG; -ENOMEM; -EIO.
 */
AZK_API int azk_cred_public_key(struct azk_credstore *store, azk_sec_tag_t tag, char **pem);

#ifdef __cplusplus
}
#endif
#endif

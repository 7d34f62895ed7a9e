/**
 * @file x509.h
 * @brief Plain-words summaries of X.509 certificates (shared by `cred list` and `pki show`).
 */
#ifndef AZKIT_X509_H
#define AZKIT_X509_H

#include <stdbool.h>
#include <stddef.h>

#include "azkit/common.h"
#include "azkit/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a user needs to know about one certificate. All strings are NUL-terminated. */
struct azk_cert_summary {
    char subject[256];     /**< One-line subject, e.g. "CN = my-device, O = Contoso". */
    char issuer[256];      /**< One-line issuer. */
    char subject_cn[128];  /**< Subject CN, or "" when absent. */
    char issuer_cn[128];   /**< Issuer CN, or "". */
    char not_before[21];   /**< "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
    char not_after[21];    /**< "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
    char key_type[32];     /**< "EC P-256", "RSA 2048", "Ed25519", ... */
    char serial[80];       /**< Serial number, uppercase hex. */
    char sha1[41];         /**< SHA-1 of the DER, uppercase hex without separators (Azure portal form). */
    char sha256[65];       /**< SHA-256 of the DER, uppercase hex without separators. */
    bool is_ca;            /**< basicConstraints CA:TRUE. */
    int path_len;          /**< pathLenConstraint, or -1 when absent. */
    bool self_signed;      /**< Subject equals issuer and the signature verifies with its own key. */
    bool client_auth;      /**< Extended key usage lists clientAuth (or there is no EKU at all). */
    bool has_eku;          /**< An extended key usage extension is present. */
    int validity;          /**< 0 valid now, -1 not yet valid, 1 expired. */
};

/**
 * @brief Summarise every certificate in PEM text, in order.
 * @param pem   PEM text (need not be NUL-terminated).
 * @param len   Bytes in @p pem.
 * @param out   Array receiving up to @p max summaries.
 * @param max   Capacity of @p out.
 * @param count Receives the number of certificates found (may exceed @p max; only @p max are
 *              filled).
 * @param diag  Optional: why parsing failed.
 * @return 0; -EBADMSG when the text holds no certificate or a certificate block does not parse
 *         (the finding names which block); -ENOMEM.
 */
AZK_API int azk_x509_summarize_pem(const char *pem, size_t len, struct azk_cert_summary *out,
                                   size_t max, size_t *count, struct azk_diag *diag);

#ifdef __cplusplus
}
#endif
#endif

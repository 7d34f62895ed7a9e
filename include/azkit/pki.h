/**
 * @file pki.h
 * @brief Test PKI: the certificates Azure IoT Hub and DPS need, one call each.
 *
 * Replaces the shell scripts of Microsoft's "Create and upload certificates for testing"
 * tutorial. Every call writes PEM files named from an output prefix:
 *   <prefix>.cert.pem   the new certificate
 *   <prefix>.key.pem    its private key (mode 0600, unencrypted)
 *   <prefix>.chain.pem  intermediates, devices and servers: the certificate followed by every
 *                       intermediate above it up to (not including) the self-signed root --
 *                       what a device (or a TLS server) sends and what goes in credential
 *                       type 1.
 * Existing files are never overwritten unless `force` is set; on failure nothing is left
 * half-written.
 */
#ifndef AZKIT_PKI_H
#define AZKIT_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include "azkit/common.h"
#include "azkit/diag.h"
#include "azkit/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Key algorithms. */
enum azk_key_alg {
    AZK_KEY_EC_P256 = 0, /**< ECDSA on P-256 (default; smallest chains, what the nRF91 prefers). */
    AZK_KEY_RSA_2048 = 1,/**< RSA 2048. */
};

/** What to create. */
enum azk_pki_kind {
    AZK_PKI_ROOT = 0,         /**< Self-signed root CA. */
    AZK_PKI_INTERMEDIATE = 1, /**< Subordinate CA signed by a CA. */
    AZK_PKI_DEVICE = 2,       /**< Device (leaf) certificate, CN = device id, EKU clientAuth, signed by a CA. */
    AZK_PKI_SELF_SIGNED = 3,  /**< Self-signed device certificate (thumbprint authentication). */
    AZK_PKI_VERIFICATION = 4, /**< Proof-of-possession certificate: CN = verification code, signed by the CA key. */
    AZK_PKI_SERVER = 5,       /**< TLS server certificate signed by a CA: CN, subjectAltName (DNS names
                                   and IP addresses, see `san`), EKU serverAuth, CA:FALSE, keyUsage
                                   digitalSignature (+ keyEncipherment for RSA). */
};

/** Most subjectAltName entries a server certificate request may carry. */
#define AZK_PKI_SAN_MAX 64

/** A request. Zero-initialise, then fill in. */
struct azk_pki_request {
    enum azk_pki_kind kind;
    const char *common_name;  /**< Required: CA name, device id, or verification code. */
    enum azk_key_alg key_alg;
    int days;                 /**< Validity in days from notBefore; 0 = default (roots and
                                   intermediates 3650, everything else 365). */
    bool no_backdate;         /**< By default notBefore is one hour in the past, so devices with
                                   a slightly wrong clock accept the certificate. */
    const char *not_before;   /**< Optional explicit start, "YYYY-MM-DDTHH:MM:SSZ"; overrides
                                   backdating. */
    const char *not_after;    /**< Optional explicit end, same form; overrides `days`. */
    int path_len;             /**< Intermediates: pathLenConstraint; -1 = none. 0 = default (0). */
    const char *issuer_cert;  /**< Path of the issuing CA certificate (not for roots and
                                   self-signed devices). */
    const char *issuer_key;   /**< Path of the issuing CA key. */
    const char *issuer_chain; /**< Optional: the issuer's chain file (issuer first, then its
                                   intermediates). Default: <issuer prefix>.chain.pem next to
                                   issuer_cert when issuer_cert ends in ".cert.pem" and that
                                   file exists; else the issuer certificate alone when it is not
                                   self-signed. Used for the new certificate's chain file. */
    const char *out_prefix;   /**< Output prefix (see file comment). Required. */
    bool force;               /**< Overwrite existing output files. */
    const char *const *san;   /**< AZK_PKI_SERVER only: subjectAltName entries, each "DNS:name" or
                                   "IP:address" (IPv4 dotted quad or IPv6); a value without a
                                   prefix is an IP address when it parses as one, else a DNS
                                   name. DNS names: letters, digits, '-', '_', '.', optionally
                                   a leading "*." wildcard, at most 253 characters. Duplicates
                                   are dropped. None (san_count 0): the CN alone, as a DNS name
                                   or an IP address. Other kinds: must be empty. */
    size_t san_count;         /**< Entries in `san`, at most AZK_PKI_SAN_MAX. */
    const char *csr_file;     /**< AZK_PKI_DEVICE only, optional: a PEM certificate signing
                                   request (PKCS#10). The certificate is issued for its public
                                   key (the private key stays where it was generated, e.g. in a
                                   modem: no key file is written and `key_alg` is ignored), and
                                   its CN is the CSR's (`common_name` must be NULL or equal it;
                                   a NULL `out_prefix` becomes the CN).
                                   A CSR whose signature does not verify, or without a CN, is
                                   refused (-EBADMSG, findings "pki.csr-bad-signature",
                                   "pki.csr-no-cn", "pki.csr-unreadable"). */
};

/** What was created. */
struct azk_pki_result {
    char cert_path[512];
    char key_path[512];       /**< "" when no key was written (a request with csr_file). */
    char chain_path[512];     /**< "" when no chain file was written. */
    struct azk_cert_summary cert;
};

/**
 * @brief Create a certificate and its key.
 * @param req  The request.
 * @param res  Receives paths and a summary of the new certificate.
 * @param diag Optional: warnings (for example a device id that Azure would refuse as a DPS
 *             registration id) and the reason for a failure.
 * @return 0; -EINVAL for a bad request (missing name, bad date, device id Azure refuses);
 *         -EEXIST when an output file exists and `force` is not set; -ENOENT when the issuer
 *         files are missing; -EBADMSG when they do not parse; -EKEYREJECTED when the issuer key
 *         does not belong to the issuer certificate or the issuer is not a CA; -EIO.
 */
AZK_API int azk_pki_create(const struct azk_pki_request *req, struct azk_pki_result *res,
                           struct azk_diag *diag);

/** Options for azk_pki_verify(). */
struct azk_pki_verify_opts {
    const char *const *ca_files;        /**< Trusted CA files (each may hold several certs). */
    size_t ca_count;
    const char *const *untrusted_files; /**< Intermediates offered as untrusted. */
    size_t untrusted_count;
    const char *cert_file;   /**< The certificate to verify; certificates after the first in
                                  this file are used as untrusted intermediates too. */
    const char *expect_cn;   /**< Optional: the leaf CN must equal this (device/registration id). */
    bool partial_chain;      /**< Accept a chain that ends at a trusted intermediate (as Azure does
                                  when the verified CA is an intermediate). */
    struct azk_cert_summary *chain_out; /**< Optional: receives the chain as OpenSSL built it,
                                             leaf first, trust anchor last (on failure, as far
                                             as it got). */
    size_t chain_max;        /**< Capacity of @p chain_out. */
    size_t *chain_count;     /**< Optional: receives the number of certificates in that chain
                                  (may exceed chain_max; only chain_max are filled). */
};

/**
 * @brief Verify a certificate chain and explain a failure in words.
 * @param diag Receives, on failure, which link is missing, what expired, or which CN was
 *             expected -- and the fix. On success an info finding describes the chain.
 * @return 0 when the chain verifies; -EKEYREJECTED when it does not; -ENOENT for a missing file;
 *         -EBADMSG for a file that holds no certificate; -EINVAL for bad options.
 */
AZK_API int azk_pki_verify(const struct azk_pki_verify_opts *opts, struct azk_diag *diag);

#ifdef __cplusplus
}
#endif
#endif

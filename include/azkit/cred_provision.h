/**
 * @file cred_provision.h
 * @brief Laying out an Azure device in security tags, Azure's root CAs, and exporting a tag
 *        as a C header for firmware.
 */
#ifndef AZKIT_CRED_PROVISION_H
#define AZKIT_CRED_PROVISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "azkit/cred.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The public root certificates azkit knows. */
enum azk_azure_root {
    AZK_ROOT_DIGICERT_G2 = 0,      /**< DigiCert Global Root G2: Azure IoT Hub and DPS today. */
    AZK_ROOT_MICROSOFT_RSA_2017 = 1,/**< Microsoft RSA Root Certificate Authority 2017: backup. */
    AZK_ROOT_BALTIMORE = 2,        /**< Baltimore CyberTrust Root: retired, expired 2025-05-12.
                                        Known only to recognise and explain it. */
};
#define AZK_ROOT_COUNT 3

/** A known root. */
struct azk_root_info {
    const char *name;       /**< Subject CN. */
    const char *file;       /**< File name under data/roots/ in the source tree. */
    const char *pem;        /**< PEM text, NUL-terminated, canonical apart from its final LF. */
    const char *not_after;  /**< "YYYY-MM-DDTHH:MM:SSZ". */
    const char *sha256;     /**< SHA-256 fingerprint of the DER, uppercase hex. */
    bool retired;           /**< Azure no longer uses it. */
};

/**
 * @brief One of the known roots.
 * @return The root, or NULL for a value outside enum azk_azure_root.
 */
AZK_API const struct azk_root_info *azk_azure_root(enum azk_azure_root which);

/**
 * @brief Recognise a known root by the SHA-256 fingerprint of a certificate's DER.
 * @param sha256_hex Uppercase or lowercase hex, 64 characters.
 * @return The root, or NULL when the certificate is not one of them.
 */
AZK_API const struct azk_root_info *azk_azure_root_by_fingerprint(const char *sha256_hex);

/** A PEM input held in memory. */
struct azk_pem_input {
    const char *data;
    size_t len;
    const char *origin;     /**< Where it came from (file name), for messages. */
};

/** What azk_cred_provision() should lay out. */
struct azk_provision_opts {
    azk_sec_tag_t sec_tag;          /**< Primary tag: the device chain, its key and the CA(s). */
    bool has_secondary;             /**< Use a secondary tag too. */
    azk_sec_tag_t secondary_sec_tag;/**< Secondary tag (NCS CONFIG_MQTT_HELPER_SECONDARY_SEC_TAG). */
    struct azk_pem_input cert;      /**< Device certificate, optionally followed by intermediates. */
    struct azk_pem_input key;       /**< Device private key. */
    const char *passphrase;         /**< For an encrypted key, or NULL. */
    const struct azk_pem_input *cas;/**< CA files replacing Azure's roots, or NULL for the roots. */
    size_t ca_count;
};

#define AZK_PROVISION_MAX_STEPS 8

/** One credential written by azk_cred_provision(), with the reason it went there. */
struct azk_provision_step {
    azk_sec_tag_t tag;
    int type;
    size_t size;
    char what[160];  /**< e.g. "DigiCert Global Root G2 + Microsoft RSA Root Certificate Authority 2017" */
    char why[320];   /**< e.g. "type 0: the roots the modem uses to verify Azure's server" */
};

/** Report of a provisioning run. */
struct azk_provision_report {
    size_t count;
    struct azk_provision_step steps[AZK_PROVISION_MAX_STEPS];
};

/**
 * @brief Lay out an Azure device in one or two security tags.
 *
 * One tag: type 0 = the CAs (by default DigiCert Global Root G2 and Microsoft RSA Root CA 2017
 * together), type 1 = the device chain, type 2 = the key. With a secondary tag: DigiCert G2 in
 * the primary, Microsoft RSA 2017 in the secondary, and the chain and key in both (the layout
 * that works in the field). With `cas`, the first CA goes in the primary and the rest in the
 * secondary (a single CA goes in both). Every input is validated before anything is written.
 *
 * @param report Receives what went where and why.
 * @param diag   Optional: warnings from the writes, and the reason for a failure.
 * @return 0, or the first error azk_cred_write_ex() gives (nothing is written when an input is
 *         invalid); -EINVAL when the primary and secondary tags are equal.
 */
AZK_API int azk_cred_provision(struct azk_credstore *store, const struct azk_provision_opts *opts,
                               struct azk_provision_report *report, struct azk_diag *diag);

/**
 * @brief Write a C header that provisions a tag on an nRF91 with modem_key_mgmt_write().
 *
 * The header holds each certificate credential of the tag as a string literal and a function
 * `int azkit_provision_sec_tag_<tag>(void)` that compares (modem_key_mgmt_cmp()) and writes
 * (modem_key_mgmt_write()) each one with strlen() lengths and the right credential types.
 * @param include_key Also embed the private key. Only when the user asked for it explicitly.
 * @param out  Where to write the header.
 * @param diag Optional: why it failed.
 * @return 0; -ENOENT when the tag holds nothing exportable; -EIO on a write error.
 */
AZK_API int azk_cred_export_c(struct azk_credstore *store, azk_sec_tag_t tag, bool include_key,
                              FILE *out, struct azk_diag *diag);

#ifdef __cplusplus
}
#endif
#endif

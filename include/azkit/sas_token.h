/**
 * @file sas_token.h
 * @brief Shared access signatures for symmetric-key devices (Linux, OpenSSL): the token a
 *        device sends as its MQTT CONNECT password, the device key of an enrollment-group
 *        member, and device connection strings.
 *
 * Token (Microsoft Learn: "Control access to IoT Hub with shared access signatures", "Symmetric
 * key attestation"):
 *
 *   SharedAccessSignature sr={url-encoded resource}&sig={url-encoded signature}&se={expiry}
 *                         [&skn={key name}]
 *
 * signature = base64(HMAC-SHA256(base64-decoded key, url-encoded resource + "\n" + expiry)),
 * expiry in Unix seconds. The resource is `{hub host}/devices/{device id}` for IoT Hub and
 * `{id scope}/registrations/{registration id}` with skn `registration` for DPS.
 * A group member's key: base64(HMAC-SHA256(base64-decoded group key, registration id)).
 *
 * Nothing here logs or prints; callers never print keys, signatures or tokens.
 */
#ifndef AZKIT_SAS_TOKEN_H
#define AZKIT_SAS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/common.h"
#include "azkit/mqtt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AZK_SAS_KEY_BYTES_MAX 64  /**< longest decoded key (Azure generates 64 bytes) */
#define AZK_SAS_KEY_B64_MAX 89    /**< its base64 with the NUL */
#define AZK_SAS_SIG_MAX 45        /**< base64 of an HMAC-SHA256, with the NUL */
#define AZK_SAS_TOKEN_MAX 1024    /**< longest token (IoT Hub's limit) with the NUL */
#define AZK_SAS_TTL_DEFAULT 3600  /**< token lifetime of the Azure SDKs, seconds */
#define AZK_SAS_DPS_KEY_NAME "registration" /**< skn of DPS device tokens */

/**
 * @brief Decodes a base64 key (standard alphabet, padded).
 * @return The number of bytes (1..out_size); -EINVAL when it is not such base64, empty, or
 *         longer than out_size.
 */
AZK_API int azk_sas_key_decode(const char *key_b64, unsigned char *out, size_t out_size);

/**
 * @brief The signature over an already url-encoded resource (as the token carries it).
 * @param key_b64    The base64 key.
 * @param sr_encoded The url-encoded resource.
 * @param se         The expiry (Unix seconds).
 * @param sig        Receives base64(HMAC-SHA256(key, sr_encoded "\n" se)), NUL-terminated.
 * @return 0; -EINVAL for a bad key or argument; -ENOMEM.
 */
AZK_API int azk_sas_sign(const char *key_b64, const char *sr_encoded, int64_t se,
                         char sig[AZK_SAS_SIG_MAX]);

/**
 * @brief A whole token.
 * @param key_b64  The base64 key.
 * @param sr       The resource, not encoded ("myhub.azure-devices.net/devices/dev1").
 * @param skn      The key name, or NULL/"" for none.
 * @param se       The expiry (Unix seconds).
 * @param out      Receives the token, NUL-terminated.
 * @param out_size Its size (AZK_SAS_TOKEN_MAX is always enough for valid ids).
 * @return The token's length; -EINVAL (bad key, resource or key name); -ENOBUFS; -ENOMEM.
 */
AZK_API int azk_sas_token(const char *key_b64, const char *sr, const char *skn, int64_t se,
                          char *out, size_t out_size);

/**
 * @brief The device key of an enrollment-group member.
 * @param group_key_b64   The group's base64 key.
 * @param registration_id The device's registration id.
 * @param out             Receives base64(HMAC-SHA256(group key, registration id)).
 * @return 0; -EINVAL (bad group key or arguments).
 */
AZK_API int azk_sas_derive_key(const char *group_key_b64, const char *registration_id,
                               char out[AZK_SAS_KEY_B64_MAX]);

/**
 * @brief Puts a fresh token in a CONNECT the device client is about to send (the work of
 *        azk_client_config.password): the resource from the CONNECT -- DPS
 *        `{id scope}/registrations/{client id}` with skn `registration`, IoT Hub
 *        `{host}/devices/{client id}` with `key_name` as skn when given (a hub-level policy) --
 *        and the expiry `ttl_s` seconds from now (rounded up to whole seconds).
 * @param key_b64   The device's base64 key.
 * @param key_name  The hub policy's name (SharedAccessKeyName), or NULL.
 * @param ttl_s     The token's lifetime (0 = AZK_SAS_TTL_DEFAULT).
 * @param dps       The CONNECT goes to DPS.
 * @param m         The CONNECT (username "{scope or host}/...", client id); receives the
 *                  password on success.
 * @param buf       Holds the token (until the CONNECT is encoded).
 * @param size      Its size (AZK_SAS_TOKEN_MAX).
 * @param expires_ms Receives the expiry in Unix milliseconds (may be NULL).
 * @return 0; -EINVAL (bad key, or a CONNECT without such a username); -ENOBUFS; -ENOMEM.
 */
AZK_API int azk_sas_connect_password(const char *key_b64, const char *key_name, uint32_t ttl_s,
                                     bool dps, struct azk_mqtt_connect *m, char *buf,
                                     size_t size, int64_t *expires_ms);

/**
 * @brief When to renew a token that expires at `expires_ms`: after 80 % of the life it has
 *        left now (the Azure SDKs renew before expiry, reconnecting with a new token).
 * @return Milliseconds from now (0 when it is due already).
 */
AZK_API uint64_t azk_sas_renew_in_ms(int64_t expires_ms);

/** A device connection string, parsed. */
struct azk_device_conn_string {
    char host[256];      /**< HostName */
    char device_id[129]; /**< DeviceId */
    char key[AZK_SAS_KEY_B64_MAX]; /**< SharedAccessKey (base64) */
    char key_name[65];   /**< SharedAccessKeyName ("" without: the device's own key) */
};

/**
 * @brief Parses `HostName=...;DeviceId=...;SharedAccessKey=...[;SharedAccessKeyName=...]`
 *        (parts in any order; names case-sensitive as Azure's; values may contain '=';
 *        other parts such as GatewayHostName are ignored).
 * @param s    The connection string.
 * @param out  Receives the parts.
 * @param why  Receives what is wrong, in words that never contain the key (may be NULL).
 * @param whylen Its size.
 * @return 0; -EINVAL (a part missing or malformed, a key that is not base64, a module
 *         identity, `x509=true`), -ENAMETOOLONG (a part too long).
 */
AZK_API int azk_device_conn_string_parse(const char *s, struct azk_device_conn_string *out,
                                         char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif

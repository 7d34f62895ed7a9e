/* Credential types and security tags, numbered and named as the nRF91 modem and nrfcredstore
 * name them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azkit/cred.h"

struct type_names {
    const char *short_name;
    const char *nrf_name;
    const char *alt_name;
    const char *description;
};

static const struct type_names names[AZK_CRED_TYPE_COUNT] = {
    {"ca", "ROOT_CA_CERT", "CA_CHAIN", "root CA certificate(s)"},
    {"cert", "CLIENT_CERT", "PUBLIC_CERT", "client certificate"},
    {"key", "CLIENT_KEY", "PRIVATE_CERT", "client private key"},
    {"psk", "PSK", "PRE_SHARED_KEY", "pre-shared key"},
    {"identity", "PSK_IDENTITY", "PSK_ID", "PSK identity"},
};

AZK_API int azk_cred_type_parse(const char *text, enum azk_cred_type *out)
{
    if (text == NULL || *text == '\0')
        return -EINVAL;
    if (text[0] >= '0' && text[0] <= '9') {
        if (text[1] != '\0')
            return -EINVAL;
        int v = text[0] - '0';
        if (v >= AZK_CRED_TYPE_COUNT)
            return -EINVAL;
        *out = (enum azk_cred_type)v;
        return 0;
    }
    for (int i = 0; i < AZK_CRED_TYPE_COUNT; i++) {
        if (strcasecmp(text, names[i].short_name) == 0 || strcasecmp(text, names[i].nrf_name) == 0 ||
            strcasecmp(text, names[i].alt_name) == 0) {
            *out = (enum azk_cred_type)i;
            return 0;
        }
    }
    return -EINVAL;
}

AZK_API const char *azk_cred_type_short_name(int type)
{
    return type >= 0 && type < AZK_CRED_TYPE_COUNT ? names[type].short_name : "unknown";
}

AZK_API const char *azk_cred_type_nrf_name(int type)
{
    return type >= 0 && type < AZK_CRED_TYPE_COUNT ? names[type].nrf_name : "UNKNOWN";
}

AZK_API const char *azk_cred_type_description(int type)
{
    return type >= 0 && type < AZK_CRED_TYPE_COUNT ? names[type].description : "unknown type";
}

AZK_API int azk_sec_tag_parse(const char *text, azk_sec_tag_t *out, struct azk_diag *diag)
{
    if (text == NULL || *text == '\0' || strspn(text, "0123456789") != strlen(text)) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.bad-sec-tag",
                     "A security tag is a decimal number from 0 to 2147483647, e.g. 10.",
                     "'%s' is not a security tag", text ? text : "");
        return -EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE || v > AZK_SEC_TAG_MAX) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.reserved-sec-tag",
                     "Use a tag from 0 to 2147483647. Tags above that are reserved by the nRF91 "
                     "modem (2147483648-2147483667 are its TLS-decryption test tags).",
                     "security tag %s is reserved by the modem", text);
        return -ERANGE;
    }
    *out = (azk_sec_tag_t)v;
    return 0;
}

AZK_API size_t azk_cmng_command_length(azk_sec_tag_t tag, int type, size_t content_len)
{
    char prefix[64];
    int n = snprintf(prefix, sizeof(prefix), "AT%%CMNG=0,%u,%d,\"", (unsigned)tag, type);
    return (size_t)n + content_len + 1;
}

AZK_API void azk_digest_hex(const uint8_t digest[AZK_CRED_DIGEST_SIZE],
                            char out[2 * AZK_CRED_DIGEST_SIZE + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < AZK_CRED_DIGEST_SIZE; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[2 * AZK_CRED_DIGEST_SIZE] = '\0';
}

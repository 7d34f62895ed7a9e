/* Certificates as Azure's service APIs take them. DPS enrollments, enrollment groups and DPS
 * CAs, and IoT Hub's CA certificates, accept the certificate as PEM text, as the base64 of
 * that PEM text (Microsoft's Node provisioning service SDK and its tests send this), or as the
 * base64 of the DER (Microsoft's .NET SDK sends this). The hub stores PEM. */
#ifndef AZK_HUB_CERT_TEXT_H
#define AZK_HUB_CERT_TEXT_H

#include <stddef.h>

/*
 * Turns `text` (one of the three forms; whitespace and line breaks in base64 are ignored)
 * into PEM text of its certificates. *pem_out is heap text the caller frees.
 * Returns 0; -EINVAL when `text` is none of the three forms (`why`, may be NULL, says so in a
 * sentence naming the forms); -ENOMEM.
 */
int hub_cert_text_to_pem(const char *text, char **pem_out, char *why, size_t why_size);

#endif

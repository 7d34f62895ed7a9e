/* Internal: Azure's rules for device ids and DPS registration ids. */
#ifndef AZK_COMMON_AZURE_IDS_H
#define AZK_COMMON_AZURE_IDS_H

#include <stddef.h>

/* Longest IoT Hub device id and DPS registration id. */
#define AZK_DEVICE_ID_MAX 128
#define AZK_REGISTRATION_ID_MAX 64

/* IoT Hub device id: case-sensitive, 1..128 characters, ASCII letters, digits and
 * - : . + % _ # * ? ! ( ) , = @ ; $ '
 * Returns 0, or -EINVAL with the broken rule (naming the offending character) in `why`
 * (may be NULL). */
int azk_device_id_check(const char *id, char *why, size_t why_len);

/* DPS registration id: 1..64 characters, lowercase letters, digits and - . _ :
 * Returns 0, or -EINVAL with the broken rule in `why` (may be NULL). */
int azk_registration_id_check(const char *id, char *why, size_t why_len);

#endif

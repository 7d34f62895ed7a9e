/**
 * @file azure_status.h
 * @brief What an IoT Hub / DPS status or error code means and what usually fixes it
 *        (portable core; a unit of its own, so firmware that never calls it does not link the
 *        strings).
 */
#ifndef AZKIT_AZURE_STATUS_H
#define AZKIT_AZURE_STATUS_H

#include <stdint.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where a code came from (the same number means different things in different places). */
enum azk_status_kind {
    AZK_STATUS_CONNACK,   /**< MQTT 3.1.1 CONNACK return code 0..5 (hub and DPS). */
    AZK_STATUS_HUB,       /**< Status on $iothub/twin/res/{status} or a method response. */
    AZK_STATUS_DPS,       /**< Status on $dps/registrations/res/{status}. */
    AZK_STATUS_HUB_ERROR, /**< IoT Hub 6-digit error code (e.g. 401003, 404104). */
    AZK_STATUS_DPS_ERROR, /**< DPS 6-digit `errorCode` from a response body (e.g. 401002). */
};

/** A short explanation and the likely fix; static strings, never NULL. */
struct azk_status_info {
    const char *summary; /**< What happened, one sentence. */
    const char *fix;     /**< What usually fixes it, one sentence. */
};

/**
 * @brief Looks up a status or error code.
 * @param kind Where the code came from.
 * @param code The code. For the 6-digit kinds an unknown code falls back to the entry of its
 *             HTTP class (code / 1000, e.g. 404999 → the 404 entry of AZK_STATUS_HUB or
 *             AZK_STATUS_DPS), since Azure defines errorCode / 1000 as the HTTP status.
 * @return The entry, or NULL if the code (and its class) is unknown or `kind` is invalid.
 */
AZK_API const struct azk_status_info *azk_status_lookup(enum azk_status_kind kind,
                                                        uint32_t code);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file core.h
 * @brief The portable core (MQTT 3.1.1 codec, Azure IoT Hub + DPS protocol, JSON): what every
 *        core header shares. See src/core/README.md for the rules the core keeps.
 */
#ifndef AZKIT_CORE_H
#define AZKIT_CORE_H

#include "azkit/common.h"
#include "azkit/span.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Version of the core, e.g. "0.1.0". */
AZK_API const char *azk_core_version(void);

#ifdef __cplusplus
}
#endif
#endif

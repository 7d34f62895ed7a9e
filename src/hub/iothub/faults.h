/* Fault injection, for testing device clients' reliability against azkit-hub. Set through the
 * service API (`/azkit/faults`) or `azkit-hub fault`, and by the telemetry properties Azure's
 * own SDK tests send (AzIoTHub_FaultOperationType / ...CloseReason / ...DelayInSecs). */
#ifndef AZK_HUB_FAULTS_H
#define AZK_HUB_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "azkit/span.h"

struct hub_daemon;
struct hub_conn;
struct hub_iothub;

struct hub_faults {
    unsigned refuse_connects;   /* refuse the next N CONNECTs ... */
    uint8_t refuse_code;        /* ... with this CONNACK code (3 or 5) */
    unsigned twin_throttle;     /* answer the next N twin requests with 429 */
    unsigned dps_throttle;      /* answer the next N DPS requests with 429 (retry-after 1 s) */
    unsigned puback_delay_ms;   /* delay every telemetry PUBACK by this much */
};

/* CONNECT hook: true when this CONNECT must be refused; *code is the CONNACK code. */
bool hub_faults_take_connect(struct hub_daemon *d, uint8_t *code);
/* Twin hook: true when this twin request must be answered 429. */
bool hub_faults_take_twin(struct hub_daemon *d);
/* DPS hook: true when this register or status request must be answered 429. */
bool hub_faults_take_dps(struct hub_daemon *d);

/* Drops a device's connection now. Returns 0, or -ENOENT when it is not connected. */
int hub_faults_drop(struct hub_iothub *h, const char *device_id);

/* Telemetry hook: honours AzIoTHub_FaultOperationType (KillTcp, KillAmqp, ShutDownMqtt, ...:
 * the connection is closed), AzIoTHub_FaultOperationCloseReason (logged) and
 * AzIoTHub_FaultOperationDelayInSecs (after that delay). */
void hub_faults_telemetry(struct hub_conn *c, struct azk_span property_bag);

#endif

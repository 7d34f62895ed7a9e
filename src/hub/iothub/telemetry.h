/* Device-to-cloud messages: property bags into the stored record, Will messages. */
#ifndef AZK_HUB_TELEMETRY_H
#define AZK_HUB_TELEMETRY_H

#include <stddef.h>

#include "azkit/span.h"
#include "hub/store/store.h"

struct hub_conn;

/* Stores a telemetry PUBLISH; with QoS 1 the PUBACK goes out once it is committed.
 * Returns 0, or a negative errno (the caller closes the connection). */
int hub_telemetry_publish(struct hub_conn *c, struct azk_span props, struct azk_span payload,
                          int qos, uint16_t packet_id, bool retain);

/* Stores the connection's Will as telemetry with iothub-MessageType=Will. */
void hub_telemetry_store_will(struct hub_conn *c);

#endif

/* The AMQP addresses of IoT Hub's service side, as the service SDKs write them (pure string
 * functions; no Proton, no state). */
#ifndef AZK_HUB_AMQP_ADDR_H
#define AZK_HUB_AMQP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "hub/iothub/c2d_props.h"

/* The nodes a link may attach to. */
enum hub_amqp_node {
    HUB_AMQP_NODE_UNKNOWN = 0,
    HUB_AMQP_NODE_CBS,         /* "$cbs": put-token requests and their responses */
    HUB_AMQP_NODE_DEVICEBOUND, /* "/messages/devicebound": C2D messages from the back-end */
    HUB_AMQP_NODE_FEEDBACK,    /* "/messages/serviceBound/feedback": delivery feedback */
};

/* Which node `address` names. The path is compared case-insensitively and may be preceded by
 * "amqps://<host>[:port]" (the form some SDKs use); NULL or anything else is UNKNOWN. */
enum hub_amqp_node hub_amqp_node_of(const char *address);

/* The device id of a C2D message's `to` property, "/devices/{id}/messages/devicebound"
 * ({id} percent-encoded as the SDKs send it; "devicebound" in any case), into `id`
 * (NUL-terminated). Returns 0, -EINVAL (NULL, another shape, an empty id or bad
 * percent-encoding), -ENAMETOOLONG (the id does not fit id_size). The id's characters are not
 * checked here (an id the registry does not hold is "not found" later). */
int hub_amqp_device_of_to(const char *to, char *id, size_t id_size);

/* Whether a CBS put-token for `audience` may be granted by a token whose resource is `sr`:
 * the audience is the resource itself or a path under it ("host/messages/devicebound" under
 * "host"). The audience may be percent-encoded (as SDKs pass an encoded sr); a scheme ("amqps://", "https://", "sb://") on either side is ignored; the host part
 * is compared case-insensitively, the path exactly; a trailing '/' on sr is ignored.
 * false for NULL or empty inputs. */
bool hub_amqp_audience_in_scope(const char *sr, const char *audience);

#endif

/* Persistent MQTT sessions of IoT Hub devices (CleanSession=0).
 *
 * MQTT 3.1.1 section 3.1.2.4 puts a client's subscriptions in its session state, and IoT Hub
 * restores a persistent session's subscriptions when the device reconnects (as Microsoft
 * engineers describe it in Azure/iotedge PR #5048): twin responses, desired-property patches,
 * direct methods and C2D are in force from the CONNACK on, with no SUBSCRIBE. Microsoft's
 * Python device SDK relies on it: it connects with CleanSession=0 and never re-subscribes.
 *
 * The hub's choices (Azure documents no session lifetime): a session lives until the device
 * connects with CleanSession=1 or is deleted; it is kept in the device's row of the hub's
 * database, so it survives a restart, as the C2D queue does.
 */
#ifndef AZK_HUB_SESSION_H
#define AZK_HUB_SESSION_H

#include <stdbool.h>

struct hub_conn;

/* At CONNECT of an accepted device (c->hub, c->device_id and c->clean_session set):
 * CleanSession=1 discards any session; CleanSession=0 resumes the stored one (its
 * subscriptions become c->subs) or starts an empty one. Returns the CONNACK's session-present
 * flag: true only when a stored session was resumed. */
bool hub_session_open(struct hub_conn *c);

/* After SUBSCRIBE or UNSUBSCRIBE: a persistent session records c->subs. */
void hub_session_save(struct hub_conn *c);

#endif

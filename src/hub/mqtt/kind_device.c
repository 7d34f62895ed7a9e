/* The IoT Hub device connection: what a device accepted by CONNECT may send. IoT Hub supports
 * MQTT 3.1.1 at QoS 0 and 1 only ("Communicate with an IoT hub using the MQTT protocol",
 * Microsoft Learn): the QoS 2 flow closes the connection, as do packets only a server sends. */
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/iothub/devmap.h"
#include "hub/iothub/iothub.h"

static void device_closed(struct hub_conn *c);

const struct hub_conn_kind hub_kind_device = {
    .name = "IoT Hub device",
    .packets = {
        [0] = {NULL, "reserved packet type 0"},
        [AZK_MQTT_CONNECT] = {NULL, "second CONNECT on one connection"},
        [AZK_MQTT_CONNACK] = {NULL, "CONNACK is sent by servers, not devices"},
        [AZK_MQTT_PUBLISH] = {hub_handle_publish, NULL},
        [AZK_MQTT_PUBACK] = {hub_handle_puback, NULL},
        [AZK_MQTT_PUBREC] = {NULL, "PUBREC: IoT Hub does not support QoS 2"},
        [AZK_MQTT_PUBREL] = {NULL, "PUBREL: IoT Hub does not support QoS 2"},
        [AZK_MQTT_PUBCOMP] = {NULL, "PUBCOMP: IoT Hub does not support QoS 2"},
        [AZK_MQTT_SUBSCRIBE] = {hub_handle_subscribe, NULL},
        [AZK_MQTT_SUBACK] = {NULL, "SUBACK is sent by servers, not devices"},
        [AZK_MQTT_UNSUBSCRIBE] = {hub_handle_unsubscribe, NULL},
        [AZK_MQTT_UNSUBACK] = {NULL, "UNSUBACK is sent by servers, not devices"},
        [AZK_MQTT_PINGREQ] = {hub_handle_pingreq, NULL},
        [AZK_MQTT_PINGRESP] = {NULL, "PINGRESP is sent by servers, not devices"},
        [AZK_MQTT_DISCONNECT] = {hub_handle_disconnect, NULL},
        [15] = {NULL, "reserved packet type 15"},
    },
    .closed = device_closed,
    .freed = NULL,
};

/* The device leaves its hub's table of connections. Its persistent session (session.c) was
 * kept up to date with every SUBSCRIBE, so it needs nothing here. */
static void device_closed(struct hub_conn *c)
{
    struct hub_iothub *h = c->hub;
    if (h == NULL || hub_devmap_get(&h->conns, c->device_id) != c)
        return; /* replaced by a newer connection of the same device */
    hub_devmap_remove(&h->conns, c->device_id);
    hub_store_device_set_connected(h->store, c->device_id, false, hub_now_ms());
    hub_store_c2d_requeue_inflight(h->store, c->device_id);
}

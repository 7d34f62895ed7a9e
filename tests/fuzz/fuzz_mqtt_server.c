/* libFuzzer target: the MQTT decoder in the server role (client → server packets): one-shot,
 * whole input and byte at a time, iteration over SUBSCRIBE/UNSUBSCRIBE filters, re-encoding.
 * The body is fuzz_mqtt_client.c with the role switched. */
#define AZK_FUZZ_MQTT_ROLE AZK_MQTT_ROLE_SERVER
#include "fuzz_mqtt_client.c"

/* The WebSocket opening handshake (RFC 6455 section 4.2) as Azure IoT Hub and DPS serve MQTT
 * over WebSockets and IoT Hub serves AMQP over WebSockets: GET /$iothub/websocket with
 * Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key, and
 * the subprotocol `mqtt` (devices) or `AMQPWSB10` (the service SDKs' AmqpWs transports). Pure
 * functions over the request's parts (the HTTP parser is the service API's). */
#ifndef AZK_HUB_WS_HANDSHAKE_H
#define AZK_HUB_WS_HANDSHAKE_H

#include <stdbool.h>

/* The path Azure serves WebSockets on, and the subprotocols it tells apart. The Event Hubs
 * SDKs' AMQP over WebSockets uses Service Bus's path instead (AMQPWSB10 only). */
#define HUB_WS_PATH "/$iothub/websocket"
#define HUB_WS_PATH_SERVICEBUS "/$servicebus/websocket"
#define HUB_WS_SUBPROTOCOL "mqtt"
#define HUB_WS_SUBPROTOCOL_AMQP "AMQPWSB10"
/* base64 of a SHA-1 digest: 28 characters and a NUL. */
#define HUB_WS_ACCEPT_SIZE 29

/* What a WebSocket carries, by its subprotocol. */
enum hub_ws_proto {
    HUB_WS_MQTT, /* "mqtt" */
    HUB_WS_AMQP, /* "AMQPWSB10" */
};

/* The parts of a request the handshake looks at; absent headers are NULL. */
struct hub_ws_request {
    bool is_get;
    const char *path;       /* the request path, without the query */
    const char *upgrade;    /* Upgrade */
    const char *connection; /* Connection */
    const char *version;    /* Sec-WebSocket-Version */
    const char *key;        /* Sec-WebSocket-Key */
    const char *protocol;   /* Sec-WebSocket-Protocol */
};

/* Whether the request asks for a WebSocket at all (an Upgrade: websocket header, or the
 * WebSocket path), so that it is answered by the handshake rules, not as a REST call. */
bool hub_ws_is_upgrade(const struct hub_ws_request *r);

/* Checks the handshake. Returns 0 with `accept` (Sec-WebSocket-Accept: base64 of the SHA-1 of
 * the key and RFC 6455's GUID) and *proto (the subprotocol chosen: `mqtt` when the client
 * offers it, else `AMQPWSB10`; on HUB_WS_PATH_SERVICEBUS only `AMQPWSB10`), or the HTTP status
 * to refuse it with and *why (static text): 404 another path, 400 not a GET / not an upgrade /
 * a bad key / no subprotocol served on that path offered,
 * 426 a version other than 13 (the answer then carries Sec-WebSocket-Version: 13), 500 when
 * OpenSSL fails. */
int hub_ws_check(const struct hub_ws_request *r, char accept[HUB_WS_ACCEPT_SIZE],
                 enum hub_ws_proto *proto, const char **why);

/* The Sec-WebSocket-Protocol value of `proto`. */
const char *hub_ws_proto_name(enum hub_ws_proto proto);

#endif

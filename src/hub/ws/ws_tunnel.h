/* MQTT and AMQP over WebSockets on the service API's port, as Azure serves them on 443: a
 * WebSocket upgrade request that passed the handshake rules (ws_handshake.h) is answered 101, and
 * its TLS connection is taken over from evhttp and handed, by subprotocol, to an ordinary MQTT
 * connection (hub_conn_adopt) or AMQP connection (hub_amqp_adopt) through a filter bufferevent
 * that unwraps the client's frames into MQTT/AMQP bytes and wraps the hub's bytes into binary
 * frames. The MQTT and AMQP code is their ports', unchanged.
 *
 * Why a takeover inside evhttp: libevent 2.1's evhttp has no WebSocket support and no way to
 * hand an accepted TLS connection to evhttp after the hub read its first request itself. evhttp
 * parses the upgrade request like any GET (same limits and timeouts), the router
 * recognises it before authorisation, and the tunnel then owns the connection's bufferevent:
 * it replaces evhttp's callbacks (bufferevent_filter_new does) and never answers the request
 * through evhttp; when the inner connection ends, the tunnel flushes what is queued and frees the
 * evhttp connection (evhttp_connection_free), which closes the socket and frees the TLS session.
 * The filter holds a reference on the TLS bufferevent, so evhttp_free() at shutdown cannot free
 * it under a live MQTT or AMQP connection. */
#ifndef AZK_HUB_WS_TUNNEL_H
#define AZK_HUB_WS_TUNNEL_H

#include <stdint.h>

#include "hub/ws/ws_handshake.h"

struct evhttp_request;
struct hub_daemon;
struct hub_ws_tunnel;

/* The tunnels of one service API (the service frees evhttp's connections when it stops). */
struct hub_ws_tunnels {
    struct hub_ws_tunnel *head;
};

/* Answers `req` 101 Switching Protocols (Sec-WebSocket-Accept `accept`, the subprotocol of
 * `proto`) and turns its connection into an MQTT connection (HUB_WS_MQTT: hub_conn_adopt) or
 * an AMQP connection of the service side (HUB_WS_AMQP: hub_amqp_adopt) named "`peer` (wss)" in
 * the log; frames longer than `max_payload` bytes are refused (close 1009). Returns 0, or
 * -ENOMEM / -EINVAL (not a TLS connection) / -ENOTSUP (AMQP asked for, AMQP not served) with
 * nothing written: the caller answers the request then. */
int hub_ws_tunnel_open(struct hub_daemon *d, struct hub_ws_tunnels *list,
                       struct evhttp_request *req, const char accept[HUB_WS_ACCEPT_SIZE],
                       enum hub_ws_proto proto, const char *peer, uint64_t max_payload);

/* The service API stops and evhttp_free() is about to free every connection: the tunnels let
 * go of theirs (their MQTT and AMQP connections are closed by the daemon, as every one is). */
void hub_ws_tunnels_detach(struct hub_ws_tunnels *list);

#endif

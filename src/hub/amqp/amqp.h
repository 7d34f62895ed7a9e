/* AMQP 1.0 over TLS: IoT Hub's service-side AMQP endpoint (Azure's port 5671), for back-ends
 * using the service SDKs: CBS put-token with service SAS tokens, C2D send on
 * /messages/devicebound, and feedback on /messages/serviceBound/feedback.
 *
 * Engine: Qpid Proton's pn_connection_driver, fed from the hub's libevent loop over the hub's
 * OpenSSL bufferevents (not Proton's own SSL): one loop, one TLS stack and one server chain for
 * every listener, no second thread, and the same handshake settings as MQTT and the service
 * API (tls.c). Proton does the AMQP and SASL framing only. */
#ifndef AZK_HUB_AMQP_H
#define AZK_HUB_AMQP_H

struct amqp_conn;
struct bufferevent;
struct hub_daemon;
struct hub_amqp;
struct hub_iothub;

/* Proton's largest frame (the AMQP max-frame-size the hub announces). */
#define HUB_AMQP_MAX_FRAME (256 * 1024)

/* Listens on d->cfg.listen : d->cfg.amqp_port (0 = any free port) and sets d->amqp_port;
 * unless d->cfg.eventhubs_port is -1, also for plain AMQP (no TLS, for the Event Hubs SDKs'
 * UseDevelopmentEmulator=true) on 127.0.0.1 : d->cfg.eventhubs_port, setting
 * d->eventhubs_port (a port that is taken is skipped with a warning unless
 * d->cfg.eventhubs_port_given). Returns 0 or a negative errno (already logged). */
int hub_amqp_start(struct hub_daemon *d, struct hub_amqp **out);

/* Closes every connection and the listener; frees everything (NULL is fine). */
void hub_amqp_stop(struct hub_amqp *a);

/* Feedback records were queued on hub `h`: offer them to its feedback receivers (no-op when
 * `a` is NULL). */
void hub_amqp_feedback_ready(struct hub_amqp *a, struct hub_iothub *h);

/* Telemetry was stored: offer it to the Event Hubs partition receivers (no-op when `a` is
 * NULL). */
void hub_amqp_telemetry_ready(struct hub_amqp *a);

/* AMQP over WebSockets (hub/ws/ws_tunnel.h): an AMQP connection named `peer` in the log over
 * `bev`, which carries the unwrapped AMQP bytes (a filter over the TLS connection; freed with the
 * connection, which then is its owner). Returns the connection, or NULL when out of memory
 * (logged; `bev` is freed then). */
struct amqp_conn *hub_amqp_adopt(struct hub_amqp *a, struct bufferevent *bev, const char *peer);

/* The transport under connection c failed (a bad WebSocket frame, a WebSocket Close): logs
 * `why`, stops reading, and ends c from the loop (never from inside the caller), freeing its
 * bufferevent. Safe to call more than once. */
void hub_amqp_conn_end(struct amqp_conn *c, const char *why);

#endif

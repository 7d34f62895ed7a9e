/* One MQTT connection to the hub. */
#ifndef AZK_HUB_CONN_H
#define AZK_HUB_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "azkit/mqtt.h"
#include "hub/iothub/c2d_props.h"
#include "hub/iothub/feedback.h"
#include "hub/store/store.h"
#include "hub/tls.h"

struct bufferevent;
struct event;
struct hub_conn;
struct hub_daemon;
struct hub_iothub;

/* A packet handler. Returns 0, or -1 after closing the connection. */
typedef int (*hub_packet_fn)(struct hub_conn *c, const struct azk_mqtt_packet *p);

/* What a kind of connection does with one MQTT control packet type: `handle` it, or (handle
 * NULL) close the connection with `refusal` in the log. */
struct hub_packet_rule {
    hub_packet_fn handle;
    const char *refusal;
};

/* The kind of a connection, decided once: a new connection is HUB_KIND_AWAIT_CONNECT, and its
 * CONNECT makes it an IoT Hub device connection or a DPS connection. Each kind has a rule for
 * all 16 control packet types, so no handler ever asks which kind of connection it serves. */
struct hub_conn_kind {
    const char *name;                      /* for the log */
    struct hub_packet_rule packets[16];    /* indexed by enum azk_mqtt_type */
    /* The connection closes (leaves its registries); may be NULL. */
    void (*closed)(struct hub_conn *c);
    /* The connection is freed (after the last reference); may be NULL. */
    void (*freed)(struct hub_conn *c);
};

extern const struct hub_conn_kind hub_kind_await_connect; /* conn.c: only CONNECT */
extern const struct hub_conn_kind hub_kind_device;        /* kind_device.c */
extern const struct hub_conn_kind hub_kind_dps;           /* dps_connect.c */

/* Subscriptions a device can hold (the documented device topics). */
enum {
    HUB_SUB_C2D = 1u << 0,
    HUB_SUB_TWIN_RES = 1u << 1,
    HUB_SUB_TWIN_DESIRED = 1u << 2,
    HUB_SUB_METHODS = 1u << 3,
    HUB_SUB_DPS_RES = 1u << 4, /* DPS: $dps/registrations/res/# */
};

enum hub_conn_state {
    HUB_CONN_HANDSHAKE = 0,  /* TLS handshake in progress */
    HUB_CONN_AWAIT_CONNECT,  /* TLS up, waiting for CONNECT (10 s) */
    HUB_CONN_CONNECTED,      /* CONNECT accepted */
    HUB_CONN_CLOSING,        /* flushing the last bytes, then freed */
};

struct hub_conn {
    struct hub_daemon *d;
    struct hub_conn *all_prev, *all_next; /* d->all_conns, until the connection is finished */
    uint64_t id;
    int refs;                   /* the connection itself + pending store completions */
    struct bufferevent *bev;
    SSL *ssl;
    char peer[64];              /* "ip:port" */
    enum hub_conn_state state;
    bool admitting;             /* counted in d->admitting (accepted, CONNECT not handled) */
    bool write_now;             /* a TLS socket bufferevent: hub_conn_send writes at once */
    struct event *timer;        /* CONNECT timeout, then keepalive */
    int64_t last_rx_ms;
    int64_t timeout_ms;         /* silence allowed once connected */
    int64_t token_expires_ms;   /* SAS devices: the connection ends then, as on Azure (0: no) */
    char device_id[HUB_DEVICE_ID_MAX + 1];
    const struct hub_conn_kind *kind; /* what this connection handles (never NULL) */
    struct hub_iothub *hub;     /* the IoT hub of an accepted device connection (else NULL) */
    bool clean_session;
    unsigned subs;              /* HUB_SUB_* */
    uint16_t next_packet_id;
    bool got_disconnect;        /* DISCONNECT received: no Will */
    /* Will message from CONNECT (stored as telemetry if the connection drops). */
    bool has_will;
    char *will_topic;
    void *will_payload;
    size_t will_payload_len;
    bool will_retain;
    char auth_desc[384];        /* how the device authenticated, for the log */
    uint16_t c2d_inflight;      /* packet id of the C2D message in flight (0: none) */
    /* ... its message id and the feedback it asked for (iothub-ack), for the record its
     * PUBACK makes (feedback.h). */
    char c2d_inflight_id[HUB_C2D_ID_MAX + 1];
    enum hub_c2d_ack c2d_inflight_ack;
    /* QoS 1 PUBLISHes from the device, in arrival order, waiting for their PUBACK. */
    struct hub_puback *acks_head, *acks_tail;
    struct event *ack_timer;    /* fault injection: a delayed PUBACK at the head */
    /* Back-pressure: bytes of this connection's telemetry queued for the store but not yet
     * committed. Reading pauses above HUB_CONN_PENDING_HIGH and resumes below ..._LOW, so a
     * device flooding QoS 0 telemetry cannot grow the hub's memory without bound. */
    size_t pending_bytes;
    bool read_paused;
    /* DPS connections (dps.h): device_id holds the registration id; the peer chain and the
     * SAS token are kept because every register request is authorized with them. */
    struct hub_peer_chain dps_chain;
    /* The CONNECT password (a SAS token: symmetric-key attestation), or NULL; never logged. */
    char *dps_sas_token;
    struct hub_conn *dps_prev, *dps_next; /* the daemon's list of DPS connections */
};

#define HUB_CONN_PENDING_HIGH (8u * 1024 * 1024)
#define HUB_CONN_PENDING_LOW (2u * 1024 * 1024)

/* The PUBACK of one QoS 1 PUBLISH. PUBACKs go out in the order the PUBLISHes arrived, each only
 * once its message is done (telemetry committed, twin patch committed, GET answered). */
struct hub_puback {
    struct hub_puback *next;
    uint16_t packet_id;
    bool ready;
    int64_t ready_at_ms;        /* when it may go (later than ready with a fault delay) */
};

/* Reserves the PUBACK of a QoS 1 PUBLISH as it arrives. NULL when out of memory. */
struct hub_puback *hub_puback_reserve(struct hub_conn *c, uint16_t packet_id);
/* Its message is done: the PUBACK goes out as soon as every earlier one went. */
void hub_puback_ready(struct hub_conn *c, struct hub_puback *p);
/* Frees what is still queued (connection freed). */
void hub_puback_free_all(struct hub_conn *c);

/* Closes every connection, whatever its state (the daemon is stopping). */
void hub_conn_close_all(struct hub_daemon *d);

/* Accepts a TCP connection: starts the TLS handshake. */
void hub_conn_accept(struct hub_daemon *d, int fd, const char *peer);

/* Adopts a connection whose TLS session is already up on another port: the service API's
 * WebSocket tunnel (hub/ws/ws_tunnel.h). `bev` carries the MQTT bytes (a filter bufferevent
 * over the TLS one; the connection frees it), `ssl` is the TLS session (client certificate and
 * server name for CONNECT; owned by the tunnel), `peer` names it in the log. The connection
 * waits for CONNECT as one accepted on the MQTT port does. Returns it, or NULL (out of memory;
 * bev freed, logged). */
struct hub_conn *hub_conn_adopt(struct hub_daemon *d, struct bufferevent *bev, SSL *ssl,
                                const char *peer);

/* Queues bytes for the device. */
void hub_conn_send(struct hub_conn *c, const void *data, size_t len);
/* Sends a PUBLISH (QoS 0 or 1; with QoS 1 the packet id is allocated and returned). */
uint16_t hub_conn_publish(struct hub_conn *c, const char *topic, size_t topic_len,
                          const void *payload, size_t payload_len, int qos);
/* Closes the connection (after flushing what was queued); `why` goes to the log.
 * `store_will`: the connection ended without DISCONNECT (store the Will). */
void hub_conn_close(struct hub_conn *c, bool store_will, const char *why, ...)
    __attribute__((format(printf, 3, 4)));

/* References held by asynchronous work (store completions) so a closed connection is freed
 * only after it finished. */
void hub_conn_ref(struct hub_conn *c);
void hub_conn_unref(struct hub_conn *c);
/* True while the connection can still be written to. */
bool hub_conn_alive(const struct hub_conn *c);

/* Reading resumes after back-pressure (read_paused). Bytes that arrived meanwhile may already
 * be buffered below the connection (the WebSocket filter's TLS bufferevent, where no new socket
 * read would wake them): they are passed up and read now. */
void hub_conn_resume_read(struct hub_conn *c);

/* CONNECT accepted: the keepalive timer runs (min(1.5 x keepalive, 1767 s), as Azure). */
void hub_conn_start_keepalive(struct hub_conn *c, uint16_t keepalive_s);

/* Packet handlers of an IoT Hub device connection (one file per packet, mosquitto's layout;
 * the rule table is kind_device.c). Return 0, or -1 after closing the connection. */
int hub_handle_connect(struct hub_conn *c, const struct azk_mqtt_packet *p);
int hub_handle_publish(struct hub_conn *c, const struct azk_mqtt_packet *p);
int hub_handle_puback(struct hub_conn *c, const struct azk_mqtt_packet *p);
int hub_handle_subscribe(struct hub_conn *c, const struct azk_mqtt_packet *p);
int hub_handle_unsubscribe(struct hub_conn *c, const struct azk_mqtt_packet *p);
int hub_handle_pingreq(struct hub_conn *c, const struct azk_mqtt_packet *p);
/* Handlers every connected kind shares: they touch only the connection itself. */
int hub_handle_disconnect(struct hub_conn *c, const struct azk_mqtt_packet *p);
void hub_send_pingresp(struct hub_conn *c);

/* Delivers the next queued C2D message if the device is subscribed and none is in flight. */
void hub_c2d_pump(struct hub_conn *c);

struct hub_iothub;
/* A C2D message of `device_id` ended with `status`: queues a feedback record when its ack mode
 * asks for one, and offers it to the back-ends' feedback links. */
void hub_c2d_feedback(struct hub_iothub *h, const char *device_id, const char *message_id,
                      enum hub_c2d_ack ack, enum hub_feedback_status status);

/* IoT Hub's default maxDeliveryCount for cloud-to-device messages. */
#define HUB_C2D_MAX_DELIVERY 10

/* The next message to deliver to `device_id` (free with hub_c2d_msg_clear): as
 * hub_store_c2d_next(), except that a message already delivered HUB_C2D_MAX_DELIVERY times
 * without being completed is dead-lettered on the way (removed, DeliveryCountExceeded
 * feedback), as IoT Hub does. Returns 0, -EAGAIN (nothing to deliver), -ENOENT, -ENOMEM. */
int hub_c2d_next(struct hub_iothub *h, const char *device_id, struct hub_c2d_msg *out);

/* The device HTTPS API's receive (GET .../messages/devicebound): the next message, locked for
 * HUB_C2D_LOCK_MS under a new lock token (`token`, a UUID) and counted as a delivery; one
 * locked message per device at a time (a second receive answers "nothing" until it is
 * settled or its lock expires, when it goes back to the queue). Returns 0, -EAGAIN (nothing to
 * deliver now), -ENOENT, -ENOMEM. */
#define HUB_C2D_LOCK_MS 60000
int hub_c2d_http_receive(struct hub_iothub *h, const char *device_id, struct hub_c2d_msg *out,
                         char token[37]);
enum hub_c2d_outcome { HUB_C2D_COMPLETE, HUB_C2D_REJECT, HUB_C2D_ABANDON };
/* Settles the message locked under `token`: complete (removed, Success feedback), reject
 * (removed, Rejected feedback) or abandon (back to the queue; its delivery counted). Returns
 * 0, or -ESTALE when `token` is not the device's live lock (settled, expired, or never
 * given). */
int hub_c2d_http_settle(struct hub_iothub *h, const char *device_id, const char *token,
                        enum hub_c2d_outcome outcome);
/* Forgets the device's lock (its queue was purged): settling it then answers -ESTALE. */
void hub_c2d_http_unlock(struct hub_iothub *h, const char *device_id);
/* Frees the locks (the hub closing). */
void hub_c2d_http_locks_free(struct hub_iothub *h);

#endif

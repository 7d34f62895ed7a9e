/**
 * @file client.h
 * @brief The device client: DPS registration, then IoT Hub, as a sans-I/O state machine.
 *
 * The client owns no socket, no clock and no memory of its own. Its driver (the POSIX driver
 * in azkit/client_posix.h, an RTOS port, or a fleet runner with thousands of clients) does the
 * I/O and feeds the client what happened:
 *
 *   azk_client_start()             begin (DPS first when an id scope is configured)
 *   azk_client_endpoint()          where the client wants a transport (TLS) connection now
 *   azk_client_transport_up()      that connection is up (the client queues CONNECT)
 *   azk_client_receive()           bytes arrived on it
 *   azk_client_transport_down()    it closed or failed (errno, plus a text from the driver)
 *   azk_client_output()/_consumed() bytes to write, and how many were written
 *   azk_client_tick()              the time passed; returns when to call it again
 *
 * and the client reports what happened through one event callback (registered with DPS,
 * connected to the hub, telemetry acknowledged, a desired-properties patch, a method call, a
 * cloud-to-device message, a failure with its reason in plain words). Time is milliseconds of
 * any monotonic clock. All calls for one client come from one thread. The event callback may
 * call azk_client_stop() and the send functions (azk_client_send_telemetry(),
 * azk_client_twin_*(), azk_client_method_respond()); the event's spans are valid only during
 * the callback.
 *
 * Retries: failures that fix themselves are retried, before the first connection as well as
 * after it, DPS and hub alike: a name that does not resolve, a refused or reset TCP connection,
 * a TLS handshake cut by an I/O error, no answer in time (CONNACK, SUBACK, DPS, PINGRESP,
 * PUBACK, the whole DPS registration), CONNACK 3 (server unavailable), a lost connection.
 * Each retry is reported (AZK_CLIENT_EV_RETRYING: the reason and the wait) and waits with
 * exponential backoff and full jitter: the n-th consecutive failure waits a uniformly drawn
 * time in 0 .. min(retry_max_ms, retry_min_ms * 2^(n-1)), from the random source `random`
 * (injected: a hardware RNG on a device, a fixed sequence in tests). DPS answers 429 and 5xx
 * are asked again after their `retry-after` within the same connection; a registration that
 * has not assigned a hub within `dps_timeout_ms` is a timeout. Refusals that will not fix themselves
 * -- CONNACK 1, 2, 4, 5; DPS 401, a disabled enrollment, a failed assignment, another DPS
 * error; a refused subscription; a TLS handshake refused (the driver reports -ECONNABORTED: an
 * untrusted server, a client certificate the server refuses) -- stop the client
 * (AZK_CLIENT_FAILED) unless `retry_refusals` asks for slow retries (every retry_max_ms, spread
 * over its second half). `max_retries` bounds the consecutive failures; `no_retry` makes the
 * first failure final. A successful connection to the hub resets the count.
 *
 * Delivery: QoS 1 telemetry is delivered at least once or reported failed, never dropped
 * silently. With an outbox (azkit/outbox.h) accepted messages wait there until their PUBACK and
 * are sent again (DUP) after a reconnect; without one, a message whose PUBACK did not come
 * before its connection was lost is reported (AZK_CLIENT_EV_TELEMETRY_FAILED). At most
 * `inflight_max` messages wait for a PUBACK at a time. A dead link is found while traffic flows:
 * PINGREQ when nothing was sent or received for the keepalive period, and a connection with
 * messages in flight and no PUBACK for `response_timeout_ms` is closed and retried.
 *
 * Protocol (Microsoft Learn: "Communicate with DPS using the MQTT protocol"): DPS over MQTT with the Embedded C SDK's username
 * `{idScope}/registrations/{registrationId}/api-version=2019-03-31`, register and poll honouring
 * `retry-after`; then IoT Hub `{host}/{deviceId}/?api-version=2021-04-12`, subscriptions to
 * twin responses, desired patches, methods and C2D, telemetry QoS 0/1, keepalive PINGREQs.
 * Authentication: X.509 client certificates are the transport's business (TLS); symmetric-key
 * devices send a SAS token as the CONNECT password, made by the driver
 * (azk_client_config.password; azkit/sas_token.h on Linux).
 *
 * Memory: everything lives in `struct azk_client` and the work buffer given to
 * azk_client_init(): one receive buffer (the largest packet accepted) and one send buffer.
 */
#ifndef AZKIT_CLIENT_H
#define AZKIT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/core.h"
#include "azkit/mqtt.h"
#include "azkit/outbox.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AZK_CLIENT_HOST_MAX 255   /**< Longest host name (without ":port"). */
#define AZK_CLIENT_ID_MAX 128     /**< Longest device or registration id. */
#define AZK_CLIENT_SCOPE_MAX 32   /**< Longest DPS id scope. */
#define AZK_CLIENT_DPS_HOST_DEFAULT "global.azure-devices-provisioning.net"
#define AZK_CLIENT_MQTT_PORT 8883 /**< Port when a host has no ":port". */
#define AZK_CLIENT_INFLIGHT_MAX 32  /**< Largest in-flight window (QoS 1 without PUBACK). */
#define AZK_CLIENT_INFLIGHT_DEFAULT 8

struct azk_client_event;

/**
 * Where the DPS assignment is kept between starts, so that a device registers with DPS once,
 * not at every boot (flash on a device; a crash-safe file on Linux: azkit/assignment_file.h).
 * An implementation keys what it keeps by the id scope, the registration id and the client
 * certificate (its thumbprint, which the implementation knows and the client does not): a new
 * certificate means a new registration.
 */
struct azk_assignment_store {
    /**
     * @brief The assignment kept for this id scope and registration id (and certificate).
     * @param s        The store.
     * @param id_scope, registration_id  What it must have been kept for.
     * @param hub      Receives the hub "host[:port]", NUL-terminated.
     * @param hub_size Its size (AZK_CLIENT_HOST_MAX + 7).
     * @param device_id Receives the device id, NUL-terminated.
     * @param device_id_size Its size (AZK_CLIENT_ID_MAX + 1).
     * @return 0; -ENOENT when none is kept for these (or for this certificate); another
     *         negative errno when it cannot be read (the client then asks DPS).
     */
    int (*load)(struct azk_assignment_store *s, struct azk_span id_scope,
                struct azk_span registration_id, char *hub, size_t hub_size, char *device_id,
                size_t device_id_size);
    /**
     * @brief Keeps an assignment DPS just gave (replacing any other). Crash-safe: after a
     *        crash the store holds the old or the new one, never a mix.
     * @return 0 or a negative errno (the client goes on; the next start asks DPS again).
     */
    int (*save)(struct azk_assignment_store *s, struct azk_span id_scope,
                struct azk_span registration_id, struct azk_span hub, struct azk_span device_id);
    /** @brief Forgets it (the hub refused the device repeatedly). 0 or a negative errno. */
    int (*forget)(struct azk_assignment_store *s);
};

/** Settings (zero-initialise, then set what you need). Spans are copied at init. */
struct azk_client_config {
    /** DPS: id scope and registration id. With an empty id scope the client skips DPS and
     *  connects to `hub_host` as `device_id`. */
    struct azk_span id_scope;
    struct azk_span registration_id;
    /** DPS host, optionally with ":port" (default AZK_CLIENT_DPS_HOST_DEFAULT:8883). */
    struct azk_span dps_host;
    /** Optional JSON sent as the register request's "payload" (custom allocation); one
     *  valid JSON value of at most 511 bytes. */
    struct azk_span register_payload;
    /** Without DPS: the hub ("name" or "name:port") and the device id. */
    struct azk_span hub_host;
    struct azk_span device_id;
    /** MQTT keepalive in seconds (0 = 240, the Azure SDK's default; at most 1177). */
    uint16_t keepalive_s;
    /** How long CONNACK, SUBACK and DPS answers may take (0 = 30000 ms). */
    uint32_t response_timeout_ms;
    /** DPS: the overall deadline of one registration (connection, register request, status
     *  polls with their retry-after): not assigned by then, it is retried with backoff like a
     *  lost connection (0 = 300000 ms). */
    uint32_t dps_timeout_ms;
    /** Backoff between attempts after a failure: the n-th consecutive failure waits a random
     *  time in 0 .. min(retry_max_ms, retry_min_ms * 2^(n-1)) (full jitter; 0 = 1000 and
     *  300000). After a lost hub connection the client reconnects to the hub it had; before
     *  DPS answered it registers again. */
    uint32_t retry_min_ms, retry_max_ms;
    /** The random source of the waits (uniform 32-bit values; a hardware RNG on a device) and
     *  its context. NULL: a sequence seeded from the registration or device id (spreads a
     *  fleet, but is not random). */
    uint32_t (*random)(void *random_ctx);
    void *random_ctx;
    /** Consecutive failed attempts before the client gives up (AZK_CLIENT_FAILED with the last
     *  reason); 0 = no limit. */
    uint32_t max_retries;
    /** Give up at the first failure (no retries at all): for diagnostics and scripts. */
    bool no_retry;
    /** Refusals that will not fix themselves (see the top of this file): false = stop the
     *  client (for a diagnostic tool); true = retry slowly, every retry_max_ms spread over its
     *  second half (for a device in the field, which has nobody to restart it). */
    bool retry_refusals;
    /** DPS: where the assignment is kept between starts (NULL: DPS at every start). With a
     *  kept assignment for this id scope and registration id the client connects to its hub
     *  without contacting DPS (AZK_CLIENT_EV_DPS_ASSIGNED with `stored`). */
    struct azk_assignment_store *assignment;
    /** DPS: CONNACK 5 (not authorized) refusals in a row at the assigned hub after which the
     *  client forgets the assignment and registers with DPS again, once -- a device DPS moved
     *  to another hub follows it (0 = 3). Before that count each refusal is retried; after a
     *  new registration a refusal is a refusal (see retry_refusals). */
    uint8_t dps_again_after;
    /** Where accepted QoS 1 telemetry waits for its PUBACK (azkit/outbox.h), or NULL. With
     *  an outbox, azk_client_send_telemetry() at QoS 1 accepts messages in any state (also
     *  before the first connection and while reconnecting) and every accepted message is
     *  delivered at least once: unacknowledged ones are sent again, with DUP, after a
     *  reconnect. Without one, QoS 1 needs a connection, and messages whose PUBACK did not
     *  come before the connection was lost are reported (AZK_CLIENT_EV_TELEMETRY_FAILED). */
    struct azk_outbox *outbox;
    /** QoS 1 messages sent and not yet acknowledged at most (0 = AZK_CLIENT_INFLIGHT_DEFAULT;
     *  at most AZK_CLIENT_INFLIGHT_MAX). */
    uint8_t inflight_max;
    /** SAS authentication (symmetric keys); NULL for X.509 devices (no password). Called with
     *  `ctx` before every CONNECT, DPS and hub alike, with the CONNECT about to be encoded:
     *  it sets `m->password` and `m->has_password` (or leaves them unset to send none).
     *  `dps` true: the connection goes to DPS, `m->username` starts with "{id scope}/" and
     *  `m->client_id` is the registration id (the token's resource is
     *  `{id scope}/registrations/{registration id}`); false: the hub, `m->username` starts
     *  with "{hub host name}/" (no ":port") and `m->client_id` is the device id
     *  (`{host}/devices/{device id}`). The password -- a `SharedAccessSignature
     *  sr=...&sig=...&se=...` token made now -- must stay valid until the call returns only:
     *  it is copied into the CONNECT at once and the core keeps nothing. Nothing else of `m`
     *  may change. The token's lifetime is the driver's business: before it ends,
     *  azk_client_reconnect() connects with a new one (and should the hub close the
     *  connection at expiry, the client reconnects as after any lost connection, asking for
     *  a new token). */
    void (*password)(void *ctx, bool dps, struct azk_mqtt_connect *m);
    /** Event callback (required) and its context (also the password callback's). */
    void (*on_event)(void *ctx, const struct azk_client_event *ev);
    void *ctx;
};

/** What the client is doing. */
enum azk_client_state {
    AZK_CLIENT_IDLE = 0,        /**< not started */
    AZK_CLIENT_DPS_CONNECTING,  /**< wants a transport to DPS, or waits for CONNACK */
    AZK_CLIENT_DPS_REGISTERING, /**< registered the request, waits for the assignment */
    AZK_CLIENT_HUB_CONNECTING,  /**< wants a transport to the hub, or waits for CONNACK/SUBACK */
    AZK_CLIENT_CONNECTED,       /**< connected to IoT Hub and subscribed */
    AZK_CLIENT_BACKOFF,         /**< after a failure: waits before connecting again */
    AZK_CLIENT_FAILED,          /**< stopped for good (see the AZK_CLIENT_EV_FAILED event) */
    AZK_CLIENT_STOPPED,         /**< azk_client_stop() */
};

/** Why the client failed or lost a connection (AZK_CLIENT_EV_FAILED, _EV_DISCONNECTED). */
enum azk_client_failure {
    AZK_CLIENT_F_NONE = 0,
    AZK_CLIENT_F_TRANSPORT,         /**< the transport failed or closed (errno in `err`) */
    AZK_CLIENT_F_CONNACK,           /**< CONNACK refused (code in `code`) */
    AZK_CLIENT_F_PROTOCOL,          /**< the server sent something the client cannot accept */
    AZK_CLIENT_F_TIMEOUT,           /**< no answer in time */
    AZK_CLIENT_F_DPS_UNAUTHORIZED,  /**< DPS 401 (errorCode 401002: no enrollment matches) */
    AZK_CLIENT_F_DPS_DISABLED,      /**< the enrollment or registration is disabled */
    AZK_CLIENT_F_DPS_FAILED,        /**< DPS status "failed" (errorCode, errorMessage) */
    AZK_CLIENT_F_DPS_ERROR,         /**< another DPS error answer (status in `code`) */
    AZK_CLIENT_F_SUBSCRIBE,         /**< a subscription was refused (SUBACK 0x80) */
};

/** Event kinds. */
enum azk_client_event_kind {
    AZK_CLIENT_EV_DPS_ASSIGNED = 1, /**< hub, device_id, substatus */
    AZK_CLIENT_EV_CONNECTED,        /**< connected to IoT Hub and subscribed (hub, device_id) */
    AZK_CLIENT_EV_DISCONNECTED,     /**< the hub connection is gone; the client retries */
    AZK_CLIENT_EV_FAILED,           /**< stopped for good: failure, code, err, text */
    AZK_CLIENT_EV_TELEMETRY_ACKED,  /**< msg_id, packet_id: a QoS 1 telemetry message was PUBACKed */
    AZK_CLIENT_EV_TWIN,             /**< status, rid, version, payload: a twin GET/PATCH answer */
    AZK_CLIENT_EV_DESIRED,          /**< version, payload: a desired-properties patch */
    AZK_CLIENT_EV_METHOD,           /**< name, rid, payload: answer with azk_client_method_respond() */
    AZK_CLIENT_EV_C2D,              /**< payload, properties (the raw property bag) */
    /** msg_id, packet_id, err, text: without an outbox, a QoS 1 message whose PUBACK did not
     *  come before its connection was lost (it may or may not have arrived: send it again to be
     *  sure). Never reported with an outbox: the outbox sends it again. */
    AZK_CLIENT_EV_TELEMETRY_FAILED,
    /** failure, code, err, text, retry_in_ms, attempt: a failure that will be retried after
     *  retry_in_ms (attempt = consecutive failures so far). */
    AZK_CLIENT_EV_RETRYING,
};

/** One event. Spans point into the client's buffers: valid during the callback only. */
struct azk_client_event {
    enum azk_client_event_kind kind;
    enum azk_client_failure failure;
    int code;                    /**< CONNACK code, DPS errorCode or HTTP-like status */
    int err;                     /**< negative errno for transport failures */
    struct azk_span text;        /**< failure: DPS message or the driver's text */
    struct azk_span hub;         /**< DPS_ASSIGNED, CONNECTED: the hub host (":port" kept) */
    struct azk_span device_id;
    struct azk_span substatus;   /**< DPS_ASSIGNED */
    bool stored;                 /**< DPS_ASSIGNED: from the assignment store, DPS not asked */
    uint16_t packet_id;          /**< TELEMETRY_ACKED, _FAILED: the MQTT packet id */
    uint32_t msg_id;             /**< TELEMETRY_ACKED, _FAILED: what send_telemetry returned */
    uint32_t retry_in_ms;        /**< RETRYING: the wait before the next attempt */
    uint32_t attempt;            /**< RETRYING: consecutive failures so far (1, 2, ...) */
    int status;                  /**< TWIN */
    struct azk_span rid;         /**< TWIN, METHOD */
    int64_t version;             /**< TWIN (PATCH answers), DESIRED */
    struct azk_span name;        /**< METHOD */
    struct azk_span payload;     /**< TWIN (GET), DESIRED, METHOD, C2D */
    struct azk_span properties;  /**< C2D */
};

/** Where the client wants its transport. */
struct azk_client_endpoint {
    struct azk_span host;        /**< the name to connect to and to send as TLS SNI */
    uint16_t port;
    bool dps;                    /**< DPS (true) or IoT Hub */
};

/** The client. Members are internal: use the functions below. */
struct azk_client {
    struct {
        struct azk_client_config cfg;
        enum azk_client_state state;
        bool transport_up, want_transport, closing;
        bool handoff;                    /* closing for the hub at once (DPS done, reconnect) */
        bool awaiting_connack, mqtt_up;  /* CONNECT sent / CONNACK 0 received */
        uint16_t pending_acks[8];        /* PUBACKs that did not fit the output yet */
        uint8_t n_pending_acks;
        char scope[AZK_CLIENT_SCOPE_MAX + 1];
        char reg_id[AZK_CLIENT_ID_MAX + 1];
        char device_id[AZK_CLIENT_ID_MAX + 1];
        char dps_host[AZK_CLIENT_HOST_MAX + 7];
        char hub_host[AZK_CLIENT_HOST_MAX + 7];
        char operation_id[96];
        char payload[512];       /* register payload (copied) */
        size_t payload_len;
        struct azk_mqtt_decoder dec;
        uint8_t *tx;
        size_t tx_size, tx_len;
        uint16_t next_packet_id;
        uint16_t sub_packet_id;  /* SUBSCRIBE in flight, 0 = none */
        uint32_t rid_counter;
        uint64_t deadline;       /* an answer is due by then (0 = none) */
        uint64_t wake;           /* retry/poll/backoff timer (0 = none) */
        uint64_t last_tx, last_rx;
        uint64_t ack_deadline;   /* the oldest in-flight PUBLISH must be acknowledged by then */
        uint64_t dps_deadline;   /* DPS must have assigned a hub by then (0 = none) */
        struct { uint32_t msg_id; uint16_t packet_id; } inflight[AZK_CLIENT_INFLIGHT_MAX];
        uint8_t n_inflight;
        uint32_t out_cursor;     /* the last outbox id sent on this connection (0 = none) */
        uint32_t dup_hi;         /* the highest outbox id ever sent: resent ones carry DUP */
        bool ping_out;
        uint32_t attempts;       /* consecutive failures since the last hub connection */
        uint8_t hub_refusals;    /* CONNACK 5 in a row at the assigned hub */
        bool registered_again;   /* DPS was asked again after refusals */
        uint32_t rng;            /* the fallback random sequence */
        int fail_err;
        uint64_t now;
    } _internal;
};

/**
 * @brief Prepares a client.
 * @param c    The client (not NULL).
 * @param cfg  Settings (not NULL; on_event required). Ids, hosts and the payload are copied.
 * @param work The work buffer: half receives packets (the largest packet accepted), half
 *             holds output. At least 1024 bytes; 16 KB fits typical twins and C2D messages.
 * @param work_size Its size.
 * @return 0; -EINVAL when a required setting is missing, an id or host is too long or has a
 *         character Azure does not allow, the register payload is not valid JSON, keepalive
 *         is over 1177, or work is too small.
 */
AZK_API int azk_client_init(struct azk_client *c, const struct azk_client_config *cfg,
                            void *work, size_t work_size);

/**
 * @brief Starts: DPS registration when an id scope is set (or the kept assignment, see
 *        azk_client_config.assignment), else the hub connection.
 * @param c   An initialised client.
 * @param now The time.
 * @return 0; -EALREADY when already started.
 */
AZK_API int azk_client_start(struct azk_client *c, uint64_t now);

/** @brief Stops: queues DISCONNECT when connected; then wants no transport. */
AZK_API void azk_client_stop(struct azk_client *c);

/** @brief What the client is doing. */
AZK_API enum azk_client_state azk_client_state(const struct azk_client *c);

/**
 * @brief Whether the client wants a transport connection now, and to where.
 * @param c  The client.
 * @param ep Receives host (valid until the next call into the client), port, dps.
 * @return true when the driver should open a connection to ep (and none is open); false when
 *         it should keep the one it has, or have none (after stop or failure).
 */
AZK_API bool azk_client_endpoint(const struct azk_client *c, struct azk_client_endpoint *ep);

/** @brief The transport to azk_client_endpoint() is up (TLS done): CONNECT is queued. */
AZK_API void azk_client_transport_up(struct azk_client *c, uint64_t now);

/**
 * @brief The transport closed or failed.
 * @param c    The client.
 * @param err  0 for an orderly close, else a negative errno (-ECONNREFUSED, -ETIMEDOUT, ...).
 * @param text What the driver knows, in plain words (e.g. the TLS alert), or an empty span;
 *             passed on in the event.
 * @param now  The time.
 */
AZK_API void azk_client_transport_down(struct azk_client *c, int err, struct azk_span text,
                                       uint64_t now);

/**
 * @brief Feeds received bytes (any split).
 * @return 0; a negative errno when the stream is broken or a packet is larger than the receive
 *         half of the work buffer: the client failed (AZK_CLIENT_FAILED, the event says why)
 *         and wants the transport closed. Bytes that arrive while the client is closing, stopped
 *         or failed are ignored.
 */
AZK_API int azk_client_receive(struct azk_client *c, const void *data, size_t len,
                               uint64_t now);

/**
 * @brief Bytes waiting to be written.
 * @param c    The client.
 * @param data Receives a pointer to them (valid until the next call into the client).
 * @return Their number (0 = nothing to write).
 */
AZK_API size_t azk_client_output(const struct azk_client *c, const uint8_t **data);

/** @brief `n` bytes of azk_client_output() were written. */
AZK_API void azk_client_output_consumed(struct azk_client *c, size_t n);

/**
 * @brief Ends the hub connection cleanly (DISCONNECT) and connects to the hub again at once:
 *        no backoff wait, no failure counted, no DISCONNECTED event (CONNECTED follows when
 *        the new connection is subscribed). For a new SAS token before the current one
 *        expires: the password callback is asked again at the new CONNECT. What was in flight
 *        is handled as after a lost connection (sent again from the outbox, else reported
 *        AZK_CLIENT_EV_TELEMETRY_FAILED).
 * @param c The client.
 * @return 0; -ENOTCONN when not connected to the hub (nothing done: the next CONNECT asks for
 *         a password anyway).
 */
AZK_API int azk_client_reconnect(struct azk_client *c);

/** @brief True when the client wants the driver to close its transport now (after writing
 *  what azk_client_output() holds). */
AZK_API bool azk_client_wants_close(const struct azk_client *c);

/**
 * @brief Runs timers (answer deadlines, DPS polls, keepalive, backoff).
 * @return The time at which to call it again, later than `now` (0 = no timer pending).
 */
AZK_API uint64_t azk_client_tick(struct azk_client *c, uint64_t now);

/**
 * @brief Sends telemetry (`devices/{id}/messages/events/{props}`).
 *
 * QoS 0 goes into the output now or not at all. QoS 1 is tracked until its PUBACK: with an
 * outbox (azk_client_config.outbox) the message is put there and sent when the connection and
 * the in-flight window allow, sent again after a reconnect, and removed when acknowledged
 * (AZK_CLIENT_EV_TELEMETRY_ACKED with its msg_id); without one it is sent now, and a
 * connection lost before its PUBACK reports AZK_CLIENT_EV_TELEMETRY_FAILED.
 *
 * @param c        The client. Without an outbox (or at QoS 0) it must be connected.
 * @param props    A property bag, already encoded (`a=1&%24.ct=application%2Fjson`), or empty.
 * @param payload  The message.
 * @param qos      0 or 1.
 * @param msg_id   Receives the message's id with QoS 1 (the outbox's id, or the packet id
 *                 without an outbox; the ACKED/FAILED events name it); may be NULL.
 * @return 0 (accepted); -ENOTCONN when not connected (QoS 0, or QoS 1 without an outbox);
 *         -ENOBUFS when it cannot be taken now: the output buffer is full or, without an
 *         outbox, the in-flight window is (write out / wait for PUBACKs, then retry);
 *         -ENOSPC when the outbox is full (nothing was evicted: retry after acknowledgements);
 *         -EMSGSIZE when it can never fit (the send half of the work buffer, or the outbox);
 *         -EIO when the outbox could not store it; -EINVAL for bad arguments.
 */
AZK_API int azk_client_send_telemetry(struct azk_client *c, struct azk_span props,
                                      struct azk_span payload, int qos, uint32_t *msg_id);

/**
 * @brief Asks for the twin (`$iothub/twin/GET/?$rid=`); the answer is an AZK_CLIENT_EV_TWIN.
 * @param rid_out Receives the request id (at least 12 bytes; NUL-terminated), may be NULL.
 * @return 0, -ENOTCONN, -ENOBUFS.
 */
AZK_API int azk_client_twin_get(struct azk_client *c, char *rid_out, size_t rid_size);

/**
 * @brief Reports properties (`$iothub/twin/PATCH/properties/reported/?$rid=`): a JSON object.
 * @return 0, -ENOTCONN, -ENOBUFS, -EINVAL.
 */
AZK_API int azk_client_twin_report(struct azk_client *c, struct azk_span json, char *rid_out,
                                   size_t rid_size);

/**
 * @brief Answers a direct method call (`$iothub/methods/res/{status}/?$rid=`).
 * @param rid    The call's rid (from the event).
 * @param status The status to return (e.g. 200).
 * @param json   The answer's JSON ("null" when empty).
 * @return 0, -ENOTCONN, -ENOBUFS, -EINVAL.
 */
AZK_API int azk_client_method_respond(struct azk_client *c, struct azk_span rid, int status,
                                      struct azk_span json);

/** @brief The negative errno of the client's failure (AZK_CLIENT_FAILED), else 0. */
AZK_API int azk_client_last_error(const struct azk_client *c);

/** @brief A short name of a failure ("dps-unauthorized", ...). */
AZK_API const char *azk_client_failure_name(enum azk_client_failure f);

#ifdef __cplusplus
}
#endif
#endif

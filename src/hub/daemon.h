/* The running hub: loop, listeners, store, and the table of connected devices. */
#ifndef AZK_HUB_DAEMON_H
#define AZK_HUB_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <event2/listener.h>
#include <sys/socket.h>

#include "hub/config.h"
#include "hub/iothub/devmap.h"
#include "hub/dps/dps.h"
#include "hub/amqp/eh_groups.h"
#include "hub/iothub/faults.h"
#include "hub/iothub/iothub.h"
#include "hub/server_roots.h"

struct event_base;
struct evdns_base;
struct event;
struct evconnlistener;
struct hub_store;
struct hub_conn;
struct hub_service;
struct hub_amqp;

struct hub_daemon {
    struct hub_config cfg;
    struct event_base *base;
    SSL_CTX *tls;              /* what new MQTT connections get: tls_roots[server_root] */
    /* The MQTT listener's context under each server root; switching (hub_daemon_set_server_root)
     * changes only what new handshakes get: an SSL keeps a reference to the context it was
     * made from, so open connections keep their chain. */
    SSL_CTX *tls_roots[HUB_ROOT_COUNT];
    enum hub_server_root server_root;
    int64_t server_root_since_ms;  /* when the current choice was made (start or switch) */
    struct hub_root_files {
        char root[600];            /* root-legacy.pem / root-current.pem */
        char subject[256];         /* the root's subject (RFC 2253) */
    } root_files[HUB_ROOT_COUNT];
    char roots_bundle[600];        /* roots.pem: both roots */
    struct evconnlistener *mqtt_listener;
    int mqtt_port;             /* bound port */
    int service_port;          /* bound port of the service API (0 when not running) */
    int amqp_port;             /* bound AMQP port (0 when not served) */
    int eventhubs_port;        /* bound plain-AMQP port for UseDevelopmentEmulator (0: none) */
    int64_t started_ms;        /* when serve started (the Event Hubs created_at) */
    struct hub_amqp *amqp;     /* the AMQP endpoint (amqp/amqp.h); NULL when not served */
    /* The served IoT hubs: [0] the primary hub, then every --linked-hub (iothub.h). */
    struct hub_iothub hubs[1 + HUB_LINKED_MAX];
    size_t hub_count;
    struct hub_store *dps_store; /* DPS's state: the primary hub's database */
    struct hub_service *service;
    /* The key of the hub-level policy iothubowner (the service key): devices may connect with
     * a token of that policy, as Azure's iothubowner grants DeviceConnect. Cleared at stop. */
    char service_key[64];
    struct event *sig_int, *sig_term;
    uint64_t next_conn_id;
    size_t open_conns;
    size_t trim_peak_conns;    /* most open connections since memory was last trimmed */
    size_t trim_base_conns;    /* open connections when memory was last trimmed */
    struct event *trim_timer;  /* mem_trim.c */
    /* Accept pacing (conn.c counts, daemon.c pauses the listener): connections accepted and
     * not yet past CONNECT, and why the listener is paused. */
    size_t admitting;
    bool paused_busy;          /* admitting reached cfg.max_admitting */
    bool paused_no_fds;        /* accept() failed (out of file descriptors): 1 s pause */
    int64_t busy_since_ms;     /* first pause of the current busy period (0: not busy) */
    uint64_t busy_pauses;      /* pauses in the current busy period */
    uint64_t busy_accepted;    /* connections accepted in the current busy period */
    struct hub_conn *all_conns; /* every open connection, in any state (closed at stop) */
    struct hub_eh_groups eh_groups; /* Event Hubs consumer groups (amqp/eh_groups.h) */
    struct hub_faults faults;  /* fault injection (service API / azkit-hub fault) */
    struct hub_dps dps;        /* DPS over MQTT (id scope, operations) */
    /* Name lookups on the loop (DPS webhooks), made on first use; NULL until then. */
    struct evdns_base *dns;
};

/* Starts everything (PKI on first start, store, TLS, listeners) and prints the endpoints.
 * Returns 0 or a negative errno with the reason already logged. */
int hub_daemon_start(struct hub_daemon *d, const struct hub_config *cfg);
/* Runs the loop until SIGINT/SIGTERM. */
int hub_daemon_run(struct hub_daemon *d);
/* Closes connections, flushes the store, frees everything. */
void hub_daemon_stop(struct hub_daemon *d);

/* A connection accepted by the listener left the admission phase (its CONNECT was handled, or
 * it closed before): the listener resumes if it paused for being busy. */
void hub_daemon_admitted(struct hub_daemon *d);

/* Serves new MQTT TLS handshakes under `root` from now on (open connections are untouched);
 * logs the switch. The service API keeps the current root's chain. */
void hub_daemon_set_server_root(struct hub_daemon *d, enum hub_server_root root);

/* Binds a listener on ADDR:PORT (port 0: any free port) with the hub's backlog; returns the
 * bound port, or -errno (-EINVAL for an unparsable address). */
int hub_listen_bind(struct event_base *base, const char *addr, int port, evconnlistener_cb cb,
                    void *arg, struct evconnlistener **out);

/* A peer address as "a.b.c.d:port" or "[v6]:port" (for logs). */
void hub_peer_text(const struct sockaddr *sa, char *out, size_t size);

/* Milliseconds since the Unix epoch (wall clock). */
int64_t hub_now_ms(void);

#endif

/* Options of `azkit-hub serve`. */
#ifndef AZK_HUB_CONFIG_H
#define AZK_HUB_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "hub/log.h"
#include "hub/server_roots.h"

#define HUB_MAX_HOSTNAMES 16
#define HUB_LINKED_MAX 8 /* --linked-hub values */
#define HUB_CONSUMER_GROUPS_MAX 16 /* --consumer-group values */

struct hub_config {
    char data_dir[PATH_MAX];   /* --data; default ${XDG_DATA_HOME:-~/.local/share}/azkit/hub */
    const char *listen;        /* --listen ADDR; default 127.0.0.1 */
    int mqtt_port;             /* --mqtt-port; default 8883 (0 = any free port) */
    int service_port;          /* --service-port; default 443 (0 = any free port) */
    int amqp_port;             /* --amqp-port; default 5671 (0 = any free port) */
    bool amqp_port_given;      /* --amqp-port was given: failing to bind it is fatal */
    unsigned amqp_idle_timeout_s; /* --amqp-idle-timeout S: the idle timeout every AMQP
                                     connection announces (the peer sends at least an empty
                                     frame every half of it; a connection silent for longer is
                                     closed); 0..86400, default 240 as Azure; 0 = none */
    /* Event Hubs-compatible endpoint (amqp/eh_*.c): */
    unsigned partitions;       /* --partitions N: telemetry partitions, 1..32; default 4 */
    uint64_t telemetry_retention; /* --telemetry-retention N: telemetry messages kept, at
                                     least (at most a segment, N/7, more); 0 = 100000 */
    int eventhubs_port;        /* --eventhubs-port N: plain AMQP (no TLS) on loopback for the
                                  SDKs' UseDevelopmentEmulator=true; default 5672; 0 = any free
                                  port; -1 = off */
    bool eventhubs_port_given; /* failing to bind it is fatal */
    const char *consumer_groups[HUB_CONSUMER_GROUPS_MAX]; /* --consumer-group NAME, besides
                                                            $Default */
    size_t consumer_group_count;
    const char *hostnames[HUB_MAX_HOSTNAMES]; /* --hostname, repeatable */
    size_t hostname_count;
    const char *linked_hubs[HUB_LINKED_MAX]; /* --linked-hub HOST, repeatable */
    size_t linked_count;
    bool server_key_rsa;       /* --server-key rsa (default ec) */
    int tls_max;               /* --tls-max 12|13; default 13 */
    enum hub_server_root server_root; /* --server-root legacy|current: the root the MQTT
                                         listener's chain ends at; default current */
    enum hub_log_level log_level; /* --log-level */
    const char *ready_file;    /* --ready-file F: written with the bound ports once listening */
    /* DPS over MQTT: */
    unsigned dps_retry_after_s;    /* --dps-retry-after S: retry-after of 202s; default 3 */
    unsigned dps_assign_delay_s;   /* --dps-assign-delay S: assignment time; default 0 (done
                                      by the first poll) */
    unsigned dps_webhook_timeout_s; /* --dps-webhook-timeout S: custom allocation; default 10 */
    const char *dps_webhook_ca;    /* --dps-webhook-ca FILE: CAs trusted for https webhooks, in
                                      addition to the system's; NULL = the system's only */
    /* --durability power|process: what a completion (PUBACK, 200) promises. power (default):
     * on stable storage, survives power loss (SQLite synchronous=FULL, one fsync per commit
     * group); process: survives kill -9 of the hub but not a kernel crash or power loss
     * (synchronous=NORMAL; no fsync per commit), for CI and benchmarks. */
    bool durability_process;
    /* Limits (Azure's): */
    size_t max_telemetry_packet;   /* 256 KB */
    size_t max_method_response;    /* 128 KB */
    unsigned connect_timeout_ms;   /* CONNECT must arrive within 10 s of the handshake */
    /* Accept pacing: at most this many connections in the TLS handshake or waiting for
     * CONNECT (--max-handshakes); beyond it the listener pauses and new connections wait in
     * the kernel's accept queue. */
    unsigned max_admitting;
};

/* Defaults; data_dir resolved from the environment. */
void hub_config_defaults(struct hub_config *c);

#endif

/*
 * The IoT hubs one azkit-hub process serves. The first is the primary hub (the first
 * --hostname, default localhost; its database is <data>/hub.db, which also holds DPS's
 * state); each --linked-hub HOST is another hub with its own registry, verified CAs, twins,
 * C2D queues and telemetry in <data>/hubs/HOST/hub.db. DPS is linked to all of them.
 *
 * Devices and service calls reach every hub on the same listeners; the hub is told apart
 * by name: for MQTT the TLS SNI and the host in the CONNECT username, for the service API
 * the Host header and the SAS token's resource (hub_iothub_select()).
 */
#ifndef AZK_HUB_IOTHUB_H
#define AZK_HUB_IOTHUB_H

#include <stdbool.h>
#include <stddef.h>

#include "hub/config.h"
#include "hub/iothub/devmap.h"
#include "hub/iothub/feedback.h"
#include "hub/mqtt/auth.h"

struct hub_daemon;
struct hub_store;
struct azk_diag;

#define HUB_IOTHUB_NAME_MAX 253   /* a DNS name */

struct hub_c2d_lock;

struct hub_iothub {
    struct hub_daemon *d;
    char hostname[HUB_IOTHUB_NAME_MAX + 1];
    bool primary;
    struct hub_store *store;
    struct hub_devmap conns;    /* device id -> struct hub_conn* (authenticated connections) */
    /* The verified CAs, parsed: rebuilt when the store's CA generation moves. */
    struct hub_x509_cas verified_cas;
    uint64_t verified_cas_generation;
    bool verified_cas_loaded;
    /* C2D feedback not yet read by a back-end (AMQP /messages/serviceBound/feedback). */
    struct hub_feedback feedback;
    /* C2D messages received over the device HTTPS API and not settled yet (c2d.c). */
    struct hub_c2d_lock *c2d_locks;
};

/* Checks a --linked-hub value: a DNS name (not an IP address: it must be told apart by SNI)
 * of 1..253 characters, labels of letters, digits and '-'. NULL when fine, else why not. */
const char *hub_iothub_name_problem(const char *name);

/* Opens the hub's store (`data_dir` for the primary hub, <data_dir>/hubs/<hostname> for a
 * linked one, created 0700) and its tables. Returns 0 or a negative errno (findings in
 * `diag`). */
int hub_iothub_open(struct hub_iothub *h, struct hub_daemon *d, const char *hostname,
                    bool primary, const char *data_dir, struct azk_diag *diag);
/* The names a device's SAS token may name as its resource's host: the hub's own, and for the
 * primary hub every --hostname, localhost, 127.0.0.1 and ::1. Fills `hosts` (at least
 * HUB_IOTHUB_SAS_HOSTS_MAX entries, pointing at the hub's and the config's strings); returns
 * the count. */
#define HUB_IOTHUB_SAS_HOSTS_MAX (HUB_MAX_HOSTNAMES + 4)
size_t hub_iothub_sas_hosts(const struct hub_iothub *h, const char **hosts);

/* Closes the store (flushing it) and frees the tables. Safe on a zeroed struct. */
void hub_iothub_close(struct hub_iothub *h);

/* The hub's verified CAs, parsed once and again only after its CA table changed (a CA added,
 * deleted, verified or unverified): what every CONNECT of a CA-signed device checks against.
 * NULL when out of memory. Loop thread. */
const struct hub_x509_cas *hub_iothub_verified_cas(struct hub_iothub *h);

/* The served hub named `host` (case-insensitive; a ":port" suffix is ignored), or NULL. */
struct hub_iothub *hub_iothub_find(struct hub_daemon *d, const char *host, size_t len);

/*
 * The hub a connection or request is for, from the name the client gave in TLS (SNI, may be
 * NULL) and the name in the request (the MQTT username's host or the Host header, may be
 * NULL/empty): a name that is a served hub selects it; a name that is not (localhost, an IP
 * address, another alias of the primary hub's certificate) selects nothing; no selection at
 * all is the primary hub. Returns NULL, with `why` filled, when the two names select two
 * different hubs.
 */
struct hub_iothub *hub_iothub_select(struct hub_daemon *d, const char *tls_name,
                                     const char *request_name, size_t request_len, char *why,
                                     size_t whylen);

/* Closes the device's connection to this hub, if it has one (deleted, disabled, moved by
 * DPS). `why` goes to the log. */
void hub_iothub_kick(struct hub_iothub *h, const char *device_id, const char *why);

#endif

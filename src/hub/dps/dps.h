/* The Device Provisioning Service over MQTT on the hub's listener (Microsoft Learn, "Communicate with DPS using the MQTT protocol").
 *
 * The listener tells DPS from IoT Hub by the CONNECT username
 * ({idScope}/registrations/{registrationId}/api-version=...). A DPS connection is accepted
 * with any certificate or none; its peer chain (and its password, a SAS token for
 * symmetric-key attestation) is kept on the connection because authorization happens per
 * register request (dps_match_x509, dps_match_symkey). Files:
 *   dps_scope.c     the id scope of the data dir (<data>/dps.json)
 *   dps_connect.c   CONNECT, SUBSCRIBE/UNSUBSCRIBE and PUBLISH dispatch of DPS connections
 *   dps_register.c  register and operation-status requests, the responses
 *   dps_ops.c       operations in memory (ids, timers, expiry)
 *   dps_op_index.c  operations by id (hash table) and finished ones in order (FIFO)
 *   dps_assign.c    the assignment: allocation, reprovisioning, device + twin, record
 *   dps_match.c     X.509 matching; dps_symkey.c symmetric-key matching and key derivation
 */
#ifndef AZK_HUB_DPS_H
#define AZK_HUB_DPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/azure_dps.h"
#include "azkit/mqtt.h"

#include "hub/dps/dps_op_index.h"
#include "hub/slab.h"

struct hub_daemon;
struct cJSON;
struct hub_conn;
struct dps_op;

#define HUB_DPS_SCOPE_MAX 16

/* DPS state of the daemon. */
struct hub_dps {
    char id_scope[HUB_DPS_SCOPE_MAX + 1];  /* "0ne" + 8 uppercase hex digits */
    char host[300];                        /* what devices use: host, or host:port */
    struct hub_conn *conns;                /* connected DPS devices (closed at stop) */
    struct dps_op_index ops;               /* operations by id; finished ones in order */
    struct hub_slab op_slab;               /* where the operations live (slab.h) */
};

/* Reads <data>/dps.json, or creates it with a new id scope (0600). Returns 0 or -errno. */
int hub_dps_scope_load(const char *data_dir, char out[HUB_DPS_SCOPE_MAX + 1]);

/* After the listener is bound: the id scope and the DPS host. Returns 0 or -errno. */
int hub_dps_start(struct hub_daemon *d);

/* How devices reach a hub: `host`, with ":port" when the MQTT port is not 8883 (an emulator
 * extension). Used for assignedHub everywhere -- MQTT answers and the service API alike. */
void hub_dps_endpoint(const struct hub_daemon *d, const char *host, char *out, size_t len);

/* Rewrites "assignedHub" in a registrationState JSON object (and in a nested
 * "registrationState", for enrollments) to hub_dps_endpoint(). */
void hub_dps_fix_assigned_hub(const struct hub_daemon *d, struct cJSON *o);
/* Frees the operations (after the store closed: its last completions may touch them). */
void hub_dps_stop(struct hub_daemon *d);

/* CONNECT with a DPS username (already parsed). Returns 0, or -1 after closing. */
int hub_dps_connect(struct hub_conn *c, const struct azk_mqtt_connect *m,
                    const struct azk_dps_username *u);
/* A register or operation-status request of a DPS connection (dps_register.c); the answer
 * goes on $dps/registrations/res/... Returns 0, or -1 after closing. */
int hub_dps_request(struct hub_conn *c, const struct azk_dps_topic *t, struct azk_span body);
/* Closes every DPS connection (daemon stopping). */
void hub_dps_close_all(struct hub_daemon *d);

#endif

/* The HTTPS service API of azkit-hub: Azure's paths and JSON shapes, authorised by
 * SharedAccessSignature tokens signed with the service key, plus azkit's own endpoints
 * (verified CAs, C2D, telemetry, faults). Runs on the daemon's loop (evhttp over OpenSSL
 * bufferevents) on --service-port. */
#ifndef AZK_HUB_SERVICE_H
#define AZK_HUB_SERVICE_H

#include <stdint.h>

#include "hub/service/sas.h"

struct hub_daemon;
struct hub_service;
struct hub_pki;

/* Starts listening on d->cfg.listen : d->cfg.service_port (0 = any free port) and sets
 * d->service_port to the bound port. Returns 0 or a negative errno (already logged). */
int hub_service_start(struct hub_daemon *d, const struct hub_pki *pki,
                      struct hub_service **out);

/* Verifies a service token (an Authorization header value, or a CBS put-token's token) as
 * every service API call is verified: the hub's policies and key, the served host names,
 * expiry at `now_s`, and the policy's rights on endpoints of `scope`. `matched` (may be NULL)
 * receives the policy on success. */
enum hub_sas_result hub_service_verify(const struct hub_service *s, const char *token,
                                       enum hub_sas_scope scope, int64_t now_s,
                                       const struct hub_sas_policy **matched);

/* Stops listening and frees everything (NULL is fine). */
void hub_service_stop(struct hub_service *s);

#endif

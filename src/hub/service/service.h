/* The HTTPS service API of azkit-hub: Azure's paths and JSON shapes, authorised by
 * SharedAccessSignature tokens signed with the service key, plus azkit's own endpoints
 * (verified CAs, C2D, telemetry, faults). Runs on the daemon's loop (evhttp over OpenSSL
 * bufferevents) on --service-port. */
#ifndef AZK_HUB_SERVICE_H
#define AZK_HUB_SERVICE_H

struct hub_daemon;
struct hub_service;
struct hub_pki;

/* Starts listening on d->cfg.listen : d->cfg.service_port (0 = any free port) and sets
 * d->service_port to the bound port. Returns 0 or a negative errno (already logged). */
int hub_service_start(struct hub_daemon *d, const struct hub_pki *pki,
                      struct hub_service **out);

/* Stops listening and frees everything (NULL is fine). */
void hub_service_stop(struct hub_service *s);

#endif

/* The device HTTPS API for cloud-to-device messages (receive, complete, reject, abandon) on the
 * service port; see svc_device_c2d.c. */
#ifndef AZK_HUB_SVC_DEVICE_C2D_H
#define AZK_HUB_SVC_DEVICE_C2D_H

#include <stdbool.h>

struct evhttp_request;
struct hub_daemon;

/* Whether `path` (without the query) is one of the device C2D paths. */
bool svc_device_c2d_path(const char *path);

/* Serves one such request (authorised with the device's SAS token in `auth`, which may be
 * NULL); `peer` names the client in the log. Always answers the request. */
void svc_device_c2d(struct hub_daemon *d, struct evhttp_request *req, const char *path,
                    const char *auth, const char *peer);

#endif

/* The device HTTPS API for cloud-to-device messages (receive, complete, reject, abandon) on the
 * service port; see svc_device_c2d.c. */
#ifndef AZK_HUB_SVC_DEVICE_C2D_H
#define AZK_HUB_SVC_DEVICE_C2D_H

#include <stdbool.h>

struct evhttp_request;
struct hub_daemon;

#include "hub/iothub/identity.h"

/* The parts of a device C2D path. */
struct svc_device_c2d_path {
    char id[HUB_DEVICE_ID_MAX + 1]; /* percent-decoded */
    char token[64];                 /* the lock token; "" for a receive */
    bool abandon;                   /* .../{token}/abandon */
};

/* Parses "/devices/{id}/messages/devicebound[/{lockToken}[/abandon]]" ("devicebound" in any
 * case; segments percent-decoded, no NUL, no empty id). False for any other path. */
bool svc_device_c2d_parse(const char *path, struct svc_device_c2d_path *out);

/* Whether the query string has a "reject" parameter (bare, as the SDKs send it, or with a
 * value other than "false"). NULL: no. */
bool svc_device_c2d_rejects(const char *query);

/* Whether `path` (without the query) is one of the device C2D paths. */
bool svc_device_c2d_path(const char *path);

/* Serves one such request (authorised with the device's SAS token in `auth`, which may be
 * NULL); `peer` names the client in the log. Always answers the request. */
void svc_device_c2d(struct hub_daemon *d, struct evhttp_request *req, const char *path,
                    const char *auth, const char *peer);

#endif

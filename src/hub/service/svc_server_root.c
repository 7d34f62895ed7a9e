/* /azkit/server-root: which root the MQTT listener's server chain ends at (Azure's
 * Baltimore -> DigiCert Global Root G2 migration, rehearsed).
 *   GET                              -> the state
 *   PUT {"serverRoot":"legacy"|"current"} -> switches new MQTT handshakes (open connections
 *                                        keep their chain), answers the new state
 * The service API itself stays on the current root's chain (admin clients trust ca.pem). */
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/service/svc_common.h"

static cJSON *state_json(const struct hub_daemon *d)
{
    cJSON *o = cJSON_CreateObject();
    char since[40];
    svc_time_iso(d->server_root_since_ms, since);
    cJSON_AddStringToObject(o, "serverRoot", hub_server_root_name(d->server_root));
    cJSON_AddStringToObject(o, "since", since);
    cJSON *roots = cJSON_AddObjectToObject(o, "roots");
    for (int r = 0; r < HUB_ROOT_COUNT; r++) {
        cJSON *one = cJSON_AddObjectToObject(roots, hub_server_root_name((enum hub_server_root)r));
        cJSON_AddStringToObject(one, "file", d->root_files[r].root);
        cJSON_AddStringToObject(one, "subject", d->root_files[r].subject);
    }
    cJSON_AddStringToObject(o, "bundle", d->roots_bundle);
    cJSON_AddStringToObject(o, "serviceApiRoot", hub_server_root_name(HUB_ROOT_CURRENT));
    return o;
}

void svc_server_root(struct svc_req *r)
{
    if (r->nseg != 2) {
        svc_reply_error(r->req, 404, "NotFound", "Use /azkit/server-root.");
        return;
    }
    if (r->method == SVC_GET) {
        svc_reply_json(r->req, 200, state_json(r->d), NULL);
        return;
    }
    if (r->method != SVC_PUT) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET or PUT.");
        return;
    }
    cJSON *body = svc_body_json(r);
    if (body == NULL)
        return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "serverRoot");
    enum hub_server_root root;
    if (!cJSON_IsString(v) || hub_server_root_parse(v->valuestring, &root) != 0) {
        cJSON_Delete(body);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "The body must be {\"serverRoot\":\"legacy\"} or "
                        "{\"serverRoot\":\"current\"}.");
        return;
    }
    cJSON_Delete(body);
    hub_daemon_set_server_root(r->d, root);
    svc_reply_json(r->req, 200, state_json(r->d), NULL);
}

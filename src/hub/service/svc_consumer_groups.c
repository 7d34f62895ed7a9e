/* /azkit/consumer-groups: the consumer groups of the Event Hubs-compatible endpoint
 * (amqp/eh_groups.h), not in Azure's data plane (Azure creates them through its resource
 * manager).
 *   GET    /azkit/consumer-groups         -> {"consumerGroups":[{"name","createdBy"}...]}
 *   PUT    /azkit/consumer-groups/{name}  -> 201 {"name"} (409 when it exists)
 *   DELETE /azkit/consumer-groups/{name}  -> 204 (404 unknown; 403 $Default or a serve option) */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "hub/amqp/eh_groups.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/service/svc_common.h"

static void list(struct svc_req *r)
{
    const struct hub_eh_groups *gs = &r->d->eh_groups;
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "consumerGroups");
    cJSON *def = cJSON_CreateObject();
    cJSON_AddStringToObject(def, "name", "$Default");
    cJSON_AddStringToObject(def, "createdBy", "built-in");
    cJSON_AddItemToArray(a, def);
    for (size_t i = 0; i < gs->n; i++) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "name", gs->g[i].name);
        cJSON_AddStringToObject(g, "createdBy", gs->g[i].persisted ? "api" : "serve option");
        cJSON_AddItemToArray(a, g);
    }
    svc_reply_json(r->req, 200, o, NULL);
}

void svc_consumer_groups(struct svc_req *r)
{
    if (r->nseg == 2 && r->method == SVC_GET) {
        list(r);
        return;
    }
    if (r->nseg != 3 || (r->method != SVC_PUT && r->method != SVC_DELETE)) {
        svc_reply_error(r->req, r->nseg == 2 ? 405 : 404, "NotFound",
                        "Use GET /azkit/consumer-groups, PUT or DELETE "
                        "/azkit/consumer-groups/{name}.");
        return;
    }
    const char *name = r->seg[2];
    struct hub_eh_groups *gs = &r->d->eh_groups;
    if (r->method == SVC_PUT) {
        const char *why = hub_eh_group_name_problem(name);
        if (why != NULL) {
            svc_reply_error(r->req, 400, "ArgumentInvalid", "Bad consumer group name: %s.", why);
            return;
        }
        int rc = hub_eh_groups_add(gs, name, true);
        if (rc == -EEXIST || strcasecmp(name, "$Default") == 0)
            svc_reply_error(r->req, 409, "ConsumerGroupAlreadyExists",
                            "The consumer group '%s' already exists.", name);
        else if (rc == -ENOSPC)
            svc_reply_error(r->req, 403, "QuotaExceeded", "At most %d consumer groups.",
                            HUB_EH_GROUPS_MAX);
        else if (rc < 0)
            svc_reply_error(r->req, 500, "ServerError", "The consumer group could not be "
                            "saved: %s.", strerror(-rc));
        else {
            hub_log(HUB_LOG_INFO, "consumer group '%s' created", name);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", name);
            svc_reply_json(r->req, 201, o, NULL);
        }
        return;
    }
    int rc = hub_eh_groups_remove(gs, name);
    if (rc == -ENOENT)
        svc_reply_error(r->req, 404, "ConsumerGroupNotFound",
                        "The consumer group '%s' does not exist.", name);
    else if (rc == -EPERM)
        svc_reply_error(r->req, 403, "Forbidden", "The consumer group '%s' cannot be deleted "
                        "($Default, or given by serve --consumer-group).", name);
    else if (rc < 0)
        svc_reply_error(r->req, 500, "ServerError", "The consumer group could not be "
                        "saved: %s.", strerror(-rc));
    else {
        hub_log(HUB_LOG_INFO, "consumer group '%s' deleted (its open receivers stay)", name);
        svc_reply_empty(r->req, 204);
    }
}

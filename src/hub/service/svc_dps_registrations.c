/* /registrations: DPS registration records (DeviceRegistrationState): GET/DELETE
 * /registrations/{registrationId}, POST /registrations/{enrollmentGroupId}/query. Deleting a
 * record lets the device register again as new (the hub's device is kept, as on Azure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store/store_dps.h"
#include "hub/dps/dps.h"
#include "hub/service/svc_common.h"

/* The API JSON of a registration record, with the hub it was assigned to as the device sees it. */
static cJSON *registration_json(const struct hub_daemon *d, const struct dps_registration *reg)
{
    cJSON *o = dps_registration_to_json(reg, DPS_JSON_API);
    hub_dps_fix_assigned_hub(d, o);
    return o;
}

static void query_group(struct svc_req *r, const char *group_id)
{
    struct svc_dps_page pg;
    struct dps_registration *all = NULL;
    size_t n = 0;
    if (!svc_dps_page_begin(r, &pg, DPS_REG_ID_MAX) ||
        !svc_dps_page_listed(r, &pg, hub_store_dps_registration_list(r->d->dps_store, &all, &n),
                             "the registration list"))
        return;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].group_id, group_id) == 0 &&
            svc_dps_page_take(&pg, all[i].registration_id) > 0)
            cJSON_AddItemToArray(pg.items, registration_json(r->d, &all[i]));
    svc_reply_page(r, pg.items, "DeviceRegistration", pg.next);
    dps_registration_free_array(all, n);
}

void svc_dps_registrations(struct svc_req *r)
{
    if (r->nseg == 3 && strcmp(r->seg[2], "query") == 0 && r->method == SVC_POST) {
        query_group(r, r->seg[1]);
        return;
    }
    if (r->nseg != 2) {
        svc_dps_reply_error(r->req, 404, 404001, "NotFound", "No such registration endpoint.");
        return;
    }
    const char *id = r->seg[1];
    char what[DPS_REG_ID_MAX + 32];
    snprintf(what, sizeof(what), "Registration %s", id);
    switch (r->method) {
    case SVC_GET: {
        struct dps_registration reg;
        int rc = hub_store_dps_registration_get(r->d->dps_store, id, &reg);
        if (rc != 0) {
            svc_dps_reply_store_error(r->req, rc, what);
            return;
        }
        svc_reply_json(r->req, 200, registration_json(r->d, &reg), reg.meta.etag);
        dps_registration_clear(&reg);
        return;
    }
    case SVC_DELETE:
        svc_dps_delete(r, id, what, hub_store_dps_registration_delete);
        return;
    default:
        svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed", "Use GET or DELETE.");
    }
}

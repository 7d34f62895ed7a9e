/* /registrations: DPS registration records (DeviceRegistrationState): GET/DELETE
 * /registrations/{registrationId}, POST /registrations/{enrollmentGroupId}/query. Deleting a
 * record lets the device register again as new (the hub's device is kept, as on Azure). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/store_dps.h"
#include "hub/dps.h"
#include "hub/svc_common.h"

static void query_group(struct svc_req *r, const char *group_id)
{
    struct svc_dps_page pg;
    if (!svc_dps_page_begin(r, &pg, DPS_REG_ID_MAX))
        return;
    struct dps_registration *all = NULL;
    size_t n = 0;
    if (hub_store_dps_registration_list(r->d->store, &all, &n) != 0) {
        cJSON_Delete(pg.items);
        svc_dps_reply_store_error(r->req, -ENOMEM, "the registration list");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].group_id, group_id) != 0)
            continue;
        int t = svc_dps_page_take(&pg, all[i].registration_id);
        if (t < 0)
            break;
        if (t > 0)
        {
            cJSON *o = dps_registration_to_json(&all[i], DPS_JSON_API);
            hub_dps_fix_assigned_hub(r->d, o);
            cJSON_AddItemToArray(pg.items, o);
        }
    }
    svc_dps_reply_page(r, pg.items, "DeviceRegistration", pg.next);
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
        int rc = hub_store_dps_registration_get(r->d->store, id, &reg);
        if (rc != 0) {
            svc_dps_reply_store_error(r->req, rc, what);
            return;
        }
        cJSON *o = dps_registration_to_json(&reg, DPS_JSON_API);
        hub_dps_fix_assigned_hub(r->d, o);
        svc_reply_json(r->req, 200, o,
                       reg.meta.etag);
        dps_registration_clear(&reg);
        return;
    }
    case SVC_DELETE: {
        char ifm_buf[HUB_ETAG_MAX + 8];
        const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
        struct svc_op *op = svc_dps_op_new(r, SVC_DPS_OP_DELETE, what);
        if (op != NULL)
            svc_dps_op_submitted(r, op, hub_store_dps_registration_delete(
                                            r->d->store, id, ifm, svc_dps_op_done, op));
        return;
    }
    default:
        svc_dps_reply_error(r->req, 405, 405001, "MethodNotAllowed", "Use GET or DELETE.");
    }
}

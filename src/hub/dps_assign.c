/* The DPS assignment of one operation, as DPS does it: allocation over the linked hubs, the
 * reprovisioning decision against the previous registration record, the device in the
 * assigned hub's registry (X.509: a selfSigned device with the leaf's SHA-256 thumbprint,
 * from individual enrollments and groups alike) with the enrollment's initial twin, and the
 * registration record. The operation is done once the record is committed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/daemon.h"
#include "hub/dps_allocate.h"
#include "hub/dps_ops.h"
#include "hub/log.h"
#include "hub/store_dps.h"

/* No linked hub fits the enrollment (the emulator's code; status "failed"). */
#define DPS_ERR_NO_HUB 400209

static char *print_item(const cJSON *o)
{
    return o != NULL && cJSON_IsObject(o) ? cJSON_PrintUnformatted(o) : NULL;
}

/* initialTwin {"tags":{},"properties":{"desired":{}}} onto the device's twin. */
static void apply_initial_twin(struct hub_store *st, const char *device_id,
                               const char *initial_twin, bool created)
{
    if (initial_twin == NULL)
        return;
    cJSON *it = cJSON_Parse(initial_twin);
    char *tags = print_item(cJSON_GetObjectItemCaseSensitive(it, "tags"));
    char *desired = print_item(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(it, "properties"), "desired"));
    cJSON_Delete(it);
    struct hub_twin tw;
    if ((tags || desired) && hub_store_twin_get(st, device_id, &tw) == 0) {
        if (tags) {
            free(tw.tags);
            tw.tags = tags;
            tags = NULL;
        }
        if (desired) {
            free(tw.desired);
            tw.desired = desired;
            desired = NULL;
            if (!created)
                tw.desired_version++;
        }
        if (!created) {
            tw.etag++;
            tw.version++;
        }
        if (hub_store_twin_set(st, &tw, NULL, NULL) != 0)
            hub_log(HUB_LOG_ERROR, "dps: cannot set the initial twin of '%s'", device_id);
        hub_twin_clear(&tw);
    }
    free(tags);
    free(desired);
}

/* The device as DPS leaves it: selfSigned with the leaf's thumbprint. Returns 0 and whether it
 * was created, or a negative errno. */
static int ensure_device(struct hub_store *st, const char *device_id, const char *thumb,
                         bool iot_edge, bool *created)
{
    struct hub_device dev;
    *created = false;
    if (hub_store_device_get(st, device_id, &dev) != 0) {
        memset(&dev, 0, sizeof(dev));
        snprintf(dev.device_id, sizeof(dev.device_id), "%s", device_id);
        dev.auth = HUB_AUTH_SELF_SIGNED;
        snprintf(dev.primary_thumbprint, sizeof(dev.primary_thumbprint), "%s", thumb);
        dev.status = HUB_DEVICE_ENABLED;
        dev.iot_edge = iot_edge;
        int rc = hub_store_device_create(st, &dev, NULL, NULL, NULL);
        *created = rc == 0;
        return rc;
    }
    /* Registering again with the same certificate returns the same device, untouched. */
    if (dev.auth == HUB_AUTH_SELF_SIGNED && (strcmp(dev.primary_thumbprint, thumb) == 0 ||
                                            strcmp(dev.secondary_thumbprint, thumb) == 0))
        return 0;
    dev.auth = HUB_AUTH_SELF_SIGNED;
    snprintf(dev.primary_thumbprint, sizeof(dev.primary_thumbprint), "%s", thumb);
    dev.secondary_thumbprint[0] = '\0';
    dev.primary_key[0] = dev.secondary_key[0] = '\0';
    dev.iot_edge = iot_edge;
    return hub_store_device_update(st, &dev, NULL, NULL, NULL, NULL);
}

static void recorded(void *ctx, int rc)
{
    struct dps_op *op = ctx;
    op->in_flight = false;
    op->done = true;
    op->done_ms = hub_now_ms();
    if (rc != 0)
        hub_log(HUB_LOG_ERROR, "dps registration '%s': the registration record was not "
                "committed: %s", op->registration_id, strerror(-rc));
}

void dps_assign(struct dps_op *op)
{
    struct hub_daemon *d = op->d;
    struct hub_store *st = d->store;
    bool individual = op->kind == DPS_MATCH_INDIVIDUAL;
    const struct dps_common *com = individual ? &op->enr.c : &op->grp.c;
    const char *device_id = individual ? dps_enrollment_device_id(&op->enr)
                                       : op->registration_id;

    struct dps_registration rec;
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.registration_id, sizeof(rec.registration_id), "%s", op->registration_id);
    if (!individual)
        snprintf(rec.group_id, sizeof(rec.group_id), "%s", op->grp.group_id);
    snprintf(rec.thumbprint_sha1, sizeof(rec.thumbprint_sha1), "%s", op->leaf_sha1);
    snprintf(rec.thumbprint_sha256, sizeof(rec.thumbprint_sha256), "%s", op->leaf_sha256);
    rec.payload = op->payload; /* borrowed: the store copies it */

    /* For now the one linked hub is this process's own host name. */
    const char *linked[] = {d->hub_hostname};
    struct dps_alloc_input ai = {op->registration_id, com, linked, 1};
    char hub[DPS_HOST_MAX + 1], why[256] = "";
    int rc = dps_allocate(&ai, hub, why, sizeof(why));
    if (rc != 0) {
        rec.status = DPS_REG_FAILED;
        rec.error_code = DPS_ERR_NO_HUB;
        snprintf(rec.error_message, sizeof(rec.error_message), "%s", why);
        hub_log(HUB_LOG_WARN, "dps registration '%s': assignment failed: %s",
                op->registration_id, why);
    } else {
        struct dps_registration prev;
        bool have_prev = hub_store_dps_registration_get(st, op->registration_id, &prev) == 0;
        struct dps_reprovision_decision dec;
        dps_reprovision_decide(have_prev ? &prev : NULL, hub, &com->reprovision, &dec);
        if (have_prev)
            dps_registration_clear(&prev);
        bool created = false;
        rc = ensure_device(st, device_id, op->leaf_sha256, com->iot_edge, &created);
        if (rc != 0) {
            rec.status = DPS_REG_FAILED;
            rec.error_code = 500000;
            snprintf(rec.error_message, sizeof(rec.error_message),
                     "cannot register device '%.64s' in %.64s: %s", device_id, dec.hub,
                     strerror(-rc));
            hub_log(HUB_LOG_ERROR, "dps registration '%s': %s", op->registration_id,
                    rec.error_message);
        } else {
            if (created || dec.initial_twin)
                apply_initial_twin(st, device_id, com->initial_twin, created);
            rec.status = DPS_REG_ASSIGNED;
            rec.substatus = dec.substatus;
            snprintf(rec.device_id, sizeof(rec.device_id), "%s", device_id);
            snprintf(rec.assigned_hub, sizeof(rec.assigned_hub), "%s", dec.hub);
            hub_log(HUB_LOG_INFO, "dps registration '%s': assigned to %s as device '%s' (%s, "
                    "%s%s)", op->registration_id, dec.hub, device_id,
                    dps_reg_substatus_name(dec.substatus),
                    created ? "device created" : "device kept",
                    individual ? ", individual enrollment" : ", enrollment group");
        }
    }
    op->in_flight = true;
    rc = hub_store_dps_registration_put(st, &rec, NULL, &op->result, recorded, op);
    if (rc != 0) {
        /* Not stored: the device still gets the outcome. */
        op->in_flight = false;
        dps_registration_clear(&op->result);
        dps_registration_copy(&op->result, &rec);
        op->done = true;
        op->done_ms = hub_now_ms();
        hub_log(HUB_LOG_ERROR, "dps registration '%s': cannot store the registration record: "
                "%s", op->registration_id, strerror(-rc));
    }
}

/* The DPS assignment of one operation, as DPS does it: allocation over the linked hubs, the
 * reprovisioning decision against the previous registration record, the device in the
 * assigned hub's registry (X.509: a selfSigned device with the leaf's SHA-256 thumbprint,
 * from individual enrollments and groups alike; symmetric key: a sas device with the keys the
 * device signs with) with the enrollment's initial twin, and the
 * registration record. The operation is done once the record is committed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "hub/daemon.h"
#include "hub/dps/dps_allocate.h"
#include "hub/dps/dps_ops.h"
#include "hub/dps/dps_symkey.h"
#include "hub/dps/dps_webhook.h"
#include "hub/iothub/twin_meta.h"
#include "hub/log.h"
#include "hub/store/store_dps.h"

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
            hub_twin_text_free(tw.tags);
            tw.tags = tags;
            tags = NULL;
        }
        if (desired) {
            if (!created)
                tw.desired_version++;
            /* The initial twin replaces the desired properties: every one stamped now. */
            cJSON *doc = cJSON_Parse(desired);
            char *meta = doc ? hub_twin_meta_update(tw.meta, HUB_TWIN_DESIRED, doc, NULL,
                                                    hub_now_ms(), tw.desired_version, 1)
                             : NULL;
            cJSON_Delete(doc);
            if (meta) {
                hub_twin_text_free(tw.meta);
                tw.meta = meta;
            }
            hub_twin_text_free(tw.desired);
            tw.desired = desired;
            desired = NULL;
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

/* How the device authenticates to its hub, as DPS leaves it: X.509 -> selfSigned with the
 * leaf's thumbprint; symmetric key -> sas with the enrollment's keys (individual) or the keys
 * derived from the group's (dps_symkey.h). */
struct device_auth {
    enum hub_auth_type type;
    char primary[HUB_SAS_KEY_MAX + 1];   /* a thumbprint or a key */
    char secondary[HUB_SAS_KEY_MAX + 1];
};
_Static_assert(HUB_SAS_KEY_MAX >= HUB_THUMBPRINT_MAX, "device_auth holds thumbprints too");

static int device_auth_of(const struct dps_op *op, struct device_auth *a)
{
    memset(a, 0, sizeof(*a));
    if (op->attestation != DPS_ATTEST_SYMMETRIC_KEY) {
        a->type = HUB_AUTH_SELF_SIGNED;
        snprintf(a->primary, sizeof(a->primary), "%s", op->leaf_sha256);
        return 0;
    }
    a->type = HUB_AUTH_SAS;
    if (op->kind == DPS_MATCH_INDIVIDUAL) {
        snprintf(a->primary, sizeof(a->primary), "%s", op->enr->keys.primary);
        snprintf(a->secondary, sizeof(a->secondary), "%s", op->enr->keys.secondary);
        return 0;
    }
    if (dps_symkey_derive(op->grp->keys.primary, op->registration_id, a->primary) != 0 ||
        dps_symkey_derive(op->grp->keys.secondary, op->registration_id, a->secondary) != 0)
        return -EINVAL;
    return 0;
}

static bool same_auth(const struct hub_device *dev, const struct device_auth *a)
{
    if (dev->auth != a->type)
        return false;
    if (a->type == HUB_AUTH_SELF_SIGNED)
        return strcmp(dev->primary_thumbprint, a->primary) == 0 ||
               strcmp(dev->secondary_thumbprint, a->primary) == 0;
    return strcmp(dev->primary_key, a->primary) == 0 &&
           strcmp(dev->secondary_key, a->secondary) == 0;
}

static void set_auth(struct hub_device *dev, const struct device_auth *a)
{
    dev->auth = a->type;
    dev->primary_thumbprint[0] = dev->secondary_thumbprint[0] = '\0';
    dev->primary_key[0] = dev->secondary_key[0] = '\0';
    if (a->type == HUB_AUTH_SELF_SIGNED) {
        snprintf(dev->primary_thumbprint, sizeof(dev->primary_thumbprint), "%.*s",
                 HUB_THUMBPRINT_MAX, a->primary);
    } else {
        snprintf(dev->primary_key, sizeof(dev->primary_key), "%s", a->primary);
        snprintf(dev->secondary_key, sizeof(dev->secondary_key), "%s", a->secondary);
    }
}

/* The device as DPS leaves it (device_auth_of). Returns 0 and whether it was created, or a
 * negative errno. */
static int ensure_device(struct hub_store *st, const char *device_id,
                         const struct device_auth *a, bool iot_edge, bool *created)
{
    struct hub_device dev;
    *created = false;
    int rc;
    if (hub_store_device_get(st, device_id, &dev) != 0) {
        memset(&dev, 0, sizeof(dev));
        snprintf(dev.device_id, sizeof(dev.device_id), "%s", device_id);
        set_auth(&dev, a);
        dev.status = HUB_DEVICE_ENABLED;
        dev.iot_edge = iot_edge;
        rc = hub_store_device_create(st, &dev, NULL, NULL, NULL);
        *created = rc == 0;
    } else if (same_auth(&dev, a)) {
        /* Registering again with the same certificate or keys returns the same device,
         * untouched. */
        rc = 0;
    } else {
        set_auth(&dev, a);
        dev.iot_edge = iot_edge;
        rc = hub_store_device_update(st, &dev, NULL, NULL, NULL, NULL);
    }
    OPENSSL_cleanse(dev.primary_key, sizeof(dev.primary_key));
    OPENSSL_cleanse(dev.secondary_key, sizeof(dev.secondary_key));
    return rc;
}

static void recorded(void *ctx, int rc)
{
    struct dps_op *op = ctx;
    op->in_flight = false;
    dps_op_finish(op);
    if (rc != 0)
        hub_log(HUB_LOG_ERROR, "dps registration '%s': the registration record was not "
                "committed: %s", op->registration_id, strerror(-rc));
}

/* Stores the registration record; the operation is done once it is committed. */
static void record(struct dps_op *op)
{
    op->in_flight = true;
    /* `out` is op->result itself: put a copy (the store fills op->result with the stored
     * record, etag and times included). */
    struct dps_registration in;
    int rc = dps_registration_copy(&in, &op->result);
    if (rc == 0) {
        dps_registration_clear(&op->result);
        rc = hub_store_dps_registration_put(op->d->dps_store, &in, NULL, &op->result,
                                            recorded, op);
        if (rc == 0) {
            dps_registration_clear(&in);
        } else {
            dps_registration_clear(&op->result);
            op->result = in; /* the outcome as built, for the device */
        }
    }
    if (rc != 0) {
        /* Not stored: the device still gets the outcome. */
        op->in_flight = false;
        dps_op_finish(op);
        hub_log(HUB_LOG_ERROR, "dps registration '%s': cannot store the registration record: "
                "%s", op->registration_id, strerror(-rc));
    }
}

/* The device's writes in a linked hub's store are committed: now the record (so a device is
 * never told about a hub entry that could still be lost). */
static void device_committed(void *ctx, int rc)
{
    struct dps_op *op = ctx;
    if (rc != 0) {
        op->result.status = DPS_REG_FAILED;
        op->result.error_code = 500000;
        snprintf(op->result.error_message, sizeof(op->result.error_message),
                 "the device could not be stored in %.64s", op->result.assigned_hub);
        op->result.assigned_hub[0] = op->result.device_id[0] = '\0';
    }
    record(op);
}

/* The twin of `device_id` in `from` copied to `to` (migrateDeviceData). */
static int migrate_twin(struct hub_iothub *from, struct hub_iothub *to, const char *device_id)
{
    struct hub_twin tw;
    int rc = hub_store_twin_get(from->store, device_id, &tw);
    if (rc != 0)
        return rc;
    rc = hub_store_twin_set(to->store, &tw, NULL, NULL);
    hub_twin_clear(&tw);
    return rc;
}

/* The device leaves the hub it was assigned to (DPS removes it there). */
static void leave_previous(struct hub_iothub *prev, const char *device_id,
                           const char *registration_id, const char *next_hub)
{
    char why[160 + DPS_HOST_MAX];
    snprintf(why, sizeof(why), "DPS reassigned the device to %s", next_hub);
    hub_iothub_kick(prev, device_id, why);
    int rc = hub_store_device_delete(prev->store, device_id, NULL, NULL, NULL);
    if (rc != 0 && rc != -ENOENT)
        hub_log(HUB_LOG_WARN, "dps registration '%s': cannot remove device '%s' from %s: %s",
                registration_id, device_id, prev->hostname, strerror(-rc));
}

/* Fails the registration with `code` and a message (logged). */
static void fail(struct dps_registration *rec, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct dps_registration *rec, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->error_message, sizeof(rec->error_message), fmt, ap);
    va_end(ap);
    rec->status = DPS_REG_FAILED;
    rec->error_code = code;
    hub_log(HUB_LOG_WARN, "dps registration '%s': assignment failed: %s", rec->registration_id,
            rec->error_message);
}

/* Everything after the choice of hub: the reprovisioning decision, the device and its twin in
 * that hub, the record. `twin` (may be NULL) replaces the enrollment's initial twin and any
 * migration (a custom allocation webhook's initialTwin). */
static void assign_to(struct dps_op *op, const char *allocated, const char *twin)
{
    struct hub_daemon *d = op->d;
    bool individual = op->kind == DPS_MATCH_INDIVIDUAL;
    const struct dps_common *com = individual ? &op->enr->c : &op->grp->c;
    const char *device_id = individual ? dps_enrollment_device_id(op->enr)
                                       : op->registration_id;
    struct dps_registration *rec = &op->result;
    struct dps_registration prev;
    bool have_prev = hub_store_dps_registration_get(d->dps_store, op->registration_id,
                                                    &prev) == 0;
    struct dps_reprovision_decision dec;
    dps_reprovision_decide(have_prev ? &prev : NULL, allocated, &com->reprovision, &dec);
    /* The device id the previous assignment used (an individual enrollment's deviceId may
     * have changed since). */
    char prev_device[HUB_DEVICE_ID_MAX + 1] = "";
    if (have_prev) {
        snprintf(prev_device, sizeof(prev_device), "%s",
                 prev.device_id[0] ? prev.device_id : device_id);
        dps_registration_clear(&prev);
    }
    struct hub_iothub *hub = hub_iothub_find(d, dec.hub, strlen(dec.hub));
    if (hub == NULL) {
        fail(rec, DPS_ERR_NO_HUB, "the device stays on %s (its reprovision policy does not "
             "update hub assignments), which this process no longer serves", dec.hub);
        record(op);
        return;
    }
    struct hub_iothub *from =
        dec.moved ? hub_iothub_find(d, dec.previous_hub, strlen(dec.previous_hub)) : NULL;

    bool created = false;
    struct device_auth auth;
    int rc = device_auth_of(op, &auth);
    if (rc == 0)
        rc = ensure_device(hub->store, device_id, &auth, com->iot_edge, &created);
    OPENSSL_cleanse(&auth, sizeof(auth));
    if (rc != 0) {
        fail(rec, 500000, "cannot register device '%.64s' in %.64s: %s", device_id, dec.hub,
             strerror(-rc));
        record(op);
        return;
    }
    bool migrated = false;
    if (twin != NULL)
        apply_initial_twin(hub->store, device_id, twin, created);
    else if (dec.migrate_twin && from != NULL)
        migrated = migrate_twin(from, hub, prev_device) == 0;
    if (twin == NULL && !migrated && (created || dec.initial_twin))
        apply_initial_twin(hub->store, device_id, com->initial_twin, created);
    if (from != NULL)
        leave_previous(from, prev_device, op->registration_id, hub->hostname);

    rec->status = DPS_REG_ASSIGNED;
    rec->substatus = dec.substatus;
    snprintf(rec->device_id, sizeof(rec->device_id), "%s", device_id);
    snprintf(rec->assigned_hub, sizeof(rec->assigned_hub), "%s", hub->hostname);
    hub_log(HUB_LOG_INFO, "dps registration '%s': assigned to %s as device '%s' (%s, %s%s%s%s)",
            op->registration_id, hub->hostname, device_id,
            dps_reg_substatus_name(dec.substatus), created ? "device created" : "device kept",
            dec.moved ? ", moved from " : "", dec.moved ? dec.previous_hub : "",
            individual ? ", individual enrollment" : ", enrollment group");
    /* The primary hub's store also holds the record: its writer commits them in order. A
     * linked hub's store commits on its own writer: wait for it first. */
    op->in_flight = true;
    if (hub->store == d->dps_store || hub_store_sync(hub->store, device_committed, op) != 0)
        record(op);
}

/* The custom allocation webhook answered (or failed). */
static void webhook_done(struct dps_op *op, struct dps_webhook_result *r)
{
    if (r->error_code != 0) {
        fail(&op->result, r->error_code, "custom allocation: %s", r->message);
        record(op);
        return;
    }
    /* The device (and the registration record) get the webhook's payload, not the device's. */
    free(op->result.payload);
    op->result.payload = r->payload ? strdup(r->payload) : NULL;
    free(op->payload);
    op->payload = r->payload;
    r->payload = NULL;
    assign_to(op, r->iot_hub, r->initial_twin);
}

/* A custom allocation: the webhook decides, told where the device is now. */
static void call_webhook(struct dps_op *op)
{
    struct dps_registration prev;
    char prev_hub[DPS_HOST_MAX + 1] = "", prev_device[HUB_DEVICE_ID_MAX + 1] = "";
    if (hub_store_dps_registration_get(op->d->dps_store, op->registration_id, &prev) == 0) {
        if (prev.status == DPS_REG_ASSIGNED) {
            snprintf(prev_hub, sizeof(prev_hub), "%s", prev.assigned_hub);
            snprintf(prev_device, sizeof(prev_device), "%s", prev.device_id);
        }
        dps_registration_clear(&prev);
    }
    if (dps_webhook_call(op, prev_hub, prev_device, webhook_done) != 0) {
        fail(&op->result, 500000, "out of memory");
        record(op);
    }
}

void dps_assign(struct dps_op *op)
{
    struct hub_daemon *d = op->d;
    bool individual = op->kind == DPS_MATCH_INDIVIDUAL;
    const struct dps_common *com = individual ? &op->enr->c : &op->grp->c;

    struct dps_registration *rec = &op->result;
    dps_registration_clear(rec);
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->registration_id, sizeof(rec->registration_id), "%s", op->registration_id);
    if (!individual)
        snprintf(rec->group_id, sizeof(rec->group_id), "%s", op->grp->group_id);
    rec->attestation = op->attestation;
    snprintf(rec->thumbprint_sha1, sizeof(rec->thumbprint_sha1), "%s", op->leaf_sha1);
    snprintf(rec->thumbprint_sha256, sizeof(rec->thumbprint_sha256), "%s", op->leaf_sha256);
    if (op->payload != NULL && (rec->payload = strdup(op->payload)) == NULL) {
        fail(rec, 500000, "out of memory");
        record(op);
        return;
    }
    if (com->allocation == DPS_ALLOC_CUSTOM) {
        call_webhook(op);
        return;
    }

    /* Allocation over the served hubs (DPS is linked to all of them). */
    const char *linked[1 + HUB_LINKED_MAX];
    for (size_t i = 0; i < d->hub_count; i++)
        linked[i] = d->hubs[i].hostname;
    struct dps_alloc_input ai = {op->registration_id, com, linked, d->hub_count};
    char allocated[DPS_HOST_MAX + 1], why[256] = "";
    if (dps_allocate(&ai, allocated, why, sizeof(why)) != 0) {
        fail(rec, DPS_ERR_NO_HUB, "%s", why);
        record(op);
        return;
    }
    assign_to(op, allocated, NULL);
}

/* POST /devices: bulk registry operations ("Bulk Registry - Update Registry", Microsoft Learn):
 * up to 100 ExportImportDevice entries {"id", "importMode", device fields..., "eTag"?}, each
 * created, updated or deleted on its own; the answer is a BulkRegistryOperationResult
 * {"isSuccessful", "errors": [{"deviceId","errorCode","errorStatus","operation"}],
 * "warnings": []}, 200 when every entry succeeded, else 400 with the errors. The SDKs'
 * Registry.addDevices / updateDevices / removeDevices send this. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "hub/iothub/iothub.h"
#include "hub/log.h"
#include "hub/service/svc_common.h"

#define BULK_MAX 100 /* entries per request, as Azure */

enum bulk_mode { BULK_CREATE, BULK_UPDATE, BULK_UPDATE_IF_MATCH, BULK_DELETE, BULK_DELETE_IF_MATCH };

static const struct {
    const char *name;
    enum bulk_mode mode;
} modes[] = {
    {"create", BULK_CREATE},         {"update", BULK_UPDATE},
    {"updateIfMatchETag", BULK_UPDATE_IF_MATCH}, {"delete", BULK_DELETE},
    {"deleteIfMatchETag", BULK_DELETE_IF_MATCH},
};

/* One entry's completion. */
struct bulk_item {
    struct svc_op *op;    /* the request's op; op->data holds the errors array */
    enum bulk_mode mode;
    char id[HUB_DEVICE_ID_MAX + 1];
};

static const char *mode_name(enum bulk_mode m)
{
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (modes[i].mode == m)
            return modes[i].name;
    return "?";
}

static void add_error(cJSON *errors, const char *id, enum bulk_mode m, int rc, const char *text)
{
    const char *code = rc == -ENOENT    ? "DeviceNotFound"
                       : rc == -EEXIST  ? "DeviceAlreadyExists"
                       : rc == -ESTALE  ? "PreconditionFailed"
                       : rc == -EIO     ? "ServiceUnavailable"
                                        : "ArgumentInvalid";
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "deviceId", id);
    cJSON_AddStringToObject(e, "errorCode", code);
    cJSON_AddStringToObject(e, "errorStatus", text);
    cJSON_AddStringToObject(e, "operation", mode_name(m));
    cJSON_AddItemToArray(errors, e);
}

static void reply(struct svc_op *op)
{
    cJSON *errors = op->data;
    op->data = NULL;
    if (svc_op_live(op)) {
        bool ok = cJSON_GetArraySize(errors) == 0;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "isSuccessful", ok);
        cJSON_AddItemToObject(o, "errors", errors);
        cJSON_AddArrayToObject(o, "warnings");
        svc_reply_json(op->req, ok ? 200 : 400, o, NULL);
    } else {
        cJSON_Delete(errors);
    }
    svc_op_free(op);
}

static void item_done(void *ctx, int rc)
{
    struct bulk_item *it = ctx;
    struct svc_op *op = it->op;
    if (rc != 0)
        add_error(op->data, it->id, it->mode, rc, "the change could not be stored");
    else if (it->mode == BULK_DELETE || it->mode == BULK_DELETE_IF_MATCH)
        svc_device_kick(op->hub, it->id, "the device was deleted");
    free(it);
    if (--op->pending == 0)
        reply(op);
}

/* Submits one entry; its completion (or its refusal, recorded at once) counts down op. */
static void submit(struct svc_op *op, const cJSON *e)
{
    cJSON *errors = op->data;
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(e, "id");
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(e, "importMode");
    const char *id = cJSON_IsString(jid) ? jid->valuestring : "";
    enum bulk_mode m = BULK_CREATE;
    bool known = false;
    for (size_t i = 0; cJSON_IsString(jm) && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcasecmp(jm->valuestring, modes[i].name) == 0) {
            m = modes[i].mode;
            known = true;
        }
    if (!known) {
        add_error(errors, id, m, -EINVAL, "importMode must be create, update, "
                  "updateIfMatchETag, delete or deleteIfMatchETag");
        return;
    }
    if (hub_device_id_valid(id) != 0) {
        add_error(errors, id, m, -EINVAL, "invalid device id");
        return;
    }
    const cJSON *jetag = cJSON_GetObjectItemCaseSensitive(e, "eTag");
    if (jetag == NULL)
        jetag = cJSON_GetObjectItemCaseSensitive(e, "etag");
    const char *etag = cJSON_IsString(jetag) ? jetag->valuestring : NULL;
    bool if_match = m == BULK_UPDATE_IF_MATCH || m == BULK_DELETE_IF_MATCH;
    if (if_match && etag == NULL) {
        add_error(errors, id, m, -EINVAL, "this importMode needs the device's eTag");
        return;
    }
    struct bulk_item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        add_error(errors, id, m, -ENOMEM, "out of memory");
        return;
    }
    it->op = op;
    it->mode = m;
    snprintf(it->id, sizeof(it->id), "%s", id);
    struct hub_store *st = op->hub->store;
    int rc;
    if (m == BULK_DELETE || m == BULK_DELETE_IF_MATCH) {
        rc = hub_store_device_delete(st, id, if_match ? etag : NULL, item_done, it);
    } else {
        struct hub_device existing, dev;
        bool exists = hub_store_device_get(st, id, &existing) == 0;
        if (m == BULK_CREATE && exists) {
            rc = -EEXIST;
        } else if (m != BULK_CREATE && !exists) {
            rc = -ENOENT;
        } else {
            if (exists)
                dev = existing;
            else
                memset(&dev, 0, sizeof(dev));
            snprintf(dev.device_id, sizeof(dev.device_id), "%s", id);
            const char *bad = svc_device_from_json(e, exists ? &existing : NULL, &dev);
            if (bad != NULL) {
                add_error(errors, id, m, -EINVAL, bad);
                free(it);
                return;
            }
            rc = exists ? hub_store_device_update(st, &dev, if_match ? etag : NULL, NULL,
                                                  item_done, it)
                        : hub_store_device_create(st, &dev, NULL, item_done, it);
        }
    }
    if (rc < 0) {
        add_error(errors, id, m, rc, rc == -EEXIST   ? "a device with this id exists"
                                     : rc == -ENOENT ? "no device with this id"
                                     : rc == -ESTALE ? "the eTag does not match the device's"
                                                     : "refused");
        free(it);
        return;
    }
    op->pending++;
}

void svc_devices_bulk(struct svc_req *r)
{
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return;
    int n = cJSON_GetArraySize(j);
    if (!cJSON_IsArray(j) || n < 1 || n > BULK_MAX) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "The body must be an array of 1 to %d devices, each with \"id\" and "
                        "\"importMode\".", BULK_MAX);
        return;
    }
    /* A device may be named once (as Azure requires). */
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            const char *x = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, a), "id"));
            const char *y = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, b), "id"));
            if (x != NULL && y != NULL && strcmp(x, y) == 0) {
                cJSON_Delete(j);
                svc_reply_error(r->req, 400, "ArgumentInvalid",
                                "Device %s is named more than once.", x);
                return;
            }
        }
    struct svc_op *op = svc_op_new(r, NULL, 0);
    cJSON *errors = cJSON_CreateArray();
    if (op == NULL || errors == NULL) {
        cJSON_Delete(j);
        cJSON_Delete(errors);
        if (op)
            svc_op_free(op);
        svc_reply_store_error(r->req, -ENOMEM, "the bulk operation");
        return;
    }
    op->data = errors;
    op->pending = 1; /* held until every entry is submitted */
    const cJSON *e;
    cJSON_ArrayForEach(e, j) submit(op, e);
    cJSON_Delete(j);
    hub_log(HUB_LOG_INFO, "service API: bulk registry operation on %d devices", n);
    if (--op->pending == 0)
        reply(op);
}

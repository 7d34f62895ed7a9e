/* /devices: the identity registry (Azure's Device JSON). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/service/svc_common.h"

static const char *auth_type_name(enum hub_auth_type t)
{
    switch (t) {
    case HUB_AUTH_SELF_SIGNED: return "selfSigned";
    case HUB_AUTH_CA: return "certificateAuthority";
    case HUB_AUTH_SAS: return "sas";
    case HUB_AUTH_NONE: return "none";
    }
    return "none";
}

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *svc_device_json(const struct hub_device *dev)
{
    char t1[40], t2[40], t3[40];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deviceId", dev->device_id);
    cJSON_AddStringToObject(o, "generationId", dev->generation_id);
    cJSON_AddStringToObject(o, "etag", dev->etag);
    cJSON_AddStringToObject(o, "connectionState", dev->connected ? "Connected" : "Disconnected");
    cJSON_AddStringToObject(o, "status", dev->status == HUB_DEVICE_DISABLED ? "disabled" : "enabled");
    cJSON_AddItemToObject(o, "statusReason", str_or_null(dev->status_reason));
    svc_time_iso(dev->connection_state_updated_ms, t1);
    svc_time_iso(dev->status_updated_ms, t2);
    svc_time_iso(dev->last_activity_ms, t3);
    cJSON_AddStringToObject(o, "connectionStateUpdatedTime", t1);
    cJSON_AddStringToObject(o, "statusUpdatedTime", t2);
    cJSON_AddStringToObject(o, "lastActivityTime", t3);
    cJSON_AddNumberToObject(o, "cloudToDeviceMessageCount", dev->c2d_message_count);
    cJSON *a = cJSON_AddObjectToObject(o, "authentication");
    cJSON_AddStringToObject(a, "type", auth_type_name(dev->auth));
    cJSON *sk = cJSON_AddObjectToObject(a, "symmetricKey");
    bool sas = dev->auth == HUB_AUTH_SAS;
    cJSON_AddItemToObject(sk, "primaryKey", str_or_null(sas ? dev->primary_key : NULL));
    cJSON_AddItemToObject(sk, "secondaryKey", str_or_null(sas ? dev->secondary_key : NULL));
    cJSON *x = cJSON_AddObjectToObject(a, "x509Thumbprint");
    bool ss = dev->auth == HUB_AUTH_SELF_SIGNED;
    cJSON_AddItemToObject(x, "primaryThumbprint", str_or_null(ss ? dev->primary_thumbprint : NULL));
    cJSON_AddItemToObject(x, "secondaryThumbprint",
                          str_or_null(ss ? dev->secondary_thumbprint : NULL));
    cJSON *cap = cJSON_AddObjectToObject(o, "capabilities");
    cJSON_AddBoolToObject(cap, "iotEdge", dev->iot_edge);
    /* An Edge device's own scope; a child's parent scope, also listed in parentScopes. */
    if (dev->device_scope[0])
        cJSON_AddStringToObject(o, "deviceScope", dev->device_scope);
    cJSON *parents = cJSON_AddArrayToObject(o, "parentScopes");
    if (dev->device_scope[0] && !dev->iot_edge)
        cJSON_AddItemToArray(parents, cJSON_CreateString(dev->device_scope));
    return o;
}

static void random_key(char out[HUB_SAS_KEY_MAX + 1])
{
    unsigned char b[32];
    RAND_bytes(b, sizeof(b));
    EVP_EncodeBlock((unsigned char *)out, b, sizeof(b));
}

static bool copy_str(const cJSON *v, char *out, size_t size)
{
    if (v == NULL || cJSON_IsNull(v)) {
        out[0] = '\0';
        return true;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
        return false;
    strcpy(out, v->valuestring);
    return true;
}

const char *svc_device_from_json(const cJSON *j, const struct hub_device *existing,
                                    struct hub_device *dev)
{
    if (!cJSON_IsObject(j))
        return "the body must be a JSON object";
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (st != NULL && !cJSON_IsNull(st)) {
        if (!cJSON_IsString(st))
            return "status must be \"enabled\" or \"disabled\"";
        if (strcmp(st->valuestring, "enabled") == 0)
            dev->status = HUB_DEVICE_ENABLED;
        else if (strcmp(st->valuestring, "disabled") == 0)
            dev->status = HUB_DEVICE_DISABLED;
        else
            return "status must be \"enabled\" or \"disabled\"";
    }
    if (cJSON_HasObjectItem(j, "statusReason") &&
        !copy_str(cJSON_GetObjectItemCaseSensitive(j, "statusReason"), dev->status_reason,
                  sizeof(dev->status_reason)))
        return "statusReason must be a string of at most 128 characters";
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(j, "capabilities");
    if (cJSON_IsObject(cap)) {
        const cJSON *edge = cJSON_GetObjectItemCaseSensitive(cap, "iotEdge");
        if (edge != NULL && !cJSON_IsBool(edge))
            return "capabilities.iotEdge must be a boolean";
        if (edge != NULL)
            dev->iot_edge = cJSON_IsTrue(edge);
    }
    const cJSON *scope = cJSON_GetObjectItemCaseSensitive(j, "deviceScope");
    if (cJSON_IsNull(scope) || (scope == NULL && existing == NULL)) {
        dev->device_scope[0] = '\0';
    } else if (scope != NULL) {
        /* A child names its parent's scope; an Edge device's own is set by the hub. */
        if (!cJSON_IsString(scope) ||
            (scope->valuestring[0] != '\0' &&
             strncmp(scope->valuestring, HUB_DEVICE_SCOPE_PREFIX,
                     strlen(HUB_DEVICE_SCOPE_PREFIX)) != 0) ||
            !copy_str(scope, dev->device_scope, sizeof(dev->device_scope)))
            return "deviceScope must be an Edge device's scope (\"" HUB_DEVICE_SCOPE_PREFIX
                   "{deviceId}-{generationId}\")";
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "authentication");
    if (a == NULL || cJSON_IsNull(a)) {
        if (existing != NULL)
            return NULL; /* keep the current authentication */
        dev->auth = HUB_AUTH_SAS;
        random_key(dev->primary_key);
        random_key(dev->secondary_key);
        return NULL;
    }
    if (!cJSON_IsObject(a))
        return "authentication must be an object";
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(a, "type");
    const cJSON *x509 = cJSON_GetObjectItemCaseSensitive(a, "x509Thumbprint");
    const cJSON *sym = cJSON_GetObjectItemCaseSensitive(a, "symmetricKey");
    const char *tn = cJSON_IsString(type) ? type->valuestring : NULL;
    if (type != NULL && !cJSON_IsNull(type) && tn == NULL)
        return "authentication.type must be a string";
    if (tn == NULL)
        tn = cJSON_IsObject(x509) ? "selfSigned" : "sas";
    dev->primary_thumbprint[0] = dev->secondary_thumbprint[0] = '\0';
    dev->primary_key[0] = dev->secondary_key[0] = '\0';
    if (strcmp(tn, "selfSigned") == 0) {
        dev->auth = HUB_AUTH_SELF_SIGNED;
        if (!cJSON_IsObject(x509))
            return "selfSigned authentication needs x509Thumbprint.primaryThumbprint";
        char p[200], s[200];
        if (!copy_str(cJSON_GetObjectItemCaseSensitive(x509, "primaryThumbprint"), p, sizeof(p)) ||
            !copy_str(cJSON_GetObjectItemCaseSensitive(x509, "secondaryThumbprint"), s, sizeof(s)))
            return "thumbprints must be strings";
        if (p[0] == '\0')
            return "selfSigned authentication needs x509Thumbprint.primaryThumbprint";
        if (hub_thumbprint_normalise(p, dev->primary_thumbprint) != 0 ||
            hub_thumbprint_normalise(s, dev->secondary_thumbprint) != 0)
            return "a thumbprint must be 40 (SHA-1) or 64 (SHA-256) hex digits";
    } else if (strcmp(tn, "certificateAuthority") == 0) {
        dev->auth = HUB_AUTH_CA;
    } else if (strcmp(tn, "sas") == 0) {
        dev->auth = HUB_AUTH_SAS;
        if (cJSON_IsObject(sym) &&
            (!copy_str(cJSON_GetObjectItemCaseSensitive(sym, "primaryKey"), dev->primary_key,
                       sizeof(dev->primary_key)) ||
             !copy_str(cJSON_GetObjectItemCaseSensitive(sym, "secondaryKey"), dev->secondary_key,
                       sizeof(dev->secondary_key))))
            return "symmetric keys must be base64 strings";
        if (existing != NULL && existing->auth == HUB_AUTH_SAS) {
            if (dev->primary_key[0] == '\0')
                strcpy(dev->primary_key, existing->primary_key);
            if (dev->secondary_key[0] == '\0')
                strcpy(dev->secondary_key, existing->secondary_key);
        }
        if (dev->primary_key[0] == '\0')
            random_key(dev->primary_key);
        if (dev->secondary_key[0] == '\0')
            random_key(dev->secondary_key);
    } else if (strcmp(tn, "none") == 0) {
        dev->auth = HUB_AUTH_NONE;
    } else {
        return "authentication.type must be sas, selfSigned, certificateAuthority or none";
    }
    return NULL;
}

enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE };

void svc_device_kick(struct hub_iothub *h, const char *id, const char *why)
{
    char text[128];
    snprintf(text, sizeof(text), "%s (service API)", why);
    hub_iothub_kick(h, id, text);
}

static void device_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    if (!svc_op_live(op)) {
        svc_op_free(op);
        return;
    }
    if (rc != 0) {
        svc_reply_store_error(op->req, rc, op->id);
    } else if (op->kind == OP_DELETE) {
        svc_device_kick(op->hub, op->id, "the device was deleted");
        svc_reply_empty(op->req, 204);
    } else {
        struct hub_device dev;
        if (hub_store_device_get(op->hub->store, op->id, &dev) != 0)
            svc_reply_store_error(op->req, -ENOENT, op->id);
        else {
            if (dev.status == HUB_DEVICE_DISABLED)
                svc_device_kick(op->hub, op->id, "the device was disabled");
            svc_reply_json(op->req, 200, svc_device_json(&dev), dev.etag);
        }
    }
    svc_op_free(op);
}

static void put_device(struct svc_req *r, const char *id)
{
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return;
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "deviceId");
    if (jid != NULL && (!cJSON_IsString(jid) || strcmp(jid->valuestring, id) != 0)) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "The deviceId in the body does not match the device id in the path.");
        return;
    }
    char ifm_buf[HUB_ETAG_MAX + 8];
    const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
    struct hub_device existing, dev;
    bool exists = hub_store_device_get(r->hub->store, id, &existing) == 0;
    if (exists && ifm == NULL) {
        cJSON_Delete(j);
        svc_reply_store_error(r->req, -EEXIST, id);
        return;
    }
    if (!exists && ifm != NULL && strcmp(ifm, "*") != 0 && ifm[0] != '\0') {
        cJSON_Delete(j);
        svc_reply_store_error(r->req, -ENOENT, id);
        return;
    }
    if (exists)
        dev = existing;
    else
        memset(&dev, 0, sizeof(dev));
    snprintf(dev.device_id, sizeof(dev.device_id), "%s", id);
    const char *bad = svc_device_from_json(j, exists ? &existing : NULL, &dev);
    cJSON_Delete(j);
    if (bad != NULL) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "Invalid device: %s.", bad);
        return;
    }
    struct svc_op *op = svc_op_new(r, id, exists ? OP_UPDATE : OP_CREATE);
    if (op == NULL) {
        svc_reply_store_error(r->req, -ENOMEM, id);
        return;
    }
    int rc = exists ? hub_store_device_update(r->hub->store, &dev, ifm, NULL, device_done, op)
                    : hub_store_device_create(r->hub->store, &dev, NULL, device_done, op);
    if (rc < 0) {
        svc_reply_store_error(r->req, rc, id);
        svc_op_free(op);
        return;
    }
    hub_log(HUB_LOG_INFO, "service API: device '%s' %s", id, exists ? "updated" : "created");
}

void svc_devices(struct svc_req *r)
{
    if (r->nseg == 1) {
        if (r->method == SVC_POST) {
            svc_devices_bulk(r);
            return;
        }
        if (r->method != SVC_GET) {
            svc_reply_error(r->req, 405, "MethodNotAllowed",
                            "Use GET /devices, or POST /devices for bulk operations.");
            return;
        }
        char topb[32];
        long top = -1;
        if (svc_query(r, "top", topb, sizeof(topb))) {
            char *end;
            top = strtol(topb, &end, 10);
            if (*end || top < 0) {
                svc_reply_error(r->req, 400, "ArgumentInvalid", "top must be a number >= 0.");
                return;
            }
        }
        struct hub_device *all = NULL;
        size_t n = 0;
        if (hub_store_device_list(r->hub->store, &all, &n) != 0) {
            svc_reply_store_error(r->req, -ENOMEM, "the device list");
            return;
        }
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n && (top < 0 || i < (size_t)top); i++)
            cJSON_AddItemToArray(arr, svc_device_json(&all[i]));
        free(all);
        svc_reply_json(r->req, 200, arr, NULL);
        return;
    }
    if (r->nseg == 3 && strcmp(r->seg[2], "commands") == 0) {
        svc_c2d_purge(r);
        return;
    }
    if (r->nseg != 2) {
        svc_reply_error(r->req, 404, "NotFound", "No such endpoint.");
        return;
    }
    const char *id = r->seg[1];
    if (hub_device_id_valid(id) != 0) {
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "Invalid device id: 1 to 128 ASCII letters, digits and - . + %% _ # * ? "
                        "! ( ) , : = @ ; $ '.");
        return;
    }
    struct hub_device dev;
    switch (r->method) {
    case SVC_GET:
        if (hub_store_device_get(r->hub->store, id, &dev) != 0)
            svc_reply_store_error(r->req, -ENOENT, id);
        else
            svc_reply_json(r->req, 200, svc_device_json(&dev), dev.etag);
        return;
    case SVC_PUT:
        put_device(r, id);
        return;
    case SVC_DELETE: {
        char ifm_buf[HUB_ETAG_MAX + 8];
        const char *ifm = svc_if_match(r, ifm_buf, sizeof(ifm_buf));
        struct svc_op *op = svc_op_new(r, id, OP_DELETE);
        if (op == NULL) {
            svc_reply_store_error(r->req, -ENOMEM, id);
            return;
        }
        int rc = hub_store_device_delete(r->hub->store, id, ifm, device_done, op);
        if (rc < 0) {
            svc_reply_store_error(r->req, rc, id);
            svc_op_free(op);
        } else {
            hub_log(HUB_LOG_INFO, "service API: device '%s' deleted", id);
        }
        return;
    }
    default:
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET, PUT or DELETE on a device.");
    }
}

/* POST /twins/{id}/methods: direct method invocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/iothub/methods.h"
#include "hub/service/svc_common.h"

static void method_done(void *ctx, const struct hub_method_result *res)
{
    struct svc_op *op = ctx;
    if (!svc_op_live(op)) {
        svc_op_free(op);
        return;
    }
    if (res->http_status == 200) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "status", res->device_status);
        cJSON *p = NULL;
        if (res->payload_len) {
            p = cJSON_ParseWithLength(res->payload, res->payload_len);
            if (p == NULL) { /* not JSON: pass the text on as a string */
                char *txt = malloc(res->payload_len + 1);
                if (txt != NULL) {
                    memcpy(txt, res->payload, res->payload_len);
                    txt[res->payload_len] = '\0';
                    p = cJSON_CreateString(txt);
                    free(txt);
                }
            }
        }
        cJSON_AddItemToObject(o, "payload", p ? p : cJSON_CreateNull());
        svc_reply_json(op->req, 200, o, NULL);
    } else if (res->http_status == 404) {
        svc_reply_error(op->req, 404, "DeviceNotOnline",
                        "Timed out waiting for device %s to connect (errorCode 404103): the device "
                        "is not connected or has not subscribed to methods.", op->id);
    } else if (res->http_status == 504) {
        svc_reply_error(op->req, 504, "GatewayTimeout",
                        "Timed out waiting for the response from device %s (errorCode 504101).",
                        op->id);
    } else if (res->http_status == 400) {
        svc_reply_error(op->req, 400, "ArgumentInvalid", "Invalid method name.");
    } else {
        svc_reply_error(op->req, res->http_status >= 400 ? res->http_status : 500,
                        res->http_status == 503 ? "ServiceUnavailable" : "ServerError",
                        "The method call could not complete (errorCode %d).", res->error_code);
    }
    svc_op_free(op);
}

void svc_methods(struct svc_req *r)
{
    const char *id = r->seg[1];
    if (r->method != SVC_POST) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use POST to invoke a method.");
        return;
    }
    struct hub_device dev;
    if (hub_store_device_get(r->hub->store, id, &dev) != 0) {
        svc_reply_store_error(r->req, -ENOENT, id);
        return;
    }
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "methodName");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "responseTimeoutInSeconds");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(j, "payload");
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0' || strlen(name->valuestring) > 256 ||
        (rt != NULL && !cJSON_IsNull(rt) && !cJSON_IsNumber(rt))) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "The body must hold a methodName (string) and optionally "
                        "responseTimeoutInSeconds (5..300) and payload.");
        return;
    }
    double tmo = cJSON_IsNumber(rt) ? rt->valuedouble : 30;
    if (tmo < 5 || tmo > 300) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "responseTimeoutInSeconds must be between 5 and 300.");
        return;
    }
    char *ptext = payload ? cJSON_PrintUnformatted(payload) : NULL;
    struct svc_op *op = svc_op_new(r, id, 0);
    if (op == NULL) {
        free(ptext);
        cJSON_Delete(j);
        svc_reply_store_error(r->req, -ENOMEM, id);
        return;
    }
    hub_log(HUB_LOG_INFO, "service API: invoking method '%s' on '%s' (timeout %u s)",
            name->valuestring, id, (unsigned)tmo);
    hub_methods_invoke(r->hub, id, name->valuestring, ptext ? ptext : "null", (unsigned)tmo,
                       method_done, op);
    free(ptext);
    cJSON_Delete(j);
}

/* /azkit/faults: fault injection for testing device clients.
 *   GET    -> the current settings
 *   POST   {"refuseConnects":N,"connackCode":3|5,"twinThrottle":N,"dpsThrottle":N,
 *           "pubackDelayMs":D,
 *           "dropDevice":"id"} -> applies what is present, answers the new settings
 *   DELETE -> clears everything */
#include <errno.h>
#include <string.h>

#include <event2/http.h>

#include "hub/daemon.h"
#include "hub/iothub/faults.h"
#include "hub/service/svc_common.h"

static cJSON *state_json(const struct hub_faults *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "refuseConnects", f->refuse_connects);
    cJSON_AddNumberToObject(o, "connackCode", f->refuse_code ? f->refuse_code : 3);
    cJSON_AddNumberToObject(o, "twinThrottle", f->twin_throttle);
    cJSON_AddNumberToObject(o, "dpsThrottle", f->dps_throttle);
    cJSON_AddNumberToObject(o, "pubackDelayMs", f->puback_delay_ms);
    return o;
}

/* A non-negative integer member, or -1 when absent; -2 when present but invalid. */
static long count_field(const cJSON *body, const char *name, long max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    if (v == NULL)
        return -1;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
        v->valuedouble != (double)(long)v->valuedouble)
        return -2;
    return (long)v->valuedouble;
}

void svc_faults(struct svc_req *r)
{
    struct hub_faults *f = &r->d->faults;
    if (r->nseg != 2) {
        svc_reply_error(r->req, 404, "NotFound", "Use /azkit/faults.");
        return;
    }
    if (r->method == SVC_GET) {
        svc_reply_json(r->req, 200, state_json(f), NULL);
        return;
    }
    if (r->method == SVC_DELETE) {
        memset(f, 0, sizeof(*f));
        svc_reply_json(r->req, 200, state_json(f), NULL);
        return;
    }
    if (r->method != SVC_POST) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET, POST or DELETE.");
        return;
    }
    cJSON *body = svc_body_json(r);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        svc_reply_error(r->req, 400, "ArgumentInvalid", "The body must be a JSON object.");
        return;
    }
    long refuse = count_field(body, "refuseConnects", 1000000);
    long code = count_field(body, "connackCode", 5);
    long throttle = count_field(body, "twinThrottle", 1000000);
    long dps = count_field(body, "dpsThrottle", 1000000);
    long delay = count_field(body, "pubackDelayMs", 600000);
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(body, "dropDevice");
    if (refuse == -2 || throttle == -2 || dps == -2 || delay == -2 || (code != -1 && code != 3 && code != 5) ||
        (drop != NULL && !cJSON_IsString(drop))) {
        cJSON_Delete(body);
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "refuseConnects, twinThrottle, dpsThrottle, pubackDelayMs: non-negative "
                        "integers; "
                        "connackCode: 3 or 5; dropDevice: a device id.");
        return;
    }
    if (drop != NULL && hub_faults_drop(r->hub, drop->valuestring) != 0) {
        svc_reply_error(r->req, 404, "DeviceNotOnline", "Device '%s' is not connected.",
                        drop->valuestring);
        cJSON_Delete(body);
        return;
    }
    if (refuse >= 0)
        f->refuse_connects = (unsigned)refuse;
    if (code >= 0)
        f->refuse_code = (uint8_t)code;
    if (throttle >= 0)
        f->twin_throttle = (unsigned)throttle;
    if (delay >= 0)
        f->puback_delay_ms = (unsigned)delay;
    if (dps >= 0)
        f->dps_throttle = (unsigned)dps;
    cJSON_Delete(body);
    svc_reply_json(r->req, 200, state_json(f), NULL);
}

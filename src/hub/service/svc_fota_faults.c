/* /azkit/fota/faults: download faults of the firmware image server (hub/fota/fota.h), in the
 * shape of /azkit/faults.
 *   GET    -> the current settings
 *   POST   {"dropAfterBytes":N[,"dropEveryTime":true]} | {"dropAtOffset":K} |
 *          {"corruptOffset":K} | {"stallAfterBytes":K,"stallSeconds":S}
 *          (any together) -> the new settings
 *   DELETE -> clears every download fault (and ends running stalls)
 *   DELETE /azkit/fota/faults/{drop|corrupt|stall} -> clears that one */
#include <string.h>

#include "hub/fota/fota.h"
#include "hub/service/svc_common.h"

static cJSON *state_json(const struct hub_fota *f)
{
    const struct hub_fota_faults *fl = &f->faults;
    cJSON *o = cJSON_CreateObject();
    if (fl->drop) {
        cJSON_AddNumberToObject(o, "dropAfterBytes", (double)fl->drop_after);
        cJSON_AddBoolToObject(o, "dropEveryTime", fl->drop_every);
    }
    if (fl->drop_at_set)
        cJSON_AddNumberToObject(o, "dropAtOffset", (double)fl->drop_at);
    if (fl->corrupt)
        cJSON_AddNumberToObject(o, "corruptOffset", (double)fl->corrupt_at);
    if (fl->stall) {
        cJSON_AddNumberToObject(o, "stallAfterBytes", (double)fl->stall_after);
        cJSON_AddNumberToObject(o, "stallSeconds", fl->stall_s);
    }
    cJSON_AddNumberToObject(o, "dropped", fl->dropped);
    cJSON_AddNumberToObject(o, "stalledNow", hub_fota_stalled(f));
    return o;
}

/* A non-negative integer member up to max: 1 (set in *out), 0 absent, -1 invalid. */
static int count_field(const cJSON *body, const char *name, double max, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    if (v == NULL)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return -1;
    *out = (uint64_t)v->valuedouble;
    return 1;
}

static void clear(struct hub_fota *f, const char *which)
{
    struct hub_fota_faults *fl = &f->faults;
    if (which == NULL || strcmp(which, "drop") == 0) {
        fl->drop = false;
        fl->drop_at_set = false;
    }
    if (which == NULL || strcmp(which, "corrupt") == 0)
        fl->corrupt = false;
    if (which == NULL || strcmp(which, "stall") == 0) {
        fl->stall = false;
        hub_fota_resume_stalls(f);
    }
    if (which == NULL)
        fl->dropped = 0;
}

void svc_fota_faults(struct svc_req *r, struct hub_fota *f)
{
    struct hub_fota_faults *fl = &f->faults;
    const char *which = r->nseg == 4 ? r->seg[3] : NULL;
    if (r->nseg > 4 || (which != NULL && (r->method != SVC_DELETE ||
                                          (strcmp(which, "drop") != 0 &&
                                           strcmp(which, "corrupt") != 0 &&
                                           strcmp(which, "stall") != 0)))) {
        svc_reply_error(r->req, 404, "NotFound",
                        "Use /azkit/fota/faults or DELETE /azkit/fota/faults/{drop|corrupt|stall}.");
        return;
    }
    if (r->method == SVC_GET) {
        svc_reply_json(r->req, 200, state_json(f), NULL);
        return;
    }
    if (r->method == SVC_DELETE) {
        clear(f, which);
        svc_reply_json(r->req, 200, state_json(f), NULL);
        return;
    }
    if (r->method != SVC_POST) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET, POST or DELETE.");
        return;
    }
    cJSON *body = svc_body_json(r);
    if (body == NULL)
        return;
    uint64_t drop = 0, drop_at = 0, corrupt = 0, stall = 0, secs = 0;
    int hd = count_field(body, "dropAfterBytes", (double)HUB_FOTA_IMAGE_MAX, &drop);
    int hda = count_field(body, "dropAtOffset", (double)HUB_FOTA_IMAGE_MAX, &drop_at);
    int hc = count_field(body, "corruptOffset", (double)HUB_FOTA_IMAGE_MAX, &corrupt);
    int hs = count_field(body, "stallAfterBytes", (double)HUB_FOTA_IMAGE_MAX, &stall);
    int hsec = count_field(body, "stallSeconds", HUB_FOTA_STALL_MAX_S, &secs);
    const cJSON *every = cJSON_GetObjectItemCaseSensitive(body, "dropEveryTime");
    /* Read before the body is freed (`every` points into it). */
    bool every_time = cJSON_IsTrue(every);
    bool bad = !cJSON_IsObject(body) || hd < 0 || hda < 0 || hc < 0 || hs < 0 || hsec < 0 ||
               (every != NULL && (!cJSON_IsBool(every) || hd == 0)) || (hs != hsec) ||
               (hsec == 1 && secs == 0) || (hd == 1 && drop == 0) || hd + hda + hc + hs == 0;
    cJSON_Delete(body);
    if (bad) {
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "Give dropAfterBytes (at least 1, with dropEveryTime true|false), "
                        "dropAtOffset, corruptOffset, or stallAfterBytes with stallSeconds (1 "
                        "to %d): non-negative integers.",
                        HUB_FOTA_STALL_MAX_S);
        return;
    }
    if (hd) {
        fl->drop = true;
        fl->drop_after = drop;
        fl->drop_every = every_time;
    }
    if (hda) {
        fl->drop_at_set = true;
        fl->drop_at = drop_at;
    }
    if (hc) {
        fl->corrupt = true;
        fl->corrupt_at = corrupt;
    }
    if (hs) {
        fl->stall = true;
        fl->stall_after = stall;
        fl->stall_s = (unsigned)secs;
    }
    svc_reply_json(r->req, 200, state_json(f), NULL);
}

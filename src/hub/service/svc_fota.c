/* /azkit/fota/...: firmware over the air, the service side (hub/fota/fota.h).
 *   GET    /azkit/fota/images                    -> the uploaded images
 *   PUT    /azkit/fota/images/{version}/content?offset=N  (body: the next bytes, in order;
 *                                                   offset 0 starts the upload again)
 *   POST   /azkit/fota/images/{version}  {"file":"app.bin","size":N[,"sha256":"hex"]}
 *                                                -> 201 the image (the staged bytes checked)
 *   POST   /azkit/fota/deployments {"version":V,"deviceId":ID | "query":Q[,"fragmentSize":N]}
 *                                                -> the desired `firmware` object written to
 *                                                   each device's twin, a new jobId
 *   GET    /azkit/fota/status                    -> each device's reported `firmware`
 * Faults of the image server are in svc_fota_faults.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <openssl/rand.h>

#include "hub/daemon.h"
#include "hub/fota/fota.h"
#include "hub/iothub/iothub.h"
#include "hub/iothub/twin.h"
#include "hub/log.h"
#include "hub/service/query.h"
#include "hub/service/svc_common.h"

cJSON *svc_fota_image_json(const struct hub_fota_image *im)
{
    cJSON *o = cJSON_CreateObject();
    char t[40], path[HUB_FOTA_TOKEN_HEX + HUB_FOTA_FILE_MAX + 16];
    cJSON_AddStringToObject(o, "version", im->version);
    cJSON_AddStringToObject(o, "file", im->file);
    cJSON_AddNumberToObject(o, "size", (double)im->size);
    cJSON_AddStringToObject(o, "sha256", im->sha256);
    snprintf(path, sizeof(path), "firmware/%s/%s", im->token, im->file);
    cJSON_AddStringToObject(o, "path", path);
    svc_time_iso(im->uploaded_ms, t);
    cJSON_AddStringToObject(o, "uploaded", t);
    return o;
}

static void images(struct svc_req *r, struct hub_fota *f)
{
    if (r->nseg == 3 && r->method == SVC_GET) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < f->count; i++)
            cJSON_AddItemToArray(arr, svc_fota_image_json(&f->images[i]));
        svc_reply_json(r->req, 200, arr, NULL);
        return;
    }
    if (r->nseg < 4 || r->nseg > 5 || (r->nseg == 5 && strcmp(r->seg[4], "content") != 0)) {
        svc_reply_error(r->req, 404, "NotFound", "Use /azkit/fota/images[/{version}[/content]].");
        return;
    }
    const char *version = r->seg[3];
    const char *why = hub_fota_version_problem(version);
    if (why != NULL) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "Invalid version: %s.", why);
        return;
    }
    if (r->nseg == 5 && r->method == SVC_PUT) {
        char off[32];
        char *end = NULL;
        unsigned long long o = svc_query(r, "offset", off, sizeof(off)) ? strtoull(off, &end, 10) : 0;
        if (end == NULL || *end != '\0' || off[0] == '-') {
            svc_reply_error(r->req, 400, "ArgumentInvalid", "offset=N (the bytes already sent) is required.");
            return;
        }
        if (hub_fota_find(f, version) != NULL) {
            svc_reply_error(r->req, 409, "FirmwareVersionExists", "Version %s is already uploaded.", version);
            return;
        }
        int rc = hub_fota_stage(f, version, o, r->body, r->body_len);
        if (rc == -EFBIG)
            svc_reply_error(r->req, 413, "ArgumentInvalid", "An image is at most %llu bytes.",
                            (unsigned long long)HUB_FOTA_IMAGE_MAX);
        else if (rc == -EINVAL)
            svc_reply_error(r->req, 400, "ArgumentInvalid", "offset %llu is not where the upload of %s ends: send the pieces in order, from offset 0.", o, version);
        else if (rc != 0)
            svc_reply_error(r->req, 503, "ServiceUnavailable", "Cannot store the upload.");
        else
            svc_reply_empty(r->req, 204);
        return;
    }
    if (r->nseg != 4 || r->method != SVC_POST) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use PUT .../content or POST.");
        return;
    }
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(j, "file");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(j, "size");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(j, "sha256");
    if (!cJSON_IsString(file) || !cJSON_IsNumber(size) || size->valuedouble < 0 ||
        (sha != NULL && !cJSON_IsString(sha))) {
        cJSON_Delete(j);
        svc_reply_error(r->req, 400, "ArgumentInvalid", "The body must be {\"file\":\"name\",\"size\":N[,\"sha256\":\"hex\"]}.");
        return;
    }
    if ((why = hub_fota_file_problem(file->valuestring)) != NULL) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "Invalid file name '%s': %s.", file->valuestring, why);
        cJSON_Delete(j);
        return;
    }
    const struct hub_fota_image *im = NULL;
    char text[200];
    int rc = hub_fota_commit(f, version, file->valuestring, (uint64_t)size->valuedouble,
                             sha ? sha->valuestring : NULL, &im, text, sizeof(text));
    cJSON_Delete(j);
    if (rc == 0) {
        hub_log(HUB_LOG_INFO, "firmware: version %s uploaded (%llu bytes)", version,
                (unsigned long long)im->size);
        svc_reply_json(r->req, 201, svc_fota_image_json(im), NULL);
    } else if (rc == -EEXIST) {
        svc_reply_error(r->req, 409, "FirmwareVersionExists", "Version %s is already uploaded.", version);
    } else if (rc == -ENOENT) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "Nothing was uploaded for version %s: PUT its content first.", version);
    } else if (rc == -EBADMSG) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "The upload of %s is incomplete or damaged: %s.", version, text);
    } else {
        svc_reply_error(r->req, 503, "ServiceUnavailable", "Cannot store image %s.", version);
    }
}

/* ---- deployments ---------------------------------------------------------------------- */

static void uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* The desired `firmware` object of a deployment of `im` from hub `h`. */
static cJSON *firmware_object(struct svc_req *r, const struct hub_fota_image *im, long frag,
                              const char *job)
{
    cJSON *fw = cJSON_CreateObject();
    char host[300], path[HUB_FOTA_TOKEN_HEX + HUB_FOTA_FILE_MAX + 16];
    if (r->d->service_port == 443)
        snprintf(host, sizeof(host), "%s", r->hub->hostname);
    else
        snprintf(host, sizeof(host), "%s:%d", r->hub->hostname, r->d->service_port);
    snprintf(path, sizeof(path), "firmware/%s/%s", im->token, im->file);
    cJSON_AddStringToObject(fw, "fwVersion", im->version);
    cJSON_AddStringToObject(fw, "jobId", job);
    cJSON *loc = cJSON_AddObjectToObject(fw, "fwLocation");
    cJSON_AddStringToObject(loc, "host", host);
    cJSON_AddStringToObject(loc, "path", path);
    cJSON_AddNumberToObject(fw, "fwFragmentSize", (double)frag);
    cJSON_AddNumberToObject(fw, "fwSize", (double)im->size);
    cJSON_AddStringToObject(fw, "fwSha256", im->sha256);
    return fw;
}

static void deploy_done(void *ctx, int rc)
{
    struct svc_op *op = ctx;
    if (rc != 0 && op->rc == 0)
        op->rc = rc;
    if (--op->pending > 0)
        return;
    if (svc_op_live(op)) {
        cJSON *answer = cJSON_Parse(op->data);
        if (op->rc == 0 && answer != NULL)
            svc_reply_json(op->req, 200, answer, NULL);
        else {
            cJSON_Delete(answer);
            svc_reply_store_error(op->req, op->rc ? op->rc : -ENOMEM, "a deployment's twin");
        }
    }
    svc_op_free(op);
}

/* The device ids a deployment names: deviceId, or the twins a query selects. NULL after
 * answering. */
static cJSON *targets(struct svc_req *r, const cJSON *j)
{
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(j, "deviceId");
    const cJSON *qt = cJSON_GetObjectItemCaseSensitive(j, "query");
    cJSON *ids = cJSON_CreateArray();
    if (cJSON_IsString(dev) && qt == NULL) {
        if (hub_store_twin_peek(r->hub->store, dev->valuestring) == NULL) {
            svc_reply_store_error(r->req, -ENOENT, dev->valuestring);
            cJSON_Delete(ids);
            return NULL;
        }
        cJSON_AddItemToArray(ids, cJSON_CreateString(dev->valuestring));
        return ids;
    }
    if (!cJSON_IsString(qt) || dev != NULL) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "Give either \"deviceId\" or \"query\".");
        cJSON_Delete(ids);
        return NULL;
    }
    char text[HUB_QUERY_TEXT_MAX + 64];
    const char *q = qt->valuestring;
    while (*q == ' ')
        q++;
    if (strncasecmp(q, "SELECT", 6) == 0)
        snprintf(text, sizeof(text), "%s", q);
    else
        snprintf(text, sizeof(text), "SELECT * FROM devices WHERE %s", q);
    struct hub_query *hq = NULL;
    char err[HUB_QUERY_ERR_MAX];
    int rc = hub_query_parse(text, strlen(text), &hq, err);
    if (rc != 0 || hq->aggregate) {
        svc_reply_error(r->req, 400, "BadRequest", "Invalid query \"%.200s\": %s.", text,
                        rc != 0 ? err : "a deployment query selects devices, not aggregates");
        hub_query_free(hq);
        cJSON_Delete(ids);
        return NULL;
    }
    struct hub_device *devs = NULL;
    size_t n = 0;
    if (hub_store_device_list(r->hub->store, &devs, &n) != 0) {
        hub_query_free(hq);
        cJSON_Delete(ids);
        svc_reply_store_error(r->req, -ENOMEM, "the device list");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        cJSON *twin = svc_twin_json(r->hub, devs[i].device_id, NULL);
        if (twin != NULL && hub_query_match(hq, twin))
            cJSON_AddItemToArray(ids, cJSON_CreateString(devs[i].device_id));
        cJSON_Delete(twin);
    }
    free(devs);
    hub_query_free(hq);
    if (cJSON_GetArraySize(ids) == 0) {
        svc_reply_error(r->req, 404, "DeviceNotFound", "No device matches the query.");
        cJSON_Delete(ids);
        return NULL;
    }
    return ids;
}

static void deploy(struct svc_req *r, struct hub_fota *f)
{
    if (r->method != SVC_POST || r->nseg != 3) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use POST /azkit/fota/deployments.");
        return;
    }
    cJSON *j = svc_body_json(r);
    if (j == NULL)
        return;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    const cJSON *frag = cJSON_GetObjectItemCaseSensitive(j, "fragmentSize");
    const struct hub_fota_image *im = cJSON_IsString(ver) ? hub_fota_find(f, ver->valuestring) : NULL;
    long fs = HUB_FOTA_FRAGMENT_DEFAULT;
    if (!cJSON_IsString(ver)) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "\"version\" (a string) is required.");
    } else if (im == NULL) {
        svc_reply_error(r->req, 404, "FirmwareNotFound", "No image of version %s was uploaded: upload it first.", ver->valuestring);
    } else if (frag != NULL && (!cJSON_IsNumber(frag) || frag->valuedouble < 1 ||
                                frag->valuedouble > HUB_FOTA_FRAGMENT_MAX ||
                                frag->valuedouble != (double)(long)frag->valuedouble)) {
        svc_reply_error(r->req, 400, "ArgumentInvalid", "fragmentSize is an integer from 1 to %d (azure_fota: at most 2 KB with TLS, HTTP header included).", HUB_FOTA_FRAGMENT_MAX);
    } else {
        if (frag != NULL)
            fs = (long)frag->valuedouble;
        cJSON *ids = targets(r, j);
        cJSON_Delete(j);
        if (ids == NULL)
            return;
        char job[37];
        uuid4(job);
        cJSON *patch = cJSON_CreateObject();
        cJSON *fw = firmware_object(r, im, fs, job);
        cJSON_AddItemToObject(patch, "firmware", fw);
        /* Every twin is checked first: a refused deployment changes nothing. */
        const cJSON *id;
        char why[300] = "";
        cJSON_ArrayForEach(id, ids) {
            int rc = hub_twin_patch_check(r->hub, id->valuestring, HUB_TWIN_DESIRED, patch, why, sizeof(why));
            if (rc != 0) {
                if (rc == -EBADMSG || rc == -E2BIG)
                    svc_reply_error(r->req, 400, "ArgumentInvalid", "%s", why);
                else
                    svc_reply_store_error(r->req, rc, id->valuestring);
                cJSON_Delete(patch);
                cJSON_Delete(ids);
                return;
            }
        }
        cJSON *answer = cJSON_CreateObject();
        cJSON_AddStringToObject(answer, "jobId", job);
        cJSON_AddStringToObject(answer, "version", im->version);
        cJSON_AddItemToObject(answer, "firmware", cJSON_Duplicate(fw, 1));
        cJSON_AddItemToObject(answer, "devices", cJSON_Duplicate(ids, 1));
        struct svc_op *op = svc_op_new(r, NULL, 0);
        if (op == NULL || (op->data = cJSON_PrintUnformatted(answer)) == NULL) {
            svc_op_free(op);
            svc_reply_store_error(r->req, -ENOMEM, "a deployment");
        } else {
            op->pending = 1;
            cJSON_ArrayForEach(id, ids) {
                op->pending++;
                int rc = hub_twin_patch_desired(r->hub, id->valuestring, patch, deploy_done, op);
                if (rc < 0) {
                    op->pending--;
                    if (op->rc == 0)
                        op->rc = rc;
                    break;
                }
            }
            hub_log(HUB_LOG_INFO, "firmware: job %s deploys version %s to %d device(s)", job,
                    im->version, cJSON_GetArraySize(ids));
            deploy_done(op, 0);
        }
        cJSON_Delete(answer);
        cJSON_Delete(patch);
        cJSON_Delete(ids);
        return;
    }
    cJSON_Delete(j);
}

/* ---- status --------------------------------------------------------------------------- */

static void copy_member(cJSON *to, const char *as, const cJSON *from, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);
    cJSON_AddItemToObject(to, as, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

static void status(struct svc_req *r)
{
    if (r->method != SVC_GET || r->nseg != 3) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET /azkit/fota/status.");
        return;
    }
    struct hub_device *devs = NULL;
    size_t n = 0;
    if (hub_store_device_list(r->hub->store, &devs, &n) != 0) {
        svc_reply_store_error(r->req, -ENOMEM, "the device list");
        return;
    }
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const struct hub_twin *tw = hub_store_twin_peek(r->hub->store, devs[i].device_id);
        if (tw == NULL)
            continue;
        cJSON *des = cJSON_Parse(tw->desired ? tw->desired : "{}");
        cJSON *rep = cJSON_Parse(tw->reported ? tw->reported : "{}");
        const cJSON *dfw = cJSON_GetObjectItemCaseSensitive(des, "firmware");
        const cJSON *rfw = cJSON_GetObjectItemCaseSensitive(rep, "firmware");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deviceId", devs[i].device_id);
        copy_member(o, "fwUpdateStatus", rfw, "fwUpdateStatus");
        copy_member(o, "currentFwVersion", rfw, "currentFwVersion");
        copy_member(o, "pendingFwVersion", rfw, "pendingFwVersion");
        copy_member(o, "jobId", rfw, "jobId");
        copy_member(o, "desiredFwVersion", dfw, "fwVersion");
        copy_member(o, "desiredJobId", dfw, "jobId");
        cJSON_AddItemToArray(arr, o);
        cJSON_Delete(des);
        cJSON_Delete(rep);
    }
    free(devs);
    svc_reply_json(r->req, 200, arr, NULL);
}

void svc_fota(struct svc_req *r)
{
    struct hub_fota *f = svc_fota_state(r->s);
    const char *what = r->nseg >= 3 ? r->seg[2] : "";
    if (strcmp(what, "images") == 0)
        images(r, f);
    else if (strcmp(what, "deployments") == 0)
        deploy(r, f);
    else if (strcmp(what, "status") == 0)
        status(r);
    else if (strcmp(what, "faults") == 0)
        svc_fota_faults(r, f);
    else
        svc_reply_error(r->req, 404, "NotFound", "Use /azkit/fota/images, deployments, status or faults.");
}

/* GET /azkit/telemetry?after=SEQ&device=ID&max=N&wait=S: the stored device-to-cloud messages.
 * With wait > 0 and nothing newer than `after`, the request is held until telemetry commits
 * (the store's listener) or the wait expires: the follow mode of `azkit-hub telemetry`. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/svc_common.h"

#define TELEMETRY_MAX_DEFAULT 100
#define TELEMETRY_MAX_LIMIT 1000
#define TELEMETRY_WAIT_MAX 60

struct waiter {
    struct waiter *next;
    struct hub_service *s;
    struct hub_daemon *d;
    struct evhttp_request *req;
    struct event *timer;
    uint64_t after;
    size_t max;
    bool has_device;
    char device[HUB_DEVICE_ID_MAX + 1];
};

static bool valid_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t extra;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

static cJSON *json_or_empty(const char *text)
{
    cJSON *j = text && *text ? cJSON_Parse(text) : NULL;
    return j ? j : cJSON_CreateObject();
}

static cJSON *record_json(const struct hub_telemetry *t)
{
    cJSON *o = cJSON_CreateObject();
    char when[40];
    cJSON_AddNumberToObject(o, "seq", (double)t->seq);
    cJSON_AddStringToObject(o, "deviceId", t->device_id);
    svc_time_iso(t->enqueued_ms, when);
    cJSON_AddStringToObject(o, "enqueuedTime", when);
    cJSON_AddStringToObject(o, "messageType", t->msg_type[0] ? t->msg_type : "Telemetry");
    if (valid_utf8(t->payload, t->payload_len)) {
        char *s = malloc(t->payload_len + 1);
        if (s != NULL) {
            memcpy(s, t->payload, t->payload_len);
            s[t->payload_len] = '\0';
            cJSON_AddStringToObject(o, "payload", s);
            free(s);
        }
        cJSON_AddStringToObject(o, "encoding", "utf-8");
    } else {
        size_t cap = 4 * ((t->payload_len + 2) / 3) + 1;
        char *s = malloc(cap);
        if (s != NULL) {
            EVP_EncodeBlock((unsigned char *)s, t->payload, (int)t->payload_len);
            cJSON_AddStringToObject(o, "payload", s);
            free(s);
        }
        cJSON_AddStringToObject(o, "encoding", "base64");
    }
    cJSON_AddNumberToObject(o, "size", (double)t->payload_len);
    cJSON_AddItemToObject(o, "properties", json_or_empty(t->app_props));
    cJSON_AddItemToObject(o, "systemProperties", json_or_empty(t->sys_props));
    return o;
}

/* Reads; answers and returns true when there is something (or always when `force`). */
static bool try_answer(struct hub_daemon *d, struct evhttp_request *req, uint64_t after,
                       const char *device, size_t max, bool force)
{
    struct hub_telemetry *arr = NULL;
    size_t n = 0;
    int rc = hub_store_telemetry_read(d->store, after, device, max, &arr, &n);
    if (rc != 0) {
        svc_reply_store_error(req, rc, "telemetry");
        return true;
    }
    if (n == 0 && !force)
        return false;
    cJSON *o = cJSON_CreateObject();
    cJSON *recs = cJSON_AddArrayToObject(o, "records");
    uint64_t last = after;
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(recs, record_json(&arr[i]));
        last = arr[i].seq;
    }
    hub_telemetry_free_array(arr, n);
    cJSON_AddNumberToObject(o, "lastSeq", (double)last);
    cJSON_AddNumberToObject(o, "hubLastSeq", (double)hub_store_telemetry_last_seq(d->store));
    svc_reply_json(req, 200, o, NULL);
    return true;
}

static struct waiter **head_of(struct hub_service *s)
{
    return (struct waiter **)svc_telemetry_slot(s);
}

static void unlink_waiter(struct waiter *w)
{
    for (struct waiter **pp = head_of(w->s); *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    event_free(w->timer);
    free(w);
}

static void wait_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct waiter *w = arg;
    try_answer(w->d, w->req, w->after, w->has_device ? w->device : NULL, w->max, true);
    unlink_waiter(w);
}

void svc_telemetry_init(struct hub_service *s)
{
    *head_of(s) = NULL;
}

void svc_telemetry_shutdown(struct hub_service *s)
{
    while (*head_of(s) != NULL) {
        struct waiter *w = *head_of(s);
        try_answer(w->d, w->req, w->after, w->has_device ? w->device : NULL, w->max, true);
        unlink_waiter(w);
    }
}

void svc_telemetry_committed(struct hub_service *s, uint64_t last_seq)
{
    struct waiter *w = *head_of(s);
    while (w != NULL) {
        struct waiter *next = w->next;
        if (last_seq > w->after &&
            try_answer(w->d, w->req, w->after, w->has_device ? w->device : NULL, w->max,
                       false))
            unlink_waiter(w);
        w = next;
    }
}

static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

void svc_telemetry(struct svc_req *r)
{
    if (r->nseg != 2) {
        svc_reply_error(r->req, 404, "NotFound", "No such endpoint.");
        return;
    }
    if (r->method != SVC_GET) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET /azkit/telemetry.");
        return;
    }
    char buf[HUB_DEVICE_ID_MAX + 1], device[HUB_DEVICE_ID_MAX + 1];
    uint64_t after = 0, max = TELEMETRY_MAX_DEFAULT, wait = 0;
    if ((svc_query(r, "after", buf, sizeof(buf)) && !parse_num(buf, UINT64_MAX / 2, &after)) ||
        (svc_query(r, "max", buf, sizeof(buf)) &&
         (!parse_num(buf, TELEMETRY_MAX_LIMIT, &max) || max == 0)) ||
        (svc_query(r, "wait", buf, sizeof(buf)) && !parse_num(buf, TELEMETRY_WAIT_MAX, &wait))) {
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "after must be a sequence number, max 1..%d, wait 0..%d seconds.",
                        TELEMETRY_MAX_LIMIT, TELEMETRY_WAIT_MAX);
        return;
    }
    bool has_device = svc_query(r, "device", device, sizeof(device)) && device[0] != '\0';
    if (try_answer(r->d, r->req, after, has_device ? device : NULL, (size_t)max, wait == 0))
        return;
    struct waiter *w = calloc(1, sizeof(*w));
    if (w == NULL || (w->timer = evtimer_new(r->d->base, wait_expired, w)) == NULL) {
        free(w);
        svc_reply_store_error(r->req, -ENOMEM, "telemetry");
        return;
    }
    w->d = r->d;
    w->s = r->s;
    w->req = r->req;
    w->after = after;
    w->max = (size_t)max;
    w->has_device = has_device;
    if (has_device)
        snprintf(w->device, sizeof(w->device), "%s", device);
    w->next = *head_of(r->s);
    *head_of(r->s) = w;
    struct timeval tv = {(time_t)wait, 0};
    evtimer_add(w->timer, &tv);
}

/* Pending direct-method calls, correlated by request id, each with its own timer. */
#include "hub/iothub/methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

struct pending {
    struct pending *next;
    struct hub_iothub *h;
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char rid[16];
    struct event *timer;
    hub_method_done_fn done;
    void *ctx;
};

/* One list per process is enough: calls are few and short-lived. */
static struct pending *calls;
static uint32_t rid_counter;

static void finish(struct pending *p, const struct hub_method_result *r)
{
    struct pending **pp = &calls;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    event_free(p->timer);
    p->done(p->ctx, r);
    free(p);
}

static void timed_out(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pending *p = arg;
    hub_log(HUB_LOG_INFO, "device '%s': method call %s timed out", p->device_id, p->rid);
    struct hub_method_result r = {504, 504101, 0, NULL, 0};
    finish(p, &r);
}

void hub_methods_invoke(struct hub_iothub *h, const char *device_id, const char *name,
                        const char *payload_json, unsigned timeout_s, hub_method_done_fn done,
                        void *ctx)
{
    struct hub_conn *c = hub_devmap_get(&h->conns, device_id);
    if (c == NULL || !hub_conn_alive(c) || !(c->subs & HUB_SUB_METHODS)) {
        struct hub_method_result r = {404, 404103, 0, NULL, 0};
        done(ctx, &r);
        return;
    }
    struct pending *p = calloc(1, sizeof(*p));
    size_t rid_len = 0;
    if (p == NULL ||
        azk_rid_next(&rid_counter, AZK_RID_DECIMAL, p->rid, sizeof(p->rid) - 1, &rid_len) != 0 ||
        (p->timer = evtimer_new(h->d->base, timed_out, p)) == NULL) {
        free(p);
        struct hub_method_result r = {500, 500001, 0, NULL, 0};
        done(ctx, &r);
        return;
    }
    p->rid[rid_len] = '\0';
    p->h = h;
    snprintf(p->device_id, sizeof(p->device_id), "%s", device_id);
    p->done = done;
    p->ctx = ctx;
    p->next = calls;
    calls = p;
    char topic[512];
    size_t n = 0;
    if (azk_hub_method_request_topic(azk_span_from_str(name), (struct azk_span){p->rid, rid_len},
                                     topic, sizeof(topic), &n) != 0) {
        struct hub_method_result r = {400, 400027, 0, NULL, 0};
        finish(p, &r);
        return;
    }
    const char *body = payload_json && *payload_json ? payload_json : "null";
    hub_conn_publish(c, topic, n, body, strlen(body), 0);
    struct timeval tv = {(time_t)(timeout_s ? timeout_s : 30), 0};
    evtimer_add(p->timer, &tv);
}

void hub_methods_device_answered(struct hub_iothub *h, const char *device_id,
                                 struct azk_span rid, int status, struct azk_span payload)
{
    for (struct pending *p = calls; p; p = p->next) {
        if (p->h != h || strcmp(p->device_id, device_id) != 0 || !azk_span_eq_str(rid, p->rid))
            continue;
        struct hub_method_result r = {200, 0, status, payload.ptr, payload.len};
        finish(p, &r);
        return;
    }
    hub_log(HUB_LOG_DEBUG, "device '%s': method answer for unknown request %.*s", device_id,
            (int)rid.len, rid.ptr);
}

void hub_methods_shutdown(struct hub_daemon *d)
{
    (void)d;
    while (calls) {
        struct hub_method_result r = {503, 503001, 0, NULL, 0};
        finish(calls, &r);
    }
}

/* Direct methods: the service call waits for the device's answer up to its timeout. */
#ifndef AZK_HUB_METHODS_H
#define AZK_HUB_METHODS_H

#include <stddef.h>

#include "azkit/span.h"

struct hub_daemon;
struct hub_iothub;

/* Outcome of an invocation. status: the device's status code (result 0), or the HTTP
 * status the service answers: 404 with 404103 (device not online), 504 (no answer in time). */
struct hub_method_result {
    int http_status;     /* 200, 404, 504 */
    int error_code;      /* 404103, 504101, 0 */
    int device_status;   /* with 200: the status the device answered */
    const char *payload; /* with 200: the device's payload (JSON text), valid during the call */
    size_t payload_len;
};

typedef void (*hub_method_done_fn)(void *ctx, const struct hub_method_result *r);

/* Sends `$iothub/methods/POST/{name}/?$rid={rid}` to the device and calls `done` once, with
 * the answer or with 404 (not connected or not subscribed) / 504 (timeout). */
void hub_methods_invoke(struct hub_iothub *h, const char *device_id, const char *name,
                        const char *payload_json, unsigned timeout_s, hub_method_done_fn done,
                        void *ctx);

/* The device answered on `$iothub/methods/res/{status}/?$rid={rid}`. Unknown rids are ignored
 * (the caller already timed out). */
void hub_methods_device_answered(struct hub_iothub *h, const char *device_id,
                                 struct azk_span rid, int status, struct azk_span payload);

/* Fails every pending call (shutdown). */
void hub_methods_shutdown(struct hub_daemon *d);

#endif

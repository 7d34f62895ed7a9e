/* Internal interface of the service API: the request context the resource files (svc_*.c)
 * get from the router in service.c, and the helpers they answer with. Loop thread only. */
#ifndef AZK_HUB_SVC_COMMON_H
#define AZK_HUB_SVC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "hub/store.h"

struct evhttp_request;
struct hub_daemon;
struct hub_service;

#define SVC_MAX_SEGS 8
#define SVC_SEG_MAX 512

enum svc_method { SVC_GET, SVC_PUT, SVC_POST, SVC_PATCH, SVC_DELETE, SVC_OTHER };

/* One request being handled. The router fills it; a handler either answers at once (svc_*
 * reply functions) or keeps it for an asynchronous answer with svc_op_new(). */
struct svc_req {
    struct hub_service *s;
    struct hub_daemon *d;
    struct evhttp_request *req;
    enum svc_method method;
    const char *seg[SVC_MAX_SEGS]; /* percent-decoded path segments */
    size_t nseg;
    const char *query;             /* raw query string, or NULL */
    char *body;                    /* request body, NUL-terminated (heap; may hold NULs) */
    size_t body_len;
};

/* ---- answers (each consumes the evhttp request) -------------------------------------- */

/* JSON answer (takes `obj`, may be NULL for an empty body); `etag` (unquoted) adds a quoted
 * ETag header when non-NULL. */
void svc_reply_json(struct evhttp_request *req, int status, cJSON *obj, const char *etag);
/* No body. */
void svc_reply_empty(struct evhttp_request *req, int status);
/* Azure's error body {"Message":"ErrorCode:<code>;<text>","ExceptionMessage":"Tracking ID:..."}
 * with an iothub-errorcode header. */
void svc_reply_error(struct evhttp_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Common mappings of store errors: -ENOENT -> 404 DeviceNotFound, -ESTALE -> 412,
 * -EEXIST -> 409, -EINVAL/-EBADMSG -> 400, -ENOMEM -> 500, -EIO -> 503. */
void svc_reply_store_error(struct evhttp_request *req, int rc, const char *what);

/* ---- asynchronous answers -------------------------------------------------------------- */

/* A request waiting for a store completion or a device. When the service stops first the op
 * is detached (req NULL): its callback must then only free it (svc_op_free). */
struct svc_op {
    struct svc_op *next, *prev;
    struct hub_service *s;       /* NULL once detached */
    struct hub_daemon *d;
    struct evhttp_request *req;  /* NULL once detached */
    int pending;                 /* store completions still to come */
    int rc;                      /* first failure */
    char id[HUB_DEVICE_ID_MAX + HUB_CA_NAME_MAX + 2]; /* device id or CA name */
    void *data;                  /* handler-owned (freed with free() by svc_op_free) */
    int kind;                    /* handler-owned */
};

struct svc_op *svc_op_new(struct svc_req *r);
void svc_op_free(struct svc_op *op);
/* True when the op can still answer (not detached). */
bool svc_op_live(const struct svc_op *op);

/* ---- request helpers ------------------------------------------------------------------- */

const char *svc_header(const struct svc_req *r, const char *name);
/* If-Match without quotes into buf; NULL when absent. */
const char *svc_if_match(const struct svc_req *r, char *buf, size_t size);
/* Parses the body as JSON (NULL on failure, after answering 400 ArgumentInvalid). */
cJSON *svc_body_json(struct svc_req *r);
/* A query parameter (decoded) into buf; false when absent. */
bool svc_query(const struct svc_req *r, const char *name, char *buf, size_t size);

/* ---- JSON helpers ---------------------------------------------------------------------- */

/* ISO-8601 UTC with milliseconds; 0 -> "0001-01-01T00:00:00Z". */
void svc_time_iso(int64_t ms, char out[40]);
cJSON *svc_device_json(const struct hub_device *dev);
/* The full twin of a device (NULL when it or its twin is missing). */
cJSON *svc_twin_json(struct hub_daemon *d, const char *device_id, char etag_out[HUB_ETAG_MAX + 1]);
/* Random lowercase hex of `bytes` random bytes into out (2*bytes+1). */
void svc_random_hex(size_t bytes, char *out);

/* ---- resource handlers (svc_*.c) -------------------------------------------------------- */

void svc_devices(struct svc_req *r);   /* /devices[/{id}] */
void svc_twins(struct svc_req *r);     /* /twins/{id} */
void svc_methods(struct svc_req *r);   /* /twins/{id}/methods */
void svc_cas(struct svc_req *r);       /* /azkit/certificates[/{name}[/action]] */
void svc_c2d(struct svc_req *r);       /* /azkit/devices/{id}/messages/devicebound */
void svc_telemetry(struct svc_req *r); /* /azkit/telemetry */
void svc_faults(struct svc_req *r);    /* /azkit/faults */

/* Telemetry follow mode: called by service.c. */
void svc_telemetry_init(struct hub_service *s);
void svc_telemetry_shutdown(struct hub_service *s);
void svc_telemetry_committed(struct hub_service *s, uint64_t last_seq);

/* The service's telemetry waiter list head (owned by svc_telemetry.c). */
void **svc_telemetry_slot(struct hub_service *s);

#endif

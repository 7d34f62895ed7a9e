/* Internal interface of the service API: the request context the resource files (svc_*.c)
 * get from the router in service.c, and the helpers they answer with. Loop thread only. */
#ifndef AZK_HUB_SVC_COMMON_H
#define AZK_HUB_SVC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "hub/dps/dps_model.h"
#include "hub/store/store.h"

struct evhttp_request;
struct hub_daemon;
struct hub_iothub;
struct hub_service;

#define SVC_MAX_SEGS 8
#define SVC_SEG_MAX 512

enum svc_method { SVC_GET, SVC_PUT, SVC_POST, SVC_PATCH, SVC_DELETE, SVC_OTHER };

/* One request being handled. The router fills it; a handler either answers at once (svc_*
 * reply functions) or keeps it for an asynchronous answer with svc_op_new(). */
struct svc_req {
    struct hub_service *s;
    struct hub_daemon *d;
    struct hub_iothub *hub;        /* the IoT hub the request is for (DPS: the primary) */
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
/* One page of a query: 200 with the JSON array `items` (taken), x-ms-item-type: item_type and,
 * when `next` is non-NULL, x-ms-continuation: next (the SDKs stop paging when it is absent). */
void svc_reply_page(struct svc_req *r, cJSON *items, const char *item_type, const char *next);
/* Azure's error body {"Message":"ErrorCode:<code>;<text>","ExceptionMessage":"Tracking ID:..."}
 * with an iothub-errorcode header. */
void svc_reply_error(struct evhttp_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Common mappings of store errors: -ENOENT -> 404 DeviceNotFound, -ESTALE -> 412,
 * -EEXIST -> 409, -EINVAL/-EBADMSG -> 400, -ENOMEM -> 500, -EIO -> 503. */
void svc_reply_store_error(struct evhttp_request *req, int rc, const char *what);

/* DPS's error body {"errorCode":<6 digits>,"trackingId","message","timestampUtc"} plus IoT
 * Hub's "Message":"ErrorCode:<name>;<text>" (read by the admin client and the SDKs' parsers),
 * with x-ms-error-code and iothub-errorcode headers. */
void svc_dps_reply_error(struct evhttp_request *req, int status, int code, const char *name,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Store errors of the DPS endpoints: -ENOENT 404, -ESTALE 412, -EEXIST 409, -EINVAL 400, ... */
void svc_dps_reply_store_error(struct evhttp_request *req, int rc, const char *what);

/* ---- asynchronous answers -------------------------------------------------------------- */

/* A request waiting for a store completion or a device. When the service stops first the op
 * is detached (req NULL): its callback must then only free it (svc_op_free). */
struct svc_op {
    struct svc_op *next, *prev;
    struct hub_service *s;       /* NULL once detached */
    struct hub_daemon *d;
    struct hub_iothub *hub;      /* the request's IoT hub */
    struct evhttp_request *req;  /* NULL once detached */
    int pending;                 /* store completions still to come */
    int rc;                      /* first failure */
    char id[HUB_DEVICE_ID_MAX + HUB_CA_NAME_MAX + 2]; /* device id or CA name */
    void *data;                  /* handler-owned (freed with free() by svc_op_free) */
    int kind;                    /* handler-owned */
};

/* A pending answer for request `r`; `id` (device id or CA name, may be NULL) and `kind` are
 * stored in the op. NULL when out of memory. */
struct svc_op *svc_op_new(struct svc_req *r, const char *id, int kind);
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
/* Fills `dev` from a device body over `existing` (NULL on create: no authentication means sas
 * with generated keys). Returns NULL, or what is wrong in a sentence. */
const char *svc_device_from_json(const cJSON *j, const struct hub_device *existing,
                                 struct hub_device *dev);
/* A deleted or disabled device loses its connection, as on Azure; `why` goes to the log. */
void svc_device_kick(struct hub_iothub *h, const char *id, const char *why);
/* The full twin of a device (NULL when it or its twin is missing). */
cJSON *svc_twin_json(struct hub_iothub *h, const char *device_id, char etag_out[HUB_ETAG_MAX + 1]);
/* Random lowercase hex of `bytes` random bytes into out (2*bytes+1). */
void svc_random_hex(size_t bytes, char *out);

/* ---- resource handlers (svc_*.c) -------------------------------------------------------- */

void svc_devices(struct svc_req *r);   /* /devices[/{id}] */
void svc_devices_bulk(struct svc_req *r); /* POST /devices (svc_devices_bulk.c) */
void svc_devices_query(struct svc_req *r); /* POST /devices/query (svc_query.c) */
void svc_twins(struct svc_req *r);     /* /twins/{id} */
void svc_methods(struct svc_req *r);   /* /twins/{id}/methods */
void svc_cas(struct svc_req *r);       /* /azkit/certificates[/{name}[/action]] */
void svc_c2d(struct svc_req *r);       /* /azkit/devices/{id}/messages/devicebound */
void svc_c2d_purge(struct svc_req *r); /* DELETE /devices/{id}/commands: purge the C2D queue */
void svc_telemetry(struct svc_req *r); /* /azkit/telemetry */
void svc_faults(struct svc_req *r);    /* /azkit/faults */
void svc_consumer_groups(struct svc_req *r); /* /azkit/consumer-groups (svc_consumer_groups.c) */
void svc_server_root(struct svc_req *r); /* /azkit/server-root */
void svc_fota(struct svc_req *r);      /* /azkit/fota/... (svc_fota.c) */

/* ---- firmware over the air (svc_fota.c, svc_fota_faults.c) ----------------------------- */

struct hub_fota;
struct hub_fota_image;
/* The service's image catalogue and image server (owned by service.c). */
struct hub_fota *svc_fota_state(struct hub_service *s);
/* An image as the API shows it: version, file, size, sha256, path, uploaded. */
cJSON *svc_fota_image_json(const struct hub_fota_image *im);
/* /azkit/fota/faults[/{drop|corrupt|stall}]. */
void svc_fota_faults(struct svc_req *r, struct hub_fota *f);

void svc_dps_enrollments(struct svc_req *r);   /* /enrollments[/{id}|/query] */
void svc_dps_groups(struct svc_req *r);        /* /enrollmentGroups[/{id}|/query] */
void svc_dps_registrations(struct svc_req *r); /* /registrations/{id}, /registrations/{g}/query */
void svc_dps_cas(struct svc_req *r);           /* /azkit/dps/certificates[/{name}[/action]] */

/* ---- verified CAs: shared by the hub's (svc_cas.c) and DPS's (svc_dps_cas.c) ----------- */

/* The "certificate" member of the body as PEM text (heap), or NULL after answering 400 (with
 * DPS's error shape when `dps`). */
char *svc_ca_body_pem(struct svc_req *r, bool dps);
/* NULL when `pem` is one PEM X.509 CA certificate (basicConstraints CA:TRUE), else why not. */
const char *svc_ca_pem_problem(const char *pem);
/* A fresh proof-of-possession code (uppercase hex). */
void svc_ca_new_code(char out[HUB_CA_CODE_MAX + 1]);
/* Proof of possession: NULL when `verification_pem` has CN = `code`, is signed by the key of
 * `ca_pem` and is valid now; else why not. */
const char *svc_ca_proof_problem(const char *ca_pem, const char *code,
                                 const char *verification_pem);
/* The proof check of a verify request for the CA `ca_pem` with its current `code`: NULL when
 * the body's certificate proves possession (svc_ca_proof_problem), else why not. Sets *replied
 * (and returns NULL) when the body had no certificate and the request was answered already. */
const char *svc_ca_verify_body(struct svc_req *r, bool dps, const char *ca_pem, const char *code,
                               bool *replied);

/* ---- DPS query paging (svc_dps_common.c) -------------------------------------------------- */

/* Page size (x-ms-max-item-count, default/max 1000) and the continuation (x-ms-continuation:
 * the last id of the previous page, "" = from the start). False after answering 400. */
bool svc_dps_page_params(struct svc_req *r, size_t *max, char *after, size_t after_size);

/* One page of a DPS query over records sorted by id: svc_dps_page_begin() reads the paging
 * parameters (the continuation cut to `id_max` + 1 characters) or answers 400 and returns
 * false; svc_dps_page_take() says, for each record in order, whether it goes on the page (1),
 * comes before the continuation (0) or does not fit (-1: stop; `next` is set). */
struct svc_dps_page {
    size_t max, taken;
    char after[DPS_GROUP_ID_MAX + 2];
    const char *last, *next; /* ids of the records (valid while they are) */
    cJSON *items;
};
bool svc_dps_page_begin(struct svc_req *r, struct svc_dps_page *pg, size_t id_max);
int svc_dps_page_take(struct svc_dps_page *pg, const char *id);
/* (Once a page is full every later record gets -1 or 0 again, so a loop may run on to the end.) */
/* After the store's list call of a query: true when `list_rc` is 0, else frees the page and
 * answers 500 about `what` ("the enrollment list"). */
bool svc_dps_page_listed(struct svc_req *r, struct svc_dps_page *pg, int list_rc,
                         const char *what);

/* ---- DPS request skeletons (svc_dps_common.c) -------------------------------------------- */

/* The body of a DPS PUT as JSON, or NULL after answering 400 (missing or not JSON). */
cJSON *svc_dps_body_json(struct svc_req *r);
/* A PUT's If-Match: the header (into buf), else the body's etag (what the SDKs send back after
 * a GET) when it is not empty, else NULL. */
const char *svc_dps_put_if_match(const struct svc_req *r, char *buf, size_t size,
                                 const char *body_etag);
/* DELETE of the record `id` (described by `what`) with the request's If-Match: answers 204
 * once `del` completes, or the store error. */
typedef int (*svc_dps_delete_fn)(struct hub_store *st, const char *id, const char *if_match,
                                 hub_store_done_fn done, void *ctx);
void svc_dps_delete(struct svc_req *r, const char *id, const char *what, svc_dps_delete_fn del);

/* Asynchronous DPS answers: an op whose id is the description of the record ("enrollment
 * 'dev1'", for error texts) and, for a PUT, the rendered answer set with svc_dps_op_answer()
 * before the completion runs. kind SVC_DPS_OP_DELETE answers 204. */
enum { SVC_DPS_OP_PUT = 1, SVC_DPS_OP_DELETE = 2 };
struct svc_op *svc_dps_op_new(struct svc_req *r, int kind, const char *what);
void svc_dps_op_answer(struct svc_op *op, cJSON *body, const char *etag); /* takes body */
void svc_dps_op_done(void *ctx, int rc);
/* After a store call: on rc < 0 answers the error and frees the op. */
void svc_dps_op_submitted(struct svc_req *r, struct svc_op *op, int rc);

/* POST .../{id}/attestationmechanism: answers 200 with the "attestation" member of the record
 * rendered as `whole` (taken). */
void svc_dps_reply_attestation(struct svc_req *r, cJSON *whole);

/* Telemetry reads and follow mode: called by service.c. init starts the reader thread (0 or
 * -errno; call shutdown even after a failure); shutdown answers every held request, joins the
 * thread and must run before evhttp_free(). */
int svc_telemetry_init(struct hub_service *s, struct hub_daemon *d);
void svc_telemetry_shutdown(struct hub_service *s);
/* A commit of hub `h`'s store made telemetry up to `last_seq` readable. */
void svc_telemetry_committed(struct hub_service *s, struct hub_iothub *h, uint64_t last_seq);

/* The service's telemetry state (owned by svc_telemetry.c). */
void **svc_telemetry_slot(struct hub_service *s);

#endif

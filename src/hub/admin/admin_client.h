/* The HTTPS/1.1 client of the admin commands: one blocking request per connection to the
 * hub's service API, the server verified against the hub's CA, SAS authorisation. */
#ifndef AZK_HUB_ADMIN_CLIENT_H
#define AZK_HUB_ADMIN_CLIENT_H

#include <limits.h>
#include <stddef.h>

struct hub_admin_target {
    char host[256];         /* address to connect to; default 127.0.0.1 */
    int port;               /* service port */
    char tls_name[256];     /* name (DNS or IP) the server certificate must hold; "" = host */
    char ca_file[PATH_MAX]; /* PEM the server chain must verify against (<data>/pki/ca.pem) */
    char sr[256];           /* the hub's host name for the token's sr */
    char skn[80];           /* policy; "" = iothubowner */
    char key[128];          /* the policy's base64 key (never printed) */
    int timeout_s;          /* connect/read timeout; 0 = 60 */
    int mqtt_port;          /* the hub's MQTT port, when known (0: not known) */
    const char *authorization; /* a fixed Authorization value (tests, a token made elsewhere);
                                  NULL = sign a token with `key` */
};

struct hub_admin_header {
    const char *name;
    const char *value;
};

struct hub_http_response {
    int status;
    char *body;              /* NUL-terminated (heap), may be empty */
    size_t body_len;
    char etag[128];          /* ETag header without quotes, "" when absent */
    char content_type[128];
    char continuation[512];  /* x-ms-continuation header (queries), "" when absent */
    char item_type[64];      /* x-ms-item-type header (queries), "" when absent */
};

/*
 * Sends `method` `path` (with query; "?api-version=..." is added when missing) with `body`
 * (JSON unless a Content-Type is among `headers`) and reads the answer (Content-Length,
 * chunked, or until close). Returns 0 (any HTTP status: look at out->status), or
 * -ECONNREFUSED / -EHOSTUNREACH (cannot connect), -ETIMEDOUT, -EPROTO (TLS handshake or
 * server certificate verification failed; `err` says why), -EBADMSG (not HTTP), -ENOMEM,
 * -EINVAL. `err` (may be NULL) receives a human explanation on failure.
 */
int hub_admin_request(const struct hub_admin_target *t, const char *method, const char *path,
                      const struct hub_admin_header *headers, size_t header_count,
                      const void *body, size_t body_len, struct hub_http_response *out,
                      char *err, size_t err_size);

void hub_http_response_free(struct hub_http_response *r);

/* The error code of an Azure error body ("DeviceNotFound" from
 * {"Message":"ErrorCode:DeviceNotFound;..."}) and its text, into the buffers; "" when the
 * body is not one. */
void hub_admin_error_parse(const struct hub_http_response *r, char *code, size_t code_size,
                           char *text, size_t text_size);

#endif

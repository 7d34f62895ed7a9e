/* Service API requests for the tests: one HTTPS request through the admin client, its answer
 * parsed (JSON body, Azure error code). */
#ifndef AZK_TEST_SERVICE_TEST_UTIL_H
#define AZK_TEST_SERVICE_TEST_UTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "hub/admin/admin_client.h"

struct svc_resp {
    struct hub_http_response r;
    cJSON *j;       /* the body as JSON (NULL when empty or not JSON) */
    char code[128]; /* the error code of an error answer, else "" */
};

/* METHOD PATH with `body` (may be NULL) and headers `h`; fails the test when there is no
 * answer. Free with svc_resp_free(). */
void svc_test_request(const struct hub_admin_target *t, struct svc_resp *out, const char *method,
                      const char *path, const char *body, const struct hub_admin_header *h,
                      size_t nh);

/* svc_test_request() with `If-Match: "if_match"` unless if_match is NULL. */
void svc_test_request_if(const struct hub_admin_target *t, struct svc_resp *out,
                         const char *method, const char *path, const char *body,
                         const char *if_match);

void svc_resp_free(struct svc_resp *r);

/* The admin client's target for a running hub `h` (struct test_hub) on 127.0.0.1: its service
 * port and CA, the key of its connection string, the policy `skn`, and `hub_name` (NULL: the
 * connection string's HostName) as Host header, token resource and TLS name. */
struct test_hub;
void svc_test_target(const struct test_hub *h, const char *skn, const char *hub_name,
                     struct hub_admin_target *t);

/* Asserts that the answer `r` has `status` and, unless `code` is NULL, that error code; then
 * frees it. Failures name the caller's line. */
#define svc_test_check(r, status, code) svc_test_check_at((r), (status), (code), __FILE__, __LINE__)
void svc_test_check_at(struct svc_resp *r, int status, const char *code, const char *file,
                       int line);

#endif

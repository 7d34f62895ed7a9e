#include "service_test_util.h"

#include <stdio.h>
#include <string.h>

#include "azkit/common.h"
#include "hub/service/sas.h"
#include "hub_harness.h"
#include "support/test_util.h"

void svc_test_request(const struct hub_admin_target *t, struct svc_resp *out, const char *method,
                      const char *path, const char *body, const struct hub_admin_header *h,
                      size_t nh)
{
    char err[512];
    memset(out, 0, sizeof(*out));
    int rc = hub_admin_request(t, method, path, h, nh, body, body ? strlen(body) : 0, &out->r,
                               err, sizeof(err));
    if (rc != 0)
        fail_msg("%s %s: %s (%s)", method, path, azk_strerror(rc), err);
    out->j = out->r.body_len ? cJSON_ParseWithLength(out->r.body, out->r.body_len) : NULL;
    char text[512];
    hub_admin_error_parse(&out->r, out->code, sizeof(out->code), text, sizeof(text));
}

void svc_test_request_if(const struct hub_admin_target *t, struct svc_resp *out,
                         const char *method, const char *path, const char *body,
                         const char *if_match)
{
    char q[200];
    struct hub_admin_header h = {"If-Match", q};
    if (if_match)
        snprintf(q, sizeof(q), "\"%s\"", if_match);
    svc_test_request(t, out, method, path, body, &h, if_match ? 1 : 0);
}

void svc_resp_free(struct svc_resp *r)
{
    cJSON_Delete(r->j);
    hub_http_response_free(&r->r);
}

void svc_test_check_at(struct svc_resp *r, int status, const char *code, const char *file,
                       int line)
{
    _assert_int_equal(cast_to_largest_integral_type(r->r.status),
                      cast_to_largest_integral_type(status), file, line);
    if (code != NULL)
        _assert_string_equal(r->code, code, file, line);
    svc_resp_free(r);
}

void svc_test_target(const struct test_hub *h, const char *skn, const char *hub_name,
                     struct hub_admin_target *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->host, sizeof(t->host), "127.0.0.1");
    t->port = h->service_port;
    snprintf(t->ca_file, sizeof(t->ca_file), "%s", h->ca);
    struct hub_conn_string cs;
    assert_int_equal(hub_conn_string_parse(h->conn_str, &cs), 0);
    const char *name = hub_name ? hub_name : cs.host_name;
    snprintf(t->sr, sizeof(t->sr), "%s", name);
    snprintf(t->tls_name, sizeof(t->tls_name), "%s", name);
    snprintf(t->key, sizeof(t->key), "%s", cs.key);
    snprintf(t->skn, sizeof(t->skn), "%s", skn);
    t->timeout_s = 30;
}

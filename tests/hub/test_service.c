/* The HTTPS service API end to end: the real azkit-hub binary (serve on free ports), the
 * admin client over real TLS, every endpoint and its errors, SAS rejections, and the admin
 * CLI with --json. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "azkit/azure_hub.h"
#include "azkit/pki.h"
#include "hub/admin/admin_client.h"
#include "hub/service/sas.h"
#include "service_test_util.h"
#include "support/test_util.h"

#ifndef AZKIT_HUB_BIN
#error "AZKIT_HUB_BIN is needed (src/hub/main.c builds azkit-hub)"
#endif

static char g_dir[512], g_ready[600], g_data[600];
static pid_t g_pid;
static struct hub_admin_target g_t;

/* ---- fixture ------------------------------------------------------------------------------ */

static int start_hub(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    snprintf(g_ready, sizeof(g_ready), "%s/ready.json", g_dir);
    snprintf(g_data, sizeof(g_data), "%s/data", g_dir);
    char log[600];
    snprintf(log, sizeof(log), "%s/serve.log", g_dir);
    g_pid = fork();
    if (g_pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(AZKIT_HUB_BIN, "azkit-hub", "serve", "--data", g_data, "--mqtt-port", "0",
              "--service-port", "0", "--ready-file", g_ready, "--log-level", "debug", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && !azk_test_exists(g_ready); i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!azk_test_exists(g_ready)) {
        fprintf(stderr, "azkit-hub did not start; log:\n");
        char *l = azk_test_read(log, NULL);
        fprintf(stderr, "%s\n", l);
        free(l);
        return -1;
    }
    char *text = azk_test_read(g_ready, NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    memset(&g_t, 0, sizeof(g_t));
    snprintf(g_t.host, sizeof(g_t.host), "127.0.0.1");
    g_t.port = cJSON_GetObjectItem(j, "service_port")->valueint;
    snprintf(g_t.sr, sizeof(g_t.sr), "%s", cJSON_GetObjectItem(j, "hostname")->valuestring);
    snprintf(g_t.tls_name, sizeof(g_t.tls_name), "%s", g_t.sr);
    snprintf(g_t.ca_file, sizeof(g_t.ca_file), "%s", cJSON_GetObjectItem(j, "ca")->valuestring);
    struct hub_conn_string cs;
    if (hub_conn_string_parse(cJSON_GetObjectItem(j, "connection_string")->valuestring, &cs) != 0)
        return -1;
    snprintf(g_t.key, sizeof(g_t.key), "%s", cs.key);
    snprintf(g_t.skn, sizeof(g_t.skn), "%s", cs.key_name);
    g_t.timeout_s = 30;
    cJSON_Delete(j);
    return 0;
}

static int stop_hub(void **state)
{
    (void)state;
    int st = 0;
    if (g_pid > 0) {
        kill(g_pid, SIGTERM);
        waitpid(g_pid, &st, 0);
    }
    char log[600];
    snprintf(log, sizeof(log), "%s/serve.log", g_dir);
    char *l = azk_test_read(log, NULL);
    /* Signatures never reach the log (stdout holds the connection string by design). */
    int bad = 0;
    char *sig = strstr(l, "sig=");
    free(l);
    azk_test_rmrf(g_dir);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && !bad && sig == NULL ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void do_req_t(const struct hub_admin_target *t, struct svc_resp *out, const char *method,
                     const char *path, const char *body, const struct hub_admin_header *h,
                     size_t nh)
{
    svc_test_request(t, out, method, path, body, h, nh);
    if (out->r.body_len)
        assert_non_null(strstr(out->r.content_type, "application/json"));
}

static void do_req(struct svc_resp *out, const char *method, const char *path, const char *body,
                   const char *if_match)
{
    svc_test_request_if(&g_t, out, method, path, body, if_match);
    if (out->r.body_len)
        assert_non_null(strstr(out->r.content_type, "application/json"));
}

/* METHOD PATH (body and If-Match may be NULL) must answer `status`, and the error `code`
 * unless it is NULL. */
#define expect(method, path, body, if_match, status, code)                                      \
    do {                                                                                        \
        struct svc_resp expect_r_;                                                              \
        do_req(&expect_r_, method, path, body, if_match);                                       \
        svc_test_check(&expect_r_, status, code);                                               \
    } while (0)

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItem(o, a);
    if (b)
        v = cJSON_GetObjectItem(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define TP1 "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
#define TP1N "ABCDEF0123456789ABCDEF0123456789ABCDEF01"

/* ---- devices ------------------------------------------------------------------------------ */

static void test_devices(void **state)
{
    (void)state;
    struct svc_resp r;
    do_req(&r, "PUT", "/devices/dev1",
           "{\"deviceId\":\"dev1\",\"authentication\":{\"type\":\"selfSigned\","
           "\"x509Thumbprint\":{\"primaryThumbprint\":\"" TP1 "\",\"secondaryThumbprint\":null}}}",
           NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(r.r.etag, "MA==");
    assert_string_equal(str_at(r.j, "deviceId", NULL), "dev1");
    assert_string_equal(str_at(r.j, "etag", NULL), "MA==");
    assert_string_equal(str_at(r.j, "status", NULL), "enabled");
    assert_string_equal(str_at(r.j, "connectionState", NULL), "Disconnected");
    assert_string_equal(str_at(r.j, "lastActivityTime", NULL), "0001-01-01T00:00:00Z");
    const cJSON *a = cJSON_GetObjectItem(r.j, "authentication");
    assert_string_equal(str_at(a, "type", NULL), "selfSigned");
    assert_string_equal(str_at(a, "x509Thumbprint", "primaryThumbprint"), TP1N);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "symmetricKey"), "primaryKey")));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "capabilities"), "iotEdge")));
    svc_resp_free(&r);

    /* exists, no If-Match -> 409 */
    do_req(&r, "PUT", "/devices/dev1", "{\"deviceId\":\"dev1\",\"authentication\":{\"type\":\"certificateAuthority\"}}", NULL);
    assert_int_equal(r.r.status, 409);
    assert_string_equal(r.code, "DeviceAlreadyExists");
    assert_non_null(strstr(str_at(r.j, "ExceptionMessage", NULL), "Tracking ID:"));
    svc_resp_free(&r);
    /* wrong etag -> 412 */
    expect("PUT", "/devices/dev1", "{\"deviceId\":\"dev1\",\"status\":\"disabled\"}", "MQ==", 412, "PreconditionFailed");
    /* right etag -> update (auth kept when absent) */
    do_req(&r, "PUT", "/devices/dev1",
           "{\"deviceId\":\"dev1\",\"status\":\"disabled\",\"statusReason\":\"test\"}", "MA==");
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "status", NULL), "disabled");
    assert_string_equal(str_at(r.j, "statusReason", NULL), "test");
    assert_string_equal(str_at(r.j, "authentication", "type"), "selfSigned");
    assert_string_not_equal(r.r.etag, "MA==");
    svc_resp_free(&r);
    /* If-Match "*" */
    do_req(&r, "PUT", "/devices/dev1", "{\"deviceId\":\"dev1\",\"status\":\"enabled\"}", "*");
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "status", NULL), "enabled");
    svc_resp_free(&r);

    /* certificateAuthority; x509Thumbprint without type -> selfSigned */
    do_req(&r, "PUT", "/devices/dev2", "{\"deviceId\":\"dev2\",\"authentication\":{\"type\":\"certificateAuthority\"}}", NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "authentication", "type"), "certificateAuthority");
    svc_resp_free(&r);
    do_req(&r, "PUT", "/devices/dev3", "{\"authentication\":{\"x509Thumbprint\":{\"primaryThumbprint\":\"" TP1N "\"}}}", NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "authentication", "type"), "selfSigned");
    svc_resp_free(&r);

    /* bad input -> 400 */
    expect("PUT", "/devices/dev4", "{\"authentication\":{\"type\":\"selfSigned\",\"x509Thumbprint\":{\"primaryThumbprint\":\"XYZ\"}}}", NULL, 400, "ArgumentInvalid");
    expect("PUT", "/devices/dev4", "{not json", NULL, 400, NULL);
    expect("PUT", "/devices/dev4", "{\"deviceId\":\"other\"}", NULL, 400, NULL);
    expect("PUT", "/devices/dev4", "{\"status\":\"sleepy\"}", NULL, 400, NULL);

    /* ids with URL-special characters */
    const char *odd = "a%b#c?d+e";
    char enc[64], path[128], body[128];
    size_t n = 0;
    azk_pct_encode(azk_span_from_str(odd), enc, sizeof(enc), &n);
    enc[n] = '\0';
    snprintf(path, sizeof(path), "/devices/%s", enc);
    snprintf(body, sizeof(body), "{\"deviceId\":\"%s\",\"authentication\":{\"type\":\"certificateAuthority\"}}", odd);
    do_req(&r, "PUT", path, body, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "deviceId", NULL), odd);
    svc_resp_free(&r);
    do_req(&r, "GET", path, NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "deviceId", NULL), odd);
    svc_resp_free(&r);

    /* get / list / top */
    do_req(&r, "GET", "/devices/dev2", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(r.r.etag, "MA==");
    svc_resp_free(&r);
    expect("GET", "/devices/nope", NULL, NULL, 404, "DeviceNotFound");
    do_req(&r, "GET", "/devices?api-version=2021-04-12", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_true(cJSON_GetArraySize(r.j) >= 4);
    svc_resp_free(&r);
    do_req(&r, "GET", "/devices?top=2", NULL, NULL);
    assert_int_equal(cJSON_GetArraySize(r.j), 2);
    svc_resp_free(&r);

    /* delete: wrong etag 412, then 204, then 404 */
    expect("DELETE", "/devices/dev3", NULL, "bm9wZQ==", 412, NULL);
    do_req(&r, "DELETE", "/devices/dev3", NULL, "*");
    assert_int_equal(r.r.status, 204);
    assert_int_equal(r.r.body_len, 0);
    svc_resp_free(&r);
    expect("DELETE", "/devices/dev3", NULL, "*", 404, "DeviceNotFound");
    expect("GET", "/devices/dev3", NULL, NULL, 404, NULL);
    /* unknown endpoints */
    expect("GET", "/nothing/here", NULL, NULL, 404, NULL);
}

/* ---- device queries ----------------------------------------------------------------------- */

/* POST /devices/query with `query` (JSON-escaped by the caller), page size `max` (0: none) and
 * continuation `cont` (NULL: none). */
static void query(struct svc_resp *r, const char *q, int max, const char *cont)
{
    char body[1024], maxs[16];
    snprintf(body, sizeof(body), "{\"query\":\"%s\"}", q);
    snprintf(maxs, sizeof(maxs), "%d", max);
    struct hub_admin_header h[2];
    size_t nh = 0;
    if (max > 0)
        h[nh++] = (struct hub_admin_header){"x-ms-max-item-count", maxs};
    if (cont != NULL)
        h[nh++] = (struct hub_admin_header){"x-ms-continuation", cont};
    do_req_t(&g_t, r, "POST", "/devices/query?api-version=2021-04-12", body, h, nh);
}

/* The deviceId members of the rows of r, comma-separated. */
static void ids_of(const struct svc_resp *r, char *out, size_t size)
{
    out[0] = '\0';
    const cJSON *row;
    cJSON_ArrayForEach(row, r->j) {
        const char *id = str_at(row, "deviceId", NULL);
        snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? "," : "",
                 id ? id : "?");
    }
}

static void expect_rows(struct svc_resp *r, const char *want_json)
{
    assert_int_equal(r->r.status, 200);
    cJSON *want = cJSON_Parse(want_json);
    assert_non_null(want);
    if (!cJSON_Compare(r->j, want, 1))
        fail_msg("rows %s, expected %s", r->r.body, want_json);
    cJSON_Delete(want);
}

static void test_query(void **state)
{
    (void)state;
    struct svc_resp r;
    char path[64], body[256];
    for (int i = 1; i <= 5; i++) {
        snprintf(path, sizeof(path), "/devices/q-%d", i);
        expect("PUT", path, "{\"authentication\":{\"type\":\"certificateAuthority\"}}", NULL,
               200, NULL);
        snprintf(path, sizeof(path), "/twins/q-%d", i);
        snprintf(body, sizeof(body), "{\"tags\":{\"floor\":\"%s\",\"n\":%d},"
                 "\"properties\":{\"desired\":{\"mode\":\"m%d\"}}}", i % 2 ? "odd" : "even", i,
                 i % 3);
        expect("PATCH", path, body, NULL, 200, NULL);
    }

    /* SELECT * in pages of two: twins in id order, a continuation on all but the last. */
    const char *all = "SELECT * FROM devices WHERE STARTSWITH(deviceId, 'q-')";
    char ids[256], cont[512];
    query(&r, all, 2, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(r.r.item_type, "twin");
    ids_of(&r, ids, sizeof(ids));
    assert_string_equal(ids, "q-1,q-2");
    assert_string_equal(str_at(cJSON_GetArrayItem(r.j, 0), "tags", "floor"), "odd");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(r.j, 0), "properties"));
    assert_string_not_equal(r.r.continuation, "");
    snprintf(cont, sizeof(cont), "%s", r.r.continuation);
    svc_resp_free(&r);
    query(&r, all, 2, cont);
    ids_of(&r, ids, sizeof(ids));
    assert_string_equal(ids, "q-3,q-4");
    snprintf(cont, sizeof(cont), "%s", r.r.continuation);
    svc_resp_free(&r);
    /* A device removed between pages shifts nothing. */
    expect("DELETE", "/devices/q-4", NULL, "*", 204, NULL);
    query(&r, all, 2, cont);
    ids_of(&r, ids, sizeof(ids));
    assert_string_equal(ids, "q-5");
    assert_string_equal(r.r.continuation, "");
    svc_resp_free(&r);
    /* The same query without a page size: everything at once. */
    query(&r, all, 0, NULL);
    ids_of(&r, ids, sizeof(ids));
    assert_string_equal(ids, "q-1,q-2,q-3,q-5");
    assert_string_equal(r.r.continuation, "");
    svc_resp_free(&r);
    /* A page that ends exactly at the last match has no continuation. */
    query(&r, "SELECT * FROM devices WHERE tags.floor = 'odd'", 3, NULL);
    ids_of(&r, ids, sizeof(ids));
    assert_string_equal(ids, "q-1,q-3,q-5");
    assert_string_equal(r.r.continuation, "");
    svc_resp_free(&r);
    /* TOP across pages. */
    query(&r, "SELECT TOP 3 deviceId FROM devices WHERE STARTSWITH(deviceId, 'q-')", 2, NULL);
    expect_rows(&r, "[{\"deviceId\":\"q-1\"},{\"deviceId\":\"q-2\"}]");
    snprintf(cont, sizeof(cont), "%s", r.r.continuation);
    svc_resp_free(&r);
    query(&r, "SELECT TOP 3 deviceId FROM devices WHERE STARTSWITH(deviceId, 'q-')", 2, cont);
    expect_rows(&r, "[{\"deviceId\":\"q-3\"}]");
    assert_string_equal(r.r.continuation, "");
    svc_resp_free(&r);

    /* Projections ("raw"), missing members left out. */
    query(&r, "SELECT deviceId, tags.n, properties.desired.mode AS mode, tags.none FROM devices "
          "WHERE tags.n >= 3 AND NOT (properties.desired.mode = 'm1')", 0, NULL);
    assert_string_equal(r.r.item_type, "raw");
    expect_rows(&r, "[{\"deviceId\":\"q-3\",\"n\":3,\"mode\":\"m0\"},"
                    "{\"deviceId\":\"q-5\",\"n\":5,\"mode\":\"m2\"}]");
    svc_resp_free(&r);
    query(&r, "SELECT deviceId FROM devices WHERE properties.desired.mode IN ['m1', 'm2'] AND "
          "status = 'enabled' AND connectionState = 'Disconnected'", 0, NULL);
    expect_rows(&r, "[{\"deviceId\":\"q-1\"},{\"deviceId\":\"q-2\"},{\"deviceId\":\"q-5\"}]");
    svc_resp_free(&r);

    /* COUNT and GROUP BY, paged by rows. */
    query(&r, "SELECT COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'q-')", 0, NULL);
    assert_string_equal(r.r.item_type, "raw");
    expect_rows(&r, "[{\"n\":4}]");
    svc_resp_free(&r);
    const char *grouped = "SELECT tags.floor AS floor, COUNT() AS n FROM devices WHERE "
                          "IS_DEFINED(tags.floor) GROUP BY tags.floor";
    query(&r, grouped, 0, NULL);
    expect_rows(&r, "[{\"floor\":\"odd\",\"n\":3},{\"floor\":\"even\",\"n\":1}]");
    svc_resp_free(&r);
    query(&r, grouped, 1, NULL);
    expect_rows(&r, "[{\"floor\":\"odd\",\"n\":3}]");
    snprintf(cont, sizeof(cont), "%s", r.r.continuation);
    assert_string_not_equal(cont, "");
    svc_resp_free(&r);
    query(&r, grouped, 1, cont);
    expect_rows(&r, "[{\"floor\":\"even\",\"n\":1}]");
    assert_string_equal(r.r.continuation, "");
    svc_resp_free(&r);

    /* Bad queries: 400 with Azure's error body naming the problem. */
    query(&r, "SELECT * FROM devices WHERE deviceId = = 'x'", 0, NULL);
    assert_int_equal(r.r.status, 400);
    assert_string_equal(r.code, "BadRequest");
    assert_non_null(strstr(str_at(r.j, "Message", NULL),
                           "Invalid query: Syntax error: expected a value"));
    assert_non_null(strstr(str_at(r.j, "Message", NULL), "(at character 40)"));
    assert_non_null(strstr(str_at(r.j, "ExceptionMessage", NULL), "Tracking ID:"));
    svc_resp_free(&r);
    query(&r, "SELECT * FROM devices WHERE deviceId = 'unterminated", 0, NULL);
    svc_test_check(&r, 400, "BadRequest");
    query(&r, "SELECT * FROM devices.modules", 0, NULL);
    svc_test_check(&r, 400, "BadRequest");
    query(&r, "SELECT * FROM devices", 0, "not-a-token");
    svc_test_check(&r, 400, "ArgumentInvalid");
    struct hub_admin_header zero = {"x-ms-max-item-count", "0"};
    do_req_t(&g_t, &r, "POST", "/devices/query", "{\"query\":\"SELECT * FROM devices\"}", &zero,
             1);
    svc_test_check(&r, 400, "ArgumentInvalid");
    expect("POST", "/devices/query", "{\"sql\":\"SELECT * FROM devices\"}", NULL, 400,
           "ArgumentInvalid");
    expect("POST", "/devices/query", NULL, NULL, 400, "ArgumentInvalid");
    /* GET /devices/query is still the device named "query". */
    expect("GET", "/devices/query", NULL, NULL, 404, "DeviceNotFound");

    /* Service authorisation as on every route. */
    struct hub_admin_target t = g_t;
    snprintf(t.key, sizeof(t.key), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    do_req_t(&t, &r, "POST", "/devices/query", "{\"query\":\"SELECT * FROM devices\"}", NULL, 0);
    svc_test_check(&r, 401, "IotHubUnauthorizedAccess");
    t = g_t;
    t.authorization = "SharedAccessSignature sr=x&sig=y&se=1&skn=iothubowner";
    do_req_t(&t, &r, "POST", "/devices/query", "{\"query\":\"SELECT * FROM devices\"}", NULL, 0);
    svc_test_check(&r, 401, "IotHubUnauthorizedAccess");

    for (int i = 1; i <= 5; i++) {
        if (i == 4)
            continue;
        snprintf(path, sizeof(path), "/devices/q-%d", i);
        expect("DELETE", path, NULL, "*", 204, NULL);
    }
}

/* ---- twins -------------------------------------------------------------------------------- */

static void test_twins(void **state)
{
    (void)state;
    struct svc_resp r;
    expect("PUT", "/devices/tw1", "{\"authentication\":{\"type\":\"certificateAuthority\"}}", NULL, 200, NULL);
    do_req(&r, "GET", "/twins/tw1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", str_at(r.j, "etag", NULL));
    assert_string_equal(r.r.etag, etag);
    assert_string_equal(str_at(r.j, "deviceId", NULL), "tw1");
    assert_string_equal(str_at(r.j, "authenticationType", NULL), "certificateAuthority");
    const cJSON *des = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "desired");
    assert_int_equal(cJSON_GetObjectItem(des, "$version")->valueint, 1);
    assert_non_null(str_at(des, "$metadata", "$lastUpdated"));
    svc_resp_free(&r);

    expect("PATCH", "/twins/tw1", "{\"properties\":{\"desired\":{\"x\":1}}}", "AAAAAAAAAAA=", 412, "PreconditionFailed");
    do_req(&r, "PATCH", "/twins/tw1",
           "{\"tags\":{\"site\":\"lab\"},\"properties\":{\"desired\":{\"x\":1,\"y\":{\"z\":2}}}}",
           etag);
    assert_int_equal(r.r.status, 200);
    des = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "desired");
    assert_int_equal(cJSON_GetObjectItem(des, "x")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(des, "$version")->valueint, 2);
    assert_string_equal(str_at(r.j, "tags", "site"), "lab");
    assert_string_not_equal(r.r.etag, etag);
    svc_resp_free(&r);
    /* null deletes; "*" matches */
    do_req(&r, "PATCH", "/twins/tw1", "{\"properties\":{\"desired\":{\"x\":null,\"y\":{\"w\":3}}}}", "*");
    assert_int_equal(r.r.status, 200);
    des = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "desired");
    assert_null(cJSON_GetObjectItem(des, "x"));
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(des, "y"), "z")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(des, "y"), "w")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(des, "$version")->valueint, 3);
    svc_resp_free(&r);
    /* PUT replaces desired and tags */
    do_req(&r, "PUT", "/twins/tw1", "{\"tags\":{\"k\":1},\"properties\":{\"desired\":{\"only\":true}}}", "*");
    assert_int_equal(r.r.status, 200);
    des = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "desired");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(des, "only")));
    assert_null(cJSON_GetObjectItem(des, "y"));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "tags"), "site"));
    svc_resp_free(&r);
    /* errors */
    expect("PATCH", "/twins/tw1", "{\"properties\":{\"reported\":{\"a\":1}}}", "*", 400, NULL);
    expect("PATCH", "/twins/tw1", "{\"tags\":5}", "*", 400, NULL);
    expect("GET", "/twins/none", NULL, NULL, 404, "DeviceNotFound");
    expect("PATCH", "/twins/none", "{\"tags\":{}}", "*", 404, NULL);
}

/* ---- methods ------------------------------------------------------------------------------ */

static void test_methods(void **state)
{
    (void)state;
    struct svc_resp r;
    do_req(&r, "PUT", "/devices/m1", "{\"authentication\":{\"type\":\"certificateAuthority\"}}", NULL);
    svc_resp_free(&r);
    expect("POST", "/twins/m1/methods",
       "{\"methodName\":\"reboot\",\"responseTimeoutInSeconds\":30,\"connectTimeoutInSeconds\":0,\"payload\":{\"a\":1}}",
       NULL, 404, "DeviceNotOnline");
    expect("POST", "/twins/nodev/methods", "{\"methodName\":\"reboot\"}", NULL, 404, "DeviceNotFound");
    expect("POST", "/twins/m1/methods", "{\"payload\":1}", NULL, 400, NULL);
    expect("POST", "/twins/m1/methods", "{\"methodName\":\"x\",\"responseTimeoutInSeconds\":1000}", NULL, 400, NULL);
}

/* ---- CAs ---------------------------------------------------------------------------------- */

static void make_root(const char *prefix, const char *cn)
{
    struct azk_pki_request rq;
    struct azk_pki_result res;
    memset(&rq, 0, sizeof(rq));
    rq.kind = AZK_PKI_ROOT;
    rq.common_name = cn;
    rq.out_prefix = prefix;
    rq.force = true;
    assert_int_equal(azk_pki_create(&rq, &res, NULL), 0);
}

static char *make_verification(const char *root_prefix, const char *code, const char *out)
{
    char cert[700], key[700];
    snprintf(cert, sizeof(cert), "%s.cert.pem", root_prefix);
    snprintf(key, sizeof(key), "%s.key.pem", root_prefix);
    struct azk_pki_request rq;
    struct azk_pki_result res;
    memset(&rq, 0, sizeof(rq));
    rq.kind = AZK_PKI_VERIFICATION;
    rq.common_name = code;
    rq.issuer_cert = cert;
    rq.issuer_key = key;
    rq.out_prefix = out;
    rq.force = true;
    assert_int_equal(azk_pki_create(&rq, &res, NULL), 0);
    return azk_test_read(res.cert_path, NULL);
}

static char *cert_body(const char *pem)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "certificate", pem);
    char *s = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return s;
}

static void test_cas(void **state)
{
    (void)state;
    char root[600], other[600], vpath[600], cpath[700];
    snprintf(root, sizeof(root), "%s/root", g_dir);
    snprintf(other, sizeof(other), "%s/other", g_dir);
    snprintf(vpath, sizeof(vpath), "%s/verif", g_dir);
    make_root(root, "Hub Test Root");
    make_root(other, "Other Root");
    snprintf(cpath, sizeof(cpath), "%s.cert.pem", root);
    char *pem = azk_test_read(cpath, NULL);
    char *body = cert_body(pem);
    struct svc_resp r;
    do_req(&r, "PUT", "/azkit/certificates/root1", body, NULL);
    free(body);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "name", NULL), "root1");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "isVerified")));
    assert_string_equal(str_at(r.j, "properties", "subject"), "Hub Test Root");
    svc_resp_free(&r);

    /* not a CA -> 400; not PEM -> 400 */
    char *vjunk = make_verification(root, "JUNK", vpath);
    body = cert_body(vjunk);
    expect("PUT", "/azkit/certificates/leaf", body, NULL, 400, NULL);
    /* verify before a code exists -> 400 */
    expect("POST", "/azkit/certificates/root1/verify", body, NULL, 400, "CertificateVerificationFailed");
    free(body);
    free(vjunk);
    expect("PUT", "/azkit/certificates/junk", "{\"certificate\":\"hello\"}", NULL, 400, NULL);

    do_req(&r, "POST", "/azkit/certificates/root1/generateVerificationCode", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    char code[200];
    snprintf(code, sizeof(code), "%s", str_at(r.j, "properties", "verificationCode"));
    assert_true(strlen(code) >= 16);
    svc_resp_free(&r);

    /* wrong CN */
    char *v = make_verification(root, "NOTTHECODE", vpath);
    body = cert_body(v);
    expect("POST", "/azkit/certificates/root1/verify", body, NULL, 400, NULL);
    free(body);
    free(v);
    /* right CN, signed by another key */
    v = make_verification(other, code, vpath);
    body = cert_body(v);
    expect("POST", "/azkit/certificates/root1/verify", body, NULL, 400, "CertificateVerificationFailed");
    free(body);
    free(v);
    do_req(&r, "GET", "/azkit/certificates/root1", NULL, NULL);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "isVerified")));
    svc_resp_free(&r);
    /* the real proof of possession */
    v = make_verification(root, code, vpath);
    body = cert_body(v);
    do_req(&r, "POST", "/azkit/certificates/root1/verify", body, NULL);
    assert_int_equal(r.r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "isVerified")));
    svc_resp_free(&r);
    free(body);
    free(v);

    do_req(&r, "GET", "/azkit/certificates", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.j, "value")), 1);
    svc_resp_free(&r);
    do_req(&r, "PUT", "/azkit/certificates/root2", (body = cert_body(pem)), NULL);
    free(body);
    svc_resp_free(&r);
    expect("DELETE", "/azkit/certificates/root2", NULL, NULL, 204, NULL);
    expect("GET", "/azkit/certificates/root2", NULL, NULL, 404, "CertificateNotFound");
    expect("POST", "/azkit/certificates/none/generateVerificationCode", NULL, NULL, 404, NULL);
    free(pem);
}

/* ---- C2D, telemetry, faults --------------------------------------------------------------- */

static void test_c2d(void **state)
{
    (void)state;
    struct svc_resp r;
    expect("POST", "/azkit/devices/ghost/messages/devicebound", "hi", NULL, 404, "DeviceNotFound");
    do_req(&r, "PUT", "/devices/q1", "{\"authentication\":{\"type\":\"certificateAuthority\"}}", NULL);
    svc_resp_free(&r);
    struct hub_admin_header h[] = {{"iothub-app-color", "blue"}, {"iothub-messageid", "m-0"},
                                   {"Content-Type", "text/plain"}};
    do_req_t(&g_t, &r, "POST", "/azkit/devices/q1/messages/devicebound?size=big&ttl=60",
             "payload 0", h, 3);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(str_at(r.j, "messageId", NULL), "m-0");
    assert_non_null(str_at(r.j, "expiryTimeUtc", NULL));
    svc_resp_free(&r);
    for (int i = 1; i < 50; i++) {
        expect("POST", "/azkit/devices/q1/messages/devicebound", "payload", NULL, 200, NULL);
    }
    expect("POST", "/azkit/devices/q1/messages/devicebound", "one too many", NULL, 403, "DeviceMaximumQueueDepthExceeded");
    do_req(&r, "GET", "/devices/q1", NULL, NULL);
    assert_int_equal(cJSON_GetObjectItem(r.j, "cloudToDeviceMessageCount")->valueint, 50);
    svc_resp_free(&r);
    expect("POST", "/azkit/devices/q1/messages/devicebound?ttl=abc", "x", NULL, 400, NULL);
}

static void test_telemetry_and_faults(void **state)
{
    (void)state;
    struct svc_resp r;
    do_req(&r, "GET", "/azkit/telemetry", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.j, "records")), 0);
    assert_int_equal(cJSON_GetObjectItem(r.j, "lastSeq")->valueint, 0);
    svc_resp_free(&r);
    /* follow mode: nothing arrives, the hub answers when the wait expires */
    time_t t0 = time(NULL);
    do_req(&r, "GET", "/azkit/telemetry?after=0&device=dev1&max=10&wait=1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_true(time(NULL) - t0 >= 0 && time(NULL) - t0 < 10);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.j, "records")), 0);
    svc_resp_free(&r);
    expect("GET", "/azkit/telemetry?max=0", NULL, NULL, 400, NULL);
    expect("GET", "/azkit/telemetry?wait=999", NULL, NULL, 400, NULL);
    expect("POST", "/azkit/faults", "{\"refuseConnects\":2,\"connackCode\":5}", NULL, 200, NULL);
    expect("GET", "/azkit/faults", NULL, NULL, 200, NULL);
    expect("POST", "/azkit/faults", "{\"connackCode\":4}", NULL, 400, NULL);
    expect("POST", "/azkit/faults", "{\"dropDevice\":\"nobody\"}", NULL, 404, NULL);
    expect("DELETE", "/azkit/faults", NULL, NULL, 200, NULL);
}

/* ---- authorisation ------------------------------------------------------------------------ */

static void expect_401(const struct hub_admin_target *t)
{
    struct svc_resp r;
    do_req_t(t, &r, "GET", "/devices", NULL, NULL, 0);
    assert_int_equal(r.r.status, 401);
    assert_string_equal(r.code, "IotHubUnauthorizedAccess");
    svc_resp_free(&r);
}

static void test_auth(void **state)
{
    (void)state;
    struct hub_admin_target t = g_t;
    char tok[HUB_SAS_TOKEN_MAX];
    /* bad signature (another key) */
    snprintf(t.key, sizeof(t.key), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    expect_401(&t);
    /* expired se */
    t = g_t;
    hub_sas_create(g_t.key, g_t.sr, "iothubowner", (int64_t)time(NULL) - 10, tok, sizeof(tok));
    t.authorization = tok;
    expect_401(&t);
    /* wrong sr */
    t = g_t;
    snprintf(t.sr, sizeof(t.sr), "otherhub.azure-devices.net");
    expect_401(&t);
    /* unknown skn */
    t = g_t;
    snprintf(t.skn, sizeof(t.skn), "registryRead");
    expect_401(&t);
    /* no / garbage header */
    t = g_t;
    t.authorization = "Bearer nothing";
    expect_401(&t);
    /* accepted forms: sr with port, with /devices suffix (as the Node SDK and others send) */
    struct svc_resp r;
    t = g_t;
    char sr[300];
    snprintf(sr, sizeof(sr), "%s:%d", g_t.sr, g_t.port);
    hub_sas_create(g_t.key, sr, "iothubowner", (int64_t)time(NULL) + 60, tok, sizeof(tok));
    t.authorization = tok;
    do_req_t(&t, &r, "GET", "/devices", NULL, NULL, 0);
    assert_int_equal(r.r.status, 200);
    svc_resp_free(&r);
    /* the server certificate must verify against the hub's CA: a wrong CA file fails */
    t = g_t;
    char wrong[700];
    snprintf(wrong, sizeof(wrong), "%s/other.cert.pem", g_dir);
    snprintf(t.ca_file, sizeof(t.ca_file), "%s", wrong);
    char err[512];
    struct hub_http_response hr;
    if (azk_test_exists(wrong))
        assert_int_equal(hub_admin_request(&t, "GET", "/devices", NULL, 0, NULL, 0, &hr, err,
                                           sizeof(err)), -EPROTO);
}

/* ---- the admin CLI ------------------------------------------------------------------------ */

static cJSON *cli(int *status, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "'%s' --ready-file '%s' --json %s 2>/dev/null", AZKIT_HUB_BIN,
             g_ready, args);
    char *out = azk_test_shell(cmd, status);
    cJSON *j = cJSON_Parse(out);
    if (j == NULL)
        fail_msg("not JSON from `%s`: %s", args, out);
    free(out);
    return j;
}

/* `azkit-hub --json ARGS` must exit with `status` and, unless `code` is NULL, report that
 * error code. Failures name the caller's line. */
#define cli_expect(args, status, code) cli_expect_at((args), (status), (code), __FILE__, __LINE__)
static void cli_expect_at(const char *args, int status, const char *code, const char *file,
                          int line)
{
    int st;
    cJSON *j = cli(&st, args);
    _assert_int_equal(cast_to_largest_integral_type(st), cast_to_largest_integral_type(status),
                      file, line);
    if (code != NULL)
        _assert_string_equal(str_at(j, "error", "code"), code, file, line);
    cJSON_Delete(j);
}

static void test_cli(void **state)
{
    (void)state;
    int st;
    cJSON *j = cli(&st, "device add cli1 --thumbprint " TP1N);
    assert_int_equal(st, 0);
    assert_string_equal(str_at(cJSON_GetObjectItem(j, "device"), "deviceId", NULL), "cli1");
    cJSON_Delete(j);
    char cmd[1200];
    char ss[600];
    snprintf(ss, sizeof(ss), "%s/ss", g_dir);
    {
        struct azk_pki_request rq;
        struct azk_pki_result res;
        memset(&rq, 0, sizeof(rq));
        rq.kind = AZK_PKI_SELF_SIGNED;
        rq.common_name = "cli2";
        rq.out_prefix = ss;
        rq.force = true;
        assert_int_equal(azk_pki_create(&rq, &res, NULL), 0);
        snprintf(cmd, sizeof(cmd), "device add cli2 --cert '%s' --disabled", res.cert_path);
        j = cli(&st, cmd);
        assert_int_equal(st, 0);
        const cJSON *d = cJSON_GetObjectItem(j, "device");
        assert_string_equal(str_at(d, "status", NULL), "disabled");
        char *pem = azk_test_read(res.cert_path, NULL);
        cJSON_Delete(j);
        free(pem);
    }
    cli_expect("device add cli3 --ca-signed", 0, NULL);
    cli_expect("device add cli3 --ca-signed", 1, "DeviceAlreadyExists");
    j = cli(&st, "device list");
    assert_int_equal(st, 0);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")) >= 3);
    cJSON_Delete(j);
    j = cli(&st, "device enable cli2");
    assert_int_equal(st, 0);
    assert_string_equal(str_at(cJSON_GetObjectItem(j, "device"), "status", NULL), "enabled");
    cJSON_Delete(j);
    j = cli(&st, "device disable cli2");
    assert_string_equal(str_at(cJSON_GetObjectItem(j, "device"), "status", NULL), "disabled");
    cJSON_Delete(j);
    cli_expect("device show cli1", 0, NULL);
    j = cli(&st, "device delete cli1");
    assert_int_equal(st, 0);
    assert_string_equal(str_at(j, "deleted", NULL), "cli1");
    cJSON_Delete(j);
    j = cli(&st, "device show cli1");
    assert_int_equal(st, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "status")->valueint, 404);
    cJSON_Delete(j);
    cli_expect("device add x", 2, "usage");

    /* CA: add + whole proof of possession with the key */
    char root[600];
    snprintf(root, sizeof(root), "%s/cliroot", g_dir);
    make_root(root, "CLI Root");
    snprintf(cmd, sizeof(cmd), "ca add cliroot '%s.cert.pem'", root);
    cli_expect(cmd, 0, NULL);
    j = cli(&st, "ca code cliroot");
    assert_int_equal(st, 0);
    assert_non_null(str_at(j, "verificationCode", NULL));
    cJSON_Delete(j);
    snprintf(cmd, sizeof(cmd), "ca verify cliroot --ca-key '%s.key.pem'", root);
    j = cli(&st, cmd);
    assert_int_equal(st, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "certificate"), "properties"), "isVerified")));
    cJSON_Delete(j);
    j = cli(&st, "ca list");
    assert_int_equal(st, 0);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "certificates")) >= 1);
    cJSON_Delete(j);

    /* twin, method, c2d, telemetry */
    j = cli(&st, "twin set-desired cli3 '{\"fw\":\"1.2\"}'");
    assert_int_equal(st, 0);
    assert_string_equal(str_at(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "twin"), "properties"), "desired"), "fw", NULL), "1.2");
    cJSON_Delete(j);
    cli_expect("twin show cli3", 0, NULL);
    cli_expect("method invoke cli3 reboot --payload '{\"delay\":1}' --timeout 5", 1, "DeviceNotOnline");
    j = cli(&st, "c2d send cli3 hello --property color=red --property 'two words=x y' --ttl 60");
    assert_int_equal(st, 0);
    assert_non_null(str_at(j, "messageId", NULL));
    cJSON_Delete(j);
    cli_expect("c2d send nobody hello", 1, NULL);
    j = cli(&st, "telemetry --device cli3");
    assert_int_equal(st, 0);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "records")));
    cJSON_Delete(j);

    /* --help and usage errors */
    snprintf(cmd, sizeof(cmd), "'%s' device --help", AZKIT_HUB_BIN);
    char *out = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "device"));
    free(out);
    snprintf(cmd, sizeof(cmd), "'%s' frobnicate 2>/dev/null", AZKIT_HUB_BIN);
    out = azk_test_shell(cmd, &st);
    assert_int_equal(st, 2);
    free(out);
    /* found through --data (service.json written by serve) as well */
    snprintf(cmd, sizeof(cmd), "'%s' --data '%s' --json device list", AZKIT_HUB_BIN, g_data);
    out = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices),  cmocka_unit_test(test_twins),
        cmocka_unit_test(test_methods),  cmocka_unit_test(test_cas),
        cmocka_unit_test(test_c2d),      cmocka_unit_test(test_telemetry_and_faults),
        cmocka_unit_test(test_auth),     cmocka_unit_test(test_cli),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, start_hub, stop_hub);
}

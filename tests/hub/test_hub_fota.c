/* Firmware over the air, the hub's side, against a real azkit-hub over real TLS on loopback:
 * the image server (ranges, HEAD, ETag, If-Range, If-None-Match, 404, keep-alive), the download
 * faults as a client sees them, `azkit-hub fota upload|deploy|status|list` and their errors,
 * and a connected device that receives the desired `firmware` patch and reports its state. */
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "hub_harness.h"
#include "hub/service/sas.h"
#include "service_test_util.h"
#include "support/test_util.h"

#define IMG_SIZE 50000

static struct test_hub hub;
static char pki[512], cert[700], key[700], img_file[700], img_path[200], etag[80];
static unsigned char img[IMG_SIZE];

/* ---- a small HTTP/1.1 client over the harness's TLS connection -------------------------- */

struct resp {
    int status;
    char headers[4096];
    unsigned char *body;
    size_t body_len;       /* body bytes received */
    long content_length;   /* -1 when absent */
    bool closed;           /* the server closed before the whole body came */
};

static void conn_open(struct test_dev *d)
{
    assert_int_equal(test_dev_tls_at(d, &hub, hub.service_port, NULL, NULL, TLS1_2_VERSION, NULL), 0);
    struct timeval tv = {60, 0}; /* only so that a broken hub fails the test instead of hanging it */
    setsockopt(d->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void send_req(struct test_dev *d, const char *method, const char *path, const char *extra)
{
    char req[1024];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", method, path,
                     extra ? extra : "");
    assert_int_equal(SSL_write(d->ssl, req, n), n);
}

/* Reads into buf until `n` bytes are there; false on close. */
static bool read_some(struct test_dev *d, unsigned char *buf, size_t want, size_t *have)
{
    while (*have < want) {
        int r = SSL_read(d->ssl, buf + *have, (int)(want - *have));
        if (r <= 0)
            return false;
        *have += (size_t)r;
    }
    return true;
}

static const char *resp_header(const struct resp *r, const char *name)
{
    static char v[256];
    size_t nl = strlen(name);
    for (const char *p = strstr(r->headers, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *s = p + 3 + nl;
            while (*s == ' ')
                s++;
            size_t l = strcspn(s, "\r");
            snprintf(v, sizeof(v), "%.*s", (int)l, s);
            return v;
        }
    }
    return NULL;
}

/* The answer's head, then `body_max` bytes of its body at most (-1: all of Content-Length). */
static void read_resp(struct test_dev *d, struct resp *r, bool head, long body_max)
{
    memset(r, 0, sizeof(*r));
    size_t n = 0;
    while (n < sizeof(r->headers) - 1) {
        if (SSL_read(d->ssl, r->headers + n, 1) != 1)
            fail_msg("connection closed in the answer's head: %.*s", (int)n, r->headers);
        n++;
        if (n >= 4 && memcmp(r->headers + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    assert_int_equal(sscanf(r->headers, "HTTP/1.1 %d", &r->status), 1);
    const char *cl = resp_header(r, "Content-Length");
    r->content_length = cl ? atol(cl) : -1;
    if (head || r->status == 304)
        return;
    assert_true(r->content_length >= 0);
    size_t want = (size_t)r->content_length;
    if (body_max >= 0 && (size_t)body_max < want)
        want = (size_t)body_max;
    r->body = malloc(want + 1);
    r->closed = !read_some(d, r->body, want, &r->body_len);
}

static void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* One request on a fresh connection. */
static void get1(const char *method, const char *path, const char *extra, struct resp *r)
{
    struct test_dev d;
    conn_open(&d);
    send_req(&d, method, path, extra);
    read_resp(&d, r, strcmp(method, "HEAD") == 0, -1);
    test_dev_close(&d);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, "fw-1", EVP_sha256(), cert, key);
    test_hub_add_sas_device(&hub, "fw-2", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL, true);
    test_hub_add_sas_device(&hub, "other", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL, true);
    test_hub_start(&hub, NULL);
    for (size_t i = 0; i < IMG_SIZE; i++)
        img[i] = (unsigned char)((i * 7 + 13) % 251);
    snprintf(img_file, sizeof(img_file), "%s/app_update.bin", pki);
    azk_test_write(img_file, (const char *)img, IMG_SIZE);
    cJSON *j = test_hub_admin(&hub, 0, "fota", "upload", img_file, "--version", "2.0", NULL);
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(j, "image");
    char sha[65];
    azk_test_sha256_hex(img, IMG_SIZE, sha);
    for (char *c = sha; *c; c++)
        *c = (char)tolower((unsigned char)*c); /* fwSha256 and the ETag are lowercase */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(im, "sha256")->valuestring, sha);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(im, "size")->valueint, IMG_SIZE);
    const char *p = cJSON_GetObjectItemCaseSensitive(im, "path")->valuestring;
    assert_true(strncmp(p, "firmware/", 9) == 0);
    assert_non_null(strstr(p, "/app_update.bin"));
    snprintf(img_path, sizeof(img_path), "/%s", p);
    snprintf(etag, sizeof(etag), "\"%s\"", sha);
    cJSON_Delete(j);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, pki);
    return 0;
}

static void check_range(const struct resp *r, size_t first, size_t last)
{
    char want[80];
    assert_int_equal(r->status, 206);
    snprintf(want, sizeof(want), "bytes %zu-%zu/%d", first, last, IMG_SIZE);
    assert_string_equal(resp_header(r, "Content-Range"), want);
    assert_int_equal(r->content_length, (long)(last - first + 1));
    assert_int_equal(r->body_len, last - first + 1);
    assert_memory_equal(r->body, img + first, last - first + 1);
    assert_string_equal(resp_header(r, "ETag"), etag);
    assert_string_equal(resp_header(r, "Accept-Ranges"), "bytes");
}

/* ---- the image server --------------------------------------------------------------------- */

static void test_full_and_head(void **state)
{
    (void)state;
    struct resp r;
    get1("GET", img_path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, IMG_SIZE);
    assert_memory_equal(r.body, img, IMG_SIZE);
    assert_string_equal(resp_header(&r, "ETag"), etag);
    assert_null(resp_header(&r, "Content-Range"));
    resp_free(&r);
    get1("HEAD", img_path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.content_length, IMG_SIZE);
    assert_string_equal(resp_header(&r, "ETag"), etag);
    assert_string_equal(resp_header(&r, "Accept-Ranges"), "bytes");
    get1("HEAD", img_path, "Range: bytes=100-199\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.content_length, 100);
    assert_string_equal(resp_header(&r, "Content-Range"), "bytes 100-199/50000");
}

static void test_ranges_keepalive(void **state)
{
    (void)state;
    /* azure_fota's pattern: successive fragments on one kept-alive connection. */
    struct test_dev d;
    conn_open(&d);
    struct resp r;
    static const size_t ranges[][2] = {{0, 1799}, {1800, 3599}, {25000, 26799}, {49000, 49999}};
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        char h[80];
        snprintf(h, sizeof(h), "Range: bytes=%zu-%zu\r\n", ranges[i][0], ranges[i][1]);
        send_req(&d, "GET", img_path, h);
        read_resp(&d, &r, false, -1);
        check_range(&r, ranges[i][0], ranges[i][1]);
        resp_free(&r);
    }
    /* open-ended, a last position past the end (cut), a suffix */
    send_req(&d, "GET", img_path, "Range: bytes=48200-\r\n");
    read_resp(&d, &r, false, -1);
    check_range(&r, 48200, IMG_SIZE - 1);
    resp_free(&r);
    send_req(&d, "GET", img_path, "Range: bytes=49900-99999\r\n");
    read_resp(&d, &r, false, -1);
    check_range(&r, 49900, IMG_SIZE - 1);
    resp_free(&r);
    send_req(&d, "GET", img_path, "Range: bytes=-10\r\n");
    read_resp(&d, &r, false, -1);
    check_range(&r, IMG_SIZE - 10, IMG_SIZE - 1);
    resp_free(&r);
    /* unsatisfiable: 416 with the total, and the connection still serves */
    send_req(&d, "GET", img_path, "Range: bytes=50000-50100\r\n");
    read_resp(&d, &r, false, -1);
    assert_int_equal(r.status, 416);
    assert_string_equal(resp_header(&r, "Content-Range"), "bytes */50000");
    resp_free(&r);
    /* a malformed or multi-range Range is ignored: the whole image */
    send_req(&d, "GET", img_path, "Range: bytes=0-1,5-9\r\n");
    read_resp(&d, &r, false, -1);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, IMG_SIZE);
    resp_free(&r);
    send_req(&d, "GET", img_path, "Range: bytes=10-20\r\n");
    read_resp(&d, &r, false, -1);
    check_range(&r, 10, 20);
    resp_free(&r);
    test_dev_close(&d);
}

static void test_etag_conditions(void **state)
{
    (void)state;
    struct resp r;
    char h[200];
    snprintf(h, sizeof(h), "Range: bytes=100-199\r\nIf-Range: %s\r\n", etag);
    get1("GET", img_path, h, &r);
    check_range(&r, 100, 199);
    resp_free(&r);
    /* If-Range with another tag, or a date: the whole image */
    get1("GET", img_path, "Range: bytes=100-199\r\nIf-Range: \"0000\"\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, IMG_SIZE);
    resp_free(&r);
    get1("GET", img_path, "Range: bytes=100-199\r\nIf-Range: Wed, 21 Oct 2015 07:28:00 GMT\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    /* If-None-Match: 304 on a match (weak comparison), else the image */
    snprintf(h, sizeof(h), "If-None-Match: \"x\", W/%s\r\n", etag);
    get1("GET", img_path, h, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(resp_header(&r, "ETag"), etag);
    get1("GET", img_path, "If-None-Match: \"x\"\r\n", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_not_found(void **state)
{
    (void)state;
    struct resp r;
    char path[300];
    snprintf(path, sizeof(path), "%s", img_path);
    path[12] = path[12] == 'a' ? 'b' : 'a'; /* another token */
    get1("GET", path, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    snprintf(path, sizeof(path), "%.*s/other.bin", (int)(strrchr(img_path, '/') - img_path), img_path);
    get1("GET", path, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    get1("HEAD", "/firmware/", NULL, &r);
    assert_int_equal(r.status, 404);
    get1("HEAD", "/devices", NULL, &r); /* HEAD is for images only */
    assert_int_equal(r.status, 405);
}

/* ---- faults ------------------------------------------------------------------------------- */

static long fault_num(const char *name)
{
    cJSON *j = test_hub_admin(&hub, 0, "fota", "fault", "show", NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

static void test_fault_drop(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "drop-after", "3000", NULL));
    struct resp r;
    get1("GET", img_path, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.content_length, IMG_SIZE);
    assert_true(r.closed);
    assert_int_equal(r.body_len, 3000);
    assert_memory_equal(r.body, img, 3000);
    resp_free(&r);
    assert_int_equal(fault_num("dropped"), 1);
    assert_int_equal(fault_num("dropAfterBytes"), -1); /* once: gone */
    get1("GET", img_path, "Range: bytes=0-9999\r\n", &r);
    check_range(&r, 0, 9999);
    resp_free(&r);
    /* every time: each answer is cut after N bytes of its body, until cleared */
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "drop-after", "1000", "--every-time", NULL));
    for (int i = 0; i < 2; i++) {
        get1("GET", img_path, "Range: bytes=5000-9999\r\n", &r);
        assert_int_equal(r.status, 206);
        assert_true(r.closed);
        assert_int_equal(r.body_len, 1000);
        assert_memory_equal(r.body, img + 5000, 1000);
        resp_free(&r);
    }
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "clear", "drop", NULL));
    get1("GET", img_path, "Range: bytes=5000-9999\r\n", &r);
    check_range(&r, 5000, 9999);
    resp_free(&r);
}

static void test_fault_corrupt(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "corrupt-at", "2000", NULL));
    struct resp r;
    get1("GET", img_path, "Range: bytes=1800-3599\r\n", &r);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.body_len, 1800);
    assert_memory_equal(r.body, img + 1800, 200);
    assert_int_equal(r.body[200], img[2000] ^ 0xff);
    assert_memory_equal(r.body + 201, img + 2001, 1599);
    resp_free(&r);
    get1("GET", img_path, "Range: bytes=0-1799\r\n", &r); /* not covering it: intact */
    check_range(&r, 0, 1799);
    resp_free(&r);
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "clear", "corrupt", NULL));
    get1("GET", img_path, "Range: bytes=1800-3599\r\n", &r);
    check_range(&r, 1800, 3599);
    resp_free(&r);
}

static void test_fault_stall(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "stall-after", "4000", "--seconds", "100",
                                NULL));
    struct test_dev d;
    conn_open(&d);
    send_req(&d, "GET", img_path, NULL);
    struct resp r;
    read_resp(&d, &r, false, 4000); /* the first 4000 bytes arrive */
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 4000);
    assert_false(r.closed);
    /* The hub says it holds this answer, and nothing more is on the way: no byte waits. */
    assert_int_equal(fault_num("stalledNow"), 1);
    struct pollfd p = {d.fd, POLLIN, 0};
    assert_int_equal(SSL_pending(d.ssl), 0);
    assert_int_equal(poll(&p, 1, 0), 0);
    /* Clearing the stall resumes it: the rest of the image, intact. */
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "clear", "stall", NULL));
    unsigned char *all = realloc(r.body, IMG_SIZE);
    size_t have = 4000;
    assert_true(read_some(&d, all, IMG_SIZE, &have));
    assert_memory_equal(all, img, IMG_SIZE);
    free(all);
    assert_int_equal(fault_num("stalledNow"), 0);
    /* the connection goes on */
    send_req(&d, "GET", img_path, "Range: bytes=0-99\r\n");
    read_resp(&d, &r, false, -1);
    check_range(&r, 0, 99);
    resp_free(&r);
    test_dev_close(&d);
}

static void test_fault_bad_input(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "fault", "stall-after", "10", "--seconds", "0", NULL));
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "fault", "drop-after", "x", NULL));
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "fault", "drop-after", "0", NULL));
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "fault", "clear", "everything", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "clear", NULL));
    assert_int_equal(fault_num("dropped"), 0);
}

/* ---- commands ----------------------------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *path)
{
    char buf[200];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *s = strtok(buf, "."); s != NULL && o != NULL; s = strtok(NULL, "."))
        o = cJSON_GetObjectItemCaseSensitive(o, s);
    return o;
}

static const char *error_code(const cJSON *j)
{
    const cJSON *c = member(j, "error.code");
    return cJSON_IsString(c) ? c->valuestring : "";
}

static void test_deploy_device_and_status(void **state)
{
    (void)state;
    struct test_dev d;
    assert_int_equal(test_dev_open(&d, &hub, "fw-1", cert, key, TLS1_2_VERSION), 0);
    const char *f[] = {"$iothub/twin/PATCH/properties/desired/#", "$iothub/twin/res/#"};
    test_dev_subscribe(&d, 1, f, 2, 1);
    assert_int_equal(test_dev_read(&d, 10000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_SUBACK);

    cJSON *j = test_hub_admin(&hub, 0, "fota", "deploy", "--device", "fw-1", "--version", "2.0",
                              NULL);
    const cJSON *fw = member(j, "deployment.firmware");
    const char *job = member(fw, "jobId")->valuestring;
    assert_int_equal(strlen(job), 36);
    assert_int_equal(job[14], '4'); /* a version 4 UUID */
    char host[64];
    snprintf(host, sizeof(host), "localhost:%d", hub.service_port);
    assert_string_equal(member(fw, "fwLocation.host")->valuestring, host);
    assert_string_equal(member(fw, "fwLocation.path")->valuestring, img_path + 1);
    assert_int_equal(member(fw, "fwFragmentSize")->valueint, 1800);
    assert_int_equal(member(fw, "fwSize")->valueint, IMG_SIZE);
    assert_string_equal(member(fw, "fwVersion")->valuestring, "2.0");

    /* the device receives the desired patch */
    assert_int_equal(test_dev_read(&d, 10000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBLISH);
    char *payload = strndup((const char *)d.pkt.u.publish.payload.ptr, d.pkt.u.publish.payload.len);
    cJSON *patch = cJSON_Parse(payload);
    free(payload);
    assert_string_equal(member(patch, "firmware.jobId")->valuestring, job);
    assert_memory_equal(member(patch, "firmware.fwSha256")->valuestring, etag + 1, 64);
    assert_string_equal(member(patch, "firmware.fwLocation.path")->valuestring, img_path + 1);
    cJSON_Delete(patch);

    /* the service twin API shows it */
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "fw-1", NULL);
    const cJSON *dfw = member(tw, "twin.properties.desired.firmware");
    if (dfw == NULL)
        dfw = member(tw, "properties.desired.firmware");
    assert_non_null(dfw);
    assert_string_equal(member(dfw, "jobId")->valuestring, job);
    cJSON_Delete(tw);

    /* the device reports; status shows it */
    char rep[300];
    snprintf(rep, sizeof(rep), "{\"firmware\":{\"fwUpdateStatus\":\"downloading\","
             "\"currentFwVersion\":\"1.0\",\"pendingFwVersion\":\"2.0\",\"jobId\":\"%s\"}}", job);
    test_dev_publish(&d, "$iothub/twin/PATCH/properties/reported/?$rid=7", rep, 0, 0);
    assert_int_equal(test_dev_read(&d, 10000), 1);
    char topic[128];
    snprintf(topic, sizeof(topic), "%.*s", (int)d.pkt.u.publish.topic.len, (const char *)d.pkt.u.publish.topic.ptr);
    assert_non_null(strstr(topic, "res/204"));
    cJSON *st = test_hub_admin(&hub, 0, "fota", "status", NULL);
    const cJSON *o, *mine = NULL;
    cJSON_ArrayForEach(o, member(st, "devices"))
        if (strcmp(member(o, "deviceId")->valuestring, "fw-1") == 0)
            mine = o;
    assert_non_null(mine);
    assert_string_equal(member(mine, "fwUpdateStatus")->valuestring, "downloading");
    assert_string_equal(member(mine, "currentFwVersion")->valuestring, "1.0");
    assert_string_equal(member(mine, "pendingFwVersion")->valuestring, "2.0");
    assert_string_equal(member(mine, "jobId")->valuestring, job);
    assert_string_equal(member(mine, "desiredFwVersion")->valuestring, "2.0");
    cJSON_Delete(st);

    /* a new deploy is a new job */
    cJSON *j2 = test_hub_admin(&hub, 0, "fota", "deploy", "--device", "fw-1", "--version", "2.0",
                               "--fragment-size", "1024", NULL);
    assert_string_not_equal(member(j2, "deployment.jobId")->valuestring, job);
    assert_int_equal(member(j2, "deployment.firmware.fwFragmentSize")->valueint, 1024);
    cJSON_Delete(j2);
    cJSON_Delete(j);
    test_dev_close(&d);
}

static void test_deploy_query(void **state)
{
    (void)state;
    cJSON *j = test_hub_admin(&hub, 0, "fota", "deploy", "--query",
                              "STARTSWITH(deviceId, 'fw-')", "--version", "2.0", NULL);
    const cJSON *devs = member(j, "deployment.devices");
    assert_int_equal(cJSON_GetArraySize(devs), 2);
    const char *job = member(j, "deployment.jobId")->valuestring;
    const char *ids[] = {"fw-1", "fw-2"};
    for (int i = 0; i < 2; i++) {
        cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", ids[i], NULL);
        const cJSON *dfw = member(tw, "twin.properties.desired.firmware");
        if (dfw == NULL)
            dfw = member(tw, "properties.desired.firmware");
        assert_string_equal(member(dfw, "jobId")->valuestring, job);
        cJSON_Delete(tw);
    }
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "other", NULL);
    assert_null(member(tw, "twin.properties.desired.firmware"));
    assert_null(member(tw, "properties.desired.firmware"));
    cJSON_Delete(tw);
    cJSON_Delete(j);
    /* a whole SELECT works too */
    j = test_hub_admin(&hub, 0, "fota", "deploy", "--query",
                       "SELECT * FROM devices WHERE deviceId = 'other'", "--version", "2.0", NULL);
    assert_int_equal(cJSON_GetArraySize(member(j, "deployment.devices")), 1);
    cJSON_Delete(j);
}

static void test_list_and_bad_inputs(void **state)
{
    (void)state;
    cJSON *j = test_hub_admin(&hub, 0, "fota", "list", NULL);
    assert_int_equal(cJSON_GetArraySize(member(j, "images")), 1);
    cJSON_Delete(j);
    char missing[700];
    snprintf(missing, sizeof(missing), "%s/none.bin", pki);
    j = test_hub_admin(&hub, 1, "fota", "upload", missing, "--version", "3.0", NULL);
    assert_non_null(j);
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 1, "fota", "upload", img_file, "--version", "2.0", NULL);
    assert_string_equal(error_code(j), "FirmwareVersionExists");
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 1, "fota", "upload", img_file, "--version", "bad version", NULL);
    assert_string_equal(error_code(j), "ArgumentInvalid");
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 1, "fota", "deploy", "--device", "fw-1", "--version", "9.9", NULL);
    assert_string_equal(error_code(j), "FirmwareNotFound");
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 1, "fota", "deploy", "--device", "nobody", "--version", "2.0", NULL);
    assert_string_equal(error_code(j), "DeviceNotFound");
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 1, "fota", "deploy", "--query", "deviceId = = 'x'", "--version", "2.0", NULL);
    assert_string_equal(error_code(j), "BadRequest");
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 1, "fota", "deploy", "--query", "deviceId = 'nobody'", "--version", "2.0", NULL);
    assert_string_equal(error_code(j), "DeviceNotFound");
    cJSON_Delete(j);
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "deploy", "--device", "fw-1", "--version", "2.0",
                                "--fragment-size", "0", NULL));
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "deploy", "--device", "fw-1", "--version", "2.0",
                                "--fragment-size", "5000", NULL));
    cJSON_Delete(test_hub_admin(&hub, 2, "fota", "deploy", "--version", "2.0", NULL));
    /* nothing was lost: still one image, served */
    j = test_hub_admin(&hub, 0, "fota", "list", NULL);
    assert_int_equal(cJSON_GetArraySize(member(j, "images")), 1);
    cJSON_Delete(j);
}

/* The service API's own checks of what the commands cannot send wrong. */
static void test_api_bad_inputs(void **state)
{
    (void)state;
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, NULL, &t);
    struct hub_admin_header oct = {"Content-Type", "application/octet-stream"};
    struct svc_resp r;
    svc_test_request(&t, &r, "PUT", "/azkit/fota/images/3.0/content?offset=0", "abcdef", &oct, 1);
    svc_test_check(&r, 204, NULL);
    svc_test_request(&t, &r, "PUT", "/azkit/fota/images/3.0/content?offset=100", "gh", &oct, 1);
    svc_test_check(&r, 400, "ArgumentInvalid"); /* not where the upload ends */
    svc_test_request(&t, &r, "PUT", "/azkit/fota/images/3.0/content", "gh", &oct, 1);
    svc_test_check(&r, 400, "ArgumentInvalid"); /* no offset */
    svc_test_request(&t, &r, "POST", "/azkit/fota/images/3.0", "{\"file\":\"a.bin\",\"size\":7}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid"); /* 6 bytes were sent */
    svc_test_request(&t, &r, "POST", "/azkit/fota/images/3.0",
                     "{\"file\":\"a.bin\",\"size\":6,\"sha256\":\"00\"}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid"); /* another digest */
    svc_test_request(&t, &r, "POST", "/azkit/fota/images/3.0", "{\"file\":\"../x\",\"size\":6}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid");
    svc_test_request(&t, &r, "POST", "/azkit/fota/images/4.0", "{\"file\":\"a.bin\",\"size\":0}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid"); /* nothing uploaded */
    svc_test_request(&t, &r, "POST", "/azkit/fota/faults", "{\"dropAfterBytes\":-1}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid");
    svc_test_request(&t, &r, "POST", "/azkit/fota/faults", "{\"stallAfterBytes\":5}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid"); /* no stallSeconds */
    svc_test_request(&t, &r, "POST", "/azkit/fota/deployments",
                     "{\"version\":\"2.0\",\"deviceId\":\"fw-1\",\"fragmentSize\":1.5}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid");
    svc_test_request(&t, &r, "POST", "/azkit/fota/deployments",
                     "{\"version\":\"2.0\",\"deviceId\":\"fw-1\",\"query\":\"true\"}", NULL, 0);
    svc_test_check(&r, 400, "ArgumentInvalid");
    /* a token is required here, as on every service call */
    t.authorization = "SharedAccessSignature sr=x&sig=y&se=1&skn=iothubowner";
    svc_test_request(&t, &r, "GET", "/azkit/fota/images", NULL, NULL, 0);
    svc_test_check(&r, 401, NULL);
    /* the finished upload works after the failed attempts */
    svc_test_target(&hub, HUB_SAS_POLICY_HUB, NULL, &t);
    svc_test_request(&t, &r, "POST", "/azkit/fota/images/3.0", "{\"file\":\"a.bin\",\"size\":6}", NULL, 0);
    svc_test_check(&r, 201, NULL);
}

static void test_client_goes_away(void **state)
{
    (void)state;
    /* A client that closes mid-body: the hub frees the answer and serves on. */
    struct test_dev d;
    conn_open(&d);
    send_req(&d, "GET", img_path, NULL);
    struct resp r;
    read_resp(&d, &r, false, 100);
    assert_int_equal(r.body_len, 100);
    resp_free(&r);
    test_dev_close(&d);
    get1("GET", img_path, "Range: bytes=0-99\r\n", &r);
    check_range(&r, 0, 99);
    resp_free(&r);
}

static void test_restart_keeps_images(void **state)
{
    (void)state;
    /* The hub stops cleanly (checked, under the sanitizers too) with an answer held by a
     * stall; the images and their URLs survive the restart, the faults do not. */
    cJSON_Delete(test_hub_admin(&hub, 0, "fota", "fault", "stall-after", "1000", "--seconds", "100",
                                NULL));
    struct test_dev d;
    conn_open(&d);
    send_req(&d, "GET", img_path, NULL);
    struct resp held;
    read_resp(&d, &held, false, 1000);
    assert_int_equal(held.body_len, 1000);
    assert_int_equal(fault_num("stalledNow"), 1);
    test_hub_stop(&hub);
    resp_free(&held);
    test_dev_close(&d);
    test_hub_restart(&hub, NULL);
    struct resp r;
    get1("GET", img_path, "Range: bytes=0-1799\r\n", &r);
    check_range(&r, 0, 1799);
    resp_free(&r);
    cJSON *j = test_hub_admin(&hub, 0, "fota", "list", NULL);
    assert_string_equal(member(cJSON_GetArrayItem(member(j, "images"), 0), "version")->valuestring, "2.0");
    cJSON_Delete(j);
    assert_int_equal(fault_num("stallAfterBytes"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_and_head),
        cmocka_unit_test(test_ranges_keepalive),
        cmocka_unit_test(test_etag_conditions),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_fault_drop),
        cmocka_unit_test(test_fault_corrupt),
        cmocka_unit_test(test_fault_stall),
        cmocka_unit_test(test_fault_bad_input),
        cmocka_unit_test(test_deploy_device_and_status),
        cmocka_unit_test(test_deploy_query),
        cmocka_unit_test(test_list_and_bad_inputs),
        cmocka_unit_test(test_api_bad_inputs),
        cmocka_unit_test(test_client_goes_away),
        cmocka_unit_test(test_restart_keeps_images),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

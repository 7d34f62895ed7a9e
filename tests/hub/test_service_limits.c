/* The service API's connection limits against the real azkit-hub: a client trickling its
 * request in is cut at the deadline, connections over the cap are closed at once while the hub
 * stays responsive, and telemetry follow mode (reads on the reader thread) still wakes up on a
 * commit. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cjson/cJSON.h>

#include "hub/admin/admin_client.h"
#include "hub/service/sas.h"
#include "hub_harness.h"
#include "service_test_util.h"
#include "support/test_util.h"

#define CONN_CAP 256       /* SVC_MAX_CONNS in src/hub/service/service.c */
#define DEADLINE_S 15      /* SVC_REQUEST_DEADLINE_S */

static struct test_hub hub;
static char pki[512], cert[700], key[700];
static struct hub_admin_target tgt;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, "lim-1", EVP_sha256(), cert, key);
    test_hub_start(&hub, NULL);

    memset(&tgt, 0, sizeof(tgt));
    struct hub_conn_string cs;
    if (hub_conn_string_parse(hub.conn_str, &cs) != 0)
        return -1;
    snprintf(tgt.host, sizeof(tgt.host), "127.0.0.1");
    tgt.port = hub.service_port;
    snprintf(tgt.sr, sizeof(tgt.sr), "%s", cs.host_name);
    snprintf(tgt.tls_name, sizeof(tgt.tls_name), "%s", cs.host_name);
    snprintf(tgt.ca_file, sizeof(tgt.ca_file), "%s", hub.ca);
    snprintf(tgt.key, sizeof(tgt.key), "%s", cs.key);
    snprintf(tgt.skn, sizeof(tgt.skn), "%s", cs.key_name);
    tgt.timeout_s = 30;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, pki);
    return 0;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Whether the peer closed `fd` within timeout_ms (EOF or reset; data does not count). */
static bool closed_within(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    double end = now_s() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((end - now_s()) * 1000);
        if (left < 0)
            left = 0;
        if (poll(&p, 1, left) <= 0)
            return false;
        char b[256];
        ssize_t n = recv(fd, b, sizeof(b), 0);
        if (n <= 0)
            return true;
    }
}

/* One quick authorised request; true when the hub answered 200. */
static bool hub_answers(void)
{
    struct hub_http_response r;
    char err[256] = "";
    memset(&r, 0, sizeof(r));
    int rc = hub_admin_request(&tgt, "GET", "/azkit/telemetry?max=1", NULL, 0, NULL, 0, &r, err,
                               sizeof(err));
    bool ok = rc == 0 && r.status == 200;
    hub_http_response_free(&r);
    return ok;
}

/* A TLS client that completes the handshake, then sends "GET /devices?x=..." one byte a
 * second: cut at the deadline, not kept by evhttp's idle timeout. */
static void test_slow_client_cut_at_deadline(void **state)
{
    (void)state;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    double t0 = now_s();
    int fd = tcp_connect(hub.service_port);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    const char *line = "GET /devices?padding=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaa HTTP/1.1\r\n";
    bool cut = false;
    double cut_at = 0;
    for (size_t i = 0; line[i] != '\0' && now_s() - t0 < DEADLINE_S + 10; i++) {
        if (SSL_write(ssl, &line[i], 1) != 1) {
            cut = true;
            cut_at = now_s();
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) > 0) {
            char b[64];
            if (SSL_read(ssl, b, sizeof(b)) <= 0) {
                cut = true;
                cut_at = now_s();
                break;
            }
        }
    }
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    assert_true(cut);
    double after = cut_at - t0;
    fprintf(stderr, "slow client cut after %.1f s\n", after);
    assert_true(after >= DEADLINE_S - 1);
    assert_true(after <= DEADLINE_S + 5);
    assert_true(test_hub_log_contains(&hub, "no complete request in time"));
    assert_true(hub_answers());
}

/* CONN_CAP idle connections fill the service; the next one is closed at once; once they are
 * gone the hub answers again. */
static void test_connection_cap(void **state)
{
    (void)state;
    static int fds[CONN_CAP];
    double t0 = now_s();
    for (int i = 0; i < CONN_CAP; i++)
        fds[i] = tcp_connect(hub.service_port);
    /* The hub accepts in order: once one more connection is refused, all CONN_CAP are in. */
    int extra = tcp_connect(hub.service_port);
    assert_true(closed_within(extra, 3000));
    close(extra);
    assert_true(now_s() - t0 < DEADLINE_S - 2); /* refused by the cap, not the deadline */
    assert_true(test_hub_log_contains(&hub, "connections already open"));
    /* The held connections are still open (not cut by the refusal). */
    assert_false(closed_within(fds[0], 100));
    assert_false(closed_within(fds[CONN_CAP - 1], 100));
    for (int i = 0; i < CONN_CAP; i++)
        close(fds[i]);
    bool ok = false;
    for (int i = 0; i < 20 && !ok; i++) {
        sleep_ms(i == 0 ? 300 : 250);
        ok = hub_answers();
    }
    assert_true(ok);
}

/* A GET /azkit/telemetry?wait=10 held while a device sends telemetry answers at the commit. */
struct follow {
    pthread_t t;
    char path[128];
    struct svc_resp resp;
    double took;
};

static void *follow_run(void *arg)
{
    struct follow *f = arg;
    double t0 = now_s();
    svc_test_request(&tgt, &f->resp, "GET", f->path, NULL, NULL, 0);
    f->took = now_s() - t0;
    return NULL;
}

static void test_follow_wakes_on_commit(void **state)
{
    (void)state;
    struct svc_resp r;
    svc_test_request(&tgt, &r, "GET", "/azkit/telemetry", NULL, NULL, 0);
    assert_int_equal(r.r.status, 200);
    uint64_t last = (uint64_t)cJSON_GetObjectItem(r.j, "hubLastSeq")->valuedouble;
    svc_resp_free(&r);

    struct follow f;
    memset(&f, 0, sizeof(f));
    snprintf(f.path, sizeof(f.path), "/azkit/telemetry?after=%llu&device=lim-1&wait=10",
             (unsigned long long)last);
    pthread_create(&f.t, NULL, follow_run, &f);
    sleep_ms(1000); /* the request is held by now */

    struct test_dev d;
    assert_int_equal(test_dev_open(&d, &hub, "lim-1", cert, key, TLS1_2_VERSION), 0);
    test_dev_publish(&d, "devices/lim-1/messages/events/", "{\"follow\":1}", 1, 7);
    assert_int_equal(test_dev_read(&d, 5000), 1);
    assert_int_equal(d.pkt.type, AZK_MQTT_PUBACK);
    pthread_join(f.t, NULL);
    test_dev_close(&d);

    fprintf(stderr, "follow answered after %.2f s\n", f.took);
    assert_int_equal(f.resp.r.status, 200);
    assert_true(f.took < 5.0);
    cJSON *recs = cJSON_GetObjectItem(f.resp.j, "records");
    assert_int_equal(cJSON_GetArraySize(recs), 1);
    cJSON *rec = cJSON_GetArrayItem(recs, 0);
    assert_string_equal(cJSON_GetObjectItem(rec, "deviceId")->valuestring, "lim-1");
    assert_string_equal(cJSON_GetObjectItem(rec, "payload")->valuestring, "{\"follow\":1}");
    assert_true((uint64_t)cJSON_GetObjectItem(f.resp.j, "lastSeq")->valuedouble > last);
    svc_resp_free(&f.resp);

    /* Nothing new: the wait runs out and answers an empty page. */
    double t0 = now_s();
    svc_test_request(&tgt, &r, "GET", "/azkit/telemetry?after=999999&wait=1", NULL, NULL, 0);
    assert_int_equal(r.r.status, 200);
    assert_true(now_s() - t0 >= 0.9);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.j, "records")), 0);
    svc_resp_free(&r);
}

/* A held request whose client goes away, and one still held when the hub stops: the hub
 * neither crashes nor leaks (the ASan build checks the latter at exit). */
static void test_follow_client_gone(void **state)
{
    (void)state;
    struct hub_admin_target t = tgt;
    t.timeout_s = 1; /* the client gives up after 1 s; the hub holds it for 3 */
    struct hub_http_response r;
    char err[256];
    memset(&r, 0, sizeof(r));
    int rc = hub_admin_request(&t, "GET", "/azkit/telemetry?after=999999&wait=3", NULL, 0, NULL,
                               0, &r, err, sizeof(err));
    hub_http_response_free(&r);
    assert_true(rc != 0);
    sleep_ms(2500);
    assert_true(hub_answers());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_wakes_on_commit),
        cmocka_unit_test(test_follow_client_gone),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_slow_client_cut_at_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

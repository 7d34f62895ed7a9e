/*
 * The POSIX driver (azkit/client_posix.h) against a server that misbehaves at the TCP level: it
 * accepts TLS, answers CONNECT and SUBSCRIBE, then resets the connection while the device keeps
 * sending. A write to a reset socket raises SIGPIPE, which kills a process by default: the
 * driver must survive it (this test runs with SIGPIPE at its default disposition), report the
 * lost connection, and let the application stop cleanly.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "azkit/client.h"
#include "azkit/client_posix.h"
#include "azkit/mqtt.h"
#include "support/test_util.h"

static char g_dir[512];

struct server {
    int listen_fd;
    int port;
    SSL_CTX *ctx;
};

/* Reads one MQTT packet's bytes (enough for CONNECT/SUBSCRIBE here). */
static int read_packet(SSL *ssl, uint8_t *buf, size_t size, struct azk_mqtt_packet *p)
{
    size_t have = 0;
    struct azk_mqtt_decoder_config cfg = {.role = AZK_MQTT_ROLE_SERVER};
    for (;;) {
        size_t len = 0;
        if (have > 0 && azk_mqtt_decode(&cfg, buf, have, p, &len, NULL) == 0)
            return 0;
        int r = SSL_read(ssl, buf + have, (int)(size - have));
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
}

/* One connection: TLS, CONNECT -> CONNACK, SUBSCRIBE -> SUBACK, then a reset (RST). */
static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, fd);
    uint8_t buf[4096], out[64];
    size_t n = 0;
    struct azk_mqtt_packet p;
    if (SSL_accept(ssl) == 1 && read_packet(ssl, buf, sizeof(buf), &p) == 0 &&
        p.type == AZK_MQTT_CONNECT) {
        struct azk_mqtt_connack a = {false, 0};
        azk_mqtt_encode_connack(&a, out, sizeof(out), &n);
        SSL_write(ssl, out, (int)n);
        if (read_packet(ssl, buf, sizeof(buf), &p) == 0 && p.type == AZK_MQTT_SUBSCRIBE) {
            uint8_t codes[4] = {0, 0, 0, 1};
            azk_mqtt_encode_suback(p.u.subscribe.packet_id, codes, 4, out, sizeof(out), &n);
            SSL_write(ssl, out, (int)n);
        }
    }
    usleep(200000); /* the device sends telemetry meanwhile */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* close = RST */
    close(fd);
    SSL_free(ssl);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    azk_test_make_pki(g_dir);
    const char *srv[] = {"pki", "server", "localhost", "--ca", azk_path(g_dir, "inter"),
                         "--out", azk_path(g_dir, "srv"), NULL};
    azk_must(srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    azk_test_rmrf(g_dir);
    return 0;
}

struct run {
    bool connected, disconnected, failed;
    int sent;
};

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    struct run *r = ctx;
    if (ev->kind == AZK_CLIENT_EV_CONNECTED)
        r->connected = true;
    else if (ev->kind == AZK_CLIENT_EV_DISCONNECTED)
        r->disconnected = true;
    else if (ev->kind == AZK_CLIENT_EV_FAILED)
        r->failed = true;
}

static int64_t on_turn(void *ctx, struct azk_client *c, uint64_t now)
{
    struct run *r = ctx;
    if (r->disconnected)
        return -1; /* seen: stop */
    if (azk_client_state(c) == AZK_CLIENT_CONNECTED &&
        azk_client_send_telemetry(c, (struct azk_span){0}, azk_span_from_str("{\"x\":1}"), 0,
                                  NULL) == 0)
        r->sent++;
    return (int64_t)(now + 5);
}

static void test_reset_while_sending(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL); /* as in any application that did not think about it */
    struct server s = {0};
    s.ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate_chain_file(s.ctx, azk_path(g_dir, "srv.chain.pem")),
                     1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(s.ctx, azk_path(g_dir, "srv.key.pem"),
                                                 SSL_FILETYPE_PEM),
                     1);
    s.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s.listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s.listen_fd, 4), 0);
    getsockname(s.listen_fd, (struct sockaddr *)&a, &al);
    s.port = ntohs(a.sin_port);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);

    SSL_CTX *tls = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(tls, azk_path(g_dir, "root.cert.pem"), NULL),
                     1);
    char host[64];
    snprintf(host, sizeof(host), "localhost:%d", s.port);
    struct run r = {0};
    struct azk_client_config cfg = {.hub_host = azk_span_from_str(host),
                                    .device_id = azk_span_from_str("dev-1"),
                                    .on_event = on_event,
                                    .ctx = &r};
    static uint8_t work[8192];
    struct azk_client c;
    assert_int_equal(azk_client_init(&c, &cfg, work, sizeof(work)), 0);
    struct azk_posix_opts po = {.tls = tls, .connect_address = "127.0.0.1", .on_turn = on_turn,
                                .ctx = &r, .connect_timeout_ms = 5000};
    int rc = azk_client_run_posix(&c, &po);
    pthread_join(th, NULL);
    close(s.listen_fd);
    SSL_CTX_free(s.ctx);
    SSL_CTX_free(tls);
    /* Still alive: the reset became a DISCONNECTED event, and the stop a clean return. */
    assert_int_equal(rc, 0);
    assert_true(r.connected);
    assert_true(r.disconnected);
    assert_false(r.failed);
    assert_true(r.sent > 0);
    assert_int_equal(azk_client_state(&c), AZK_CLIENT_STOPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_while_sending),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

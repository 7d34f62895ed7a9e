/* Interop: the MQTT codec against Debian's real mosquitto broker over TCP on loopback.
 *
 * The group setup starts mosquitto on a free port with a generated config in a temp dir and
 * waits until it accepts; the group teardown kills it (also when a test failed). Received
 * bytes are fed to the incremental decoder in the sizes recv() returns. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "azkit/mqtt.h"
#include "support/test_util.h"

#define MOSQUITTO "/usr/sbin/mosquitto"
#define TIMEOUT_MS 5000

static pid_t broker_pid = -1;
static int broker_port;
static char broker_dir[512];

/* Every socket a test opened, closed by the teardown if the test failed half-way. */
static int open_fds[16];
static size_t n_open_fds;

/* ---- the broker ------------------------------------------------------------------------ */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int group_setup(void **state)
{
    (void)state;
    if (access(MOSQUITTO, X_OK) != 0) {
        fprintf(stderr, "%s not installed\n", MOSQUITTO);
        return -1;
    }
    azk_test_mkdtemp(broker_dir);
    broker_port = free_port();
    if (broker_port <= 0)
        return -1;
    char conf[600], text[256];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", broker_dir);
    int n = snprintf(text, sizeof text,
                     "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                     "user root\n",
                     broker_port);
    azk_test_write(conf, text, (size_t)n);
    char log[600];
    snprintf(log, sizeof log, "%s/mosquitto.log", broker_dir);
    broker_pid = fork();
    if (broker_pid < 0)
        return -1;
    if (broker_pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        dup2(2, 1);
        execl(MOSQUITTO, "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    /* wait until it accepts connections (up to 10 s) */
    for (int i = 0; i < 200; i++) {
        int fd = tcp_connect(broker_port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int status;
        if (waitpid(broker_pid, &status, WNOHANG) == broker_pid) {
            broker_pid = -1;
            fprintf(stderr, "mosquitto exited early; see %s\n", log);
            return -1;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "mosquitto did not accept connections on port %d\n", broker_port);
    return -1;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_open_fds; i++)
        if (open_fds[i] >= 0)
            close(open_fds[i]);
    n_open_fds = 0;
    if (broker_pid > 0) {
        kill(broker_pid, SIGTERM);
        int status;
        for (int i = 0; i < 100 && waitpid(broker_pid, &status, WNOHANG) == 0; i++)
            usleep(20 * 1000);
        if (waitpid(broker_pid, &status, WNOHANG) == 0) {
            kill(broker_pid, SIGKILL);
            waitpid(broker_pid, &status, 0);
        }
        broker_pid = -1;
    }
    if (broker_dir[0])
        azk_test_rmrf(broker_dir);
    return 0;
}

/* ---- a minimal client over the codec ---------------------------------------------------- */

struct conn {
    int fd;
    struct azk_mqtt_decoder dec;
    uint8_t pkt_buf[8192];
    uint8_t rx[4096];
    size_t rx_pos, rx_len; /* received bytes not yet fed to the decoder */
};

static void conn_open(struct conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect(broker_port);
    assert_true(c->fd >= 0);
    if (n_open_fds < sizeof open_fds / sizeof open_fds[0])
        open_fds[n_open_fds++] = c->fd;
    struct azk_mqtt_decoder_config cfg = {.role = AZK_MQTT_ROLE_CLIENT};
    assert_int_equal(azk_mqtt_decoder_init(&c->dec, &cfg, c->pkt_buf, sizeof c->pkt_buf), 0);
}

static void conn_close(struct conn *c)
{
    for (size_t i = 0; i < n_open_fds; i++)
        if (open_fds[i] == c->fd)
            open_fds[i] = -1;
    close(c->fd);
    c->fd = -1;
}

static void send_all(struct conn *c, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* Next packet from the broker: 1, or 0 on timeout, -1 when the connection closed. The
 * packet's spans are valid until the next call. */
static int next_packet(struct conn *c, struct azk_mqtt_packet *pkt, int timeout_ms)
{
    for (;;) {
        if (c->rx_pos < c->rx_len) {
            size_t used;
            int rc = azk_mqtt_decoder_feed(&c->dec, c->rx + c->rx_pos, c->rx_len - c->rx_pos,
                                           &used, pkt);
            c->rx_pos += used;
            if (rc < 0)
                fail_msg("decoder: %s", azk_mqtt_reason_str(azk_mqtt_decoder_reason(&c->dec)));
            if (rc == AZK_MQTT_PACKET)
                return 1;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, timeout_ms);
        if (pr == 0)
            return 0;
        assert_true(pr > 0);
        ssize_t r = recv(c->fd, c->rx, sizeof c->rx, 0);
        if (r <= 0)
            return -1;
        c->rx_pos = 0;
        c->rx_len = (size_t)r;
    }
}

/* Next packet, failing the test on timeout or close. */
static void expect_packet(struct conn *c, struct azk_mqtt_packet *pkt)
{
    int rc = next_packet(c, pkt, TIMEOUT_MS);
    assert_int_equal(rc, 1);
}

static bool mqtt_connect(struct conn *c, const char *client_id, bool clean)
{
    conn_open(c);
    struct azk_mqtt_connect con = {.client_id = azk_span_from_str(client_id),
                                   .keep_alive = 60,
                                   .clean_session = clean};
    uint8_t buf[256];
    size_t n;
    assert_int_equal(azk_mqtt_encode_connect(&con, buf, sizeof buf, &n), 0);
    send_all(c, buf, n);
    struct azk_mqtt_packet pkt;
    expect_packet(c, &pkt);
    assert_int_equal(pkt.type, AZK_MQTT_CONNACK);
    assert_int_equal(pkt.u.connack.return_code, AZK_MQTT_CONNACK_ACCEPTED);
    return pkt.u.connack.session_present;
}

static void mqtt_disconnect(struct conn *c)
{
    uint8_t buf[2];
    size_t n;
    assert_int_equal(azk_mqtt_encode_disconnect(buf, sizeof buf, &n), 0);
    send_all(c, buf, n);
    /* the broker closes the connection: no packet may come before that */
    struct azk_mqtt_packet pkt;
    assert_int_equal(next_packet(c, &pkt, TIMEOUT_MS), -1);
    conn_close(c);
}

static void publish(struct conn *c, const char *topic, const char *payload, uint8_t qos,
                    uint16_t pid, bool dup)
{
    struct azk_mqtt_publish p = {.topic = azk_span_from_str(topic),
                                 .payload = azk_span_from_str(payload),
                                 .qos = qos,
                                 .packet_id = pid,
                                 .dup = dup};
    uint8_t buf[512];
    size_t n;
    assert_int_equal(azk_mqtt_encode_publish(&p, buf, sizeof buf, &n), 0);
    send_all(c, buf, n);
}

static void puback(struct conn *c, uint16_t pid)
{
    uint8_t buf[4];
    size_t n;
    assert_int_equal(azk_mqtt_encode_ack(AZK_MQTT_PUBACK, pid, buf, sizeof buf, &n), 0);
    send_all(c, buf, n);
}

/* Subscribes and checks the SUBACK codes (granted QoS = requested). */
static void subscribe(struct conn *c, uint16_t pid, const struct azk_mqtt_subscription *subs,
                      size_t count)
{
    uint8_t buf[512];
    size_t n;
    assert_int_equal(azk_mqtt_encode_subscribe(pid, subs, count, buf, sizeof buf, &n), 0);
    send_all(c, buf, n);
    struct azk_mqtt_packet pkt;
    expect_packet(c, &pkt);
    assert_int_equal(pkt.type, AZK_MQTT_SUBACK);
    assert_int_equal(pkt.u.suback.packet_id, pid);
    assert_int_equal(pkt.u.suback.count, count);
    struct azk_mqtt_iter it;
    uint8_t code;
    size_t i = 0;
    azk_mqtt_iter_init(&it, &pkt);
    while (azk_mqtt_iter_next_suback_code(&it, &code)) {
        assert_true(i < count);
        assert_int_equal(code, subs[i].qos);
        i++;
    }
    assert_int_equal(i, count);
}

/* What a test wants to see of incoming packets. */
struct seen {
    bool puback;          /* PUBACK for `want_pid` */
    uint16_t want_pid;
    int publishes;        /* PUBLISH messages on `topic` with `payload` and `qos` */
    const char *topic, *payload;
    uint8_t qos;
    bool dup;             /* DUP flag of the last matching publish */
    char other_topic[128]; /* first PUBLISH that did not match */
};

/* Reads packets until `puback` (if wanted) and `publishes` messages were seen; acknowledges
 * every QoS 1 delivery. */
static void collect(struct conn *c, struct seen *s, int publishes)
{
    while ((s->want_pid && !s->puback) || s->publishes < publishes) {
        struct azk_mqtt_packet pkt;
        expect_packet(c, &pkt);
        if (pkt.type == AZK_MQTT_PUBACK) {
            assert_int_equal(pkt.u.packet_id, s->want_pid);
            s->puback = true;
        } else if (pkt.type == AZK_MQTT_PUBLISH) {
            const struct azk_mqtt_publish *p = &pkt.u.publish;
            if (p->qos == 1)
                puback(c, p->packet_id);
            if (azk_span_eq_str(p->topic, s->topic) && azk_span_eq_str(p->payload, s->payload) &&
                p->qos == s->qos) {
                s->publishes++;
                s->dup = p->dup;
            } else if (!s->other_topic[0]) {
                snprintf(s->other_topic, sizeof s->other_topic, "%.*s", (int)p->topic.len,
                         p->topic.ptr);
                fail_msg("unexpected PUBLISH on %s", s->other_topic);
            }
        } else {
            fail_msg("unexpected %s", azk_mqtt_type_str(pkt.type));
        }
    }
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_publish_subscribe_unsubscribe_ping(void **state)
{
    (void)state;
    struct conn c;
    assert_false(mqtt_connect(&c, "azk-ps", true));
    static const struct azk_mqtt_subscription subs[] = {{AZK_SPAN_LIT("azk/t0"), 0},
                                                        {AZK_SPAN_LIT("azk/t1/+"), 1}};
    subscribe(&c, 1, subs, 2);

    /* QoS 0 to itself */
    publish(&c, "azk/t0", "hello0", 0, 0, false);
    struct seen s0 = {.topic = "azk/t0", .payload = "hello0", .qos = 0};
    collect(&c, &s0, 1);

    /* QoS 1: PUBACK for ours and the delivery (QoS 1 granted) in whatever order */
    publish(&c, "azk/t1/x", "hello1", 1, 2, false);
    struct seen s1 = {.want_pid = 2, .topic = "azk/t1/x", .payload = "hello1", .qos = 1};
    collect(&c, &s1, 1);

    /* unsubscribe azk/t0 */
    struct azk_span unsub[] = {AZK_SPAN_LIT("azk/t0")};
    uint8_t buf[128];
    size_t n;
    assert_int_equal(azk_mqtt_encode_unsubscribe(3, unsub, 1, buf, sizeof buf, &n), 0);
    send_all(&c, buf, n);
    struct azk_mqtt_packet pkt;
    expect_packet(&c, &pkt);
    assert_int_equal(pkt.type, AZK_MQTT_UNSUBACK);
    assert_int_equal(pkt.u.packet_id, 3);

    /* no delivery on azk/t0 any more: the next message is the marker on azk/t1/y */
    publish(&c, "azk/t0", "lost", 0, 0, false);
    publish(&c, "azk/t1/y", "marker", 0, 0, false);
    struct seen s2 = {.topic = "azk/t1/y", .payload = "marker", .qos = 0};
    collect(&c, &s2, 1);

    /* ping */
    assert_int_equal(azk_mqtt_encode_pingreq(buf, sizeof buf, &n), 0);
    send_all(&c, buf, n);
    expect_packet(&c, &pkt);
    assert_int_equal(pkt.type, AZK_MQTT_PINGRESP);

    mqtt_disconnect(&c);
}

static void test_persistent_session(void **state)
{
    (void)state;
    struct conn c;
    /* start from no session */
    mqtt_connect(&c, "azk-persist", true);
    mqtt_disconnect(&c);
    assert_false(mqtt_connect(&c, "azk-persist", false));
    static const struct azk_mqtt_subscription subs[] = {{AZK_SPAN_LIT("azk/persist"), 1}};
    subscribe(&c, 1, subs, 1);
    mqtt_disconnect(&c);
    assert_true(mqtt_connect(&c, "azk-persist", false));
    mqtt_disconnect(&c);
    /* clean session 1 discards it */
    assert_false(mqtt_connect(&c, "azk-persist", true));
    mqtt_disconnect(&c);
}

static void test_offline_subscriber_gets_qos1_message(void **state)
{
    (void)state;
    struct conn sub, pub;
    mqtt_connect(&sub, "azk-offline-sub", true);
    mqtt_disconnect(&sub);
    assert_false(mqtt_connect(&sub, "azk-offline-sub", false));
    static const struct azk_mqtt_subscription subs[] = {{AZK_SPAN_LIT("azk/offline"), 1}};
    subscribe(&sub, 7, subs, 1);
    mqtt_disconnect(&sub);

    mqtt_connect(&pub, "azk-offline-pub", true);
    publish(&pub, "azk/offline", "while you were away", 1, 42, false);
    struct seen sp = {.want_pid = 42, .topic = "-", .payload = "-"};
    collect(&pub, &sp, 0);
    mqtt_disconnect(&pub);

    assert_true(mqtt_connect(&sub, "azk-offline-sub", false));
    struct seen ss = {.topic = "azk/offline", .payload = "while you were away", .qos = 1};
    collect(&sub, &ss, 1);
    mqtt_disconnect(&sub);
    /* clean up the session */
    mqtt_connect(&sub, "azk-offline-sub", true);
    mqtt_disconnect(&sub);
}

static void test_resent_dup_publish_is_acknowledged(void **state)
{
    (void)state;
    struct conn c;
    mqtt_connect(&c, "azk-dup", true);
    static const struct azk_mqtt_subscription subs[] = {{AZK_SPAN_LIT("azk/dup"), 1}};
    subscribe(&c, 1, subs, 1);
    publish(&c, "azk/dup", "once", 1, 77, false);
    struct seen s1 = {.want_pid = 77, .topic = "azk/dup", .payload = "once", .qos = 1};
    collect(&c, &s1, 1);
    /* the same packet id again with DUP=1, as after a lost PUBACK */
    publish(&c, "azk/dup", "once", 1, 77, true);
    struct seen s2 = {.want_pid = 77, .topic = "azk/dup", .payload = "once", .qos = 1};
    collect(&c, &s2, 1); /* QoS 1 is at-least-once: delivered again, and acknowledged */
    mqtt_disconnect(&c);
}

static void test_broker_rejects_bad_protocol_level(void **state)
{
    (void)state;
    /* The other direction of the codec's AZK_MQTT_R_PROTOCOL_LEVEL: name "MQTT" with level 3
     * is refused by a real broker with CONNACK 1 (or a plain close), and our client-side
     * decoder reads that CONNACK. */
    struct conn c;
    conn_open(&c);
    static const uint8_t bad[] = {0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x03,
                                  0x02, 0x00, 0x3c, 0x00, 0x01, 'x'};
    send_all(&c, bad, sizeof bad);
    struct azk_mqtt_packet pkt;
    int rc = next_packet(&c, &pkt, TIMEOUT_MS);
    if (rc == 1) {
        assert_int_equal(pkt.type, AZK_MQTT_CONNACK);
        assert_int_equal(pkt.u.connack.return_code, AZK_MQTT_CONNACK_UNACCEPTABLE_PROTOCOL);
    } else {
        assert_int_equal(rc, -1); /* or it just closes */
    }
    conn_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_subscribe_unsubscribe_ping),
        cmocka_unit_test(test_persistent_session),
        cmocka_unit_test(test_offline_subscriber_gets_qos1_message),
        cmocka_unit_test(test_resent_dup_publish_is_acknowledged),
        cmocka_unit_test(test_broker_rejects_bad_protocol_level),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * At least once, against the real azkit-hub over TLS: every QoS 1 message `azkit run` accepted
 * is stored at the hub, whatever happens in between --
 *  - the hub is killed (kill -9) and restarted five times while the device sends every 10 ms;
 *  - the device process itself is killed (kill -9) with an --outbox file, at a fixed point
 *    (the hub down, messages waiting) and while messages flow, then started again.
 * Losses must be 0; duplicates are allowed and counted. And a device that boots while the hub
 * is down retries until it is up. Points in the run are chosen by what
 * the device reported (messages accepted, acknowledged), never by elapsed time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "hub_harness.h"
#include "support/test_util.h"

#define MAX_N 4096
#define GUARD_POLLS 1200 /* 50 ms each: a hang guard, not a timing assertion */

static struct test_hub hub;
static char g_dir[512], g_store[600], g_hubhost[64];
/* Devices started and not yet reaped: killed by the teardown when a test failed midway (they
 * must not outlive the test and keep its output pipe open). */
static pid_t g_live[8];

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    char cert[700], key[700];
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, g_dir, "dlv-1", EVP_sha256(), cert, key);
    test_hub_start(&hub, NULL);
    snprintf(g_store, sizeof(g_store), "%s/store", g_dir);
    snprintf(g_hubhost, sizeof(g_hubhost), "localhost:%d", hub.mqtt_port);
    const char *argv[] = {"--store", g_store, "cred", "provision", "--sec-tag", "10", "--cert",
                          cert, "--key", key, "--ca", hub.ca, NULL};
    azk_must(argv);
    return 0;
}

static void forget_pid(pid_t pid)
{
    for (size_t i = 0; i < sizeof(g_live) / sizeof(g_live[0]); i++)
        if (g_live[i] == pid)
            g_live[i] = 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(g_live) / sizeof(g_live[0]); i++) {
        if (g_live[i] > 0) {
            kill(g_live[i], SIGKILL);
            waitpid(g_live[i], NULL, 0);
        }
    }
    test_hub_cleanup(&hub);
    azk_test_rmrf(g_dir);
    return 0;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts `azkit --store S --json run --hub H ARGS...` with its output in `out`. */
static pid_t spawn_run(const char *out, ...)
{
    const char *argv[40] = {AZKIT_BIN, "--store", g_store, "--json", "run", "--hub", g_hubhost};
    int n = 7;
    va_list ap;
    va_start(ap, out);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 39)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[720];
        snprintf(err, sizeof(err), "%s.err", out);
        if (freopen(out, "w", stdout) == NULL || freopen(err, "w", stderr) == NULL)
            _exit(126);
        execv(AZKIT_BIN, (char *const *)argv);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof(g_live) / sizeof(g_live[0]); i++) {
        if (g_live[i] == 0) {
            g_live[i] = pid;
            break;
        }
    }
    return pid;
}

/* How many output lines are events of `kind`; the largest "n" of "accepted" events into
 * *max_n (may be NULL). */
static int count_events(const char *out, const char *kind, long *max_n)
{
    char *text = azk_test_exists(out) ? azk_test_read(out, NULL) : NULL;
    int count = 0;
    char want[64];
    snprintf(want, sizeof(want), "\"event\":\"%s\"", kind);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl == NULL)
            break; /* a line being written */
        *nl = '\0';
        if (strstr(line, want) != NULL) {
            count++;
            cJSON *j = cJSON_Parse(line);
            cJSON *nn = cJSON_GetObjectItem(j, "n");
            if (max_n && cJSON_IsNumber(nn) && nn->valueint > *max_n)
                *max_n = nn->valueint;
            cJSON_Delete(j);
        }
        line = nl + 1;
    }
    free(text);
    return count;
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* Waits until `out` has at least `want` events of `kind` (fails after the hang guard). */
static void wait_events(const char *out, const char *kind, int want)
{
    for (int i = 0; i < GUARD_POLLS; i++) {
        if (count_events(out, kind, NULL) >= want)
            return;
        pause_ms(50);
    }
    char *text = azk_test_read(out, NULL);
    fail_msg("fewer than %d '%s' events:\n%s", want, kind, text);
}

/* Waits for the process to exit; its exit status. */
static int wait_exit(pid_t pid, const char *out)
{
    for (int i = 0; i < GUARD_POLLS; i++) {
        int ws = 0;
        if (waitpid(pid, &ws, WNOHANG) == pid) {
            forget_pid(pid);
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        }
        pause_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    forget_pid(pid);
    char *text = azk_test_read(out, NULL);
    fail_msg("azkit run did not finish:\n%s", text);
    return -1;
}

static void kill9(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    forget_pid(pid);
}

/* Counts, per value of `key` in the stored telemetry bodies ({"<key>":N}), how often the hub
 * stored it (hub stopped). */
static void stored(const char *key, int counts[MAX_N + 1])
{
    memset(counts, 0, sizeof(int) * (MAX_N + 1));
    struct hub_telemetry *recs;
    size_t n = test_hub_telemetry(&hub, &recs);
    for (size_t i = 0; i < n; i++) {
        cJSON *j = cJSON_ParseWithLength(recs[i].payload, recs[i].payload_len);
        cJSON *v = cJSON_GetObjectItem(j, key);
        if (cJSON_IsNumber(v) && v->valueint > 0 && v->valueint <= MAX_N)
            counts[v->valueint]++;
        cJSON_Delete(j);
    }
    hub_telemetry_free_array(recs, n);
}

/* Every message 1..accepted stored at least once; returns the duplicates. */
static int check_all_stored(const char *key, long accepted, const char *out)
{
    static int counts[MAX_N + 1];
    stored(key, counts);
    int dups = 0;
    for (long k = 1; k <= accepted; k++) {
        if (counts[k] == 0) {
            char *text = azk_test_read(out, NULL);
            fail_msg("message %s=%ld was accepted but never stored at the hub\n%s", key, k, text);
        }
        dups += counts[k] - 1;
    }
    return dups;
}

/* The hub killed and restarted five times while the device sends QoS 1 every 10 ms. */
static void test_hub_kill9_loses_nothing(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof(out), "%s/kill9.out", g_dir);
    pid_t pid = spawn_run(out, "--count", "500", "--interval", "10", "--qos", "1",
                          "--message", "{\"k\":%d}", NULL);
    int acked = 0;
    for (int round = 0; round < 5; round++) {
        /* Connected and acknowledged messages flow ... (a slow machine, ASan under load, may
         * reach the end of the 500 before the fifth round: then wait for no more than 500) */
        wait_events(out, "acked", min_int(acked + 15, 500));
        test_hub_kill9(&hub);
        /* ... the device keeps accepting while the hub is gone ... */
        wait_events(out, "accepted", min_int(count_events(out, "accepted", NULL) + 10, 500));
        test_hub_restart(&hub, NULL);
        acked = count_events(out, "acked", NULL);
    }
    int status = wait_exit(pid, out);
    long max_n = 0;
    int accepted = count_events(out, "accepted", &max_n);
    char *text = azk_test_read(out, NULL);
    if (status != 0)
        fail_msg("azkit run exited %d:\n%s", status, text);
    assert_int_equal(accepted, 500);
    assert_int_equal(max_n, 500);
    assert_non_null(strstr(text, "\"unacknowledged\":0"));
    free(text);
    test_hub_stop(&hub);
    int dups = check_all_stored("k", accepted, out);
    print_message("hub kill -9 x5: %d accepted, 0 lost, %d duplicates\n", accepted, dups);
    test_hub_restart(&hub, NULL);
}

/* The device killed with an outbox file: what it accepted is sent by the next run. */
static void test_device_kill9_with_outbox(void **state)
{
    (void)state;
    char outbox[700], out1[700], out2[700], out3[700];
    snprintf(outbox, sizeof(outbox), "%s/outbox.log", g_dir);
    snprintf(out1, sizeof(out1), "%s/dev1.out", g_dir);
    snprintf(out2, sizeof(out2), "%s/dev2.out", g_dir);
    snprintf(out3, sizeof(out3), "%s/dev3.out", g_dir);

    /* Run 1: connected, then the hub goes away and messages pile up in the outbox; the
     * device is killed at that fixed point. */
    pid_t pid = spawn_run(out1, "--outbox", outbox, "--count", "0", "--interval", "10",
                          "--message", "{\"a\":%d}", NULL);
    wait_events(out1, "acked", 10);
    test_hub_kill9(&hub);
    wait_events(out1, "accepted", count_events(out1, "accepted", NULL) + 20);
    kill9(pid);
    long a_max = 0;
    count_events(out1, "accepted", &a_max);
    test_hub_restart(&hub, NULL);

    /* Run 2: sends what run 1 left, then its own messages; killed while they flow. */
    pid = spawn_run(out2, "--outbox", outbox, "--count", "0", "--interval", "10", "--message",
                    "{\"b\":%d}", NULL);
    wait_events(out2, "acked", (int)a_max / 2 + 20);
    kill9(pid);
    long b_max = 0;
    count_events(out2, "accepted", &b_max);

    /* Run 3: sends the rest and stops once the outbox is empty. */
    pid = spawn_run(out3, "--outbox", outbox, "--count", "3", "--interval", "10", "--message",
                    "{\"c\":%d}", NULL);
    int status = wait_exit(pid, out3);
    char *text = azk_test_read(out3, NULL);
    if (status != 0)
        fail_msg("azkit run exited %d:\n%s", status, text);
    assert_non_null(strstr(text, "\"unacknowledged\":0"));
    free(text);
    test_hub_stop(&hub);
    int dups = check_all_stored("a", a_max, out1) + check_all_stored("b", b_max, out2) +
               check_all_stored("c", 3, out3);
    print_message("device kill -9 x2 with --outbox: %ld + %ld + 3 accepted, 0 lost, %d "
                  "duplicates\n", a_max, b_max, dups);
    test_hub_restart(&hub, NULL);
}

/* A device that boots while the hub is down keeps retrying (each retry printed) and connects
 * once the hub is up; what it accepted meanwhile is delivered. */
static void test_boot_with_hub_down(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof(out), "%s/boot.out", g_dir);
    test_hub_kill9(&hub);
    pid_t pid = spawn_run(out, "--count", "3", "--interval", "10", "--message", "{\"d\":%d}",
                          NULL);
    wait_events(out, "retrying", 2);
    wait_events(out, "accepted", 3); /* QoS 1 waits in the outbox */
    test_hub_restart(&hub, NULL);
    int status = wait_exit(pid, out);
    char *text = azk_test_read(out, NULL);
    if (status != 0)
        fail_msg("azkit run exited %d:\n%s", status, text);
    assert_non_null(strstr(text, "nothing accepts connections on localhost"));
    assert_non_null(strstr(text, "\"event\":\"connected\""));
    assert_non_null(strstr(text, "\"unacknowledged\":0"));
    free(text);
    test_hub_stop(&hub);
    check_all_stored("d", 3, out);
    test_hub_restart(&hub, NULL);
}

static int occurrences(const char *text, const char *what)
{
    int n = 0;
    for (const char *at = text; (at = strstr(at, what)) != NULL; at++)
        n++;
    return n;
}

/* A busy hub: CONNACK 3 twice before the first connection (retried, not final), then twin
 * requests throttled (429) four times -- the twin GET after connecting and the reported
 * properties are each sent again until answered; the run ends only once the report was
 * accepted. */
static void test_busy_hub_and_throttled_report(void **state)
{
    (void)state;
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "refuse-connects", "2", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "twin-throttle", "4", NULL));
    char out[700];
    snprintf(out, sizeof(out), "%s/busy.out", g_dir);
    pid_t pid = spawn_run(out, "--count", "1", "--report", "{\"fw\":\"3.0\"}", NULL);
    int status = wait_exit(pid, out);
    char *text = azk_test_read(out, NULL);
    if (status != 0)
        fail_msg("azkit run exited %d:\n%s", status, text);
    assert_int_equal(occurrences(text, "\"event\":\"retrying\",\"failure\":\"connack-refused\","
                                       "\"code\":3"),
                     2);
    assert_int_equal(occurrences(text, "\"event\":\"twin\",\"status\":429"), 4);
    assert_int_equal(occurrences(text, "\"event\":\"twin\",\"status\":204"), 1);
    assert_non_null(strstr(text, "\"event\":\"desired\",\"full\":true"));
    free(text);
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "dlv-1", NULL);
    text = cJSON_PrintUnformatted(tw);
    assert_non_null(strstr(text, "\"fw\":\"3.0\""));
    free(text);
    cJSON_Delete(tw);
}

/* The twin in sync: desired properties changed while the device is offline are applied after
 * the reconnect (the full twin is asked for on every connection). */
static void test_desired_while_offline(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof(out), "%s/twin.out", g_dir);
    pid_t pid = spawn_run(out, "--count", "0", "--qos", "0", "--interval", "1000", NULL);
    wait_events(out, "desired", 1); /* the full twin after connecting */
    /* Offline: the connection dropped, reconnects refused (CONNACK 3) ... */
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "refuse-connects", "1000", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "drop", "dlv-1", NULL));
    wait_events(out, "retrying", 2);
    /* ... while the service changes the desired properties twice. */
    cJSON_Delete(test_hub_admin(&hub, 0, "twin", "set-desired", "dlv-1", "{\"rate\":7}", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "twin", "set-desired", "dlv-1", "{\"mode\":\"eco\"}",
                                NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "clear", NULL));
    wait_events(out, "desired", 2);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid, out), 0);
    char *text = azk_test_read(out, NULL);
    /* The second "desired" is the full twin after the reconnect, with both changes. */
    const char *second = strstr(strstr(text, "\"event\":\"desired\"") + 1,
                                "\"event\":\"desired\"");
    assert_non_null(second);
    const char *eol = strchr(second, '\n');
    char line[2048];
    snprintf(line, sizeof(line), "%.*s", (int)(eol - second), second);
    if (!strstr(line, "\"full\":true") || !strstr(line, "\\\"rate\\\":7") ||
        !strstr(line, "eco"))
        fail_msg("not the full twin with both changes: %s\n%s", line, text);
    free(text);
}

/* PUBACKs delayed, then the connection dropped: the run does not hang with messages that
 * will never be acknowledged on that connection -- they are sent again on the next one. */
static void test_delayed_pubacks_then_drop(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof(out), "%s/delay.out", g_dir);
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "puback-delay", "60000", NULL));
    pid_t pid = spawn_run(out, "--count", "3", "--interval", "10", "--message", "{\"p\":%d}",
                          NULL);
    wait_events(out, "accepted", 3);
    wait_events(out, "connected", 1);
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "puback-delay", "0", NULL));
    cJSON_Delete(test_hub_admin(&hub, 0, "fault", "drop", "dlv-1", NULL));
    int status = wait_exit(pid, out);
    char *text = azk_test_read(out, NULL);
    if (status != 0)
        fail_msg("azkit run exited %d:\n%s", status, text);
    assert_non_null(strstr(text, "\"event\":\"disconnected\""));
    assert_non_null(strstr(text, "\"unacknowledged\":0"));
    free(text);
    test_hub_stop(&hub);
    check_all_stored("p", 3, out);
    test_hub_restart(&hub, NULL);
}

/* ---- a TCP proxy that can go silent ---------------------------------------------------- */

enum { PROXY_FORWARD, PROXY_BLACKHOLE, PROXY_CUT };
struct proxy {
    int lfd, port, target_port;
    volatile int mode;     /* PROXY_* (the test thread sets it) */
    volatile bool stop;
    pthread_t thread;
    int pair[8][2];        /* device side, hub side; -1 = free */
};

static void proxy_close_all(struct proxy *p)
{
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 2; k++)
            if (p->pair[i][k] >= 0) {
                close(p->pair[i][k]);
                p->pair[i][k] = -1;
            }
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    while (!p->stop) {
        if (p->mode == PROXY_CUT) {
            proxy_close_all(p);
            p->mode = PROXY_FORWARD;
        }
        struct pollfd fds[17];
        int map[17][2], n = 0;
        fds[n] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        map[n][0] = -1;
        n++;
        /* Black hole: nothing is read, so nothing goes either way (and no new connection). */
        if (p->mode == PROXY_FORWARD)
            for (int i = 0; i < 8; i++)
                for (int k = 0; k < 2 && p->pair[i][0] >= 0; k++) {
                    fds[n] = (struct pollfd){.fd = p->pair[i][k], .events = POLLIN};
                    map[n][0] = i;
                    map[n][1] = k;
                    n++;
                }
        if (p->mode != PROXY_FORWARD)
            n = 0; /* not even accepts */
        if (poll(fds, (nfds_t)n, 50) <= 0)
            continue;
        for (int j = 0; j < n; j++) {
            if (!(fds[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (map[j][0] < 0) {
                int c = accept(p->lfd, NULL, NULL);
                int h = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->target_port)};
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                int slot = -1;
                for (int i = 0; i < 8 && slot < 0; i++)
                    if (p->pair[i][0] < 0)
                        slot = i;
                if (c < 0 || h < 0 || slot < 0 || connect(h, (struct sockaddr *)&a, sizeof(a)) != 0) {
                    if (c >= 0)
                        close(c);
                    if (h >= 0)
                        close(h);
                    continue;
                }
                p->pair[slot][0] = c;
                p->pair[slot][1] = h;
                continue;
            }
            int i = map[j][0], k = map[j][1];
            if (p->pair[i][0] < 0)
                continue;
            char buf[16384];
            ssize_t r = read(p->pair[i][k], buf, sizeof(buf));
            if (r <= 0 || write(p->pair[i][1 - k], buf, (size_t)r) != r) {
                close(p->pair[i][0]);
                close(p->pair[i][1]);
                p->pair[i][0] = p->pair[i][1] = -1;
            }
        }
    }
    proxy_close_all(p);
    return NULL;
}

static void proxy_start(struct proxy *p, int target_port)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < 8; i++)
        p->pair[i][0] = p->pair[i][1] = -1;
    p->target_port = target_port;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(p->lfd, 8), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &len), 0);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
}

static void proxy_stop(struct proxy *p)
{
    p->stop = true;
    pthread_join(p->thread, NULL);
    close(p->lfd);
}

/* A link that goes silent both ways while telemetry flows: the device notices (no PINGRESP or
 * PUBACK in time, though it keeps sending), reconnects once the link is back, and every message
 * it accepted is stored. */
static void test_silent_link_found_and_nothing_lost(void **state)
{
    (void)state;
    static struct proxy p;
    proxy_start(&p, hub.mqtt_port);
    char saved[64], out[700];
    snprintf(saved, sizeof(saved), "%s", g_hubhost);
    snprintf(g_hubhost, sizeof(g_hubhost), "localhost:%d", p.port);
    snprintf(out, sizeof(out), "%s/silent.out", g_dir);
    pid_t pid = spawn_run(out, "--count", "200", "--interval", "50", "--keepalive", "2",
                          "--message", "{\"s\":%d}", NULL);
    snprintf(g_hubhost, sizeof(g_hubhost), "%s", saved);
    wait_events(out, "acked", 10);
    p.mode = PROXY_BLACKHOLE;
    int before = count_events(out, "retrying", NULL);
    wait_events(out, "retrying", before + 1); /* the dead link was noticed */
    p.mode = PROXY_CUT; /* the old connection goes, new ones are forwarded */
    int status = wait_exit(pid, out);
    proxy_stop(&p);
    long max_n = 0;
    int accepted = count_events(out, "accepted", &max_n);
    char *text = azk_test_read(out, NULL);
    if (status != 0)
        fail_msg("azkit run exited %d:\n%s", status, text);
    assert_int_equal(accepted, 200);
    assert_non_null(strstr(text, "\"unacknowledged\":0"));
    assert_true(count_events(out, "connected", NULL) >= 2);
    free(text);
    test_hub_stop(&hub);
    int dups = check_all_stored("s", accepted, out);
    print_message("silent link: %d accepted, 0 lost, %d duplicates\n", accepted, dups);
    test_hub_restart(&hub, NULL);
}

/* Each test starts with the hub running, even when the one before failed while it was down
 * (a failure then names its own cause instead of "nothing accepts connections"). */
static int hub_up(void **state)
{
    (void)state;
    if (hub.pid <= 0 || kill(hub.pid, 0) != 0)
        test_hub_restart(&hub, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_boot_with_hub_down, hub_up),
        cmocka_unit_test_setup(test_busy_hub_and_throttled_report, hub_up),
        cmocka_unit_test_setup(test_desired_while_offline, hub_up),
        cmocka_unit_test_setup(test_delayed_pubacks_then_drop, hub_up),
        cmocka_unit_test_setup(test_silent_link_found_and_nothing_lost, hub_up),
        cmocka_unit_test_setup(test_hub_kill9_loses_nothing, hub_up),
        cmocka_unit_test_setup(test_device_kill9_with_outbox, hub_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * A connection storm through DPS: hundreds of devices started at once by `azkit fleet` (one
 * certificate each, issued by an enrolled intermediate) against a real azkit-hub whose accept
 * pacing is made to engage (--max-handshakes 8). Every device must register, connect and get
 * its message acknowledged; the hub must have paced its accepts (said so in its log) and must
 * not have timed out a single handshake or CONNECT. Counted, never timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "support/test_util.h"

#define STORM_DEVICES "400"
#define STORM_COUNT 400

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32], g_dps[300];

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_make_cert(g_dir, AZK_PKI_ROOT, "Storm Root", "root", NULL, NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_INTERMEDIATE, "Storm Intermediate", "inter", "root", NULL,
                       NULL);
    test_hub_init(&hub);
    const char *extra[] = {"--dps-retry-after", "1", "--max-handshakes", "8", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps, sizeof(g_dps));
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "storm-group", "--cert",
                                test_pem_path(g_dir, "inter", "cert"), NULL));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

static int num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("'%s' is not a number", name);
    return v->valueint;
}

static void test_storm_through_dps(void **state)
{
    (void)state;
    char issuer[700];
    snprintf(issuer, sizeof(issuer), "%s/inter", g_dir);
    const char *argv[] = {"--json", "fleet", "--id-scope", g_scope, "--dps-host", g_dps,
                          "--trust", hub.ca, "--issuer", issuer, "--count", STORM_DEVICES,
                          "--rate", "100000", "--messages", "1", "--prefix", "storm-", NULL};
    struct azk_run r;
    azk_run(&r, NULL, argv);
    /* Progress lines, then the summary on the last line. */
    const char *last = r.out, *nl;
    while ((nl = strchr(last, '\n')) != NULL && nl[1] != '\0')
        last = nl + 1;
    cJSON *j = cJSON_Parse(last);
    if (j == NULL || !cJSON_IsString(cJSON_GetObjectItem(j, "event")) ||
        strcmp(cJSON_GetObjectItem(j, "event")->valuestring, "summary") != 0)
        fail_msg("fleet: no JSON summary on the last line:\n%s\n%s", r.out, r.err);
    const cJSON *first = cJSON_GetObjectItem(j, "firstFailure");
    if (num(j, "failed") != 0)
        fail_msg("%d of %d devices failed; the first: %s", num(j, "failed"), STORM_COUNT,
                 cJSON_IsString(first) ? first->valuestring : "?");
    assert_int_equal(r.status, 0);
    assert_int_equal(num(j, "registered"), STORM_COUNT);
    assert_int_equal(num(j, "connected"), STORM_COUNT);
    assert_int_equal(num(j, "acked"), STORM_COUNT);
    cJSON_Delete(j);
    azk_run_free(&r);

    /* The hub paced its accepts, and refused nobody for being slow itself. */
    assert_true(test_hub_log_contains(&hub, "busy: 8 connections in the TLS handshake"));
    assert_true(test_hub_log_contains(&hub, "no longer busy"));
    assert_false(test_hub_log_contains(&hub, "TLS handshake not finished"));
    assert_false(test_hub_log_contains(&hub, "no CONNECT within"));
    /* Once the crowd has left, the hub gives the memory it took back to the system (checked
     * every 2 s; waited for here up to a minute, so a slow machine cannot fail it). */
    for (int i = 0; i < 600 && !test_hub_log_contains(&hub, "connections have closed; returned");
         i++)
        usleep(100 * 1000);
    assert_true(test_hub_log_contains(&hub, "connections have closed; returned"));
    /* It is still serving: one more device after the storm. */
    const char *again[] = {"--json", "fleet", "--id-scope", g_scope, "--dps-host", g_dps,
                           "--trust", hub.ca, "--issuer", issuer, "--count", "1",
                           "--prefix", "after-storm-", NULL};
    azk_run(&r, NULL, again);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
}

/* ---- reconnect storm: every connected device comes back after a hub kill -9 ---------------- */

#define RS_DEVICES 300
#define RS_MESSAGES 40

/* Whether the fleet's progress lines, from line `from` on, show `want` devices connected (after
 * a line with fewer, when `after_drop`); that line's "reconnects" into *reconnects; the number
 * of lines into *lines (may be NULL). */
static bool fleet_reached(const char *out, int from, int want, bool after_drop, int *reconnects,
                          int *lines)
{
    if (!azk_test_exists(out))
        return false; /* the fleet has not started yet */
    char *text = azk_test_read(out, NULL);
    bool dropped = !after_drop, ok = false;
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
        if (n < from)
            continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *c = cJSON_GetObjectItem(j, "connected");
        const cJSON *r = cJSON_GetObjectItem(j, "reconnects");
        if (cJSON_IsNumber(c) && !ok) {
            if (c->valueint < want)
                dropped = true;
            else if (dropped) {
                ok = true;
                if (reconnects && cJSON_IsNumber(r))
                    *reconnects = r->valueint;
            }
        }
        cJSON_Delete(j);
    }
    free(text);
    if (lines)
        *lines = n;
    return ok;
}

/* Reconnects per second after the restart, from the progress lines (reported, not asserted:
 * timing is the benchmark's business). */
static void print_spread(const char *out)
{
    char *text = azk_test_read(out, NULL);
    int prev = -1, peak = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *r = cJSON_GetObjectItem(j, "reconnects");
        if (cJSON_IsNumber(r)) {
            if (prev >= 0 && r->valueint - prev > peak)
                peak = r->valueint - prev;
            prev = r->valueint;
        }
        cJSON_Delete(j);
    }
    free(text);
    printf("reconnect storm: %d devices back, at most %d reconnects in one progress second\n",
           RS_DEVICES, peak);
}

static void test_reconnect_storm(void **state)
{
    (void)state;
    char issuer[700], out[700], err[720], count[16], msgs[16];
    snprintf(issuer, sizeof(issuer), "%s/inter", g_dir);
    snprintf(out, sizeof(out), "%s/fleet.out", g_dir);
    snprintf(err, sizeof(err), "%s/fleet.err", g_dir);
    snprintf(count, sizeof(count), "%d", RS_DEVICES);
    snprintf(msgs, sizeof(msgs), "%d", RS_MESSAGES);
    const char *argv[] = {AZKIT_BIN, "--json", "fleet", "--id-scope", g_scope, "--dps-host",
                          g_dps, "--trust", hub.ca, "--issuer", issuer, "--count", count,
                          "--rate", "100000", "--messages", msgs, "--interval", "500",
                          "--prefix", "rs-", NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen(out, "w", stdout) == NULL || freopen(err, "w", stderr) == NULL)
            _exit(126);
        execv(AZKIT_BIN, (char *const *)argv);
        _exit(127);
    }
    /* All connected, then the hub dies mid-stream and comes back on its ports. */
    int i;
    int at_kill = 0;
    for (i = 0; i < 1200 && !fleet_reached(out, 0, RS_DEVICES, false, NULL, &at_kill); i++)
        usleep(50000);
    if (i == 1200)
        fail_msg("the fleet never had all %d devices connected", RS_DEVICES);
    test_hub_kill9(&hub);
    usleep(300000);
    const char *extra[] = {"--dps-retry-after", "1", "--max-handshakes", "8", NULL};
    test_hub_restart(&hub, extra);
    int reconnects = 0;
    for (i = 0; i < 2400 && !fleet_reached(out, at_kill, RS_DEVICES, true, &reconnects, NULL); i++)
        usleep(50000);
    if (i == 2400)
        fail_msg("not every device came back after the restart");
    if (reconnects < RS_DEVICES) {
        char *all = azk_test_read(out, NULL);
        fail_msg("all back with only %d reconnects counted:\n%s", reconnects, all);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    print_spread(out);

    /* The summary: nobody failed, every message acknowledged. */
    char *text = azk_test_read(out, NULL);
    char *last = text, *nl;
    while ((nl = strchr(last, '\n')) != NULL && nl[1] != '\0')
        last = nl + 1;
    cJSON *j = cJSON_Parse(last);
    assert_non_null(j);
    if (num(j, "failed") != 0)
        fail_msg("%d devices failed: %s", num(j, "failed"),
                 cJSON_GetStringValue(cJSON_GetObjectItem(j, "firstFailure")));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Every message sent; the fleet does not resend a message whose connection died before
     * its PUBACK (window 1: at most one per device). */
    int acked = num(j, "acked");
    assert_int_equal(num(j, "sent"), RS_DEVICES * RS_MESSAGES);
    assert_true(acked >= RS_DEVICES * RS_MESSAGES - RS_DEVICES);
    cJSON_Delete(j);
    free(text);

    /* Counted at the hub: at least as many distinct messages stored as were acknowledged. */
    test_hub_stop(&hub);
    struct hub_telemetry *t = NULL;
    size_t n = test_hub_telemetry(&hub, &t);
    char *seen = calloc((size_t)RS_DEVICES * (RS_MESSAGES + 1), 1);
    size_t distinct = 0;
    for (size_t k = 0; k < n; k++) {
        int dev = -1;
        unsigned seq = 0;
        if (strncmp(t[k].device_id, "rs-", 3) == 0)
            dev = atoi(t[k].device_id + 3);
        char body[256];
        snprintf(body, sizeof(body), "%.*s",
                 (int)(t[k].payload_len < 255 ? t[k].payload_len : 255),
                 (const char *)t[k].payload);
        const char *pn = strstr(body, "\"n\":");
        if (dev >= 0 && dev < RS_DEVICES && pn != NULL)
            seq = (unsigned)strtoul(pn + 4, NULL, 10);
        if (dev >= 0 && dev < RS_DEVICES && seq >= 1 && seq <= RS_MESSAGES &&
            !seen[(size_t)dev * (RS_MESSAGES + 1) + seq]) {
            seen[(size_t)dev * (RS_MESSAGES + 1) + seq] = 1;
            distinct++;
        }
        hub_telemetry_clear(&t[k]);
    }
    free(t);
    free(seen);
    printf("reconnect storm: %zu messages stored, %zu distinct; %d acknowledged\n", n, distinct,
           acked);
    assert_true(distinct >= (size_t)acked);
    test_hub_restart(&hub, extra); /* for the teardown's clean stop */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_through_dps),
        cmocka_unit_test(test_reconnect_storm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

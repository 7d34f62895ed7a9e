/* `azkit-hub telemetry`: stored device-to-cloud messages, and following new ones. */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"
#include "hub/service/sas.h"

static const char usage_telemetry[] =
    "usage: azkit-hub telemetry [--device ID] [--after SEQ] [--max N] [--follow]\n"
    "  prints stored device-to-cloud messages; --follow waits for new ones (Ctrl-C stops;\n"
    "  with --json one object per line)\n";

/* ---- telemetry ------------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void print_record(const cJSON *r)
{
    if (cli_json()) {
        char *s = cJSON_PrintUnformatted(r);
        if (s) {
            puts(s);
            free(s);
        }
        return;
    }
    char *props = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r, "properties"));
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "seq");
    printf("#%" PRIu64 " %s %s [%s]%s%s %s\n",
           cJSON_IsNumber(seq) ? (uint64_t)seq->valuedouble : 0, hub_admin_jstr(r, "enqueuedTime"),
           hub_admin_jstr(r, "deviceId"), hub_admin_jstr(r, "messageType"),
           props && strcmp(props, "{}") != 0 ? " " : "", props && strcmp(props, "{}") != 0 ? props : "",
           hub_admin_jstr(r, "payload") ? hub_admin_jstr(r, "payload") : "");
    free(props);
}

int hub_admin_telemetry(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage_telemetry, stdout);
        return CLI_EXIT_OK;
    }
    const char *device = NULL;
    bool follow = false, have_after = false;
    long after = 0, max = 100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--device") == 0 && v)
            device = argv[++i];
        else if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0)
            follow = true;
        else if (strcmp(a, "--after") == 0 && v) {
            if (!cli_parse_int(argv[++i], 0, INT64_MAX / 4, &after))
                return cli_usage(usage_telemetry, "--after needs a sequence number");
            have_after = true;
        } else if (strcmp(a, "--max") == 0 && v) {
            if (!cli_parse_int(argv[++i], 1, 1000, &max))
                return cli_usage(usage_telemetry, "--max is 1..1000");
        } else
            return cli_usage(usage_telemetry, "unknown option or missing value: %s", a);
    }
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0)
        return CLI_EXIT_FAIL;
    char edev[HUB_SAS_SR_MAX * 3] = "";
    if (device)
        hub_admin_pct(device, edev, sizeof(edev));
    char path[HUB_SAS_SR_MAX * 3 + 128];
    if (follow && !have_after) {
        /* Start at the end: ask for nothing newer than a huge seq to learn the last one. */
        if (hub_admin_do(&c, "GET", "/azkit/telemetry?after=1000000000000000&max=1", NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(c.json, "hubLastSeq");
        after = cJSON_IsNumber(l) ? (long)l->valuedouble : 0;
        hub_admin_call_done(&c);
    }
    if (!follow) {
        snprintf(path, sizeof(path), "/azkit/telemetry?after=%ld&max=%ld%s%s", after, max,
                 device ? "&device=" : "", edev);
        if (hub_admin_do(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        if (cli_json())
            return hub_admin_print(&c, NULL);
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(c.json, "records"))
            print_record(r);
        hub_admin_call_done(&c);
        return CLI_EXIT_OK;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    c.t.timeout_s = 60;
    while (!g_stop) {
        snprintf(path, sizeof(path), "/azkit/telemetry?after=%ld&max=%ld&wait=30%s%s", after,
                 max, device ? "&device=" : "", edev);
        char err[512];
        int rc = hub_admin_request(&c.t, "GET", path, NULL, 0, NULL, 0, &c.r, err, sizeof(err));
        if (g_stop)
            break;
        if (rc != 0 || c.r.status != 200) {
            hub_http_response_free(&c.r);
            return cli_fail_status(rc, c.r.status, "hub.unreachable", "%s", rc ? err : "telemetry request failed");
        }
        cJSON *j = cJSON_ParseWithLength(c.r.body, c.r.body_len);
        hub_http_response_free(&c.r);
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "records"))
            print_record(r);
        fflush(stdout);
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "lastSeq");
        if (cJSON_IsNumber(l))
            after = (long)l->valuedouble;
        cJSON_Delete(j);
    }
    return CLI_EXIT_OK;
}

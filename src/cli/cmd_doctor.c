/* azkit doctor: checks the credentials of a device's TLS socket the way Azure will judge them
 * and, given an endpoint, tries the connection (DPS registration, IoT Hub) and says in words
 * what failed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/client.h"
#include "azkit/client_posix.h"
#include "azkit/doctor.h"
#include "azkit/tls_tags.h"
#include "cli/cli.h"
#include "cli/cred_cli.h"
#include "cli/device_opts.h"

static const char usage[] =
    "usage: azkit doctor [--sec-tag N]... [--id-scope S [--registration-id R] [--dps-host H]\n"
    "                    | --hub H [--device-id D]] [--connect-address A] [--offline]\n"
    "Checks the credentials the device's TLS socket uses (tag by tag, type by type) the way\n"
    "Azure will judge them, then -- given --id-scope or --hub, unless --offline -- registers\n"
    "and connects once and says what failed.\n"
    "\n"
    "  --sec-tag N          a tag the socket uses (repeatable, in order; default 10)\n"
    "  --id-scope S         check DPS registration (the registration id defaults to the CN)\n"
    "  --registration-id R  the id the device registers with\n"
    "  --dps-host H[:P]     default global.azure-devices-provisioning.net\n"
    "  --hub H[:P]          check a direct IoT Hub connection (--device-id D)\n"
    "  --connect-address A  connect here instead of resolving the names\n"
    "  --offline            only the credential checks\n"
    "  --json               {\"ok\":bool,\"checks\":[{\"id\",\"status\",\"message\",\"fix\"}]}\n"
    "exit status: 0 nothing failed, 1 a check failed, 2 usage error\n";

enum { O_OFFLINE = 1000 };

static const struct option opts[] = {
    CLI_DEVICE_OPTIONS,
    {"offline", no_argument, NULL, O_OFFLINE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The connection test: what happened, for the report. */
struct live {
    struct azk_doctor_report *r;
    char assigned[300];
    bool connected;
};

static void live_event(void *ctx, const struct azk_client_event *ev)
{
    struct live *l = ctx;
    if (ev->kind == AZK_CLIENT_EV_DPS_ASSIGNED) {
        snprintf(l->assigned, sizeof(l->assigned), "%.*s", (int)ev->hub.len, ev->hub.ptr);
        azk_doctor_add(l->r, "connect.dps", AZK_CHECK_OK, NULL,
                       "DPS assigned hub %.*s, device '%.*s' (%.*s)", (int)ev->hub.len,
                       ev->hub.ptr, (int)ev->device_id.len, ev->device_id.ptr,
                       (int)ev->substatus.len, ev->substatus.ptr);
    } else if (ev->kind == AZK_CLIENT_EV_CONNECTED) {
        l->connected = true;
        azk_doctor_add(l->r, "connect.hub", AZK_CHECK_OK, NULL,
                       "connected to %.*s as '%.*s' and subscribed", (int)ev->hub.len,
                       ev->hub.ptr, (int)ev->device_id.len, ev->device_id.ptr);
    } else if (ev->kind == AZK_CLIENT_EV_FAILED) {
        struct azk_span why = ev->text;
        if (ev->failure == AZK_CLIENT_F_CONNACK && why.len == 0)
            why = azk_span_from_str(azk_connack_text(ev->code));
        const char *stage = l->assigned[0] ? "connect.hub" : "connect.dps";
        char code[32] = "";
        if (ev->code != 0)
            snprintf(code, sizeof(code), ", code %d", ev->code);
        azk_doctor_add(l->r, stage, AZK_CHECK_FAIL,
                       "See the credential checks above; `azkit-hub`'s log names the rule a "
                       "local hub applied.",
                       "%s failed (%s%s): %.*s", l->assigned[0] ? "IoT Hub" : "DPS",
                       azk_client_failure_name(ev->failure), code, (int)why.len, why.ptr);
    }
}

static int64_t live_turn(void *ctx, struct azk_client *c, uint64_t now)
{
    (void)c;
    (void)now;
    return ((struct live *)ctx)->connected ? -1 : 0;
}

static void print_human(const struct azk_doctor_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        const struct azk_check *c = &r->checks[i];
        const char *mark = c->status == AZK_CHECK_OK     ? "[ok]  "
                           : c->status == AZK_CHECK_INFO ? "[info]"
                           : c->status == AZK_CHECK_WARN ? "[warn]"
                           : c->status == AZK_CHECK_FAIL ? "[FAIL]"
                                                         : "[skip]";
        printf("%s %s: %s\n", mark, c->id, c->message);
        if (c->fix[0] && c->status != AZK_CHECK_OK)
            printf("       fix: %s\n", c->fix);
    }
}

int cli_doctor(const struct cli_opts *cli, int argc, char **argv)
{
    struct cli_device dv = {0};
    bool offline = false;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int taken = cli_device_take(&dv, ch, optarg, usage);
        if (taken > 1)
            return taken;
        if (taken == 1)
            continue;
        switch (ch) {
        case 'h':
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        case O_OFFLINE: offline = true; break;
        default:
            return cli_usage(usage, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(usage, "unexpected argument: %s", argv[optind]);
    int urc = cli_device_finish(&dv, usage, false);
    if (urc != 0)
        return urc;
    struct azk_credstore *store = NULL;
    int rc = cli_cred_open(cli, &store);
    if (rc != 0)
        return rc;
    static struct azk_doctor_report report;
    struct azk_doctor_opts o = {
        .store = store,
        .tags = dv.tags,
        .ntags = dv.ntags,
        .id = dv.reg ? dv.reg : dv.dev,
        .id_is_registration = dv.reg != NULL || (dv.hub == NULL && dv.dev == NULL),
        .host = dv.scope ? (dv.dps ? dv.dps : AZK_CLIENT_DPS_HOST_DEFAULT) : dv.hub,
    };
    rc = azk_doctor_check_store(&o, &report);
    if (rc != 0) {
        azk_credstore_close(store);
        return cli_fail(rc, NULL, "cannot check the store");
    }
    /* The connection test, when there is somewhere to connect and the credentials allow it. */
    if ((dv.scope || dv.hub) && !offline) {
        struct azk_diag d;
        azk_diag_init(&d);
        struct azk_tls_tags_info ti;
        SSL_CTX *tls = NULL;
        if (azk_tls_ctx_from_tags(store, dv.tags, dv.ntags, &tls, &ti, &d) != 0 ||
            !ti.has_client) {
            azk_doctor_add(&report, "connect", AZK_CHECK_SKIPPED, NULL,
                           "no connection test: the credentials above cannot make a TLS client "
                           "connection");
        } else {
            struct live l = {.r = &report};
            /* One attempt: the doctor reports the first failure, it does not wait it out. */
            struct azk_client_config cfg = {.on_event = live_event, .ctx = &l,
                                            .response_timeout_ms = 20000, .no_retry = true};
            cli_device_client_config(&dv, &ti, &cfg);
            static uint8_t work[32 * 1024];
            struct azk_client c;
            if (azk_client_init(&c, &cfg, work, sizeof(work)) != 0) {
                azk_doctor_add(&report, "connect", AZK_CHECK_FAIL,
                               "Check the id scope (letters, digits), the ids and the hosts "
                               "(name[:port]).",
                               "the connection settings are not valid");
            } else {
                struct azk_posix_opts po = {.tls = tls, .connect_address = dv.addr,
                                            .on_turn = live_turn, .ctx = &l,
                                            .trusted_cas = ti.ca_subjects};
                azk_client_run_posix(&c, &po);
            }
        }
        SSL_CTX_free(tls);
    }
    azk_credstore_close(store);
    enum azk_check_status worst = azk_doctor_worst(&report);
    if (cli->json) {
        cJSON *o2 = cJSON_CreateObject();
        cJSON_AddBoolToObject(o2, "ok", worst != AZK_CHECK_FAIL);
        cJSON *arr = cJSON_AddArrayToObject(o2, "checks");
        for (size_t i = 0; i < report.count; i++) {
            const struct azk_check *c = &report.checks[i];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "id", c->id);
            cJSON_AddStringToObject(e, "status", azk_check_status_name(c->status));
            cJSON_AddStringToObject(e, "message", c->message);
            cJSON_AddStringToObject(e, "fix", c->fix);
            cJSON_AddItemToArray(arr, e);
        }
        cli_json_emit(o2);
    } else {
        print_human(&report);
        printf("%s\n", worst == AZK_CHECK_FAIL ? "doctor: problems found (see [FAIL] above)"
                       : worst == AZK_CHECK_WARN ? "doctor: no failures; see the warnings"
                                                 : "doctor: all good");
    }
    return worst == AZK_CHECK_FAIL ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

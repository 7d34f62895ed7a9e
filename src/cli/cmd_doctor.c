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
#include "cli/doctor_probe.h"

static const char usage[] =
    "usage: azkit doctor [--sec-tag N]... [--id-scope S [--registration-id R] [--dps-host H]\n"
    "                    | --hub H [--device-id D]] [--register] [--connect]\n"
    "                    [--handshake] [--connect-address A] [--enrollment-ca FILE]\n"
    "                    [--profile nrf9160]\n"
    "       azkit doctor --errno N|NAME   (the same as azkit errno N|NAME)\n"
    "Checks the credentials the device's TLS socket uses (tag by tag, type by type) the way\n"
    "Azure will judge them. It works offline and changes nothing unless asked:\n"
    "  --handshake resolves the host, connects and does a TLS handshake with the tags'\n"
    "              credentials, no MQTT: the server's chain, whether the tags verify it and\n"
    "              which of Azure's roots would (also done before --register / --connect)\n"
    "  --register  (with --id-scope) registers with DPS once, as the device: DPS creates or\n"
    "              updates the registration record and the device in the hub it assigns\n"
    "  --connect   connects to the hub as the device (with --hub, or after --register): IoT\n"
    "              Hub keeps one connection per device id, so a running device with this id\n"
    "              is disconnected while the test connects\n"
    "The report says what was done online, and what was not.\n"
    "\n"
    "  --sec-tag N          a tag the socket uses (repeatable, in order; default 10). NCS\n"
    "                       offers two: CONFIG_MQTT_HELPER_SEC_TAG and _SECONDARY_SEC_TAG\n"
    "  --id-scope S         the DPS id scope (the registration id defaults to the CN)\n"
    "  --registration-id R  the id the device registers with\n"
    "  --dps-host H[:P]     default global.azure-devices-provisioning.net\n"
    "  --hub H[:P]          the IoT Hub the device connects to directly (--device-id D)\n"
    "  --connect-address A  connect here instead of resolving the names\n"
    "  --enrollment-ca FILE the CA certificate the DPS enrollment group (or hub CA) is on:\n"
    "                       checks offline that the chain in type 1 reaches it\n"
    "  --profile nrf9160    the modem's limits: at most 7 tags per socket; the connection\n"
    "                       test uses TLS 1.2 only, and the server's chain may not exceed\n"
    "                       the modem's 4 KB\n"
    "  --offline            no online work (the default; kept for old scripts)\n"
    "  --errno N|NAME       what an error number means on an nRF91 and on Linux\n"
    "  --json               {\"ok\":bool,\"online\":{\"attempted\",\"registered\",\"connected\"},\n"
    "                       \"checks\":[{\"id\",\"status\",\"message\",\"fix\"}],\n"
    "                       \"summary\":[{\"id\",\"status\",\"fix\"}] (most likely cause first)}\n"
    "exit status: 0 nothing failed, 1 a check failed, 2 usage error\n";

enum { O_OFFLINE = 1000, O_REGISTER, O_CONNECT, O_ERRNO, O_ENROLL_CA, O_PROFILE, O_HANDSHAKE };

static const struct option opts[] = {
    CLI_DEVICE_OPTIONS,
    {"offline", no_argument, NULL, O_OFFLINE},
    {"register", no_argument, NULL, O_REGISTER},
    {"connect", no_argument, NULL, O_CONNECT},
    {"errno", required_argument, NULL, O_ERRNO},
    {"enrollment-ca", required_argument, NULL, O_ENROLL_CA},
    {"profile", required_argument, NULL, O_PROFILE},
    {"handshake", no_argument, NULL, O_HANDSHAKE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The connection test: what happened, for the report. */
struct live {
    struct azk_doctor_report *r;
    char assigned[300];
    bool direct;      /* --hub: no DPS stage */
    bool connect;     /* --connect: go on to the hub after DPS */
    bool attempted, registered, connected;
    bool twin_asked, twin_done; /* the hub stage ends with a twin GET, as a device starts */
    uint64_t twin_deadline;
};

/* The fix for a failed connection test, by what failed. */
static const char *failure_fix(const struct azk_client_event *ev)
{
    struct azk_span t = ev->text;
    char text[400];
    snprintf(text, sizeof(text), "%.*s", (int)t.len, t.ptr);
    switch (ev->failure) {
    case AZK_CLIENT_F_TRANSPORT:
        if (strstr(text, "does not resolve"))
            return "Check the host name (DPS: --dps-host, default "
                   "global.azure-devices-provisioning.net; a hub: the assignedHub DPS returned) "
                   "and DNS: `getent hosts NAME`.";
        if (strstr(text, "ECONNREFUSED") || strstr(text, "nothing accepts"))
            return "Check the port (MQTT over TLS is 8883) and that the server runs.";
        if (strstr(text, "certificate") || strstr(text, "TLS"))
            return "Put the root that signed the server's certificate into a tag as type 0 "
                   "(tags.azure-root above), and send the client chain (client.chain above).";
        return "Check the network, the host and the port.";
    case AZK_CLIENT_F_CONNACK:
        return "The hub did not accept this certificate for this device id: register the "
               "device (thumbprint, or CA-signed with the CA verified), enable it, and use the "
               "certificate's CN as the device id; azkit-hub's log names the rule it applied.";
    case AZK_CLIENT_F_DPS_UNAUTHORIZED:
        return "No enabled enrollment matches: the registration id must be the CN, the chain in "
               "type 1 must reach the enrolled CA (check with --enrollment-ca FILE), and the "
               "id scope must be the DPS instance's.";
    case AZK_CLIENT_F_DPS_DISABLED:
        return "Enable the enrollment (or the device's registration) in DPS.";
    case AZK_CLIENT_F_TIMEOUT:
        return "No answer in time: the network, or a server that accepts TCP but does not "
               "answer MQTT.";
    default:
        return "See the credential checks above; azkit-hub's log names the rule a local hub "
               "applied.";
    }
}

static void live_event(void *ctx, const struct azk_client_event *ev)
{
    struct live *l = ctx;
    if (ev->kind == AZK_CLIENT_EV_DPS_ASSIGNED) {
        snprintf(l->assigned, sizeof(l->assigned), "%.*s", (int)ev->hub.len, ev->hub.ptr);
        l->registered = true;
        azk_doctor_add(l->r, "connect.dps", AZK_CHECK_OK, NULL,
                       "DPS assigned hub %.*s, device '%.*s' (%.*s)", (int)ev->hub.len,
                       ev->hub.ptr, (int)ev->device_id.len, ev->device_id.ptr,
                       (int)ev->substatus.len, ev->substatus.ptr);
    } else if (ev->kind == AZK_CLIENT_EV_CONNECTED) {
        l->connected = true;
        azk_doctor_add(l->r, "connect.hub", AZK_CHECK_OK, NULL,
                       "connected to %.*s as '%.*s' and subscribed", (int)ev->hub.len,
                       ev->hub.ptr, (int)ev->device_id.len, ev->device_id.ptr);
    } else if (ev->kind == AZK_CLIENT_EV_TWIN && l->twin_asked && !l->twin_done) {
        l->twin_done = true;
        if (ev->status == 200)
            azk_doctor_add(l->r, "connect.twin", AZK_CHECK_OK, NULL,
                           "twin GET answered 200 (%zu bytes): the device is fully served",
                           ev->payload.len);
        else
            azk_doctor_add(l->r, "connect.twin", AZK_CHECK_FAIL,
                           "A 429 is throttling: retry later; other statuses: see the hub's log.",
                           "twin GET answered %d", ev->status);
    } else if (ev->kind == AZK_CLIENT_EV_FAILED) {
        struct azk_span why = ev->text;
        if (ev->failure == AZK_CLIENT_F_CONNACK && why.len == 0)
            why = azk_span_from_str(azk_connack_text(ev->code));
        bool at_hub = l->direct || l->assigned[0];
        const char *stage = at_hub ? "connect.hub" : "connect.dps";
        char code[32] = "";
        if (ev->code != 0)
            snprintf(code, sizeof(code), ", code %d", ev->code);
        azk_doctor_add(l->r, stage, AZK_CHECK_FAIL, failure_fix(ev),
                       "%s failed (%s%s): %.*s", at_hub ? "IoT Hub" : "DPS",
                       azk_client_failure_name(ev->failure), code, (int)why.len, why.ptr);
    }
}

static int64_t live_turn(void *ctx, struct azk_client *c, uint64_t now)
{
    struct live *l = ctx;
    /* Registered and not asked to connect: stop before the hub connection starts. */
    if (l->registered && !l->connect && !l->connected)
        return -1;
    if (!l->connected)
        return 0;
    if (!l->twin_asked) {
        char rid[16];
        if (azk_client_twin_get(c, rid, sizeof(rid)) != 0)
            return (int64_t)now + 50; /* the output buffer is busy: try again */
        l->twin_asked = true;
        l->twin_deadline = now + 10000;
    }
    if (l->twin_done)
        return -1;
    if (now >= l->twin_deadline) {
        azk_doctor_add(l->r, "connect.twin", AZK_CHECK_FAIL,
                       "The hub accepted the connection but does not answer twin requests: see "
                       "its log.", "no answer to a twin GET within 10 s");
        l->twin_done = true;
        return -1;
    }
    return (int64_t)l->twin_deadline;
}

/* The failed and warned checks again, most likely cause first (azk_doctor_ranked). */
static void print_summary(const struct azk_doctor_report *r)
{
    size_t idx[AZK_DOCTOR_MAX_CHECKS];
    size_t n = azk_doctor_ranked(r, idx, AZK_DOCTOR_MAX_CHECKS);
    if (n == 0)
        return;
    printf("\nmost likely cause first:\n");
    for (size_t i = 0; i < n; i++) {
        const struct azk_check *c = &r->checks[idx[i]];
        printf("  %zu. %s %s\n", i + 1, c->id,
               c->status == AZK_CHECK_FAIL ? "(failure)" : "(warning)");
        if (c->fix[0])
            printf("     fix: %s\n", c->fix);
    }
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
    bool reg = false, connect = false, handshake = false;
    const char *errno_arg = NULL, *enroll_ca = NULL;
    enum azk_doctor_profile profile = AZK_DOCTOR_PROFILE_ANY;
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
        case O_OFFLINE: break;
        case O_REGISTER: reg = true; break;
        case O_HANDSHAKE: handshake = true; break;
        case O_CONNECT: connect = true; break;
        case O_ERRNO: errno_arg = optarg; break;
        case O_ENROLL_CA: enroll_ca = optarg; break;
        case O_PROFILE:
            if (strcmp(optarg, "nrf9160") != 0 && strcmp(optarg, "any") != 0)
                return cli_usage(usage, "--profile takes nrf9160 or any, not '%s'", optarg);
            profile = strcmp(optarg, "nrf9160") == 0 ? AZK_DOCTOR_PROFILE_NRF9160
                                                     : AZK_DOCTOR_PROFILE_ANY;
            break;
        default:
            return cli_usage(usage, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(usage, "unexpected argument: %s", argv[optind]);
    if (errno_arg != NULL)
        return cli_errno_explain(cli, errno_arg);
    if (handshake && dv.scope == NULL && dv.hub == NULL)
        return cli_usage(usage, "--handshake needs --id-scope (DPS) or --hub H");
    if (reg && dv.scope == NULL)
        return cli_usage(usage, "--register needs --id-scope (the DPS to register with)");
    if (connect && dv.hub == NULL && !reg)
        return cli_usage(usage, "--connect needs --hub H, or --id-scope S --register (DPS "
                         "names the hub)");
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
        .enrollment_ca_file = enroll_ca,
        .profile = profile,
    };
    rc = azk_doctor_check_store(&o, &report);
    if (rc != 0) {
        azk_credstore_close(store);
        return cli_fail(rc, NULL, "cannot check the store");
    }
    /* Online work, only when asked (--register, --connect). */
    struct live l = {.r = &report, .direct = dv.hub != NULL, .connect = connect};
    if (reg || connect || handshake) {
        l.attempted = true;
        struct azk_diag d;
        azk_diag_init(&d);
        struct azk_tls_tags_info ti = {0};
        SSL_CTX *tls = NULL;
        if (azk_tls_ctx_from_tags(store, dv.tags, dv.ntags, &tls, &ti, &d) != 0 ||
            !ti.has_client) {
            azk_doctor_add(&report, "connect", AZK_CHECK_SKIPPED, NULL,
                           "no connection test: the credentials above cannot make a TLS client "
                           "connection");
        } else {
            /* As the modem: TLS 1.2. */
            if (profile == AZK_DOCTOR_PROFILE_NRF9160)
                SSL_CTX_set_max_proto_version(tls, TLS1_2_VERSION);
            /* DNS, TCP, TLS: no MQTT, so nothing registered and nobody disconnected. */
            /* The nRF91 modem takes a server chain of at most 4 KB (modem firmware release
             * notes: "Maximum server certificate chain size has a limit of 4kB", quoted by
             * Nordic on DevZone, thread 114031). */
            cli_doctor_probe(&report, tls,
                             dv.hub ? dv.hub : (dv.dps ? dv.dps : AZK_CLIENT_DPS_HOST_DEFAULT),
                             dv.addr, profile == AZK_DOCTOR_PROFILE_NRF9160 ? 4096 : 0);
        }
        if (tls != NULL && ti.has_client && (reg || connect)) {
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
                if (reg && !connect && l.registered)
                    azk_doctor_add(&report, "connect.hub", AZK_CHECK_SKIPPED, NULL,
                                   "not connected to the assigned hub (--connect would connect "
                                   "as the device, disconnecting it if it is running)");
            }
        }
        SSL_CTX_free(tls);
    } else if (dv.scope || dv.hub) {
        azk_doctor_add(&report, "connect", AZK_CHECK_SKIPPED, NULL,
                       "offline: nothing was sent to %s. %s",
                       dv.hub ? dv.hub : (dv.dps ? dv.dps : AZK_CLIENT_DPS_HOST_DEFAULT),
                       dv.hub ? "--connect connects to the hub as the device (IoT Hub then "
                                "disconnects the device's own connection while the test runs)"
                              : "--register registers with DPS as the device (DPS creates or "
                                "updates its registration and the hub device); add --connect "
                                "to connect to the assigned hub as well");
    }
    azk_credstore_close(store);
    enum azk_check_status worst = azk_doctor_worst(&report);
    if (cli->json) {
        cJSON *o2 = cJSON_CreateObject();
        cJSON_AddBoolToObject(o2, "ok", worst != AZK_CHECK_FAIL);
        cJSON *on = cJSON_AddObjectToObject(o2, "online");
        cJSON_AddBoolToObject(on, "attempted", l.attempted);
        cJSON_AddBoolToObject(on, "registered", l.registered);
        cJSON_AddBoolToObject(on, "connected", l.connected);
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
        /* The ranked summary: ids in rank order (details in "checks"). */
        size_t idx[AZK_DOCTOR_MAX_CHECKS];
        size_t n = azk_doctor_ranked(&report, idx, AZK_DOCTOR_MAX_CHECKS);
        cJSON *sum = cJSON_AddArrayToObject(o2, "summary");
        for (size_t i = 0; i < n; i++) {
            const struct azk_check *c = &report.checks[idx[i]];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "id", c->id);
            cJSON_AddStringToObject(e, "status", azk_check_status_name(c->status));
            cJSON_AddStringToObject(e, "fix", c->fix);
            cJSON_AddItemToArray(sum, e);
        }
        cli_json_emit(o2);
    } else {
        print_human(&report);
        if (l.attempted && !reg && !connect)
            printf("online: DNS, TCP and a TLS handshake only (nothing registered, no device "
                   "connection)\n");
        else if (l.attempted)
            printf("online: %s; %s\n",
                   l.registered ? "registered with DPS" : "not registered",
                   l.connected ? "connected to the hub as the device" : "not connected");
        else
            printf("online: nothing was sent (--register / --connect to test the "
                   "connection)\n");
        print_summary(&report);
        printf("%s\n", worst == AZK_CHECK_FAIL ? "doctor: problems found (see [FAIL] above)"
                       : worst == AZK_CHECK_WARN ? "doctor: no failures; see the warnings"
                                                 : "doctor: all good");
    }
    return worst == AZK_CHECK_FAIL ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* azkit-hub: the local Azure IoT Hub emulator. `serve` runs the hub; the other commands
 * administer a running hub through its HTTPS service API (admin/). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cliutil/cliutil.h"
#include "common/fileio.h"
#include "hub/admin/admin.h"
#include "hub/amqp/eh_groups.h"
#include "hub/ev_mem.h"
#include "hub/config.h"
#include "hub/daemon.h"
#include "hub/log.h"

#ifndef AZK_VERSION
#define AZK_VERSION "0"
#endif

static const char usage_main[] =
    "usage: azkit-hub [--json] <command> [options]\n"
    "\n"
    "A local Azure IoT Hub: MQTT for devices (X.509), an HTTPS service API for tools.\n"
    "\n"
    "commands:\n"
    "  serve                 run the hub\n"
    "  device add|list|show|delete|enable|disable   the device registry\n"
    "  ca add|code|verify|list|show|delete          verified CAs (proof of possession)\n"
    "  twin show|set-desired                         device twins\n"
    "  method invoke                                 direct methods\n"
    "  c2d send                                      cloud-to-device messages\n"
    "  telemetry                                     device-to-cloud messages (--follow)\n"
    "  fault show|clear|refuse-connects|twin-throttle|puback-delay|drop   fault injection\n"
    "  fota upload|list|deploy|status|fault          firmware over the air (azure_fota)\n"
    "  consumer-group list|create|delete             Event Hubs consumer groups\n"
    "  enroll individual|group|list|show|delete|enable|disable   DPS enrollments\n"
    "  dps-ca add|code|verify|list|show|delete       DPS verified CAs (proof of possession)\n"
    "  registration show|delete                      DPS registration records\n"
    "  server-root show|set legacy|current           the root of the MQTT server chain\n"
    "\n"
    "how the admin commands find the hub (options accepted everywhere):\n"
    "  --data DIR          the hub's data directory (default ${XDG_DATA_HOME:-~/.local/share}/\n"
    "                      azkit/hub): <data>/service.json, pki/ca.pem, pki/service.key\n"
    "  --ready-file F      the file `serve --ready-file F` wrote (ports, CA, connection string)\n"
    "  --service-port N    the service API port (overrides the files)\n"
    "  --host H            address to connect to (default: the hub's listen address)\n"
    "  --hub HOST          which IoT hub the command is for, when `serve` has --linked-hub\n"
    "                      (default: the primary hub)\n"
    "  --json              one JSON object on stdout; errors as {\"error\":{...}}\n"
    "  -h, --help          help for a command\n"
    "\n"
    "exit status: 0 success, 1 failure, 2 usage error. Docs: docs/hub.md\n";

static const char usage_serve[] =
    "usage: azkit-hub serve [options]\n"
    "  --data DIR            data directory (PKI, database), created 0700\n"
    "  --listen ADDR         address of the listeners (default 127.0.0.1)\n"
    "  --mqtt-port N         MQTT over TLS port (default 8883; 0 = any free port)\n"
    "  --service-port N      HTTPS service API port (default 443; 0 = any free port)\n"
    "  --amqp-port N         AMQP over TLS port of the service side: C2D send and feedback\n"
    "                        (default 5671, skipped with a warning when taken; 0 = any free\n"
    "                        port)\n"
    "  --amqp-idle-timeout S idle timeout of AMQP connections (service side and Event Hubs\n"
    "                        endpoint): the peer must send at least an empty frame every\n"
    "                        S/2 seconds or is closed, and the hub sends them as the peer\n"
    "                        asks (default 240 as Azure; 0..86400; 0 = never)\n"
    "  --partitions N        partitions of the Event Hubs-compatible endpoint (1..32,\n"
    "                        default 4); a device's messages go to hash(device id) mod N\n"
    "  --telemetry-retention N  telemetry messages kept, at least (default 100000); the\n"
    "                        oldest are dropped a segment (N/7) at a time\n"
    "  --eventhubs-port N    plain AMQP (no TLS) on 127.0.0.1 for Event Hubs SDKs with\n"
    "                        UseDevelopmentEmulator=true (default 5672, skipped with a\n"
    "                        warning when taken; 0 = any free port; off = none)\n"
    "  --consumer-group NAME a consumer group of the Event Hubs-compatible endpoint besides\n"
    "                        $Default; repeatable (at most 16)\n"
    "  --hostname NAME       extra name (or IP) in the server certificate; repeatable; the\n"
    "                        first is the hub's HostName (default localhost)\n"
    "  --linked-hub HOST     another IoT hub served by this process (its own registry, twins,\n"
    "                        queues and telemetry), linked to DPS; a DNS name, told apart by\n"
    "                        TLS SNI and the username's host; repeatable (at most 8)\n"
    "  --server-key ec|rsa   key type of a new server certificate (default ec)\n"
    "  --tls-max 1.2|1.3     highest TLS version (default 1.3)\n"
    "  --server-root legacy|current  the root the MQTT listener's server chain ends at\n"
    "                        (default current: pki/ca.pem = pki/root-current.pem); switch a\n"
    "                        running hub with `azkit-hub server-root set`\n"
    "  --dps-retry-after S   DPS: retry-after of the 202 answers (default 3, as Azure; 0 =\n"
    "                        poll at once, for fast tests)\n"
    "  --dps-assign-delay S  DPS: seconds an assignment takes (default 0: done by the\n"
    "                        first poll)\n"
    "  --dps-webhook-timeout S  DPS custom allocation: seconds the webhook may take (default\n"
    "                        10; then the registration fails with 400207)\n"
    "  --dps-webhook-ca FILE DPS custom allocation: CA certificates (PEM) trusted for https\n"
    "                        webhooks besides the system's\n"
    "  --durability power|process  what a PUBACK or a 200 promises: power (default) the write\n"
    "                        is on stable storage (fsync per commit group); process it\n"
    "                        survives kill -9 of the hub, not power loss (no fsync), for CI\n"
    "  --max-handshakes N    connections served at once in the TLS handshake or before\n"
    "                        their CONNECT (default 256); more wait in the kernel's accept\n"
    "                        queue, so a saturated hub slows down instead of timing out\n"
    "                        handshakes it already started\n"
    "  --log-level L         error, warn, info (default) or debug\n"
    "  --ready-file F        written (0600, JSON) once listening: ports, CA path, connection\n"
    "                        string\n";

/* ---- serve ----------------------------------------------------------------------------- */

static void write_service_json(const struct hub_daemon *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "service_port", d->service_port);
    cJSON_AddNumberToObject(o, "mqtt_port", d->mqtt_port);
    cJSON_AddNumberToObject(o, "amqp_port", d->amqp_port);
    cJSON_AddNumberToObject(o, "eventhubs_port", d->eventhubs_port);
    cJSON_AddStringToObject(o, "hostname", d->hubs[0].hostname);
    cJSON_AddStringToObject(o, "listen", d->cfg.listen);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        return;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/service.json", d->cfg.data_dir);
    size_t l = strlen(s);
    s[l] = '\n';
    if (azki_atomic_write_path(path, s, l + 1, 0600, false) != 0)
        hub_log(HUB_LOG_WARN, "cannot write %s: admin commands then need --service-port", path);
    free(s);
}

static int cmd_serve(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage_serve, stdout);
        return CLI_EXIT_OK;
    }
    struct hub_config cfg;
    hub_config_defaults(&cfg);
    if (hub_admin_opts.data)
        snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", hub_admin_opts.data);
    if (hub_admin_opts.ready_file)
        cfg.ready_file = hub_admin_opts.ready_file;
    if (hub_admin_opts.service_port >= 0)
        cfg.service_port = (int)hub_admin_opts.service_port;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--listen") == 0 && v) {
            cfg.listen = v;
        } else if (strcmp(a, "--mqtt-port") == 0 && v) {
            if (!cli_parse_int(v, 0, 65535, &n))
                return cli_usage(usage_serve, "--mqtt-port needs a port number 0..65535");
            cfg.mqtt_port = (int)n;
        } else if (strcmp(a, "--amqp-port") == 0 && v) {
            if (!cli_parse_int(v, 0, 65535, &n))
                return cli_usage(usage_serve, "--amqp-port needs a port number 0..65535");
            cfg.amqp_port = (int)n;
            cfg.amqp_port_given = true;
        } else if (strcmp(a, "--amqp-idle-timeout") == 0 && v) {
            if (!cli_parse_int(v, 0, 86400, &n))
                return cli_usage(usage_serve, "--amqp-idle-timeout needs seconds 0..86400 "
                                 "(0 = never)");
            cfg.amqp_idle_timeout_s = (unsigned)n;
        } else if (strcmp(a, "--partitions") == 0 && v) {
            if (!cli_parse_int(v, 1, 32, &n))
                return cli_usage(usage_serve, "--partitions needs a number 1..32");
            cfg.partitions = (unsigned)n;
        } else if (strcmp(a, "--telemetry-retention") == 0 && v) {
            if (!cli_parse_int(v, 1, 1000000000, &n))
                return cli_usage(usage_serve, "--telemetry-retention needs a number of "
                                 "messages 1..1000000000");
            cfg.telemetry_retention = (uint64_t)n;
        } else if (strcmp(a, "--eventhubs-port") == 0 && v) {
            if (strcmp(v, "off") == 0)
                cfg.eventhubs_port = -1;
            else if (!cli_parse_int(v, 0, 65535, &n))
                return cli_usage(usage_serve, "--eventhubs-port needs a port number 0..65535 "
                                 "or off");
            else
                cfg.eventhubs_port = (int)n;
            cfg.eventhubs_port_given = true;
        } else if (strcmp(a, "--consumer-group") == 0 && v) {
            if (cfg.consumer_group_count == HUB_CONSUMER_GROUPS_MAX)
                return cli_usage(usage_serve, "at most %d --consumer-group",
                                 HUB_CONSUMER_GROUPS_MAX);
            if (hub_eh_group_name_problem(v) != NULL)
                return cli_usage(usage_serve, "--consumer-group %s: %s", v,
                                 hub_eh_group_name_problem(v));
            cfg.consumer_groups[cfg.consumer_group_count++] = v;
        } else if (strcmp(a, "--hostname") == 0 && v) {
            if (cfg.hostname_count == HUB_MAX_HOSTNAMES)
                return cli_usage(usage_serve, "at most %d --hostname", HUB_MAX_HOSTNAMES);
            cfg.hostnames[cfg.hostname_count++] = v;
        } else if (strcmp(a, "--linked-hub") == 0 && v) {
            if (cfg.linked_count == HUB_LINKED_MAX)
                return cli_usage(usage_serve, "at most %d --linked-hub", HUB_LINKED_MAX);
            const char *why = hub_iothub_name_problem(v);
            if (why != NULL)
                return cli_usage(usage_serve, "--linked-hub '%s': %s", v, why);
            cfg.linked_hubs[cfg.linked_count++] = v;
        } else if (strcmp(a, "--server-key") == 0 && v) {
            if (strcmp(v, "ec") != 0 && strcmp(v, "rsa") != 0)
                return cli_usage(usage_serve, "--server-key is ec or rsa");
            cfg.server_key_rsa = strcmp(v, "rsa") == 0;
        } else if (strcmp(a, "--tls-max") == 0 && v) {
            if (strcmp(v, "1.2") == 0)
                cfg.tls_max = 12;
            else if (strcmp(v, "1.3") == 0)
                cfg.tls_max = 13;
            else
                return cli_usage(usage_serve, "--tls-max is 1.2 or 1.3");
        } else if (strcmp(a, "--server-root") == 0 && v) {
            if (hub_server_root_parse(v, &cfg.server_root) != 0)
                return cli_usage(usage_serve, "--server-root is legacy or current, not '%s'", v);
        } else if (strcmp(a, "--dps-retry-after") == 0 && v) {
            if (!cli_parse_int(v, 0, 3600, &n))
                return cli_usage(usage_serve, "--dps-retry-after needs seconds 0..3600");
            cfg.dps_retry_after_s = (unsigned)n;
        } else if (strcmp(a, "--durability") == 0 && v) {
            if (strcmp(v, "power") != 0 && strcmp(v, "process") != 0)
                return cli_usage(usage_serve, "--durability is power or process, not '%s'", v);
            cfg.durability_process = strcmp(v, "process") == 0;
        } else if (strcmp(a, "--dps-webhook-timeout") == 0 && v) {
            if (!cli_parse_int(v, 1, 600, &n))
                return cli_usage(usage_serve, "--dps-webhook-timeout needs seconds 1..600");
            cfg.dps_webhook_timeout_s = (unsigned)n;
        } else if (strcmp(a, "--dps-webhook-ca") == 0 && v) {
            cfg.dps_webhook_ca = v;
        } else if (strcmp(a, "--dps-assign-delay") == 0 && v) {
            if (!cli_parse_int(v, 0, 3600, &n))
                return cli_usage(usage_serve, "--dps-assign-delay needs seconds 0..3600");
            cfg.dps_assign_delay_s = (unsigned)n;
        } else if (strcmp(a, "--max-handshakes") == 0 && v) {
            if (!cli_parse_int(v, 1, 100000, &n))
                return cli_usage(usage_serve, "--max-handshakes needs a number 1..100000");
            cfg.max_admitting = (unsigned)n;
        } else if (strcmp(a, "--log-level") == 0 && v) {
            if (hub_log_parse_level(v, &cfg.log_level) != 0)
                return cli_usage(usage_serve, "--log-level is error, warn, info or debug");
        } else {
            return cli_usage(usage_serve, "unknown option or missing value: %s", a);
        }
    }
    /* Each linked hub is a hub of its own: not the primary's name, not named twice. */
    const char *primary = cfg.hostname_count ? cfg.hostnames[0] : "localhost";
    for (size_t i = 0; i < cfg.linked_count; i++) {
        if (strcasecmp(cfg.linked_hubs[i], primary) == 0)
            return cli_usage(usage_serve, "--linked-hub %s is the primary hub's name (the "
                               "first --hostname, else localhost)", cfg.linked_hubs[i]);
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(cfg.linked_hubs[i], cfg.linked_hubs[j]) == 0)
                return cli_usage(usage_serve, "--linked-hub %s is given twice",
                                   cfg.linked_hubs[i]);
    }
    static struct hub_daemon d;
    int rc = hub_daemon_start(&d, &cfg);
    if (rc != 0) {
        hub_daemon_stop(&d);
        return cli_fail_status(rc, 0, "hub.start", "cannot start the hub (see the log above)");
    }
    write_service_json(&d);
    rc = hub_daemon_run(&d);
    hub_daemon_stop(&d);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- main ------------------------------------------------------------------------------ */

static int take_global_options(int *argc, char **argv)
{
    int out = 1;
    bool literal = false;
    hub_admin_opts.service_port = -1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!literal && strcmp(a, "--") == 0) {
            literal = true;
            continue;
        }
        if (!literal) {
            const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
            if (strcmp(a, "--json") == 0) {
                cli_set_json(true);
                continue;
            }
            if (strcmp(a, "--data") == 0 || strcmp(a, "--ready-file") == 0 ||
                strcmp(a, "--host") == 0 || strcmp(a, "--service-port") == 0 ||
                strcmp(a, "--hub") == 0) {
                if (v == NULL)
                    return cli_usage(NULL, "%s needs a value", a);
                if (strcmp(a, "--data") == 0)
                    hub_admin_opts.data = v;
                else if (strcmp(a, "--ready-file") == 0)
                    hub_admin_opts.ready_file = v;
                else if (strcmp(a, "--host") == 0)
                    hub_admin_opts.host = v;
                else if (strcmp(a, "--hub") == 0)
                    hub_admin_opts.iot_hub = v;
                else if (!cli_parse_int(v, 0, 65535, &hub_admin_opts.service_port))
                    return cli_usage(NULL, "--service-port needs a port number");
                i++;
                continue;
            }
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    hub_ev_mem_install(); /* before anything calls libevent */
    cli_set_program("azkit-hub");
    if (take_global_options(&argc, argv) != 0)
        return CLI_EXIT_USAGE;
    if (argc < 2)
        return cli_usage(usage_main, "a command is needed");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("azkit-hub %s\n", AZK_VERSION);
        return CLI_EXIT_OK;
    }
    signal(SIGPIPE, SIG_IGN);
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {
        {"serve", cmd_serve},
        {"device", hub_admin_device},
        {"ca", hub_admin_ca},
        {"twin", hub_admin_twin},
        {"method", hub_admin_method},
        {"c2d", hub_admin_c2d},
        {"telemetry", hub_admin_telemetry},
        {"fault", hub_admin_fault},
        {"fota", hub_admin_fota},
        {"consumer-group", hub_admin_consumer_group},
        {"enroll", hub_admin_enroll},
        {"dps-ca", hub_admin_dps_ca},
        {"registration", hub_admin_registration},
        {"server-root", hub_admin_server_root},
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return cli_usage(usage_main, "unknown command: %s", cmd);
}

/* azkit-hub: the local Azure IoT Hub emulator. `serve` runs the hub; the other commands
 * administer a running hub through its HTTPS service API (admin_client.c). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "azkit/azure_hub.h"
#include "azkit/common.h"
#include "azkit/pki.h"
#include "common/fileio.h"
#include "hub/admin/admin_client.h"
#include "hub/config.h"
#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/service/sas.h"
#include "hub/store/store.h"

#ifndef AZK_VERSION
#define AZK_VERSION "0"
#endif

enum { EXIT_OK_ = 0, EXIT_FAIL_ = 1, EXIT_USAGE_ = 2 };

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
    "  enroll individual|group|list|show|delete|enable|disable   DPS enrollments\n"
    "  dps-ca add|code|verify|list|show|delete       DPS verified CAs (proof of possession)\n"
    "  registration show|delete                      DPS registration records\n"
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
    "  --listen ADDR         address of both listeners (default 127.0.0.1)\n"
    "  --mqtt-port N         MQTT over TLS port (default 8883; 0 = any free port)\n"
    "  --service-port N      HTTPS service API port (default 443; 0 = any free port)\n"
    "  --hostname NAME       extra name (or IP) in the server certificate; repeatable; the\n"
    "                        first is the hub's HostName (default localhost)\n"
    "  --linked-hub HOST     another IoT hub served by this process (its own registry, twins,\n"
    "                        queues and telemetry), linked to DPS; a DNS name, told apart by\n"
    "                        TLS SNI and the username's host; repeatable (at most 8)\n"
    "  --server-key ec|rsa   key type of a new server certificate (default ec)\n"
    "  --tls-max 1.2|1.3     highest TLS version (default 1.3)\n"
    "  --dps-retry-after S   DPS: retry-after of the 202 answers (default 3)\n"
    "  --dps-assign-delay S  DPS: seconds an assignment takes (default 0: done by the\n"
    "                        first poll)\n"
    "  --log-level L         error, warn, info (default) or debug\n"
    "  --ready-file F        written (0600, JSON) once listening: ports, CA path, connection\n"
    "                        string\n";

static const char usage_device[] =
    "usage: azkit-hub device <command>\n"
    "  add ID (--thumbprint HEX [--secondary-thumbprint HEX] | --cert FILE | --ca-signed)\n"
    "         [--disabled]       register an X.509 device (selfSigned or certificateAuthority)\n"
    "  list                      every device\n"
    "  show ID                   one device\n"
    "  delete ID                 remove it (with its twin and C2D queue)\n"
    "  enable ID | disable ID    set its status (disabling disconnects it)\n";

static const char usage_ca[] =
    "usage: azkit-hub ca <command>\n"
    "  add NAME FILE                          upload a CA certificate (unverified)\n"
    "  code NAME                              generate a proof-of-possession code\n"
    "  verify NAME --ca-key KEY               whole proof of possession with the CA's key\n"
    "  verify NAME --verification-cert FILE   verify with a certificate whose CN is the code\n"
    "  list | show NAME | delete NAME\n";

static const char usage_enroll[] =
    "usage: azkit-hub enroll <command>   (Device Provisioning Service enrollments, X.509)\n"
    "  individual ID --cert FILE [--secondary-cert FILE] [--device-id X] [COMMON]\n"
    "                  create or replace an individual enrollment (the device's certificate)\n"
    "  group ID (--cert CA_FILE | --ca-ref NAME) [COMMON]\n"
    "                  create or replace an enrollment group (a signing certificate, or a\n"
    "                  verified DPS CA: see dps-ca)\n"
    "    COMMON: [--iot-hub HOST] [--allocation hashed|static] [--iot-hubs H1,H2]\n"
    "            [--reprovision migrate|update|never] [--initial-twin JSON] [--disabled]\n"
    "      --iot-hub/--iot-hubs name linked hubs (serve --linked-hub); --reprovision: when\n"
    "      the hub changes, migrate the twin (default), update (reset to the initial twin)\n"
    "      or never (stay on the first hub)\n"
    "  list            every individual enrollment and group\n"
    "  show ID | delete ID | enable ID | disable ID  [--group]\n"
    "                  an individual enrollment, else the group of that id (--group: only\n"
    "                  groups)\n";

static const char usage_dps_ca[] =
    "usage: azkit-hub dps-ca <command>   (DPS's verified CAs, separate from the hub's `ca`)\n"
    "  add NAME FILE                          upload a CA certificate (unverified)\n"
    "  verify NAME --ca-key KEY               whole proof of possession with the CA's key\n"
    "  verify NAME --verification-cert FILE   verify with a certificate whose CN is the code\n"
    "  code NAME | list | show NAME | delete NAME\n";

static const char usage_registration[] =
    "usage: azkit-hub registration <command>   (DPS registration records)\n"
    "  show ID        the registration state of a registration id\n"
    "  delete ID      forget it (the device registers again as new)\n";

static const char usage_twin[] =
    "usage: azkit-hub twin <command>\n"
    "  show ID                    the twin\n"
    "  set-desired ID JSON        merge JSON into the desired properties (null deletes)\n";

static const char usage_method[] =
    "usage: azkit-hub method invoke ID NAME [--payload JSON] [--timeout S]\n"
    "  calls a direct method; prints the device's status and payload (timeout 5..300, default 30)\n";

static const char usage_c2d[] =
    "usage: azkit-hub c2d send ID TEXT [--property k=v]... [--message-id ID] [--ttl S]\n"
    "  queues a cloud-to-device message (delivered at once when the device is connected)\n";

static const char usage_fault[] =
    "usage: azkit-hub fault <command>\n"
    "  show                          the current fault settings\n"
    "  clear                         remove every fault\n"
    "  refuse-connects N [--code C]  refuse the next N CONNECTs with CONNACK C (3 or 5; default 3)\n"
    "  twin-throttle N               answer the next N twin requests with 429\n"
    "  puback-delay MS               delay every telemetry PUBACK by MS milliseconds (0: off)\n"
    "  drop ID                       drop the device's connection now\n"
    "Devices can also ask for a fault with the telemetry properties Azure's SDK tests use:\n"
    "AzIoTHub_FaultOperationType=KillTcp, AzIoTHub_FaultOperationCloseReason=...,\n"
    "AzIoTHub_FaultOperationDelayInSecs=S.\n";

static const char usage_telemetry[] =
    "usage: azkit-hub telemetry [--device ID] [--after SEQ] [--max N] [--follow]\n"
    "  prints stored device-to-cloud messages; --follow waits for new ones (Ctrl-C stops;\n"
    "  with --json one object per line)\n";

/* ---- output --------------------------------------------------------------------------- */

struct opts {
    bool json;
    const char *data;
    const char *ready_file;
    const char *host;
    const char *iot_hub; /* --hub HOST: which served IoT hub (default the primary) */
    long service_port;
};

static struct opts g;

static void emit(cJSON *o)
{
    char *s = cJSON_Print(o);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
    cJSON_Delete(o);
}

static int usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *usage, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "usage");
        cJSON_AddStringToObject(e, "message", msg);
        emit(o);
    }
    fprintf(stderr, "azkit-hub: %s\n", msg);
    if (usage)
        fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE_;
}

/* One command option: "--name VALUE" into *value, or, with flag set, a "--name" switch. */
struct opt {
    const char *name;
    const char **value;
    bool *flag;
};

/* Reads the options argv[first..] into `opts` (n of them). 0, or the usage error's exit code
 * for an unknown option or a missing value. */
static int take_opts(int argc, char **argv, int first, const struct opt *opts, size_t n,
                     const char *usage)
{
    for (int i = first; i < argc; i++) {
        const struct opt *o = NULL;
        for (size_t k = 0; k < n && o == NULL; k++)
            if (strcmp(argv[i], opts[k].name) == 0 && (opts[k].flag || i + 1 < argc))
                o = &opts[k];
        if (o == NULL)
            return usage_error(usage, "unknown option or missing value: %s", argv[i]);
        if (o->flag)
            *o->flag = true;
        else
            *o->value = argv[++i];
    }
    return 0;
}

/* A failure: {"error":{"errno","code","status","message"}} / "azkit-hub: message". */
static int fail(int rc, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int rc, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        if (rc != 0) {
            cJSON_AddNumberToObject(e, "errno", rc);
            cJSON_AddStringToObject(e, "reason", azk_strerror(rc));
        }
        if (status)
            cJSON_AddNumberToObject(e, "status", status);
        if (code && *code)
            cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", msg);
        emit(o);
    }
    fprintf(stderr, "azkit-hub: %s\n", msg);
    return EXIT_FAIL_;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* ---- serve ----------------------------------------------------------------------------- */

static void write_service_json(const struct hub_daemon *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "service_port", d->service_port);
    cJSON_AddNumberToObject(o, "mqtt_port", d->mqtt_port);
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
    if (azk_atomic_write_path(path, s, l + 1, 0600, false) != 0)
        hub_log(HUB_LOG_WARN, "cannot write %s: admin commands then need --service-port", path);
    free(s);
}

static int cmd_serve(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_serve, stdout);
        return EXIT_OK_;
    }
    struct hub_config cfg;
    hub_config_defaults(&cfg);
    if (g.data)
        snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", g.data);
    if (g.ready_file)
        cfg.ready_file = g.ready_file;
    if (g.service_port >= 0)
        cfg.service_port = (int)g.service_port;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--listen") == 0 && v) {
            cfg.listen = v;
        } else if (strcmp(a, "--mqtt-port") == 0 && v) {
            if (!parse_long(v, 0, 65535, &n))
                return usage_error(usage_serve, "--mqtt-port needs a port number 0..65535");
            cfg.mqtt_port = (int)n;
        } else if (strcmp(a, "--hostname") == 0 && v) {
            if (cfg.hostname_count == HUB_MAX_HOSTNAMES)
                return usage_error(usage_serve, "at most %d --hostname", HUB_MAX_HOSTNAMES);
            cfg.hostnames[cfg.hostname_count++] = v;
        } else if (strcmp(a, "--linked-hub") == 0 && v) {
            if (cfg.linked_count == HUB_LINKED_MAX)
                return usage_error(usage_serve, "at most %d --linked-hub", HUB_LINKED_MAX);
            const char *why = hub_iothub_name_problem(v);
            if (why != NULL)
                return usage_error(usage_serve, "--linked-hub '%s': %s", v, why);
            cfg.linked_hubs[cfg.linked_count++] = v;
        } else if (strcmp(a, "--server-key") == 0 && v) {
            if (strcmp(v, "ec") != 0 && strcmp(v, "rsa") != 0)
                return usage_error(usage_serve, "--server-key is ec or rsa");
            cfg.server_key_rsa = strcmp(v, "rsa") == 0;
        } else if (strcmp(a, "--tls-max") == 0 && v) {
            if (strcmp(v, "1.2") == 0)
                cfg.tls_max = 12;
            else if (strcmp(v, "1.3") == 0)
                cfg.tls_max = 13;
            else
                return usage_error(usage_serve, "--tls-max is 1.2 or 1.3");
        } else if (strcmp(a, "--dps-retry-after") == 0 && v) {
            if (!parse_long(v, 1, 3600, &n))
                return usage_error(usage_serve, "--dps-retry-after needs seconds 1..3600");
            cfg.dps_retry_after_s = (unsigned)n;
        } else if (strcmp(a, "--dps-assign-delay") == 0 && v) {
            if (!parse_long(v, 0, 3600, &n))
                return usage_error(usage_serve, "--dps-assign-delay needs seconds 0..3600");
            cfg.dps_assign_delay_s = (unsigned)n;
        } else if (strcmp(a, "--log-level") == 0 && v) {
            if (hub_log_parse_level(v, &cfg.log_level) != 0)
                return usage_error(usage_serve, "--log-level is error, warn, info or debug");
        } else {
            return usage_error(usage_serve, "unknown option or missing value: %s", a);
        }
    }
    /* Each linked hub is a hub of its own: not the primary's name, not named twice. */
    const char *primary = cfg.hostname_count ? cfg.hostnames[0] : "localhost";
    for (size_t i = 0; i < cfg.linked_count; i++) {
        if (strcasecmp(cfg.linked_hubs[i], primary) == 0)
            return usage_error(usage_serve, "--linked-hub %s is the primary hub's name (the "
                               "first --hostname, else localhost)", cfg.linked_hubs[i]);
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(cfg.linked_hubs[i], cfg.linked_hubs[j]) == 0)
                return usage_error(usage_serve, "--linked-hub %s is given twice",
                                   cfg.linked_hubs[i]);
    }
    static struct hub_daemon d;
    int rc = hub_daemon_start(&d, &cfg);
    if (rc != 0) {
        hub_daemon_stop(&d);
        return fail(rc, 0, "hub.start", "cannot start the hub (see the log above)");
    }
    write_service_json(&d);
    rc = hub_daemon_run(&d);
    hub_daemon_stop(&d);
    return rc == 0 ? EXIT_OK_ : EXIT_FAIL_;
}

/* ---- finding the hub ------------------------------------------------------------------- */

static void trim(char *s)
{
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
        s[--l] = '\0';
}

static cJSON *read_json_file(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (azk_file_read_all(path, &text, &len) != 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int resolve_target(struct hub_admin_target *t)
{
    memset(t, 0, sizeof(*t));
    struct hub_config cfg;
    hub_config_defaults(&cfg);
    const char *data = g.data ? g.data : cfg.data_dir;
    char listen[256] = "";
    long port = 0;
    if (g.ready_file != NULL) {
        cJSON *j = read_json_file(g.ready_file);
        if (j == NULL)
            return fail(-ENOENT, 0, "hub.not-found",
                        "cannot read the ready file %s (is `azkit-hub serve --ready-file %s` "
                        "running?)", g.ready_file, g.ready_file);
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "service_port");
        if (cJSON_IsNumber(sp))
            port = (long)sp->valuedouble;
        const char *h = jstr(j, "hostname"), *ca = jstr(j, "ca"), *cs = jstr(j, "connection_string");
        if (h)
            snprintf(t->sr, sizeof(t->sr), "%s", h);
        if (ca)
            snprintf(t->ca_file, sizeof(t->ca_file), "%s", ca);
        struct hub_conn_string c;
        if (cs && hub_conn_string_parse(cs, &c) == 0) {
            snprintf(t->key, sizeof(t->key), "%s", c.key);
            snprintf(t->skn, sizeof(t->skn), "%s", c.key_name);
            if (!t->sr[0])
                snprintf(t->sr, sizeof(t->sr), "%s", c.host_name);
        }
        const char *dd = jstr(j, "data");
        if (dd && !g.data) {
            static char dbuf[PATH_MAX];
            snprintf(dbuf, sizeof(dbuf), "%s", dd);
            data = dbuf;
        }
        cJSON_Delete(j);
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/service.json", data);
    cJSON *sj = port ? NULL : read_json_file(path);
    if (sj != NULL) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(sj, "service_port");
        if (cJSON_IsNumber(sp))
            port = (long)sp->valuedouble;
        const char *h = jstr(sj, "hostname"), *l = jstr(sj, "listen");
        if (h && !t->sr[0])
            snprintf(t->sr, sizeof(t->sr), "%s", h);
        if (l)
            snprintf(listen, sizeof(listen), "%s", l);
        cJSON_Delete(sj);
    }
    if (!t->ca_file[0])
        if (snprintf(t->ca_file, sizeof(t->ca_file), "%s/pki/ca.pem", data) >=
            (int)sizeof(t->ca_file))
            return fail(-ENAMETOOLONG, 0, "hub.path", "the data directory path is too long");
    if (!t->key[0]) {
        snprintf(path, sizeof(path), "%s/pki/service.key", data);
        char *k = NULL;
        size_t kl = 0;
        int rc = azk_file_read_all(path, &k, &kl);
        if (rc != 0)
            return fail(rc, 0, "hub.no-key",
                        "cannot read the service key %s -- fix: pass --data DIR of the hub, or "
                        "--ready-file F", path);
        snprintf(t->key, sizeof(t->key), "%s", k);
        trim(t->key);
        OPENSSL_cleanse(k, kl);
        free(k);
    }
    if (g.service_port > 0)
        port = g.service_port;
    if (port <= 0)
        return fail(-ENOENT, 0, "hub.not-found",
                    "cannot find the hub's service port (no %s/service.json) -- fix: start "
                    "`azkit-hub serve --data %s`, or pass --service-port N", data, data);
    t->port = (int)port;
    if (g.host) {
        snprintf(t->host, sizeof(t->host), "%s", g.host);
    } else if (listen[0] && strcmp(listen, "0.0.0.0") != 0 && strcmp(listen, "::") != 0 &&
               strcmp(listen, "[::]") != 0) {
        snprintf(t->host, sizeof(t->host), "%s", listen);
    } else {
        snprintf(t->host, sizeof(t->host), "%s", strcmp(listen, "::") == 0 ? "::1" : "127.0.0.1");
    }
    if (!t->sr[0])
        snprintf(t->sr, sizeof(t->sr), "%s", g.host ? g.host : "localhost");
    snprintf(t->tls_name, sizeof(t->tls_name), "%s", t->sr);
    /* Another served hub: its name goes in the Host header, the token and SNI (the server
     * certificate holds every served hub's name). */
    if (g.iot_hub != NULL) {
        snprintf(t->sr, sizeof(t->sr), "%s", g.iot_hub);
        snprintf(t->tls_name, sizeof(t->tls_name), "%s", g.iot_hub);
    }
    return 0;
}

/* ---- requests -------------------------------------------------------------------------- */

struct call {
    struct hub_admin_target t;
    struct hub_http_response r;
    cJSON *json; /* parsed body (or NULL) */
};

/* Makes a request; on a transport failure or an HTTP status >= 300 reports and returns
 * EXIT_FAIL_, else 0 with c->json parsed. */
static int call(struct call *c, const char *method, const char *path,
                const struct hub_admin_header *h, size_t nh, const char *body, size_t blen)
{
    char err[512];
    c->json = NULL;
    int rc = hub_admin_request(&c->t, method, path, h, nh, body, blen, &c->r, err, sizeof(err));
    if (rc != 0)
        return fail(rc, 0, "hub.unreachable", "%s", err[0] ? err : azk_strerror(rc));
    if (c->r.status >= 300) {
        char code[128], text[512];
        hub_admin_error_parse(&c->r, code, sizeof(code), text, sizeof(text));
        int x = fail(0, c->r.status, code[0] ? code : "http",
                     "%s %s: HTTP %d%s%s%s%s", method, path, c->r.status, code[0] ? " " : "",
                     code, text[0] ? ": " : "", text);
        hub_http_response_free(&c->r);
        return x;
    }
    if (c->r.body_len)
        c->json = cJSON_ParseWithLength(c->r.body, c->r.body_len);
    return 0;
}

static void call_done(struct call *c)
{
    cJSON_Delete(c->json);
    c->json = NULL;
    hub_http_response_free(&c->r);
}

static void enc(const char *s, char *out, size_t size)
{
    size_t n = 0;
    if (azk_pct_encode(azk_span_from_str(s), out, size, &n) != 0 || n >= size)
        n = 0;
    out[n] = '\0';
}

/* {"<key>": c->json} in JSON mode, else pretty JSON of c->json. Takes c->json. */
static int print_result(struct call *c, const char *key)
{
    cJSON *body = c->json ? c->json : cJSON_CreateNull();
    c->json = NULL;
    if (g.json && key) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, key, body);
        emit(o);
    } else {
        emit(body);
    }
    call_done(c);
    return EXIT_OK_;
}

/* ---- device ---------------------------------------------------------------------------- */

static int cert_thumbprint(const char *file, char out[65])
{
    char *pem = NULL;
    size_t len = 0;
    int rc = azk_file_read_all(file, &pem, &len);
    if (rc != 0)
        return rc;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(pem);
    if (x == NULL)
        return -EBADMSG;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    X509_digest(x, EVP_sha256(), md, &ml);
    X509_free(x);
    for (unsigned i = 0; i < ml; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
    return 0;
}

static int device_put(struct call *c, const char *id, cJSON *dev, const char *if_match)
{
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    enc(id, eid, sizeof(eid));
    snprintf(path, sizeof(path), "/devices/%s", eid);
    char *body = cJSON_PrintUnformatted(dev);
    cJSON_Delete(dev);
    char q[160];
    struct hub_admin_header h = {"If-Match", q};
    if (if_match)
        snprintf(q, sizeof(q), "\"%s\"", if_match);
    int rc = call(c, "PUT", path, &h, if_match ? 1 : 0, body, body ? strlen(body) : 0);
    free(body);
    return rc;
}

/* Shared start of every command group: no command or --help. Returns an exit status to return
 * at once, or -1 to go on. */
static int group_prologue(int argc, char **argv, const char *usage, const char *group)
{
    if (argc >= 2 && !wants_help(argc, argv))
        return -1;
    if (argc < 2)
        return usage_error(usage, "%s needs a command", group);
    fputs(usage, stdout);
    return EXIT_OK_;
}

static int cmd_device(int argc, char **argv)
{
    int pro = group_prologue(argc, argv, usage_device, "device");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    struct call c;
    memset(&c, 0, sizeof(c));
    if (strcmp(cmd, "list") == 0) {
        if (argc != 2)
            return usage_error(usage_device, "device list takes no arguments");
        if (resolve_target(&c.t) != 0 || call(&c, "GET", "/devices", NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        if (!g.json) {
            const cJSON *d;
            printf("%-32s %-22s %-9s %s\n", "DEVICE", "AUTH", "STATUS", "CONNECTION");
            cJSON_ArrayForEach(d, c.json) {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "authentication");
                printf("%-32s %-22s %-9s %s\n", jstr(d, "deviceId"), jstr(a, "type"),
                       jstr(d, "status"), jstr(d, "connectionState"));
            }
            call_done(&c);
            return EXIT_OK_;
        }
        return print_result(&c, "devices");
    }
    if (argc < 3)
        return usage_error(usage_device, "device %s needs a device id", cmd);
    const char *id = argv[2];
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    enc(id, eid, sizeof(eid));
    snprintf(path, sizeof(path), "/devices/%s", eid);
    if (strcmp(cmd, "add") == 0) {
        const char *tp = NULL, *tp2 = NULL, *cert = NULL;
        bool ca_signed = false, disabled = false;
        const struct opt opts[] = {
            {"--thumbprint", &tp, NULL}, {"--secondary-thumbprint", &tp2, NULL},
            {"--cert", &cert, NULL},     {"--ca-signed", NULL, &ca_signed},
            {"--disabled", NULL, &disabled},
        };
        int urc = take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), usage_device);
        if (urc != 0)
            return urc;
        if ((tp != NULL) + (cert != NULL) + ca_signed != 1)
            return usage_error(usage_device,
                               "device add needs one of --thumbprint, --cert or --ca-signed");
        if (tp2 && ca_signed)
            return usage_error(usage_device, "--secondary-thumbprint is for selfSigned devices");
        char thumb[65];
        if (cert != NULL) {
            int rc = cert_thumbprint(cert, thumb);
            if (rc != 0)
                return fail(rc, 0, "cert", "cannot read a certificate from %s", cert);
            tp = thumb;
        }
        cJSON *dev = cJSON_CreateObject();
        cJSON_AddStringToObject(dev, "deviceId", id);
        cJSON_AddStringToObject(dev, "status", disabled ? "disabled" : "enabled");
        cJSON *a = cJSON_AddObjectToObject(dev, "authentication");
        if (ca_signed) {
            cJSON_AddStringToObject(a, "type", "certificateAuthority");
        } else {
            cJSON_AddStringToObject(a, "type", "selfSigned");
            cJSON *x = cJSON_AddObjectToObject(a, "x509Thumbprint");
            cJSON_AddStringToObject(x, "primaryThumbprint", tp);
            if (tp2)
                cJSON_AddStringToObject(x, "secondaryThumbprint", tp2);
            else
                cJSON_AddNullToObject(x, "secondaryThumbprint");
        }
        if (resolve_target(&c.t) != 0) {
            cJSON_Delete(dev);
            return EXIT_FAIL_;
        }
        if (device_put(&c, id, dev, NULL) != 0)
            return EXIT_FAIL_;
        if (!g.json) {
            fprintf(stderr, "device '%s' registered (%s)\n", id,
                    ca_signed ? "certificateAuthority" : "selfSigned");
        }
        return print_result(&c, "device");
    }
    if (argc != 3)
        return usage_error(usage_device, "device %s takes one device id", cmd);
    if (resolve_target(&c.t) != 0)
        return EXIT_FAIL_;
    if (strcmp(cmd, "show") == 0) {
        if (call(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        return print_result(&c, "device");
    }
    if (strcmp(cmd, "delete") == 0) {
        struct hub_admin_header h = {"If-Match", "\"*\""};
        if (call(&c, "DELETE", path, &h, 1, NULL, 0) != 0)
            return EXIT_FAIL_;
        call_done(&c);
        if (g.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "deleted", id);
            emit(o);
        } else {
            printf("device '%s' deleted\n", id);
        }
        return EXIT_OK_;
    }
    if (strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0) {
        if (call(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        cJSON *dev = c.json;
        c.json = NULL;
        char etag[128];
        snprintf(etag, sizeof(etag), "%s", c.r.etag[0] ? c.r.etag : "*");
        call_done(&c);
        cJSON_ReplaceItemInObjectCaseSensitive(dev, "status", cJSON_CreateString(cmd[0] == 'e' ? "enabled" : "disabled"));
        if (device_put(&c, id, dev, etag) != 0)
            return EXIT_FAIL_;
        return print_result(&c, "device");
    }
    return usage_error(usage_device, "unknown device command: %s", cmd);
}

/* ---- ca -------------------------------------------------------------------------------- */

static int ca_verify_with_key(struct call *c, const char *name, const char *path, const char *key)
{
    /* 1. a fresh code; 2. a certificate with CN = code signed by the CA key; 3. verify. */
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/generateVerificationCode", path);
    if (call(c, "POST", p, NULL, 0, NULL, 0) != 0)
        return EXIT_FAIL_;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(c->json, "properties");
    const char *code = jstr(props, "verificationCode"), *pem = jstr(props, "certificate");
    if (code == NULL || pem == NULL) {
        call_done(c);
        return fail(-EBADMSG, 0, "hub.bad-answer", "the hub did not return a verification code");
    }
    char tmpl[] = "/tmp/azkit-hub-verify-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (dir == NULL) {
        call_done(c);
        return fail(-errno, 0, "tmp", "cannot create a temporary directory");
    }
    char ca_path[PATH_MAX], prefix[PATH_MAX], code_copy[HUB_CA_CODE_MAX + 1];
    snprintf(ca_path, sizeof(ca_path), "%s/ca.cert.pem", dir);
    snprintf(prefix, sizeof(prefix), "%s/verification", dir);
    snprintf(code_copy, sizeof(code_copy), "%s", code);
    int rc = azk_atomic_write_path(ca_path, pem, strlen(pem), 0600, false);
    call_done(c);
    struct azk_diag dg;
    azk_diag_init(&dg);
    struct azk_pki_result res;
    if (rc == 0) {
        struct azk_pki_request rq;
        memset(&rq, 0, sizeof(rq));
        rq.kind = AZK_PKI_VERIFICATION;
        rq.common_name = code_copy;
        rq.issuer_cert = ca_path;
        rq.issuer_key = key;
        rq.issuer_chain = ca_path;
        rq.out_prefix = prefix;
        rc = azk_pki_create(&rq, &res, &dg);
    }
    char *vpem = NULL;
    size_t vlen = 0;
    if (rc == 0)
        rc = azk_file_read_all(res.cert_path, &vpem, &vlen);
    char cmdbuf[PATH_MAX + 32];
    const char *files[] = {"ca.cert.pem", "verification.cert.pem", "verification.key.pem",
                           "verification.chain.pem"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(cmdbuf, sizeof(cmdbuf), "%s/%s", dir, files[i]);
        unlink(cmdbuf);
    }
    rmdir(dir);
    if (rc != 0) {
        const char *why = dg.count ? dg.items[0].message : azk_strerror(rc);
        return fail(rc, 0, "pki", "cannot create the verification certificate with %s: %s", key,
                    why);
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "certificate", vpem);
    free(vpem);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    snprintf(p, sizeof(p), "%s/verify", path);
    rc = call(c, "POST", p, NULL, 0, body, strlen(body));
    free(body);
    (void)name;
    return rc;
}

/* `ca` (the hub's CAs) and `dps-ca` (DPS's CAs): the same commands on two URL prefixes. */
struct ca_cmd {
    const char *group;  /* "ca" | "dps-ca" */
    const char *label;  /* "CA" | "DPS CA", in messages */
    const char *root;   /* "/azkit/certificates" | "/azkit/dps/certificates" */
    const char *usage;
};

static const struct ca_cmd hub_ca_cmd = {"ca", "CA", "/azkit/certificates", usage_ca};
static const struct ca_cmd dps_ca_cmd = {"dps-ca", "DPS CA", "/azkit/dps/certificates",
                                         usage_dps_ca};

static char *read_pem_file(const char *file, int *rc_out)
{
    char *pem = NULL;
    size_t len = 0;
    *rc_out = azk_file_read_all(file, &pem, &len);
    return *rc_out == 0 ? pem : NULL;
}

static int ca_list(const struct ca_cmd *k)
{
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0 || call(&c, "GET", k->root, NULL, 0, NULL, 0) != 0)
        return EXIT_FAIL_;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(c.json, "value");
    if (!g.json) {
        const cJSON *x;
        printf("%-24s %-9s %-32s %s\n", "NAME", "VERIFIED", "SUBJECT", "SHA-1 THUMBPRINT");
        cJSON_ArrayForEach(x, v) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "properties");
            printf("%-24s %-9s %-32s %s\n", jstr(x, "name"),
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "isVerified")) ? "yes" : "no",
                   jstr(p, "subject") ? jstr(p, "subject") : "", jstr(p, "thumbprint"));
        }
        cJSON_Delete(v);
        call_done(&c);
        return EXIT_OK_;
    }
    cJSON_Delete(c.json);
    c.json = v ? v : cJSON_CreateArray();
    return print_result(&c, "certificates");
}

/* add NAME FILE (PUT) or verify NAME (--ca-key KEY | --verification-cert FILE). */
static int ca_add_or_verify(const struct ca_cmd *k, int argc, char **argv, const char *path)
{
    const char *cmd = argv[1], *name = argv[2];
    bool verify = strcmp(cmd, "verify") == 0;
    const char *file = NULL, *key = NULL;
    if (!verify) {
        if (argc != 4)
            return usage_error(k->usage, "usage: %s add NAME FILE", k->group);
        file = argv[3];
    } else {
        const struct opt opts[] = {{"--verification-cert", &file, NULL},
                                   {"--ca-key", &key, NULL}};
        int urc = take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), k->usage);
        if (urc != 0)
            return urc;
        if ((file != NULL) == (key != NULL))
            return usage_error(k->usage,
                               "%s verify needs --ca-key KEY or --verification-cert FILE",
                               k->group);
    }
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0)
        return EXIT_FAIL_;
    if (key != NULL) {
        if (ca_verify_with_key(&c, name, path, key) != 0)
            return EXIT_FAIL_;
    } else {
        int rc;
        char *pem = read_pem_file(file, &rc);
        if (pem == NULL)
            return fail(rc, 0, "file", "cannot read %s", file);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "certificate", pem);
        free(pem);
        char *body = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
        char p[PATH_MAX + 64];
        snprintf(p, sizeof(p), "%s%s", path, verify ? "/verify" : "");
        rc = call(&c, verify ? "POST" : "PUT", p, NULL, 0, body, strlen(body));
        free(body);
        if (rc != 0)
            return EXIT_FAIL_;
    }
    if (!g.json && verify)
        fprintf(stderr, "%s '%s' verified\n", k->label, name);
    return print_result(&c, "certificate");
}

static int ca_code(struct call *c, const char *name, const char *path)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/generateVerificationCode", path);
    if (call(c, "POST", p, NULL, 0, NULL, 0) != 0)
        return EXIT_FAIL_;
    const char *code = jstr(cJSON_GetObjectItemCaseSensitive(c->json, "properties"),
                            "verificationCode");
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "verificationCode", code ? code : "");
        emit(o);
    } else {
        printf("%s\n", code ? code : "");
    }
    call_done(c);
    return EXIT_OK_;
}

static int ca_delete(const struct ca_cmd *k, struct call *c, const char *name, const char *path)
{
    if (call(c, "DELETE", path, NULL, 0, NULL, 0) != 0)
        return EXIT_FAIL_;
    call_done(c);
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deleted", name);
        emit(o);
    } else {
        printf("%s '%s' deleted\n", k->label, name);
    }
    return EXIT_OK_;
}

static int run_ca_cmd(const struct ca_cmd *k, int argc, char **argv)
{
    int pro = group_prologue(argc, argv, k->usage, k->group);
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if (strcmp(cmd, "list") == 0) {
        if (argc != 2)
            return usage_error(k->usage, "%s list takes no arguments", k->group);
        return ca_list(k);
    }
    if (argc < 3)
        return usage_error(k->usage, "%s %s needs a certificate name", k->group, cmd);
    const char *name = argv[2];
    char ename[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    enc(name, ename, sizeof(ename));
    snprintf(path, sizeof(path), "%s/%s", k->root, ename);
    if (strcmp(cmd, "add") == 0 || strcmp(cmd, "verify") == 0)
        return ca_add_or_verify(k, argc, argv, path);
    if (argc != 3)
        return usage_error(k->usage, "%s %s takes one name", k->group, cmd);
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0)
        return EXIT_FAIL_;
    if (strcmp(cmd, "code") == 0)
        return ca_code(&c, name, path);
    if (strcmp(cmd, "show") == 0) {
        if (call(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        return print_result(&c, "certificate");
    }
    if (strcmp(cmd, "delete") == 0)
        return ca_delete(k, &c, name, path);
    return usage_error(k->usage, "unknown %s command: %s", k->group, cmd);
}

static int cmd_ca(int argc, char **argv)
{
    return run_ca_cmd(&hub_ca_cmd, argc, argv);
}

static int cmd_dps_ca(int argc, char **argv)
{
    return run_ca_cmd(&dps_ca_cmd, argc, argv);
}

/* ---- DPS: enroll, dps-ca, registration ---------------------------------------------------- */

/* Like call(), but an HTTP 404 is returned quietly (404) so the caller can try elsewhere. */
static int call_or_404(struct call *c, const char *method, const char *path,
                       const struct hub_admin_header *h, size_t nh, const char *body,
                       size_t blen)
{
    char err[512];
    c->json = NULL;
    int rc = hub_admin_request(&c->t, method, path, h, nh, body, blen, &c->r, err, sizeof(err));
    if (rc != 0)
        return fail(rc, 0, "hub.unreachable", "%s", err[0] ? err : azk_strerror(rc));
    if (c->r.status == 404) {
        hub_http_response_free(&c->r);
        return 404;
    }
    if (c->r.status >= 300) {
        char code[128], text[512];
        hub_admin_error_parse(&c->r, code, sizeof(code), text, sizeof(text));
        int x = fail(0, c->r.status, code[0] ? code : "http", "%s %s: HTTP %d%s%s%s%s", method,
                     path, c->r.status, code[0] ? " " : "", code, text[0] ? ": " : "", text);
        hub_http_response_free(&c->r);
        return x;
    }
    if (c->r.body_len)
        c->json = cJSON_ParseWithLength(c->r.body, c->r.body_len);
    return 0;
}

/* {"primary":{"certificate":PEM}[,"secondary":{...}]} from files, or NULL after reporting. */
static cJSON *cert_pair(const char *primary, const char *secondary, int *status)
{
    cJSON *o = cJSON_CreateObject();
    const char *files[2] = {primary, secondary};
    const char *keys[2] = {"primary", "secondary"};
    for (int i = 0; i < 2; i++) {
        if (files[i] == NULL)
            continue;
        int rc;
        char *pem = read_pem_file(files[i], &rc);
        if (pem == NULL) {
            cJSON_Delete(o);
            *status = fail(rc, 0, "file", "cannot read %s", files[i]);
            return NULL;
        }
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, keys[i]), "certificate", pem);
        free(pem);
    }
    return o;
}

static int enroll_put(const char *kind_path, const char *id, cJSON *body, const char *key)
{
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    enc(id, eid, sizeof(eid));
    snprintf(path, sizeof(path), "/%s/%s", kind_path, eid);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    struct call c;
    memset(&c, 0, sizeof(c));
    int rc = resolve_target(&c.t) != 0 ||
             call(&c, "PUT", path, NULL, 0, text, text ? strlen(text) : 0) != 0;
    free(text);
    if (rc)
        return EXIT_FAIL_;
    return print_result(&c, key);
}

/* What individual enrollments and groups share: the hub (allocation, linked hubs,
 * reprovisioning) and the initial twin. */
struct enroll_common {
    const char *hub, *alloc, *hubs, *repro, *twin;
    bool disabled;
};

#define ENROLL_COMMON_OPTS(ec)                                                                 \
    {"--iot-hub", &(ec).hub, NULL}, {"--allocation", &(ec).alloc, NULL},                       \
        {"--iot-hubs", &(ec).hubs, NULL}, {"--reprovision", &(ec).repro, NULL},                \
        {"--initial-twin", &(ec).twin, NULL}, {"--disabled", NULL, &(ec).disabled}

/* Checks the shared options; 0 or the usage error's exit status. */
static int enroll_common_check(const struct enroll_common *ec)
{
    if (ec->alloc && strcmp(ec->alloc, "hashed") != 0 && strcmp(ec->alloc, "static") != 0)
        return usage_error(usage_enroll, "--allocation is hashed or static");
    if (ec->repro && strcmp(ec->repro, "update") != 0 && strcmp(ec->repro, "migrate") != 0 &&
        strcmp(ec->repro, "never") != 0)
        return usage_error(usage_enroll, "--reprovision is update, migrate or never");
    cJSON *tw = ec->twin ? cJSON_Parse(ec->twin) : NULL;
    bool bad = ec->twin && !cJSON_IsObject(tw);
    cJSON_Delete(tw);
    if (bad)
        return usage_error(usage_enroll, "--initial-twin must be a JSON object such as "
                           "{\"tags\":{},\"properties\":{\"desired\":{}}}");
    return 0;
}

/* Adds the shared fields to an enrollment or group body (checked before). */
static void enroll_common_add(cJSON *b, const struct enroll_common *ec)
{
    cJSON_AddStringToObject(b, "provisioningStatus", ec->disabled ? "disabled" : "enabled");
    if (ec->hub)
        cJSON_AddStringToObject(b, "iotHubHostName", ec->hub);
    if (ec->alloc)
        cJSON_AddStringToObject(b, "allocationPolicy", ec->alloc);
    if (ec->hubs) {
        cJSON *arr = cJSON_AddArrayToObject(b, "iotHubs");
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", ec->hubs);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (*t)
                cJSON_AddItemToArray(arr, cJSON_CreateString(t));
    }
    if (ec->repro) {
        /* Azure's three choices: re-provision and migrate data, re-provision and reset to the
         * initial config, never re-provision. */
        cJSON *rp = cJSON_AddObjectToObject(b, "reprovisionPolicy");
        cJSON_AddBoolToObject(rp, "updateHubAssignment", strcmp(ec->repro, "never") != 0);
        cJSON_AddBoolToObject(rp, "migrateDeviceData", strcmp(ec->repro, "migrate") == 0);
    }
    if (ec->twin)
        cJSON_AddItemToObject(b, "initialTwin", cJSON_Parse(ec->twin));
}

static int enroll_individual(int argc, char **argv)
{
    if (argc < 3)
        return usage_error(usage_enroll, "enroll individual needs a registration id");
    const char *id = argv[2], *cert = NULL, *cert2 = NULL, *dev = NULL;
    struct enroll_common ec = {0};
    const struct opt opts[] = {
        {"--cert", &cert, NULL},
        {"--secondary-cert", &cert2, NULL},
        {"--device-id", &dev, NULL},
        ENROLL_COMMON_OPTS(ec),
    };
    int urc = take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), usage_enroll);
    if (urc != 0)
        return urc;
    if (cert == NULL)
        return usage_error(usage_enroll, "enroll individual needs --cert FILE (the device's "
                           "certificate)");
    if ((urc = enroll_common_check(&ec)) != 0)
        return urc;
    int st = EXIT_FAIL_;
    cJSON *certs = cert_pair(cert, cert2, &st);
    if (certs == NULL)
        return st;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "registrationId", id);
    if (dev)
        cJSON_AddStringToObject(b, "deviceId", dev);
    cJSON *att = cJSON_AddObjectToObject(b, "attestation");
    cJSON_AddStringToObject(att, "type", "x509");
    cJSON_AddItemToObject(cJSON_AddObjectToObject(att, "x509"), "clientCertificates", certs);
    enroll_common_add(b, &ec);
    return enroll_put("enrollments", id, b, "enrollment");
}

static int enroll_group(int argc, char **argv)
{
    if (argc < 3)
        return usage_error(usage_enroll, "enroll group needs a group id");
    const char *id = argv[2], *cert = NULL, *ca_ref = NULL;
    struct enroll_common ec = {0};
    const struct opt opts[] = {
        {"--cert", &cert, NULL},
        {"--ca-ref", &ca_ref, NULL},
        ENROLL_COMMON_OPTS(ec),
    };
    int urc = take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), usage_enroll);
    if (urc != 0)
        return urc;
    if ((cert != NULL) == (ca_ref != NULL))
        return usage_error(usage_enroll, "enroll group needs --cert CA_FILE or --ca-ref NAME");
    if ((urc = enroll_common_check(&ec)) != 0)
        return urc;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "enrollmentGroupId", id);
    cJSON *att = cJSON_AddObjectToObject(b, "attestation");
    cJSON_AddStringToObject(att, "type", "x509");
    cJSON *x = cJSON_AddObjectToObject(att, "x509");
    if (cert) {
        int st = EXIT_FAIL_;
        cJSON *certs = cert_pair(cert, NULL, &st);
        if (certs == NULL) {
            cJSON_Delete(b);
            return st;
        }
        cJSON_AddItemToObject(x, "signingCertificates", certs);
    } else {
        cJSON *refs = cJSON_AddObjectToObject(x, "caReferences");
        cJSON_AddStringToObject(refs, "primary", ca_ref);
        cJSON_AddNullToObject(refs, "secondary");
    }
    enroll_common_add(b, &ec);
    return enroll_put("enrollmentGroups", id, b, "enrollmentGroup");
}

/* POST <root>/query as one array: every page, following x-ms-continuation. NULL after
 * reporting. */
static cJSON *query_all(struct call *c, const char *root)
{
    char path[256], cont[sizeof(c->r.continuation)] = "";
    snprintf(path, sizeof(path), "%s/query", root);
    cJSON *all = cJSON_CreateArray();
    for (;;) {
        struct hub_admin_header h[2] = {{"x-ms-max-item-count", "1000"},
                                        {"x-ms-continuation", cont}};
        if (call(c, "POST", path, h, cont[0] ? 2 : 1, "{\"query\":\"*\"}", 13) != 0) {
            cJSON_Delete(all);
            return NULL;
        }
        cJSON *item;
        while (cJSON_IsArray(c->json) && (item = cJSON_DetachItemFromArray(c->json, 0)))
            cJSON_AddItemToArray(all, item);
        snprintf(cont, sizeof(cont), "%s", c->r.continuation);
        call_done(c);
        if (!cont[0])
            return all;
    }
}

static int enroll_list(void)
{
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0)
        return EXIT_FAIL_;
    cJSON *e = query_all(&c, "/enrollments");
    if (e == NULL)
        return EXIT_FAIL_;
    cJSON *gr = query_all(&c, "/enrollmentGroups");
    if (gr == NULL) {
        cJSON_Delete(e);
        return EXIT_FAIL_;
    }
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "enrollments", e);
        cJSON_AddItemToObject(o, "enrollmentGroups", gr);
        emit(o);
        return EXIT_OK_;
    }
    printf("%-10s %-40s %-9s %s\n", "KIND", "ID", "STATUS", "ATTESTATION");
    const cJSON *x;
    cJSON_ArrayForEach(x, e)
        printf("%-10s %-40s %-9s %s\n", "individual", jstr(x, "registrationId"),
               jstr(x, "provisioningStatus"), "x509 clientCertificates");
    cJSON_ArrayForEach(x, gr) {
        const cJSON *x5 = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(x, "attestation"), "x509");
        printf("%-10s %-40s %-9s %s\n", "group", jstr(x, "enrollmentGroupId"),
               jstr(x, "provisioningStatus"),
               cJSON_GetObjectItemCaseSensitive(x5, "caReferences") ? "x509 caReferences"
                                                                    : "x509 signingCertificates");
    }
    cJSON_Delete(e);
    cJSON_Delete(gr);
    return EXIT_OK_;
}

static int cmd_enroll(int argc, char **argv)
{
    int pro = group_prologue(argc, argv, usage_enroll, "enroll");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if (strcmp(cmd, "individual") == 0)
        return enroll_individual(argc, argv);
    if (strcmp(cmd, "group") == 0)
        return enroll_group(argc, argv);
    if (strcmp(cmd, "list") == 0) {
        if (argc != 2)
            return usage_error(usage_enroll, "enroll list takes no arguments");
        return enroll_list();
    }
    if (strcmp(cmd, "show") != 0 && strcmp(cmd, "delete") != 0 && strcmp(cmd, "disable") != 0 &&
        strcmp(cmd, "enable") != 0)
        return usage_error(usage_enroll, "unknown enroll command: %s", cmd);
    bool group_only = false;
    const char *id = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--group") == 0)
            group_only = true;
        else if (id == NULL && argv[i][0] != '-')
            id = argv[i];
        else
            return usage_error(usage_enroll, "unknown option or extra argument: %s", argv[i]);
    }
    if (id == NULL)
        return usage_error(usage_enroll, "enroll %s needs an enrollment id", cmd);
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    enc(id, eid, sizeof(eid));
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0)
        return EXIT_FAIL_;
    const char *method = strcmp(cmd, "delete") == 0 ? "DELETE" : "GET";
    /* An individual enrollment first (unless --group), then a group. */
    int rc = 404;
    bool is_group = group_only;
    if (!group_only) {
        snprintf(path, sizeof(path), "/enrollments/%s", eid);
        rc = call_or_404(&c, method, path, NULL, 0, NULL, 0);
    }
    if (rc == 404) {
        is_group = true;
        snprintf(path, sizeof(path), "/enrollmentGroups/%s", eid);
        rc = call(&c, method, path, NULL, 0, NULL, 0);
    }
    if (rc != 0)
        return EXIT_FAIL_;
    const char *key = is_group ? "enrollmentGroup" : "enrollment";
    if (strcmp(cmd, "show") == 0)
        return print_result(&c, key);
    if (strcmp(cmd, "delete") == 0) {
        call_done(&c);
        if (g.json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "deleted", id);
            cJSON_AddStringToObject(o, "kind", is_group ? "enrollmentGroup" : "enrollment");
            emit(o);
        } else {
            printf("%s '%s' deleted\n", is_group ? "enrollment group" : "enrollment", id);
        }
        return EXIT_OK_;
    }
    /* enable / disable: PUT back what GET returned (its etag is the If-Match). */
    cJSON *body = c.json;
    c.json = NULL;
    call_done(&c);
    cJSON_DeleteItemFromObjectCaseSensitive(body, "registrationState");
    cJSON_ReplaceItemInObjectCaseSensitive(
        body, "provisioningStatus",
        cJSON_CreateString(strcmp(cmd, "enable") == 0 ? "enabled" : "disabled"));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    rc = call(&c, "PUT", path, NULL, 0, text, text ? strlen(text) : 0);
    free(text);
    if (rc != 0)
        return EXIT_FAIL_;
    return print_result(&c, key);
}

static int cmd_registration(int argc, char **argv)
{
    int pro = group_prologue(argc, argv, usage_registration, "registration");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if ((strcmp(cmd, "show") != 0 && strcmp(cmd, "delete") != 0) || argc != 3)
        return usage_error(usage_registration, "usage: registration show ID | delete ID");
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    enc(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/registrations/%s", eid);
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0 ||
        call(&c, cmd[0] == 's' ? "GET" : "DELETE", path, NULL, 0, NULL, 0) != 0)
        return EXIT_FAIL_;
    if (cmd[0] == 's')
        return print_result(&c, "registration");
    call_done(&c);
    if (g.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deleted", argv[2]);
        emit(o);
    } else {
        printf("registration '%s' deleted\n", argv[2]);
    }
    return EXIT_OK_;
}

/* ---- twin, method, c2d ----------------------------------------------------------------- */

static int cmd_twin(int argc, char **argv)
{
    int pro = group_prologue(argc, argv, usage_twin, "twin");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    struct call c;
    memset(&c, 0, sizeof(c));
    if (argc < 3)
        return usage_error(usage_twin, "twin %s needs a device id", cmd);
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    enc(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/twins/%s", eid);
    if (strcmp(cmd, "show") == 0 && argc == 3) {
        if (resolve_target(&c.t) != 0 || call(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        return print_result(&c, "twin");
    }
    if (strcmp(cmd, "set-desired") == 0 && argc == 4) {
        cJSON *desired = cJSON_Parse(argv[3]);
        if (!cJSON_IsObject(desired)) {
            cJSON_Delete(desired);
            return usage_error(usage_twin, "the desired properties must be a JSON object");
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddItemToObject(cJSON_AddObjectToObject(b, "properties"), "desired", desired);
        char *body = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
        struct hub_admin_header h = {"If-Match", "\"*\""};
        int rc = resolve_target(&c.t) != 0 ? EXIT_FAIL_
                                           : call(&c, "PATCH", path, &h, 1, body, strlen(body));
        free(body);
        if (rc != 0)
            return EXIT_FAIL_;
        return print_result(&c, "twin");
    }
    return usage_error(usage_twin, "unknown twin command or wrong arguments: %s", cmd);
}

static int cmd_method(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_method, stdout);
        return EXIT_OK_;
    }
    if (argc < 4 || strcmp(argv[1], "invoke") != 0)
        return usage_error(usage_method, "usage: method invoke ID NAME");
    const char *payload = NULL;
    long timeout = 30;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--payload") == 0 && v)
            payload = argv[++i];
        else if (strcmp(a, "--timeout") == 0 && v) {
            if (!parse_long(argv[++i], 5, 300, &timeout))
                return usage_error(usage_method, "--timeout is 5..300 seconds");
        } else
            return usage_error(usage_method, "unknown option or missing value: %s", a);
    }
    cJSON *p = NULL;
    if (payload != NULL && (p = cJSON_Parse(payload)) == NULL)
        return usage_error(usage_method, "--payload must be JSON");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "methodName", argv[3]);
    cJSON_AddNumberToObject(b, "responseTimeoutInSeconds", (double)timeout);
    cJSON_AddNumberToObject(b, "connectTimeoutInSeconds", 0);
    cJSON_AddItemToObject(b, "payload", p ? p : cJSON_CreateNull());
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct call c;
    memset(&c, 0, sizeof(c));
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    enc(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/twins/%s/methods", eid);
    int rc = EXIT_FAIL_;
    if (resolve_target(&c.t) == 0) {
        c.t.timeout_s = (int)timeout + 15;
        rc = call(&c, "POST", path, NULL, 0, body, strlen(body));
    }
    free(body);
    if (rc != 0)
        return EXIT_FAIL_;
    return print_result(&c, NULL);
}

static bool header_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static int cmd_c2d(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_c2d, stdout);
        return EXIT_OK_;
    }
    if (argc < 4 || strcmp(argv[1], "send") != 0)
        return usage_error(usage_c2d, "usage: c2d send ID TEXT");
    struct hub_admin_header h[40];
    char hnames[40][300];
    size_t nh = 0;
    char query[4096] = "";
    size_t ql = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return usage_error(usage_c2d, "missing value or unknown option: %s", a);
        const char *key = NULL, *val = NULL;
        char kbuf[256];
        if (strcmp(a, "--property") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(kbuf))
                return usage_error(usage_c2d, "--property needs k=v");
            snprintf(kbuf, sizeof(kbuf), "%.*s", (int)(eq - v), v);
            if (header_token(kbuf) && strchr(eq + 1, '\r') == NULL &&
                strchr(eq + 1, '\n') == NULL && nh < 40) {
                snprintf(hnames[nh], sizeof(hnames[nh]), "iothub-app-%s", kbuf);
                h[nh].name = hnames[nh];
                h[nh].value = eq + 1;
                nh++;
                i++;
                continue;
            }
            key = kbuf;
            val = eq + 1;
        } else if (strcmp(a, "--message-id") == 0) {
            key = "messageId";
            val = v;
        } else if (strcmp(a, "--ttl") == 0) {
            key = "ttl";
            val = v;
        } else {
            return usage_error(usage_c2d, "unknown option: %s", a);
        }
        char ek[800], ev[3000];
        enc(key, ek, sizeof(ek));
        enc(val, ev, sizeof(ev));
        int n = snprintf(query + ql, sizeof(query) - ql, "%s%s=%s", ql ? "&" : "?", ek, ev);
        if (n < 0 || (size_t)n >= sizeof(query) - ql)
            return usage_error(usage_c2d, "the properties are too long");
        ql += (size_t)n;
        i++;
    }
    h[nh].name = "Content-Type";
    h[nh].value = "application/octet-stream";
    nh++;
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + sizeof(query) + 64];
    enc(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/azkit/devices/%s/messages/devicebound%s", eid, query);
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0 ||
        call(&c, "POST", path, h, nh, argv[3], strlen(argv[3])) != 0)
        return EXIT_FAIL_;
    return print_result(&c, NULL);
}

/* ---- faults ---------------------------------------------------------------------------- */

static int cmd_fault(int argc, char **argv)
{
    int pro = group_prologue(argc, argv, usage_fault, "fault");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    const char *method = "POST";
    cJSON *body = cJSON_CreateObject();
    long n = 0;
    if (strcmp(cmd, "show") == 0 && argc == 2) {
        method = "GET";
    } else if (strcmp(cmd, "clear") == 0 && argc == 2) {
        method = "DELETE";
    } else if (strcmp(cmd, "drop") == 0 && argc == 3) {
        cJSON_AddStringToObject(body, "dropDevice", argv[2]);
    } else if ((strcmp(cmd, "refuse-connects") == 0 && (argc == 3 || argc == 5)) ||
               ((strcmp(cmd, "twin-throttle") == 0 || strcmp(cmd, "puback-delay") == 0) &&
                argc == 3)) {
        char *end;
        n = strtol(argv[2], &end, 10);
        if (*end != '\0' || n < 0 || n > 600000) {
            cJSON_Delete(body);
            return usage_error(usage_fault, "'%s' is not a count", argv[2]);
        }
        const char *field = cmd[0] == 'r' ? "refuseConnects"
                            : cmd[0] == 't' ? "twinThrottle"
                                            : "pubackDelayMs";
        cJSON_AddNumberToObject(body, field, (double)n);
        if (cmd[0] == 'r' && argc == 3)
            cJSON_AddNumberToObject(body, "connackCode", 3); /* the documented default */
        if (argc == 5) {
            if (strcmp(argv[3], "--code") != 0 ||
                (strcmp(argv[4], "3") != 0 && strcmp(argv[4], "5") != 0)) {
                cJSON_Delete(body);
                return usage_error(usage_fault, "--code is 3 or 5");
            }
            cJSON_AddNumberToObject(body, "connackCode", atoi(argv[4]));
        }
    } else {
        cJSON_Delete(body);
        return usage_error(usage_fault, "unknown fault command or wrong arguments: %s", cmd);
    }
    char *text = strcmp(method, "POST") == 0 ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    struct hub_admin_header h = {"Content-Type", "application/json"};
    struct call c;
    memset(&c, 0, sizeof(c));
    int rc = resolve_target(&c.t) != 0 ||
             call(&c, method, "/azkit/faults", &h, text ? 1 : 0, text, text ? strlen(text) : 0) != 0;
    free(text);
    if (rc)
        return EXIT_FAIL_;
    return print_result(&c, NULL);
}

/* ---- telemetry ------------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void print_record(const cJSON *r)
{
    if (g.json) {
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
           cJSON_IsNumber(seq) ? (uint64_t)seq->valuedouble : 0, jstr(r, "enqueuedTime"),
           jstr(r, "deviceId"), jstr(r, "messageType"),
           props && strcmp(props, "{}") != 0 ? " " : "", props && strcmp(props, "{}") != 0 ? props : "",
           jstr(r, "payload") ? jstr(r, "payload") : "");
    free(props);
}

static int cmd_telemetry(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_telemetry, stdout);
        return EXIT_OK_;
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
            if (!parse_long(argv[++i], 0, INT64_MAX / 4, &after))
                return usage_error(usage_telemetry, "--after needs a sequence number");
            have_after = true;
        } else if (strcmp(a, "--max") == 0 && v) {
            if (!parse_long(argv[++i], 1, 1000, &max))
                return usage_error(usage_telemetry, "--max is 1..1000");
        } else
            return usage_error(usage_telemetry, "unknown option or missing value: %s", a);
    }
    struct call c;
    memset(&c, 0, sizeof(c));
    if (resolve_target(&c.t) != 0)
        return EXIT_FAIL_;
    char edev[HUB_SAS_SR_MAX * 3] = "";
    if (device)
        enc(device, edev, sizeof(edev));
    char path[HUB_SAS_SR_MAX * 3 + 128];
    if (follow && !have_after) {
        /* Start at the end: ask for nothing newer than a huge seq to learn the last one. */
        if (call(&c, "GET", "/azkit/telemetry?after=1000000000000000&max=1", NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(c.json, "hubLastSeq");
        after = cJSON_IsNumber(l) ? (long)l->valuedouble : 0;
        call_done(&c);
    }
    if (!follow) {
        snprintf(path, sizeof(path), "/azkit/telemetry?after=%ld&max=%ld%s%s", after, max,
                 device ? "&device=" : "", edev);
        if (call(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return EXIT_FAIL_;
        if (g.json)
            return print_result(&c, NULL);
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(c.json, "records"))
            print_record(r);
        call_done(&c);
        return EXIT_OK_;
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
            return fail(rc, c.r.status, "hub.unreachable", "%s", rc ? err : "telemetry request failed");
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
    return EXIT_OK_;
}

/* ---- main ------------------------------------------------------------------------------ */

static int take_global_options(int *argc, char **argv)
{
    int out = 1;
    bool literal = false;
    g.service_port = -1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!literal && strcmp(a, "--") == 0) {
            literal = true;
            continue;
        }
        if (!literal) {
            const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
            if (strcmp(a, "--json") == 0) {
                g.json = true;
                continue;
            }
            if (strcmp(a, "--data") == 0 || strcmp(a, "--ready-file") == 0 ||
                strcmp(a, "--host") == 0 || strcmp(a, "--service-port") == 0 ||
                strcmp(a, "--hub") == 0) {
                if (v == NULL)
                    return usage_error(NULL, "%s needs a value", a);
                if (strcmp(a, "--data") == 0)
                    g.data = v;
                else if (strcmp(a, "--ready-file") == 0)
                    g.ready_file = v;
                else if (strcmp(a, "--host") == 0)
                    g.host = v;
                else if (strcmp(a, "--hub") == 0)
                    g.iot_hub = v;
                else if (!parse_long(v, 0, 65535, &g.service_port))
                    return usage_error(NULL, "--service-port needs a port number");
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
    if (take_global_options(&argc, argv) != 0)
        return EXIT_USAGE_;
    if (argc < 2)
        return usage_error(usage_main, "a command is needed");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return EXIT_OK_;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("azkit-hub %s\n", AZK_VERSION);
        return EXIT_OK_;
    }
    signal(SIGPIPE, SIG_IGN);
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {
        {"serve", cmd_serve},   {"device", cmd_device},       {"ca", cmd_ca},
        {"twin", cmd_twin},     {"method", cmd_method},       {"c2d", cmd_c2d},
        {"telemetry", cmd_telemetry}, {"fault", cmd_fault},   {"enroll", cmd_enroll},
        {"dps-ca", cmd_dps_ca}, {"registration", cmd_registration},
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return usage_error(usage_main, "unknown command: %s", cmd);
}

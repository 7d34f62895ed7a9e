/* azkit fleet: many devices in one process against DPS / IoT Hub (a load and soak tool), each
 * with its own certificate issued on the fly by a CA enrolled as a DPS enrollment group. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "azkit/cred_provision.h"
#include "azkit/fleet.h"
#include "cli/cli.h"
#include "cli/sas_opts.h"
#include "common/ossl.h"
#include "common/tls_libctx.h"
#include "pki/pki_internal.h"

static const char usage[] =
    "usage: azkit fleet (--issuer PREFIX | --group-key KEY [--sas-ttl S])\n"
    "                   (--id-scope S [--dps-host H[:P]] | --hub H[:P])\n"
    "                   [--count N] [--prefix P] [--first N] [--rate N] [--messages N]\n"
    "                   [--interval MS] [--inflight N] [--payload BYTES] [--qos 0|1]\n"
    "                   [--duration S] [--trust FILE]... [--connect-address A] [--json]\n"
    "Runs N devices in one process: each gets a key and a certificate (CN = its id) issued by\n"
    "the CA PREFIX.cert.pem / PREFIX.key.pem (enroll that CA as a DPS enrollment group), sends\n"
    "the leaf and the CA, registers through DPS (or connects to --hub), sends telemetry and\n"
    "answers every direct method with 200.\n"
    "With --group-key the devices use symmetric keys instead: device i's key is derived from\n"
    "KEY (a DPS symmetric-key enrollment group's key; '-' reads it from standard input) as DPS\n"
    "derives it, base64(HMAC-SHA256(KEY, id)); each sends a SAS token as its MQTT password and\n"
    "reconnects with a new one after 80 % of --sas-ttl (default 3600 s, 2..31536000).\n"
    "\n"
    "  --count N        devices (default 100, at most 100000)\n"
    "  --prefix P       device ids P0, P1, ... (default fleet-); --first N starts there\n"
    "  --rate N         devices started per second (default 200)\n"
    "  --messages N     telemetry messages per device (default 1)\n"
    "  --interval MS    between a device's messages (default 1000; 0: as fast as the in-flight\n"
    "                   window allows)\n"
    "  --inflight N     QoS 1 messages a device keeps unacknowledged (1..32, default 1)\n"
    "  --payload BYTES  message size: {\"device\":ID,\"n\":SEQ,\"pad\":\"xx..\"} padded to BYTES\n"
    "                   (up to 262144; default: the short message without \"pad\")\n"
    "  --qos 0|1        default 1 (done when every message is acknowledged)\n"
    "  --duration S     stop after S seconds (default: when every device is done)\n"
    "  --trust FILE     CA certificates to trust (repeatable; default Azure's roots)\n"
    "Progress on stderr (every second on a terminal, else every 5 s); the summary on stdout\n"
    "with latency percentiles (connect, ready, PUBACK) and failures by kind. With --json,\n"
    "one progress object per line each second, then the summary object on the last line.\n"
    "exit status: 0 no device failed, 1 some failed (the first failure is printed), 2 usage\n";

enum { O_ISSUER = 1000, O_SCOPE, O_DPS, O_HUB, O_COUNT, O_PREFIX, O_FIRST, O_RATE, O_MSGS,
       O_INTERVAL, O_QOS, O_DURATION, O_TRUST, O_ADDR, O_INFLIGHT, O_PAYLOAD };

static const struct option opts[] = {
    {"issuer", required_argument, NULL, O_ISSUER},
    {"id-scope", required_argument, NULL, O_SCOPE},
    {"dps-host", required_argument, NULL, O_DPS},
    {"hub", required_argument, NULL, O_HUB},
    {"count", required_argument, NULL, O_COUNT},
    {"prefix", required_argument, NULL, O_PREFIX},
    {"first", required_argument, NULL, O_FIRST},
    {"rate", required_argument, NULL, O_RATE},
    {"messages", required_argument, NULL, O_MSGS},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"qos", required_argument, NULL, O_QOS},
    {"duration", required_argument, NULL, O_DURATION},
    {"trust", required_argument, NULL, O_TRUST},
    {"connect-address", required_argument, NULL, O_ADDR},
    {"inflight", required_argument, NULL, O_INFLIGHT},
    {"payload", required_argument, NULL, O_PAYLOAD},
    {"group-key", required_argument, NULL, SAS_O_GROUP_KEY},
    {"sas-ttl", required_argument, NULL, SAS_O_TTL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *option_name(int ch)
{
    for (const struct option *p = opts; p->name != NULL; p++)
        if (p->val == ch)
            return p->name;
    return "?";
}

struct progress_ctx {
    const struct cli_opts *cli;
    bool tty;            /* stderr is a terminal */
    uint64_t last_ms;    /* elapsed time of the last text progress line */
    bool printed;
};

/* One JSON object on one line of stdout. */
static void json_line(cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    if (text != NULL) {
        puts(text);
        free(text);
    }
    fflush(stdout);
    cJSON_Delete(j);
}

static void progress(void *ctx, const struct azk_fleet_stats *s)
{
    struct progress_ctx *p = ctx;
    if (p->cli->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "event", "progress");
        cJSON_AddNumberToObject(j, "elapsedMs", (double)s->elapsed_ms);
        cJSON_AddNumberToObject(j, "devices", (double)s->devices);
        cJSON_AddNumberToObject(j, "started", (double)s->started);
        cJSON_AddNumberToObject(j, "registered", (double)s->registered);
        cJSON_AddNumberToObject(j, "connected", (double)s->connected);
        cJSON_AddNumberToObject(j, "everConnected", (double)s->ever_connected);
        cJSON_AddNumberToObject(j, "failed", (double)s->failed);
        cJSON_AddNumberToObject(j, "reconnects", (double)s->reconnects);
        cJSON_AddNumberToObject(j, "sent", (double)s->sent);
        cJSON_AddNumberToObject(j, "acked", (double)s->acked);
        cJSON_AddNumberToObject(j, "methods", (double)s->methods);
        json_line(j);
        return;
    }
    /* Every second on a terminal; every 5 s into a file or pipe (logs stay short). */
    if (!p->tty && p->printed && s->elapsed_ms < p->last_ms + 5000)
        return;
    p->printed = true;
    p->last_ms = s->elapsed_ms;
    fprintf(stderr, "[%6.1fs] started %zu/%zu  registered %zu  connected %zu  failed %zu  "
            "sent %llu  acked %llu\n", (double)s->elapsed_ms / 1000.0, s->started, s->devices,
            s->registered, s->connected, s->failed, (unsigned long long)s->sent,
            (unsigned long long)s->acked);
}

static cJSON *latency_json(const struct azk_fleet_latency *l)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "count", (double)l->count);
    cJSON_AddNumberToObject(j, "p50", l->p50_ms);
    cJSON_AddNumberToObject(j, "p90", l->p90_ms);
    cJSON_AddNumberToObject(j, "p99", l->p99_ms);
    cJSON_AddNumberToObject(j, "max", l->max_ms);
    return j;
}

static cJSON *errors_json(const struct azk_fleet_error_count *e, size_t n)
{
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++)
        cJSON_AddNumberToObject(j, e[i].kind, (double)e[i].count);
    return j;
}

static void print_latency(const char *what, const struct azk_fleet_latency *l)
{
    if (l->count == 0)
        return;
    printf("%-8s ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  (%llu)\n", what, l->p50_ms,
           l->p90_ms, l->p99_ms, l->max_ms, (unsigned long long)l->count);
}

static void print_errors(const char *what, const struct azk_fleet_error_count *e, size_t n)
{
    if (n == 0)
        return;
    printf("%s:", what);
    for (size_t i = 0; i < n; i++)
        printf("%s %s %llu", i ? "," : "", e[i].kind, (unsigned long long)e[i].count);
    putchar('\n');
}

static void summary(const struct cli_opts *cli, const struct azk_fleet_stats *st)
{
    if (cli->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "event", "summary");
        cJSON_AddNumberToObject(j, "devices", (double)st->devices);
        cJSON_AddNumberToObject(j, "registered", (double)st->registered);
        cJSON_AddNumberToObject(j, "connected", (double)st->ever_connected);
        cJSON_AddNumberToObject(j, "failed", (double)st->failed);
        cJSON_AddNumberToObject(j, "reconnects", (double)st->reconnects);
        cJSON_AddNumberToObject(j, "sent", (double)st->sent);
        cJSON_AddNumberToObject(j, "acked", (double)st->acked);
        cJSON_AddNumberToObject(j, "elapsedMs", (double)st->elapsed_ms);
        cJSON_AddNumberToObject(j, "allConnectedMs", (double)st->all_connected_ms);
        if (st->first_failure[0])
            cJSON_AddStringToObject(j, "firstFailure", st->first_failure);
        cJSON_AddNumberToObject(j, "methods", (double)st->methods);
        cJSON *lat = cJSON_AddObjectToObject(j, "latencyMs");
        cJSON_AddItemToObject(lat, "connect", latency_json(&st->connect));
        cJSON_AddItemToObject(lat, "ready", latency_json(&st->ready));
        cJSON_AddItemToObject(lat, "puback", latency_json(&st->puback));
        cJSON_AddItemToObject(j, "errors", errors_json(st->errors, st->n_errors));
        cJSON_AddItemToObject(j, "retries", errors_json(st->retries, st->n_retries));
        json_line(j);
        return;
    }
    printf("fleet: %zu devices: %zu registered, %zu connected, %zu failed; %llu messages "
           "sent, %llu acknowledged; %.1f s%s\n", st->devices, st->registered,
           st->ever_connected, st->failed, (unsigned long long)st->sent,
           (unsigned long long)st->acked, (double)st->elapsed_ms / 1000.0,
           st->all_connected_ms ? "" : " (not all connected)");
    if (st->all_connected_ms)
        printf("all devices connected after %.1f s\n", (double)st->all_connected_ms / 1000.0);
    print_latency("connect", &st->connect);
    print_latency("ready", &st->ready);
    print_latency("puback", &st->puback);
    if (st->methods)
        printf("direct methods answered: %llu\n", (unsigned long long)st->methods);
    print_errors("failures by kind", st->errors, st->n_errors);
    print_errors("retried", st->retries, st->n_retries);
    if (st->first_failure[0])
        printf("first failure: %s\n", st->first_failure);
}

/* Trusts the certificates of `certs` (taken) and appends their subject CNs to `names`. */
static void add_trust(SSL_CTX *ctx, STACK_OF(X509) *certs, char *names, size_t size)
{
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        char cn[128];
        azki_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
        size_t used = strlen(names);
        snprintf(names + used, size - used, "%s'%s'", used ? ", " : "", cn);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
}

int cli_fleet(const struct cli_opts *cli, int argc, char **argv)
{
    struct azk_fleet_opts o = {.count = 100, .messages = 1, .qos = 1, .interval_ms = 1000,
                               .inflight = 1};
    const char *issuer = NULL, *trust[8];
    size_t ntrust = 0;
    struct cli_sas sas = {0};
    long v;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int taken = cli_sas_take(&sas, ch, optarg, usage);
        if (taken > 1)
            return taken;
        if (taken == 1)
            continue;
        switch (ch) {
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        case O_ISSUER: issuer = optarg; break;
        case O_SCOPE: o.id_scope = optarg; break;
        case O_DPS: o.dps_host = optarg; break;
        case O_HUB: o.hub_host = optarg; break;
        case O_PREFIX: o.id_prefix = optarg; break;
        case O_ADDR: o.connect_address = optarg; break;
        case O_TRUST:
            if (ntrust == 8)
                return cli_usage(usage, "at most 8 --trust files");
            trust[ntrust++] = optarg;
            break;
        case O_COUNT:
        case O_FIRST:
        case O_RATE:
        case O_MSGS:
        case O_INTERVAL:
        case O_QOS:
        case O_DURATION:
        case O_INFLIGHT:
        case O_PAYLOAD: {
            long max = ch == O_COUNT ? 100000 : ch == O_QOS ? 1 : ch == O_INFLIGHT ? 32
                     : ch == O_PAYLOAD ? (long)AZK_FLEET_PAYLOAD_MAX : 100000000;
            long min = ch == O_COUNT || ch == O_RATE || ch == O_INFLIGHT || ch == O_PAYLOAD;
            if (!cli_parse_int(optarg, min, max, &v))
                return cli_usage(usage, "--%s needs a number (%ld..%ld), not '%s'",
                                 option_name(ch), min, max, optarg);
            if (ch == O_COUNT) o.count = (size_t)v;
            if (ch == O_FIRST) o.first_index = (size_t)v;
            if (ch == O_RATE) o.rate = (uint32_t)v;
            if (ch == O_MSGS) o.messages = (uint32_t)v;
            if (ch == O_INTERVAL) o.interval_ms = (uint32_t)v;
            if (ch == O_QOS) o.qos = (int)v;
            if (ch == O_DURATION) o.duration_s = (uint32_t)v;
            if (ch == O_INFLIGHT) o.inflight = (uint8_t)v;
            if (ch == O_PAYLOAD) o.payload_size = (size_t)v;
            break;
        }
        default:
            return cli_usage(usage, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(usage, "unexpected argument: %s", argv[optind]);
    if (issuer != NULL && sas.group_arg != NULL)
        return cli_usage(usage, "give --issuer (certificates) or --group-key (symmetric keys), "
                         "not both");
    if (issuer == NULL && sas.group_arg == NULL)
        return cli_usage(usage, "--issuer PREFIX is needed (the CA that issues the devices' "
                             "certificates: PREFIX.cert.pem and PREFIX.key.pem), or --group-key "
                             "KEY for symmetric-key devices");
    if (sas.ttl_s != 0 && sas.group_arg == NULL)
        return cli_usage(usage, "--sas-ttl is for symmetric-key devices (--group-key)");
    if ((o.id_scope == NULL) == (o.hub_host == NULL))
        return cli_usage(usage, "give --id-scope (DPS) or --hub");
    if (o.payload_size != 0 && o.payload_size < azk_fleet_payload_min(&o))
        return cli_usage(usage, "--payload %zu is too small: these ids and sequence numbers "
                         "need at least %zu bytes", o.payload_size, azk_fleet_payload_min(&o));

    /* The issuing CA, as `azkit pki device --ca PREFIX` loads it: the certificate, its key,
     * and what devices send after their leaf (PREFIX.chain.pem, else the CA unless a root). */
    char cert_path[4096], key_path[4096], group_key[AZK_SAS_KEY_B64_MAX];
    struct azki_pki_issuer iss = {0};
    struct azk_diag d;
    azk_diag_init(&d);
    if (sas.group_arg != NULL) {
        int urc = cli_sas_key(sas.group_arg, "--group-key", group_key, usage);
        if (urc != 0)
            return urc;
        o.group_key = group_key;
        o.sas_ttl_s = (uint32_t)sas.ttl_s;
    }
    snprintf(cert_path, sizeof(cert_path), "%s.cert.pem", issuer ? issuer : "");
    snprintf(key_path, sizeof(key_path), "%s.key.pem", issuer ? issuer : "");
    struct azk_pki_request req = {.kind = AZK_PKI_DEVICE, .issuer_cert = cert_path,
                                  .issuer_key = key_path};
    if (issuer != NULL && azki_pki_issuer_load(&req, &iss, &d) != 0)
        return cli_fail(-EINVAL, &d, "cannot use %s.cert.pem / %s.key.pem as the "
                            "issuing CA (`azkit pki intermediate --out PREFIX` makes one)",
                            issuer, issuer);
    static char names[1024];
    OSSL_LIB_CTX *libctx = azki_tls_libctx();
    SSL_CTX *tls = libctx != NULL ? SSL_CTX_new_ex(libctx, NULL, TLS_client_method()) : NULL;
    if (tls == NULL) {
        azki_pki_issuer_free(&iss);
        return cli_fail(-ENOMEM, NULL, "cannot set up OpenSSL's TLS client context");
    }
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(tls, SSL_SESS_CACHE_OFF);
    for (size_t i = 0; i < ntrust; i++) {
        STACK_OF(X509) *certs = NULL;
        if (azki_pki_read_certs(trust[i], "trust file", "fleet.trust", &certs, &d) != 0) {
            SSL_CTX_free(tls);
            azki_pki_issuer_free(&iss);
            return cli_fail(-EINVAL, &d, "--trust %s: no PEM certificate in it",
                                trust[i]);
        }
        add_trust(tls, certs, names, sizeof(names));
    }
    for (int r = AZK_ROOT_DIGICERT_G2; ntrust == 0 && r <= AZK_ROOT_MICROSOFT_RSA_2017; r++) {
        STACK_OF(X509) *certs = NULL;
        const char *pem = azk_azure_root(r)->pem;
        if (azki_load_certs(pem, strlen(pem), &certs, NULL) == 0)
            add_trust(tls, certs, names, sizeof(names));
    }
    o.tls = tls;
    o.trusted_cas = names;
    o.issuer = iss.cert;
    o.issuer_key = iss.key;
    o.chain = iss.chain;
    struct progress_ctx pc = {.cli = cli, .tty = isatty(STDERR_FILENO) == 1};
    o.progress = progress;
    o.ctx = &pc;
    o.stop = cli_stop_flag();
    struct azk_fleet_stats st;
    int rc = azk_fleet_run(&o, &st);
    OPENSSL_cleanse(group_key, sizeof(group_key));
    azki_pki_issuer_free(&iss);
    SSL_CTX_free(tls);
    if (rc != 0)
        return cli_fail(rc, NULL, "cannot run the fleet%s",
                            rc == -EMFILE ? " (raise `ulimit -n`: one socket per device)" : "");
    summary(cli, &st);
    return st.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

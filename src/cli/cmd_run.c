/* azkit run: the device. TLS from security tags, DPS registration, IoT Hub, telemetry; answers
 * direct methods, prints desired patches and C2D messages; on failure says why in plain words
 * and checks the credentials for the usual causes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>

#include "azkit/client.h"
#include "azkit/client_posix.h"
#include "azkit/assignment_file.h"
#include "azkit/outbox_file.h"
#include "azkit/twin_sync.h"
#include "azkit/tls_tags.h"
#include "cli/cli.h"
#include "cli/cred_cli.h"
#include "cli/device_opts.h"
#include "cli/run_fota.h"
#include "cli/sas_opts.h"

static const char usage[] =
    "usage: azkit run [options]\n"
    "Runs the device: DPS registration (X.509 or symmetric key), then IoT Hub; sends telemetry,\n"
    "answers direct methods, prints desired-property patches and cloud-to-device messages.\n"
    "\n"
    "  --sec-tag N          a security tag the TLS socket uses (repeatable, in order; default\n"
    "                       10): CA certificates (type 0) of every tag, the client certificate\n"
    "                       chain (type 1) and key (type 2) of the first tag that has one\n"
    "  --id-scope S         DPS id scope (then --registration-id; the default is the CN of\n"
    "                       the client certificate)\n"
    "  --registration-id R  DPS registration id (the assignment DPS gives is kept beside the\n"
    "                       credential store and reused by the next run without asking DPS,\n"
    "                       for the same id scope, registration id and certificate; after 3\n"
    "                       refusals at that hub DPS is asked again; see `azkit dps`)\n"
    "  --dps-host H[:P]     DPS host (default global.azure-devices-provisioning.net)\n"
    "  --hub H[:P]          skip DPS: connect to this IoT hub (with --device-id)\n"
    "  --device-id D        the device id (without DPS; default: the certificate's CN)\n"
    "  --connect-address A  connect to this address instead of resolving the host names (which\n"
    "                       are still sent as SNI and checked in the server certificate)\n"
    "Symmetric-key devices (a SAS token as the MQTT password; the tags give the CA certificates;\n"
    "KEY and CS may be '-': one line of standard input, kept out of the process list):\n"
    "  --connection-string CS  'HostName=H[:P];DeviceId=D;SharedAccessKey=KEY' (as Azure and\n"
    "                       `azkit-hub device show` print it): straight to the hub, no DPS\n"
    "  --symmetric-key KEY  the device's key (base64): with --id-scope and --registration-id\n"
    "                       (DPS individual enrollment) or --hub and --device-id\n"
    "  --group-key KEY      an enrollment group's key (with --id-scope and --registration-id):\n"
    "                       the device key is derived, base64(HMAC-SHA256(key, registration id))\n"
    "  --sas-ttl S          token lifetime (default 3600, 2..31536000); after 80 % of it the\n"
    "                       device reconnects with a new token, as the Azure SDKs do\n"
    "  --count N            telemetry messages to send (default 1, or 0 with --duration;\n"
    "                       0 = until Ctrl-C)\n"
    "  --duration S         run S seconds, then stop (once what was sent is acknowledged)\n"
    "  --interval MS        between messages (default 20000, as the nRF Connect SDK sample;\n"
    "                       the desired property telemetryInterval, in seconds, changes it\n"
    "                       and is reported back)\n"
    "  --message JSON       the message (default the sample's {\"temperature\":<simulated>,\n"
    "                       \"timestamp\":<ms>}); every %d is replaced by the message's number\n"
    "  --answer-methods     answer every direct method with 200 (default, as the sample:\n"
    "                       'led' with payload 0 or 1 gets 200 {\"it\":\"worked\"}, others 404)\n"
    "  --qos 0|1            telemetry QoS (default 1: kept in the outbox until its PUBACK,\n"
    "                       sent again after a reconnect)\n"
    "  --outbox FILE        keep accepted QoS 1 messages in FILE (crash-safe: after kill -9\n"
    "                       or a power cut the next run sends what was not acknowledged);\n"
    "                       default: in memory (1 MiB)\n"
    "  --inflight N         QoS 1 messages sent without PUBACK at most (1..32, default 8)\n"
    "  --report JSON        reported properties to send once connected (sent again after a\n"
    "                       reconnect, or after a wait when the hub answers 429 or 5xx, until\n"
    "                       it is accepted; the run ends only then)\n"
    "  --keepalive S        MQTT keepalive (default 240)\n"
    "  --max-retries N      give up after N consecutive failed attempts (default: never);\n"
    "                       every retry is printed with its reason and wait\n"
    "  --once               give up at the first failure (no retries)\n"
    "  --retry-refusals     retry refusals that will not fix themselves (CONNACK 5, DPS 401,\n"
    "                       an untrusted server) every 5 min instead of stopping\n"
    "  --fota-dir DIR       firmware over the air as the nRF Connect SDK's azure_fota: the\n"
    "                       desired `firmware` object is downloaded, staged, verified and\n"
    "                       swapped in DIR, then `azkit run` restarts itself (docs/guide.md)\n"
    "  --fw-version V       the running firmware's version while DIR holds no image yet\n"
    "                       (default 0.0.0-dev, azure_fota's default)\n"
    "  --fota-sec-tag N     trust the image server through this tag's CA certificate only\n"
    "                       (as CONFIG_AZURE_FOTA_SEC_TAG; default: the --sec-tag list)\n"
    "  --fota-stall-timeout S  a fragment not received within S seconds (connecting\n"
    "                       included) is fetched again from its start (1..3600, default\n"
    "                       30); fragments are fetched beside the MQTT connection, which\n"
    "                       keeps its keepalive, twin and methods during a slow download\n"
    "  --json               one JSON object per event on stdout\n";

enum {
    O_COUNT = 1000, O_INTERVAL, O_MSG, O_QOS, O_REPORT, O_KEEPALIVE, O_OUTBOX, O_INFLIGHT,
    O_MAX_RETRIES, O_ONCE, O_RETRY_REFUSALS, O_DURATION, O_ANSWER_METHODS, O_FOTA_DIR,
    O_FW_VERSION, O_FOTA_SEC_TAG, O_FOTA_STALL_TIMEOUT,
};

static const struct option opts[] = {
    CLI_DEVICE_OPTIONS,
    CLI_SAS_OPTIONS,
    {"count", required_argument, NULL, O_COUNT},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"message", required_argument, NULL, O_MSG},
    {"qos", required_argument, NULL, O_QOS},
    {"report", required_argument, NULL, O_REPORT},
    {"keepalive", required_argument, NULL, O_KEEPALIVE},
    {"outbox", required_argument, NULL, O_OUTBOX},
    {"inflight", required_argument, NULL, O_INFLIGHT},
    {"max-retries", required_argument, NULL, O_MAX_RETRIES},
    {"once", no_argument, NULL, O_ONCE},
    {"retry-refusals", no_argument, NULL, O_RETRY_REFUSALS},
    {"duration", required_argument, NULL, O_DURATION},
    {"answer-methods", no_argument, NULL, O_ANSWER_METHODS},
    {"fota-dir", required_argument, NULL, O_FOTA_DIR},
    {"fw-version", required_argument, NULL, O_FW_VERSION},
    {"fota-sec-tag", required_argument, NULL, O_FOTA_SEC_TAG},
    {"fota-stall-timeout", required_argument, NULL, O_FOTA_STALL_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};


struct run {
    const struct cli_opts *cli;
    struct azk_client *client;
    struct azk_tls_tags_info tls;
    long count, interval_ms, qos;
    unsigned inflight;          /* the in-flight window (--inflight; 0 = the client's 8) */
    const char *message, *report;
    long sent, acked, lost, retries;
    struct azk_twin_sync twin;
    bool report_failed;
    struct azk_outbox_mem mem_outbox;
    struct azk_outbox_file *file_outbox;
    uint64_t next_send;
    bool reported;              /* the patch was sent on this connection and awaits its answer */
    bool report_done;           /* the hub accepted it (or refused it for good) */
    char report_rid[16];
    uint64_t report_next;       /* not before (after a 429/5xx) */
    long duration_s;            /* --duration (0: none) */
    uint64_t stop_at;           /* when --duration ends (set at the first turn) */
    bool answer_all;            /* --answer-methods */
    uint32_t report_wait_ms;
    const char *id_for_hints;   /* the device/registration id the user asked for */
    bool via_dps;
    int failure;                /* enum azk_client_failure of the FAILED event */
    int failure_code;
    /* A symmetric-key device: its key, the hub policy's name (connection strings with
     * SharedAccessKeyName), the token lifetime, the token of the last CONNECT, when to renew. */
    bool sas;
    char sas_key[AZK_SAS_KEY_B64_MAX];
    char sas_key_name[65];
    uint32_t sas_ttl_s;
    char sas_token[AZK_SAS_TOKEN_MAX];
    uint64_t sas_renew_at;      /* azk_posix_now_ms() time (0: nothing to renew) */
    uint64_t flush_by;          /* buffered per-message lines go out by then (0: none) */
    struct run_fota fota;       /* --fota-dir */
};

/* One JSON event line, written out now. The per-message lines (accepted, acked) are printed
 * directly and not flushed: they go out at the end of the loop turn (on_turn) or with the
 * next other event, so a stream of messages costs no write to stdout per message. */
static void out_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
    fflush(stdout);
}

static void add_span(cJSON *o, const char *name, struct azk_span s)
{
    char *t = malloc(s.len + 1);
    if (t == NULL)
        return;
    if (s.len)
        memcpy(t, s.ptr, s.len);
    t[s.len] = '\0';
    cJSON_AddStringToObject(o, name, t);
    free(t);
}

/* Local checks after a failure: what in the credentials explains it. */
static void hints(struct run *r, enum azk_client_failure f, cJSON *arr)
{
    char buf[512];
    const char *id = r->id_for_hints;
    bool cn_differs = id && r->tls.client_cn[0] && strcmp(id, r->tls.client_cn) != 0;
    if (r->sas && f == AZK_CLIENT_F_CONNACK &&
        r->failure_code == AZK_MQTT_CONNACK_NOT_AUTHORIZED) {
        snprintf(buf, sizeof(buf), "the hub refused the SAS token of device '%s': is the key "
                 "the device's primary or secondary key (or the hub policy's, with "
                 "SharedAccessKeyName), is the device registered with symmetric keys and "
                 "enabled, and is this computer's clock right (tokens expire)? The hub's log "
                 "names the rule that failed", id ? id : "?");
    } else if (r->sas && f == AZK_CLIENT_F_DPS_UNAUTHORIZED) {
        snprintf(buf, sizeof(buf), "DPS refused the SAS token of registration '%s': it needs "
                 "an enabled individual enrollment with symmetric keys for this id (give its "
                 "key with --symmetric-key), or a symmetric-key enrollment group (give the "
                 "group's key with --group-key: the device key is derived from it); the "
                 "clock must be right (tokens expire)", id ? id : "?");
    } else if (r->sas) {
        return;
    } else if (!r->tls.has_client) {
        snprintf(buf, sizeof(buf), "no tag the socket uses holds a client certificate (type 1) "
                 "and key (type 2): Azure X.509 devices need both in one tag");
    } else if ((f == AZK_CLIENT_F_DPS_UNAUTHORIZED || f == AZK_CLIENT_F_CONNACK) && cn_differs) {
        snprintf(buf, sizeof(buf), "the client certificate in sec_tag %u has CN '%s' but the "
                 "%s is '%s': they must be equal", (unsigned)r->tls.client_tag,
                 r->tls.client_cn, r->via_dps ? "registration id" : "device id", id);
    } else if (f == AZK_CLIENT_F_DPS_UNAUTHORIZED && r->tls.client_chain_len == 1) {
        snprintf(buf, sizeof(buf), "sec_tag %u type 1 holds only the leaf certificate: every "
                 "intermediate between the leaf and the enrolled CA must be sent too, also for "
                 "an enrollment group on the root (type 1 = leaf, then its intermediates); "
                 "only an individual enrollment of this leaf needs none",
                 (unsigned)r->tls.client_tag);
    } else if (f == AZK_CLIENT_F_DPS_UNAUTHORIZED) {
        snprintf(buf, sizeof(buf), "DPS has no enabled enrollment for this certificate chain "
                 "(individual enrollment with this leaf, or a group holding one of its CAs)");
    } else if (f == AZK_CLIENT_F_CONNACK && r->failure_code == AZK_MQTT_CONNACK_NOT_AUTHORIZED) {
        snprintf(buf, sizeof(buf), "the hub refused the device: is it registered with this "
                 "certificate's thumbprint (or its CA verified), and enabled?");
    } else {
        return;
    }
    if (r->cli->json)
        cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
    else
        fprintf(stderr, "  hint: %s\n", buf);
}

/* The event's reason in words (CONNACK refusals carry only their code). */
static struct azk_span reason_of(const struct azk_client_event *ev)
{
    if (ev->failure == AZK_CLIENT_F_CONNACK && ev->text.len == 0)
        return azk_span_from_str(azk_connack_text(ev->code));
    return ev->text;
}

/* The sample's desired property: telemetryInterval (seconds) becomes the interval and is
 * reported back, as the nRF Connect SDK's Azure IoT Hub sample does. */
static void adopt_interval(struct run *r, struct azk_span desired)
{
    cJSON *j = cJSON_ParseWithLength(desired.ptr, desired.len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "telemetryInterval");
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 86400) {
        long s = (long)v->valuedouble;
        r->interval_ms = s * 1000;
        char rep[64], rid[16];
        snprintf(rep, sizeof(rep), "{\"telemetryInterval\":%ld}", s);
        azk_client_twin_report(r->client, azk_span_from_str(rep), rid, sizeof(rid));
        if (r->cli->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "event", "telemetry-interval");
            cJSON_AddNumberToObject(o, "seconds", (double)s);
            out_json(o);
        } else {
            printf("telemetry interval: %ld s (desired property telemetryInterval, reported "
                   "back)\n", s);
        }
    }
    cJSON_Delete(j);
}

static void on_event(void *ctx, const struct azk_client_event *ev)
{
    struct run *r = ctx;
    if (ev->kind == AZK_CLIENT_EV_TELEMETRY_ACKED) {
        /* A line per message: printed without a JSON tree (cJSON's number printing cost more
         * than sending the message) and not flushed: on_turn writes the turn's lines at once. */
        r->acked++;
        if (r->cli->json)
            printf("{\"event\":\"acked\",\"packetId\":%u,\"messageId\":%lu}\n",
                   (unsigned)ev->packet_id, (unsigned long)ev->msg_id);
        return;
    }
    cJSON *o = r->cli->json ? cJSON_CreateObject() : NULL;
    switch (ev->kind) {
    case AZK_CLIENT_EV_DPS_ASSIGNED:
        if (ev->stored && o) {
            cJSON_AddStringToObject(o, "event", "registered");
            cJSON_AddBoolToObject(o, "stored", true);
            add_span(o, "assignedHub", ev->hub);
            add_span(o, "deviceId", ev->device_id);
        } else if (ev->stored) {
            printf("DPS assignment kept from an earlier run: hub %.*s, device '%.*s' (DPS not "
                   "asked; `azkit dps reset` forgets it)\n", (int)ev->hub.len, ev->hub.ptr,
                   (int)ev->device_id.len, ev->device_id.ptr);
        } else if (o) {
            cJSON_AddStringToObject(o, "event", "registered");
            add_span(o, "assignedHub", ev->hub);
            add_span(o, "deviceId", ev->device_id);
            add_span(o, "substatus", ev->substatus);
        } else {
            printf("registered with DPS: hub %.*s, device '%.*s' (%.*s)\n", (int)ev->hub.len,
                   ev->hub.ptr, (int)ev->device_id.len, ev->device_id.ptr,
                   (int)ev->substatus.len, ev->substatus.ptr);
        }
        break;
    case AZK_CLIENT_EV_CONNECTED:
        r->reported = false; /* a patch unanswered on the last connection goes again */
        if (o) {
            cJSON_AddStringToObject(o, "event", "connected");
            add_span(o, "hub", ev->hub);
            add_span(o, "deviceId", ev->device_id);
        } else {
            printf("connected to %.*s as '%.*s'\n", (int)ev->hub.len, ev->hub.ptr,
                   (int)ev->device_id.len, ev->device_id.ptr);
        }
        break;
    case AZK_CLIENT_EV_DISCONNECTED: {
        struct azk_span reason = reason_of(ev);
        if (o) {
            cJSON_AddStringToObject(o, "event", "disconnected");
            add_span(o, "reason", reason);
        } else {
            printf("disconnected: %.*s\n", (int)reason.len, reason.ptr);
        }
        break;
    }
    case AZK_CLIENT_EV_RETRYING: {
        r->retries++;
        struct azk_span reason = reason_of(ev);
        if (o) {
            cJSON_AddStringToObject(o, "event", "retrying");
            cJSON_AddStringToObject(o, "failure", azk_client_failure_name(ev->failure));
            cJSON_AddNumberToObject(o, "code", ev->code);
            cJSON_AddNumberToObject(o, "errno", ev->err);
            add_span(o, "reason", reason);
            cJSON_AddNumberToObject(o, "attempt", ev->attempt);
            cJSON_AddNumberToObject(o, "retryInMs", ev->retry_in_ms);
        } else {
            char code[24] = "";
            if (ev->code != 0)
                snprintf(code, sizeof(code), ", code %d", ev->code);
            printf("retry %u in %u.%03u s (%s%s): %.*s\n", (unsigned)ev->attempt,
                   (unsigned)(ev->retry_in_ms / 1000), (unsigned)(ev->retry_in_ms % 1000),
                   azk_client_failure_name(ev->failure), code, (int)reason.len, reason.ptr);
        }
        break;
    }
    case AZK_CLIENT_EV_FAILED: {
        r->failure = ev->failure;
        r->failure_code = ev->code;
        struct azk_span reason = reason_of(ev);
        cJSON *h = cJSON_CreateArray();
        if (o) {
            cJSON_AddStringToObject(o, "event", "failed");
            cJSON_AddStringToObject(o, "failure", azk_client_failure_name(ev->failure));
            cJSON_AddNumberToObject(o, "code", ev->code);
            cJSON_AddNumberToObject(o, "errno", ev->err);
            add_span(o, "reason", reason);
        } else {
            char code[24] = "";
            if (ev->code != 0)
                snprintf(code, sizeof(code), ", code %d", ev->code);
            fprintf(stderr, "azkit run: failed (%s%s): %.*s\n",
                    azk_client_failure_name(ev->failure), code, (int)reason.len, reason.ptr);
        }
        hints(r, ev->failure, h);
        if (o)
            cJSON_AddItemToObject(o, "hints", h);
        else
            cJSON_Delete(h);
        break;
    }
    case AZK_CLIENT_EV_TELEMETRY_ACKED:
        break; /* handled above */
    case AZK_CLIENT_EV_TELEMETRY_FAILED:
        r->lost++;
        if (o) {
            cJSON_AddStringToObject(o, "event", "telemetry-failed");
            cJSON_AddNumberToObject(o, "messageId", ev->msg_id);
            add_span(o, "reason", ev->text);
        } else {
            fprintf(stderr, "azkit run: telemetry message %u was not delivered: %.*s\n",
                    (unsigned)ev->msg_id, (int)ev->text.len, ev->text.ptr);
        }
        break;
    case AZK_CLIENT_EV_TWIN:
        if (r->reported && !r->report_done && azk_span_eq_str(ev->rid, r->report_rid)) {
            r->reported = false;
            if (ev->status == 429 || ev->status >= 500) {
                /* Throttled or busy: the same patch again after a wait (doubling to 60 s). */
                r->report_wait_ms = r->report_wait_ms ? r->report_wait_ms * 2 : 1000;
                if (r->report_wait_ms > 60000)
                    r->report_wait_ms = 60000;
                r->report_next = azk_posix_now_ms() + r->report_wait_ms;
                if (!o)
                    printf("reported properties answered %d: sending them again in %u ms\n",
                           ev->status, (unsigned)r->report_wait_ms);
            } else {
                r->report_done = true;
                if (ev->status >= 300) {
                    r->report_failed = true;
                    fprintf(stderr, "azkit run: the hub refused the reported properties (%d)\n",
                            ev->status);
                }
            }
        }
        if (o) {
            cJSON_AddStringToObject(o, "event", "twin");
            cJSON_AddNumberToObject(o, "status", ev->status);
            add_span(o, "rid", ev->rid);
        } else {
            printf("twin answer %d (rid %.*s)\n", ev->status, (int)ev->rid.len, ev->rid.ptr);
        }
        break;
    case AZK_CLIENT_EV_DESIRED:
        break; /* through the twin sync below: in $version order */
    case AZK_CLIENT_EV_METHOD: {
        /* As the nRF Connect SDK sample: 'led' (payload 0 or 1), others 404; or, with
         * --answer-methods, every method 200 with its name. The client may be called here. */
        char body[300];
        int status = 200;
        if (r->answer_all) {
            snprintf(body, sizeof(body), "{\"method\":\"%.*s\",\"result\":\"ok\"}",
                     (int)(ev->name.len < 200 ? ev->name.len : 200), ev->name.ptr);
        } else if (azk_span_eq_str(ev->name, "led")) {
            bool on = azk_span_eq_str(ev->payload, "1"), off = azk_span_eq_str(ev->payload, "0");
            status = on || off ? 200 : 400;
            snprintf(body, sizeof(body), "%s", on || off ? "{\"it\":\"worked\"}"
                                                         : "{\"error\":\"payload must be 0 or 1\"}");
            if ((on || off) && !r->cli->json)
                printf("LED %s\n", on ? "on" : "off");
        } else {
            status = 404;
            snprintf(body, sizeof(body), "{\"error\":\"no method '%.*s' (this device has 'led')\"}",
                     (int)(ev->name.len < 100 ? ev->name.len : 100), ev->name.ptr);
        }
        azk_client_method_respond(r->client, ev->rid, status, azk_span_from_str(body));
        if (o) {
            cJSON_AddStringToObject(o, "event", "method");
            add_span(o, "name", ev->name);
            add_span(o, "payload", ev->payload);
            cJSON_AddNumberToObject(o, "status", status);
        } else {
            printf("direct method '%.*s': %.*s\n", (int)ev->name.len, ev->name.ptr,
                   (int)ev->payload.len, ev->payload.ptr);
        }
        break;
    }
    case AZK_CLIENT_EV_C2D:
        if (o) {
            cJSON_AddStringToObject(o, "event", "c2d");
            add_span(o, "payload", ev->payload);
            add_span(o, "properties", ev->properties);
        } else {
            printf("cloud-to-device message: %.*s%s%.*s\n", (int)ev->payload.len, ev->payload.ptr,
                   ev->properties.len ? " (properties: " : "", (int)ev->properties.len,
                   ev->properties.ptr);
        }
        break;
    }
    if (o) {
        if (cJSON_GetObjectItem(o, "event") != NULL)
            out_json(o);
        else
            cJSON_Delete(o);
    }
    /* Desired properties: the full twin after every connection, then patches in order. */
    struct azk_twin_sync_update u;
    int synced = azk_twin_sync_event(&r->twin, r->client, ev, &u);
    run_fota_event(&r->fota, ev, synced == 1 ? &u : NULL);
    if (synced == 1) {
        bool full = u.kind == AZK_TWIN_SYNC_FULL;
        if (r->cli->json) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "event", "desired");
            cJSON_AddBoolToObject(d, "full", full);
            cJSON_AddNumberToObject(d, "version", (double)u.version);
            add_span(d, full ? "desired" : "patch", u.desired);
            out_json(d);
        } else {
            printf("desired properties (%s, version %lld): %.*s\n",
                   full ? "full twin" : "patch", (long long)u.version, (int)u.desired.len,
                   u.desired.ptr);
        }
        adopt_interval(r, u.desired);
    }
    fflush(stdout);
}

/* The backoff's random source: the kernel's. */
static uint32_t random32(void *ctx)
{
    (void)ctx;
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint32_t)azk_posix_now_ms() * 2654435761u;
    return v;
}

/* Accepted QoS 1 messages not acknowledged yet. */
static size_t pending(const struct run *r)
{
    return r->file_outbox ? azk_outbox_file_count(r->file_outbox)
                          : azk_outbox_mem_count(&r->mem_outbox);
}

/* --message with every "%d" replaced by the message's number. */
static void number_message(const char *tmpl, long n, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < size; p++) {
        if (p[0] == '%' && p[1] == 'd') {
            int w = snprintf(out + o, size - o, "%ld", n);
            o = w > 0 && (size_t)w < size - o ? o + (size_t)w : size - 1;
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* The sample's telemetry: a simulated temperature and the time it was taken. */
static void sample_message(const struct run *r, char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long tenths = 250 + (r->sent * 7) % 30; /* 25.0 .. 27.9 degrees */
    snprintf(out, size, "{\"temperature\":%ld.%ld,\"timestamp\":%lld}", tenths / 10,
             tenths % 10, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t send_turn(void *ctx, struct azk_client *c, uint64_t now)
{
    struct run *r = ctx;
    bool connected = azk_client_state(c) == AZK_CLIENT_CONNECTED;
    if (connected && r->report != NULL && !r->reported && !r->report_done &&
        now >= r->report_next &&
        azk_client_twin_report(c, azk_span_from_str(r->report), r->report_rid,
                               sizeof(r->report_rid)) == 0)
        r->reported = true;
    if (r->duration_s > 0 && r->stop_at == 0)
        r->stop_at = now + (uint64_t)r->duration_s * 1000;
    bool all_sent = (r->count > 0 && r->sent >= r->count) || (r->stop_at && now >= r->stop_at);
    if (all_sent && r->report != NULL && !r->report_done)
        return r->report_next > now ? (int64_t)r->report_next : 0;
    if (all_sent)
        return r->qos == 0 || pending(r) == 0 ? -1 : 0;
    /* QoS 1 goes into the outbox in any state (it waits there for a connection). */
    if (!connected && r->qos == 0)
        return 0;
    if (now < r->next_send)
        return (int64_t)r->next_send;
    char msg[1024];
    if (r->message == NULL)
        sample_message(r, msg, sizeof(msg));
    else
        number_message(r->message, r->sent + 1, msg, sizeof(msg));
    uint32_t id = 0;
    int rc = azk_client_send_telemetry(c, azk_span_from_str("%24.ct=application%2Fjson&%24.ce=utf-8"),
                                       azk_span_from_str(msg), (int)r->qos, &id);
    if (rc == 0) {
        r->sent++;
        if (r->cli->json && r->qos) {
            printf("{\"event\":\"accepted\",\"n\":%ld,\"messageId\":%lu}\n", r->sent,
                   (unsigned long)id); /* as the acked line: no tree, flushed by on_turn */
        } else if (r->cli->json) {
            printf("{\"event\":\"accepted\",\"n\":%ld}\n", r->sent);
        } else {
            printf("%s telemetry #%ld: %s\n", connected ? "sent" : "queued (not connected yet)",
                   r->sent, msg);
        }
        r->next_send = now + (uint64_t)r->interval_ms;
        return (int64_t)r->next_send;
    }
    if (rc == -EMSGSIZE || rc == -EINVAL) {
        fprintf(stderr, "azkit run: telemetry #%ld cannot be sent: %s\n", r->sent + 1,
                azk_strerror(rc));
        return -1;
    }
    return (int64_t)(now + 10); /* output, window or outbox full: a little later */
}

/* The SAS token of every CONNECT (azk_client_config.password): made now, renewed after 80 %
 * of its life (hub connections; DPS registers within minutes). */
static void sas_password(void *ctx, bool dps, struct azk_mqtt_connect *m)
{
    struct run *r = ctx;
    int64_t expires_ms = 0;
    if (azk_sas_connect_password(r->sas_key, r->sas_key_name, r->sas_ttl_s, dps, m, r->sas_token,
                                 sizeof(r->sas_token), &expires_ms) != 0) {
        fprintf(stderr, "azkit run: cannot make a SAS token (the key?)\n");
        return;
    }
    r->sas_renew_at = dps ? 0 : azk_posix_now_ms() + azk_sas_renew_in_ms(expires_ms);
}

/* Renews the SAS token when it is time (a clean reconnect with a new one), then sends. */
/* Per-message lines (accepted, acked) are written out at most FLUSH_MS after they were made,
 * and at once when the run ends: a stream of messages at window 1 then costs one write to
 * stdout per FLUSH_MS, not one per message (a round trip). Returns the turn's wake time `w`,
 * moved earlier to the flush when lines wait. */
#define FLUSH_MS 50
static int64_t flush_turn(struct run *r, uint64_t now, int64_t w)
{
    if (__fpending(stdout) == 0) {
        r->flush_by = 0;
        return w;
    }
    if (r->flush_by == 0)
        r->flush_by = now + FLUSH_MS;
    if (w < 0 || now >= r->flush_by) {
        fflush(stdout);
        r->flush_by = 0;
        return w;
    }
    return w == 0 || (uint64_t)w > r->flush_by ? (int64_t)r->flush_by : w;
}

static int64_t on_turn(void *ctx, struct azk_client *c, uint64_t now)
{
    struct run *r = ctx;
    if (r->sas_renew_at != 0 && now >= r->sas_renew_at &&
        azk_client_state(c) == AZK_CLIENT_CONNECTED) {
        r->sas_renew_at = 0;
        if (r->cli->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "event", "sas-renew");
            out_json(o);
        } else {
            printf("renewing the SAS token: reconnecting with a new one\n");
        }
        azk_client_reconnect(c);
    }
    /* --interval 0: as many as the in-flight window holds per turn (the outbox takes them
     * and the driver writes them out together), not one message per loop turn. */
    int64_t w = send_turn(ctx, c, now);
    for (unsigned i = 1; i < r->inflight && r->interval_ms == 0 && w == (int64_t)now; i++)
        w = send_turn(ctx, c, now);
    int64_t fw = run_fota_turn(&r->fota, c, now);
    if (fw < 0)
        return -1; /* the new image is in place: stop, then restart */
    if (w < 0 && run_fota_busy(&r->fota))
        w = 0; /* all sent, but a firmware job runs: the run ends after it */
    if (fw > 0 && w >= 0 && (w == 0 || fw < w))
        w = fw;
    w = flush_turn(r, now, w);
    if (w >= 0 && r->sas_renew_at > now && (w == 0 || (uint64_t)w > r->sas_renew_at))
        w = (int64_t)r->sas_renew_at;
    return w;
}

/* The SAS options: their combinations with the endpoint options, the key (derived from a
 * group key), the endpoint of a connection string. 0 or the usage error's status. */
static int take_sas(struct run *r, const struct cli_sas *sas, struct cli_device *dv,
                    struct azk_device_conn_string *cs)
{
    int n = (sas->conn_arg != NULL) + (sas->key_arg != NULL) + (sas->group_arg != NULL);
    if (n == 0)
        return sas->ttl_s ? cli_usage(usage, "--sas-ttl is for symmetric-key devices "
                                      "(--connection-string, --symmetric-key, --group-key)")
                          : 0;
    if (n > 1)
        return cli_usage(usage, "give one of --connection-string, --symmetric-key and "
                         "--group-key");
    r->sas = true;
    r->sas_ttl_s = (uint32_t)sas->ttl_s;
    int rc;
    if (sas->conn_arg != NULL) {
        if (dv->scope || dv->hub || dv->dev || dv->reg)
            return cli_usage(usage, "--connection-string names the hub and the device: no "
                             "--id-scope, --registration-id, --hub or --device-id with it");
        if ((rc = cli_sas_conn_string(sas->conn_arg, cs, usage)) != 0)
            return rc;
        dv->hub = cs->host;
        dv->dev = cs->device_id;
        memcpy(r->sas_key, cs->key, sizeof(r->sas_key));
        memcpy(r->sas_key_name, cs->key_name, sizeof(r->sas_key_name));
        return 0;
    }
    if (sas->group_arg != NULL && dv->scope == NULL)
        return cli_usage(usage, "--group-key is a DPS enrollment group's key: give --id-scope "
                         "and --registration-id");
    if ((dv->scope != NULL && dv->reg == NULL) || (dv->hub != NULL && dv->dev == NULL))
        return cli_usage(usage, "a symmetric-key device needs its id: --registration-id with "
                         "--id-scope, --device-id with --hub");
    if (sas->key_arg != NULL)
        return cli_sas_key(sas->key_arg, "--symmetric-key", r->sas_key, usage);
    char group[AZK_SAS_KEY_B64_MAX];
    rc = cli_sas_key(sas->group_arg, "--group-key", group, usage);
    if (rc == 0 && azk_sas_derive_key(group, dv->reg, r->sas_key) != 0)
        rc = cli_usage(usage, "--group-key: cannot derive the device key");
    OPENSSL_cleanse(group, sizeof(group));
    return rc;
}

int cli_run(const struct cli_opts *cli, int argc, char **argv)
{
    struct cli_device dv = {0};
    struct cli_sas sas = {0};
    struct azk_device_conn_string cs;
    struct run r = {.cli = cli, .count = -1, .interval_ms = 20000, .qos = 1};
    long keepalive = 0, inflight = 0, max_retries = 0;
    bool once = false, retry_refusals = false;
    const char *outbox_path = NULL, *fota_dir = NULL, *fw_version = "0.0.0-dev";
    long fota_tag = -1;
    long fota_stall_s = 30; /* --fota-stall-timeout */
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int taken = cli_device_take(&dv, ch, optarg, usage);
        if (taken == 0)
            taken = cli_sas_take(&sas, ch, optarg, usage);
        if (taken > 1)
            return taken;
        if (taken == 1)
            continue;
        switch (ch) {
        case 'h':
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        case O_COUNT:
            if (!cli_parse_int(optarg, 0, 1000000, &r.count))
                return cli_usage(usage, "--count needs a number 0..1000000");
            break;
        case O_INTERVAL:
            if (!cli_parse_int(optarg, 0, 3600000, &r.interval_ms))
                return cli_usage(usage, "--interval needs milliseconds 0..3600000");
            break;
        case O_MSG: r.message = optarg; break;
        case O_QOS:
            if (!cli_parse_int(optarg, 0, 1, &r.qos))
                return cli_usage(usage, "--qos is 0 or 1");
            break;
        case O_REPORT:
            r.report = optarg;
            break;
        case O_OUTBOX:
            outbox_path = optarg;
            break;
        case O_INFLIGHT:
            if (!cli_parse_int(optarg, 1, AZK_CLIENT_INFLIGHT_MAX, &inflight))
                return cli_usage(usage, "--inflight needs a number 1..32");
            break;
        case O_MAX_RETRIES:
            if (!cli_parse_int(optarg, 1, 1000000, &max_retries))
                return cli_usage(usage, "--max-retries needs a number 1..1000000");
            break;
        case O_ONCE: once = true; break;
        case O_DURATION:
            if (!cli_parse_int(optarg, 1, 31536000, &r.duration_s))
                return cli_usage(usage, "--duration needs seconds 1..31536000");
            break;
        case O_ANSWER_METHODS: r.answer_all = true; break;
        case O_FOTA_DIR: fota_dir = optarg; break;
        case O_FW_VERSION:
            if (!optarg[0] || strlen(optarg) >= AZK_FOTA_VERSION_SIZE)
                return cli_usage(usage, "--fw-version needs 1..63 characters");
            fw_version = optarg;
            break;
        case O_FOTA_SEC_TAG:
            if (!cli_parse_int(optarg, 0, 2147483647, &fota_tag))
                return cli_usage(usage, "--fota-sec-tag needs a security tag 0..2147483647");
            break;
        case O_FOTA_STALL_TIMEOUT:
            if (!cli_parse_int(optarg, 1, 3600, &fota_stall_s))
                return cli_usage(usage, "--fota-stall-timeout needs seconds 1..3600");
            break;
        case O_RETRY_REFUSALS: retry_refusals = true; break;
        case O_KEEPALIVE:
            if (!cli_parse_int(optarg, 1, 1177, &keepalive))
                return cli_usage(usage, "--keepalive needs seconds 1..1177 (Azure's limit)");
            break;
        default:
            return cli_usage(usage, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(usage, "unexpected argument: %s", argv[optind]);
    if (r.count < 0) /* not given: one message, or as many as --duration allows */
        r.count = r.duration_s > 0 ? 0 : 1;
    int urc = take_sas(&r, &sas, &dv, &cs);
    if (urc == 0)
        urc = cli_device_finish(&dv, usage, true);
    if (urc != 0)
        return urc;
    if (r.report != NULL) {
        cJSON *j = cJSON_Parse(r.report);
        bool ok = cJSON_IsObject(j);
        cJSON_Delete(j);
        if (!ok)
            return cli_usage(usage, "--report must be a JSON object");
    }

    struct azk_credstore *store = NULL;
    int rc = cli_cred_open(cli, &store);
    if (rc != 0)
        return rc;
    struct azk_diag d;
    azk_diag_init(&d);
    SSL_CTX *tls = NULL;
    rc = azk_tls_ctx_from_tags(store, dv.tags, dv.ntags, &tls, &r.tls, &d);
    SSL_CTX *fota_tls = NULL; /* --fota-sec-tag: the image server's trust alone */
    if (rc == 0 && fota_dir != NULL && fota_tag >= 0) {
        azk_sec_tag_t ft = (azk_sec_tag_t)fota_tag;
        rc = azk_tls_ctx_from_tags(store, &ft, 1, &fota_tls, NULL, &d);
        if (rc != 0) {
            SSL_CTX_free(tls);
            azk_credstore_close(store);
            return cli_fail(rc, &d, "cannot build the image server's TLS trust from "
                            "--fota-sec-tag %ld", fota_tag);
        }
    }
    /* Name the store: a user who forgot --store or AZKIT_STORE sees which one was read. */
    char where[400];
    snprintf(where, sizeof(where), "%s", azk_credstore_describe(store));
    azk_credstore_close(store);
    if (rc != 0)
        return cli_fail(rc, &d, "cannot build the TLS connection from sec_tag %u%s of the store "
                        "(%s)", (unsigned)dv.tags[0], dv.ntags > 1 ? " and the other tags" : "",
                        where);
    if (!r.tls.has_client && !r.sas) {
        azk_diag_add(&d, AZK_SEV_ERROR, "run.no-client-cert",
                     "Provision the device: `azkit cred provision --sec-tag N --cert CHAIN "
                     "--key KEY`.",
                     "no tag holds a client certificate (type 1): Azure X.509 devices need one");
        SSL_CTX_free(tls);
        return cli_fail(-ENOKEY, &d, "cannot connect without a device certificate");
    }
    /* Ids default to the certificate's CN (what DPS and the hub compare them with). */
    static uint8_t outbox_mem[1024 * 1024];
    azk_outbox_mem_init(&r.mem_outbox, outbox_mem, sizeof(outbox_mem));
    struct azk_outbox *outbox = &r.mem_outbox.ob;
    if (outbox_path != NULL) {
        struct azk_outbox_file_info oi = {0};
        rc = azk_outbox_file_open(outbox_path, 0, &r.file_outbox, &oi);
        if (rc != 0) {
            SSL_CTX_free(tls);
            return cli_fail(rc, NULL, "cannot open the outbox %s%s", outbox_path,
                                rc == -EBUSY ? " (another azkit run uses it)" : "");
        }
        outbox = azk_outbox_file_outbox(r.file_outbox);
        if (!cli->json && (oi.messages > 0 || oi.torn_bytes > 0))
            printf("outbox %s: %zu message%s from an earlier run to send first%s\n", outbox_path,
                   oi.messages, oi.messages == 1 ? "" : "s",
                   oi.torn_bytes ? " (an unfinished last write was cut)" : "");
    }
    struct azk_assignment_file *assignment = NULL;
    char apath[4200];
    /* (A symmetric-key device registers with DPS at every start: the kept assignment is keyed
     * by the certificate.) */
    if (dv.scope != NULL && !r.sas && cli_dps_assignment_path(cli->store_dir, apath, sizeof(apath)) == 0)
        azk_assignment_file_open(apath, r.tls.client_thumbprint, &assignment);
    r.inflight = inflight > 0 ? (unsigned)inflight : 8;
    struct azk_client_config cfg = {
        .assignment = assignment ? azk_assignment_file_store(assignment) : NULL,
        .outbox = outbox,
        .inflight_max = (uint8_t)inflight,
        .random = random32,
        .max_retries = (uint32_t)max_retries,
        .no_retry = once,
        .retry_refusals = retry_refusals,
        .keepalive_s = (uint16_t)keepalive,
        .on_event = on_event,
        .password = r.sas ? sas_password : NULL,
        .ctx = &r,
    };
    cli_device_client_config(&dv, &r.tls, &cfg);
    r.via_dps = dv.scope != NULL;
    r.id_for_hints = r.via_dps ? cfg.registration_id.ptr : cfg.device_id.ptr;
    static uint8_t work[64 * 1024];
    struct azk_client c;
    r.client = &c;
    azk_twin_sync_init(&r.twin);
    rc = azk_client_init(&c, &cfg, work, sizeof(work));
    if (rc != 0) {
        SSL_CTX_free(tls);
        azk_outbox_file_close(r.file_outbox);
        azk_assignment_file_close(assignment);
        return cli_usage(usage, "invalid settings: check the id scope (letters and digits), "
                             "the ids (Azure's characters, at most 128) and the hosts "
                             "(name[:port])");
    }
    if (fota_dir != NULL &&
        run_fota_open(&r.fota, fota_dir, fw_version, fota_tls ? fota_tls : tls, dv.addr,
                      r.tls.ca_subjects, cli->json, out_json) < 0) {
        SSL_CTX_free(tls);
        SSL_CTX_free(fota_tls);
        azk_outbox_file_close(r.file_outbox);
        azk_assignment_file_close(assignment);
        return CLI_EXIT_FAIL;
    }
    if (fota_dir != NULL)
        run_fota_set_timeout(&r.fota, (unsigned)fota_stall_s);
    struct azk_posix_opts po = {
        .tls = tls,
        .connect_address = dv.addr,
        .stop = cli_stop_flag(),
        .on_turn = on_turn,
        .ctx = &r,
        .trusted_cas = r.tls.ca_subjects,
    };
    rc = azk_client_run_posix(&c, &po);
    SSL_CTX_free(tls);
    SSL_CTX_free(fota_tls);
    size_t left = r.qos ? pending(&r) : 0;
    azk_outbox_file_close(r.file_outbox);
    azk_assignment_file_close(assignment);
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", rc == 0 ? "done" : "exit");
        cJSON_AddNumberToObject(o, "sent", (double)r.sent);
        cJSON_AddNumberToObject(o, "acked", (double)r.acked);
        cJSON_AddNumberToObject(o, "unacknowledged", (double)left);
        out_json(o);
    } else if (rc == 0) {
        printf("done: %ld message%s sent", r.sent, r.sent == 1 ? "" : "s");
        if (r.qos && left == 0)
            printf(", all acknowledged\n");
        else if (r.qos)
            printf(", %zu not acknowledged yet%s\n", left,
                   r.file_outbox ? " (kept in the outbox for the next run)" : " (lost)");
        else
            printf("\n");
    }
    OPENSSL_cleanse(r.sas_key, sizeof(r.sas_key));
    OPENSSL_cleanse(r.sas_token, sizeof(r.sas_token));
    /* FOTA: the new image is in place and everything is closed: the restart (an exec) */
    if (rc == 0 && run_fota_restart(&r.fota) < 0)
        return CLI_EXIT_FAIL;
    run_fota_close(&r.fota);
    return rc == 0 && !r.report_failed ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

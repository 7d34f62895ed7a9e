/* What every admin command shares: the global options, finding the running hub (ready
 * file, service.json, service key), one request with its errors reported, results printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "azkit/azure_hub.h"
#include "azkit/common.h"
#include "cliutil/cliutil.h"
#include "common/fileio.h"
#include "hub/admin/admin.h"
#include "hub/config.h"
#include "hub/service/sas.h"

struct hub_admin_opts hub_admin_opts = {.service_port = -1};

/* ---- finding the hub ------------------------------------------------------------------- */

static void trim(char *s)
{
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
        s[--l] = '\0';
}

cJSON *hub_admin_read_json(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (azki_file_read_all(path, &text, &len) != 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

const char *hub_admin_jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int hub_admin_resolve(struct hub_admin_target *t)
{
    memset(t, 0, sizeof(*t));
    struct hub_config cfg;
    hub_config_defaults(&cfg);
    const char *data = hub_admin_opts.data ? hub_admin_opts.data : cfg.data_dir;
    char listen[256] = "";
    long port = 0;
    if (hub_admin_opts.ready_file != NULL) {
        cJSON *j = hub_admin_read_json(hub_admin_opts.ready_file);
        if (j == NULL)
            return cli_fail_status(-ENOENT, 0, "hub.not-found",
                        "cannot read the ready file %s (is `azkit-hub serve --ready-file %s` "
                        "running?)", hub_admin_opts.ready_file, hub_admin_opts.ready_file);
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "service_port");
        if (cJSON_IsNumber(sp))
            port = (long)sp->valuedouble;
        const cJSON *mp = cJSON_GetObjectItemCaseSensitive(j, "mqtt_port");
        if (cJSON_IsNumber(mp))
            t->mqtt_port = (int)mp->valuedouble;
        const char *h = hub_admin_jstr(j, "hostname"), *ca = hub_admin_jstr(j, "ca"), *cs = hub_admin_jstr(j, "connection_string");
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
        const char *dd = hub_admin_jstr(j, "data");
        if (dd && !hub_admin_opts.data) {
            static char dbuf[PATH_MAX];
            snprintf(dbuf, sizeof(dbuf), "%s", dd);
            data = dbuf;
        }
        cJSON_Delete(j);
    }
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/service.json", data);
    cJSON *sj = port ? NULL : hub_admin_read_json(path);
    if (sj != NULL) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(sj, "service_port");
        if (cJSON_IsNumber(sp))
            port = (long)sp->valuedouble;
        const cJSON *mp = cJSON_GetObjectItemCaseSensitive(sj, "mqtt_port");
        if (cJSON_IsNumber(mp))
            t->mqtt_port = (int)mp->valuedouble;
        const char *h = hub_admin_jstr(sj, "hostname"), *l = hub_admin_jstr(sj, "listen");
        if (h && !t->sr[0])
            snprintf(t->sr, sizeof(t->sr), "%s", h);
        if (l)
            snprintf(listen, sizeof(listen), "%s", l);
        cJSON_Delete(sj);
    }
    if (!t->ca_file[0])
        if (snprintf(t->ca_file, sizeof(t->ca_file), "%s/pki/ca.pem", data) >=
            (int)sizeof(t->ca_file))
            return cli_fail_status(-ENAMETOOLONG, 0, "hub.path", "the data directory path is too long");
    if (!t->key[0]) {
        snprintf(path, sizeof(path), "%s/pki/service.key", data);
        char *k = NULL;
        size_t kl = 0;
        int rc = azki_file_read_all(path, &k, &kl);
        if (rc != 0)
            return cli_fail_status(rc, 0, "hub.no-key",
                        "cannot read the service key %s -- fix: pass --data DIR of the hub, or "
                        "--ready-file F", path);
        snprintf(t->key, sizeof(t->key), "%s", k);
        trim(t->key);
        OPENSSL_cleanse(k, kl);
        free(k);
    }
    if (hub_admin_opts.service_port > 0)
        port = hub_admin_opts.service_port;
    if (port <= 0)
        return cli_fail_status(-ENOENT, 0, "hub.not-found",
                    "cannot find the hub's service port (no %s/service.json) -- fix: start "
                    "`azkit-hub serve --data %s`, or pass --service-port N", data, data);
    t->port = (int)port;
    if (hub_admin_opts.host) {
        snprintf(t->host, sizeof(t->host), "%s", hub_admin_opts.host);
    } else if (listen[0] && strcmp(listen, "0.0.0.0") != 0 && strcmp(listen, "::") != 0 &&
               strcmp(listen, "[::]") != 0) {
        snprintf(t->host, sizeof(t->host), "%s", listen);
    } else {
        snprintf(t->host, sizeof(t->host), "%s", strcmp(listen, "::") == 0 ? "::1" : "127.0.0.1");
    }
    if (!t->sr[0])
        snprintf(t->sr, sizeof(t->sr), "%s", hub_admin_opts.host ? hub_admin_opts.host : "localhost");
    snprintf(t->tls_name, sizeof(t->tls_name), "%s", t->sr);
    /* Another served hub: its name goes in the Host header, the token and SNI (the server
     * certificate holds every served hub's name). */
    if (hub_admin_opts.iot_hub != NULL) {
        snprintf(t->sr, sizeof(t->sr), "%s", hub_admin_opts.iot_hub);
        snprintf(t->tls_name, sizeof(t->tls_name), "%s", hub_admin_opts.iot_hub);
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------------- */

/* Makes a request; on a transport failure or an HTTP status >= 300 reports and returns
 * CLI_EXIT_FAIL, else 0 with c->json parsed. */
int hub_admin_do(struct hub_admin_call *c, const char *method, const char *path,
                const struct hub_admin_header *h, size_t nh, const char *body, size_t blen)
{
    char err[512];
    c->json = NULL;
    int rc = hub_admin_request(&c->t, method, path, h, nh, body, blen, &c->r, err, sizeof(err));
    if (rc != 0)
        return cli_fail_status(rc, 0, "hub.unreachable", "%s", err[0] ? err : azk_strerror(rc));
    if (c->r.status >= 300) {
        char code[128], text[512];
        hub_admin_error_parse(&c->r, code, sizeof(code), text, sizeof(text));
        int x = cli_fail_status(0, c->r.status, code[0] ? code : "http",
                     "%s %s: HTTP %d%s%s%s%s", method, path, c->r.status, code[0] ? " " : "",
                     code, text[0] ? ": " : "", text);
        hub_http_response_free(&c->r);
        return x;
    }
    if (c->r.body_len)
        c->json = cJSON_ParseWithLength(c->r.body, c->r.body_len);
    return 0;
}

void hub_admin_call_done(struct hub_admin_call *c)
{
    cJSON_Delete(c->json);
    c->json = NULL;
    hub_http_response_free(&c->r);
}

void hub_admin_pct(const char *s, char *out, size_t size)
{
    size_t n = 0;
    if (azk_pct_encode(azk_span_from_str(s), out, size, &n) != 0 || n >= size)
        n = 0;
    out[n] = '\0';
}

/* {"<key>": c->json} in JSON mode, else pretty JSON of c->json. Takes c->json. */
int hub_admin_print(struct hub_admin_call *c, const char *key)
{
    cJSON *body = c->json ? c->json : cJSON_CreateNull();
    c->json = NULL;
    if (cli_json() && key) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, key, body);
        cli_json_emit(o);
    } else {
        cli_json_emit(body);
    }
    hub_admin_call_done(c);
    return CLI_EXIT_OK;
}

/* Shared start of every command group: no command or --help. Returns an exit status to return
 * at once, or -1 to go on. */
int hub_admin_prologue(int argc, char **argv, const char *usage, const char *group)
{
    if (argc >= 2 && !cli_wants_help(argc, argv))
        return -1;
    if (argc < 2)
        return cli_usage(usage, "%s needs a command", group);
    fputs(usage, stdout);
    return CLI_EXIT_OK;
}

char *hub_admin_read_pem(const char *file, int *rc_out)
{
    char *pem = NULL;
    size_t len = 0;
    *rc_out = azki_file_read_all(file, &pem, &len);
    return *rc_out == 0 ? pem : NULL;
}

/* `azkit-hub enroll` and `azkit-hub registration`: DPS enrollments and registration records. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "azkit/common.h"
#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"
#include "hub/service/sas.h"

static const char usage_enroll[] =
    "usage: azkit-hub enroll <command>   (Device Provisioning Service enrollments: X.509 or\n"
    "                                    symmetric key)\n"
    "  individual ID (--cert FILE [--secondary-cert FILE] | --symmetric-key [KEYS])\n"
    "                [--device-id X] [COMMON]\n"
    "                  create or replace an individual enrollment (the device's certificate,\n"
    "                  or its symmetric keys)\n"
    "  group ID (--cert CA_FILE | --ca-ref NAME | --symmetric-key [KEYS]) [COMMON]\n"
    "                  create or replace an enrollment group (a signing certificate, a\n"
    "                  verified DPS CA: see dps-ca, or group keys from which each device's\n"
    "                  key is derived: base64(HMAC-SHA256(group key, registration id)))\n"
    "    KEYS: [--primary-key K] [--secondary-key K]  base64 of 16 to 64 bytes; a key not\n"
    "      given is generated (64 random bytes); the output shows the keys\n"
    "    COMMON: [--iot-hub HOST] [--allocation hashed|static] [--iot-hubs H1,H2]\n"
    "            [--reprovision migrate|update|never] [--initial-twin JSON] [--disabled]\n"
    "      --iot-hub/--iot-hubs name linked hubs (serve --linked-hub); --reprovision: when\n"
    "      the hub changes, migrate the twin (default), update (reset to the initial twin)\n"
    "      or never (stay on the first hub)\n"
    "  list            every individual enrollment and group\n"
    "  show ID | delete ID | enable ID | disable ID  [--group]\n"
    "                  an individual enrollment, else the group of that id (--group: only\n"
    "                  groups)\n";

static const char usage_registration[] =
    "usage: azkit-hub registration <command>   (DPS registration records)\n"
    "  show ID        the registration state of a registration id\n"
    "  delete ID      forget it (the device registers again as new)\n";

/* ---- DPS: enroll, dps-ca, registration ---------------------------------------------------- */

/* Like hub_admin_do(), but an HTTP 404 is returned quietly (404) so the caller can try elsewhere. */
static int call_or_404(struct hub_admin_call *c, const char *method, const char *path,
                       const struct hub_admin_header *h, size_t nh, const char *body,
                       size_t blen)
{
    char err[512];
    c->json = NULL;
    int rc = hub_admin_request(&c->t, method, path, h, nh, body, blen, &c->r, err, sizeof(err));
    if (rc != 0)
        return cli_fail_status(rc, 0, "hub.unreachable", "%s", err[0] ? err : azk_strerror(rc));
    if (c->r.status == 404) {
        hub_http_response_free(&c->r);
        return 404;
    }
    if (c->r.status >= 300) {
        char code[128], text[512];
        hub_admin_error_parse(&c->r, code, sizeof(code), text, sizeof(text));
        int x = cli_fail_status(0, c->r.status, code[0] ? code : "http", "%s %s: HTTP %d%s%s%s%s", method,
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
        char *pem = hub_admin_read_pem(files[i], &rc);
        if (pem == NULL) {
            cJSON_Delete(o);
            *status = cli_fail_status(rc, 0, "file", "cannot read %s", files[i]);
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
    hub_admin_pct(id, eid, sizeof(eid));
    snprintf(path, sizeof(path), "/%s/%s", kind_path, eid);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    int rc = hub_admin_resolve(&c.t) != 0 ||
             hub_admin_do(&c, "PUT", path, NULL, 0, text, text ? strlen(text) : 0) != 0;
    free(text);
    if (rc)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, key);
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
        return cli_usage(usage_enroll, "--allocation is hashed or static");
    if (ec->repro && strcmp(ec->repro, "update") != 0 && strcmp(ec->repro, "migrate") != 0 &&
        strcmp(ec->repro, "never") != 0)
        return cli_usage(usage_enroll, "--reprovision is update, migrate or never");
    cJSON *tw = ec->twin ? cJSON_Parse(ec->twin) : NULL;
    bool bad = ec->twin && !cJSON_IsObject(tw);
    cJSON_Delete(tw);
    if (bad)
        return cli_usage(usage_enroll, "--initial-twin must be a JSON object such as "
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

/* attestation {"type":"symmetricKey","symmetricKey":{...}} (keys the hub generates when not
 * given). */
static void symkey_attestation(cJSON *b, const char *primary, const char *secondary)
{
    cJSON *att = cJSON_AddObjectToObject(b, "attestation");
    cJSON_AddStringToObject(att, "type", "symmetricKey");
    cJSON *k = cJSON_AddObjectToObject(att, "symmetricKey");
    if (primary)
        cJSON_AddStringToObject(k, "primaryKey", primary);
    if (secondary)
        cJSON_AddStringToObject(k, "secondaryKey", secondary);
}

static int enroll_individual(int argc, char **argv)
{
    if (argc < 3)
        return cli_usage(usage_enroll, "enroll individual needs a registration id");
    const char *id = argv[2], *cert = NULL, *cert2 = NULL, *dev = NULL, *k1 = NULL, *k2 = NULL;
    bool symkey = false;
    struct enroll_common ec = {0};
    const struct cli_opt opts[] = {
        {"--cert", &cert, NULL},
        {"--secondary-cert", &cert2, NULL},
        {"--device-id", &dev, NULL},
        {"--symmetric-key", NULL, &symkey},
        {"--primary-key", &k1, NULL},
        {"--secondary-key", &k2, NULL},
        ENROLL_COMMON_OPTS(ec),
    };
    int urc = cli_take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), usage_enroll);
    if (urc != 0)
        return urc;
    if ((cert != NULL) == symkey)
        return cli_usage(usage_enroll, "enroll individual needs --cert FILE (the device's "
                           "certificate) or --symmetric-key");
    if (!symkey && (k1 || k2))
        return cli_usage(usage_enroll, "--primary-key and --secondary-key go with "
                         "--symmetric-key");
    if (symkey && cert2)
        return cli_usage(usage_enroll, "--secondary-cert goes with --cert");
    if ((urc = enroll_common_check(&ec)) != 0)
        return urc;
    if (symkey) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "registrationId", id);
        if (dev)
            cJSON_AddStringToObject(b, "deviceId", dev);
        symkey_attestation(b, k1, k2);
        enroll_common_add(b, &ec);
        return enroll_put("enrollments", id, b, "enrollment");
    }
    int st = CLI_EXIT_FAIL;
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
        return cli_usage(usage_enroll, "enroll group needs a group id");
    const char *id = argv[2], *cert = NULL, *ca_ref = NULL, *k1 = NULL, *k2 = NULL;
    bool symkey = false;
    struct enroll_common ec = {0};
    const struct cli_opt opts[] = {
        {"--cert", &cert, NULL},
        {"--ca-ref", &ca_ref, NULL},
        {"--symmetric-key", NULL, &symkey},
        {"--primary-key", &k1, NULL},
        {"--secondary-key", &k2, NULL},
        ENROLL_COMMON_OPTS(ec),
    };
    int urc = cli_take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), usage_enroll);
    if (urc != 0)
        return urc;
    if ((cert != NULL) + (ca_ref != NULL) + symkey != 1)
        return cli_usage(usage_enroll, "enroll group needs --cert CA_FILE, --ca-ref NAME or "
                         "--symmetric-key");
    if (!symkey && (k1 || k2))
        return cli_usage(usage_enroll, "--primary-key and --secondary-key go with "
                         "--symmetric-key");
    if ((urc = enroll_common_check(&ec)) != 0)
        return urc;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "enrollmentGroupId", id);
    if (symkey) {
        symkey_attestation(b, k1, k2);
        enroll_common_add(b, &ec);
        return enroll_put("enrollmentGroups", id, b, "enrollmentGroup");
    }
    cJSON *att = cJSON_AddObjectToObject(b, "attestation");
    cJSON_AddStringToObject(att, "type", "x509");
    cJSON *x = cJSON_AddObjectToObject(att, "x509");
    if (cert) {
        int st = CLI_EXIT_FAIL;
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
static cJSON *query_all(struct hub_admin_call *c, const char *root)
{
    char path[256], cont[sizeof(c->r.continuation)] = "";
    snprintf(path, sizeof(path), "%s/query", root);
    cJSON *all = cJSON_CreateArray();
    for (;;) {
        struct hub_admin_header h[2] = {{"x-ms-max-item-count", "1000"},
                                        {"x-ms-continuation", cont}};
        if (hub_admin_do(c, "POST", path, h, cont[0] ? 2 : 1, "{\"query\":\"*\"}", 13) != 0) {
            cJSON_Delete(all);
            return NULL;
        }
        cJSON *item;
        while (cJSON_IsArray(c->json) && (item = cJSON_DetachItemFromArray(c->json, 0)))
            cJSON_AddItemToArray(all, item);
        snprintf(cont, sizeof(cont), "%s", c->r.continuation);
        hub_admin_call_done(c);
        if (!cont[0])
            return all;
    }
}

static bool is_symkey(const cJSON *enrollment)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(enrollment, "attestation"), "type");
    return cJSON_IsString(t) && strcmp(t->valuestring, "symmetricKey") == 0;
}

static int enroll_list(void)
{
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0)
        return CLI_EXIT_FAIL;
    cJSON *e = query_all(&c, "/enrollments");
    if (e == NULL)
        return CLI_EXIT_FAIL;
    cJSON *gr = query_all(&c, "/enrollmentGroups");
    if (gr == NULL) {
        cJSON_Delete(e);
        return CLI_EXIT_FAIL;
    }
    if (cli_json()) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "enrollments", e);
        cJSON_AddItemToObject(o, "enrollmentGroups", gr);
        cli_json_emit(o);
        return CLI_EXIT_OK;
    }
    printf("%-10s %-40s %-9s %s\n", "KIND", "ID", "STATUS", "ATTESTATION");
    const cJSON *x;
    cJSON_ArrayForEach(x, e)
        printf("%-10s %-40s %-9s %s\n", "individual", hub_admin_jstr(x, "registrationId"),
               hub_admin_jstr(x, "provisioningStatus"),
               is_symkey(x) ? "symmetricKey" : "x509 clientCertificates");
    cJSON_ArrayForEach(x, gr) {
        const cJSON *x5 = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(x, "attestation"), "x509");
        printf("%-10s %-40s %-9s %s\n", "group", hub_admin_jstr(x, "enrollmentGroupId"),
               hub_admin_jstr(x, "provisioningStatus"),
               is_symkey(x) ? "symmetricKey"
               : cJSON_GetObjectItemCaseSensitive(x5, "caReferences") ? "x509 caReferences"
                                                                      : "x509 signingCertificates");
    }
    cJSON_Delete(e);
    cJSON_Delete(gr);
    return CLI_EXIT_OK;
}

int hub_admin_enroll(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_enroll, "enroll");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if (strcmp(cmd, "individual") == 0)
        return enroll_individual(argc, argv);
    if (strcmp(cmd, "group") == 0)
        return enroll_group(argc, argv);
    if (strcmp(cmd, "list") == 0) {
        if (argc != 2)
            return cli_usage(usage_enroll, "enroll list takes no arguments");
        return enroll_list();
    }
    if (strcmp(cmd, "show") != 0 && strcmp(cmd, "delete") != 0 && strcmp(cmd, "disable") != 0 &&
        strcmp(cmd, "enable") != 0)
        return cli_usage(usage_enroll, "unknown enroll command: %s", cmd);
    bool group_only = false;
    const char *id = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--group") == 0)
            group_only = true;
        else if (id == NULL && argv[i][0] != '-')
            id = argv[i];
        else
            return cli_usage(usage_enroll, "unknown option or extra argument: %s", argv[i]);
    }
    if (id == NULL)
        return cli_usage(usage_enroll, "enroll %s needs an enrollment id", cmd);
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    hub_admin_pct(id, eid, sizeof(eid));
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0)
        return CLI_EXIT_FAIL;
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
        rc = hub_admin_do(&c, method, path, NULL, 0, NULL, 0);
    }
    if (rc != 0)
        return CLI_EXIT_FAIL;
    const char *key = is_group ? "enrollmentGroup" : "enrollment";
    if (strcmp(cmd, "show") == 0)
        return hub_admin_print(&c, key);
    if (strcmp(cmd, "delete") == 0) {
        hub_admin_call_done(&c);
        if (cli_json()) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "deleted", id);
            cJSON_AddStringToObject(o, "kind", is_group ? "enrollmentGroup" : "enrollment");
            cli_json_emit(o);
        } else {
            printf("%s '%s' deleted\n", is_group ? "enrollment group" : "enrollment", id);
        }
        return CLI_EXIT_OK;
    }
    /* enable / disable: PUT back what GET returned (its etag is the If-Match). */
    cJSON *body = c.json;
    c.json = NULL;
    hub_admin_call_done(&c);
    cJSON_DeleteItemFromObjectCaseSensitive(body, "registrationState");
    cJSON_ReplaceItemInObjectCaseSensitive(
        body, "provisioningStatus",
        cJSON_CreateString(strcmp(cmd, "enable") == 0 ? "enabled" : "disabled"));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    rc = hub_admin_do(&c, "PUT", path, NULL, 0, text, text ? strlen(text) : 0);
    free(text);
    if (rc != 0)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, key);
}

int hub_admin_registration(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_registration, "registration");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if ((strcmp(cmd, "show") != 0 && strcmp(cmd, "delete") != 0) || argc != 3)
        return cli_usage(usage_registration, "usage: registration show ID | delete ID");
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    hub_admin_pct(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/registrations/%s", eid);
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0 ||
        hub_admin_do(&c, cmd[0] == 's' ? "GET" : "DELETE", path, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    if (cmd[0] == 's')
        return hub_admin_print(&c, "registration");
    hub_admin_call_done(&c);
    if (cli_json()) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deleted", argv[2]);
        cli_json_emit(o);
    } else {
        printf("registration '%s' deleted\n", argv[2]);
    }
    return CLI_EXIT_OK;
}

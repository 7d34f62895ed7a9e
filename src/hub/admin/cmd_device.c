/* `azkit-hub device`: the registry. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cliutil/cliutil.h"
#include "common/fileio.h"
#include "hub/admin/admin.h"
#include "hub/service/sas.h"

static const char usage_device[] =
    "usage: azkit-hub device <command>\n"
    "  add ID (--thumbprint HEX [--secondary-thumbprint HEX] | --cert FILE | --ca-signed |\n"
    "         --sas) [--disabled]\n"
    "                            register a device: X.509 (selfSigned or certificateAuthority)\n"
    "                            or symmetric keys (sas: the hub generates them; the output\n"
    "                            holds the device connection string)\n"
    "  list                      every device\n"
    "  show ID                   one device (with its connection string when it uses keys)\n"
    "  delete ID                 remove it (with its twin and C2D queue)\n"
    "  enable ID | disable ID    set its status (disabling disconnects it)\n";

/* ---- device ---------------------------------------------------------------------------- */

/* A device with symmetric keys: "connectionString" added to the device JSON, as the Azure CLI
 * shows it; HostName carries ":port" when the MQTT port is not 8883 (the SDKs take it). */
static void add_connection_string(struct hub_admin_call *c)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(c->json, "authentication");
    const char *type = hub_admin_jstr(a, "type");
    const char *key = hub_admin_jstr(cJSON_GetObjectItemCaseSensitive(a, "symmetricKey"),
                                     "primaryKey");
    const char *id = hub_admin_jstr(c->json, "deviceId");
    if (type == NULL || strcmp(type, "sas") != 0 || key == NULL || id == NULL)
        return;
    char port[16] = "";
    if (c->t.mqtt_port > 0 && c->t.mqtt_port != 8883)
        snprintf(port, sizeof(port), ":%d", c->t.mqtt_port);
    char cs[1024];
    snprintf(cs, sizeof(cs), "HostName=%s%s;DeviceId=%s;SharedAccessKey=%s", c->t.sr, port, id,
             key);
    cJSON_AddStringToObject(c->json, "connectionString", cs);
}

static int cert_thumbprint(const char *file, char out[65])
{
    char *pem = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(file, &pem, &len);
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

static int device_put(struct hub_admin_call *c, const char *id, cJSON *dev, const char *if_match)
{
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    hub_admin_pct(id, eid, sizeof(eid));
    snprintf(path, sizeof(path), "/devices/%s", eid);
    char *body = cJSON_PrintUnformatted(dev);
    cJSON_Delete(dev);
    char q[160];
    struct hub_admin_header h = {"If-Match", q};
    if (if_match)
        snprintf(q, sizeof(q), "\"%s\"", if_match);
    int rc = hub_admin_do(c, "PUT", path, &h, if_match ? 1 : 0, body, body ? strlen(body) : 0);
    free(body);
    return rc;
}

int hub_admin_device(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_device, "device");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (strcmp(cmd, "list") == 0) {
        if (argc != 2)
            return cli_usage(usage_device, "device list takes no arguments");
        if (hub_admin_resolve(&c.t) != 0 || hub_admin_do(&c, "GET", "/devices", NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        if (!cli_json()) {
            const cJSON *d;
            printf("%-32s %-22s %-9s %s\n", "DEVICE", "AUTH", "STATUS", "CONNECTION");
            cJSON_ArrayForEach(d, c.json) {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "authentication");
                printf("%-32s %-22s %-9s %s\n", hub_admin_jstr(d, "deviceId"), hub_admin_jstr(a, "type"),
                       hub_admin_jstr(d, "status"), hub_admin_jstr(d, "connectionState"));
            }
            hub_admin_call_done(&c);
            return CLI_EXIT_OK;
        }
        return hub_admin_print(&c, "devices");
    }
    if (argc < 3)
        return cli_usage(usage_device, "device %s needs a device id", cmd);
    const char *id = argv[2];
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    hub_admin_pct(id, eid, sizeof(eid));
    snprintf(path, sizeof(path), "/devices/%s", eid);
    if (strcmp(cmd, "add") == 0) {
        const char *tp = NULL, *tp2 = NULL, *cert = NULL;
        bool ca_signed = false, disabled = false, sas = false;
        const struct cli_opt opts[] = {
            {"--thumbprint", &tp, NULL}, {"--secondary-thumbprint", &tp2, NULL},
            {"--cert", &cert, NULL},     {"--ca-signed", NULL, &ca_signed},
            {"--sas", NULL, &sas},       {"--disabled", NULL, &disabled},
        };
        int urc = cli_take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), usage_device);
        if (urc != 0)
            return urc;
        if ((tp != NULL) + (cert != NULL) + ca_signed + sas != 1)
            return cli_usage(usage_device, "device add needs one of --thumbprint, --cert, "
                             "--ca-signed or --sas");
        if (tp2 && ca_signed)
            return cli_usage(usage_device, "--secondary-thumbprint is for selfSigned devices");
        char thumb[65];
        if (cert != NULL) {
            int rc = cert_thumbprint(cert, thumb);
            if (rc != 0)
                return cli_fail_status(rc, 0, "cert", "cannot read a certificate from %s", cert);
            tp = thumb;
        }
        cJSON *dev = cJSON_CreateObject();
        cJSON_AddStringToObject(dev, "deviceId", id);
        cJSON_AddStringToObject(dev, "status", disabled ? "disabled" : "enabled");
        cJSON *a = cJSON_AddObjectToObject(dev, "authentication");
        if (ca_signed) {
            cJSON_AddStringToObject(a, "type", "certificateAuthority");
        } else if (sas) {
            cJSON_AddStringToObject(a, "type", "sas"); /* keys generated by the hub */
        } else {
            cJSON_AddStringToObject(a, "type", "selfSigned");
            cJSON *x = cJSON_AddObjectToObject(a, "x509Thumbprint");
            cJSON_AddStringToObject(x, "primaryThumbprint", tp);
            if (tp2)
                cJSON_AddStringToObject(x, "secondaryThumbprint", tp2);
            else
                cJSON_AddNullToObject(x, "secondaryThumbprint");
        }
        if (hub_admin_resolve(&c.t) != 0) {
            cJSON_Delete(dev);
            return CLI_EXIT_FAIL;
        }
        if (device_put(&c, id, dev, NULL) != 0)
            return CLI_EXIT_FAIL;
        if (!cli_json()) {
            fprintf(stderr, "device '%s' registered (%s)\n", id,
                    ca_signed ? "certificateAuthority" : sas ? "sas" : "selfSigned");
        }
        add_connection_string(&c);
        return hub_admin_print(&c, "device");
    }
    if (argc != 3)
        return cli_usage(usage_device, "device %s takes one device id", cmd);
    if (hub_admin_resolve(&c.t) != 0)
        return CLI_EXIT_FAIL;
    if (strcmp(cmd, "show") == 0) {
        if (hub_admin_do(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        add_connection_string(&c);
        return hub_admin_print(&c, "device");
    }
    if (strcmp(cmd, "delete") == 0) {
        struct hub_admin_header h = {"If-Match", "\"*\""};
        if (hub_admin_do(&c, "DELETE", path, &h, 1, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        hub_admin_call_done(&c);
        if (cli_json()) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "deleted", id);
            cli_json_emit(o);
        } else {
            printf("device '%s' deleted\n", id);
        }
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0) {
        if (hub_admin_do(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        cJSON *dev = c.json;
        c.json = NULL;
        char etag[128];
        snprintf(etag, sizeof(etag), "%s", c.r.etag[0] ? c.r.etag : "*");
        hub_admin_call_done(&c);
        cJSON_ReplaceItemInObjectCaseSensitive(dev, "status", cJSON_CreateString(cmd[0] == 'e' ? "enabled" : "disabled"));
        if (device_put(&c, id, dev, etag) != 0)
            return CLI_EXIT_FAIL;
        return hub_admin_print(&c, "device");
    }
    return cli_usage(usage_device, "unknown device command: %s", cmd);
}

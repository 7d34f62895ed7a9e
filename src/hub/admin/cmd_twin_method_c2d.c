/* `azkit-hub twin`, `method` and `c2d`: what the service side does to one device. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"
#include "hub/service/sas.h"

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

/* ---- twin, method, c2d ----------------------------------------------------------------- */

int hub_admin_twin(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_twin, "twin");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (argc < 3)
        return cli_usage(usage_twin, "twin %s needs a device id", cmd);
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    hub_admin_pct(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/twins/%s", eid);
    if (strcmp(cmd, "show") == 0 && argc == 3) {
        if (hub_admin_resolve(&c.t) != 0 || hub_admin_do(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        return hub_admin_print(&c, "twin");
    }
    if (strcmp(cmd, "set-desired") == 0 && argc == 4) {
        cJSON *desired = cJSON_Parse(argv[3]);
        if (!cJSON_IsObject(desired)) {
            cJSON_Delete(desired);
            return cli_usage(usage_twin, "the desired properties must be a JSON object");
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddItemToObject(cJSON_AddObjectToObject(b, "properties"), "desired", desired);
        char *body = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
        struct hub_admin_header h = {"If-Match", "\"*\""};
        int rc = hub_admin_resolve(&c.t) != 0 ? CLI_EXIT_FAIL
                                           : hub_admin_do(&c, "PATCH", path, &h, 1, body, strlen(body));
        free(body);
        if (rc != 0)
            return CLI_EXIT_FAIL;
        return hub_admin_print(&c, "twin");
    }
    return cli_usage(usage_twin, "unknown twin command or wrong arguments: %s", cmd);
}

int hub_admin_method(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage_method, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 4 || strcmp(argv[1], "invoke") != 0)
        return cli_usage(usage_method, "usage: method invoke ID NAME");
    const char *payload = NULL;
    long timeout = 30;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--payload") == 0 && v)
            payload = argv[++i];
        else if (strcmp(a, "--timeout") == 0 && v) {
            if (!cli_parse_int(argv[++i], 5, 300, &timeout))
                return cli_usage(usage_method, "--timeout is 5..300 seconds");
        } else
            return cli_usage(usage_method, "unknown option or missing value: %s", a);
    }
    cJSON *p = NULL;
    if (payload != NULL && (p = cJSON_Parse(payload)) == NULL)
        return cli_usage(usage_method, "--payload must be JSON");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "methodName", argv[3]);
    cJSON_AddNumberToObject(b, "responseTimeoutInSeconds", (double)timeout);
    cJSON_AddNumberToObject(b, "connectTimeoutInSeconds", 0);
    cJSON_AddItemToObject(b, "payload", p ? p : cJSON_CreateNull());
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 32];
    hub_admin_pct(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/twins/%s/methods", eid);
    int rc = CLI_EXIT_FAIL;
    if (hub_admin_resolve(&c.t) == 0) {
        c.t.timeout_s = (int)timeout + 15;
        rc = hub_admin_do(&c, "POST", path, NULL, 0, body, strlen(body));
    }
    free(body);
    if (rc != 0)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, NULL);
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

int hub_admin_c2d(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage_c2d, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 4 || strcmp(argv[1], "send") != 0)
        return cli_usage(usage_c2d, "usage: c2d send ID TEXT");
    struct hub_admin_header h[40];
    char hnames[40][300];
    size_t nh = 0;
    char query[4096] = "";
    size_t ql = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return cli_usage(usage_c2d, "missing value or unknown option: %s", a);
        const char *key = NULL, *val = NULL;
        char kbuf[256];
        if (strcmp(a, "--property") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(kbuf))
                return cli_usage(usage_c2d, "--property needs k=v");
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
            return cli_usage(usage_c2d, "unknown option: %s", a);
        }
        char ek[800], ev[3000];
        hub_admin_pct(key, ek, sizeof(ek));
        hub_admin_pct(val, ev, sizeof(ev));
        int n = snprintf(query + ql, sizeof(query) - ql, "%s%s=%s", ql ? "&" : "?", ek, ev);
        if (n < 0 || (size_t)n >= sizeof(query) - ql)
            return cli_usage(usage_c2d, "the properties are too long");
        ql += (size_t)n;
        i++;
    }
    h[nh].name = "Content-Type";
    h[nh].value = "application/octet-stream";
    nh++;
    char eid[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + sizeof(query) + 64];
    hub_admin_pct(argv[2], eid, sizeof(eid));
    snprintf(path, sizeof(path), "/azkit/devices/%s/messages/devicebound%s", eid, query);
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0 ||
        hub_admin_do(&c, "POST", path, h, nh, argv[3], strlen(argv[3])) != 0)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, NULL);
}

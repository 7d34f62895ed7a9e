/* `azkit-hub server-root`: which root the running hub's MQTT server chain ends at. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"
#include "hub/server_roots.h"

static const char usage_server_root[] =
    "usage: azkit-hub server-root <command>\n"
    "  show                    which root new MQTT handshakes get, and the root files\n"
    "  set legacy|current      switch new MQTT handshakes to that root's server chain; open\n"
    "                          connections stay connected on the chain they have (the service\n"
    "                          API always serves the current root's chain)\n"
    "Devices trust <data>/pki/root-legacy.pem, root-current.pem (= ca.pem), or roots.pem (both).\n";

/* The state as text: "server root: ..." and one line per root. */
static void print_text(const cJSON *s)
{
    printf("server root: %s (new MQTT handshakes, since %s; the service API stays on current)\n",
           hub_admin_jstr(s, "serverRoot") ? hub_admin_jstr(s, "serverRoot") : "?",
           hub_admin_jstr(s, "since") ? hub_admin_jstr(s, "since") : "?");
    const cJSON *roots = cJSON_GetObjectItemCaseSensitive(s, "roots");
    for (int r = 0; r < HUB_ROOT_COUNT; r++) {
        const char *name = hub_server_root_name((enum hub_server_root)r);
        const cJSON *one = cJSON_GetObjectItemCaseSensitive(roots, name);
        printf("  %-8s %s  %s\n", name, hub_admin_jstr(one, "file") ? hub_admin_jstr(one, "file") : "?",
               hub_admin_jstr(one, "subject") ? hub_admin_jstr(one, "subject") : "");
    }
    printf("  %-8s %s\n", "both", hub_admin_jstr(s, "bundle") ? hub_admin_jstr(s, "bundle") : "?");
}

int hub_admin_server_root(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_server_root, "server-root");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    char *text = NULL;
    if (strcmp(cmd, "show") == 0 && argc == 2) {
        /* GET */
    } else if (strcmp(cmd, "set") == 0 && argc == 3) {
        enum hub_server_root root;
        if (hub_server_root_parse(argv[2], &root) != 0)
            return cli_usage(usage_server_root,
                             "server-root set: '%s' is not a root; give legacy or current",
                             argv[2]);
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "serverRoot", hub_server_root_name(root));
        text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        if (text == NULL)
            return cli_fail(-ENOMEM, NULL, "out of memory");
    } else if (strcmp(cmd, "set") == 0) {
        return cli_usage(usage_server_root, "server-root set needs one root: legacy or current");
    } else {
        return cli_usage(usage_server_root, "unknown server-root command or wrong arguments: %s",
                         cmd);
    }
    struct hub_admin_header h = {"Content-Type", "application/json"};
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    int failed = hub_admin_resolve(&c.t) != 0 ||
                 hub_admin_do(&c, text ? "PUT" : "GET", "/azkit/server-root", &h, text ? 1 : 0,
                              text, text ? strlen(text) : 0) != 0;
    free(text);
    if (failed)
        return CLI_EXIT_FAIL;
    if (cli_json())
        return hub_admin_print(&c, NULL);
    print_text(c.json);
    hub_admin_call_done(&c);
    return CLI_EXIT_OK;
}

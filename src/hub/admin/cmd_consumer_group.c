/* `azkit-hub consumer-group`: consumer groups of the Event Hubs-compatible endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"

static const char usage_consumer_group[] =
    "usage: azkit-hub consumer-group <command>\n"
    "  list            the consumer groups ($Default, serve options, created ones)\n"
    "  create NAME     a new consumer group (kept across restarts)\n"
    "  delete NAME     delete a created consumer group\n";

int hub_admin_consumer_group(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_consumer_group, "consumer-group");
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1], *method;
    char path[200];
    if (strcmp(cmd, "list") == 0 && argc == 2) {
        method = "GET";
        snprintf(path, sizeof(path), "/azkit/consumer-groups");
    } else if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "delete") == 0) && argc == 3) {
        char enc[160];
        hub_admin_pct(argv[2], enc, sizeof(enc));
        if (enc[0] == '\0')
            return cli_usage(usage_consumer_group, "'%s' is not a consumer group name",
                             argv[2]);
        method = cmd[0] == 'c' ? "PUT" : "DELETE";
        snprintf(path, sizeof(path), "/azkit/consumer-groups/%s", enc);
    } else {
        return cli_usage(usage_consumer_group, "unknown command or wrong arguments: %s", cmd);
    }
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0 || hub_admin_do(&c, method, path, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, NULL);
}

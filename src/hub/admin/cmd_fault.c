/* `azkit-hub fault`: fault injection in a running hub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cliutil/cliutil.h"
#include "hub/admin/admin.h"

static const char usage_fault[] =
    "usage: azkit-hub fault <command>\n"
    "  show                          the current fault settings\n"
    "  clear                         remove every fault\n"
    "  refuse-connects N [--code C]  refuse the next N CONNECTs with CONNACK C (3 or 5; default 3)\n"
    "  twin-throttle N               answer the next N twin requests with 429\n"
    "  dps-throttle N                answer the next N DPS requests (register, status) with\n"
    "                                429 and retry-after 1\n"
    "  puback-delay MS               delay every telemetry PUBACK by MS milliseconds (0: off)\n"
    "  drop ID                       drop the device's connection now\n"
    "Devices can also ask for a fault with the telemetry properties Azure's SDK tests use:\n"
    "AzIoTHub_FaultOperationType=KillTcp, AzIoTHub_FaultOperationCloseReason=...,\n"
    "AzIoTHub_FaultOperationDelayInSecs=S.\n";

/* ---- faults ---------------------------------------------------------------------------- */

int hub_admin_fault(int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, usage_fault, "fault");
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
               ((strcmp(cmd, "twin-throttle") == 0 || strcmp(cmd, "dps-throttle") == 0 ||
                 strcmp(cmd, "puback-delay") == 0) &&
                argc == 3)) {
        char *end;
        n = strtol(argv[2], &end, 10);
        if (*end != '\0' || n < 0 || n > 600000) {
            cJSON_Delete(body);
            return cli_usage(usage_fault, "'%s' is not a count", argv[2]);
        }
        const char *field = cmd[0] == 'r' ? "refuseConnects"
                            : cmd[0] == 't' ? "twinThrottle"
                            : cmd[0] == 'd' ? "dpsThrottle"
                                            : "pubackDelayMs";
        cJSON_AddNumberToObject(body, field, (double)n);
        if (cmd[0] == 'r' && argc == 3)
            cJSON_AddNumberToObject(body, "connackCode", 3); /* the documented default */
        if (argc == 5) {
            if (strcmp(argv[3], "--code") != 0 ||
                (strcmp(argv[4], "3") != 0 && strcmp(argv[4], "5") != 0)) {
                cJSON_Delete(body);
                return cli_usage(usage_fault, "--code is 3 or 5");
            }
            cJSON_AddNumberToObject(body, "connackCode", atoi(argv[4]));
        }
    } else {
        cJSON_Delete(body);
        return cli_usage(usage_fault, "unknown fault command or wrong arguments: %s", cmd);
    }
    char *text = strcmp(method, "POST") == 0 ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    struct hub_admin_header h = {"Content-Type", "application/json"};
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    int rc = hub_admin_resolve(&c.t) != 0 ||
             hub_admin_do(&c, method, "/azkit/faults", &h, text ? 1 : 0, text, text ? strlen(text) : 0) != 0;
    free(text);
    if (rc)
        return CLI_EXIT_FAIL;
    return hub_admin_print(&c, NULL);
}

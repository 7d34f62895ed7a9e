/* azkit dps: the DPS assignment `azkit run` keeps beside the credential store (show, reset). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "azkit/assignment_file.h"
#include "cli/cli.h"
#include "cli/device_opts.h"

static const char usage[] =
    "usage: azkit [--store DIR] [--json] dps show|reset\n"
    "The DPS assignment `azkit run --id-scope` keeps so that the device registers once:\n"
    "  show    the kept assignment (id scope, registration id, certificate thumbprint, hub,\n"
    "          device id)\n"
    "  reset   forget it: the next run registers with DPS again\n";

int cli_dps(const struct cli_opts *cli, int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (argc != 2 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "reset") != 0))
        return cli_usage(usage, "give show or reset");
    char path[4200];
    int rc = cli_dps_assignment_path(cli->store_dir, path, sizeof(path));
    if (rc != 0)
        return cli_fail(rc, NULL, "cannot work out where the DPS assignment is kept");
    bool show = strcmp(argv[1], "show") == 0;
    struct azk_assignment_record rec;
    rc = show ? azk_assignment_file_read(path, &rec) : azk_assignment_file_remove(path);
    if (rc != 0 && rc != -ENOENT)
        return cli_fail(rc, NULL, "cannot %s %s", show ? "read" : "remove", path);
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddBoolToObject(o, show ? "kept" : "removed", rc == 0);
        if (show && rc == 0) {
            cJSON_AddStringToObject(o, "idScope", rec.id_scope);
            cJSON_AddStringToObject(o, "registrationId", rec.registration_id);
            cJSON_AddStringToObject(o, "thumbprint", rec.thumbprint);
            cJSON_AddStringToObject(o, "assignedHub", rec.hub);
            cJSON_AddStringToObject(o, "deviceId", rec.device_id);
        }
        cli_json_emit(o);
    } else if (rc == -ENOENT) {
        printf("no DPS assignment kept (%s): the next run registers with DPS\n", path);
    } else if (show) {
        printf("%s\n  id scope:        %s\n  registration id: %s\n  certificate:     %s "
               "(SHA-256)\n  hub:             %s\n  device id:       %s\n",
               path, rec.id_scope, rec.registration_id, rec.thumbprint, rec.hub, rec.device_id);
    } else {
        printf("forgot the DPS assignment (%s): the next run registers with DPS\n", path);
    }
    return CLI_EXIT_OK;
}

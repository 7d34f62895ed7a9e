/* azkit: the device-side command line. Dispatches to command groups. */
#include <stdio.h>
#include <string.h>

#include "azkit/common.h"
#include "cli/cli.h"

static const char usage[] =
    "usage: azkit [--store DIR] [--json] <group> <command> [options]\n"
    "\n"
    "Connect devices to Azure IoT Hub through DPS with X.509 credentials kept by security tag.\n"
    "\n"
    "groups:\n"
    "  cred     credential store addressed by security tag and type (as the nRF91 modem)\n"
    "  pki      test PKI: roots, intermediates, device certificates, proof of possession\n"
    "  run      the device: DPS registration, IoT Hub, telemetry (TLS from security tags)\n"
    "  doctor   checks the tags' credentials as Azure will, and tries the connection\n"
    "  fleet    many devices in one process (load tests against DPS / IoT Hub)\n"
    "  dps      the DPS assignment `run` keeps (show, reset)\n"
    "  modem-sim  an nRF91 modem simulator on a pseudo-terminal (AT%CMNG, +CFUN, ...)\n"
    "\n"
    "options accepted everywhere:\n"
    "  --store DIR   credential store directory (default $AZKIT_STORE, else\n"
    "                ${XDG_DATA_HOME:-~/.local/share}/azkit/credstore), or a modem:\n"
    "                nrf91:/dev/ttyACM0[,offline=ok][,OPTION]... (AT%CMNG over the\n"
    "                modem's AT port; options in docs/cli.md)\n"
    "  --json        machine-readable output: one JSON object on stdout\n"
    "  -h, --help    help for the group or command\n"
    "  --version     print the version\n"
    "\n"
    "exit status: 0 success, 1 failure, 2 usage error.\n"
    "Run 'azkit <group> --help' for the commands of a group. Docs: docs/cli.md, docs/guide.md\n";

/* Removes --json and --store DIR from argv (before "--") so every command accepts them. */
static int take_global_options(struct cli_opts *cli, int *argc, char **argv)
{
    int out = 1;
    bool literal = false;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!literal && strcmp(a, "--") == 0)
            literal = true;
        if (!literal && strcmp(a, "--json") == 0) {
            cli->json = true;
            cli_set_json(true);
            continue;
        }
        if (!literal && strcmp(a, "--store") == 0) {
            if (i + 1 >= *argc) {
                cli_usage(NULL, "--store needs a directory");
                return -1;
            }
            cli->store_dir = argv[++i];
            continue;
        }
        if (!literal && strncmp(a, "--store=", 8) == 0) {
            cli->store_dir = a + 8;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    cli_set_program("azkit");
    struct cli_opts cli = {0};
    if (take_global_options(&cli, &argc, argv) != 0)
        return CLI_EXIT_USAGE;
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *group = argv[1];
    if (strcmp(group, "-h") == 0 || strcmp(group, "--help") == 0 || strcmp(group, "help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(group, "--version") == 0 || strcmp(group, "version") == 0) {
        printf("azkit %s\n", AZK_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(group, "cred") == 0)
        return cli_cred(&cli, argc - 1, argv + 1);
    if (strcmp(group, "pki") == 0)
        return cli_pki(&cli, argc - 1, argv + 1);
    if (strcmp(group, "run") == 0)
        return cli_run(&cli, argc - 1, argv + 1);
    if (strcmp(group, "doctor") == 0)
        return cli_doctor(&cli, argc - 1, argv + 1);
    if (strcmp(group, "errno") == 0)
        return cli_errno(&cli, argc - 1, argv + 1);
    if (strcmp(group, "fleet") == 0)
        return cli_fleet(&cli, argc - 1, argv + 1);
    if (strcmp(group, "dps") == 0)
        return cli_dps(&cli, argc - 1, argv + 1);
    if (strcmp(group, "modem-sim") == 0)
        return cli_modem_sim(argc - 1, argv + 1);
    return cli_usage(usage, "unknown command group '%s'", group);
}

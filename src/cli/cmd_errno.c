/* azkit errno N|NAME (also `azkit doctor --errno`): what an error number means on an nRF91
 * (NCS/Zephyr, newlib numbering) and on Linux, and what usually causes it in an Azure IoT Hub /
 * DPS connection, with what to check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doctor/errno_explain.h"

static const char usage[] =
    "usage: azkit errno N|NAME        (the same: azkit doctor --errno N|NAME)\n"
    "What an error number means on an nRF91 (NCS/Zephyr: newlib numbering) and on Linux --\n"
    "the numbers differ: -116 is ETIMEDOUT on an nRF91 but ESTALE on Linux, -113 ECONNABORTED\n"
    "but EHOSTUNREACH, -110 ESHUTDOWN but ETIMEDOUT -- and what usually causes it in an Azure\n"
    "IoT Hub / DPS connection, most likely first, each with what to check.\n"
    "\n"
    "  N       the number as printed (-111 or 111)\n"
    "  NAME    a name (ECONNREFUSED, econnrefused)\n"
    "  --json  {\"query\",\"nrf91\":{\"number\",\"name\",\"meaning\",\"causes\":[{\"cause\",\"check\"}]}|null,\n"
    "           \"linux\":{...}|null}\n"
    "exit status: 0 explained, 1 not known on either system, 2 usage error\n";

static void add_causes(cJSON *o, const struct azki_errno_cause *c)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "causes");
    for (int i = 0; i < AZKI_ERRNO_CAUSES && c[i].cause; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "cause", c[i].cause);
        cJSON_AddStringToObject(e, "check", c[i].check);
        cJSON_AddItemToArray(arr, e);
    }
}

static cJSON *side_json(const struct azki_errno_info *e, int number,
                        const struct azki_errno_cause *causes)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "number", -number);
    cJSON_AddStringToObject(o, "name", e->name);
    cJSON_AddStringToObject(o, "meaning", e->meaning);
    add_causes(o, causes);
    return o;
}

static void side_print(const char *system, const struct azki_errno_info *e, int number,
                       const struct azki_errno_cause *causes)
{
    printf("%d on %s: %s (%s)\n", -number, system, e->name, e->meaning);
    for (int i = 0; i < AZKI_ERRNO_CAUSES && causes[i].cause; i++) {
        printf("  %d. %s\n", i + 1, causes[i].cause);
        if (strcmp(causes[i].check, "-") != 0)
            printf("     check: %s\n", causes[i].check);
    }
}

int cli_errno_explain(const struct cli_opts *cli, const char *arg)
{
    const struct azki_errno_info *dev = NULL, *lin = NULL;
    int dev_no = 0, lin_no = 0;
    long n;
    if (cli_parse_int(arg, -100000, 100000, &n)) {
        dev = azki_errno_by_nrf91((int)n);
        lin = azki_errno_by_linux((int)n);
        dev_no = lin_no = (int)labs(n);
    } else if (arg[0] != '\0') {
        const struct azki_errno_info *e = azki_errno_by_name(arg);
        if (e == NULL)
            return cli_usage(usage, "'%s' is neither a number nor an error name azkit knows "
                             "(e.g. -111, ECONNREFUSED)", arg);
        if (e->nrf91) {
            dev = e;
            dev_no = e->nrf91;
        }
        if (e->linux_no) {
            lin = e;
            lin_no = e->linux_no;
        }
    } else {
        return cli_usage(usage, "give an error number or name");
    }
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "query", arg);
        cJSON_AddItemToObject(o, "nrf91", dev ? side_json(dev, dev_no, dev->nrf91_causes)
                                              : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "linux", lin ? side_json(lin, lin_no, lin->linux_causes)
                                              : cJSON_CreateNull());
        cli_json_emit(o);
    } else {
        if (dev)
            side_print("an nRF91 (NCS/Zephyr, newlib numbering)", dev, dev_no,
                       dev->nrf91_causes);
        else
            printf("%s: not an error number on an nRF91 (NCS/Zephyr)\n", arg);
        if (lin)
            side_print("Linux", lin, lin_no, lin->linux_causes);
        else
            printf("%s: not an error number azkit knows on Linux\n", arg);
        if (dev && lin && dev != lin)
            printf("The same number means different things: a number printed by the device "
                   "is the nRF91 one.\n");
    }
    return dev || lin ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_errno(const struct cli_opts *cli, int argc, char **argv)
{
    /* argv[0] = "errno"; a negative number is an operand, not an option. */
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (argc != 2)
        return cli_usage(usage, "give one error number or name");
    return cli_errno_explain(cli, argv[1]);
}

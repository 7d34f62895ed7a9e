/* azkit modem-sim: runs the nRF91 modem simulator (azkit-modem-sim, installed beside azkit) with
 * the given options. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: azkit modem-sim [--dir DIR] [--log FILE] [--online] [--echo]\n"
    "                       [--urc TEXT [--urc-every N] [--urc-within]] [--delay-ms N]\n"
    "                       [--silent | --silent-after N] [--at-buffer N]\n"
    "                       [--preload TAG,TYPE]... [--fail-write N] [--firmware TEXT]\n"
    "                       [--imei DIGITS] [--ready-file FILE] [--no-cmee-default]\n"
    "\n"
    "An nRF91 modem's AT interface on a pseudo-terminal: prints the terminal's path, then\n"
    "answers AT, ATE0/1, +CMEE, +CFUN (writes refused while online), %CMNG, %KEYGEN, +CGSN\n"
    "and +CGMR until interrupted. Credentials are kept in memory, or in DIR with --dir\n"
    "(they survive a restart). Point azkit at it with --store nrf91:PATH. Options in\n"
    "docs/cli.md.\n";

int cli_modem_sim(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
    /* Beside this program first (an installed or a build tree), then on PATH. */
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    argv[0] = "azkit-modem-sim";
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/azkit-modem-sim", self);
            if (access(path, X_OK) == 0)
                execv(path, argv);
        }
    }
    execvp("azkit-modem-sim", argv);
    return cli_fail(-errno, NULL, "cannot run azkit-modem-sim (installed with azkit)");
}

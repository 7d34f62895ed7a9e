/* Internal: the commands of `azkit pki`. Each gets argv[0] = the command name. */
#ifndef AZK_CLI_CMD_PKI_H
#define AZK_CLI_CMD_PKI_H

#include "cli/cli.h"

/* root, intermediate, device, self-signed, verification-cert (cmd_pki_create.c). Returns -1
 * when `argv[0]` is not one of them. */
int azk_cli_pki_create(const struct azk_cli *cli, int argc, char **argv);
/* show (cmd_pki_show.c) and verify (cmd_pki_verify.c). */
int azk_cli_pki_show(const struct azk_cli *cli, int argc, char **argv);
int azk_cli_pki_verify(const struct azk_cli *cli, int argc, char **argv);

/* Reports getopt_long's '?' / ':' results as a usage error. */
int azk_cli_pki_bad_option(const char *usage, int c, int argc, char **argv);

#endif

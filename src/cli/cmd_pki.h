/* Internal: the commands of `azkit pki`. Each gets argv[0] = the command name. */
#ifndef AZK_CLI_CMD_PKI_H
#define AZK_CLI_CMD_PKI_H

#include "cli/cli.h"

/* root, intermediate, device, self-signed, verification-cert (cmd_pki_create.c). Returns -1
 * when `argv[0]` is not one of them. */
int cli_pki_create(const struct cli_opts *cli, int argc, char **argv);
/* show (cmd_pki_show.c) and verify (cmd_pki_verify.c). */
int cli_pki_show(const struct cli_opts *cli, int argc, char **argv);
int cli_pki_verify(const struct cli_opts *cli, int argc, char **argv);

/* Reports getopt_long's '?' / ':' results as a usage error. */
int cli_pki_bad_option(const char *usage, int c, int argc, char **argv);

#endif

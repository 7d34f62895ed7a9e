/* Internal interface between the azkit CLI's dispatcher and its command groups. */
#ifndef AZK_CLI_H
#define AZK_CLI_H

#include <signal.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "azkit/diag.h"
#include "cliutil/cliutil.h"


/* Options every command accepts, anywhere on the command line (taken out of argv before a
 * command group sees it). */
struct cli_opts {
    bool json;             /* --json: one JSON object on stdout, nothing else there */
    const char *store_dir; /* --store DIR, or NULL */
};

/* Command groups. argv[0] is the group name ("cred"); argv[1] the command. */
int cli_cred(const struct cli_opts *cli, int argc, char **argv);
int cli_pki(const struct cli_opts *cli, int argc, char **argv);
int cli_run(const struct cli_opts *cli, int argc, char **argv);
int cli_doctor(const struct cli_opts *cli, int argc, char **argv);
int cli_fleet(const struct cli_opts *cli, int argc, char **argv);
int cli_dps(const struct cli_opts *cli, int argc, char **argv);
int cli_errno(const struct cli_opts *cli, int argc, char **argv);
/* What error number or name `arg` means (azkit errno, azkit doctor --errno): the exit status. */
int cli_errno_explain(const struct cli_opts *cli, const char *arg);
/* azkit modem-sim: replaces the process with azkit-modem-sim (argv[0] is "modem-sim"). */
int cli_modem_sim(int argc, char **argv);

/* A certificate summary as JSON (the same shape in every command). */
struct azk_cert_summary;
cJSON *cli_cert_json(const struct azk_cert_summary *s);
#endif

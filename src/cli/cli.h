/* Internal interface between the azkit CLI's dispatcher and its command groups. */
#ifndef AZK_CLI_H
#define AZK_CLI_H

#include <signal.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "azkit/diag.h"

/* Exit statuses, the same for every command. */
enum { AZK_EXIT_OK = 0, AZK_EXIT_FAIL = 1, AZK_EXIT_USAGE = 2 };

/* Options every command accepts, anywhere on the command line (taken out of argv before a
 * command group sees it). */
struct azk_cli {
    bool json;             /* --json: one JSON object on stdout, nothing else there */
    const char *store_dir; /* --store DIR, or NULL */
};

/* Command groups. argv[0] is the group name ("cred"); argv[1] the command. */
int azk_cli_cred(const struct azk_cli *cli, int argc, char **argv);
int azk_cli_pki(const struct azk_cli *cli, int argc, char **argv);
int azk_cli_run(const struct azk_cli *cli, int argc, char **argv);
int azk_cli_doctor(const struct azk_cli *cli, int argc, char **argv);
int azk_cli_fleet(const struct azk_cli *cli, int argc, char **argv);
int azk_cli_dps(const struct azk_cli *cli, int argc, char **argv);

/* True when argv holds -h or --help (before a "--"). */
bool azk_cli_wants_help(int argc, char **argv);

/* Human output of findings to stderr: "warning: message\n  fix: ...". */
void azk_cli_print_findings(const struct azk_diag *d);

/* Findings as a JSON array of {"severity","code","message","fix"}. */
cJSON *azk_cli_findings_json(const struct azk_diag *d);

/* Prints `obj` (pretty, with a final newline) to stdout and frees it. */
void azk_cli_json_emit(cJSON *obj);

/* Reports a failure and returns AZK_EXIT_FAIL. Human: "azkit: <what>: <strerror>" plus the
 * findings on stderr. JSON: {"error":{"errno":rc,"message":...,"findings":[...]}} on stdout. */
int azk_cli_fail(const struct azk_cli *cli, int rc, const struct azk_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reports a usage error ("azkit: <msg>" and the usage text on stderr) and returns
 * AZK_EXIT_USAGE. */
int azk_cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Installs SIGINT/SIGTERM handlers that set the returned flag (long-running commands stop
 * cleanly on it). */
volatile sig_atomic_t *azk_cli_stop_flag(void);

/* Parses an int option value strictly; returns false on junk. */
bool azk_cli_parse_int(const char *s, long min, long max, long *out);



/* A certificate summary as JSON (the same shape in every command). */
struct azk_cert_summary;
cJSON *azk_cli_cert_json(const struct azk_cert_summary *s);
#endif

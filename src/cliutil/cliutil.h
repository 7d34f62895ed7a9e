/* The command-line plumbing both executables share (azkit and azkit-hub): exit statuses,
 * usage errors, failures, --help, strict integer options, JSON output, findings, the stop
 * flag. Internal to the two programs; not part of libazkit.
 *
 * Output contract, the same in both programs: with --json (cli_set_json(true)) everything a
 * command prints on stdout is one JSON object, and a failure is {"error":{...}} there too;
 * messages for people always go to stderr, prefixed with the program name.
 */
#ifndef AZK_CLIUTIL_H
#define AZK_CLIUTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "azkit/diag.h"

/* Exit statuses, the same for every command of both programs. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* The program name that prefixes every message ("azkit", "azkit-hub"). Call once, first. */
void cli_set_program(const char *name);
/* --json given: failures are also reported as JSON on stdout. */
void cli_set_json(bool json);
bool cli_json(void);

/* True when argv[1..argc-1] holds -h or --help (before a "--"); argv[0] is the command. */
bool cli_wants_help(int argc, char **argv);

/* Strict integer option value: decimal, no junk, min <= value <= max. False otherwise. */
bool cli_parse_int(const char *s, long min, long max, long *out);

/* One command option: "--name VALUE" into *value, or (flag not NULL) a "--name" switch. */
struct cli_opt {
    const char *name;
    const char **value;
    bool *flag;
};
/* Reads argv[first..argc-1] as the `n` options `opts`. Returns 0, or cli_usage()'s status for
 * an unknown option or a missing value (naming it, with `usage`). */
int cli_take_opts(int argc, char **argv, int first, const struct cli_opt *opts, size_t n,
                  const char *usage);

/* Prints `obj` (pretty, final newline) on stdout, flushes, and frees it. */
void cli_json_emit(cJSON *obj);

/* Findings for people on stderr ("warning: message\n  fix: ..."), and as a JSON array of
 * {"severity","code","message","fix"}. `d` may be NULL (nothing / an empty array). */
void cli_print_findings(const struct azk_diag *d);
cJSON *cli_findings_json(const struct azk_diag *d);

/* A usage error: "<program>: <message>" and `usage` (may be NULL) on stderr; with --json also
 * {"error":{"code":"usage","message"}} on stdout. Returns CLI_EXIT_USAGE. */
int cli_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A failure of an operation that returned `rc` (negative errno, not 0): "<program>: <what>:
 * <azk_strerror(rc)>" and the findings `d` (may be NULL) on stderr; with --json
 * {"error":{"errno","reason","message","findings"}} on stdout. Returns CLI_EXIT_FAIL. */
int cli_fail(int rc, const struct azk_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failure answered by a service: "<program>: <message>" on stderr; with --json
 * {"error":{"errno"/"reason" (when rc != 0),"status" (when not 0),"code" (when not NULL or
 * empty),"message"}} on stdout. Returns CLI_EXIT_FAIL. */
int cli_fail_status(int rc, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Installs SIGINT/SIGTERM handlers that set the returned flag (long-running commands stop
 * cleanly on it). */
volatile sig_atomic_t *cli_stop_flag(void);

#endif

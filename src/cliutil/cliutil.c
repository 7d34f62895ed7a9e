/* The command-line plumbing of azkit and azkit-hub (cliutil.h). */
#include "cliutil/cliutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/common.h"

static const char *g_program = "azkit";
static bool g_json;

void cli_set_program(const char *name)
{
    g_program = name;
}

void cli_set_json(bool json)
{
    g_json = json;
}

bool cli_json(void)
{
    return g_json;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

bool cli_parse_int(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int cli_take_opts(int argc, char **argv, int first, const struct cli_opt *opts, size_t n,
                  const char *usage)
{
    for (int i = first; i < argc; i++) {
        const struct cli_opt *o = NULL;
        for (size_t k = 0; k < n && o == NULL; k++)
            if (strcmp(argv[i], opts[k].name) == 0 && (opts[k].flag || i + 1 < argc))
                o = &opts[k];
        if (o == NULL)
            return cli_usage(usage, "unknown option or missing value: %s", argv[i]);
        if (o->flag)
            *o->flag = true;
        else
            *o->value = argv[++i];
    }
    return 0;
}

void cli_json_emit(cJSON *obj)
{
    char *s = cJSON_Print(obj);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
    cJSON_Delete(obj);
}

void cli_print_findings(const struct azk_diag *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->count; i++) {
        const struct azk_finding *f = &d->items[i];
        fprintf(stderr, "%s: %s\n", azk_severity_name(f->severity), f->message);
        if (f->fix[0] != '\0')
            fprintf(stderr, "  fix: %s\n", f->fix);
    }
    if (d->dropped)
        fprintf(stderr, "(%zu more findings not shown)\n", d->dropped);
}

cJSON *cli_findings_json(const struct azk_diag *d)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; d != NULL && i < d->count; i++) {
        const struct azk_finding *f = &d->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "severity", azk_severity_name(f->severity));
        cJSON_AddStringToObject(o, "code", f->code);
        cJSON_AddStringToObject(o, "message", f->message);
        cJSON_AddStringToObject(o, "fix", f->fix);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The one shape of {"error":{...}} on stdout. */
static void emit_error(int rc, int status, const char *code, const char *message,
                       const struct azk_diag *d)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    if (rc != 0) {
        cJSON_AddNumberToObject(err, "errno", rc);
        cJSON_AddStringToObject(err, "reason", azk_strerror(rc));
    }
    if (status != 0)
        cJSON_AddNumberToObject(err, "status", status);
    if (code != NULL && *code != '\0')
        cJSON_AddStringToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", message);
    if (d != NULL)
        cJSON_AddItemToObject(err, "findings", cli_findings_json(d));
    cli_json_emit(root);
}

/* The one way an error leaves a command: the JSON error object (with --json) with `json_d`'s
 * findings when it is given, then the line on stderr -- "prog: message[: reason]" -- the
 * usage text and the findings of `d`. Returns `exit_code`. */
static int report(int exit_code, int rc, int status, const char *code,
                  const struct azk_diag *json_d, const struct azk_diag *d, bool with_reason,
                  const char *usage, const char *fmt, va_list ap)
    __attribute__((format(printf, 9, 0)));
static int report(int exit_code, int rc, int status, const char *code,
                  const struct azk_diag *json_d, const struct azk_diag *d, bool with_reason,
                  const char *usage, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (g_json)
        emit_error(rc, status, code, msg, json_d);
    if (with_reason)
        fprintf(stderr, "%s: %s: %s\n", g_program, msg, azk_strerror(rc));
    else
        fprintf(stderr, "%s: %s\n", g_program, msg);
    if (usage != NULL)
        fprintf(stderr, "\n%s", usage);
    if (d != NULL)
        cli_print_findings(d);
    return exit_code;
}

int cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = report(CLI_EXIT_USAGE, 0, 0, "usage", NULL, NULL, false, usage, fmt, ap);
    va_end(ap);
    return r;
}

int cli_fail(int rc, const struct azk_diag *d, const char *fmt, ...)
{
    static const struct azk_diag none;
    va_list ap;
    va_start(ap, fmt);
    int r = report(CLI_EXIT_FAIL, rc, 0, NULL, d ? d : &none, d, true, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cli_fail_status(int rc, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = report(CLI_EXIT_FAIL, rc, status, code, NULL, NULL, false, NULL, fmt, ap);
    va_end(ap);
    return r;
}

static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

volatile sig_atomic_t *cli_stop_flag(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &g_stop;
}

/* Output conventions shared by every azkit command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/common.h"
#include "cli/cli.h"

bool azk_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

void azk_cli_print_findings(const struct azk_diag *d)
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

cJSON *azk_cli_findings_json(const struct azk_diag *d)
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

void azk_cli_json_emit(cJSON *obj)
{
    char *s = cJSON_Print(obj);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    cJSON_Delete(obj);
}

int azk_cli_fail(const struct azk_cli *cli, int rc, const struct azk_diag *d, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (cli->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(root, "error");
        cJSON_AddNumberToObject(err, "errno", rc);
        cJSON_AddStringToObject(err, "reason", azk_strerror(rc));
        cJSON_AddStringToObject(err, "message", what);
        cJSON_AddItemToObject(err, "findings", azk_cli_findings_json(d));
        azk_cli_json_emit(root);
    }
    fprintf(stderr, "azkit: %s: %s\n", what, azk_strerror(rc));
    azk_cli_print_findings(d);
    return AZK_EXIT_FAIL;
}

int azk_cli_usage(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("azkit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (usage != NULL)
        fprintf(stderr, "\n%s", usage);
    return AZK_EXIT_USAGE;
}

bool azk_cli_parse_int(const char *s, long min, long max, long *out)
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

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

volatile sig_atomic_t *azk_cli_stop_flag(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_flag;
}

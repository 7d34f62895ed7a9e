/* azkit pki show FILE: every certificate in a PEM file, with Azure-portal thumbprints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/x509.h"
#include "cli/cmd_pki.h"
#include "common/fileio.h"

static const char show_usage[] =
    "usage: azkit pki show FILE\n"
    "\n"
    "Shows every certificate in a PEM file: subject, issuer, validity, key type, CA or not,\n"
    "and the SHA-1 / SHA-256 thumbprints as the Azure portal shows them (uppercase hex of the\n"
    "DER, no separators). FILE '-' reads stdin.\n";

static const char *validity_word(int v)
{
    return v == 0 ? "valid now" : v > 0 ? "EXPIRED" : "NOT YET VALID";
}

static void print_one(size_t i, const struct azk_cert_summary *s)
{
    printf("[%zu] %s\n", i + 1, s->subject);
    printf("    issuer       %s\n", s->issuer);
    printf("    valid        %s to %s (%s)\n", s->not_before, s->not_after,
           validity_word(s->validity));
    printf("    key          %s\n", s->key_type);
    if (!s->is_ca)
        printf("    CA           no\n");
    else if (s->path_len >= 0)
        printf("    CA           yes (path length %d)\n", s->path_len);
    else
        printf("    CA           yes (no path length limit)\n");
    printf("    self-signed  %s\n", s->self_signed ? "yes" : "no");
    printf("    client auth  %s\n", s->client_auth ? "yes" : "no");
    printf("    serial       %s\n", s->serial);
    printf("    SHA-1        %s\n", s->sha1);
    printf("    SHA-256      %s\n", s->sha256);
}

int cli_pki_show(const struct cli_opts *cli, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(show_usage, stdout);
        return CLI_EXIT_OK;
    }
    const char *file = NULL;
    int npos = 0;
    bool literal = false;
    for (int i = 1; i < argc; i++) {
        if (!literal && strcmp(argv[i], "--") == 0) {
            literal = true;
            continue;
        }
        if (!literal && argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage(show_usage, "unknown option '%s'", argv[i]);
        file = argv[i];
        npos++;
    }
    if (npos != 1)
        return cli_usage(show_usage, "pki show needs exactly one FILE");
    char *text = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(file, &text, &len);
    if (rc != 0)
        return cli_fail(rc, NULL, "cannot read '%s'", file);
    struct azk_diag d;
    azk_diag_init(&d);
    size_t count = 0;
    rc = azk_x509_summarize_pem(text, len, NULL, 0, &count, &d);
    struct azk_cert_summary *s = NULL;
    if (rc == 0) {
        s = calloc(count, sizeof(*s));
        rc = s == NULL ? -ENOMEM : azk_x509_summarize_pem(text, len, s, count, &count, &d);
    }
    free(text);
    if (rc != 0) {
        free(s);
        return cli_fail(rc, &d, "cannot show '%s'", file);
    }
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON *arr = cJSON_AddArrayToObject(o, "certificates");
        for (size_t i = 0; i < count; i++)
            cJSON_AddItemToArray(arr, cli_cert_json(&s[i]));
        cli_json_emit(o);
    } else {
        printf("%s: %zu certificate%s\n", file, count, count == 1 ? "" : "s");
        for (size_t i = 0; i < count; i++)
            print_one(i, &s[i]);
    }
    free(s);
    return CLI_EXIT_OK;
}

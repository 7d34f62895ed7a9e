/* Internal to the `azkit cred` commands: parsed arguments and shared helpers. */
#ifndef AZK_CLI_CRED_CLI_H
#define AZK_CLI_CRED_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "azkit/cred.h"
#include "cli/cli.h"

#define CLI_MAX_CA 8

struct cmd_args {
    const char *tag_text;
    const char *type_text;
    const char *file;
    const char *passphrase;
    const char *passphrase_file;
    const char *out_file;
    const char *c_file;
    const char *cert;
    const char *key;
    const char *secondary;
    const char *ncs;      /* --ncs VERSION (the prj.conf lines printed) */
    const char *id_scope; /* --id-scope S (the same) */
    const char *cas[CLI_MAX_CA];
    int ca_count;
    bool include_key;
    const char *cn; /* keygen --cn */
    bool force;     /* keygen --force */
    int positional_count;
    char *positional[4];
};


/* Opens the store named by --store (or the default); prints open warnings. 0 or exit code. */
int cli_cred_open(const struct cli_opts *cli, struct azk_credstore **s);
/* TAG and TYPE from --sec-tag/--type or the positionals; FILE from what follows. 0 or exit code. */
int cli_cred_tag_type(struct cmd_args *a, const char *usage, bool need_type,
                          azk_sec_tag_t *tag, enum azk_cred_type *type);
/* Prologue of the commands that name one credential (or one tag, without need_type) and take
 * no FILE: TAG [TYPE], no extra arguments, store opened. 0 with *s open, or an exit status. */
int cli_cred_begin(const struct cli_opts *cli, struct cmd_args *a, const char *usage,
                       bool need_type, azk_sec_tag_t *tag, enum azk_cred_type *type,
                       struct azk_credstore **s);
/* {"sec_tag","type","type_name"} */
cJSON *cli_cred_json(azk_sec_tag_t tag, int type);
/* Reads a file ("-" = stdin); reports failures. 0 or exit code. */
int cli_cred_read_input(const char *path, char **buf, size_t *len);
/* Wipes and frees an input buffer. */
void cli_cred_free_input(char *buf, size_t len);
/* Passphrase from --passphrase or --passphrase-file. 0 or exit code. */
int cli_cred_passphrase(struct cmd_args *a, char **owned,
                            const char **pass);

int cli_cred_list(const struct cli_opts *cli, struct cmd_args *a, const char *usage);
int cli_cred_provision(const struct cli_opts *cli, struct cmd_args *a, const char *usage);
int cli_cred_keygen(const struct cli_opts *cli, struct cmd_args *a, const char *usage);
int cli_cred_export(const struct cli_opts *cli, struct cmd_args *a, const char *usage);

#endif

/* Helpers shared by the `azkit cred` commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "azkit/cred_nrf91.h"
#include "cli/cred_cli.h"
#include "common/fileio.h"

int cli_cred_open(const struct cli_opts *cli, struct azk_credstore **s)
{
    struct azk_diag d;
    azk_diag_init(&d);
    int rc = azk_credstore_open(cli->store_dir, s, &d);
    if (rc != 0)
        return cli_fail(rc, &d, "cannot open the credential store");
    cli_print_findings(&d);
    return 0;
}

/* TAG and TYPE from --sec-tag/--type or from the positionals, in that order. */
int cli_cred_tag_type(struct cmd_args *a, const char *usage, bool need_type,
                         azk_sec_tag_t *tag, enum azk_cred_type *type)
{
    int pos = 0;
    if (a->tag_text == NULL && pos < a->positional_count)
        a->tag_text = a->positional[pos++];
    if (need_type && a->type_text == NULL && pos < a->positional_count)
        a->type_text = a->positional[pos++];
    if (a->file == NULL && pos < a->positional_count)
        a->file = a->positional[pos++];
    if (pos < a->positional_count)
        return cli_usage(usage, "unexpected argument '%s'", a->positional[pos]);
    if (a->tag_text == NULL)
        return cli_usage(usage, "missing security tag");
    struct azk_diag d;
    azk_diag_init(&d);
    if (azk_sec_tag_parse(a->tag_text, tag, &d) != 0) {
        cli_print_findings(&d);
        return CLI_EXIT_USAGE;
    }
    if (!need_type)
        return 0;
    if (a->type_text == NULL)
        return cli_usage(usage, "missing credential type");
    if (azk_cred_type_parse(a->type_text, type) != 0)
        return cli_usage(usage,
                             "unknown credential type '%s' (use 0-4, ca, cert, key, psk, identity, "
                             "or ROOT_CA_CERT, CLIENT_CERT, CLIENT_KEY, PSK, PSK_IDENTITY)",
                             a->type_text);
    return 0;
}

int cli_cred_begin(const struct cli_opts *cli, struct cmd_args *a, const char *usage,
                       bool need_type, azk_sec_tag_t *tag, enum azk_cred_type *type,
                       struct azk_credstore **s)
{
    int rc = cli_cred_tag_type(a, usage, need_type, tag, type);
    if (rc != 0)
        return rc;
    if (a->file != NULL)
        return cli_usage(usage, "unexpected argument '%s'", a->file);
    return cli_cred_open(cli, s);
}

cJSON *cli_cred_json(azk_sec_tag_t tag, int type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sec_tag", tag);
    cJSON_AddNumberToObject(o, "type", type);
    cJSON_AddStringToObject(o, "type_name", azk_cred_type_nrf_name(type));
    return o;
}

int cli_cred_read_input(const char *path, char **buf, size_t *len)
{
    int rc = azki_file_read_all(path, buf, len);
    if (rc != 0) {
        struct azk_diag d;
        azk_diag_init(&d);
        if (rc == -EFBIG)
            azk_diag_add(&d, AZK_SEV_ERROR, "cli.file-too-large", "Give the PEM file itself.",
                         "%s is larger than %d bytes; that is not a credential", path, AZKI_FILE_MAX);
        return cli_fail(rc, &d, "cannot read %s", path);
    }
    return 0;
}

void cli_cred_free_input(char *buf, size_t len)
{
    if (buf != NULL)
        OPENSSL_cleanse(buf, len);
    free(buf);
}

/* The passphrase from --passphrase or the first line of --passphrase-file. */
int cli_cred_passphrase(struct cmd_args *a, char **owned,
                          const char **pass)
{
    *owned = NULL;
    *pass = a->passphrase;
    if (a->passphrase_file == NULL)
        return 0;
    size_t len;
    int rc = cli_cred_read_input(a->passphrase_file, owned, &len);
    if (rc != 0)
        return rc;
    (*owned)[strcspn(*owned, "\r\n")] = '\0';
    *pass = *owned;
    return 0;
}


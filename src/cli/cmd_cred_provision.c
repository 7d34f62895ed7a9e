/* azkit cred provision / export: an Azure device in security tags, and back out as C. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azkit/cred_provision.h"
#include "azkit/x509.h"
#include "cli/cred_cli.h"
#include "cli/ncs_kconfig.h"
#include "common/fileio.h"

/* The prj.conf lines' settings from --ncs/--id-scope/--secondary-sec-tag and the chain's leaf
 * (`chain` may be NULL). 0, or a usage error's exit status. */
static int ncs_settings(struct cmd_args *a, const char *usage, azk_sec_tag_t primary,
                        const char *chain, size_t chain_len, bool firmware_writes,
                        struct cli_ncs_kconfig *k, struct azk_cert_summary *leaf)
{
    memset(k, 0, sizeof(*k));
    if (cli_ncs_gen_parse(a->ncs, &k->gen) != 0)
        return cli_usage(usage, "--ncs takes an nRF Connect SDK version (2.6, v2.2.0, 1.9) or "
                         "g1..g3, not '%s'", a->ncs);
    k->primary_tag = (unsigned)primary;
    k->secondary_tag = -1;
    if (a->secondary != NULL) {
        azk_sec_tag_t t;
        struct azk_diag d;
        azk_diag_init(&d);
        if (azk_sec_tag_parse(a->secondary, &t, &d) != 0) {
            cli_print_findings(&d);
            return CLI_EXIT_USAGE;
        }
        k->secondary_tag = (long)t;
    }
    k->id_scope = a->id_scope;
    k->firmware_writes = firmware_writes;
    size_t n = 0;
    if (chain != NULL && azk_x509_summarize_pem(chain, chain_len, leaf, 1, &n, NULL) == 0 && n > 0)
        k->device_id = leaf->subject_cn;
    return 0;
}

int cli_cred_provision(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    struct azk_provision_opts o;
    memset(&o, 0, sizeof(o));
    if (a->positional_count > 0)
        return cli_usage(usage, "unexpected argument '%s'", a->positional[0]);
    if (a->tag_text == NULL)
        return cli_usage(usage, "missing --sec-tag");
    if (a->cert == NULL || a->key == NULL)
        return cli_usage(usage, "missing --cert or --key");
    struct azk_diag d;
    azk_diag_init(&d);
    if (azk_sec_tag_parse(a->tag_text, &o.sec_tag, &d) != 0 ||
        (a->secondary && azk_sec_tag_parse(a->secondary, &o.secondary_sec_tag, &d) != 0)) {
        cli_print_findings(&d);
        return CLI_EXIT_USAGE;
    }
    o.has_secondary = a->secondary != NULL;

    char *bufs[2 + CLI_MAX_CA] = {0};
    size_t lens[2 + CLI_MAX_CA] = {0};
    struct azk_pem_input cas[CLI_MAX_CA];
    char *pass_owned = NULL;
    int rc = cli_cred_passphrase(a, &pass_owned, &o.passphrase);
    const char *paths[2 + CLI_MAX_CA] = {a->cert, a->key};
    for (int i = 0; i < a->ca_count; i++)
        paths[2 + i] = a->cas[i];
    for (int i = 0; rc == 0 && i < 2 + a->ca_count; i++)
        rc = cli_cred_read_input(paths[i], &bufs[i], &lens[i]);
    struct cli_ncs_kconfig ncs;
    struct azk_cert_summary leaf;
    if (rc == 0)
        rc = ncs_settings(a, usage, o.sec_tag, bufs[0], lens[0], false, &ncs, &leaf);
    struct azk_credstore *s = NULL;
    if (rc == 0)
        rc = cli_cred_open(cli, &s);
    if (rc == 0) {
        o.cert = (struct azk_pem_input){bufs[0], lens[0], a->cert};
        o.key = (struct azk_pem_input){bufs[1], lens[1], a->key};
        for (int i = 0; i < a->ca_count; i++)
            cas[i] = (struct azk_pem_input){bufs[2 + i], lens[2 + i], a->cas[i]};
        o.cas = a->ca_count ? cas : NULL;
        o.ca_count = (size_t)a->ca_count;
        struct azk_provision_report rep;
        int prc = azk_cred_provision(s, &o, &rep, &d);
        if (prc != 0) {
            rc = cli_fail(prc, &d, "provisioning failed%s",
                              rep.count ? "" : "; nothing was written");
        } else if (cli->json) {
            cJSON *root = cJSON_CreateObject();
            cJSON_AddStringToObject(root, "store", azk_credstore_describe(s));
            cJSON *steps = cJSON_AddArrayToObject(root, "steps");
            for (size_t i = 0; i < rep.count; i++) {
                cJSON *st = cli_cred_json(rep.steps[i].tag, rep.steps[i].type);
                cJSON_AddNumberToObject(st, "size", (double)rep.steps[i].size);
                cJSON_AddStringToObject(st, "what", rep.steps[i].what);
                cJSON_AddStringToObject(st, "why", rep.steps[i].why);
                cJSON_AddItemToArray(steps, st);
            }
            cJSON_AddItemToObject(root, "findings", cli_findings_json(&d));
            cJSON_AddItemToObject(root, "ncs", cli_ncs_kconfig_json(&ncs));
            cli_json_emit(root);
            cli_print_findings(&d);
        } else {
            printf("provisioned into %s:\n", azk_credstore_describe(s));
            for (size_t i = 0; i < rep.count; i++) {
                const struct azk_provision_step *st = &rep.steps[i];
                printf("  sec_tag %u type %d %-12s %s\n      why: %s\n", (unsigned)st->tag,
                       st->type, azk_cred_type_nrf_name(st->type), st->what, st->why);
            }
            printf("The TLS connection must name sec_tag %u%s%s; credentials in other tags are "
                   "never offered.\n",
                   (unsigned)o.sec_tag, o.has_secondary ? " and " : "",
                   o.has_secondary ? a->secondary : "");
            cli_ncs_kconfig_print(stdout, &ncs);
            cli_print_findings(&d);
        }
    }
    azk_credstore_close(s);
    for (int i = 0; i < 2 + a->ca_count; i++)
        cli_cred_free_input(bufs[i], lens[i]);
    cli_cred_free_input(pass_owned, pass_owned ? strlen(pass_owned) : 0);
    return rc;
}

/* Whether the store holds any credential in `tag`. */
static bool tag_holds_anything(struct azk_credstore *s, azk_sec_tag_t tag)
{
    for (int t = 0; t < AZK_CRED_TYPE_COUNT; t++) {
        bool exists = false;
        if (azk_cred_exists(s, tag, (enum azk_cred_type)t, &exists) == 0 && exists)
            return true;
    }
    return false;
}

int cli_cred_export(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    if (a->c_file == NULL)
        return cli_usage(usage, "missing --c FILE");
    int rc = cli_cred_tag_type(a, usage, false, &tag, NULL);
    if (rc != 0)
        return rc;
    if (a->file != NULL)
        return cli_usage(usage, "unexpected argument '%s'", a->file);
    bool to_stdout = strcmp(a->c_file, "-") == 0;
    if (to_stdout && a->include_key)
        return cli_usage(usage, "--include-key writes a secret: give a file, not '-'");
    if (to_stdout && cli->json)
        return cli_usage(usage, "--json and --c - both want stdout; give a file");
    struct cli_ncs_kconfig ncs;
    struct azk_cert_summary leaf;
    if ((rc = ncs_settings(a, usage, tag, NULL, 0, true, &ncs, &leaf)) != 0)
        return rc;
    struct azk_credstore *s;
    if ((rc = cli_cred_open(cli, &s)) != 0)
        return rc;
    /* The device id for the prj.conf lines: the CN of the chain in type 1, if there is one. */
    char chain[8192];
    size_t chain_len = sizeof(chain);
    if (azk_cred_read(s, tag, AZK_CRED_CLIENT_CERT, chain, &chain_len) == 0) {
        size_t n = 0;
        if (azk_x509_summarize_pem(chain, chain_len, &leaf, 1, &n, NULL) == 0 && n > 0)
            ncs.device_id = leaf.subject_cn;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    struct azk_diag d;
    azk_diag_init(&d);
    rc = mem ? azk_cred_export_c(s, tag, a->include_key, mem, &d) : -ENOMEM;
    /* The secondary tag of the prj.conf lines, when the store holds it: into the same header,
     * with one function that provisions both (NCS offers both tags to the socket). */
    bool both = false;
    if (rc == 0 && ncs.secondary_tag >= 0 && tag_holds_anything(s, (azk_sec_tag_t)ncs.secondary_tag)) {
        fputc('\n', mem);
        rc = azk_cred_export_c(s, (azk_sec_tag_t)ncs.secondary_tag, a->include_key, mem, &d);
        if (rc == 0) {
            fprintf(mem,
                    "\n/* Provisions both tags of the socket: the primary %u, then the secondary "
                    "%ld. */\n"
                    "static inline int azkit_provision_sec_tags(void)\n{\n"
                    "    int err = azkit_provision_sec_tag_%u();\n\n"
                    "    return err < 0 ? err : azkit_provision_sec_tag_%ld();\n}\n",
                    (unsigned)tag, ncs.secondary_tag, (unsigned)tag, ncs.secondary_tag);
            both = true;
        }
    }
    if (mem)
        fclose(mem);
    azk_credstore_close(s);
    if (rc == 0) {
        if (to_stdout) {
            fwrite(text, 1, len, stdout);
        } else {
            /* A header with a key is a secret: 0600 like the store. */
            rc = azki_atomic_write_path(a->c_file, text, len, a->include_key ? 0600 : 0644, false);
            if (rc != 0)
                azk_diag_add(&d, AZK_SEV_ERROR, "cli.write-failed", NULL, "cannot write %s",
                             a->c_file);
        }
    }
    if (text != NULL)
        memset(text, 0, len);
    free(text);
    if (rc != 0)
        return cli_fail(rc, &d, "export of sec_tag %u failed", (unsigned)tag);
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "sec_tag", tag);
        if (both)
            cJSON_AddNumberToObject(o, "secondary_sec_tag", (double)ncs.secondary_tag);
        cJSON_AddStringToObject(o, "file", a->c_file);
        cJSON_AddBoolToObject(o, "include_key", a->include_key);
        cJSON_AddItemToObject(o, "findings", cli_findings_json(&d));
        cJSON_AddItemToObject(o, "ncs", cli_ncs_kconfig_json(&ncs));
        cli_json_emit(o);
    } else {
        if (!to_stdout && both)
            printf("wrote %s (sec_tag %u and %ld): call azkit_provision_sec_tags() in your "
                   "firmware before LTE connects\n", a->c_file, (unsigned)tag,
                   ncs.secondary_tag);
        else if (!to_stdout)
            printf("wrote %s: call azkit_provision_sec_tag_%u() in your firmware before LTE "
                   "connects\n", a->c_file, (unsigned)tag);
        /* With the header on stdout, the lines go to stderr. */
        cli_ncs_kconfig_print(to_stdout ? stderr : stdout, &ncs);
    }
    cli_print_findings(&d);
    return CLI_EXIT_OK;
}

/* azkit cred keygen: a key pair generated inside the store (the modem's AT%KEYGEN), and the
 * CSR for it (cred_keygen.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/cred_keygen.h"
#include "cli/cred_cli.h"
#include "common/fileio.h"

int cli_cred_keygen(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    int rc = cli_cred_tag_type(a, usage, false, &tag, NULL);
    if (rc != 0)
        return rc;
    if (a->file != NULL)
        return cli_usage(usage, "unexpected argument '%s'", a->file);
    if (a->cn == NULL)
        return cli_usage(usage, "missing --cn DEVICE_ID (the CSR's common name)");
    struct azk_credstore *s;
    if ((rc = cli_cred_open(cli, &s)) != 0)
        return rc;
    struct azk_diag d;
    azk_diag_init(&d);
    struct azk_keygen_opts o = {.force = a->force};
    char *csr = NULL;
    rc = azk_cred_keygen(s, tag, a->cn, &o, &csr, &d);
    azk_credstore_close(s);
    if (rc != 0)
        return cli_fail(rc, &d, "no key generated in sec_tag %u", (unsigned)tag);
    if (a->out_file != NULL) {
        rc = azki_atomic_write_path(a->out_file, csr, strlen(csr), 0644, false);
        if (rc != 0) {
            free(csr);
            return cli_fail(rc, &d, "the key is in sec_tag %u, but the CSR could not be "
                            "written to '%s' (run keygen again with --force)", (unsigned)tag,
                            a->out_file);
        }
    }
    if (cli->json) {
        cJSON *j = cli_cred_json(tag, 2);
        cJSON_AddStringToObject(j, "cn", a->cn);
        if (a->out_file != NULL)
            cJSON_AddStringToObject(j, "csr_file", a->out_file);
        else
            cJSON_AddStringToObject(j, "csr", csr);
        cJSON_AddItemToObject(j, "findings", cli_findings_json(&d));
        cli_json_emit(j);
    } else if (a->out_file != NULL) {
        printf("generated an EC P-256 key in sec_tag %u (type 2, it stays in the store); "
               "CSR for CN=%s in %s\n", (unsigned)tag, a->cn, a->out_file);
        printf("next: azkit pki sign-csr %s --ca CA_PREFIX --out DEVICE, then azkit cred write "
               "%u cert DEVICE.chain.pem\n", a->out_file, (unsigned)tag);
    } else {
        fputs(csr, stdout);
    }
    cli_print_findings(&d);
    free(csr);
    return CLI_EXIT_OK;
}

/* `azkit-hub ca` and `azkit-hub dps-ca`: verified CAs of the hub and of DPS, with proof of
 * possession. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "azkit/common.h"
#include "azkit/pki.h"
#include "cliutil/cliutil.h"
#include "common/fileio.h"
#include "hub/admin/admin.h"
#include "hub/service/sas.h"
#include "hub/iothub/identity.h"

static const char usage_ca[] =
    "usage: azkit-hub ca <command>\n"
    "  add NAME FILE                          upload a CA certificate (unverified)\n"
    "  code NAME                              generate a proof-of-possession code\n"
    "  verify NAME --ca-key KEY               whole proof of possession with the CA's key\n"
    "  verify NAME --verification-cert FILE   verify with a certificate whose CN is the code\n"
    "  list | show NAME | delete NAME\n";

static const char usage_dps_ca[] =
    "usage: azkit-hub dps-ca <command>   (DPS's verified CAs, separate from the hub's `ca`)\n"
    "  add NAME FILE                          upload a CA certificate (unverified)\n"
    "  verify NAME --ca-key KEY               whole proof of possession with the CA's key\n"
    "  verify NAME --verification-cert FILE   verify with a certificate whose CN is the code\n"
    "  code NAME | list | show NAME | delete NAME\n";

/* ---- ca -------------------------------------------------------------------------------- */

static int ca_verify_with_key(struct hub_admin_call *c, const char *name, const char *path, const char *key)
{
    /* 1. a fresh code; 2. a certificate with CN = code signed by the CA key; 3. verify. */
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/generateVerificationCode", path);
    if (hub_admin_do(c, "POST", p, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(c->json, "properties");
    const char *code = hub_admin_jstr(props, "verificationCode"), *pem = hub_admin_jstr(props, "certificate");
    if (code == NULL || pem == NULL) {
        hub_admin_call_done(c);
        return cli_fail_status(-EBADMSG, 0, "hub.bad-answer", "the hub did not return a verification code");
    }
    char tmpl[] = "/tmp/azkit-hub-verify-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (dir == NULL) {
        hub_admin_call_done(c);
        return cli_fail_status(-errno, 0, "tmp", "cannot create a temporary directory");
    }
    char ca_path[PATH_MAX], prefix[PATH_MAX], code_copy[HUB_CA_CODE_MAX + 1];
    snprintf(ca_path, sizeof(ca_path), "%s/ca.cert.pem", dir);
    snprintf(prefix, sizeof(prefix), "%s/verification", dir);
    snprintf(code_copy, sizeof(code_copy), "%s", code);
    int rc = azki_atomic_write_path(ca_path, pem, strlen(pem), 0600, false);
    hub_admin_call_done(c);
    struct azk_diag dg;
    azk_diag_init(&dg);
    struct azk_pki_result res;
    if (rc == 0) {
        struct azk_pki_request rq;
        memset(&rq, 0, sizeof(rq));
        rq.kind = AZK_PKI_VERIFICATION;
        rq.common_name = code_copy;
        rq.issuer_cert = ca_path;
        rq.issuer_key = key;
        rq.issuer_chain = ca_path;
        rq.out_prefix = prefix;
        rc = azk_pki_create(&rq, &res, &dg);
    }
    char *vpem = NULL;
    size_t vlen = 0;
    if (rc == 0)
        rc = azki_file_read_all(res.cert_path, &vpem, &vlen);
    char cmdbuf[PATH_MAX + 32];
    const char *files[] = {"ca.cert.pem", "verification.cert.pem", "verification.key.pem",
                           "verification.chain.pem"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(cmdbuf, sizeof(cmdbuf), "%s/%s", dir, files[i]);
        unlink(cmdbuf);
    }
    rmdir(dir);
    if (rc != 0) {
        const char *why = dg.count ? dg.items[0].message : azk_strerror(rc);
        return cli_fail_status(rc, 0, "pki", "cannot create the verification certificate with %s: %s", key,
                    why);
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "certificate", vpem);
    free(vpem);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    snprintf(p, sizeof(p), "%s/verify", path);
    rc = hub_admin_do(c, "POST", p, NULL, 0, body, strlen(body));
    free(body);
    (void)name;
    return rc;
}

/* `ca` (the hub's CAs) and `dps-ca` (DPS's CAs): the same commands on two URL prefixes. */
struct ca_cmd {
    const char *group;  /* "ca" | "dps-ca" */
    const char *label;  /* "CA" | "DPS CA", in messages */
    const char *root;   /* "/azkit/certificates" | "/azkit/dps/certificates" */
    const char *usage;
};

static const struct ca_cmd hub_ca_cmd = {"ca", "CA", "/azkit/certificates", usage_ca};
static const struct ca_cmd dps_ca_cmd = {"dps-ca", "DPS CA", "/azkit/dps/certificates",
                                         usage_dps_ca};

static int ca_list(const struct ca_cmd *k)
{
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0 || hub_admin_do(&c, "GET", k->root, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(c.json, "value");
    if (!cli_json()) {
        const cJSON *x;
        printf("%-24s %-9s %-32s %s\n", "NAME", "VERIFIED", "SUBJECT", "SHA-1 THUMBPRINT");
        cJSON_ArrayForEach(x, v) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(x, "properties");
            printf("%-24s %-9s %-32s %s\n", hub_admin_jstr(x, "name"),
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "isVerified")) ? "yes" : "no",
                   hub_admin_jstr(p, "subject") ? hub_admin_jstr(p, "subject") : "", hub_admin_jstr(p, "thumbprint"));
        }
        cJSON_Delete(v);
        hub_admin_call_done(&c);
        return CLI_EXIT_OK;
    }
    cJSON_Delete(c.json);
    c.json = v ? v : cJSON_CreateArray();
    return hub_admin_print(&c, "certificates");
}

/* add NAME FILE (PUT) or verify NAME (--ca-key KEY | --verification-cert FILE). */
static int ca_add_or_verify(const struct ca_cmd *k, int argc, char **argv, const char *path)
{
    const char *cmd = argv[1], *name = argv[2];
    bool verify = strcmp(cmd, "verify") == 0;
    const char *file = NULL, *key = NULL;
    if (!verify) {
        if (argc != 4)
            return cli_usage(k->usage, "usage: %s add NAME FILE", k->group);
        file = argv[3];
    } else {
        const struct cli_opt opts[] = {{"--verification-cert", &file, NULL},
                                   {"--ca-key", &key, NULL}};
        int urc = cli_take_opts(argc, argv, 3, opts, sizeof(opts) / sizeof(opts[0]), k->usage);
        if (urc != 0)
            return urc;
        if ((file != NULL) == (key != NULL))
            return cli_usage(k->usage,
                               "%s verify needs --ca-key KEY or --verification-cert FILE",
                               k->group);
    }
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0)
        return CLI_EXIT_FAIL;
    if (key != NULL) {
        if (ca_verify_with_key(&c, name, path, key) != 0)
            return CLI_EXIT_FAIL;
    } else {
        int rc;
        char *pem = hub_admin_read_pem(file, &rc);
        if (pem == NULL)
            return cli_fail_status(rc, 0, "file", "cannot read %s", file);
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "certificate", pem);
        free(pem);
        char *body = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
        char p[PATH_MAX + 64];
        snprintf(p, sizeof(p), "%s%s", path, verify ? "/verify" : "");
        rc = hub_admin_do(&c, verify ? "POST" : "PUT", p, NULL, 0, body, strlen(body));
        free(body);
        if (rc != 0)
            return CLI_EXIT_FAIL;
    }
    if (!cli_json() && verify)
        fprintf(stderr, "%s '%s' verified\n", k->label, name);
    return hub_admin_print(&c, "certificate");
}

static int ca_code(struct hub_admin_call *c, const char *name, const char *path)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/generateVerificationCode", path);
    if (hub_admin_do(c, "POST", p, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    const char *code = hub_admin_jstr(cJSON_GetObjectItemCaseSensitive(c->json, "properties"),
                            "verificationCode");
    if (cli_json()) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "verificationCode", code ? code : "");
        cli_json_emit(o);
    } else {
        printf("%s\n", code ? code : "");
    }
    hub_admin_call_done(c);
    return CLI_EXIT_OK;
}

static int ca_delete(const struct ca_cmd *k, struct hub_admin_call *c, const char *name, const char *path)
{
    if (hub_admin_do(c, "DELETE", path, NULL, 0, NULL, 0) != 0)
        return CLI_EXIT_FAIL;
    hub_admin_call_done(c);
    if (cli_json()) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "deleted", name);
        cli_json_emit(o);
    } else {
        printf("%s '%s' deleted\n", k->label, name);
    }
    return CLI_EXIT_OK;
}

static int run_ca_cmd(const struct ca_cmd *k, int argc, char **argv)
{
    int pro = hub_admin_prologue(argc, argv, k->usage, k->group);
    if (pro >= 0)
        return pro;
    const char *cmd = argv[1];
    if (strcmp(cmd, "list") == 0) {
        if (argc != 2)
            return cli_usage(k->usage, "%s list takes no arguments", k->group);
        return ca_list(k);
    }
    if (argc < 3)
        return cli_usage(k->usage, "%s %s needs a certificate name", k->group, cmd);
    const char *name = argv[2];
    char ename[HUB_SAS_SR_MAX * 3], path[HUB_SAS_SR_MAX * 3 + 64];
    hub_admin_pct(name, ename, sizeof(ename));
    snprintf(path, sizeof(path), "%s/%s", k->root, ename);
    if (strcmp(cmd, "add") == 0 || strcmp(cmd, "verify") == 0)
        return ca_add_or_verify(k, argc, argv, path);
    if (argc != 3)
        return cli_usage(k->usage, "%s %s takes one name", k->group, cmd);
    struct hub_admin_call c;
    memset(&c, 0, sizeof(c));
    if (hub_admin_resolve(&c.t) != 0)
        return CLI_EXIT_FAIL;
    if (strcmp(cmd, "code") == 0)
        return ca_code(&c, name, path);
    if (strcmp(cmd, "show") == 0) {
        if (hub_admin_do(&c, "GET", path, NULL, 0, NULL, 0) != 0)
            return CLI_EXIT_FAIL;
        return hub_admin_print(&c, "certificate");
    }
    if (strcmp(cmd, "delete") == 0)
        return ca_delete(k, &c, name, path);
    return cli_usage(k->usage, "unknown %s command: %s", k->group, cmd);
}

int hub_admin_ca(int argc, char **argv)
{
    return run_ca_cmd(&hub_ca_cmd, argc, argv);
}

int hub_admin_dps_ca(int argc, char **argv)
{
    return run_ca_cmd(&dps_ca_cmd, argc, argv);
}

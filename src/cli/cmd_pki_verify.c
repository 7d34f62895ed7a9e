/* azkit pki verify: chain verification with the problems in words. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "azkit/pki.h"
#include "cli/cmd_pki.h"

#define MAX_FILES 16
#define MAX_CHAIN 16

static const char verify_usage[] =
    "usage: azkit pki verify --ca ROOT [--ca ROOT2...] [--untrusted F...] [--expect-cn ID]\n"
    "                        [--partial-chain] CERT\n"
    "\n"
    "Verifies CERT (its first certificate; the others in the file are offered as\n"
    "intermediates) up to a trusted CA, as Azure does for TLS client authentication, and\n"
    "explains every problem: missing intermediate, wrong root, expiry, bad signature, CN.\n"
    "\n"
    "  --ca F               trusted CA file (repeatable); a PREFIX means PREFIX.cert.pem\n"
    "  --untrusted F        intermediates to offer (repeatable)\n"
    "  --expect-cn ID       the leaf CN must equal this device / registration id\n"
    "  --partial-chain      accept a chain ending at a trusted intermediate (an intermediate\n"
    "                       uploaded and verified in Azure)\n"
    "\n"
    "exit status: 0 verified, 1 not verified or error, 2 usage error.\n";

enum { V_CA = 1, V_UNTRUSTED, V_EXPECT_CN, V_PARTIAL };

static const struct option long_opts[] = {
    {"ca", required_argument, NULL, V_CA},
    {"untrusted", required_argument, NULL, V_UNTRUSTED},
    {"expect-cn", required_argument, NULL, V_EXPECT_CN},
    {"partial-chain", no_argument, NULL, V_PARTIAL},
    {NULL, 0, NULL, 0},
};

struct verify_args {
    struct azk_pki_verify_opts o;
    const char *ca[MAX_FILES];
    const char *untrusted[MAX_FILES];
    char ca_buf[MAX_FILES][1024];
};

/* A --ca that is not a file but names PREFIX.cert.pem means that. */
static const char *ca_path(const char *arg, char buf[1024])
{
    if (access(arg, F_OK) == 0)
        return arg;
    snprintf(buf, 1024, "%s.cert.pem", arg);
    return access(buf, F_OK) == 0 ? buf : arg;
}

static int parse(int argc, char **argv, struct verify_args *a)
{
    memset(a, 0, sizeof(*a));
    a->o.ca_files = a->ca;
    a->o.untrusted_files = a->untrusted;
    opterr = 0;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        switch (opt) {
        case V_CA:
            if (a->o.ca_count == MAX_FILES)
                return cli_usage(verify_usage, "at most %d --ca files", MAX_FILES);
            a->ca[a->o.ca_count] = ca_path(optarg, a->ca_buf[a->o.ca_count]);
            a->o.ca_count++;
            break;
        case V_UNTRUSTED:
            if (a->o.untrusted_count == MAX_FILES)
                return cli_usage(verify_usage, "at most %d --untrusted files", MAX_FILES);
            a->untrusted[a->o.untrusted_count++] = optarg;
            break;
        case V_EXPECT_CN: a->o.expect_cn = optarg; break;
        case V_PARTIAL: a->o.partial_chain = true; break;
        default: return cli_pki_bad_option(verify_usage, opt, argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage(verify_usage, "pki verify needs exactly one CERT file");
    if (a->o.ca_count == 0)
        return cli_usage(verify_usage, "pki verify needs at least one --ca");
    a->o.cert_file = argv[optind];
    return 0;
}

static void emit_json(const char *cert, bool ok, const struct azk_cert_summary *chain,
                      size_t n, const struct azk_diag *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cert", cert);
    cJSON_AddBoolToObject(o, "verified", ok);
    cJSON *arr = cJSON_AddArrayToObject(o, "chain");
    for (size_t i = 0; i < n && i < MAX_CHAIN; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(chain[i].subject_cn));
    cJSON_AddItemToObject(o, "findings", cli_findings_json(d));
    cli_json_emit(o);
}

int cli_pki_verify(const struct cli_opts *cli, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(verify_usage, stdout);
        return CLI_EXIT_OK;
    }
    static struct verify_args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc;
    static struct azk_cert_summary chain[MAX_CHAIN];
    size_t n = 0;
    a.o.chain_out = chain;
    a.o.chain_max = MAX_CHAIN;
    a.o.chain_count = &n;
    struct azk_diag d;
    azk_diag_init(&d);
    rc = azk_pki_verify(&a.o, &d);
    if (rc != 0 && rc != -EKEYREJECTED)
        return cli_fail(rc, &d, "cannot verify '%s'", a.o.cert_file);
    if (cli->json) {
        emit_json(a.o.cert_file, rc == 0, chain, n, &d);
        return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    if (rc == 0) {
        for (size_t i = 0; i < d.count; i++)
            if (d.items[i].severity == AZK_SEV_INFO)
                printf("OK: %s\n", d.items[i].message);
        for (size_t i = 0; i < d.count; i++)
            if (d.items[i].severity != AZK_SEV_INFO)
                fprintf(stderr, "%s: %s\n", azk_severity_name(d.items[i].severity),
                        d.items[i].message);
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "azkit: '%s' does not verify\n", a.o.cert_file);
    cli_print_findings(&d);
    return CLI_EXIT_FAIL;
}

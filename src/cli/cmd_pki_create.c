/* azkit pki root | intermediate | device | sign-csr | self-signed | verification-cert | server */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "azkit/pki.h"
#include "cli/cmd_pki.h"

#define COMMON_HELP                                                                        \
    "  --key-type ec|rsa    ECDSA P-256 (default) or RSA 2048\n"                            \
    "  --days N             validity in days (default: CAs 3650, others 365)\n"            \
    "  --no-backdate        start now (default: notBefore one hour ago, for skewed clocks)\n" \
    "  --not-before T       explicit start, UTC YYYY-MM-DDTHH:MM:SSZ\n"                    \
    "  --not-after T        explicit end, same form (overrides --days)\n"                  \
    "  --force              overwrite existing output files\n"
#define CA_HELP                                                                            \
    "  --ca PREFIX          signing CA: PREFIX.cert.pem + PREFIX.key.pem (+ PREFIX.chain.pem\n" \
    "                       if present); a FILE.pem here is the certificate (needs --ca-key)\n" \
    "  --ca-cert F --ca-key F   signing CA certificate and key files\n"

static const char root_usage[] =
    "usage: azkit pki root [--cn CN] [--out PREFIX] [options]\n"
    "\n"
    "Creates a self-signed root CA (basicConstraints CA:TRUE, keyCertSign, cRLSign).\n"
    "\n"
    "  --cn CN              common name (default \"Azkit Test Root CA\")\n"
    "  --out PREFIX         output prefix (default \"root\")\n" COMMON_HELP;

static const char inter_usage[] =
    "usage: azkit pki intermediate (--ca PREFIX | --ca-cert F --ca-key F) [--cn CN]\n"
    "                              [--path-len N] [--out PREFIX] [options]\n"
    "\n"
    "Creates an intermediate CA signed by a CA, and PREFIX.chain.pem (intermediate + the\n"
    "intermediates above it; never the root).\n"
    "\n" CA_HELP
    "  --ca-chain F         the signing CA's chain file (default PREFIX.chain.pem of --ca)\n"
    "  --cn CN              common name (default \"Azkit Test Intermediate CA\")\n"
    "  --path-len N         CAs allowed below this one (default 0; -1 = no limit)\n"
    "  --out PREFIX         output prefix (default \"intermediate\")\n" COMMON_HELP;

static const char device_usage[] =
    "usage: azkit pki device DEVICE_ID (--ca PREFIX | --ca-cert F --ca-key F) [--ca-chain F]\n"
    "                        [--out PREFIX] [options]\n"
    "\n"
    "Creates a device certificate: CN = DEVICE_ID (also the DPS registration id), extended\n"
    "key usage clientAuth, CA:FALSE, and PREFIX.chain.pem (device + intermediates, no root)\n"
    "which is what the device sends (credential type 1).\n"
    "\n" CA_HELP
    "  --ca-chain F         the signing CA's chain file (default PREFIX.chain.pem of --ca)\n"
    "  --out PREFIX         output prefix (default DEVICE_ID)\n" COMMON_HELP;

static const char csr_usage[] =
    "usage: azkit pki sign-csr CSR.pem (--ca PREFIX | --ca-cert F --ca-key F) [--ca-chain F]\n"
    "                          [--out PREFIX] [--days N] [options]\n"
    "\n"
    "Issues a device certificate for a certificate signing request (from 'azkit cred keygen':\n"
    "the private key stays in the modem or store that made it, and is never needed here).\n"
    "The CSR's signature must verify and it must have a CN: the certificate gets that CN,\n"
    "extended key usage clientAuth, CA:FALSE, as 'pki device' issues them. Writes\n"
    "PREFIX.cert.pem and PREFIX.chain.pem (device + intermediates, no root), no key file.\n"
    "\n" CA_HELP
    "  --ca-chain F         the signing CA's chain file (default PREFIX.chain.pem of --ca)\n"
    "  --out PREFIX         output prefix (default: the CSR's CN)\n"
    "  --days N             validity in days (default 365)\n"
    "  --no-backdate        start now (default: notBefore one hour ago, for skewed clocks)\n"
    "  --not-before T       explicit start, UTC YYYY-MM-DDTHH:MM:SSZ\n"
    "  --not-after T        explicit end, same form (overrides --days)\n"
    "  --force              overwrite existing output files\n";

static const char ss_usage[] =
    "usage: azkit pki self-signed DEVICE_ID [--out PREFIX] [options]\n"
    "\n"
    "Creates a self-signed device certificate (CN = DEVICE_ID, clientAuth, CA:FALSE) for\n"
    "IoT Hub's X.509 self-signed (thumbprint) authentication.\n"
    "\n"
    "  --out PREFIX         output prefix (default DEVICE_ID)\n" COMMON_HELP;

static const char verif_usage[] =
    "usage: azkit pki verification-cert CODE (--ca PREFIX | --ca-cert F --ca-key F)\n"
    "                                   [--out PREFIX] [options]\n"
    "\n"
    "Creates the proof-of-possession certificate Azure asks for after a CA is uploaded:\n"
    "CN = the verification code from the portal, signed by the CA's key. Upload\n"
    "PREFIX.cert.pem in the certificate's Verify step.\n"
    "\n" CA_HELP
    "  --out PREFIX         output prefix (default \"verification\")\n" COMMON_HELP;

static const char server_usage[] =
    "usage: azkit pki server NAME (--ca PREFIX | --ca-cert F --ca-key F) [--ca-chain F]\n"
    "                        [--san DNS:NAME | --san IP:ADDR]... [--out PREFIX] [options]\n"
    "\n"
    "Creates a TLS server certificate: CN = NAME, subjectAltName = every --san (default: NAME),\n"
    "extended key usage serverAuth, CA:FALSE, and PREFIX.chain.pem (server + intermediates,\n"
    "no root) which is what the server sends.\n"
    "\n" CA_HELP
    "  --ca-chain F         the signing CA's chain file (default PREFIX.chain.pem of --ca)\n"
    "  --san DNS:NAME|IP:ADDR\n"
    "                       repeatable (at most 64): a DNS name, or an IPv4/IPv6 address; a\n"
    "                       value without prefix is an IP address if it parses as one\n"
    "  --out PREFIX         output prefix (default NAME)\n" COMMON_HELP;

enum {
    O_CN = 1 << 0, O_OUT = 1 << 1, O_KEY_TYPE = 1 << 2, O_DAYS = 1 << 3,
    O_NO_BACKDATE = 1 << 4, O_NOT_BEFORE = 1 << 5, O_NOT_AFTER = 1 << 6, O_FORCE = 1 << 7,
    O_CA = 1 << 8, O_CA_CERT = 1 << 9, O_CA_KEY = 1 << 10, O_CA_CHAIN = 1 << 11,
    O_PATH_LEN = 1 << 12, O_SAN = 1 << 13,
};
#define O_COMMON (O_OUT | O_KEY_TYPE | O_DAYS | O_NO_BACKDATE | O_NOT_BEFORE | O_NOT_AFTER | O_FORCE)
#define O_ISSUER (O_CA | O_CA_CERT | O_CA_KEY)

struct create_cmd {
    const char *name;
    const char *json_kind;
    enum azk_pki_kind kind;
    unsigned allowed;
    const char *usage;
    const char *default_cn;  /* NULL: positional argument */
    const char *default_out; /* NULL: the positional argument */
    bool csr;                /* the positional argument is a CSR file (sign-csr) */
};

static const struct create_cmd cmds[] = {
    {"root", "root", AZK_PKI_ROOT, O_COMMON | O_CN, root_usage, "Azkit Test Root CA", "root",
     false},
    {"intermediate", "intermediate", AZK_PKI_INTERMEDIATE,
     O_COMMON | O_CN | O_ISSUER | O_CA_CHAIN | O_PATH_LEN, inter_usage,
     "Azkit Test Intermediate CA", "intermediate", false},
    {"device", "device", AZK_PKI_DEVICE, O_COMMON | O_ISSUER | O_CA_CHAIN, device_usage, NULL,
     NULL, false},
    {"sign-csr", "device", AZK_PKI_DEVICE, (O_COMMON & ~O_KEY_TYPE) | O_ISSUER | O_CA_CHAIN,
     csr_usage, NULL, NULL, true},
    {"self-signed", "self-signed", AZK_PKI_SELF_SIGNED, O_COMMON, ss_usage, NULL, NULL, false},
    {"verification-cert", "verification", AZK_PKI_VERIFICATION, O_COMMON | O_ISSUER,
     verif_usage, NULL, "verification", false},
    {"server", "server", AZK_PKI_SERVER, O_COMMON | O_ISSUER | O_CA_CHAIN | O_SAN, server_usage,
     NULL, NULL, false},
};

static const struct option long_opts[] = {
    {"cn", required_argument, NULL, O_CN},
    {"out", required_argument, NULL, O_OUT},
    {"key-type", required_argument, NULL, O_KEY_TYPE},
    {"days", required_argument, NULL, O_DAYS},
    {"no-backdate", no_argument, NULL, O_NO_BACKDATE},
    {"not-before", required_argument, NULL, O_NOT_BEFORE},
    {"not-after", required_argument, NULL, O_NOT_AFTER},
    {"force", no_argument, NULL, O_FORCE},
    {"ca", required_argument, NULL, O_CA},
    {"ca-cert", required_argument, NULL, O_CA_CERT},
    {"ca-key", required_argument, NULL, O_CA_KEY},
    {"ca-chain", required_argument, NULL, O_CA_CHAIN},
    {"path-len", required_argument, NULL, O_PATH_LEN},
    {"san", required_argument, NULL, O_SAN},
    {NULL, 0, NULL, 0},
};

struct create_args {
    struct azk_pki_request req;
    const char *ca, *ca_cert, *ca_key;
    char cert_buf[1024], key_buf[1024];
    const char *san[AZK_PKI_SAN_MAX];
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int take_option(const struct create_cmd *c, int opt, struct create_args *a)
{
    struct azk_pki_request *r = &a->req;
    long v;
    switch (opt) {
    case O_CN: r->common_name = optarg; break;
    case O_OUT: r->out_prefix = optarg; break;
    case O_KEY_TYPE:
        if (strcmp(optarg, "ec") == 0)
            r->key_alg = AZK_KEY_EC_P256;
        else if (strcmp(optarg, "rsa") == 0)
            r->key_alg = AZK_KEY_RSA_2048;
        else
            return cli_usage(c->usage, "--key-type is 'ec' or 'rsa', not '%s'", optarg);
        break;
    case O_DAYS:
        if (!cli_parse_int(optarg, 1, 36500, &v))
            return cli_usage(c->usage, "--days needs 1 to 36500, not '%s'", optarg);
        r->days = (int)v;
        break;
    case O_NO_BACKDATE: r->no_backdate = true; break;
    case O_NOT_BEFORE: r->not_before = optarg; break;
    case O_NOT_AFTER: r->not_after = optarg; break;
    case O_FORCE: r->force = true; break;
    case O_CA: a->ca = optarg; break;
    case O_CA_CERT: a->ca_cert = optarg; break;
    case O_CA_KEY: a->ca_key = optarg; break;
    case O_CA_CHAIN: r->issuer_chain = optarg; break;
    case O_PATH_LEN:
        if (!cli_parse_int(optarg, -1, 16, &v))
            return cli_usage(c->usage, "--path-len needs -1 to 16, not '%s'", optarg);
        r->path_len = (int)v;
        break;
    case O_SAN:
        if (r->san_count >= AZK_PKI_SAN_MAX)
            return cli_usage(c->usage, "at most %d --san options", AZK_PKI_SAN_MAX);
        a->san[r->san_count++] = optarg;
        r->san = a->san;
        break;
    default: break;
    }
    return 0;
}

/* --ca PREFIX / --ca-cert F --ca-key F into issuer_cert / issuer_key. */
static int resolve_ca(const struct create_cmd *c, struct create_args *a)
{
    if (!(c->allowed & O_CA))
        return 0;
    if (a->ca != NULL && a->ca_cert != NULL)
        return cli_usage(c->usage, "give --ca or --ca-cert, not both");
    if (a->ca == NULL && a->ca_cert == NULL)
        return cli_usage(c->usage, "%s needs a signing CA: --ca PREFIX, or --ca-cert F "
                             "--ca-key F", c->name);
    if (a->ca_cert != NULL) {
        if (a->ca_key == NULL)
            return cli_usage(c->usage, "--ca-cert needs --ca-key");
        a->req.issuer_cert = a->ca_cert;
        a->req.issuer_key = a->ca_key;
        return 0;
    }
    if (ends_with(a->ca, ".pem") && access(a->ca, F_OK) == 0) {
        if (a->ca_key == NULL)
            return cli_usage(c->usage, "--ca %s is a certificate file; add --ca-key F",
                                 a->ca);
        a->req.issuer_cert = a->ca;
        a->req.issuer_key = a->ca_key;
        return 0;
    }
    snprintf(a->cert_buf, sizeof(a->cert_buf), "%s.cert.pem", a->ca);
    snprintf(a->key_buf, sizeof(a->key_buf), "%s.key.pem", a->ca);
    a->req.issuer_cert = a->cert_buf;
    a->req.issuer_key = a->ca_key != NULL ? a->ca_key : a->key_buf;
    return 0;
}

static int parse(const struct create_cmd *c, int argc, char **argv, struct create_args *a)
{
    memset(a, 0, sizeof(*a));
    a->req.kind = c->kind;
    opterr = 0;
    optind = 1;
    int opt, idx = -1;
    while ((opt = getopt_long(argc, argv, ":", long_opts, &idx)) != -1) {
        if (opt == '?' || opt == ':')
            return cli_pki_bad_option(c->usage, opt, argc, argv);
        if (!(c->allowed & (unsigned)opt))
            return cli_usage(c->usage, "option '--%s' does not apply to 'pki %s'",
                                 idx >= 0 ? long_opts[idx].name : "?", c->name);
        int rc = take_option(c, opt, a);
        if (rc != 0)
            return rc;
    }
    int npos = argc - optind;
    if (c->default_cn == NULL) {
        if (npos != 1)
            return cli_usage(c->usage, "pki %s needs exactly one %s", c->name,
                                 c->csr                          ? "CSR file"
                                 : c->kind == AZK_PKI_VERIFICATION ? "verification CODE"
                                 : c->kind == AZK_PKI_SERVER     ? "NAME"
                                                                 : "DEVICE_ID");
        if (c->csr)
            a->req.csr_file = argv[optind]; /* the CN and default prefix come from the CSR */
        else
            a->req.common_name = argv[optind];
    } else {
        if (npos != 0)
            return cli_usage(c->usage, "unexpected argument '%s'", argv[optind]);
        if (a->req.common_name == NULL)
            a->req.common_name = c->default_cn;
    }
    if (a->req.out_prefix == NULL)
        a->req.out_prefix = c->default_out != NULL ? c->default_out : a->req.common_name;
    return resolve_ca(c, a);
}

static void print_next(const struct create_cmd *c, const struct azk_pki_request *r,
                       const struct azk_pki_result *res)
{
    switch (c->kind) {
    case AZK_PKI_ROOT:
        printf("next: upload %s to IoT Hub / DPS (Certificates > Add), then prove possession: "
               "azkit pki verification-cert CODE --ca %s\n",
               res->cert_path, r->out_prefix);
        break;
    case AZK_PKI_INTERMEDIATE:
        printf("next: sign devices with it: azkit pki device DEVICE_ID --ca %s\n",
               r->out_prefix);
        break;
    case AZK_PKI_DEVICE:
        if (c->csr) {
            printf("next: azkit cred write TAG cert %s (the tag where 'cred keygen' made the "
                   "key)\n", res->chain_path);
            break;
        }
        printf("next: azkit cred provision --sec-tag 10 --cert %s --key %s\n", res->chain_path,
               res->key_path);
        break;
    case AZK_PKI_SELF_SIGNED:
        printf("next: register '%s' in IoT Hub with X.509 self-signed authentication, "
               "thumbprint %s; then azkit cred provision --sec-tag 10 --cert %s --key %s\n",
               res->cert.subject_cn, res->cert.sha1, res->cert_path, res->key_path);
        break;
    case AZK_PKI_VERIFICATION:
        printf("next: upload %s in the Verify step of the CA certificate in the Azure portal\n",
               res->cert_path);
        break;
    case AZK_PKI_SERVER:
        printf("next: give the TLS server %s (certificate + intermediates) and %s; clients "
               "trust the root CA\n",
               res->chain_path, res->key_path);
        break;
    }
}

static void print_human(const struct create_cmd *c, const struct azk_pki_request *r,
                        const struct azk_pki_result *res)
{
    const struct azk_cert_summary *s = &res->cert;
    printf("created %s '%s'\n", c->name, s->subject_cn);
    printf("  wrote        %s\n", res->cert_path);
    if (res->key_path[0] != '\0')
        printf("  wrote        %s (mode 0600)\n", res->key_path);
    if (res->chain_path[0] != '\0')
        printf("  wrote        %s (certificate + intermediates, no root)\n", res->chain_path);
    printf("  CN           %s\n", s->subject_cn);
    for (size_t i = 0; c->kind == AZK_PKI_SERVER && i < r->san_count; i++)
        printf("  SAN          %s\n", r->san[i]);
    printf("  issuer       %s\n", s->issuer_cn);
    printf("  valid        %s to %s\n", s->not_before, s->not_after);
    printf("  key          %s\n", s->key_type);
    printf("  SHA-1        %s\n", s->sha1);
    printf("  SHA-256      %s\n", s->sha256);
    print_next(c, r, res);
}

static int run(const struct cli_opts *cli, const struct create_cmd *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(c->usage, stdout);
        return CLI_EXIT_OK;
    }
    struct create_args a;
    int rc = parse(c, argc, argv, &a);
    if (rc != 0)
        return rc;
    struct azk_pki_result res;
    struct azk_diag d;
    azk_diag_init(&d);
    rc = azk_pki_create(&a.req, &res, &d);
    if (rc != 0)
        return c->csr ? cli_fail(rc, &d, "no certificate issued for '%s'", a.req.csr_file)
                      : cli_fail(rc, &d, "cannot create %s '%s'", c->name, a.req.common_name);
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", c->json_kind);
        cJSON_AddStringToObject(o, "cert", res.cert_path);
        if (res.key_path[0] != '\0')
            cJSON_AddStringToObject(o, "key", res.key_path);
        else
            cJSON_AddNullToObject(o, "key");
        if (res.chain_path[0] != '\0')
            cJSON_AddStringToObject(o, "chain", res.chain_path);
        else
            cJSON_AddNullToObject(o, "chain");
        if (c->kind == AZK_PKI_SERVER) {
            cJSON *san = cJSON_AddArrayToObject(o, "san");
            for (size_t i = 0; i < a.req.san_count; i++)
                cJSON_AddItemToArray(san, cJSON_CreateString(a.req.san[i]));
            if (a.req.san_count == 0)
                cJSON_AddItemToArray(san, cJSON_CreateString(a.req.common_name));
        }
        cJSON_AddItemToObject(o, "certificate", cli_cert_json(&res.cert));
        cJSON_AddItemToObject(o, "findings", cli_findings_json(&d));
        cli_json_emit(o);
    } else {
        print_human(c, &a.req, &res);
    }
    cli_print_findings(&d);
    return CLI_EXIT_OK;
}

int cli_pki_create(const struct cli_opts *cli, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[0], cmds[i].name) == 0)
            return run(cli, &cmds[i], argc, argv);
    return -1;
}

/* azkit cred: the credential store from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "azkit/cred.h"
#include "azkit/cred_provision.h"
#include "cli/cli.h"
#include "cli/cred_cli.h"
#include "common/fileio.h"

static const char group_usage[] =
    "usage: azkit cred <command> [options]\n"
    "\n"
    "Credential store addressed by security tag and type, as the nRF91 modem keeps them.\n"
    "Types: 0|ca|ROOT_CA_CERT  1|cert|CLIENT_CERT  2|key|CLIENT_KEY  3|psk|PSK\n"
    "       4|identity|PSK_IDENTITY\n"
    "\n"
    "commands:\n"
    "  write TAG TYPE FILE      validate and store a credential (FILE '-' = stdin)\n"
    "  read TAG TYPE            print a credential (private keys cannot be read back)\n"
    "  delete TAG TYPE          delete one credential\n"
    "  exists TAG TYPE          exit 0 if it exists, 1 if not\n"
    "  cmp TAG TYPE FILE        exit 0 if the stored credential equals FILE, 1 if not\n"
    "  digest TAG TYPE          SHA-256 of the stored credential, as AT%CMNG lists it\n"
    "  list [TAG [TYPE]]        list credentials with digests, certificate CNs, expiry, warnings\n"
    "  clear TAG                delete every credential in a tag\n"
    "  provision --sec-tag N --cert CHAIN --key KEY [--secondary-sec-tag M] [--ca FILE...]\n"
    "                           lay out an Azure device in one command\n"
    "  export --c FILE --sec-tag N [--include-key]\n"
    "                           write a C header that provisions the tag with modem_key_mgmt\n"
    "\n"
    "TAG and TYPE may also be given as --sec-tag N and --type T.\n"
    "options: --store DIR, --json (see 'azkit --help'); 'azkit cred <command> --help'.\n";

enum { OPT_TAG = 1000, OPT_TYPE, OPT_PASS, OPT_PASSFILE, OPT_CERT, OPT_KEY, OPT_SECONDARY,
       OPT_CA, OPT_C, OPT_INCLUDE_KEY, OPT_NCS, OPT_ID_SCOPE, OPT_CN, OPT_FORCE };

static const struct option long_opts[] = {
    {"sec-tag", required_argument, NULL, OPT_TAG},
    {"type", required_argument, NULL, OPT_TYPE},
    {"passphrase", required_argument, NULL, OPT_PASS},
    {"passphrase-file", required_argument, NULL, OPT_PASSFILE},
    {"output", required_argument, NULL, 'o'},
    {"out", required_argument, NULL, 'o'},
    {"cn", required_argument, NULL, OPT_CN},
    {"force", no_argument, NULL, OPT_FORCE},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"secondary-sec-tag", required_argument, NULL, OPT_SECONDARY},
    {"ca", required_argument, NULL, OPT_CA},
    {"c", required_argument, NULL, OPT_C},
    {"include-key", no_argument, NULL, OPT_INCLUDE_KEY},
    {"ncs", required_argument, NULL, OPT_NCS},
    {"id-scope", required_argument, NULL, OPT_ID_SCOPE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Per-command help and which options it accepts. */
struct cmd {
    const char *name;
    const char *usage;
    int (*run)(const struct cli_opts *cli, struct cmd_args *a, const char *usage);
    const char *allowed; /* option ids as characters: see opt_char() */
};

static char opt_char(int id)
{
    switch (id) {
    case OPT_TAG: return 't';
    case OPT_TYPE: return 'y';
    case OPT_PASS: case OPT_PASSFILE: return 'p';
    case 'o': return 'o';
    case OPT_CERT: case OPT_KEY: case OPT_CA: return 'v';
    case OPT_C: case OPT_INCLUDE_KEY: return 'c';
    case OPT_SECONDARY: return 's';
    case OPT_NCS: case OPT_ID_SCOPE: return 'n';
    case OPT_CN: case OPT_FORCE: return 'k';
    default: return '?';
    }
}

/* ---- commands ---------------------------------------------------------------------------- */

static int cmd_write(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    enum azk_cred_type type;
    int rc = cli_cred_tag_type(a, usage, true, &tag, &type);
    if (rc != 0)
        return rc;
    if (a->file == NULL)
        return cli_usage(usage, "missing FILE (use '-' for stdin)");
    char *pass_owned = NULL;
    const char *pass;
    if ((rc = cli_cred_passphrase(a, &pass_owned, &pass)) != 0)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    if ((rc = cli_cred_read_input(a->file, &buf, &len)) != 0) {
        cli_cred_free_input(pass_owned, pass_owned ? strlen(pass_owned) : 0);
        return rc;
    }
    struct azk_credstore *s;
    if ((rc = cli_cred_open(cli, &s)) != 0) {
        cli_cred_free_input(buf, len);
        cli_cred_free_input(pass_owned, pass_owned ? strlen(pass_owned) : 0);
        return rc;
    }
    struct azk_diag d;
    azk_diag_init(&d);
    struct azk_cred_write_opts o = {.passphrase = pass};
    rc = azk_cred_write_ex(s, tag, type, buf, len, &o, &d);
    cli_cred_free_input(buf, len);
    cli_cred_free_input(pass_owned, pass_owned ? strlen(pass_owned) : 0);
    if (rc != 0) {
        azk_credstore_close(s);
        return cli_fail(rc, &d, "not written: sec_tag %u type %d (%s); the store is unchanged",
                            (unsigned)tag, (int)type, azk_cred_type_description((int)type));
    }
    uint8_t dg[AZK_CRED_DIGEST_SIZE];
    char hex[65] = "";
    struct azk_cred_info info;
    rc = azk_cred_digest(s, tag, type, dg);
    if (rc != 0) { /* written, but the store stopped answering (a modem that hangs) */
        const char *why = azk_credstore_why(s);
        azk_diag_add(&d, AZK_SEV_ERROR, "cred.no-digest",
                     "Check the store (azkit cred list) once it answers again.",
                     "%s", why && *why ? why : azk_strerror(rc));
        azk_credstore_close(s);
        return cli_fail(rc, &d, "sec_tag %u type %d (%s) was written, but its digest could not "
                                "be read back", (unsigned)tag, (int)type,
                        azk_cred_type_description((int)type));
    }
    azk_digest_hex(dg, hex);
    azk_cred_describe(s, tag, (int)type, &info, NULL);
    azk_credstore_close(s);
    if (cli->json) {
        cJSON *o2 = cli_cred_json(tag, (int)type);
        cJSON_AddNumberToObject(o2, "size", (double)info.size);
        cJSON_AddStringToObject(o2, "sha256", hex);
        cJSON_AddItemToObject(o2, "findings", cli_findings_json(&d));
        cli_json_emit(o2);
    } else {
        char size[32] = "";
        if (info.size > 0)
            snprintf(size, sizeof(size), "%zu bytes, ", info.size);
        printf("wrote sec_tag %u type %d (%s, %s): %sSHA-256 %s\n", (unsigned)tag, (int)type,
               azk_cred_type_nrf_name((int)type), azk_cred_type_description((int)type), size,
               hex);
    }
    cli_print_findings(&d);
    return CLI_EXIT_OK;
}

static int cmd_read(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    enum azk_cred_type type;
    int rc = cli_cred_tag_type(a, usage, true, &tag, &type);
    if (rc != 0)
        return rc;
    if (a->file != NULL)
        return cli_usage(usage, "unexpected argument '%s' (write to a file with -o FILE)", a->file);
    struct azk_diag d;
    azk_diag_init(&d);
    if (type == AZK_CRED_PRIVATE_KEY) {
        azk_diag_add(&d, AZK_SEV_ERROR, "cred.key-not-readable",
                     "Check a key without reading it: 'azkit cred digest TAG key', "
                     "'azkit cred cmp TAG key FILE', or 'azkit cred list' (says whether it "
                     "matches the certificate).",
                     "private keys cannot be read back, as on the nRF91 modem");
        return cli_fail(-EACCES, &d, "cannot read sec_tag %u type 2", (unsigned)tag);
    }
    struct azk_credstore *s;
    if ((rc = cli_cred_open(cli, &s)) != 0)
        return rc;
    size_t len = 0;
    char probe;
    rc = azk_cred_read(s, tag, type, &probe, &len);
    char *buf = NULL;
    if (rc == -ENOMEM) {
        buf = malloc(len + 1);
        rc = buf ? azk_cred_read(s, tag, type, buf, &len) : -ENOMEM;
    } else if (rc == 0) {
        buf = calloc(1, 1);
    }
    uint8_t dg[AZK_CRED_DIGEST_SIZE];
    char hex[65] = "";
    if (rc == 0 && azk_cred_digest(s, tag, type, dg) == 0)
        azk_digest_hex(dg, hex);
    azk_credstore_close(s);
    if (rc != 0) {
        free(buf);
        return cli_fail(rc, NULL, "cannot read sec_tag %u type %d", (unsigned)tag, (int)type);
    }
    buf[len] = '\0';
    if (a->out_file != NULL) {
        rc = azki_atomic_write_path(a->out_file, buf, len, 0644, false);
        if (rc != 0) {
            free(buf);
            return cli_fail(rc, NULL, "cannot write %s", a->out_file);
        }
    }
    if (cli->json) {
        cJSON *o = cli_cred_json(tag, (int)type);
        cJSON_AddNumberToObject(o, "size", (double)len);
        cJSON_AddStringToObject(o, "sha256", hex);
        cJSON_AddStringToObject(o, "content", buf);
        cli_json_emit(o);
    } else if (a->out_file == NULL) {
        fwrite(buf, 1, len, stdout);
        fputc('\n', stdout);
    } else {
        printf("wrote %zu bytes to %s\n", len, a->out_file);
    }
    free(buf);
    return CLI_EXIT_OK;
}

static int cmd_delete(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    enum azk_cred_type type;
    struct azk_credstore *s;
    int rc = cli_cred_begin(cli, a, usage, true, &tag, &type, &s);
    if (rc != 0)
        return rc;
    rc = azk_cred_delete(s, tag, type);
    struct azk_diag d;
    azk_diag_init(&d);
    if (rc != 0 && azk_credstore_why(s) != NULL)
        azk_diag_add(&d, AZK_SEV_ERROR, "cred.delete-failed", NULL, "%s", azk_credstore_why(s));
    azk_credstore_close(s);
    if (rc != 0)
        return cli_fail(rc, &d, "cannot delete sec_tag %u type %d", (unsigned)tag, (int)type);
    if (cli->json) {
        cJSON *o = cli_cred_json(tag, (int)type);
        cJSON_AddBoolToObject(o, "deleted", true);
        cli_json_emit(o);
    } else {
        printf("deleted sec_tag %u type %d (%s)\n", (unsigned)tag, (int)type,
               azk_cred_type_nrf_name((int)type));
    }
    return CLI_EXIT_OK;
}

static int cmd_exists(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    enum azk_cred_type type;
    struct azk_credstore *s;
    int rc = cli_cred_begin(cli, a, usage, true, &tag, &type, &s);
    if (rc != 0)
        return rc;
    bool exists = false;
    rc = azk_cred_exists(s, tag, type, &exists);
    azk_credstore_close(s);
    if (rc != 0)
        return cli_fail(rc, NULL, "cannot check sec_tag %u type %d", (unsigned)tag, (int)type);
    if (cli->json) {
        cJSON *o = cli_cred_json(tag, (int)type);
        cJSON_AddBoolToObject(o, "exists", exists);
        cli_json_emit(o);
    } else {
        printf("sec_tag %u type %d (%s) %s\n", (unsigned)tag, (int)type,
               azk_cred_type_nrf_name((int)type), exists ? "exists" : "does not exist");
    }
    return exists ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int cmd_cmp(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    enum azk_cred_type type;
    int rc = cli_cred_tag_type(a, usage, true, &tag, &type);
    if (rc != 0)
        return rc;
    if (a->file == NULL)
        return cli_usage(usage, "missing FILE to compare with");
    char *buf;
    size_t len;
    if ((rc = cli_cred_read_input(a->file, &buf, &len)) != 0)
        return rc;
    struct azk_credstore *s;
    if ((rc = cli_cred_open(cli, &s)) != 0) {
        cli_cred_free_input(buf, len);
        return rc;
    }
    rc = azk_cred_cmp(s, tag, type, buf, len);
    azk_credstore_close(s);
    cli_cred_free_input(buf, len);
    if (rc < 0)
        return cli_fail(rc, NULL, "cannot compare sec_tag %u type %d", (unsigned)tag, (int)type);
    if (cli->json) {
        cJSON *o = cli_cred_json(tag, (int)type);
        cJSON_AddBoolToObject(o, "match", rc == 0);
        cli_json_emit(o);
    } else {
        printf("sec_tag %u type %d %s %s\n", (unsigned)tag, (int)type,
               rc == 0 ? "matches" : "differs from", a->file);
    }
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int cmd_digest(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    enum azk_cred_type type;
    struct azk_credstore *s;
    int rc = cli_cred_begin(cli, a, usage, true, &tag, &type, &s);
    if (rc != 0)
        return rc;
    uint8_t dg[AZK_CRED_DIGEST_SIZE];
    rc = azk_cred_digest(s, tag, type, dg);
    azk_credstore_close(s);
    if (rc != 0)
        return cli_fail(rc, NULL, "no digest for sec_tag %u type %d", (unsigned)tag, (int)type);
    char hex[65];
    azk_digest_hex(dg, hex);
    if (cli->json) {
        cJSON *o = cli_cred_json(tag, (int)type);
        cJSON_AddStringToObject(o, "sha256", hex);
        cli_json_emit(o);
    } else {
        printf("%s\n", hex);
    }
    return CLI_EXIT_OK;
}

static int cmd_clear(const struct cli_opts *cli, struct cmd_args *a, const char *usage)
{
    azk_sec_tag_t tag;
    struct azk_credstore *s;
    int rc = cli_cred_begin(cli, a, usage, false, &tag, NULL, &s);
    if (rc != 0)
        return rc;
    rc = azk_cred_clear(s, tag);
    azk_credstore_close(s);
    if (rc != 0)
        return cli_fail(rc, NULL, "cannot clear sec_tag %u", (unsigned)tag);
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "sec_tag", tag);
        cJSON_AddBoolToObject(o, "cleared", true);
        cli_json_emit(o);
    } else {
        printf("cleared sec_tag %u\n", (unsigned)tag);
    }
    return CLI_EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static const struct cmd cmds[] = {
    {"write",
     "usage: azkit cred write TAG TYPE FILE [--passphrase P | --passphrase-file F]\n"
     "Validates FILE for TYPE and stores it in canonical form (LF, no NUL, no trailing\n"
     "whitespace), atomically. An encrypted key is decrypted with the passphrase and stored\n"
     "unencrypted (mode 0600). Warnings: key/certificate mismatch, expiry, CA as type 1 or\n"
     "leaf as type 0, retired roots, too large for one AT%CMNG write.\n",
     cmd_write, "typ"},
    {"read",
     "usage: azkit cred read TAG TYPE [-o FILE]\n"
     "Prints a credential. Private keys (type 2) cannot be read back, as on the modem.\n",
     cmd_read, "tyo"},
    {"delete", "usage: azkit cred delete TAG TYPE\n", cmd_delete, "ty"},
    {"exists", "usage: azkit cred exists TAG TYPE\nExit status 0 if it exists, 1 if not.\n",
     cmd_exists, "ty"},
    {"cmp",
     "usage: azkit cred cmp TAG TYPE FILE\n"
     "Compares canonical forms: exit 0 if equal, 1 if different or absent. Works for keys.\n",
     cmd_cmp, "ty"},
    {"digest",
     "usage: azkit cred digest TAG TYPE\n"
     "SHA-256 of the stored credential in uppercase hex, as the modem's AT%CMNG=1 shows it.\n",
     cmd_digest, "ty"},
    {"list",
     "usage: azkit cred list [TAG [TYPE]]\n"
     "Tag, type, size, SHA-256 and, for certificates, subject CN and expiry; plus warnings.\n",
     cli_cred_list, "ty"},
    {"clear", "usage: azkit cred clear TAG\nDeletes every credential in the tag.\n", cmd_clear, "t"},
    {"provision",
     "usage: azkit cred provision --sec-tag N --cert DEVICE_CHAIN.pem --key DEVICE.key\n"
     "                            [--secondary-sec-tag M] [--ca FILE]... [--passphrase P]\n"
     "                            [--ncs VERSION] [--id-scope S]\n"
     "Lays out an Azure device: root CAs as type 0, the device certificate followed by its\n"
     "intermediates as type 1, the key as type 2. Default CAs: DigiCert Global Root G2 and\n"
     "Microsoft RSA Root Certificate Authority 2017 (both in the primary tag; with a secondary\n"
     "tag, G2 in the primary and Microsoft RSA 2017 in the secondary, chain and key in both).\n"
     "--ca replaces the roots (e.g. a local azkit-hub's CA): the first in the primary tag, the\n"
     "others in the secondary (a single --ca goes in both).\n"
     "Then prints the prj.conf lines that go with the tags: the sec-tag options of your NCS\n"
     "release (--ncs 2.6, 2.2, 1.9...; default: 2.3 and later), DPS with --id-scope S, and the\n"
     "device id = the certificate's CN.\n",
     cli_cred_provision, "tpvsn"},
    {"keygen",
     "usage: azkit cred keygen TAG --cn DEVICE_ID [--out CSR.pem] [--force]\n"
     "Generates an EC P-256 key pair in TAG (type 2) whose private key never leaves the\n"
     "store: on an nRF91 modem (--store nrf91:DEV) the modem makes it with AT%KEYGEN; on a\n"
     "directory store azkit makes it (mode 0600, never printed). Writes the certificate\n"
     "signing request (CN = DEVICE_ID) as PEM to --out (-o), or prints it. Sign it with\n"
     "'azkit pki sign-csr', then 'azkit cred write TAG cert DEVICE.chain.pem'.\n"
     "  --cn DEVICE_ID   the subject CN: the device id and DPS registration id\n"
     "  --out FILE       where the CSR goes (default: standard output)\n"
     "  --force          replace a key already in TAG (its certificate stops working)\n",
     cli_cred_keygen, "tok"},
    {"export",
     "usage: azkit cred export --c FILE --sec-tag N [--include-key]\n"
     "                         [--secondary-sec-tag M] [--ncs VERSION] [--id-scope S]\n"
     "Writes a C header with the tag's credentials as string literals and\n"
     "azkit_provision_sec_tag_N(), which writes them with modem_key_mgmt_write() using\n"
     "strlen() lengths. The private key and PSK are left out unless --include-key is given.\n"
     "Then prints the prj.conf lines that go with it (as cred provision does, with\n"
     "CONFIG_MODEM_KEY_MGMT=y; --secondary-sec-tag names the firmware's other tag). When\n"
     "the store holds that tag too, it goes into the same header, with\n"
     "azkit_provision_sec_tags() provisioning both.\n",
     cli_cred_export, "tcsn"},
};

int cli_cred(const struct cli_opts *cli, int argc, char **argv)
{
    if (argc < 2) {
        fputs(group_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(group_usage, stdout);
        return CLI_EXIT_OK;
    }
    const struct cmd *c = NULL;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            c = &cmds[i];
    if (c == NULL)
        return cli_usage(group_usage, "unknown cred command '%s'", argv[1]);

    struct cmd_args a;
    memset(&a, 0, sizeof(a));
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    optind = 1;
    opterr = 0;
    int opt, idx = -1;
    while ((opt = getopt_long(sub_argc, sub_argv, "ho:", long_opts, &idx)) != -1) {
        if (opt == 'h') {
            fputs(c->usage, stdout);
            return CLI_EXIT_OK;
        }
        if (opt == '?' || opt == ':') {
            const char *bad = sub_argv[optind - 1];
            return cli_usage(c->usage, "%s: unknown option or missing value: %s", c->name,
                                 bad);
        }
        if (strchr(c->allowed, opt_char(opt)) == NULL)
            return cli_usage(c->usage, "%s does not take --%s", c->name,
                                 opt == 'o' ? "output (-o)" : long_opts[idx].name);
        /* A file option whose value is missing swallows the next option (`--c --sec-tag 10`
         * once wrote a header named "--sec-tag"): no file of ours is named like an option. */
        if ((opt == OPT_C || opt == OPT_CERT || opt == OPT_KEY || opt == OPT_CA || opt == 'o') &&
            optarg != NULL && strncmp(optarg, "--", 2) == 0)
            return cli_usage(c->usage, "--%s needs a file name, not the option '%s' (FILE, or - "
                             "for standard output where that is allowed)",
                             opt == 'o' ? "output (-o)" : long_opts[idx].name, optarg);
        switch (opt) {
        case OPT_TAG:
            /* One tag per command: a second --sec-tag would silently win (cred export once
             * wrote only the last tag of two). */
            if (a.tag_text != NULL && strcmp(a.tag_text, optarg) != 0)
                return cli_usage(c->usage, "%s takes one --sec-tag (given %s and %s); %s",
                                 c->name, a.tag_text, optarg,
                                 strcmp(c->name, "export") == 0
                                     ? "for both tags of the socket in one header give the "
                                       "second as --secondary-sec-tag"
                                     : "run it once per tag");
            a.tag_text = optarg;
            break;
        case OPT_TYPE: a.type_text = optarg; break;
        case OPT_PASS: a.passphrase = optarg; break;
        case OPT_PASSFILE: a.passphrase_file = optarg; break;
        case 'o': a.out_file = optarg; break;
        case OPT_CERT: a.cert = optarg; break;
        case OPT_KEY: a.key = optarg; break;
        case OPT_SECONDARY: a.secondary = optarg; break;
        case OPT_CA:
            if (a.ca_count >= CLI_MAX_CA)
                return cli_usage(c->usage, "at most %d --ca files", CLI_MAX_CA);
            a.cas[a.ca_count++] = optarg;
            break;
        case OPT_C: a.c_file = optarg; break;
        case OPT_INCLUDE_KEY: a.include_key = true; break;
        case OPT_NCS: a.ncs = optarg; break;
        case OPT_ID_SCOPE: a.id_scope = optarg; break;
        case OPT_CN: a.cn = optarg; break;
        case OPT_FORCE: a.force = true; break;
        default: break;
        }
    }
    for (int i = optind; i < sub_argc; i++) {
        if (strcmp(sub_argv[i], "--") == 0)
            continue;
        if (a.positional_count >= 4)
            return cli_usage(c->usage, "too many arguments");
        a.positional[a.positional_count++] = sub_argv[i];
    }
    return c->run(cli, &a, c->usage);
}

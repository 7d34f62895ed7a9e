/* azkit pki: the test PKI command group (dispatch and group help). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmd_pki.h"

static const char usage[] =
    "usage: azkit pki <command> [options]\n"
    "\n"
    "Test PKI for Azure IoT Hub and DPS X.509 authentication (replaces the shell scripts of\n"
    "Microsoft's \"Create and upload certificates for testing\" tutorial).\n"
    "\n"
    "commands:\n"
    "  root                 self-signed root CA\n"
    "  intermediate         intermediate CA signed by a CA\n"
    "  device ID            device certificate (CN = ID, clientAuth) signed by a CA\n"
    "  sign-csr CSR.pem     device certificate for a CSR from 'cred keygen' (key stays put)\n"
    "  self-signed ID       self-signed device certificate (thumbprint authentication)\n"
    "  verification-cert CODE\n"
    "                       proof-of-possession certificate for a CA uploaded to Azure\n"
    "  server NAME          TLS server certificate (serverAuth, --san DNS:x / IP:a) signed by a CA\n"
    "  show FILE            subject, issuer, validity, key, thumbprints of every certificate\n"
    "  verify CERT          verify a chain and explain what is wrong\n"
    "\n"
    "Files are named from --out PREFIX: PREFIX.cert.pem, PREFIX.key.pem (mode 0600) and, for\n"
    "intermediates, devices and servers, PREFIX.chain.pem (certificate + intermediates, no\n"
    "root).\n"
    "Run 'azkit pki <command> --help' for the options of a command.\n";

int cli_pki_bad_option(const char *cmd_usage, int c, int argc, char **argv)
{
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage(cmd_usage, "option '%s' needs a value", arg);
    if (optopt != 0)
        return cli_usage(cmd_usage, "unknown option '-%c'", optopt);
    return cli_usage(cmd_usage, "unknown option '%s'", arg);
}

int cli_pki(const struct cli_opts *cli, int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "show") == 0)
        return cli_pki_show(cli, argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return cli_pki_verify(cli, argc - 1, argv + 1);
    int rc = cli_pki_create(cli, argc - 1, argv + 1);
    if (rc >= 0)
        return rc;
    return cli_usage(usage, "unknown pki command '%s'", cmd);
}

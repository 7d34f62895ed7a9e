/* Options of symmetric-key devices shared by `azkit run` and `azkit fleet` (cli/sas_opts.h). */
#include "cli/sas_opts.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"

int cli_sas_take(struct cli_sas *s, int ch, const char *arg, const char *usage)
{
    switch (ch) {
    case SAS_O_CONN: s->conn_arg = arg; return 1;
    case SAS_O_KEY: s->key_arg = arg; return 1;
    case SAS_O_GROUP_KEY: s->group_arg = arg; return 1;
    case SAS_O_TTL:
        if (!cli_parse_int(arg, CLI_SAS_TTL_MIN, CLI_SAS_TTL_MAX, &s->ttl_s))
            return cli_usage(usage, "--sas-ttl needs seconds %d..%d", CLI_SAS_TTL_MIN,
                             CLI_SAS_TTL_MAX);
        return 1;
    default: return 0;
    }
}

/* `arg`, or for "-" one line of standard input (without its line end), into out. */
static int secret_text(const char *arg, char *out, size_t size)
{
    char line[1100];
    const char *text = arg;
    if (strcmp(arg, "-") == 0) {
        if (fgets(line, sizeof(line), stdin) == NULL)
            return -1;
        line[strcspn(line, "\r\n")] = '\0';
        text = line;
    }
    size_t n = strlen(text);
    int rc = n < size ? 0 : -1;
    if (rc == 0)
        memcpy(out, text, n + 1);
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}

int cli_sas_key(const char *arg, const char *option, char out[AZK_SAS_KEY_B64_MAX],
                const char *usage)
{
    unsigned char k[AZK_SAS_KEY_BYTES_MAX];
    int n = secret_text(arg, out, AZK_SAS_KEY_B64_MAX) == 0
                ? azk_sas_key_decode(out, k, sizeof(k)) : -1;
    OPENSSL_cleanse(k, sizeof(k));
    if (n >= 16)
        return 0;
    OPENSSL_cleanse(out, AZK_SAS_KEY_B64_MAX);
    return cli_usage(usage, "%s needs a base64 key of 16 to 64 bytes (as Azure shows it: the "
                     "primary or secondary key)%s", option,
                     strcmp(arg, "-") == 0 ? " on standard input" : "");
}

int cli_sas_conn_string(const char *arg, struct azk_device_conn_string *out, const char *usage)
{
    char text[1024], why[200];
    int rc = secret_text(arg, text, sizeof(text));
    if (rc == 0)
        rc = azk_device_conn_string_parse(text, out, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "no connection string%s",
                 strcmp(arg, "-") == 0 ? " on standard input" : " (too long)");
    OPENSSL_cleanse(text, sizeof(text));
    if (rc == 0)
        return 0;
    OPENSSL_cleanse(out, sizeof(*out));
    return cli_usage(usage, "--connection-string: %s", why);
}

/* The options of symmetric-key devices that `azkit run` and `azkit fleet` share: a device
 * connection string, a device key, a group key (each given on the command line or, as "-",
 * read from one line of standard input) and the token lifetime. Keys are never printed. */
#ifndef AZK_CLI_SAS_OPTS_H
#define AZK_CLI_SAS_OPTS_H

#include <getopt.h>

#include "azkit/sas_token.h"

enum { SAS_O_CONN = 950, SAS_O_KEY, SAS_O_GROUP_KEY, SAS_O_TTL };

#define CLI_SAS_OPTIONS                                                                        \
    {"connection-string", required_argument, NULL, SAS_O_CONN},                                \
        {"symmetric-key", required_argument, NULL, SAS_O_KEY},                                 \
        {"group-key", required_argument, NULL, SAS_O_GROUP_KEY},                               \
        {"sas-ttl", required_argument, NULL, SAS_O_TTL}

/* Shortest and longest --sas-ttl (seconds). */
#define CLI_SAS_TTL_MIN 2
#define CLI_SAS_TTL_MAX 31536000

struct cli_sas {
    const char *conn_arg, *key_arg, *group_arg; /* as given ("-": standard input) */
    long ttl_s;                                 /* 0: AZK_SAS_TTL_DEFAULT */
};

/* Takes option `ch` when it is one of these: 1 taken, 0 not, or the usage error's status. */
int cli_sas_take(struct cli_sas *s, int ch, const char *arg, const char *usage);

/* The key an option gave (`arg`; "-" reads one line of standard input) into `out`, checked to
 * be base64 of 16 to 64 bytes. 0, or the usage error's status (the message names `option`,
 * never the key). */
int cli_sas_key(const char *arg, const char *option, char out[AZK_SAS_KEY_B64_MAX],
                const char *usage);

/* The connection string `arg` ("-": standard input) parsed into `out`. 0 or the usage error's
 * status. */
int cli_sas_conn_string(const char *arg, struct azk_device_conn_string *out, const char *usage);

#endif

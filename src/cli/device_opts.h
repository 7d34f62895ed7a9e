/* The options `azkit run` and `azkit doctor` share: the socket's tags and where the device
 * connects (DPS or a hub), and the client settings they make. */
#ifndef AZK_CLI_DEVICE_OPTS_H
#define AZK_CLI_DEVICE_OPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "azkit/client.h"
#include "azkit/tls_tags.h"

enum {
    DEV_O_TAG = 900, DEV_O_SCOPE, DEV_O_REG, DEV_O_DPS, DEV_O_HUB, DEV_O_DEV, DEV_O_ADDR,
};

/* The getopt_long entries of the shared options (put first in a command's table). */
#define CLI_DEVICE_OPTIONS                                                                 \
    {"sec-tag", required_argument, NULL, DEV_O_TAG},                                           \
        {"id-scope", required_argument, NULL, DEV_O_SCOPE},                                    \
        {"registration-id", required_argument, NULL, DEV_O_REG},                               \
        {"dps-host", required_argument, NULL, DEV_O_DPS},                                      \
        {"hub", required_argument, NULL, DEV_O_HUB},                                           \
        {"device-id", required_argument, NULL, DEV_O_DEV},                                     \
        {"connect-address", required_argument, NULL, DEV_O_ADDR}

struct cli_device {
    azk_sec_tag_t tags[AZK_TLS_TAGS_MAX];
    size_t ntags;
    const char *scope, *reg, *dps, *hub, *dev, *addr;
};

/* Takes option `ch` with `arg` when it is a shared one: 1 taken, 0 not a shared option, or
 * the usage error's exit status (2). */
int cli_device_take(struct cli_device *d, int ch, const char *arg, const char *usage);

/* After parsing: the default tag (10) and the DPS/hub exclusion (`need_endpoint`: one of the
 * two is required). 0 or the usage error's exit status. */
int cli_device_finish(struct cli_device *d, const char *usage, bool need_endpoint);

/* Client settings for the endpoint; ids default to the certificate's CN (`ti`). The spans
 * point into `d` and `ti`. */
void cli_device_client_config(const struct cli_device *d,
                                  const struct azk_tls_tags_info *ti,
                                  struct azk_client_config *cfg);

/* Where the DPS assignment is kept (azkit/assignment_file.h): beside the credential store,
 * "<store dir>.dps-assignment"; for a modem store, in the default data directory. 0 or a
 * negative errno (-ENOENT: no HOME, -ENAMETOOLONG). */
int cli_dps_assignment_path(const char *store_dir, char *out, size_t size);

#endif

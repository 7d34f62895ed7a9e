/* Options shared by `azkit run` and `azkit doctor` (cli/device_opts.h). */
#include "cli/device_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/cred.h"
#include "cli/cli.h"

int cli_dps_assignment_path(const char *store_dir, char *out, size_t size)
{
    char dir[4096];
    int rc = azk_credstore_resolve_dir(store_dir, dir, sizeof(dir));
    if (rc != 0)
        return rc;
    if (strncmp(dir, "nrf91:", 6) == 0) { /* a modem: keep it on this computer */
        const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        if (xdg != NULL && *xdg == '/')
            snprintf(dir, sizeof(dir), "%s/azkit/nrf91", xdg);
        else if (home != NULL && *home)
            snprintf(dir, sizeof(dir), "%s/.local/share/azkit/nrf91", home);
        else
            return -ENOENT;
    }
    return snprintf(out, size, "%s.dps-assignment", dir) < (int)size ? 0 : -ENAMETOOLONG;
}

int cli_device_take(struct cli_device *d, int ch, const char *arg, const char *usage)
{
    switch (ch) {
    case DEV_O_TAG: {
        long t;
        if (d->ntags == AZK_TLS_TAGS_MAX || !cli_parse_int(arg, 0, 2147483647L, &t))
            return cli_usage(usage, "--sec-tag needs a tag 0..2147483647 (at most %d)",
                                 AZK_TLS_TAGS_MAX);
        d->tags[d->ntags++] = (azk_sec_tag_t)t;
        return 1;
    }
    case DEV_O_SCOPE: d->scope = arg; return 1;
    case DEV_O_REG: d->reg = arg; return 1;
    case DEV_O_DPS: d->dps = arg; return 1;
    case DEV_O_HUB: d->hub = arg; return 1;
    case DEV_O_DEV: d->dev = arg; return 1;
    case DEV_O_ADDR: d->addr = arg; return 1;
    default: return 0;
    }
}

int cli_device_finish(struct cli_device *d, const char *usage, bool need_endpoint)
{
    if (d->scope != NULL && d->hub != NULL)
        return cli_usage(usage, "give --id-scope (register through DPS) or --hub (connect "
                             "to a hub directly), not both");
    if (need_endpoint && d->scope == NULL && d->hub == NULL)
        return cli_usage(usage, "give --id-scope (register through DPS) or --hub (connect "
                             "to a hub directly)");
    if (d->ntags == 0)
        d->tags[d->ntags++] = 10;
    return 0;
}

void cli_device_client_config(const struct cli_device *d,
                                  const struct azk_tls_tags_info *ti,
                                  struct azk_client_config *cfg)
{
    if (d->scope != NULL) {
        cfg->id_scope = azk_span_from_str(d->scope);
        cfg->registration_id = azk_span_from_str(d->reg ? d->reg : ti->client_cn);
        if (d->dps != NULL)
            cfg->dps_host = azk_span_from_str(d->dps);
    } else {
        cfg->hub_host = azk_span_from_str(d->hub);
        cfg->device_id = azk_span_from_str(d->dev ? d->dev : ti->client_cn);
    }
}

/* The DPS id scope of a data dir: generated once ("0ne" + 8 uppercase hex digits, like
 * Azure's) and kept in <data>/dps.json, so devices keep working across restarts. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "common/fileio.h"
#include "hub/daemon.h"
#include "hub/dps/dps.h"
#include "hub/dps/dps_model.h"
#include "hub/log.h"

static bool scope_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HUB_DPS_SCOPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

int hub_dps_scope_load(const char *data_dir, char out[HUB_DPS_SCOPE_MAX + 1])
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/dps.json", data_dir);
    char *text = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(path, &text, &len);
    if (rc == 0) {
        cJSON *j = cJSON_ParseWithLength(text, len);
        free(text);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "id_scope");
        bool ok = cJSON_IsString(s) && scope_valid(s->valuestring);
        if (ok)
            snprintf(out, HUB_DPS_SCOPE_MAX + 1, "%s", s->valuestring);
        cJSON_Delete(j);
        if (ok)
            return 0;
        hub_log(HUB_LOG_ERROR, "%s has no valid \"id_scope\" -- fix: repair it, or remove it "
                "to get a new id scope (devices then need the new one)", path);
        return -EBADMSG;
    }
    if (rc != -ENOENT) {
        hub_log(HUB_LOG_ERROR, "cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    unsigned char r[4];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -EIO;
    snprintf(out, HUB_DPS_SCOPE_MAX + 1, "0ne%02X%02X%02X%02X", r[0], r[1], r[2], r[3]);
    char json[64];
    int n = snprintf(json, sizeof(json), "{\"id_scope\":\"%s\"}\n", out);
    rc = azki_atomic_write_path(path, json, (size_t)n, 0600, false);
    if (rc != 0)
        hub_log(HUB_LOG_ERROR, "cannot write %s: %s", path, strerror(-rc));
    return rc;
}

int hub_dps_start(struct hub_daemon *d)
{
    int rc = hub_dps_scope_load(d->cfg.data_dir, d->dps.id_scope);
    if (rc != 0)
        return rc;
    hub_dps_endpoint(d, d->hubs[0].hostname, d->dps.host, sizeof(d->dps.host));
    return 0;
}

void hub_dps_endpoint(const struct hub_daemon *d, const char *host, char *out, size_t len)
{
    if (d->mqtt_port == 8883)
        snprintf(out, len, "%s", host);
    else
        snprintf(out, len, "%s:%d", host, d->mqtt_port);
}

void hub_dps_fix_assigned_hub(const struct hub_daemon *d, cJSON *o)
{
    cJSON *nested = cJSON_GetObjectItemCaseSensitive(o, "registrationState");
    if (cJSON_IsObject(nested))
        hub_dps_fix_assigned_hub(d, nested);
    cJSON *hub = cJSON_GetObjectItemCaseSensitive(o, "assignedHub");
    if (!cJSON_IsString(hub))
        return;
    char text[DPS_HOST_MAX + 16];
    hub_dps_endpoint(d, hub->valuestring, text, sizeof(text));
    cJSON_ReplaceItemInObjectCaseSensitive(o, "assignedHub", cJSON_CreateString(text));
}

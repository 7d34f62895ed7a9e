/* Consumer groups of the Event Hubs-compatible endpoint: see eh_groups.h. */
#include "hub/amqp/eh_groups.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/fileio.h"

const char *hub_eh_group_name_problem(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > HUB_EH_GROUP_NAME_MAX)
        return "a consumer group name has 1..50 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return "a consumer group name has only letters, digits, '.', '_' and '-'";
    }
    if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
        return "a consumer group name starts and ends with a letter or digit";
    return NULL;
}

static int find(const struct hub_eh_groups *gs, const char *name)
{
    for (size_t i = 0; i < gs->n; i++)
        if (strcasecmp(gs->g[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool hub_eh_groups_has(const struct hub_eh_groups *gs, const char *name)
{
    return name != NULL && (strcasecmp(name, "$Default") == 0 || find(gs, name) >= 0);
}

/* Writes the persisted groups as a JSON array of names. */
static int save(const struct hub_eh_groups *gs)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < gs->n; i++)
        if (gs->g[i].persisted)
            cJSON_AddItemToArray(a, cJSON_CreateString(gs->g[i].name));
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (text == NULL)
        return -ENOMEM;
    int rc = azki_atomic_write_path(gs->path, text, strlen(text), 0600, false);
    free(text);
    return rc;
}

int hub_eh_groups_load(struct hub_eh_groups *gs, const char *data_dir)
{
    memset(gs, 0, sizeof(*gs));
    int n = snprintf(gs->path, sizeof(gs->path), "%s/consumer-groups.json", data_dir);
    if (n < 0 || (size_t)n >= sizeof(gs->path))
        return -ENAMETOOLONG;
    char *text = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(gs->path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    cJSON *a = cJSON_ParseWithLength(text, len);
    free(text);
    rc = cJSON_IsArray(a) ? 0 : -EILSEQ;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        if (rc != 0)
            break;
        if (!cJSON_IsString(it) || hub_eh_group_name_problem(it->valuestring) != NULL ||
            gs->n == HUB_EH_GROUPS_MAX)
            rc = -EILSEQ;
        else if (find(gs, it->valuestring) < 0) {
            snprintf(gs->g[gs->n].name, sizeof(gs->g[gs->n].name), "%s", it->valuestring);
            gs->g[gs->n++].persisted = true;
        }
    }
    cJSON_Delete(a);
    if (rc != 0)
        gs->n = 0;
    return rc;
}

int hub_eh_groups_add(struct hub_eh_groups *gs, const char *name, bool persist)
{
    if (hub_eh_group_name_problem(name) != NULL)
        return -EINVAL;
    if (find(gs, name) >= 0)
        return -EEXIST;
    if (gs->n == HUB_EH_GROUPS_MAX)
        return -ENOSPC;
    snprintf(gs->g[gs->n].name, sizeof(gs->g[gs->n].name), "%s", name);
    gs->g[gs->n].persisted = persist;
    gs->n++;
    int rc = persist ? save(gs) : 0;
    if (rc < 0)
        gs->n--;
    return rc;
}

int hub_eh_groups_remove(struct hub_eh_groups *gs, const char *name)
{
    if (name == NULL)
        return -ENOENT;
    if (strcasecmp(name, "$Default") == 0)
        return -EPERM;
    int i = find(gs, name);
    if (i < 0)
        return -ENOENT;
    if (!gs->g[i].persisted)
        return -EPERM;
    struct hub_eh_group saved = gs->g[i];
    memmove(&gs->g[i], &gs->g[i + 1], (gs->n - (size_t)i - 1) * sizeof(gs->g[0]));
    gs->n--;
    int rc = save(gs);
    if (rc < 0) { /* put it back where it was */
        memmove(&gs->g[i + 1], &gs->g[i], (gs->n - (size_t)i) * sizeof(gs->g[0]));
        gs->g[i] = saved;
        gs->n++;
    }
    return rc;
}

/* The consumer groups of the Event Hubs-compatible endpoint: $Default (always), the
 * `serve --consumer-group` ones (for this run), and those created at run time through
 * /azkit/consumer-groups or `azkit-hub consumer-group create` (kept in
 * <data>/consumer-groups.json, 0600, across restarts). Shared by every hub of the process.
 * Loop thread only. */
#ifndef AZK_HUB_EH_GROUPS_H
#define AZK_HUB_EH_GROUPS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define HUB_EH_GROUPS_MAX 32      /* besides $Default (Azure's limit for the standard tier: 20) */
#define HUB_EH_GROUP_NAME_MAX 50  /* Azure's limit */

struct hub_eh_groups {
    struct hub_eh_group {
        char name[HUB_EH_GROUP_NAME_MAX + 1];
        bool persisted; /* created at run time (in the file); false: a serve option */
    } g[HUB_EH_GROUPS_MAX];
    size_t n;
    char path[PATH_MAX]; /* <data>/consumer-groups.json */
};

/* Why `name` cannot be a consumer group (static text), or NULL: 1..50 characters, letters,
 * digits, '.', '_' and '-', starting and ending with a letter or digit (Azure's rules). */
const char *hub_eh_group_name_problem(const char *name);

/* Empties `gs` and loads <data_dir>/consumer-groups.json when it exists. Returns 0, -EILSEQ
 * (the file is not a JSON array of valid names), -ENAMETOOLONG, or a negative errno of
 * reading it. */
int hub_eh_groups_load(struct hub_eh_groups *gs, const char *data_dir);

/* Whether `name` is a consumer group ($Default included; names compared case-insensitively). */
bool hub_eh_groups_has(const struct hub_eh_groups *gs, const char *name);

/* Adds a group; `persist`: also to the file (rewritten atomically). Returns 0, -EINVAL (a bad
 * name), -EEXIST, -ENOSPC (HUB_EH_GROUPS_MAX reached), or a negative errno of writing the file
 * (then nothing is added). */
int hub_eh_groups_add(struct hub_eh_groups *gs, const char *name, bool persist);

/* Removes a group created at run time. Returns 0, -ENOENT (no such group), -EPERM ($Default or
 * a serve option), or a negative errno of writing the file (then nothing is removed). */
int hub_eh_groups_remove(struct hub_eh_groups *gs, const char *name);

#endif

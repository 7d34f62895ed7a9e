/* A string-keyed hash map (device id -> pointer) for the daemon's tables: connected devices,
 * persistent sessions. Loop thread only. */
#ifndef AZK_HUB_DEVMAP_H
#define AZK_HUB_DEVMAP_H

#include <stddef.h>

struct hub_devmap_entry {
    char *key;
    void *value;
};

struct hub_devmap {
    struct hub_devmap_entry *slots; /* open addressing, linear probing; key NULL = empty */
    size_t cap, count, tombstones;
};

void hub_devmap_init(struct hub_devmap *m);
void hub_devmap_free(struct hub_devmap *m);      /* frees keys, not values */
void *hub_devmap_get(const struct hub_devmap *m, const char *key);
/* Inserts or replaces; returns the previous value (or NULL). On allocation failure returns
 * `value` itself and leaves the map unchanged. */
void *hub_devmap_put(struct hub_devmap *m, const char *key, void *value);
/* Removes; returns the removed value (or NULL). */
void *hub_devmap_remove(struct hub_devmap *m, const char *key);
/* Calls fn for each entry (do not modify the map inside). */
void hub_devmap_each(const struct hub_devmap *m, void (*fn)(const char *key, void *value, void *u),
                     void *u);

#endif

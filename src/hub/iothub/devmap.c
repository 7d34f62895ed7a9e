/* Open-addressing hash map keyed by device id (FNV-1a). */
#include "hub/iothub/devmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tombstone_key[1];
#define TOMBSTONE (tombstone_key)

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void hub_devmap_init(struct hub_devmap *m)
{
    memset(m, 0, sizeof(*m));
}

void hub_devmap_free(struct hub_devmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct hub_devmap_entry *find(const struct hub_devmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t i = (size_t)(hash(key) & (m->cap - 1));
    for (size_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
        struct hub_devmap_entry *e = &m->slots[i];
        if (e->key == NULL)
            return NULL;
        if (e->key != TOMBSTONE && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static int grow(struct hub_devmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct hub_devmap_entry *ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct hub_devmap_entry *e = &m->slots[i];
        if (e->key == NULL || e->key == TOMBSTONE)
            continue;
        size_t j = (size_t)(hash(e->key) & (ncap - 1));
        while (ns[j].key != NULL)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->tombstones = 0;
    return 0;
}

void *hub_devmap_get(const struct hub_devmap *m, const char *key)
{
    struct hub_devmap_entry *e = find(m, key);
    return e ? e->value : NULL;
}

void *hub_devmap_put(struct hub_devmap *m, const char *key, void *value)
{
    struct hub_devmap_entry *e = find(m, key);
    if (e != NULL) {
        void *old = e->value;
        e->value = value;
        return old;
    }
    if ((m->count + m->tombstones + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return value;
    char *k = strdup(key);
    if (k == NULL)
        return value;
    size_t i = (size_t)(hash(key) & (m->cap - 1));
    while (m->slots[i].key != NULL && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].key == TOMBSTONE)
        m->tombstones--;
    m->slots[i].key = k;
    m->slots[i].value = value;
    m->count++;
    return NULL;
}

void *hub_devmap_remove(struct hub_devmap *m, const char *key)
{
    struct hub_devmap_entry *e = find(m, key);
    if (e == NULL)
        return NULL;
    void *old = e->value;
    free(e->key);
    e->key = TOMBSTONE;
    e->value = NULL;
    m->count--;
    m->tombstones++;
    return old;
}

void hub_devmap_each(const struct hub_devmap *m, void (*fn)(const char *key, void *value, void *u),
                     void *u)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            fn(m->slots[i].key, m->slots[i].value, u);
}

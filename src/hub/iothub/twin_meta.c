/* Twin metadata (twin_meta.h). */
#include "hub/iothub/twin_meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#define LAST_UPDATED "$lastUpdated"
#define LAST_VERSION "$lastUpdatedVersion"

static const char *section_key(enum hub_twin_section sec)
{
    return sec == HUB_TWIN_DESIRED ? "desired" : sec == HUB_TWIN_REPORTED ? "reported" : NULL;
}

/* Sets the node's own stamp (desired nodes also carry the version). */
static void stamp(cJSON *node, int64_t now_ms, int64_t version, int with_version)
{
    cJSON_DeleteItemFromObjectCaseSensitive(node, LAST_UPDATED);
    cJSON_AddNumberToObject(node, LAST_UPDATED, (double)now_ms);
    if (with_version) {
        cJSON_DeleteItemFromObjectCaseSensitive(node, LAST_VERSION);
        cJSON_AddNumberToObject(node, LAST_VERSION, (double)version);
    }
}

/* A fresh node for `value`: stamped, with a fresh child node per member of an object. */
static cJSON *fresh(const cJSON *value, int64_t now_ms, int64_t version, int with_version)
{
    cJSON *node = cJSON_CreateObject();
    if (node == NULL)
        return NULL;
    stamp(node, now_ms, version, with_version);
    if (cJSON_IsObject(value)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, value) {
            if (it->string == NULL || it->string[0] == '$' || cJSON_IsNull(it))
                continue; /* nulls inside a new object delete nothing (hub_twin_merge) */
            cJSON *child = fresh(it, now_ms, version, with_version);
            if (child)
                cJSON_AddItemToObject(node, it->string, child);
        }
    }
    return node;
}

/* Mirrors hub_twin_merge() on the metadata tree. `target` is the value the patch lands on
 * (before the merge), so that an object merged into an object keeps its other children. */
static void merge(cJSON *node, const cJSON *target, const cJSON *patch, int64_t now_ms,
                  int64_t version, int with_version)
{
    stamp(node, now_ms, version, with_version);
    const cJSON *item;
    cJSON_ArrayForEach(item, patch) {
        const char *key = item->string;
        if (key == NULL || key[0] == '$')
            continue;
        const cJSON *cur = target ? cJSON_GetObjectItemCaseSensitive(target, key) : NULL;
        cJSON *child = cJSON_GetObjectItemCaseSensitive(node, key);
        if (cJSON_IsNull(item)) {
            cJSON_DeleteItemFromObjectCaseSensitive(node, key);
        } else if (cJSON_IsObject(item) && cJSON_IsObject(cur) && cJSON_IsObject(child)) {
            merge(child, cur, item, now_ms, version, with_version);
        } else {
            cJSON *n = fresh(item, now_ms, version, with_version);
            if (n == NULL)
                continue;
            if (child)
                cJSON_ReplaceItemInObjectCaseSensitive(node, key, n);
            else
                cJSON_AddItemToObject(node, key, n);
        }
    }
}

char *hub_twin_meta_update(const char *meta, enum hub_twin_section sec, const cJSON *patch,
                           const cJSON *before, int64_t now_ms, int64_t version, int replace)
{
    cJSON *all = meta && *meta ? cJSON_Parse(meta) : NULL;
    if (!cJSON_IsObject(all)) {
        cJSON_Delete(all);
        all = cJSON_CreateObject();
        if (all == NULL)
            return NULL;
    }
    const char *key = section_key(sec);
    if (key != NULL) {
        int with_version = sec == HUB_TWIN_DESIRED;
        cJSON *node = cJSON_GetObjectItemCaseSensitive(all, key);
        if (replace || !cJSON_IsObject(node)) {
            /* Not recorded before: the properties already there keep no time of their own;
             * they get this update's stamp only if the patch names them. */
            cJSON *n = replace ? fresh(patch, now_ms, version, with_version)
                               : cJSON_CreateObject();
            if (n == NULL) {
                cJSON_Delete(all);
                return NULL;
            }
            if (node)
                cJSON_ReplaceItemInObjectCaseSensitive(all, key, n);
            else
                cJSON_AddItemToObject(all, key, n);
            node = n;
        }
        if (!replace)
            merge(node, before, patch, now_ms, version, with_version);
    }
    char *out = cJSON_PrintUnformatted(all);
    cJSON_Delete(all);
    return out;
}

static void iso(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* Turns every $lastUpdated number into ISO 8601 text, in place. */
static void render(cJSON *node)
{
    cJSON *it;
    cJSON *lu = cJSON_GetObjectItemCaseSensitive(node, LAST_UPDATED);
    if (cJSON_IsNumber(lu)) {
        char t[32];
        iso((int64_t)lu->valuedouble, t);
        cJSON_ReplaceItemInObjectCaseSensitive(node, LAST_UPDATED, cJSON_CreateString(t));
    }
    cJSON_ArrayForEach(it, node) {
        if (cJSON_IsObject(it))
            render(it);
    }
}

cJSON *hub_twin_meta_render(const char *meta, enum hub_twin_section sec, int64_t version,
                            int64_t fallback_ms)
{
    const char *key = section_key(sec);
    cJSON *all = meta && *meta && key ? cJSON_Parse(meta) : NULL;
    cJSON *node = cJSON_DetachItemFromObjectCaseSensitive(all, key ? key : "");
    cJSON_Delete(all);
    if (!cJSON_IsObject(node) || !cJSON_HasObjectItem(node, LAST_UPDATED)) {
        cJSON_Delete(node);
        node = cJSON_CreateObject();
        if (node == NULL)
            return NULL;
        stamp(node, fallback_ms, version, sec == HUB_TWIN_DESIRED);
    }
    render(node);
    return node;
}

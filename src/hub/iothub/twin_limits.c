/* IoT Hub's twin limits (see twin_limits.h for the rules and their source). */
#include "hub/iothub/twin_limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "azkit/mqtt.h"
#include "azkit/span.h"

/* The dotted path of the property being checked ("properties.desired.a.b"), cut short with
 * "..." when long (keys may be 1 KB): it only goes into messages. */
#define PATH_SHOWN 160

struct walk {
    char path[PATH_SHOWN + 4];
    char *why;
    size_t why_size;
};

const char *hub_twin_section_name(enum hub_twin_section sec)
{
    switch (sec) {
    case HUB_TWIN_TAGS: return "tags";
    case HUB_TWIN_DESIRED: return "properties.desired";
    case HUB_TWIN_REPORTED: return "properties.reported";
    }
    return "?";
}

size_t hub_twin_section_max(enum hub_twin_section sec)
{
    return sec == HUB_TWIN_TAGS ? HUB_TWIN_TAGS_MAX : HUB_TWIN_SECTION_MAX;
}

static int refuse(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(struct walk *w, const char *fmt, ...)
{
    if (w->why != NULL && w->why_size > 0) {
        char text[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        snprintf(w->why, w->why_size, "%s: %s", w->path, text);
    }
    return -EBADMSG;
}

/* Whether the UTF-8 sequence at p (valid UTF-8, n bytes left) is a C0 or C1 control
 * character; *len receives its length. */
static bool is_control(const unsigned char *p, size_t n, size_t *len)
{
    *len = 1;
    if (p[0] < 0x80)
        return p[0] < 0x20; /* C0: U+0000..U+001F */
    *len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    if (*len > n)
        *len = n;
    return p[0] == 0xc2 && n > 1 && p[1] <= 0x9f; /* C1: U+0080..U+009F */
}

/* Bytes of a UTF-8 string without its control characters (how IoT Hub sizes strings). */
static size_t counted_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), total = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        if (!is_control(p + i, n - i, &len))
            total += len;
        i += len;
    }
    return total;
}

static bool valid_utf8(const char *s)
{
    return azk_mqtt_utf8_check(azk_span_from_str(s)) == AZK_MQTT_R_OK;
}

static int check_key(struct walk *w, const char *key)
{
    if (!valid_utf8(key))
        return refuse(w, "the property name is not valid UTF-8.");
    size_t n = strlen(key);
    if (n > HUB_TWIN_KEY_MAX)
        return refuse(w, "the property name is %zu bytes long; IoT Hub allows at most %d.", n,
                      HUB_TWIN_KEY_MAX);
    const unsigned char *p = (const unsigned char *)key;
    for (size_t i = 0; i < n;) {
        size_t len;
        if (is_control(p + i, n - i, &len))
            return refuse(w, "a property name cannot contain control characters.");
        if (p[i] == '.' || p[i] == '$' || p[i] == ' ')
            return refuse(w, "a property name cannot contain '%c' (IoT Hub excludes '.', '$' "
                             "and space).", p[i]);
        i += len;
    }
    return 0;
}

/* Appends ".key" (or "[i]") to the path; returns the old length to restore. The path goes
 * into error bodies, so it stays valid UTF-8: a key that is not (or holds control
 * characters) shows '?' for its non-ASCII and control bytes, and a cut never splits a
 * character. */
static size_t path_push(struct walk *w, const char *key, int index)
{
    size_t old = strlen(w->path);
    if (old >= PATH_SHOWN)
        return old;
    char item[PATH_SHOWN + 1];
    if (key == NULL) {
        snprintf(item, sizeof(item), "[%d]", index);
    } else {
        bool clean = valid_utf8(key);
        size_t n = 0;
        item[n++] = '.';
        for (const unsigned char *k = (const unsigned char *)key; *k && n < PATH_SHOWN; k++) {
            size_t len;
            if (clean && is_control(k, strlen((const char *)k), &len))
                clean = false;
            item[n++] = clean || (*k >= 0x20 && *k < 0x7f) ? (char)*k : '?';
        }
        item[n] = '\0';
    }
    size_t n = strlen(item);
    if (old + n > PATH_SHOWN) {
        n = PATH_SHOWN - old;
        while (n > 0 && ((unsigned char)item[n] & 0xc0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
        memcpy(w->path + old, item, n);
        memcpy(w->path + old + n, "...", 4);
    } else {
        memcpy(w->path + old, item, n + 1);
    }
    return old;
}

static int check_value(struct walk *w, const cJSON *v, int depth)
{
    if (cJSON_IsString(v)) {
        if (!valid_utf8(v->valuestring))
            return refuse(w, "the value is not valid UTF-8.");
        size_t n = strlen(v->valuestring);
        if (n > HUB_TWIN_STRING_MAX)
            return refuse(w, "the string value is %zu bytes long; IoT Hub allows at most %d.",
                          n, HUB_TWIN_STRING_MAX);
        return 0;
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    if (depth > HUB_TWIN_DEPTH_MAX)
        return refuse(w, "the value nests %d levels deep; IoT Hub allows at most %d.", depth,
                      HUB_TWIN_DEPTH_MAX);
    const cJSON *item;
    int index = 0;
    cJSON_ArrayForEach(item, v) {
        const char *key = cJSON_IsObject(v) ? item->string : NULL;
        if (key != NULL && key[0] == '$')
            continue; /* the hub's own ($version, $metadata): ignored, never stored */
        size_t mark = path_push(w, key, index++);
        int rc = key != NULL ? check_key(w, key) : 0;
        if (rc == 0)
            rc = check_value(w, item, depth + 1);
        w->path[mark] = '\0';
        if (rc != 0)
            return rc;
    }
    return 0;
}

int hub_twin_check_format(enum hub_twin_section sec, const cJSON *obj, char *why,
                          size_t why_size)
{
    struct walk w = {.why = why, .why_size = why_size};
    snprintf(w.path, sizeof(w.path), "%s", hub_twin_section_name(sec));
    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (!cJSON_IsObject(obj))
        return refuse(&w, "must be a JSON object.");
    return check_value(&w, obj, 0);
}

size_t hub_twin_size(const cJSON *obj)
{
    if (cJSON_IsString(obj))
        return counted_len(obj->valuestring);
    if (cJSON_IsNumber(obj))
        return HUB_TWIN_NUMBER_SIZE;
    if (cJSON_IsBool(obj))
        return HUB_TWIN_BOOL_SIZE;
    size_t total = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        if (item->string != NULL) {
            if (item->string[0] == '$')
                continue; /* read-only elements are not counted */
            total += counted_len(item->string);
        }
        total += hub_twin_size(item);
    }
    return total;
}

int hub_twin_check_size(enum hub_twin_section sec, const cJSON *doc, char *why,
                        size_t why_size)
{
    size_t size = hub_twin_size(doc), max = hub_twin_section_max(sec);
    if (size <= max)
        return 0;
    if (why != NULL && why_size > 0)
        snprintf(why, why_size, "%s would be %zu bytes as IoT Hub counts them (keys and "
                 "values); IoT Hub allows at most %zu KB.", hub_twin_section_name(sec), size,
                 max / 1024);
    return -E2BIG;
}

/* Event Hubs addresses and selector filters: see eh_addr.h. */
#include "hub/amqp/eh_addr.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

void hub_eh_entity_of_host(const char *hostname, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t n = strcspn(hostname, ".:");
    if (n >= size)
        n = size - 1;
    memcpy(out, hostname, n);
    out[n] = '\0';
}

/* Skips "amqps://host[:port]/", "amqp://host/" or "sb://host/" when present. */
static const char *skip_endpoint(const char *s)
{
    static const char *const schemes[] = {"amqps://", "amqp://", "sb://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(s, schemes[i], n) == 0) {
            const char *p = strchr(s + n, '/');
            return p ? p + 1 : NULL;
        }
    }
    return s;
}

/* Copies the segment [s, e) into out (NUL-terminated) when it is 1..HUB_EH_NAME_MAX long. */
static bool take_name(const char *s, const char *e, char *out)
{
    size_t n = (size_t)(e - s);
    if (n == 0 || n > HUB_EH_NAME_MAX)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

enum hub_eh_node hub_eh_address_parse(const char *address, struct hub_eh_address *out)
{
    memset(out, 0, sizeof(*out));
    if (address == NULL)
        return HUB_EH_NODE_NONE;
    const char *p = skip_endpoint(address);
    if (p == NULL)
        return HUB_EH_NODE_NONE;
    if (strcmp(p, "$management") == 0)
        return HUB_EH_NODE_MANAGEMENT;
    const char *e = strchr(p, '/');
    if (e == NULL || !take_name(p, e, out->entity))
        return HUB_EH_NODE_NONE;
    p = e + 1;
    if (strcmp(p, "$management") == 0)
        return HUB_EH_NODE_MANAGEMENT;
    static const char cgs[] = "ConsumerGroups/", parts[] = "/Partitions/";
    if (strncasecmp(p, cgs, sizeof(cgs) - 1) != 0)
        return HUB_EH_NODE_NONE;
    p += sizeof(cgs) - 1;
    e = strchr(p, '/');
    if (e == NULL || !take_name(p, e, out->consumer_group))
        return HUB_EH_NODE_NONE;
    if (strncasecmp(e, parts, sizeof(parts) - 1) != 0)
        return HUB_EH_NODE_NONE;
    p = e + sizeof(parts) - 1;
    int id = 0;
    size_t digits = 0;
    for (; p[digits] >= '0' && p[digits] <= '9'; digits++) {
        if (digits == 4)
            return HUB_EH_NODE_NONE;
        id = id * 10 + (p[digits] - '0');
    }
    if (digits == 0 || p[digits] != '\0')
        return HUB_EH_NODE_NONE;
    out->partition = id;
    return HUB_EH_NODE_PARTITION;
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/* A decimal int64 (optional '-') ending at `end`; false otherwise. */
static bool parse_int64(const char *p, const char *end, int64_t *out)
{
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p == end)
        return false;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_C(9223372036854775808) - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (!neg && v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

int hub_eh_filter_parse(const char *filter, struct hub_eh_position *out, const char **why)
{
    static const struct {
        const char *name;
        enum hub_eh_from from;
    } keys[] = {
        {"amqp.annotation.x-opt-offset", HUB_EH_FROM_OFFSET},
        {"amqp.annotation.x-opt-sequence-number", HUB_EH_FROM_SEQNO},
        {"amqp.annotation.x-opt-enqueued-time", HUB_EH_FROM_TIME},
    };
    memset(out, 0, sizeof(*out));
    if (filter == NULL) {
        *why = "no filter";
        return -EINVAL;
    }
    const char *p = skip_spaces(filter);
    size_t k = 0;
    for (; k < sizeof(keys) / sizeof(keys[0]); k++) {
        size_t n = strlen(keys[k].name);
        if (strncasecmp(p, keys[k].name, n) == 0 && (p[n] == ' ' || p[n] == '>')) {
            p += n;
            break;
        }
    }
    if (k == sizeof(keys) / sizeof(keys[0])) {
        *why = "the filter names none of amqp.annotation.x-opt-offset, "
               "x-opt-sequence-number, x-opt-enqueued-time";
        return -EINVAL;
    }
    out->from = keys[k].from;
    p = skip_spaces(p);
    if (*p != '>') {
        *why = "the filter's operator is not > or >=";
        return -EINVAL;
    }
    p++;
    if (*p == '=') {
        out->inclusive = true;
        p++;
    }
    p = skip_spaces(p);
    if (*p != '\'') {
        *why = "the filter's value is not quoted with '";
        return -EINVAL;
    }
    p++;
    const char *end = strchr(p, '\'');
    if (end == NULL || *skip_spaces(end + 1) != '\0') {
        *why = "the filter's value is not a single quoted value";
        return -EINVAL;
    }
    if (out->from == HUB_EH_FROM_OFFSET && end - p == 7 && strncmp(p, "@latest", 7) == 0) {
        out->from = HUB_EH_FROM_LATEST;
        return 0;
    }
    if (!parse_int64(p, end, &out->value)) {
        *why = "the filter's value is not a decimal integer";
        return -EINVAL;
    }
    return 0;
}

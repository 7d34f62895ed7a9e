/* IoT Hub topic classifiers: every device → hub topic (hub side), every hub → device topic
 * (device side), and the SUBSCRIBE filters the hub supports. */
#include "azure_internal.h"

static bool has_byte(struct azk_span s, char c)
{
    return azki_find(s, c) < s.len;
}

static bool has_wildcard(struct azk_span s)
{
    return has_byte(s, '+') || has_byte(s, '#');
}

static int64_t version_number(struct azk_span v)
{
    uint64_t n;
    return azki_parse_u64(v, (uint64_t)INT64_MAX, &n) == 0 ? (int64_t)n : -1;
}

/* devices/{id}{suffix}[bag]: finds the id segment, checks the suffix ("/messages/events" or
 * "/messages/devicebound", then optionally "/" + bag). -ENOENT if it is another topic. */
static int parse_devices_topic(struct azk_span topic, const char *suffix,
                               struct azk_span connected, struct azk_hub_topic *t)
{
    struct azk_span rest = azki_skip(topic, strlen("devices/"));
    size_t slash = azki_find(rest, '/');
    if (slash == rest.len)
        return -ENOENT;
    struct azk_span seg = azki_sp(rest.ptr, slash);
    struct azk_span after = azki_skip(rest, slash);
    if (!azki_starts(after, suffix))
        return -ENOENT;
    after = azki_skip(after, strlen(suffix));
    if (after.len) {
        if (after.ptr[0] != '/')
            return -ENOENT;
        after = azki_skip(after, 1);
    }
    int rc = azki_check_topic_device(seg, connected);
    if (rc)
        return rc;
    if (has_wildcard(after))
        return -EBADMSG;
    t->device_id = seg;
    t->properties = after;
    return 0;
}

static int need_rid(struct azk_span query, struct azk_hub_topic *t)
{
    struct azki_topic_query q;
    if (azki_topic_query_parse(query, &q) || !q.has_rid || q.rid.len == 0)
        return -EBADMSG;
    t->rid = q.rid;
    if (q.has_version) {
        t->version = q.version;
        t->version_num = version_number(q.version);
    }
    return 0;
}

/* After `prefix` (ending in '/') the topic must continue with "?{query}". */
static int query_after(struct azk_span topic, const char *prefix, struct azk_span *query)
{
    struct azk_span rest = azki_skip(topic, strlen(prefix));
    if (rest.len == 0 || rest.ptr[0] != '?')
        return -EBADMSG;
    *query = azki_skip(rest, 1);
    return 0;
}

static int begin(struct azk_span topic, struct azk_hub_topic *out)
{
    if (out == NULL || (topic.ptr == NULL && topic.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->version_num = -1;
    if (has_byte(topic, '\0'))
        return -EBADMSG;
    return 0;
}

int azk_hub_parse_device_topic(struct azk_span topic, struct azk_span connected,
                               struct azk_hub_topic *out)
{
    int rc = begin(topic, out);
    if (rc)
        return rc;
    struct azk_hub_topic t = *out;
    struct azk_span query;
    if (azki_starts(topic, "devices/")) {
        rc = parse_devices_topic(topic, "/messages/events", connected, &t);
        t.kind = AZK_HUB_TOPIC_TELEMETRY;
    } else if (!azki_starts(topic, "$iothub/")) {
        rc = -ENOENT;
    } else if (has_wildcard(topic)) {
        rc = -EBADMSG;
    } else if (azki_starts(topic, "$iothub/twin/GET/")) {
        t.kind = AZK_HUB_TOPIC_TWIN_GET;
        rc = query_after(topic, "$iothub/twin/GET/", &query);
        rc = rc ? rc : need_rid(query, &t);
    } else if (azki_starts(topic, "$iothub/twin/PATCH/properties/reported/")) {
        t.kind = AZK_HUB_TOPIC_TWIN_PATCH;
        rc = query_after(topic, "$iothub/twin/PATCH/properties/reported/", &query);
        rc = rc ? rc : need_rid(query, &t);
    } else if (azki_starts(topic, "$iothub/methods/res/")) {
        t.kind = AZK_HUB_TOPIC_METHOD_RESPONSE;
        rc = azki_split_status_query(azki_skip(topic, strlen("$iothub/methods/res/")), &t.status,
                                    &query);
        rc = rc ? rc : need_rid(query, &t);
    } else {
        rc = -ENOENT;
    }
    if (rc == 0)
        *out = t;
    return rc;
}

/* Index of the last "/?" in s, or s.len. */
static size_t find_last_slash_q(struct azk_span s)
{
    for (size_t i = s.len; i >= 2; i--)
        if (s.ptr[i - 2] == '/' && s.ptr[i - 1] == '?')
            return i - 2;
    return s.len;
}

int azk_hub_parse_service_topic(struct azk_span topic, struct azk_span device_id,
                                struct azk_hub_topic *out)
{
    int rc = begin(topic, out);
    if (rc)
        return rc;
    struct azk_hub_topic t = *out;
    struct azk_span query;
    if (azki_starts(topic, "devices/")) {
        rc = parse_devices_topic(topic, "/messages/devicebound", device_id, &t);
        t.kind = AZK_HUB_TOPIC_C2D;
    } else if (!azki_starts(topic, "$iothub/")) {
        rc = -ENOENT;
    } else if (has_wildcard(topic)) {
        rc = -EBADMSG;
    } else if (azki_starts(topic, "$iothub/twin/res/")) {
        t.kind = AZK_HUB_TOPIC_TWIN_RESPONSE;
        rc = azki_split_status_query(azki_skip(topic, strlen("$iothub/twin/res/")), &t.status,
                                    &query);
        rc = rc ? rc : need_rid(query, &t);
    } else if (azki_starts(topic, "$iothub/twin/PATCH/properties/desired/")) {
        t.kind = AZK_HUB_TOPIC_TWIN_DESIRED;
        struct azki_topic_query q;
        rc = query_after(topic, "$iothub/twin/PATCH/properties/desired/", &query);
        if (rc == 0 && (azki_topic_query_parse(query, &q) || !q.has_version || !q.version.len))
            rc = -EBADMSG;
        if (rc == 0) {
            t.version = q.version;
            t.version_num = version_number(q.version);
        }
    } else if (azki_starts(topic, "$iothub/methods/POST/")) {
        t.kind = AZK_HUB_TOPIC_METHOD_REQUEST;
        struct azk_span rest = azki_skip(topic, strlen("$iothub/methods/POST/"));
        size_t at = find_last_slash_q(rest);
        if (at == rest.len || at == 0 || has_byte(azki_sp(rest.ptr, at), '/')) {
            rc = -EBADMSG;
        } else {
            t.method_name = azki_sp(rest.ptr, at);
            rc = need_rid(azki_skip(rest, at + 2), &t);
        }
    } else {
        rc = -ENOENT;
    }
    if (rc == 0)
        *out = t;
    return rc;
}

int azk_hub_parse_filter(struct azk_span filter, struct azk_span connected,
                         enum azk_hub_filter_kind *kind)
{
    if (kind == NULL || (filter.ptr == NULL && filter.len))
        return -EINVAL;
    *kind = AZK_HUB_FILTER_UNKNOWN;
    if (azk_span_eq(filter, AZK_SPAN_LIT(AZK_HUB_TWIN_RESPONSE_FILTER))) {
        *kind = AZK_HUB_FILTER_TWIN_RESPONSE;
        return 0;
    }
    if (azk_span_eq(filter, AZK_SPAN_LIT(AZK_HUB_TWIN_DESIRED_FILTER))) {
        *kind = AZK_HUB_FILTER_TWIN_DESIRED;
        return 0;
    }
    if (azk_span_eq(filter, AZK_SPAN_LIT(AZK_HUB_METHODS_FILTER))) {
        *kind = AZK_HUB_FILTER_METHODS;
        return 0;
    }
    static const char suffix[] = "/messages/devicebound/#";
    if (!azki_starts(filter, "devices/"))
        return -ENOENT;
    struct azk_span rest = azki_skip(filter, strlen("devices/"));
    size_t slash = azki_find(rest, '/');
    struct azk_span seg = azki_sp(rest.ptr, slash);
    if (!azk_span_eq(azki_skip(rest, slash), AZK_SPAN_LIT(suffix)))
        return -ENOENT;
    if (!azk_span_eq(seg, AZK_SPAN_LIT("+"))) {
        int rc = azki_check_topic_device(seg, connected);
        if (rc)
            return rc;
    }
    *kind = AZK_HUB_FILTER_C2D;
    return 0;
}

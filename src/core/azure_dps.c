/* DPS MQTT strings: client id, username, register / operation-status / response topics. */
#include "azkit/azure_dps.h"

#include "azure_internal.h"

#define REGISTER_PREFIX "$dps/registrations/PUT/iotdps-register/"
#define STATUS_PREFIX "$dps/registrations/GET/iotdps-get-operationstatus/"
#define RESPONSE_PREFIX "$dps/registrations/res/"

static bool scope_ok(struct azk_span s)
{
    if (s.len == 0 || s.len > 64 || s.ptr == NULL)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

int azk_dps_client_id(struct azk_span registration_id, char *buf, size_t buf_size,
                      size_t *out_len, struct azk_id_error *err)
{
    if (out_len == NULL)
        return -EINVAL;
    if (azk_registration_id_validate(registration_id, err))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_span(&w, registration_id);
    return azki_w_done(&w, out_len);
}

int azk_dps_username_build(const struct azk_dps_username *u, char *buf, size_t buf_size,
                           size_t *out_len, struct azk_id_error *err)
{
    if (u == NULL || out_len == NULL)
        return -EINVAL;
    if (azk_registration_id_validate(u->registration_id, err))
        return -EINVAL;
    if (!scope_ok(u->id_scope) || (u->api_version.len && !azki_token_ok(u->api_version)) ||
        (u->client_version.ptr == NULL && u->client_version.len) ||
        (u->model_id.ptr == NULL && u->model_id.len))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_span(&w, u->id_scope);
    azki_w_lit(&w, "/registrations/");
    azki_w_span(&w, u->registration_id);
    azki_w_lit(&w, "/api-version=");
    if (u->api_version.len)
        azki_w_span(&w, u->api_version);
    else
        azki_w_lit(&w, AZK_DPS_API_VERSION);
    if (u->client_version.len) {
        azki_w_lit(&w, "&ClientVersion=");
        azki_w_pct(&w, u->client_version);
    }
    if (u->model_id.len) {
        azki_w_lit(&w, "&model-id=");
        azki_w_pct(&w, u->model_id);
    }
    return azki_w_done(&w, out_len);
}

/* Registration id, case-insensitively (the service side accepts what DPS accepts). */
static bool registration_id_ci_ok(struct azk_span id)
{
    char lower[AZK_REGISTRATION_ID_MAX];
    if (id.len == 0 || id.len > sizeof(lower))
        return false;
    for (size_t i = 0; i < id.len; i++) {
        char c = id.ptr[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    return azk_registration_id_validate(azki_sp(lower, id.len), NULL) == 0;
}

int azk_dps_username_parse(struct azk_span username, struct azk_dps_username *out)
{
    if (out == NULL || (username.ptr == NULL && username.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    struct azk_dps_username u;
    memset(&u, 0, sizeof(u));
    struct azk_span s = username;
    size_t slash = azki_find(s, '/');
    u.id_scope = azki_sp(s.ptr, slash);
    if (slash == s.len || !scope_ok(u.id_scope))
        return -EBADMSG;
    s = azki_skip(s, slash + 1);
    if (!azki_starts(s, "registrations/"))
        return -EBADMSG;
    s = azki_skip(s, strlen("registrations/"));
    slash = azki_find(s, '/');
    u.registration_id = azki_sp(s.ptr, slash);
    if (slash == s.len || !registration_id_ci_ok(u.registration_id))
        return -EBADMSG;
    s = azki_skip(s, slash + 1);
    if (s.len && s.ptr[0] == '?')
        s = azki_skip(s, 1);
    struct azk_prop_iter it;
    struct azk_prop p;
    int rc;
    bool has_api = false;
    azk_prop_iter_init(&it, s);
    while ((rc = azk_prop_next(&it, &p)) != -ENOENT) {
        if (rc)
            return -EBADMSG;
        if (azk_pct_equals(p.key, "api-version") && !has_api) {
            u.api_version = p.value;
            has_api = true;
        } else if (azk_pct_equals(p.key, "ClientVersion") && u.client_version.ptr == NULL) {
            u.client_version = p.value;
        } else if (azk_pct_equals(p.key, "model-id") && u.model_id.ptr == NULL) {
            u.model_id = p.value;
        }
    }
    if (!has_api)
        return -EBADMSG;
    *out = u;
    return 0;
}

int azk_dps_register_topic(struct azk_span rid, char *buf, size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || !azki_token_ok(rid))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, REGISTER_PREFIX "?$rid=");
    azki_w_span(&w, rid);
    return azki_w_done(&w, out_len);
}

int azk_dps_operation_status_topic(struct azk_span rid, struct azk_span operation_id,
                                   char *buf, size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || !azki_token_ok(rid) || !azki_token_ok(operation_id))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, STATUS_PREFIX "?$rid=");
    azki_w_span(&w, rid);
    azki_w_lit(&w, "&operationId=");
    azki_w_span(&w, operation_id);
    return azki_w_done(&w, out_len);
}

int azk_dps_response_topic(int status, struct azk_span rid, int64_t retry_after, char *buf,
                           size_t buf_size, size_t *out_len)
{
    if (out_len == NULL || !azki_token_ok(rid) || retry_after > (int64_t)UINT32_MAX)
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_lit(&w, RESPONSE_PREFIX);
    azki_w_int(&w, status);
    azki_w_lit(&w, "/?$rid=");
    azki_w_span(&w, rid);
    if (retry_after >= 0) {
        azki_w_lit(&w, "&retry-after=");
        azki_w_u64(&w, (uint64_t)retry_after);
    }
    return azki_w_done(&w, out_len);
}

static int begin(struct azk_span topic, struct azk_dps_topic *out)
{
    if (out == NULL || (topic.ptr == NULL && topic.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (!azki_starts(topic, "$dps/"))
        return -ENOENT;
    if (azki_find(topic, '\0') < topic.len || azki_find(topic, '+') < topic.len ||
        azki_find(topic, '#') < topic.len)
        return -EBADMSG;
    return 0;
}

int azk_dps_parse_request_topic(struct azk_span topic, struct azk_dps_topic *out)
{
    int rc = begin(topic, out);
    if (rc)
        return rc;
    struct azk_dps_topic t = *out;
    const char *prefix;
    if (azki_starts(topic, REGISTER_PREFIX)) {
        t.kind = AZK_DPS_TOPIC_REGISTER;
        prefix = REGISTER_PREFIX;
    } else if (azki_starts(topic, STATUS_PREFIX)) {
        t.kind = AZK_DPS_TOPIC_OPERATION_STATUS;
        prefix = STATUS_PREFIX;
    } else {
        return -ENOENT;
    }
    struct azk_span rest = azki_skip(topic, strlen(prefix));
    struct azki_topic_query q;
    if (rest.len == 0 || rest.ptr[0] != '?' || azki_topic_query_parse(azki_skip(rest, 1), &q) ||
        !q.has_rid || q.rid.len == 0)
        return -EBADMSG;
    if (t.kind == AZK_DPS_TOPIC_OPERATION_STATUS) {
        if (!q.has_operation_id || q.operation_id.len == 0)
            return -EBADMSG;
        t.operation_id = q.operation_id;
    }
    t.rid = q.rid;
    *out = t;
    return 0;
}

int azk_dps_parse_response_topic(struct azk_span topic, struct azk_dps_topic *out)
{
    int rc = begin(topic, out);
    if (rc)
        return rc;
    if (!azki_starts(topic, RESPONSE_PREFIX))
        return -ENOENT;
    struct azk_dps_topic t = *out;
    struct azk_span query;
    struct azki_topic_query q;
    t.kind = AZK_DPS_TOPIC_RESPONSE;
    if (azki_split_status_query(azki_skip(topic, strlen(RESPONSE_PREFIX)), &t.status, &query) ||
        azki_topic_query_parse(query, &q) || !q.has_rid || q.rid.len == 0)
        return -EBADMSG;
    t.rid = q.rid;
    if (q.has_retry_after) {
        uint64_t v;
        if (azki_parse_u64(q.retry_after, UINT32_MAX, &v))
            return -EBADMSG;
        t.has_retry_after = true;
        t.retry_after = (uint32_t)v;
    }
    *out = t;
    return 0;
}

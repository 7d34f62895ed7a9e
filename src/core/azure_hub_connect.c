/* IoT Hub CONNECT strings: client id and username, built (device) and parsed (hub). */
#include "azure_internal.h"

/* Host names: non-empty, printable ASCII, no '/', '?', '#', '+' or space. */
static bool host_ok(struct azk_span h)
{
    if (h.len == 0 || h.ptr == NULL)
        return false;
    for (size_t i = 0; i < h.len; i++) {
        unsigned char c = (unsigned char)h.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '+')
            return false;
    }
    return true;
}

static bool plain_value_ok(struct azk_span v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '&' || c == '#' || c == '+' || c == '/')
            return false;
    }
    return true;
}

int azk_hub_client_id(struct azk_span device_id, struct azk_span module_id, char *buf,
                      size_t buf_size, size_t *out_len, struct azk_id_error *err)
{
    if (out_len == NULL)
        return -EINVAL;
    if (azk_device_id_validate(device_id, err) ||
        (module_id.len && azk_device_id_validate(module_id, err)))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_span(&w, device_id);
    if (module_id.len) {
        azki_w_char(&w, '/');
        azki_w_span(&w, module_id);
    }
    return azki_w_done(&w, out_len);
}

int azk_hub_client_id_parse(struct azk_span client_id, struct azk_span *device_id,
                            struct azk_span *module_id)
{
    if (device_id == NULL || module_id == NULL || (client_id.ptr == NULL && client_id.len))
        return -EINVAL;
    size_t slash = azki_find(client_id, '/');
    struct azk_span dev = azki_sp(client_id.ptr, slash);
    struct azk_span mod = slash < client_id.len ? azki_skip(client_id, slash + 1)
                                                : azki_sp(client_id.ptr, 0);
    if (azk_device_id_validate(dev, NULL) ||
        (slash < client_id.len && azk_device_id_validate(mod, NULL)))
        return -EBADMSG;
    *device_id = dev;
    *module_id = mod;
    return 0;
}

int azk_hub_username_build(const struct azk_hub_username *u, char *buf, size_t buf_size,
                           size_t *out_len, struct azk_id_error *err)
{
    if (u == NULL || out_len == NULL)
        return -EINVAL;
    if (azk_device_id_validate(u->device_id, err) ||
        (u->module_id.len && azk_device_id_validate(u->module_id, err)))
        return -EINVAL;
    if (!host_ok(u->host) || !plain_value_ok(u->api_version) ||
        (u->client_type.ptr == NULL && u->client_type.len) ||
        (u->model_id.ptr == NULL && u->model_id.len))
        return -EINVAL;
    struct azki_w w;
    azki_w_init(&w, buf, buf_size);
    azki_w_span(&w, u->host);
    azki_w_char(&w, '/');
    azki_w_span(&w, u->device_id);
    if (u->module_id.len) {
        azki_w_char(&w, '/');
        azki_w_span(&w, u->module_id);
    }
    azki_w_lit(&w, "/?api-version=");
    if (u->api_version.len)
        azki_w_span(&w, u->api_version);
    else
        azki_w_lit(&w, AZK_HUB_API_VERSION);
    if (u->client_type.len) {
        azki_w_lit(&w, "&DeviceClientType=");
        azki_w_pct(&w, u->client_type);
    }
    if (u->model_id.len) {
        azki_w_lit(&w, "&model-id=");
        azki_w_pct(&w, u->model_id);
    }
    return azki_w_done(&w, out_len);
}

int azk_hub_username_parse(struct azk_span username, struct azk_hub_username *out)
{
    if (out == NULL || (username.ptr == NULL && username.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    struct azk_span s = username;
    size_t slash = azki_find(s, '/');
    if (slash == s.len || !host_ok(azki_sp(s.ptr, slash)))
        return -EBADMSG;
    struct azk_hub_username u;
    memset(&u, 0, sizeof(u));
    u.host = azki_sp(s.ptr, slash);
    s = azki_skip(s, slash + 1);
    slash = azki_find(s, '/');
    if (slash == s.len)
        return -EBADMSG; /* no query at all */
    u.device_id = azki_sp(s.ptr, slash);
    s = azki_skip(s, slash + 1);
    if (azk_device_id_validate(u.device_id, NULL))
        return -EBADMSG;
    /* s: "?query" | "query" (legacy) | "{module}/?query" | "{module}/query". Query values are
     * percent-encoded, so a '/' after a segment that is a valid id means a module id (ids may
     * contain '?' and '=', so the segment's first byte does not tell). */
    slash = azki_find(s, '/');
    if (slash < s.len && azk_device_id_validate(azki_sp(s.ptr, slash), NULL) == 0) {
        u.module_id = azki_sp(s.ptr, slash);
        s = azki_skip(s, slash + 1);
    }
    if (s.len && s.ptr[0] == '?') {
        u.has_question_mark = true;
        s = azki_skip(s, 1);
    }
    struct azk_prop_iter it;
    struct azk_prop p;
    int rc;
    bool any = false;
    azk_prop_iter_init(&it, s);
    while ((rc = azk_prop_next(&it, &p)) != -ENOENT) {
        if (rc)
            return -EBADMSG;
        any = true;
        if (azk_pct_equals(p.key, "api-version") && u.api_version.ptr == NULL)
            u.api_version = p.value;
        else if (azk_pct_equals(p.key, "DeviceClientType") && u.client_type.ptr == NULL)
            u.client_type = p.value;
        else if (azk_pct_equals(p.key, "model-id") && u.model_id.ptr == NULL)
            u.model_id = p.value;
    }
    if (!any && !u.has_question_mark)
        return -EBADMSG;
    *out = u;
    return 0;
}

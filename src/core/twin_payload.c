/* Twin documents and patches, and direct-method payloads: parse and build without heap. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core_num.h"
#include "azkit/azure_payloads.h"
#include "azkit/json.h"
#include "core_writer.h"
#include "json_internal.h"

/* Validates that json is one JSON object; *obj receives it without surrounding whitespace. */
static int check_object(struct azk_span json, struct azk_span *obj)
{
    const char *p = json.ptr;
    size_t n = json.len;
    int rc = azk_json_validate(json, NULL, NULL);
    if (rc < 0)
        return rc;
    azki_json__trim(&p, &n);
    if (n == 0 || p[0] != '{')
        return -EBADMSG;
    obj->ptr = p;
    obj->len = n;
    return 0;
}

/* Reads the "$version" value after its name: an integer that fits int64_t. */
static int read_version(struct azk_json_reader *r, bool *has, int64_t *v)
{
    int rc;
    if (*has)
        return -EBADMSG; /* duplicated */
    rc = azk_json_reader_next(r);
    if (rc < 0)
        return rc;
    if (r->token.kind != AZK_JSON_NUMBER)
        return -EBADMSG;
    rc = azk_json_token_get_int64(&r->token, v);
    if (rc == -EDOM)
        return -EBADMSG;
    if (rc < 0)
        return rc;
    *has = true;
    return 0;
}

/* With r on a begin-object token: walks the object's members, reading "$version", and sets
 * *raw to the object's text. */
static int walk_versioned_object(struct azk_json_reader *r, struct azk_span *raw, bool *has,
                                 int64_t *version)
{
    const char *start = r->token.slice.ptr;
    int rc;

    for (;;) {
        rc = azk_json_reader_next(r);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return -EBADMSG;
        if (r->token.kind == AZK_JSON_END_OBJECT)
            break;
        if (azk_json_token_eq_str(&r->token, "$version"))
            rc = read_version(r, has, version);
        else
            rc = azk_json_reader_skip(r, NULL);
        if (rc < 0)
            return rc;
    }
    raw->ptr = start;
    raw->len = (size_t)(r->token.slice.ptr - start) + 1u;
    return 0;
}

AZK_API int azk_twin_document_parse(struct azk_span body, struct azk_twin_document *out)
{
    struct azk_json_reader r;
    int rc;

    if (!out || (!body.ptr && body.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    rc = azki_json__open_object(&r, body);
    if (rc < 0)
        return rc;
    for (;;) {
        bool desired;
        struct azk_span *section;
        rc = azk_json_reader_next(&r);
        if (rc < 0)
            return rc;
        if (r.token.kind == AZK_JSON_END_OBJECT)
            break;
        desired = azk_json_token_eq_str(&r.token, "desired");
        if (!desired && !azk_json_token_eq_str(&r.token, "reported")) {
            rc = azk_json_reader_skip(&r, NULL);
            if (rc < 0)
                return rc;
            continue;
        }
        section = desired ? &out->desired : &out->reported;
        if (section->ptr)
            return -EBADMSG; /* duplicated */
        rc = azk_json_reader_next(&r);
        if (rc < 0)
            return rc;
        if (r.token.kind != AZK_JSON_BEGIN_OBJECT)
            return -EBADMSG;
        rc = desired ? walk_versioned_object(&r, section, &out->has_desired_version,
                                             &out->desired_version)
                     : walk_versioned_object(&r, section, &out->has_reported_version,
                                             &out->reported_version);
        if (rc < 0)
            return rc;
    }
    return azki_json__close_document(&r);
}

AZK_API int azk_twin_desired_patch_parse(struct azk_span body, struct azk_twin_desired_patch *out)
{
    struct azk_json_reader r;
    int rc;

    if (!out || (!body.ptr && body.len))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    rc = azki_json__open_object(&r, body);
    if (rc < 0)
        return rc;
    rc = walk_versioned_object(&r, &out->patch, &out->has_version, &out->version);
    if (rc < 0)
        return rc;
    return azki_json__close_document(&r);
}

/* Writes object `obj` (validated, trimmed, no "$version") with "$version":v appended as its
 * last member; whitespace just inside its braces is dropped. */
static void put_with_version(struct azki_w *o, struct azk_span obj, int64_t v)
{
    const char *inner = obj.ptr + 1;
    size_t inner_len = obj.len - 2;

    azki_json__trim(&inner, &inner_len);
    azki_w_char(o, '{');
    if (inner_len) {
        azki_w_bytes(o, inner, inner_len);
        azki_w_char(o, ',');
    }
    azki_w_lit(o, "\"$version\":");
    azki_w_i64(o, v);
    azki_w_char(o, '}');
}

/* Validates a section for the builders: a JSON object without a top-level "$version". */
static int check_unversioned(struct azk_span json, struct azk_span *obj)
{
    int rc = check_object(json, obj);
    if (rc < 0)
        return rc;
    rc = azk_json_object_find(*obj, "$version", NULL);
    if (rc == 0)
        return -EBADMSG;
    return rc == -ENOENT ? 0 : rc;
}

static int start_out(struct azki_w *o, char *buf, size_t buf_size, size_t *out_len)
{
    if (!out_len)
        return -EINVAL;
    *out_len = 0;
    if (!buf && buf_size)
        return -EINVAL;
    azki_w_init(o, buf, buf_size);
    return 0;
}

AZK_API int azk_twin_document_build(struct azk_span desired, int64_t desired_version,
                                    struct azk_span reported, int64_t reported_version,
                                    char *buf, size_t buf_size, size_t *out_len)
{
    struct azk_span d, rep;
    struct azki_w o;
    int rc = start_out(&o, buf, buf_size, out_len);

    if (rc < 0)
        return rc;
    if ((!desired.ptr && desired.len) || (!reported.ptr && reported.len))
        return -EINVAL;
    if ((rc = check_unversioned(desired, &d)) < 0 || (rc = check_unversioned(reported, &rep)) < 0)
        return rc;
    azki_w_lit(&o, "{\"desired\":");
    put_with_version(&o, d, desired_version);
    azki_w_lit(&o, ",\"reported\":");
    put_with_version(&o, rep, reported_version);
    azki_w_char(&o, '}');
    return azki_w_done(&o, out_len);
}

AZK_API int azk_twin_desired_patch_build(struct azk_span patch, int64_t version, char *buf,
                                         size_t buf_size, size_t *out_len)
{
    struct azk_span obj;
    struct azki_w o;
    int rc = start_out(&o, buf, buf_size, out_len);

    if (rc < 0)
        return rc;
    if (!patch.ptr && patch.len)
        return -EINVAL;
    if ((rc = check_unversioned(patch, &obj)) < 0)
        return rc;
    put_with_version(&o, obj, version);
    return azki_w_done(&o, out_len);
}

AZK_API int azk_twin_reported_patch_parse(struct azk_span body, struct azk_span *patch)
{
    struct azk_span obj;
    int rc;

    if (patch) {
        patch->ptr = NULL;
        patch->len = 0;
    }
    rc = check_object(body, &obj);
    if (rc == 0 && patch)
        *patch = obj;
    return rc;
}

AZK_API int azk_twin_reported_patch_build(struct azk_span patch_json, char *buf,
                                          size_t buf_size, size_t *out_len)
{
    struct azk_span obj;
    struct azki_w o;
    int rc = start_out(&o, buf, buf_size, out_len);

    if (rc < 0)
        return rc;
    if ((rc = azk_twin_reported_patch_parse(patch_json, &obj)) < 0)
        return rc;
    azki_w_span(&o, obj);
    return azki_w_done(&o, out_len);
}

AZK_API int azk_method_payload_validate(struct azk_span body, struct azk_span *payload)
{
    const char *p = body.ptr;
    size_t n = body.len;
    int rc;

    if (payload) {
        payload->ptr = NULL;
        payload->len = 0;
    }
    if (!body.ptr && body.len)
        return -EINVAL;
    azki_json__trim(&p, &n);
    if (n == 0)
        return 0;
    rc = azk_json_validate(body, NULL, NULL);
    if (rc == 0 && payload) {
        payload->ptr = p;
        payload->len = n;
    }
    return rc;
}

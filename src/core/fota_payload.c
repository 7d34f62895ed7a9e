/* The `firmware` objects of azure_fota (azkit/fota_payload.h): parse and build without heap. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azkit/fota_payload.h"
#include "azkit/json.h"
#include "core_writer.h"
#include "core_num.h"

static const char *const status_names[] = {
    [AZK_FOTA_CURRENT] = "current",     [AZK_FOTA_DOWNLOADING] = "downloading",
    [AZK_FOTA_APPLYING] = "applying",   [AZK_FOTA_REBOOTING] = "rebooting",
    [AZK_FOTA_ERROR] = "error",         [AZK_FOTA_ROLLEDBACK] = "rolledback",
};

const char *azk_fota_status_str(enum azk_fota_status s)
{
    if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]))
        return status_names[s];
    return "invalid";
}

enum azk_fota_status azk_fota_status_from_str(const char *s)
{
    for (unsigned i = 0; s && i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (strcmp(status_names[i], s) == 0)
            return (enum azk_fota_status)i;
    return AZK_FOTA_INVALID;
}

/* The value of member `name` of an object; -ENOENT when absent, -EBADMSG when obj is not an
 * object (a value of another kind has no members, as cJSON sees it). */
static int member(struct azk_span obj, const char *name, struct azk_span *v)
{
    if (obj.len == 0 || obj.ptr[0] != '{')
        return -ENOENT;
    return azk_json_object_find(obj, name, v);
}

/* A string value decoded into buf (NUL-terminated). */
static int string_value(struct azk_span v, char *buf, size_t size)
{
    size_t len;
    if (v.len < 2 || v.ptr[0] != '"')
        return -EBADMSG;
    int rc = azk_json_string_unescape((struct azk_span){v.ptr + 1, v.len - 2}, buf, size - 1,
                                      &len);
    if (rc == -ENOBUFS)
        return -ENAMETOOLONG;
    if (rc < 0)
        return rc;
    if (memchr(buf, '\0', len) != NULL)
        return -EBADMSG;
    buf[len] = '\0';
    return 0;
}

static int string_member(struct azk_span obj, const char *name, char *buf, size_t size)
{
    struct azk_span v;
    int rc = member(obj, name, &v);
    return rc < 0 ? rc : string_value(v, buf, size);
}

/* An integer member in [min, max]. */
static int int_member(struct azk_span obj, const char *name, int64_t min, int64_t max,
                      int64_t *out)
{
    struct azk_span v;
    int rc = member(obj, name, &v);
    if (rc < 0)
        return rc;
    if (v.len == 0 || !(v.ptr[0] == '-' || (v.ptr[0] >= '0' && v.ptr[0] <= '9')))
        return -EBADMSG;
    if (azk_json_number_to_int64(v, out) != 0 || *out < min || *out > max)
        return -EBADMSG;
    return 0;
}

static int sha256_member(struct azk_span fw, struct azk_fota_desired *d)
{
    char hex[66];
    int rc = string_member(fw, "fwSha256", hex, sizeof(hex));
    if (rc == -ENOENT)
        return 0;
    if (rc < 0 || strlen(hex) != 64)
        return -EBADMSG;
    for (int i = 0; i < 32; i++) {
        int hi = azki_hex_digit(hex[2 * i]), lo = azki_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EBADMSG;
        d->sha256[i] = (uint8_t)(hi << 4 | lo);
    }
    d->has_sha256 = true;
    return 0;
}

/* fwVersion: a string, or an integer written in decimal (azure_fota prints valueint). */
static int version_member(struct azk_span fw, char *buf)
{
    struct azk_span v;
    int64_t n;
    int rc = member(fw, "fwVersion", &v);
    if (rc < 0)
        return rc == -ENOENT ? -EBADMSG : rc;
    if (v.ptr[0] == '"')
        return string_value(v, buf, AZK_FOTA_VERSION_SIZE);
    if (int_member(fw, "fwVersion", INT64_MIN, INT64_MAX, &n) < 0)
        return -EBADMSG;
    struct azki_w w;
    azki_w_init(&w, buf, AZK_FOTA_VERSION_SIZE - 1);
    azki_w_i64(&w, n);
    buf[w.len] = '\0'; /* at most 20 characters: always fits */
    return 0;
}

static int required(int rc)
{
    return rc == -ENOENT ? -EBADMSG : rc;
}

int azk_fota_desired_parse(struct azk_span json, struct azk_fota_desired *d)
{
    struct azk_span obj, fw, loc;
    int64_t n;
    int rc;

    if (d == NULL || (json.ptr == NULL && json.len != 0))
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    rc = azk_json_object_find(json, "desired", &obj);
    if (rc == -ENOENT)
        obj = json; /* a patch or the desired section itself */
    else if (rc < 0)
        return rc;
    rc = member(obj, "firmware", &fw);
    if (rc < 0)
        return rc;
    if (fw.ptr[0] != '{')
        return -EBADMSG;
    if ((rc = version_member(fw, d->version)) < 0)
        return rc;
    rc = string_member(fw, "jobId", d->job_id, sizeof(d->job_id));
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if ((rc = required(member(fw, "fwLocation", &loc))) < 0)
        return rc;
    if ((rc = required(string_member(loc, "host", d->host, sizeof(d->host)))) < 0)
        return rc;
    if ((rc = required(string_member(loc, "path", d->path, sizeof(d->path)))) < 0)
        return rc;
    if ((rc = required(int_member(fw, "fwFragmentSize", 0, AZK_FOTA_FRAGMENT_MAX, &n))) < 0)
        return rc;
    d->fragment_size = (uint32_t)n;
    rc = int_member(fw, "fwSize", 0, INT64_MAX, &n);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    d->has_size = rc == 0;
    d->size = rc == 0 ? (uint64_t)n : 0;
    return sha256_member(fw, d);
}

int azk_fota_reported_parse(struct azk_span doc, struct azk_fota_reported *r)
{
    struct azk_span rep, fw;
    char status[16];
    int rc;

    if (r == NULL || (doc.ptr == NULL && doc.len != 0))
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->status = AZK_FOTA_INVALID;
    if ((rc = azk_json_object_find(doc, "reported", &rep)) < 0)
        return rc;
    if (member(rep, "firmware", &fw) < 0)
        return 0;
    r->has_firmware = true;
    r->has_job_id = string_member(fw, "jobId", r->job_id, sizeof(r->job_id)) == 0;
    r->has_current = string_member(fw, "currentFwVersion", r->current, sizeof(r->current)) == 0;
    r->has_pending = string_member(fw, "pendingFwVersion", r->pending, sizeof(r->pending)) == 0;
    r->has_status = string_member(fw, "fwUpdateStatus", status, sizeof(status)) == 0;
    if (r->has_status)
        r->status = azk_fota_status_from_str(status);
    return 0;
}

static void field_str(struct azk_json_writer *w, const char *name, const char *value)
{
    azk_json_writer_property_name(w, azk_span_from_str(name));
    azk_json_writer_string(w, azk_span_from_str(value));
}

static void field_num(struct azk_json_writer *w, const char *name, uint64_t value)
{
    azk_json_writer_property_name(w, azk_span_from_str(name));
    azk_json_writer_int64(w, value > INT64_MAX ? INT64_MAX : (int64_t)value);
}

int azk_fota_report_build(const struct azk_fota_report *rep, char *buf, size_t buf_size,
                          size_t *out_len)
{
    struct azk_json_writer w;
    int rc;

    if (rep == NULL || out_len == NULL || rep->current == NULL ||
        (unsigned)rep->status >= (unsigned)AZK_FOTA_INVALID)
        return -EINVAL;
    if ((rc = azk_json_writer_init(&w, buf, buf_size)) < 0)
        return rc;
    azk_json_writer_begin_object(&w);
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("firmware"));
    azk_json_writer_begin_object(&w);
    field_str(&w, "fwUpdateStatus", azk_fota_status_str(rep->status));
    field_str(&w, "currentFwVersion", rep->current);
    if (rep->job_id != NULL && rep->job_id[0] != '\0') {
        field_str(&w, "pendingFwVersion", rep->pending ? rep->pending : "");
        field_str(&w, "jobId", rep->job_id);
    }
    if (rep->has_progress) {
        field_num(&w, "fwDownloadedBytes", rep->downloaded);
        if (rep->total > 0)
            field_num(&w, "fwTotalBytes", rep->total);
    }
    azk_json_writer_end_object(&w);
    azk_json_writer_end_object(&w);
    rc = azk_json_writer_finish(&w, out_len);
    return rc == -EBADMSG ? -EINVAL : rc;
}

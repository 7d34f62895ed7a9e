/* The FOTA directory (azkit/fota_posix.h): saved state, staged image, the running image and
 * its atomic swap, the rollback rehearsal. */
#include "azkit/fota_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "azkit/json.h"
#include "common/fileio.h"

#define STATE_MAX 2048

static int file_path(const struct azk_fota_dir *d, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", d->path, name);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void str_field(struct azk_json_writer *w, const char *name, const char *v)
{
    azk_json_writer_property_name(w, azk_span_from_str(name));
    azk_json_writer_string(w, azk_span_from_str(v));
}

static void num_field(struct azk_json_writer *w, const char *name, uint64_t v)
{
    azk_json_writer_property_name(w, azk_span_from_str(name));
    azk_json_writer_int64(w, (int64_t)v);
}

/* The job is written as a desired `firmware` object, so azk_fota_desired_parse() reads it. */
static int state_save(struct azk_fota_store *st, const struct azk_fota_saved *s)
{
    struct azk_fota_dir *d = (struct azk_fota_dir *)st;
    const struct azk_fota_desired *j = &s->job;
    char buf[STATE_MAX], hex[65];
    struct azk_json_writer w;
    size_t len;
    azk_json_writer_init(&w, buf, sizeof(buf));
    azk_json_writer_begin_object(&w);
    str_field(&w, "status", azk_fota_status_str(s->status));
    str_field(&w, "previous", s->previous);
    num_field(&w, "offset", s->offset);
    num_field(&w, "total", s->total);
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("firmware"));
    azk_json_writer_begin_object(&w);
    str_field(&w, "fwVersion", j->version);
    str_field(&w, "jobId", j->job_id);
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("fwLocation"));
    azk_json_writer_begin_object(&w);
    str_field(&w, "host", j->host);
    str_field(&w, "path", j->path);
    azk_json_writer_end_object(&w);
    num_field(&w, "fwFragmentSize", j->fragment_size);
    if (j->has_size)
        num_field(&w, "fwSize", j->size);
    if (j->has_sha256) {
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", j->sha256[i]);
        str_field(&w, "fwSha256", hex);
    }
    azk_json_writer_end_object(&w);
    azk_json_writer_end_object(&w);
    if (azk_json_writer_finish(&w, &len) < 0)
        return -EINVAL;
    return azki_atomic_write(d->path, "state", buf, len, 0600, false, NULL, NULL);
}

static int str_member(struct azk_span obj, const char *name, char *out, size_t size)
{
    struct azk_span v;
    size_t n;
    if (azk_json_object_find(obj, name, &v) < 0 || v.len < 2 || v.ptr[0] != '"' ||
        azk_json_string_unescape((struct azk_span){v.ptr + 1, v.len - 2}, out, size - 1, &n))
        return -EBADMSG;
    out[n] = '\0';
    return 0;
}

static int num_member(struct azk_span obj, const char *name, uint64_t *out)
{
    struct azk_span v;
    int64_t n;
    if (azk_json_object_find(obj, name, &v) < 0 || azk_json_number_to_int64(v, &n) < 0 || n < 0)
        return -EBADMSG;
    *out = (uint64_t)n;
    return 0;
}

static int state_load(struct azk_fota_store *st, struct azk_fota_saved *s)
{
    struct azk_fota_dir *d = (struct azk_fota_dir *)st;
    char path[600], status[16], *text;
    size_t len;
    int rc = file_path(d, "state", path, sizeof(path));
    if (rc < 0 || (rc = azki_file_read_all(path, &text, &len)) < 0)
        return rc;
    struct azk_span obj = {text, len};
    memset(s, 0, sizeof(*s));
    rc = azk_fota_desired_parse(obj, &s->job);
    if (rc == 0)
        rc = str_member(obj, "status", status, sizeof(status));
    if (rc == 0)
        rc = str_member(obj, "previous", s->previous, sizeof(s->previous));
    if (rc == 0)
        rc = num_member(obj, "offset", &s->offset);
    if (rc == 0)
        rc = num_member(obj, "total", &s->total);
    s->status = azk_fota_status_from_str(status);
    free(text);
    if (rc == 0 && s->status == AZK_FOTA_INVALID)
        rc = -EBADMSG;
    return rc < 0 ? -EIO : 0;
}

/* A version file: one line; -ENOENT when absent. */
static int read_version(const struct azk_fota_dir *d, const char *name, char *out)
{
    char path[600], *text;
    size_t len;
    int rc = file_path(d, name, path, sizeof(path));
    if (rc < 0 || (rc = azki_file_read_all(path, &text, &len)) < 0)
        return rc;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    rc = len == 0 || len >= AZK_FOTA_VERSION_SIZE || memchr(text, '\0', len) ? -EINVAL : 0;
    if (rc == 0) {
        memcpy(out, text, len);
        out[len] = '\0';
    }
    free(text);
    return rc;
}

static int rename_in(const struct azk_fota_dir *d, const char *from, const char *to)
{
    char a[600], b[600];
    if (file_path(d, from, a, sizeof(a)) < 0 || file_path(d, to, b, sizeof(b)) < 0)
        return -ENAMETOOLONG;
    return rename(a, b) == 0 ? 0 : -errno;
}

static int unlink_in(const struct azk_fota_dir *d, const char *name)
{
    char a[600];
    if (file_path(d, name, a, sizeof(a)) < 0)
        return -ENAMETOOLONG;
    return unlink(a) == 0 || errno == ENOENT ? 0 : -errno;
}

/* The new image "fails to boot": the previous one goes back (or none: the fallback). */
static int roll_back(struct azk_fota_dir *d)
{
    int rc = rename_in(d, "image.prev", "image");
    if (rc == -ENOENT)
        rc = unlink_in(d, "image");
    if (rc == 0)
        rc = rename_in(d, "image.prev.version", "image.version");
    if (rc == -ENOENT)
        rc = unlink_in(d, "image.version");
    if (rc == 0)
        rc = unlink_in(d, "fail-boot");
    return rc < 0 ? rc : azki_fsync_dir(d->path);
}

int azk_fota_dir_open(struct azk_fota_dir *d, const char *path, const char *fallback,
                      char running[AZK_FOTA_VERSION_SIZE], bool *rolled_back)
{
    struct azk_fota_saved s;
    char marker[600];
    int rc;
    if (d == NULL || path == NULL || fallback == NULL || running == NULL || !fallback[0] ||
        strlen(fallback) >= AZK_FOTA_VERSION_SIZE)
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    if (strlen(path) >= sizeof(d->path) - 32)
        return -ENAMETOOLONG;
    strcpy(d->path, path);
    d->store.load = state_load;
    d->store.save = state_save;
    if ((rc = azki_mkdir_p(path, 0700)) < 0)
        return rc;
    if (rolled_back)
        *rolled_back = false;
    file_path(d, "fail-boot", marker, sizeof(marker));
    if (state_load(&d->store, &s) == 0 && s.status == AZK_FOTA_REBOOTING &&
        access(marker, F_OK) == 0) {
        if ((rc = roll_back(d)) < 0)
            return rc;
        if (rolled_back)
            *rolled_back = true;
    }
    rc = read_version(d, "image.version", running);
    if (rc == -ENOENT) {
        strcpy(running, fallback);
        rc = 0;
    }
    return rc;
}

int azk_fota_dir_stage(struct azk_fota_dir *d, uint64_t start, const void *data, size_t len)
{
    char path[600];
    const char *p = data;
    int rc = file_path(d, "staging", path, sizeof(path));
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = ftruncate(fd, (off_t)start) == 0 ? 0 : -errno;
    while (rc == 0 && len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)start);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        p += n;
        len -= (size_t)n;
        start += (uint64_t)n;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

int azk_fota_dir_verify(struct azk_fota_dir *d, uint64_t size, const uint8_t *sha256)
{
    char path[600];
    unsigned char buf[16384], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct stat st;
    int rc = file_path(d, "staging", path, sizeof(path));
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size) {
        close(fd);
        return -EMSGSIZE;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -ENOMEM;
    for (ssize_t n; rc == 0 && (n = read(fd, buf, sizeof(buf))) != 0;)
        rc = n < 0 ? -EIO : EVP_DigestUpdate(ctx, buf, (size_t)n) ? 0 : -EIO;
    if (rc == 0 && !EVP_DigestFinal_ex(ctx, md, &mdlen))
        rc = -EIO;
    EVP_MD_CTX_free(ctx);
    close(fd);
    if (rc == 0 && sha256 && (mdlen != 32 || memcmp(md, sha256, 32) != 0))
        rc = -EBADMSG;
    return rc;
}

/* name -> prev as a hard link (the running file stays where it is). */
static int keep_prev(struct azk_fota_dir *d, const char *name, const char *prev)
{
    char a[600], b[600];
    if (file_path(d, name, a, sizeof(a)) < 0 || file_path(d, prev, b, sizeof(b)) < 0)
        return -ENAMETOOLONG;
    if (unlink(b) != 0 && errno != ENOENT)
        return -errno;
    if (link(a, b) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int azk_fota_dir_apply(struct azk_fota_dir *d, const char *version)
{
    int rc = azki_atomic_write(d->path, "staging.version", version, strlen(version), 0600,
                               false, NULL, NULL);
    if (rc == 0)
        rc = keep_prev(d, "image", "image.prev");
    if (rc == 0)
        rc = keep_prev(d, "image.version", "image.prev.version");
    if (rc == 0)
        rc = rename_in(d, "staging", "image");
    if (rc == 0)
        rc = rename_in(d, "staging.version", "image.version");
    return rc < 0 ? rc : azki_fsync_dir(d->path);
}

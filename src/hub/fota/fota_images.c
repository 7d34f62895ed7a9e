/* The image catalogue (fota.h): <data>/fota/images.json and the image files. */
#include "hub/fota/fota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hub/daemon.h"

const char *hub_fota_version_problem(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > HUB_FOTA_VERSION_MAX)
        return "a firmware version is 1 to 64 characters";
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '/' || v[i] == '"' || v[i] == '\\')
            return "a firmware version is printable ASCII without spaces, '/', '\"' or '\\'";
    return NULL;
}

const char *hub_fota_file_problem(const char *file)
{
    size_t n = strlen(file);
    if (n == 0 || n > HUB_FOTA_FILE_MAX || file[0] == '.')
        return "an image file name is 1 to 100 characters and does not start with '.'";
    for (size_t i = 0; i < n; i++) {
        char c = file[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return "an image file name holds only letters, digits, '.', '_' and '-'";
    }
    return NULL;
}

const struct hub_fota_image *hub_fota_find(const struct hub_fota *f, const char *version)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->images[i].version, version) == 0)
            return &f->images[i];
    return NULL;
}

static void image_path(const struct hub_fota *f, const struct hub_fota_image *im, char *out,
                       size_t size)
{
    snprintf(out, size, "%s/%s/%s", f->dir, im->token, im->file);
}

static void staging_path(const struct hub_fota *f, const char *version, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/staging-", f->dir);
    for (const char *p = version; *p && n > 0 && (size_t)n + 3 < size; p++)
        n += snprintf(out + n, size - (size_t)n, "%02x", (unsigned char)*p);
}

/* images.json from the catalogue: temporary file, fsync, rename. */
static int save(const struct hub_fota *f)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < f->count; i++) {
        const struct hub_fota_image *im = &f->images[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", im->version);
        cJSON_AddStringToObject(o, "file", im->file);
        cJSON_AddStringToObject(o, "token", im->token);
        cJSON_AddStringToObject(o, "sha256", im->sha256);
        cJSON_AddNumberToObject(o, "size", (double)im->size);
        cJSON_AddNumberToObject(o, "uploadedMs", (double)im->uploaded_ms);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    if (text == NULL)
        return -ENOMEM;
    char tmp[PATH_MAX + 32], final[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s/images.json.tmp", f->dir);
    snprintf(final, sizeof(final), "%s/images.json", f->dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(text);
    int rc = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -EIO;
    free(text);
    if (fd >= 0 && close(fd) != 0)
        rc = -EIO;
    if (rc == 0 && rename(tmp, final) != 0)
        rc = -EIO;
    if (rc == 0) {
        int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int load(struct hub_fota *f)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/images.json", f->dir);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return errno == ENOENT ? 0 : -EIO;
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *t = realloc(text, cap = cap * 2 + 8192);
            if (t == NULL) {
                free(text);
                fclose(fp);
                return -ENOMEM;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, 4096, fp);
        len += n;
        if (n == 0)
            break;
    }
    fclose(fp);
    cJSON *arr = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return -EBADMSG;
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    f->images = n ? calloc(n, sizeof(*f->images)) : NULL;
    if (n && f->images == NULL) {
        cJSON_Delete(arr);
        return -ENOMEM;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        const char *v = jstr(o, "version"), *file = jstr(o, "file"), *tok = jstr(o, "token"),
                   *sha = jstr(o, "sha256");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
        const cJSON *up = cJSON_GetObjectItemCaseSensitive(o, "uploadedMs");
        if (!v || !file || !tok || !sha || !cJSON_IsNumber(size) ||
            hub_fota_version_problem(v) || hub_fota_file_problem(file) ||
            strlen(tok) != HUB_FOTA_TOKEN_HEX || strspn(tok, "0123456789abcdef") != HUB_FOTA_TOKEN_HEX ||
            strlen(sha) != 64) {
            cJSON_Delete(arr);
            return -EBADMSG;
        }
        struct hub_fota_image *im = &f->images[f->count++];
        snprintf(im->version, sizeof(im->version), "%s", v);
        snprintf(im->file, sizeof(im->file), "%s", file);
        snprintf(im->token, sizeof(im->token), "%s", tok);
        snprintf(im->sha256, sizeof(im->sha256), "%s", sha);
        im->size = (uint64_t)size->valuedouble;
        im->uploaded_ms = cJSON_IsNumber(up) ? (int64_t)up->valuedouble : 0;
    }
    cJSON_Delete(arr);
    return 0;
}

int hub_fota_open(const char *data_dir, struct event_base *base, struct hub_fota **out)
{
    *out = NULL;
    struct hub_fota *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -ENOMEM;
    f->base = base;
    snprintf(f->dir, sizeof(f->dir), "%s/fota", data_dir);
    int rc = load(f);
    if (rc != 0) {
        free(f->images);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void hub_fota_close(struct hub_fota *f)
{
    if (f == NULL)
        return;
    free(f->images);
    free(f);
}

int hub_fota_stage(struct hub_fota *f, const char *version, uint64_t offset, const void *data,
                   size_t len)
{
    if (offset + len > HUB_FOTA_IMAGE_MAX)
        return -EFBIG;
    if (mkdir(f->dir, 0700) != 0 && errno != EEXIST)
        return -EIO;
    char path[PATH_MAX + 200];
    staging_path(f, version, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0644);
    if (fd < 0)
        return -EIO;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = -EIO;
    else if ((uint64_t)st.st_size != offset)
        rc = -EINVAL; /* pieces come in order, each once */
    else if (len > 0 && pwrite(fd, data, len, (off_t)offset) != (ssize_t)len)
        rc = -EIO;
    if (close(fd) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}

/* SHA-256 (lowercase hex) and size of a file. */
static int digest_file(const char *path, char hex[65], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT : -EIO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
    unsigned char buf[65536];
    *size = 0;
    ssize_t n;
    while (rc == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 || EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            rc = -EIO;
        else
            *size += (uint64_t)n;
    }
    unsigned char d[32];
    if (rc == 0 && EVP_DigestFinal_ex(md, d, NULL) != 1)
        rc = -EIO;
    for (int i = 0; rc == 0 && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}

int hub_fota_commit(struct hub_fota *f, const char *version, const char *file, uint64_t size,
                    const char *sha256, const struct hub_fota_image **out, char *why,
                    size_t why_size)
{
    why[0] = '\0';
    if (hub_fota_find(f, version) != NULL)
        return -EEXIST;
    char staged[PATH_MAX + 200];
    staging_path(f, version, staged, sizeof(staged));
    struct hub_fota_image im;
    memset(&im, 0, sizeof(im));
    uint64_t have = 0;
    int rc = digest_file(staged, im.sha256, &have);
    if (rc != 0)
        return rc;
    if (have != size) {
        snprintf(why, why_size, "the upload has %llu bytes, not the %llu announced",
                 (unsigned long long)have, (unsigned long long)size);
        return -EBADMSG;
    }
    if (sha256 != NULL && strcmp(sha256, im.sha256) != 0) {
        snprintf(why, why_size, "the upload's SHA-256 is %s, not %s", im.sha256, sha256);
        return -EBADMSG;
    }
    snprintf(im.version, sizeof(im.version), "%s", version);
    snprintf(im.file, sizeof(im.file), "%s", file);
    unsigned char t[HUB_FOTA_TOKEN_HEX / 2];
    if (RAND_bytes(t, sizeof(t)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(t); i++)
        snprintf(im.token + 2 * i, 3, "%02x", t[i]);
    im.size = size;
    im.uploaded_ms = hub_now_ms();
    char dir[PATH_MAX + 64], path[PATH_MAX + 200];
    snprintf(dir, sizeof(dir), "%s/%s", f->dir, im.token);
    image_path(f, &im, path, sizeof(path));
    if (mkdir(dir, 0755) != 0 || chmod(staged, 0644) != 0 || rename(staged, path) != 0)
        return -EIO;
    struct hub_fota_image *grown = realloc(f->images, (f->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    f->images = grown;
    f->images[f->count++] = im;
    rc = save(f);
    if (rc != 0) {
        f->count--; /* not listed: as if never uploaded */
        return rc;
    }
    *out = &f->images[f->count - 1];
    return 0;
}

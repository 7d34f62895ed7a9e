/* Directory backend. Layout: <root>/<tag>/<N-name.ext>, e.g. creds/10/1-cert.pem.
 * Every write goes through azki_atomic_write (temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves the old or the new credential, and concurrent writers each
 * replace the file whole. */
#include "cred/backend_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred/internal.h"

struct dir_ctx {
    char *root;
    azki_fault_hook hook;
    void *hook_user;
};

static const char *const type_files[AZK_CRED_TYPE_COUNT] = {
    "0-ca.pem", "1-cert.pem", "2-key.pem", "3-psk.txt", "4-identity.txt",
};

const char *azki_dir_type_file(int type)
{
    return type >= 0 && type < AZK_CRED_TYPE_COUNT ? type_files[type] : NULL;
}

static int tag_dir(const struct dir_ctx *c, azk_sec_tag_t tag, char *out, size_t len)
{
    return snprintf(out, len, "%s/%u", c->root, (unsigned)tag) < (int)len ? 0 : -ENAMETOOLONG;
}

static int cred_path(const struct dir_ctx *c, azk_sec_tag_t tag, int type, char *out, size_t len)
{
    return snprintf(out, len, "%s/%u/%s", c->root, (unsigned)tag, type_files[type]) < (int)len
               ? 0
               : -ENAMETOOLONG;
}

static int ensure_tag_dir(const struct dir_ctx *c, const char *dir)
{
    if (mkdir(dir, 0700) == 0)
        return azki_fsync_dir(c->root);
    if (errno == ENOENT) { /* first write into a new store: create it (0700 all the way) */
        int rc = azki_mkdir_p(c->root, 0700);
        if (rc != 0)
            return rc;
        if (mkdir(dir, 0700) == 0)
            return azki_fsync_dir(c->root);
    }
    return errno == EEXIST ? 0 : -errno;
}

static int dir_write(void *ctx, azk_sec_tag_t tag, int type, const char *content, size_t len)
{
    struct dir_ctx *c = ctx;
    char dir[PATH_MAX];
    int rc = tag_dir(c, tag, dir, sizeof(dir));
    /* A concurrent clear may remove the tag directory between mkdir and the write: retry. */
    for (int attempt = 0; rc == 0 && attempt < 3; attempt++) {
        rc = ensure_tag_dir(c, dir);
        if (rc != 0)
            break;
        rc = azki_atomic_write(dir, type_files[type], content, len, 0600, false, c->hook,
                              c->hook_user);
        if (rc != -ENOENT)
            break;
        rc = 0;
    }
    return rc;
}

static int dir_read(void *ctx, azk_sec_tag_t tag, int type, void *buf, size_t *len)
{
    char path[PATH_MAX];
    int rc = cred_path(ctx, tag, type, path, sizeof(path));
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT : -EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -EIO;
    }
    size_t size = (size_t)st.st_size;
    if (size > *len) {
        close(fd);
        *len = size;
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, (char *)buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            return -EIO;
        }
        got += (size_t)r;
    }
    close(fd);
    *len = size;
    return 0;
}

static int dir_remove(void *ctx, azk_sec_tag_t tag, int type)
{
    struct dir_ctx *c = ctx;
    char path[PATH_MAX], dir[PATH_MAX];
    int rc = cred_path(c, tag, type, path, sizeof(path));
    if (rc == 0)
        rc = tag_dir(c, tag, dir, sizeof(dir));
    if (rc != 0)
        return rc;
    if (unlink(path) != 0)
        return errno == ENOENT ? -ENOENT : -errno;
    rc = azki_fsync_dir(dir);
    /* Drop the tag directory once it holds nothing (fails harmlessly when not empty). */
    if (rmdir(dir) == 0)
        azki_fsync_dir(c->root);
    return rc;
}

static int dir_clear(void *ctx, azk_sec_tag_t tag)
{
    struct dir_ctx *c = ctx;
    char dir[PATH_MAX];
    int rc = tag_dir(c, tag, dir, sizeof(dir));
    if (rc != 0)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int fd = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        /* Credentials and leftovers of interrupted writes. */
        if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT)
            rc = -errno;
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) != 0 && errno != ENOENT && errno != ENOTEMPTY)
        rc = -errno;
    int src = azki_fsync_dir(c->root);
    return rc != 0 ? rc : src;
}

static bool parse_tag_name(const char *s, azk_sec_tag_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > AZK_SEC_TAG_MAX)
        return false;
    *out = (azk_sec_tag_t)v;
    return true;
}

static int cmp_tags(const void *a, const void *b)
{
    azk_sec_tag_t x = *(const azk_sec_tag_t *)a, y = *(const azk_sec_tag_t *)b;
    return x < y ? -1 : x > y;
}

static int dir_list(void *ctx, azk_cred_list_cb cb, void *user)
{
    struct dir_ctx *c = ctx;
    DIR *d = opendir(c->root);
    if (d == NULL)
        return errno == ENOENT ? 0 : -EIO;
    azk_sec_tag_t *tags = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        azk_sec_tag_t t;
        if (!parse_tag_name(e->d_name, &t))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            azk_sec_tag_t *nt = realloc(tags, cap * sizeof(*nt));
            if (nt == NULL) {
                rc = -ENOMEM;
                break;
            }
            tags = nt;
        }
        tags[n++] = t;
    }
    closedir(d);
    if (rc == 0 && n > 0)
        qsort(tags, n, sizeof(*tags), cmp_tags);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        for (int type = 0; rc == 0 && type < AZK_CRED_TYPE_COUNT; type++) {
            char path[PATH_MAX];
            struct stat st;
            if (cred_path(c, tags[i], type, path, sizeof(path)) != 0)
                continue;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                rc = cb(tags[i], type, user);
        }
    }
    free(tags);
    return rc;
}

static void dir_close(void *ctx)
{
    struct dir_ctx *c = ctx;
    free(c->root);
    free(c);
}

static const struct azk_cred_backend_ops dir_ops = {
    .name = "directory",
    .write = dir_write,
    .read = dir_read,
    .remove = dir_remove,
    .clear = dir_clear,
    .list = dir_list,
    .digest = NULL,
    .close = dir_close,
};

AZK_API int azk_credstore_resolve_dir(const char *explicit_dir, char *out, size_t out_len)
{
    int n;
    const char *env = getenv("AZKIT_STORE");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (explicit_dir != NULL && *explicit_dir)
        n = snprintf(out, out_len, "%s", explicit_dir);
    else if (env != NULL && *env)
        n = snprintf(out, out_len, "%s", env);
    else if (xdg != NULL && *xdg == '/')
        n = snprintf(out, out_len, "%s/azkit/credstore", xdg);
    else if (home != NULL && *home)
        n = snprintf(out, out_len, "%s/.local/share/azkit/credstore", home);
    else
        return -ENOENT;
    return n < (int)out_len ? 0 : -ENAMETOOLONG;
}

AZK_API int azk_credstore_open_dir(const char *dir, struct azk_credstore **out,
                                   struct azk_diag *diag)
{
    char path[PATH_MAX];
    *out = NULL;
    int rc = azk_credstore_resolve_dir(dir, path, sizeof(path));
    if (rc != 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.no-store-dir",
                     "Pass --store DIR or set AZKIT_STORE.",
                     "cannot work out where the credential store is (HOME is not set)");
        return rc;
    }
    /* The directory is created by the first write, so read-only commands leave no trace. */
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            azk_diag_add(diag, AZK_SEV_ERROR, "cred.store-unusable",
                         "Pass --store DIR with a directory, or remove the file.",
                         "the credential store %s is not a directory", path);
            return -ENOTDIR;
        }
        if ((st.st_mode & 077) && chmod(path, 0700) == 0)
            azk_diag_add(diag, AZK_SEV_WARNING, "cred.store-permissions", NULL,
                         "the credential store %s was accessible to other users (mode %03o); "
                         "it is now 0700", path, (unsigned)(st.st_mode & 0777));
        else if (st.st_mode & 077)
            azk_diag_add(diag, AZK_SEV_WARNING, "cred.store-permissions",
                         "chmod 700 the directory, or use a store you own.",
                         "the credential store %s is accessible to other users (mode %03o)",
                         path, (unsigned)(st.st_mode & 0777));
    } else if (errno != ENOENT) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.store-unusable",
                     "Check the path and its permissions, or pass another --store DIR.",
                     "cannot use the credential store directory %s", path);
        return -errno;
    }
    struct dir_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->root = strdup(path)) == NULL) {
        free(c);
        return -ENOMEM;
    }
    char desc[PATH_MAX + 16];
    snprintf(desc, sizeof(desc), "directory %s", path);
    rc = azk_credstore_open_backend(&dir_ops, c, desc, out);
    if (rc != 0)
        dir_close(c);
    return rc;
}

void azki_credstore_dir_set_fault_hook(struct azk_credstore *store, azki_fault_hook hook,
                                      void *user)
{
    if (store == NULL || store->ops != &dir_ops)
        return;
    struct dir_ctx *c = store->ctx;
    c->hook = hook;
    c->hook_user = user;
}

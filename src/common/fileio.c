/* Crash-safe file writes and bounded reads. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int azki_file_read_all(const char *path, char **out, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= AZKI_FILE_MAX) {
                rc = -EFBIG;
                goto out;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -EIO;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

int azki_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int write_full(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int stop_at(azki_fault_hook hook, void *user, enum azki_write_step step)
{
    return hook != NULL && hook(step, user) != 0;
}

int azki_atomic_write(const char *dir, const char *name, const void *data, size_t len,
                     mode_t mode, bool exclusive, azki_fault_hook hook, void *hook_user)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    if (snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.XXXXXX", dir, name) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    int rc = fchmod(fd, mode) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = write_full(fd, data, len);
    if (rc == 0 && stop_at(hook, hook_user, AZKI_WSTEP_TMP_WRITTEN)) {
        close(fd);
        return -EINTR;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    if (stop_at(hook, hook_user, AZKI_WSTEP_TMP_SYNCED))
        return -EINTR;
    if (exclusive) {
        /* link() refuses to replace an existing name, atomically. */
        if (link(tmp, dst) != 0)
            rc = -errno;
        unlink(tmp);
    } else if (rename(tmp, dst) != 0) {
        rc = -errno;
        unlink(tmp);
    }
    if (rc != 0)
        return rc;
    if (stop_at(hook, hook_user, AZKI_WSTEP_RENAMED))
        return -EINTR;
    if (stop_at(hook, hook_user, AZKI_WSTEP_DIR_SYNC))
        return -EINTR;
    return azki_fsync_dir(dir);
}

int azki_atomic_write_path(const char *path, const void *data, size_t len, mode_t mode,
                          bool exclusive)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return azki_atomic_write(".", path, data, len, mode, exclusive, NULL, NULL);
    size_t dlen = (size_t)(slash - path);
    if (dlen == 0)
        dlen = 1; /* "/name" */
    if (dlen >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    return azki_atomic_write(dir, slash + 1, data, len, mode, exclusive, NULL, NULL);
}

int azki_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(buf, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

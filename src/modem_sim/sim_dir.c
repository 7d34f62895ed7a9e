/* The simulator's credentials on disk (sim_dir.h). */
#define _GNU_SOURCE
#include "modem_sim/sim_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ITEM (1u << 20) /* far above what one AT command carries */

int sim_dir_open(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* "<tag>-<type>" with both numbers in range, nothing else. */
static int parse_name(const char *name, uint32_t *tag, uint32_t *type)
{
    char *end;
    if (name[0] < '0' || name[0] > '9')
        return -1;
    errno = 0;
    unsigned long long a = strtoull(name, &end, 10);
    if (errno || *end != '-' || a > UINT32_MAX || end[1] < '0' || end[1] > '9')
        return -1;
    unsigned long long b = strtoull(end + 1, &end, 10);
    if (errno || *end != '\0' || b > 255)
        return -1;
    *tag = (uint32_t)a;
    *type = (uint32_t)b;
    return 0;
}

static int read_file(int dfd, const char *name, char **data, size_t *len)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    char *buf = malloc(MAX_ITEM);
    size_t n = 0;
    ssize_t r = 0;
    while (buf != NULL && n < MAX_ITEM && (r = read(fd, buf + n, MAX_ITEM - n)) > 0)
        n += (size_t)r;
    int err = buf == NULL ? -ENOMEM : r < 0 ? -errno : n == MAX_ITEM ? -EFBIG : 0;
    close(fd);
    if (err) {
        free(buf);
        return err;
    }
    *data = buf;
    *len = n;
    return 0;
}

int sim_dir_load(const char *dir,
                 int (*each)(uint32_t tag, uint32_t type, const char *data, size_t len))
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        uint32_t tag, type;
        if (parse_name(e->d_name, &tag, &type) != 0)
            continue;
        char *data = NULL;
        size_t len = 0;
        rc = read_file(dirfd(d), e->d_name, &data, &len);
        if (rc == 0) {
            rc = each(tag, type, data, len);
            free(data);
        }
    }
    closedir(d);
    return rc;
}

int sim_dir_save(const char *dir, uint32_t tag, uint32_t type, const char *data, size_t len)
{
    char path[4200], tmp[4220];
    snprintf(path, sizeof(path), "%s/%" PRIu32 "-%" PRIu32, dir, tag, type);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int err = 0;
    for (size_t off = 0; off < len && err == 0;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            err = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (err == 0 && fsync(fd) != 0)
        err = -errno;
    if (close(fd) != 0 && err == 0)
        err = -errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = -errno;
    if (err != 0)
        unlink(tmp);
    return err;
}

int sim_dir_remove(const char *dir, uint32_t tag, uint32_t type)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%" PRIu32 "-%" PRIu32, dir, tag, type);
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

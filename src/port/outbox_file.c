/* The outbox in a file (azkit/outbox_file.h): an append-only log of put/remove records with a
 * CRC-32 each, replayed at open; the messages it holds are kept in memory too, for next(). */
#include "azkit/outbox_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

#define MAGIC 0x424f5a41u /* "AZOB" */
#define HDR 20u           /* magic, kind, id, props length, payload length */
#define TRAILER 4u        /* CRC-32 */
#define PER_MSG 12u       /* what a message counts beyond its bytes (as the memory outbox) */
#define MAX_DEFAULT (16u * 1024u * 1024u)
#define COMPACT_MIN (1024u * 1024u)
#define REC_MAX (64u * 1024u * 1024u)

enum { K_PUT = 1, K_REMOVE = 2 };

struct msg {
    uint32_t id;
    uint32_t props_len, payload_len;
    char *data; /* props then payload */
};

struct azk_outbox_file {
    struct azk_outbox ob; /* first: the interface */
    char *path;
    int fd;
    struct msg *msgs; /* oldest first (ids increase) */
    size_t n, cap;
    size_t live_bytes, file_size, max_bytes;
    uint32_t last_id;
};

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One record (header, bytes, CRC) in a fresh heap buffer. */
static uint8_t *record(uint32_t kind, uint32_t id, const char *props, size_t pl,
                       const char *payload, size_t yl, size_t *len)
{
    *len = HDR + pl + yl + TRAILER;
    uint8_t *r = malloc(*len);
    if (r == NULL)
        return NULL;
    put32(r, MAGIC);
    put32(r + 4, kind);
    put32(r + 8, id);
    put32(r + 12, (uint32_t)pl);
    put32(r + 16, (uint32_t)yl);
    if (pl)
        memcpy(r + HDR, props, pl);
    if (yl)
        memcpy(r + HDR + pl, payload, yl);
    put32(r + HDR + pl + yl, crc32_update(0, r, HDR + pl + yl));
    return r;
}

static int add_msg(struct azk_outbox_file *f, uint32_t id, const char *props, size_t pl,
                   const char *payload, size_t yl)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct msg *m = realloc(f->msgs, cap * sizeof(*m));
        if (m == NULL)
            return -ENOMEM;
        f->msgs = m;
        f->cap = cap;
    }
    char *d = malloc(pl + yl + 1);
    if (d == NULL)
        return -ENOMEM;
    if (pl)
        memcpy(d, props, pl);
    if (yl)
        memcpy(d + pl, payload, yl);
    f->msgs[f->n++] = (struct msg){id, (uint32_t)pl, (uint32_t)yl, d};
    f->live_bytes += PER_MSG + pl + yl;
    if (id > f->last_id)
        f->last_id = id;
    return 0;
}

static size_t find(const struct azk_outbox_file *f, uint32_t id)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->msgs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool drop_msg(struct azk_outbox_file *f, uint32_t id)
{
    size_t i = find(f, id);
    if (i == f->n || f->msgs[i].id != id)
        return false;
    f->live_bytes -= PER_MSG + f->msgs[i].props_len + f->msgs[i].payload_len;
    free(f->msgs[i].data);
    memmove(&f->msgs[i], &f->msgs[i + 1], (f->n - i - 1) * sizeof(f->msgs[0]));
    f->n--;
    return true;
}

/* Replays the log in `buf`; returns the length of its valid prefix. */
static int replay(struct azk_outbox_file *f, const uint8_t *buf, size_t size, size_t *valid)
{
    size_t at = 0;
    while (size - at >= HDR + TRAILER) {
        const uint8_t *r = buf + at;
        uint32_t kind = get32(r + 4), id = get32(r + 8), pl = get32(r + 12), yl = get32(r + 16);
        if (get32(r) != MAGIC || (kind != K_PUT && kind != K_REMOVE) || id == 0 ||
            pl > REC_MAX || yl > REC_MAX || size - at - HDR - TRAILER < (size_t)pl + yl)
            break;
        size_t body = HDR + (size_t)pl + yl;
        if (get32(r + body) != crc32_update(0, r, body))
            break;
        int rc = 0;
        if (kind == K_PUT && (f->n == 0 || id > f->msgs[f->n - 1].id))
            rc = add_msg(f, id, (const char *)r + HDR, pl, (const char *)r + HDR + pl, yl);
        else if (kind == K_REMOVE)
            drop_msg(f, id);
        if (id > f->last_id)
            f->last_id = id;
        if (rc != 0)
            return rc;
        at += body + TRAILER;
    }
    *valid = at;
    return 0;
}

/* Writes the live messages to PATH.tmp, fsync, rename over PATH, fsync the directory. */
static int compact(struct azk_outbox_file *f)
{
    size_t plen = strlen(f->path);
    char *tmp = malloc(plen + 5);
    if (tmp == NULL)
        return -ENOMEM;
    memcpy(tmp, f->path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -errno : 0;
    size_t size = 0;
    for (size_t i = 0; rc == 0 && i < f->n; i++) {
        const struct msg *m = &f->msgs[i];
        size_t len = 0;
        uint8_t *r = record(K_PUT, m->id, m->data, m->props_len, m->data + m->props_len,
                            m->payload_len, &len);
        rc = r == NULL ? -ENOMEM : write_all(fd, r, len);
        free(r);
        size += len;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    /* The new file takes the lock before it replaces the old one. */
    if (rc == 0 && flock(fd, LOCK_EX | LOCK_NB) != 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, f->path) != 0)
        rc = -errno;
    if (rc != 0) {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    char *copy = strdup(f->path);
    if (copy != NULL)
        azki_fsync_dir(dirname(copy));
    free(copy);
    close(f->fd);
    f->fd = fd;
    f->file_size = size;
    return 0;
}

static int file_put(struct azk_outbox *ob, struct azk_span props, struct azk_span payload,
                    uint32_t *id)
{
    struct azk_outbox_file *f = (struct azk_outbox_file *)ob;
    if (props.len > REC_MAX || payload.len > REC_MAX ||
        PER_MSG + props.len + payload.len > f->max_bytes)
        return -EMSGSIZE;
    if (f->live_bytes + PER_MSG + props.len + payload.len > f->max_bytes)
        return -ENOSPC;
    uint32_t nid = f->last_id + 1;
    size_t len = 0;
    uint8_t *r = record(K_PUT, nid, props.ptr, props.len, payload.ptr, payload.len, &len);
    if (r == NULL)
        return -ENOMEM;
    int rc = write_all(f->fd, r, len);
    free(r);
    if (rc == 0 && fdatasync(f->fd) != 0)
        rc = -errno;
    if (rc != 0) {
        /* Not accepted: take back whatever part of the record reached the file. */
        if (ftruncate(f->fd, (off_t)f->file_size) == 0)
            lseek(f->fd, 0, SEEK_END);
        return -EIO;
    }
    f->file_size += len;
    rc = add_msg(f, nid, props.ptr, props.len, payload.ptr, payload.len);
    if (rc != 0)
        return rc; /* on disk: sent after a restart */
    *id = nid;
    return 0;
}

static int file_next(struct azk_outbox *ob, uint32_t after, struct azk_outbox_msg *out)
{
    struct azk_outbox_file *f = (struct azk_outbox_file *)ob;
    size_t i = find(f, after + 1);
    if (i == f->n)
        return -ENOENT;
    const struct msg *m = &f->msgs[i];
    out->id = m->id;
    out->props = (struct azk_span){m->data, m->props_len};
    out->payload = (struct azk_span){m->data + m->props_len, m->payload_len};
    return 0;
}

static int file_remove(struct azk_outbox *ob, uint32_t id)
{
    struct azk_outbox_file *f = (struct azk_outbox_file *)ob;
    if (!drop_msg(f, id))
        return -ENOENT;
    size_t len = 0;
    uint8_t *r = record(K_REMOVE, id, NULL, 0, NULL, 0, &len);
    int rc = r == NULL ? -ENOMEM : write_all(f->fd, r, len);
    free(r);
    if (rc != 0) {
        if (ftruncate(f->fd, (off_t)f->file_size) == 0)
            lseek(f->fd, 0, SEEK_END);
        return -EIO; /* the message may come again after a restart: a duplicate */
    }
    f->file_size += len;
    if (f->file_size > COMPACT_MIN && f->file_size > 2 * f->live_bytes)
        compact(f); /* on failure the log simply stays longer */
    return 0;
}

static int load(struct azk_outbox_file *f, struct azk_outbox_file_info *info)
{
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return -errno;
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return -ENOMEM;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(f->fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return r < 0 ? -errno : -EIO;
        }
        got += (size_t)r;
    }
    size_t valid = 0;
    int rc = replay(f, buf, size, &valid);
    free(buf);
    if (rc != 0)
        return rc;
    if (valid < size && (ftruncate(f->fd, (off_t)valid) != 0 || fsync(f->fd) != 0))
        return -errno;
    if (lseek(f->fd, 0, SEEK_END) < 0)
        return -errno;
    f->file_size = valid;
    if (info != NULL) {
        info->messages = f->n;
        info->torn_bytes = size - valid;
    }
    return 0;
}

int azk_outbox_file_open(const char *path, size_t max_bytes, struct azk_outbox_file **out,
                         struct azk_outbox_file_info *info)
{
    if (path == NULL || out == NULL)
        return -EINVAL;
    *out = NULL;
    struct azk_outbox_file *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return -ENOMEM;
    }
    f->ob.put = file_put;
    f->ob.next = file_next;
    f->ob.remove = file_remove;
    f->max_bytes = max_bytes ? max_bytes : MAX_DEFAULT;
    f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = f->fd < 0 ? -errno : 0;
    if (rc == 0 && flock(f->fd, LOCK_EX | LOCK_NB) != 0)
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
    if (rc == 0) {
        /* A compaction that did not reach its rename. */
        size_t plen = strlen(path);
        char *tmp = malloc(plen + 5);
        if (tmp != NULL) {
            memcpy(tmp, path, plen);
            memcpy(tmp + plen, ".tmp", 5);
            unlink(tmp);
            free(tmp);
        }
        rc = load(f, info);
    }
    if (rc != 0) {
        azk_outbox_file_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

struct azk_outbox *azk_outbox_file_outbox(struct azk_outbox_file *f)
{
    return &f->ob;
}

size_t azk_outbox_file_count(const struct azk_outbox_file *f)
{
    return f->n;
}

void azk_outbox_file_close(struct azk_outbox_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (size_t i = 0; i < f->n; i++)
        free(f->msgs[i].data);
    free(f->msgs);
    free(f->path);
    free(f);
}

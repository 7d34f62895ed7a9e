/* A SQLite VFS over "unix-excl" that writes each WAL commit with one pwrite(2).
 *
 * SQLite appends a WAL frame as two writes, its 24-byte header and then its page, so a commit
 * that changes three pages (a telemetry row and its two index entries) costs seven pwrite(2)
 * calls; on a virtual machine those were half of the hub's system time per message. This VFS
 * gathers writes to a WAL file that continue one another in a buffer and writes the buffer
 * out when the page of a commit frame (a frame header whose "database size after commit"
 * field is not zero) has been added, before SQLite publishes the commit in its WAL index. So
 * a reader never sees a frame that is not in the file, the commit fails with SQLite's own
 * I/O error when the write fails (the index is then not updated and the next commit rewrites
 * the same frames), and kill -9 after the commit returned loses nothing (the bytes are in the
 * kernel). Anything that is not such an append (a read, a sync, a truncate, the size, a
 * non-contiguous write, closing) writes the buffer out first, so SQLite sees the file it
 * wrote. Files other than WALs pass straight through. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hub/store/store_internal.h"

#define WAL_FRAME_HEADER 24
/* Larger runs of frames go out in pieces. The unix VFS writes at most 128 KiB - 1 per call
 * (it masks the length with 0x1ffff): a larger buffer would come back as SQLITE_FULL. */
#define WAL_BUFFER_MAX (64 * 1024)

struct wal_file {
    sqlite3_file base;      /* our methods */
    sqlite3_file *real;     /* the unix-excl file, allocated right after this struct */
    bool is_wal;
    bool commit_next;       /* the last write was a commit frame's header */
    unsigned char *buf;     /* pending bytes of [buf_off, buf_off + buf_len) */
    size_t buf_len, buf_cap;
    sqlite3_int64 buf_off;
};

static sqlite3_vfs wal_vfs;
static sqlite3_vfs *real_vfs;

static struct wal_file *wf(sqlite3_file *f)
{
    return (struct wal_file *)f;
}

/* Writes the pending bytes out and returns the real write's result. On failure they are
 * dropped: pending bytes only ever belong to the transaction being written (a commit's are
 * written before it is published), and the error fails that transaction, so SQLite writes
 * the same frames again with its next one. */
static int flush(struct wal_file *w)
{
    if (!w->buf_len)
        return SQLITE_OK;
    int rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->buf_len, w->buf_off);
    w->buf_len = 0;
    return rc;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int x_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
    struct wal_file *w = wf(f);
    if (!w->is_wal)
        return w->real->pMethods->xWrite(w->real, data, n, off);
    bool commit_page = w->commit_next;
    w->commit_next = n == WAL_FRAME_HEADER && be32((const unsigned char *)data + 4) != 0;
    bool contiguous = w->buf_len && off == w->buf_off + (sqlite3_int64)w->buf_len;
    if (!contiguous || w->buf_len + (size_t)n > WAL_BUFFER_MAX) {
        int rc = flush(w);
        if (rc != SQLITE_OK)
            return rc;
    }
    if ((size_t)n > WAL_BUFFER_MAX)
        return w->real->pMethods->xWrite(w->real, data, n, off);
    if (w->buf_len + (size_t)n > w->buf_cap) {
        size_t cap = w->buf_cap ? w->buf_cap : 16384;
        while (cap < w->buf_len + (size_t)n)
            cap *= 2;
        unsigned char *nb = realloc(w->buf, cap);
        if (!nb) {
            int rc = flush(w);
            return rc != SQLITE_OK ? rc : w->real->pMethods->xWrite(w->real, data, n, off);
        }
        w->buf = nb;
        w->buf_cap = cap;
    }
    if (!w->buf_len)
        w->buf_off = off;
    memcpy(w->buf + w->buf_len, data, (size_t)n);
    w->buf_len += (size_t)n;
    return commit_page ? flush(w) : SQLITE_OK;
}

static int x_close(sqlite3_file *f)
{
    struct wal_file *w = wf(f);
    int rc = flush(w);
    int crc = w->real->pMethods ? w->real->pMethods->xClose(w->real) : SQLITE_OK;
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : crc;
}

/* Every other method: the pending bytes first, then the real file's method. */
#define FLUSH_OR_RETURN(w)                                                                     \
    do {                                                                                       \
        int frc_ = flush(w);                                                                   \
        if (frc_ != SQLITE_OK)                                                                 \
            return frc_;                                                                       \
    } while (0)

static int x_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xRead(wf(f)->real, out, n, off);
}

static int x_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xTruncate(wf(f)->real, size);
}

static int x_sync(sqlite3_file *f, int flags)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xSync(wf(f)->real, flags);
}

static int x_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xFileSize(wf(f)->real, size);
}

static int x_lock(sqlite3_file *f, int lock)
{
    return wf(f)->real->pMethods->xLock(wf(f)->real, lock);
}

static int x_unlock(sqlite3_file *f, int lock)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xUnlock(wf(f)->real, lock);
}

static int x_check_reserved(sqlite3_file *f, int *out)
{
    return wf(f)->real->pMethods->xCheckReservedLock(wf(f)->real, out);
}

static int x_file_control(sqlite3_file *f, int op, void *arg)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xFileControl(wf(f)->real, op, arg);
}

static int x_sector_size(sqlite3_file *f)
{
    return wf(f)->real->pMethods->xSectorSize(wf(f)->real);
}

static int x_device_chars(sqlite3_file *f)
{
    return wf(f)->real->pMethods->xDeviceCharacteristics(wf(f)->real);
}

static int x_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    return wf(f)->real->pMethods->xShmMap(wf(f)->real, page, size, extend, out);
}

static int x_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return wf(f)->real->pMethods->xShmLock(wf(f)->real, offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *f)
{
    wf(f)->real->pMethods->xShmBarrier(wf(f)->real);
}

static int x_shm_unmap(sqlite3_file *f, int del)
{
    return wf(f)->real->pMethods->xShmUnmap(wf(f)->real, del);
}

static int x_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    FLUSH_OR_RETURN(wf(f));
    return wf(f)->real->pMethods->xFetch(wf(f)->real, off, n, out);
}

static int x_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return wf(f)->real->pMethods->xUnfetch(wf(f)->real, off, p);
}

static const sqlite3_io_methods wal_methods = {
    .iVersion = 3,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device_chars,
    .xShmMap = x_shm_map,
    .xShmLock = x_shm_lock,
    .xShmBarrier = x_shm_barrier,
    .xShmUnmap = x_shm_unmap,
    .xFetch = x_fetch,
    .xUnfetch = x_unfetch,
};

static int x_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                  int *out_flags)
{
    (void)vfs;
    struct wal_file *w = wf(f);
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    int rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
    /* SQLite calls xClose only when pMethods is set; the real file's methods must all exist
     * for ours to forward to (unix-excl's are version 3). */
    if (rc != SQLITE_OK || !w->real->pMethods)
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    if (w->real->pMethods->iVersion < 3) {
        w->real->pMethods->xClose(w->real);
        return SQLITE_CANTOPEN;
    }
    w->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    w->base.pMethods = &wal_methods;
    return SQLITE_OK;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

static void register_vfs(void)
{
    real_vfs = sqlite3_vfs_find("unix-excl");
    if (!real_vfs)
        return;
    wal_vfs = *real_vfs; /* names, time, randomness, dlopen: the real VFS's */
    wal_vfs.iVersion = real_vfs->iVersion < 3 ? real_vfs->iVersion : 3;
    wal_vfs.szOsFile = (int)sizeof(struct wal_file) + real_vfs->szOsFile;
    wal_vfs.zName = STORE_SQLITE_VFS;
    wal_vfs.pNext = NULL;
    wal_vfs.xOpen = x_open;
    register_rc = sqlite3_vfs_register(&wal_vfs, 0);
}

int store_wal_vfs_register(void)
{
    pthread_once(&once, register_vfs);
    return register_rc == SQLITE_OK ? 0 : -EIO;
}

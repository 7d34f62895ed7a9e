/* Internal file helpers: bounded whole-file reads and crash-safe writes. */
#ifndef AZK_COMMON_FILEIO_H
#define AZK_COMMON_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Largest input file azkit reads (PEM files are a few KB; this stops accidents). */
#define AZK_FILE_MAX (1024 * 1024)

/* Steps of azk_atomic_write(), in order. A fault hook sees each one and may stop the write
 * there as if the process had died (tests use this to prove crash safety). */
enum azk_write_step {
    AZK_WSTEP_TMP_WRITTEN = 1, /* temporary file written, not yet fsynced */
    AZK_WSTEP_TMP_SYNCED = 2,  /* temporary file fsynced */
    AZK_WSTEP_RENAMED = 3,     /* renamed over the destination */
    AZK_WSTEP_DIR_SYNC = 4,    /* about to fsync the directory */
};
#define AZK_WSTEP_COUNT 4

/* Returns non-zero to stop the write at this step; the write then returns -EINTR and leaves
 * everything exactly as a crash would (temporary file included). */
typedef int (*azk_fault_hook)(enum azk_write_step step, void *user);

/* Reads a whole file (or stdin for "-") into a NUL-terminated heap buffer.
 * Returns 0, -ENOENT, -EACCES, -EFBIG (over AZK_FILE_MAX), -ENOMEM or -EIO. */
int azk_file_read_all(const char *path, char **out, size_t *len);

/* Writes `data` to dir/name through a temporary file in the same directory: write, fsync,
 * rename (or link when `exclusive`, failing with -EEXIST if the name exists), fsync of the
 * directory. The file gets `mode` regardless of umask. */
int azk_atomic_write(const char *dir, const char *name, const void *data, size_t len,
                     mode_t mode, bool exclusive, azk_fault_hook hook, void *hook_user);

/* Same, for a full path. */
int azk_atomic_write_path(const char *path, const void *data, size_t len, mode_t mode,
                          bool exclusive);

/* fsync a directory by path. */
int azk_fsync_dir(const char *dir);

/* mkdir -p with `mode` for the directories it creates. */
int azk_mkdir_p(const char *path, mode_t mode);

#endif

/* Internal file helpers: bounded whole-file reads and crash-safe writes. */
#ifndef AZK_COMMON_FILEIO_H
#define AZK_COMMON_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Largest input file azkit reads (PEM files are a few KB; this stops accidents). */
#define AZKI_FILE_MAX (1024 * 1024)

/* Steps of azki_atomic_write(), in order. A fault hook sees each one and may stop the write
 * there as if the process had died (tests use this to prove crash safety). */
enum azki_write_step {
    AZKI_WSTEP_TMP_WRITTEN = 1, /* temporary file written, not yet fsynced */
    AZKI_WSTEP_TMP_SYNCED = 2,  /* temporary file fsynced */
    AZKI_WSTEP_RENAMED = 3,     /* renamed over the destination */
    AZKI_WSTEP_DIR_SYNC = 4,    /* about to fsync the directory */
};
#define AZKI_WSTEP_COUNT 4

/* Returns non-zero to stop the write at this step; the write then returns -EINTR and leaves
 * everything exactly as a crash would (temporary file included). */
typedef int (*azki_fault_hook)(enum azki_write_step step, void *user);

/* Reads a whole file (or stdin for "-") into a NUL-terminated heap buffer.
 * Returns 0, -ENOENT, -EACCES, -EFBIG (over AZKI_FILE_MAX), -ENOMEM or -EIO. */
int azki_file_read_all(const char *path, char **out, size_t *len);

/* Writes `data` to dir/name through a temporary file in the same directory: write, fsync,
 * rename (or link when `exclusive`, failing with -EEXIST if the name exists), fsync of the
 * directory. The file gets `mode` regardless of umask. */
int azki_atomic_write(const char *dir, const char *name, const void *data, size_t len,
                     mode_t mode, bool exclusive, azki_fault_hook hook, void *hook_user);

/* Same, for a full path. */
int azki_atomic_write_path(const char *path, const void *data, size_t len, mode_t mode,
                          bool exclusive);

/* fsync a directory by path. */
int azki_fsync_dir(const char *dir);

/* mkdir -p with `mode` for the directories it creates. */
int azki_mkdir_p(const char *path, mode_t mode);

#endif

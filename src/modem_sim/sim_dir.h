/* The simulator's credentials on disk (azkit-modem-sim --dir DIR): one file per item, named
 * "<sec_tag>-<type>", holding the exact bytes written, mode 0600 in a 0700 directory, so they
 * persist across restarts of the simulator as a modem's NVM does. */
#ifndef AZK_SIM_DIR_H
#define AZK_SIM_DIR_H

#include <stddef.h>
#include <stdint.h>

/* Creates `dir` (0700) if it does not exist. Returns 0 or -errno. */
int sim_dir_open(const char *dir);

/* Calls `each` for every item in `dir` (in no particular order); stops at the first non-zero
 * return and returns it. Files whose names are not "<tag>-<type>" are ignored. Returns 0,
 * -errno (unreadable directory or file), or what `each` returned. */
int sim_dir_load(const char *dir,
                 int (*each)(uint32_t tag, uint32_t type, const char *data, size_t len));

/* Replaces the item's file atomically (a temporary file, then rename). Returns 0 or -errno. */
int sim_dir_save(const char *dir, uint32_t tag, uint32_t type, const char *data, size_t len);

/* Removes the item's file (absent is fine). Returns 0 or -errno. */
int sim_dir_remove(const char *dir, uint32_t tag, uint32_t type);

#endif

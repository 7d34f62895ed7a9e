/* Helpers shared by azkit's tests: scratch directories, running the real azkit binary, files. */
#ifndef AZK_TEST_UTIL_H
#define AZK_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

/* A fresh private directory under $TMPDIR (or /tmp); removed by azk_test_rmrf(). */
void azk_test_mkdtemp(char out[512]);
void azk_test_rmrf(const char *path);

/* Result of running the azkit binary. */
struct azk_run {
    int status;   /* exit status, or 128+signal */
    char *out;    /* stdout, NUL-terminated */
    char *err;    /* stderr, NUL-terminated */
};

/* Runs AZKIT_BIN with argv (NULL-terminated, without the program name); `input` (or NULL) is
 * fed to stdin. Environment: AZKIT_STORE is unset unless `store` is non-NULL. */
void azk_run(struct azk_run *r, const char *input, const char *const *argv);
/* The same for another program (argv without the program name). */
void azk_run_bin(struct azk_run *r, const char *bin, const char *input, const char *const *argv);
/* printf-free convenience: azk_runv(&r, NULL, "cred", "list", NULL) */
void azk_runv(struct azk_run *r, const char *input, ...);
/* azk_run() of the NULL-terminated `prefix` followed by the NULL-terminated `ap` arguments. */
void azk_run_vlist(struct azk_run *r, const char *input, const char *const *prefix,
                   va_list ap);
void azk_run_free(struct azk_run *r);
/* Parses stdout as JSON; fails the test when it is not. */
cJSON *azk_run_json(const struct azk_run *r);
/* stdout as a JSON array of its lines (one JSON value each; fails the test otherwise). The
 * lines are cut in r->out. */
cJSON *azk_run_json_lines(struct azk_run *r);

/* File helpers (fail the test on error). */
char *azk_test_read(const char *path, size_t *len);   /* malloc'd, NUL-terminated */
void azk_test_write(const char *path, const char *data, size_t len);
bool azk_test_exists(const char *path);
unsigned azk_test_mode(const char *path);              /* st_mode & 07777 */

/* Path join into a static rotating buffer (8 slots). */
const char *azk_path(const char *dir, const char *name);

/* Creates a test PKI in `dir` with the real CLI: root, intermediate, device "dev-1" signed by
 * the intermediate (dev-1.chain.pem = leaf + intermediate), self-signed "ss-1". */
void azk_test_make_pki(const char *dir);



/* Runs azkit and fails the test unless it exits 0. */
void azk_must(const char *const *argv);
#define AZK_MUST(...)                                                                          \
    do {                                                                                       \
        const char *azk_argv_[] = {__VA_ARGS__, NULL};                                         \
        azk_must(azk_argv_);                                                                   \
    } while (0)

/* SHA-256 of a buffer as uppercase hex. */
void azk_test_sha256_hex(const void *data, size_t len, char out[65]);

/* Runs a shell command, returns its stdout (malloc'd) and exit status. */
char *azk_test_shell(const char *cmd, int *status);

/* A child process that reports 64-bit values to the parent (the kill -9 and disk-full tests
 * of the store: the child says what completed, the parent checks it after the child ended).
 * azk_test_fork_reporter forks; in the child it runs child(arg) and _exit(0)s after it; in
 * the parent it returns the child's pid and sets *read_fd to the pipe's read end (the
 * parent closes it). azk_test_report, in the child, sends one value (one atomic write;
 * _exit(3) when the pipe is gone). */
pid_t azk_test_fork_reporter(void (*child)(void *arg), void *arg, int *read_fd);
void azk_test_report(uint64_t v);
#endif

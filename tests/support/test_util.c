#include "support/test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void azk_test_mkdtemp(char out[512])
{
    const char *base = getenv("TMPDIR");
    snprintf(out, 512, "%s/azkit-test-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(out));
}

void azk_test_rmrf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[1024];
                snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
                azk_test_rmrf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 4096;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

void azk_run(struct azk_run *r, const char *input, const char *const *argv)
{
    azk_run_bin(r, AZKIT_BIN, input, argv);
}

void azk_run_bin(struct azk_run *r, const char *bin, const char *input, const char *const *argv)
{
    int pin[2], pout[2], perr[2];
    assert_int_equal(pipe(pin), 0);
    assert_int_equal(pipe(pout), 0);
    assert_int_equal(pipe(perr), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]);
        close(perr[0]); close(perr[1]);
        size_t n = 0;
        while (argv[n])
            n++;
        const char **full = calloc(n + 2, sizeof(*full));
        full[0] = bin;
        for (size_t i = 0; i < n; i++)
            full[i + 1] = argv[i];
        execv(bin, (char *const *)full);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    if (input != NULL) {
        size_t left = strlen(input);
        const char *p = input;
        while (left > 0) {
            ssize_t w = write(pin[1], p, left);
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
    }
    close(pin[1]);
    char *out = NULL, *err = NULL;
    size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
    append(&out, &olen, &ocap, "", 0);
    append(&err, &elen, &ecap, "", 0);
    struct pollfd fds[2] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail_msg("poll failed");
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof(buf));
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 0)
                append(&out, &olen, &ocap, buf, (size_t)n);
            else
                append(&err, &elen, &ecap, buf, (size_t)n);
        }
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = out;
    r->err = err;
}

void azk_run_vlist(struct azk_run *r, const char *input, const char *const *prefix,
                   va_list ap)
{
    const char *argv[64];
    size_t n = 0;
    for (; prefix != NULL && prefix[n] != NULL && n < 63; n++)
        argv[n] = prefix[n];
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63)
        argv[n++] = a;
    argv[n] = NULL;
    azk_run(r, input, argv);
}

void azk_runv(struct azk_run *r, const char *input, ...)
{
    va_list ap;
    va_start(ap, input);
    azk_run_vlist(r, input, NULL, ap);
    va_end(ap);
}

void azk_run_free(struct azk_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

cJSON *azk_run_json(const struct azk_run *r)
{
    cJSON *j = cJSON_Parse(r->out);
    if (j == NULL)
        fail_msg("stdout is not JSON (exit %d):\n%s\nstderr:\n%s", r->status, r->out, r->err);
    return j;
}

cJSON *azk_run_json_lines(struct azk_run *r)
{
    cJSON *events = cJSON_CreateArray();
    char *save = NULL;
    for (char *line = strtok_r(r->out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *e = cJSON_Parse(line);
        if (e == NULL)
            fail_msg("not a JSON line: %s\n(stderr: %s)", line, r->err);
        cJSON_AddItemToArray(events, e);
    }
    return events;
}

char *azk_test_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char tmp[4096];
    size_t got;
    append(&buf, &n, &cap, "", 0);
    while ((got = fread(tmp, 1, sizeof(tmp), f)) > 0)
        append(&buf, &n, &cap, tmp, got);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

void azk_test_write(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

bool azk_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

unsigned azk_test_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("cannot stat %s: %s", path, strerror(errno));
    return (unsigned)(st.st_mode & 07777);
}

const char *azk_path(const char *dir, const char *name)
{
    static char slots[8][1024];
    static int next;
    char *s = slots[next++ % 8];
    snprintf(s, 1024, "%s/%s", dir, name);
    return s;
}

static void must_run(const char *const *argv)
{
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("azkit %s %s failed (%d): %s", argv[0], argv[1], r.status, r.err);
    azk_run_free(&r);
}

void azk_test_make_pki(const char *dir)
{
    char root[600], inter[600], dev[600], ss[600];
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(inter, sizeof(inter), "%s/inter", dir);
    snprintf(dev, sizeof(dev), "%s/dev-1", dir);
    snprintf(ss, sizeof(ss), "%s/ss-1", dir);
    const char *a1[] = {"pki", "root", "--cn", "Azkit Test Root", "--out", root, NULL};
    must_run(a1);
    const char *a2[] = {"pki", "intermediate", "--ca", root, "--cn", "Azkit Test Intermediate",
                        "--out", inter, NULL};
    must_run(a2);
    const char *a3[] = {"pki", "device", "dev-1", "--ca", inter, "--out", dev, NULL};
    must_run(a3);
    const char *a4[] = {"pki", "self-signed", "ss-1", "--out", ss, NULL};
    must_run(a4);
}

void azk_must(const char *const *argv)
{
    must_run(argv);
}

#include <openssl/evp.h>
void azk_test_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

char *azk_test_shell(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char tmp[4096];
    size_t got;
    append(&buf, &n, &cap, "", 0);
    while ((got = fread(tmp, 1, sizeof(tmp), p)) > 0)
        append(&buf, &n, &cap, tmp, got);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return buf;
}

static int report_fd = -1;

pid_t azk_test_fork_reporter(void (*child)(void *arg), void *arg, int *read_fd)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(fds[0]);
        report_fd = fds[1];
        child(arg);
        _exit(0);
    }
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

void azk_test_report(uint64_t v)
{
    ssize_t w = write(report_fd, &v, sizeof v); /* <= PIPE_BUF: atomic */
    if (w != (ssize_t)sizeof v)
        _exit(3);
}

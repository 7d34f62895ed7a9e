/* The nRF91 modem backend: AT%CMNG over a serial line (azkit/cred_nrf91.h). Follows what
 * nrfcredstore and NCS modem_key_mgmt send (Nordic's nRF91 AT Commands reference for %CMNG, NCS lib/modem_key_mgmt):
 * one command per credential with the PEM inside double quotes, CR LF after it, replies read
 * until OK / ERROR / +CME ERROR: n. */
#include "azkit/cred_nrf91.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "azkit/cred_backend.h"

#define DEFAULT_BAUD 115200u
#define DEFAULT_TIMEOUT_MS 15000u
#define DEFAULT_AT_BUFFER 4096u
#define FIRST_RESERVED_TAG 2147483648u /* modem_key_mgmt_list() skips these */

struct nrf91 {
    int fd;
    struct azk_nrf91_opts o;
    bool offline; /* AT+CFUN=4 was accepted on this line */
};

/* A reply: the information lines (logical lines: a CR/LF inside quotes does not end one) and
 * the final result. */
struct reply {
    char *buf;
    size_t len, cap;
    int result; /* 0 OK, -EIO ERROR, else the CME errno */
    int cme;    /* the +CME ERROR code, or -1 */
};

int azk_nrf91_cme_errno(int cme)
{
    switch (cme) {
    case 0: return -EIO;
    case 23: return -E2BIG;
    case 50: return -EINVAL;
    case 60: return -ENOEXEC;
    case 513: return -ENOENT;
    case 514: return -EACCES;
    case 515: return -ENOMEM;
    case 518: return -EPERM;
    case 519: return -EALREADY;
    case 527: return -EINVAL;
    case 528: return -ECANCELED;
    default: return -EIO;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int write_all(int fd, const char *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        uint64_t t = now_ms();
        if (t >= deadline)
            return -ETIMEDOUT;
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, (int)(deadline - t));
    }
    return 0;
}

static int append(struct reply *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (b == NULL)
            return -ENOMEM;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return 0;
}

/* Sends `cmd` (not terminated) and reads until the final result. Information lines go to
 * r->buf, each ending with '\n'. Returns 0 (look at r->result) or -ETIMEDOUT / -EIO. */
static int at(struct nrf91 *m, const char *cmd, size_t cmd_len, struct reply *r)
{
    memset(r, 0, sizeof(*r));
    r->cme = -1;
    tcflush(m->fd, TCIFLUSH);
    uint64_t deadline = now_ms() + m->o.timeout_ms;
    int rc = write_all(m->fd, cmd, cmd_len, deadline);
    if (rc == 0)
        rc = write_all(m->fd, "\r\n", 2, deadline);
    if (rc != 0)
        return rc;
    char line[8192];
    size_t ll = 0;
    bool quoted = false, partial = false; /* partial: part of this line is in r->buf already */
    for (;;) {
        uint64_t t = now_ms();
        if (t >= deadline)
            return -ETIMEDOUT;
        struct pollfd pf = {m->fd, POLLIN, 0};
        int pr = poll(&pf, 1, (int)(deadline - t));
        if (pr < 0 && errno != EINTR)
            return -errno;
        if (pr <= 0)
            continue;
        char in[512];
        ssize_t n = read(m->fd, in, sizeof(in));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return -EIO;
        for (ssize_t i = 0; i < n; i++) {
            char ch = in[i];
            if (ch == '"')
                quoted = !quoted;
            if (!quoted && (ch == '\n' || ch == '\r')) {
                line[ll] = '\0';
                if (ll == 0 && !partial)
                    continue;
                ll = 0;
                if (partial) {
                    /* The rest of a long information line. */
                    partial = false;
                    if (append(r, line, strlen(line)) != 0 || append(r, "\n", 1) != 0)
                        return -ENOMEM;
                    continue;
                }
                if (strcmp(line, "OK") == 0) {
                    r->result = 0;
                    return 0;
                }
                if (strcmp(line, "ERROR") == 0) {
                    r->result = -EIO;
                    return 0;
                }
                if (strncmp(line, "+CME ERROR:", 11) == 0) {
                    r->cme = atoi(line + 11);
                    r->result = azk_nrf91_cme_errno(r->cme);
                    return 0;
                }
                if (append(r, line, strlen(line)) != 0 || append(r, "\n", 1) != 0)
                    return -ENOMEM;
                continue;
            }
            if (ll + 1 >= sizeof(line)) {
                /* An information line longer than any credential: keep it in pieces. */
                if (append(r, line, ll) != 0)
                    return -ENOMEM;
                ll = 0;
                partial = true;
            }
            line[ll++] = ch;
        }
    }
}

static int at_simple(struct nrf91 *m, const char *cmd)
{
    struct reply r;
    int rc = at(m, cmd, strlen(cmd), &r);
    free(r.buf);
    return rc != 0 ? rc : r.result;
}

/* Writes and deletes need the modem offline (not CFUN 1, 2 or 21): switched once per open
 * store (a provision writes three credentials). */
static void offline(struct nrf91 *m)
{
    if (!m->o.keep_online && !m->offline)
        m->offline = at_simple(m, "AT+CFUN=4") == 0;
}

static int nrf_write(void *ctx, azk_sec_tag_t tag, int type, const char *content, size_t len)
{
    struct nrf91 *m = ctx;
    if (memchr(content, '"', len) != NULL)
        return -EINVAL; /* the modem has no escape for a quote inside the content */
    /* AT Host keeps at most sizeof(at_buf) - 1 characters of a command (then the NUL): a
     * longer one loses its closing quote and leaves the AT interface "inside quotes". */
    size_t need = azk_cmng_command_length(tag, type, len);
    if (need >= m->o.at_buffer)
        return -EMSGSIZE;
    char *cmd = malloc(need + 1);
    if (cmd == NULL)
        return -ENOMEM;
    int n = snprintf(cmd, need + 1, "AT%%CMNG=0,%u,%d,\"%.*s\"", (unsigned)tag, type, (int)len,
                     content);
    offline(m);
    struct reply r;
    int rc = n > 0 ? at(m, cmd, (size_t)n, &r) : -EINVAL;
    free(cmd);
    if (rc != 0)
        return rc;
    free(r.buf);
    return r.result;
}

/* The text between the 3rd and 4th '"' of a read reply: `%CMNG: t,y,"sha","content"`. */
static int nrf_read(void *ctx, azk_sec_tag_t tag, int type, void *buf, size_t *len)
{
    struct nrf91 *m = ctx;
    char cmd[64];
    int n = snprintf(cmd, sizeof(cmd), "AT%%CMNG=2,%u,%d", (unsigned)tag, type);
    struct reply r;
    int rc = at(m, cmd, (size_t)n, &r);
    if (rc != 0)
        return rc;
    if (r.result != 0) {
        free(r.buf);
        return r.result;
    }
    const char *q[4] = {NULL};
    const char *p = r.buf ? strstr(r.buf, "%CMNG:") : NULL;
    for (int i = 0; p != NULL && i < 4; i++) {
        p = strchr(p, '"');
        q[i] = p;
        if (p)
            p++;
    }
    if (q[3] == NULL) {
        free(r.buf);
        return -ENOENT; /* modem_key_mgmt_read: no quoted content */
    }
    size_t clen = (size_t)(q[3] - q[2] - 1);
    if (clen > *len) {
        *len = clen;
        free(r.buf);
        return -ENOMEM;
    }
    memcpy(buf, q[2] + 1, clen);
    *len = clen;
    free(r.buf);
    return 0;
}

static int nrf_remove(void *ctx, azk_sec_tag_t tag, int type)
{
    struct nrf91 *m = ctx;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "AT%%CMNG=3,%u,%d", (unsigned)tag, type);
    offline(m);
    return at_simple(m, cmd);
}

struct item {
    unsigned long tag;
    int type;
    char sha[65];
};

/* Parses the `%CMNG: tag,type,"sha"` lines of a list reply. */
static size_t parse_list(const char *text, struct item *items, size_t max)
{
    size_t n = 0;
    for (const char *p = text; p && *p && n < max;) {
        const char *eol = strchr(p, '\n');
        struct item it = {0};
        char sha[80] = "";
        if (sscanf(p, "%%CMNG: %lu,%d,\"%79[0-9A-Fa-f]\"", &it.tag, &it.type, sha) >= 2) {
            snprintf(it.sha, sizeof(it.sha), "%s", sha);
            items[n++] = it;
        }
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->type - y->type;
}

static int nrf_list(void *ctx, azk_cred_list_cb cb, void *user)
{
    struct nrf91 *m = ctx;
    struct reply r;
    int rc = at(m, "AT%CMNG=1", 9, &r);
    if (rc == 0)
        rc = r.result;
    enum { MAX_ITEMS = 1024 };
    struct item *items = rc == 0 ? calloc(MAX_ITEMS, sizeof(*items)) : NULL;
    if (rc == 0 && items == NULL)
        rc = -ENOMEM;
    size_t n = rc == 0 ? parse_list(r.buf, items, MAX_ITEMS) : 0;
    free(r.buf);
    if (rc != 0)
        return rc;
    qsort(items, n, sizeof(items[0]), cmp_item);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (items[i].tag < FIRST_RESERVED_TAG)
            rc = cb((azk_sec_tag_t)items[i].tag, items[i].type, user);
    free(items);
    return rc;
}

static int nrf_digest(void *ctx, azk_sec_tag_t tag, int type, uint8_t out[AZK_CRED_DIGEST_SIZE])
{
    struct nrf91 *m = ctx;
    char cmd[64];
    int n = snprintf(cmd, sizeof(cmd), "AT%%CMNG=1,%u,%d", (unsigned)tag, type);
    struct reply r;
    int rc = at(m, cmd, (size_t)n, &r);
    if (rc == 0)
        rc = r.result;
    struct item it;
    size_t found = rc == 0 ? parse_list(r.buf, &it, 1) : 0;
    free(r.buf);
    if (rc != 0)
        return rc;
    if (found == 0)
        return -ENOENT;
    if (strlen(it.sha) != 2 * AZK_CRED_DIGEST_SIZE)
        return -EPROTO;
    for (size_t i = 0; i < AZK_CRED_DIGEST_SIZE; i++) {
        unsigned v;
        if (sscanf(it.sha + 2 * i, "%2x", &v) != 1)
            return -EPROTO;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void nrf_close(void *ctx)
{
    struct nrf91 *m = ctx;
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

static const struct azk_cred_backend_ops nrf91_ops = {
    .name = "nrf91",
    .write = nrf_write,
    .read = nrf_read,
    .remove = nrf_remove,
    .clear = NULL,
    .list = nrf_list,
    .digest = nrf_digest,
    .close = nrf_close,
};

static speed_t baud_const(uint32_t b)
{
    switch (b) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    case 1000000: return B1000000;
    default: return B115200;
    }
}

int azk_credstore_open_nrf91(const char *device, const struct azk_nrf91_opts *opts,
                             struct azk_credstore **out, struct azk_diag *diag)
{
    if (device == NULL || out == NULL)
        return -EINVAL;
    struct nrf91 *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    if (opts)
        m->o = *opts;
    if (m->o.baud == 0)
        m->o.baud = DEFAULT_BAUD;
    if (m->o.timeout_ms == 0)
        m->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (m->o.at_buffer == 0)
        m->o.at_buffer = DEFAULT_AT_BUFFER;
    m->fd = open(device, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (m->fd < 0) {
        int e = -errno;
        azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.open",
                     "Check the device path (ls /dev/ttyACM*), that nothing else holds it (a "
                     "terminal program), and that you may use it (group dialout).",
                     "cannot open %s: %s", device, strerror(-e));
        free(m);
        return e;
    }
    struct termios t;
    if (tcgetattr(m->fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cflag |= CLOCAL | CREAD;
        cfsetispeed(&t, baud_const(m->o.baud));
        cfsetospeed(&t, baud_const(m->o.baud));
        tcsetattr(m->fd, TCSANOW, &t);
    }
    /* Wake the line (as nrfcredstore does), then check that AT answers. */
    write_all(m->fd, "\r\n", 2, now_ms() + 1000);
    struct nrf91 probe = *m;
    probe.o.timeout_ms = m->o.timeout_ms < 2000 ? m->o.timeout_ms : 2000;
    int rc = -ETIMEDOUT;
    for (int i = 0; i < 3 && rc == -ETIMEDOUT; i++)
        rc = at_simple(&probe, "AT");
    if (rc == 0)
        rc = at_simple(m, "AT+CMEE=1");
    if (rc != 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.no-answer",
                     "Flash the at_client sample (or firmware with AT Host / Serial Modem), "
                     "check the baud rate, and that it is the modem's AT port.",
                     "%s does not answer AT commands (%s)", device,
                     rc == -ETIMEDOUT ? "no answer" : strerror(-rc));
        close(m->fd);
        free(m);
        return rc == -ETIMEDOUT ? rc : -EPROTO;
    }
    char desc[300];
    snprintf(desc, sizeof(desc), "nrf91 modem on %s", device);
    rc = azk_credstore_open_backend(&nrf91_ops, m, desc, out);
    if (rc != 0)
        nrf_close(m);
    return rc;
}

int azk_credstore_open(const char *spec, struct azk_credstore **out, struct azk_diag *diag)
{
    if (spec == NULL) {
        const char *env = getenv("AZKIT_STORE");
        if (env != NULL && strncmp(env, "nrf91:", 6) == 0)
            spec = env;
    }
    if (spec == NULL || strncmp(spec, "nrf91:", 6) != 0)
        return azk_credstore_open_dir(spec, out, diag);
    char dev[512];
    struct azk_nrf91_opts o = {0};
    snprintf(dev, sizeof(dev), "%s", spec + 6);
    char *opt = strchr(dev, ',');
    if (opt != NULL)
        *opt++ = '\0';
    while (opt != NULL && *opt) {
        char *next = strchr(opt, ',');
        if (next)
            *next++ = '\0';
        if (strncmp(opt, "baud=", 5) == 0)
            o.baud = (uint32_t)strtoul(opt + 5, NULL, 10);
        else if (strcmp(opt, "online") == 0)
            o.keep_online = true;
        else {
            azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.spec",
                         "Use nrf91:DEVICE[,baud=N][,online].", "unknown store option '%s'",
                         opt);
            return -EINVAL;
        }
        opt = next;
    }
    if (dev[0] == '\0') {
        azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.spec", "Use nrf91:/dev/ttyACM0.",
                     "the nrf91 store needs a serial device");
        return -EINVAL;
    }
    return azk_credstore_open_nrf91(dev, &o, out, diag);
}

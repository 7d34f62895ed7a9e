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
#include "cred/at_reply.h"

#define DEFAULT_BAUD 115200u
#define DEFAULT_TIMEOUT_MS 15000u
#define DEFAULT_AT_BUFFER 4096u
#define FIRST_RESERVED_TAG 2147483648u /* modem_key_mgmt_list() skips these */

struct nrf91 {
    int fd;
    struct azk_nrf91_opts o;
    const char *eol;      /* what ends a command on the line */
    int restore_cfun;     /* the functional mode to restore on close, or -1 */
    bool mode_checked;    /* AT+CFUN? was asked (and the modem is offline now) */
    char firmware[64];    /* AT+CGMR, or "" */
    char why[400];        /* the last failure in words, or "" */
    char last_cmd[48];    /* the start of the last command sent, for a timeout's message */
    char words[160];      /* failure_words()'s text */
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

/* Sends `cmd` (not terminated) and reads until the final result (at_reply.h). Returns 0 (look
 * at r->result) or -ETIMEDOUT / -EIO / -ENOMEM; r is to be freed either way. */
static int at(struct nrf91 *m, const char *cmd, size_t cmd_len, struct azki_at_reply *r)
{
    azki_at_reply_init(r);
    /* Up to the content of a write: "AT%CMNG=0,10,1,". */
    size_t shown = strcspn(cmd, "\"\r\n");
    snprintf(m->last_cmd, sizeof(m->last_cmd), "%.*s%s",
             (int)(shown < cmd_len ? shown : cmd_len), cmd, shown < cmd_len ? "..." : "");
    tcflush(m->fd, TCIFLUSH);
    uint64_t deadline = now_ms() + m->o.timeout_ms;
    int rc = write_all(m->fd, cmd, cmd_len, deadline);
    if (rc == 0)
        rc = write_all(m->fd, m->eol, strlen(m->eol), deadline);
    if (rc != 0)
        return rc;
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
        rc = azki_at_reply_feed(r, in, (size_t)n, NULL);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
}

/* rc in words; a timeout names the command that got no answer. */
static const char *failure_words(struct nrf91 *m, int rc)
{
    if (rc != -ETIMEDOUT)
        return azk_strerror(rc);
    unsigned s = m->o.timeout_ms / 1000u;
    snprintf(m->words, sizeof(m->words),
             "no answer to %s within %u s: the modem stopped answering (timeout=SECONDS in "
             "the store spec waits longer)", m->last_cmd, s ? s : 1);
    return m->words;
}

static int at_simple(struct nrf91 *m, const char *cmd)
{
    struct azki_at_reply r;
    int rc = at(m, cmd, strlen(cmd), &r);
    azki_at_reply_free(&r);
    return rc != 0 ? rc : r.result;
}

/* Writes and deletes need the modem out of normal operation (+CFUN 1, 2 or 21; Nordic's
 * %CMNG set command). Asked once per open store (a provision writes three credentials): an
 * active modem is refused unless the spec says offline=ok, and then switched to 4 (offline,
 * as nrfcredstore does) and switched back by nrf_close(). */
static int need_offline(struct nrf91 *m)
{
    if (m->mode_checked)
        return 0;
    struct azki_at_reply r;
    int rc = at(m, "AT+CFUN?", 8, &r);
    int fun = rc == 0 && r.result == 0 ? azki_at_cfun(r.buf) : -1;
    azki_at_reply_free(&r);
    if (rc == 0)
        rc = r.result;
    if (rc == 0 && fun < 0)
        rc = -EPROTO;
    if (rc != 0) {
        snprintf(m->why, sizeof(m->why),
                 "the modem did not tell its functional mode (AT+CFUN?: %s)",
                 failure_words(m, rc));
        return rc;
    }
    if (fun != 1 && fun != 2 && fun != 21) {
        m->mode_checked = true;
        return 0;
    }
    if (!m->o.allow_offline) {
        snprintf(m->why, sizeof(m->why),
                 "the modem is online (+CFUN: %d) and stores credentials only offline; taking "
                 "it offline drops its network connection. Add ',offline=ok' to the store spec "
                 "(nrf91:DEVICE,offline=ok) to let azkit switch it to AT+CFUN=4 and back to %d "
                 "when done, or stop the application that keeps it online.",
                 fun, fun);
        return -EPERM;
    }
    rc = at_simple(m, "AT+CFUN=4");
    if (rc != 0) {
        snprintf(m->why, sizeof(m->why), "the modem refused to go offline (AT+CFUN=4: %s)",
                 failure_words(m, rc));
        return rc;
    }
    m->restore_cfun = fun;
    m->mode_checked = true;
    return 0;
}

/* The reason for a %CMNG refusal, in words. */
static int cmng_failed(struct nrf91 *m, const char *what, int rc, int cme)
{
    const char *fix = "";
    switch (cme) {
    case 513: fix = "not found"; break;
    case 514: fix = "no access: the modem does not allow this on that tag or type"; break;
    case 515: fix = "memory full: delete credentials no longer used (azkit cred list)"; break;
    case 518: fix = "not allowed while the modem is online (+CFUN 1, 2 or 21)"; break;
    case 519: fix = "already exists"; break;
    case 527: fix = "invalid content: the modem does not accept this PEM"; break;
    case 528: fix = "not allowed while the modem's power-off warning is active"; break;
    default: break;
    }
    if (cme >= 0)
        snprintf(m->why, sizeof(m->why), "%s: +CME ERROR: %d%s%s", what, cme, *fix ? ", " : "",
                 fix);
    else
        snprintf(m->why, sizeof(m->why), "%s: %s", what,
                 rc == -EIO ? "the modem answered ERROR" : failure_words(m, rc));
    return rc;
}

static int nrf_write(void *ctx, azk_sec_tag_t tag, int type, const char *content, size_t len)
{
    struct nrf91 *m = ctx;
    m->why[0] = '\0';
    if (memchr(content, '"', len) != NULL) {
        snprintf(m->why, sizeof(m->why), "the content holds a '\"', which AT%%CMNG cannot carry "
                 "(a quote ends the content; there is no escape)");
        return -EINVAL;
    }
    /* AT Host keeps at most sizeof(at_buf) - 1 characters of a command (then the NUL): a
     * longer one loses its closing quote and leaves the AT interface "inside quotes". */
    size_t need = azk_cmng_command_length(tag, type, len);
    if (need >= m->o.at_buffer) {
        snprintf(m->why, sizeof(m->why), "its AT%%CMNG command would be %zu bytes; the modem's AT "
                 "buffer (%u bytes) holds %u. Nothing was sent. Use an ECDSA P-256 certificate, "
                 "or fewer certificates in one tag.", need, (unsigned)m->o.at_buffer,
                 (unsigned)m->o.at_buffer - 1);
        return -EMSGSIZE;
    }
    int rc = need_offline(m);
    if (rc != 0)
        return rc;
    char *cmd = malloc(need + 1);
    if (cmd == NULL)
        return -ENOMEM;
    int n = snprintf(cmd, need + 1, "AT%%CMNG=0,%u,%d,\"%.*s\"", (unsigned)tag, type, (int)len,
                     content);
    struct azki_at_reply r;
    azki_at_reply_init(&r);
    rc = n > 0 ? at(m, cmd, (size_t)n, &r) : -EINVAL;
    free(cmd);
    azki_at_reply_free(&r);
    if (rc == 0)
        rc = r.result;
    return rc != 0 ? cmng_failed(m, "the modem did not store it", rc, r.cme) : 0;
}

/* The text between the 3rd and 4th '"' of a read reply: `%CMNG: t,y,"sha","content"`. A
 * private key is never asked for: the modem refuses it (514) and nothing should ever try. */
static int nrf_read(void *ctx, azk_sec_tag_t tag, int type, void *buf, size_t *len)
{
    struct nrf91 *m = ctx;
    m->why[0] = '\0';
    if (type == AZK_CRED_PRIVATE_KEY)
        return -EACCES;
    char cmd[64];
    int n = snprintf(cmd, sizeof(cmd), "AT%%CMNG=2,%u,%d", (unsigned)tag, type);
    struct azki_at_reply r;
    int rc = at(m, cmd, (size_t)n, &r);
    if (rc == 0)
        rc = r.result;
    if (rc != 0) {
        azki_at_reply_free(&r);
        return rc == -ENOENT ? rc : cmng_failed(m, "the modem did not read it", rc, r.cme);
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
        azki_at_reply_free(&r);
        return -ENOENT; /* modem_key_mgmt_read: no quoted content */
    }
    size_t clen = (size_t)(q[3] - q[2] - 1);
    if (clen > *len) {
        *len = clen;
        azki_at_reply_free(&r);
        return -ENOMEM;
    }
    memcpy(buf, q[2] + 1, clen);
    *len = clen;
    azki_at_reply_free(&r);
    return 0;
}

static int nrf_remove(void *ctx, azk_sec_tag_t tag, int type)
{
    struct nrf91 *m = ctx;
    m->why[0] = '\0';
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "AT%%CMNG=3,%u,%d", (unsigned)tag, type);
    int rc = need_offline(m);
    if (rc != 0)
        return rc;
    struct azki_at_reply r;
    rc = at(m, cmd, strlen(cmd), &r);
    azki_at_reply_free(&r);
    if (rc == 0)
        rc = r.result;
    if (rc == -ENOENT || rc == 0)
        return rc;
    return cmng_failed(m, "the modem did not delete it", rc, r.cme);
}

static int cmp_item(const void *a, const void *b)
{
    const struct azki_cmng_item *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->type - y->type;
}

/* Every item the modem lists, whatever its type (newer firmware has more than 0-4), except
 * the modem's own tags. */
static int nrf_list(void *ctx, azk_cred_list_cb cb, void *user)
{
    struct nrf91 *m = ctx;
    m->why[0] = '\0';
    struct azki_at_reply r;
    int rc = at(m, "AT%CMNG=1", 9, &r);
    if (rc == 0)
        rc = r.result;
    enum { MAX_ITEMS = 1024 };
    struct azki_cmng_item *items = rc == 0 ? calloc(MAX_ITEMS, sizeof(*items)) : NULL;
    if (rc == 0 && items == NULL)
        rc = -ENOMEM;
    size_t n = rc == 0 ? azki_cmng_parse_list(r.buf, items, MAX_ITEMS) : 0;
    azki_at_reply_free(&r);
    if (rc != 0) {
        free(items);
        return cmng_failed(m, "the modem did not list its credentials", rc, r.cme);
    }
    qsort(items, n, sizeof(items[0]), cmp_item);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (items[i].tag < FIRST_RESERVED_TAG)
            rc = cb((azk_sec_tag_t)items[i].tag, items[i].type, user);
    free(items);
    return rc;
}

/* From the modem's list line: checks of a key never read it. -ENODATA when the modem lists
 * the item without a digest. */
static int nrf_digest(void *ctx, azk_sec_tag_t tag, int type, uint8_t out[AZK_CRED_DIGEST_SIZE])
{
    struct nrf91 *m = ctx;
    m->why[0] = '\0';
    char cmd[64];
    int n = snprintf(cmd, sizeof(cmd), "AT%%CMNG=1,%u,%d", (unsigned)tag, type);
    struct azki_at_reply r;
    int rc = at(m, cmd, (size_t)n, &r);
    if (rc == 0)
        rc = r.result;
    struct azki_cmng_item it;
    size_t found = rc == 0 ? azki_cmng_parse_list(r.buf, &it, 1) : 0;
    azki_at_reply_free(&r);
    if (rc != 0)
        return cmng_failed(m, "the modem did not list the credential", rc, r.cme);
    if (found == 0)
        return -ENOENT;
    if (!it.has_sha)
        return -ENODATA;
    for (size_t i = 0; i < AZK_CRED_DIGEST_SIZE; i++) {
        unsigned v;
        if (sscanf(it.sha + 2 * i, "%2x", &v) != 1)
            return -EPROTO;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static const char *nrf_why(void *ctx)
{
    struct nrf91 *m = ctx;
    return m->why[0] ? m->why : NULL;
}

static const char *nrf_firmware(void *ctx)
{
    struct nrf91 *m = ctx;
    return m->firmware[0] ? m->firmware : NULL;
}

/* Puts the modem back in the functional mode it had (also after a failure midway). */
static void nrf_close(void *ctx)
{
    struct nrf91 *m = ctx;
    if (m->fd >= 0 && m->restore_cfun >= 0) {
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "AT+CFUN=%d", m->restore_cfun);
        at_simple(m, cmd);
    }
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

/* %KEYGEN (Nordic's nRF91 AT command reference, %KEYGEN set command):
 *   %KEYGEN=<sec_tag>,<key_type>[,<response_content>][,<attributes>][,<key_usage>]
 * <key_type> 2 is a client private key kept in <sec_tag>; <response_content> 0 asks for a CSR,
 * answered as %KEYGEN: "Base64Url(CSR_DER).Base64Url(cose_sign)"; <attributes> is the CSR
 * subject as "CN=...". Allowed only while the modem is deactivated (518 otherwise, as for
 * %CMNG writes). The reply is parsed in keygen_reply.c. */
static int nrf_keygen(void *ctx, azk_sec_tag_t tag, const char *common_name,
                      unsigned char **csr_der, size_t *csr_len)
{
    struct nrf91 *m = ctx;
    m->why[0] = '\0';
    int rc = need_offline(m);
    if (rc != 0)
        return rc;
    char cmd[256];
    int n = snprintf(cmd, sizeof(cmd), "AT%%KEYGEN=%u,2,0,\"CN=%s\"", (unsigned)tag, common_name);
    if (n < 0 || (size_t)n >= sizeof(cmd))
        return -EINVAL;
    struct azki_at_reply r;
    rc = at(m, cmd, (size_t)n, &r);
    if (rc == 0)
        rc = r.result;
    if (rc == 0) {
        rc = azki_keygen_parse(r.buf != NULL ? r.buf : "", csr_der, csr_len);
        if (rc != 0)
            snprintf(m->why, sizeof(m->why), "the modem answered OK without a %%KEYGEN: "
                     "\"<CSR>.<signature>\" line azkit can read");
    } else {
        const char *what = "the modem generated no key";
        if (r.cme == 519)
            snprintf(m->why, sizeof(m->why), "%s: +CME ERROR: 519, the tag already holds a key",
                     what);
        else if (r.cme == 523)
            snprintf(m->why, sizeof(m->why), "%s: +CME ERROR: 523, key generation failed", what);
        else
            cmng_failed(m, what, rc, r.cme);
    }
    azki_at_reply_free(&r);
    return rc;
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
    .why = nrf_why,
    .firmware = nrf_firmware,
    .keygen = nrf_keygen,
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
    m->restore_cfun = -1;
    if (m->o.baud == 0)
        m->o.baud = DEFAULT_BAUD;
    if (m->o.timeout_ms == 0)
        m->o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (m->o.at_buffer == 0)
        m->o.at_buffer = DEFAULT_AT_BUFFER;
    m->eol = m->o.eol == AZK_NRF91_EOL_CR ? "\r" : m->o.eol == AZK_NRF91_EOL_LF ? "\n" : "\r\n";
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
        if (m->o.flow == AZK_NRF91_FLOW_RTSCTS)
            t.c_cflag |= CRTSCTS;
        else
            t.c_cflag &= ~(tcflag_t)CRTSCTS;
        cfsetispeed(&t, baud_const(m->o.baud));
        cfsetospeed(&t, baud_const(m->o.baud));
        tcsetattr(m->fd, TCSANOW, &t);
    }
    /* Wake the line (as nrfcredstore does), then check that AT answers. */
    write_all(m->fd, m->eol, strlen(m->eol), now_ms() + 1000);
    uint32_t timeout = m->o.timeout_ms;
    m->o.timeout_ms = timeout < 2000 ? timeout : 2000;
    int rc = -ETIMEDOUT;
    for (int i = 0; i < 3 && rc == -ETIMEDOUT; i++)
        rc = at_simple(m, "AT");
    m->o.timeout_ms = timeout;
    if (rc == 0)
        rc = at_simple(m, "AT+CMEE=1");
    if (rc != 0) {
        azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.no-answer",
                     "Flash the at_client sample (or firmware with AT Host / Serial Modem), "
                     "check the baud rate, the line ending (eol=) and flow control (flow=), "
                     "and that it is the modem's AT port.",
                     "%s does not answer AT commands (%s)", device,
                     rc == -ETIMEDOUT ? "no answer" : strerror(-rc));
        close(m->fd);
        free(m);
        return rc == -ETIMEDOUT ? rc : -EPROTO;
    }
    /* The firmware revision, once: what the modem's answers depend on (which types it lists,
     * whether its list carries digests). */
    struct azki_at_reply r;
    if (at(m, "AT+CGMR", 7, &r) == 0 && r.result == 0)
        azki_at_plain_line(r.buf, m->firmware, sizeof(m->firmware));
    azki_at_reply_free(&r);
    char desc[300];
    snprintf(desc, sizeof(desc), "nrf91 modem on %s", device);
    rc = azk_credstore_open_backend(&nrf91_ops, m, desc, out);
    if (rc != 0)
        nrf_close(m);
    return rc;
}

#define SPEC_HELP "Use nrf91:DEVICE[,baud=N][,offline=ok][,flow=none|rtscts][,eol=crlf|cr|lf]" \
                  "[,timeout=SECONDS]."

/* One `name=value` option of a store spec into o; false when unknown or malformed. */
static bool spec_option(const char *opt, struct azk_nrf91_opts *o)
{
    const char *v = strchr(opt, '=');
    if (v == NULL)
        return false;
    size_t nl = (size_t)(v - opt);
    v++;
    char *end;
    if (nl == 4 && strncmp(opt, "baud", 4) == 0) {
        unsigned long b = strtoul(v, &end, 10);
        if (*v == '\0' || *end != '\0' || b == 0 || b > 4000000)
            return false;
        o->baud = (uint32_t)b;
        return true;
    }
    if (nl == 7 && strncmp(opt, "timeout", 7) == 0) {
        unsigned long t = strtoul(v, &end, 10);
        if (*v == '\0' || *end != '\0' || t == 0 || t > 3600)
            return false;
        o->timeout_ms = (uint32_t)t * 1000u;
        return true;
    }
    if (nl == 7 && strncmp(opt, "offline", 7) == 0) {
        if (strcmp(v, "ok") != 0 && strcmp(v, "no") != 0)
            return false;
        o->allow_offline = strcmp(v, "ok") == 0;
        return true;
    }
    if (nl == 4 && strncmp(opt, "flow", 4) == 0) {
        if (strcmp(v, "none") == 0)
            o->flow = AZK_NRF91_FLOW_NONE;
        else if (strcmp(v, "rtscts") == 0)
            o->flow = AZK_NRF91_FLOW_RTSCTS;
        else
            return false;
        return true;
    }
    if (nl == 3 && strncmp(opt, "eol", 3) == 0) {
        if (strcmp(v, "crlf") == 0)
            o->eol = AZK_NRF91_EOL_CRLF;
        else if (strcmp(v, "cr") == 0)
            o->eol = AZK_NRF91_EOL_CR;
        else if (strcmp(v, "lf") == 0)
            o->eol = AZK_NRF91_EOL_LF;
        else
            return false;
        return true;
    }
    return false;
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
        if (!spec_option(opt, &o)) {
            azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.spec", SPEC_HELP,
                         "unknown or malformed store option '%s'", opt);
            return -EINVAL;
        }
        opt = next;
    }
    if (dev[0] == '\0') {
        azk_diag_add(diag, AZK_SEV_ERROR, "nrf91.spec", SPEC_HELP,
                     "the nrf91 store needs a serial device");
        return -EINVAL;
    }
    return azk_credstore_open_nrf91(dev, &o, out, diag);
}

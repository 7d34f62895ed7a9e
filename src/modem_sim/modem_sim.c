/* azkit-modem-sim (also `azkit modem-sim`): an nRF91 modem's AT interface on a pseudo-terminal,
 * for trying azkit and your own scripts without a modem, and for the tests of the credential
 * backend that drives AT%CMNG over a serial line (a physical modem cannot run here).
 *
 * What it emulates (facts from Nordic's nRF91 AT Commands reference for %CMNG and NCS modem_key_mgmt):
 *  - Line discipline of NCS AT Host (section 4): a '"' toggles "inside quotes"; CR or LF outside
 *    quotes ends a command (AT Host defaults to CR only; we accept CR, LF and CRLF, ignoring
 *    empty commands), CR/LF inside quotes are content. The command text (counted whole) is
 *    limited to CONFIG_AT_HOST_CMD_MAX_LEN, default 4096 (--at-buffer); longer -> ERROR. The
 *    command reaches the modem as a C string ("%s"), so it ends at a NUL byte. No echo.
 *  - Final results OK / ERROR / "+CME ERROR: <n>" with AT+CMEE (section 1.6); unknown commands
 *    and over-long lines are plain ERROR.
 *  - %CMNG (section 1): write / list / read / delete with <sec_tag>,<type> unique pairs,
 *    SHA-256 of the exact stored bytes in uppercase hex (1.4), content stored verbatim with
 *    CR/LF (1.4), write/delete refused with 518 in CFUN 1, 2, 21 (1.5), 513 not found, 514 no
 *    access (type-2 reads, tags above 2147483647: 1.2, 1.4), 515 full, 527 invalid content.
 *    A modem-reserved item at tag 4294967292 is pre-loaded (1.2) so clients must skip it.
 *  - %KEYGEN=<sec_tag>,2[,0[,"<attributes>"[,<key_usage>]]] (Nordic's AT command reference,
 *    %KEYGEN set command; without attributes the CSR's CN is the simulated device UUID, as
 *    the modem's own): a real P-256 key kept as the tag's type 2 (never sent out: type-2
 *    reads are refused) and `%KEYGEN: "<base64url CSR DER>.<base64url COSE>"` (sim_keygen.c);
 *    518 while online, 519 when the tag already holds a key, 514 for reserved tags; other
 *    key types and response contents are refused with 50 (not simulated).
 *  - AT+CGSN / AT+CGMR / AT+CFUN (also the test command AT+CFUN=?) as Nordic documents
 *    them; tests/cli/test_modem_sim_golden.c holds the documented exchanges.
 *  - Items of types azkit does not write (5 and up; newer firmware has more) can be pre-loaded
 *    with --preload TAG,TYPE (listed with the SHA-256 of a placeholder text).
 *  - Failure injection: --fail-write N answers the N-th %CMNG write with +CME ERROR: 515
 *    (memory full), e.g. the second credential of a provision.
 *  - Line behaviour: --echo (as after ATE1; ATE0/ATE1 switch it) sends each command line back
 *    before the answer (off by default: NCS AT Host, the usual firmware behind the serial
 *    port, does not echo); --urc TEXT sends an unsolicited result code (e.g. '+CEREG: 1')
 *    between a command and its answer, --urc-every N only with every N-th command, and
 *    --urc-within inside the answer (after its information lines, before OK/ERROR);
 *    --delay-ms N answers each command N ms late (a slow modem); --silent logs commands and
 *    never answers, --silent-after N answers the first N commands only (a modem that hangs).
 *  - Storage: in memory, or with --dir DIR in files DIR/<tag>-<type> (0600, sim_dir.c), so
 *    credentials (and %KEYGEN keys) survive restarts as in the modem's NVM.
 *  - --firmware TEXT and --imei DIGITS set what +CGMR and +CGSN report.
 * Usage: azkit-modem-sim [--dir DIR] [--ready-file F] [--log F] [--online] [--at-buffer N]
 *        [--no-cmee-default] [--preload TAG,TYPE]... [--fail-write N] [--echo]
 *        [--urc TEXT [--urc-every N] [--urc-within]] [--delay-ms N]
 *        [--silent | --silent-after N] [--firmware TEXT] [--imei DIGITS]
 * The pty path is printed on stdout, and written to F (F.tmp, then rename), once ready;
 * serves until SIGTERM/SIGINT, or EOF on stdin when stdin is a pipe or socket. --log appends
 * each received command. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "modem_sim/sim_dir.h"
#include "modem_sim/sim_keygen.h"

#define MAX_ITEMS 64
#define TAG_USER_MAX 2147483647u
#define RESERVED_TAG 4294967292u
#define OUTQ_MAX (4u << 20)
#define ERR_PLAIN (-1)

struct item {
    uint32_t tag;
    uint32_t type;
    char *data;
    size_t len;
};

static struct item items[MAX_ITEMS];
static size_t n_items;
static unsigned cfun = 4;
static int cmee = 1;
static int master_fd = -1, log_fd = -1;
static char *outq;
static size_t outq_len, outq_cap;
static volatile sig_atomic_t stop_flag;
static unsigned writes_seen, fail_write;
static bool echo, silent, urc_within;
static const char *urc, *store_dir;
static unsigned long urc_every = 1, silent_after, commands_seen;
static unsigned delay_ms;
static const char *firmware = "mfw_nrf9160_1.3.5", *imei = "352656100000001";

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int out(const char *s, size_t n)
{
    if (outq_len + n > OUTQ_MAX)
        return 0; /* nobody reads: drop, like bytes sent to a closed serial port */
    if (outq_len + n > outq_cap) {
        size_t cap = outq_cap ? outq_cap : 4096;
        while (cap < outq_len + n)
            cap *= 2;
        char *p = realloc(outq, cap);
        if (p == NULL)
            return 0;
        outq = p;
        outq_cap = cap;
    }
    memcpy(outq + outq_len, s, n);
    outq_len += n;
    return 0;
}

static int outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int outf(const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return n > 0 ? out(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) : 0;
}

static int ok(void) { return out("OK\r\n", 4); }

/* cme < 0: plain ERROR whatever CMEE says. */
static int error(int cme)
{
    return cme >= 0 && cmee ? outf("+CME ERROR: %d\r\n", cme) : out("ERROR\r\n", 7);
}

static void flush_out(void)
{
    while (outq_len > 0) {
        ssize_t n = write(master_fd, outq, outq_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                outq_len = 0; /* EIO etc.: the bytes are lost */
            return;
        }
        memmove(outq, outq + n, outq_len - (size_t)n);
        outq_len -= (size_t)n;
    }
}

static void log_command(const char *cmd, size_t len, bool overlong)
{
    if (log_fd < 0)
        return;
    char *line = malloc(len * 4 + 64), *p = line;
    if (line == NULL)
        return;
    if (overlong)
        p += sprintf(p, "[over-long command: %zu bytes discarded]", len);
    for (size_t i = 0; !overlong && i < len; i++) {
        unsigned char c = (unsigned char)cmd[i];
        if (c == '\r')
            p += sprintf(p, "\\r");
        else if (c == '\n')
            p += sprintf(p, "\\n");
        else if (c < 0x20 || c == 0x7f)
            p += sprintf(p, "\\x%02x", c);
        else
            *p++ = (char)c;
    }
    *p++ = '\n';
    if (write(log_fd, line, (size_t)(p - line)) < 0)
        perror("azkit-modem-sim: log");
    free(line);
}

static void sha256_hex(const char *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        memset(md, 0, 32);
    for (unsigned i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02X", md[i]);
}

static struct item *find(uint32_t tag, uint32_t type)
{
    for (size_t i = 0; i < n_items; i++)
        if (items[i].tag == tag && items[i].type == type)
            return &items[i];
    return NULL;
}

/* Stores a copy; keeps items sorted by (tag, type); with --dir and `persist`, also on disk
 * first (a failed disk write is the modem's "memory full"). Returns the CME code or 0. */
static int store(uint32_t tag, uint32_t type, const char *data, size_t len, bool persist)
{
    if (persist && store_dir != NULL) {
        int err = sim_dir_save(store_dir, tag, type, data, len);
        if (err != 0) {
            fprintf(stderr, "azkit-modem-sim: %s: cannot save %u-%u: %s\n", store_dir,
                    (unsigned)tag, (unsigned)type, strerror(-err));
            return 515;
        }
    }
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return 515;
    memcpy(copy, data, len);
    struct item *it = find(tag, type);
    if (it != NULL) {
        free(it->data);
        it->data = copy;
        it->len = len;
        return 0;
    }
    if (n_items == MAX_ITEMS) {
        free(copy);
        return 515;
    }
    uint64_t key = (uint64_t)tag << 32 | type;
    size_t i = n_items;
    for (; i > 0 && ((uint64_t)items[i - 1].tag << 32 | items[i - 1].type) > key; i--)
        items[i] = items[i - 1];
    items[i] = (struct item){tag, type, copy, len};
    n_items++;
    return 0;
}

/* Parses an unsigned decimal <= UINT32_MAX with optional spaces around it. */
static bool parse_u32(const char **pp, uint32_t *v)
{
    const char *p = *pp;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > UINT32_MAX)
            return false;
    }
    while (*p == ' ')
        p++;
    *pp = p;
    *v = (uint32_t)n;
    return true;
}

/* ",<u32>" if present: 1 parsed, 0 absent (end of string), -1 malformed. */
static int next_u32(const char **pp, uint32_t *v)
{
    if (**pp == '\0')
        return 0;
    if (**pp != ',')
        return -1;
    (*pp)++;
    return parse_u32(pp, v) ? 1 : -1;
}

static bool content_valid(uint32_t type, const char *c, size_t len)
{
    if (type <= 1)
        return memmem(c, len, "-----BEGIN CERTIFICATE-----", 27) != NULL;
    if (type == 2)
        return memmem(c, len, "-----BEGIN", 10) != NULL &&
               memmem(c, len, "PRIVATE KEY-----", 16) != NULL;
    for (size_t i = 0; type == 3 && i < len; i++)
        if (!isxdigit((unsigned char)c[i]))
            return false;
    return true;
}

static bool cfun_active(void) { return cfun == 1 || cfun == 2 || cfun == 21; }

/* p points after "AT%CMNG=". */
static int cmd_cmng(const char *p)
{
    uint32_t op, tag = 0, type = 0;
    if (!parse_u32(&p, &op) || op > 3)
        return error(50);
    int has_tag = next_u32(&p, &tag);
    if (has_tag < 0)
        return error(50);
    int has_type = has_tag ? next_u32(&p, &type) : 0;
    if (has_type < 0)
        return error(50);
    if (op == 1) { /* list */
        if (*p != '\0')
            return error(50);
        for (size_t i = 0; i < n_items; i++) {
            const struct item *it = &items[i];
            if ((has_tag && it->tag != tag) || (has_type && it->type != type))
                continue;
            char sha[65];
            sha256_hex(it->data, it->len, sha);
            outf("%%CMNG: %u,%u,\"%s\"\r\n", (unsigned)it->tag, (unsigned)it->type, sha);
        }
        return ok();
    }
    if (!has_type)
        return error(50);
    if (op == 2 || op == 3) {
        if (*p != '\0')
            return error(50);
        if (op == 3 && cfun_active())
            return error(518);
        if ((op == 2 && type == 2) || (op == 3 && tag > TAG_USER_MAX))
            return error(514);
        struct item *it = find(tag, type);
        if (it == NULL)
            return error(513);
        if (op == 3) {
            if (store_dir != NULL && sim_dir_remove(store_dir, tag, type) != 0)
                return error(ERR_PLAIN);
            free(it->data);
            n_items--;
            memmove(it, it + 1, (size_t)(&items[n_items] - it) * sizeof(*it));
            return ok();
        }
        char sha[65];
        sha256_hex(it->data, it->len, sha);
        outf("%%CMNG: %u,%u,\"%s\",\"", (unsigned)tag, (unsigned)type, sha);
        out(it->data, it->len);
        out("\"\r\n", 3);
        return ok();
    }
    /* write: ,"<content>"[,"<passwd>"] */
    if (*p != ',' || type > 4)
        return error(50);
    for (p++; *p == ' '; p++)
        ;
    if (*p != '"')
        return error(50);
    const char *content = p + 1, *end = strchr(content, '"');
    if (end == NULL || end == content)
        return error(50);
    size_t clen = (size_t)(end - content);
    for (p = end + 1; *p == ' '; p++)
        ;
    if (*p == ',') { /* PKCS#8 password: quoted, at most 32 characters */
        for (p++; *p == ' '; p++)
            ;
        const char *pw_end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (pw_end == NULL || pw_end - (p + 1) > 32)
            return error(50);
        for (p = pw_end + 1; *p == ' '; p++)
            ;
    }
    if (*p != '\0')
        return error(50);
    if (cfun_active())
        return error(518);
    if (tag > TAG_USER_MAX)
        return error(514);
    if (!content_valid(type, content, clen))
        return error(527);
    if (++writes_seen == fail_write)
        return error(515);
    int rc = store(tag, type, content, clen, true);
    return rc ? error(rc) : ok();
}

/* p points after "AT%KEYGEN=": <sec_tag>,<key_type>[,<response_content>][,"<attributes>"]
 * [,<key_usage>]. */
static int cmd_keygen(const char *p)
{
    uint32_t tag, type, content = 0;
    if (!parse_u32(&p, &tag) || next_u32(&p, &type) != 1 || type != 2)
        return error(50);
    const char *subject = NULL;
    char subj[256] = "";
    if (*p == ',' && next_u32(&p, &content) != 1)
        return error(50);
    if (content != 0)
        return error(50);
    if (*p == ',') {
        for (p++; *p == ' '; p++)
            ;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end == NULL || (size_t)(end - p - 1) >= sizeof(subj))
            return error(50);
        memcpy(subj, p + 1, (size_t)(end - p - 1));
        subject = subj;
        p = end + 1;
        uint32_t usage;
        if (*p == ',' && next_u32(&p, &usage) != 1)
            return error(50);
    }
    if (*p != '\0')
        return error(50);
    if (cfun_active())
        return error(518);
    if (tag > TAG_USER_MAX)
        return error(514);
    if (find(tag, 2) != NULL)
        return error(519);
    /* Without attributes the modem names the CSR after itself: CN = its device UUID (the
     * CSR in the AT%KEYGEN=16842753,2,0 exchange of Nordic's nRFCloud/utils README has a
     * 36-character CN). The simulator's UUID ends with its IMEI. */
    char own[64];
    if (subject == NULL) {
        size_t n = strlen(imei);
        snprintf(own, sizeof(own), "CN=00000000-0000-4000-8000-%12s",
                 n > 12 ? imei + n - 12 : imei);
        for (char *c = own; *c; c++)
            if (*c == ' ')
                *c = '0';
        subject = own;
    }
    char *key, *answer;
    size_t key_len;
    if (sim_keygen(subject, &key, &key_len, &answer) != 0)
        return error(523);
    int rc = store(tag, 2, key, key_len, true);
    sim_keygen_free(key, key_len);
    if (rc == 0) { /* outf() cuts at 128 bytes */
        out("%KEYGEN: \"", 10);
        out(answer, strlen(answer));
        out("\"\r\n", 3);
    }
    free(answer);
    return rc ? error(rc) : ok();
}

/* `s` (after "AT") is the command `name` followed by `suffix`: the rest after the suffix, which
 * must be empty unless the suffix is "=". NULL when it is not that command. */
static const char *match(const char *s, const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    if (strncasecmp(s, name, n) != 0 || strncmp(s + n, suffix, m) != 0)
        return NULL;
    return strcmp(suffix, "=") == 0 || s[n + m] == '\0' ? s + n + m : NULL;
}

static int handle_command(const char *cmd)
{
    const char *a;
    uint32_t v;
    if (strncasecmp(cmd, "AT", 2) != 0)
        return error(ERR_PLAIN);
    cmd += 2;
    if (*cmd == '\0')
        return ok();
    if (strcasecmp(cmd, "E0") == 0 || strcasecmp(cmd, "E1") == 0) {
        echo = cmd[1] == '1';
        return ok();
    }
    if (match(cmd, "+CGSN", "") || match(cmd, "+CGSN", "=0"))
        return outf("%s\r\nOK\r\n", imei);
    if (match(cmd, "+CGSN", "=1"))
        return outf("+CGSN: \"%s\"\r\nOK\r\n", imei);
    if (match(cmd, "+CGMR", ""))
        return outf("%s\r\nOK\r\n", firmware);
    if (match(cmd, "+CFUN", "?"))
        return outf("+CFUN: %u\r\nOK\r\n", cfun);
    if (match(cmd, "+CFUN", "=?"))
        return out("+CFUN: (0,1,4,20,21,30,31,40,41,44)\r\nOK\r\n", 41);
    if ((a = match(cmd, "+CFUN", "=")) != NULL) {
        static const unsigned modes[] = {0, 1, 2, 4, 20, 21, 30, 31, 40, 41, 44};
        if (!parse_u32(&a, &v) || *a != '\0')
            return error(50);
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            if (modes[i] == v) {
                cfun = v;
                return ok();
            }
        return error(50);
    }
    if (match(cmd, "+CMEE", "?"))
        return outf("+CMEE: %d\r\nOK\r\n", cmee);
    if ((a = match(cmd, "+CMEE", "=")) != NULL) {
        if (!parse_u32(&a, &v) || *a != '\0' || v > 1)
            return error(50);
        cmee = (int)v;
        return ok();
    }
    if ((a = match(cmd, "%CMNG", "=")) != NULL)
        return cmd_cmng(a);
    if ((a = match(cmd, "%KEYGEN", "=")) != NULL)
        return cmd_keygen(a);
    return error(ERR_PLAIN);
}

static void send_urc(void)
{
    out(urc, strlen(urc));
    out("\r\n", 2);
}

/* Moves the answer's final result code (its last line) behind a URC: the URC arrives inside
 * the answer, after its information lines. */
static void urc_before_final(size_t start)
{
    if (outq_len < start + 2)
        return;
    size_t final = start;
    for (size_t i = outq_len - 2; i > start; i--)
        if (outq[i - 1] == '\n') {
            final = i;
            break;
        }
    size_t tail = outq_len - final;
    char *saved = malloc(tail);
    if (saved == NULL)
        return;
    memcpy(saved, outq + final, tail);
    outq_len = final;
    send_urc();
    out(saved, tail);
    free(saved);
}

static void pause_answer(void)
{
    flush_out();
    struct timespec ts = {(time_t)(delay_ms / 1000), (long)(delay_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_flag)
        ;
}

/* AT Host line discipline. */
static char *cmd_buf;
static size_t cmd_len, cmd_total, at_buffer = 4096;
static bool in_quotes;

static void feed(char c)
{
    if (!in_quotes && (c == '\r' || c == '\n')) {
        if (cmd_total > at_buffer) {
            log_command(cmd_buf, cmd_total, true);
            error(ERR_PLAIN);
        } else if (cmd_total > 0) {
            log_command(cmd_buf, cmd_len, false);
            commands_seen++;
            if (echo) {
                out(cmd_buf, cmd_len);
                out("\r\n", 2);
            }
            bool with_urc = urc != NULL && commands_seen % urc_every == 0;
            if (with_urc && !urc_within) /* between the command and its answer */
                send_urc();
            cmd_buf[cmd_len] = '\0'; /* the modem gets it as "%s": it ends at a NUL */
            if (!silent && (silent_after == 0 || commands_seen <= silent_after)) {
                if (delay_ms > 0) /* a slow modem: the echo and URC first, then the answer */
                    pause_answer();
                size_t start = outq_len;
                handle_command(cmd_buf);
                if (with_urc && urc_within)
                    urc_before_final(start);
            }
        }
        cmd_len = cmd_total = 0;
        return;
    }
    if (c == '"')
        in_quotes = !in_quotes;
    if (cmd_len < at_buffer)
        cmd_buf[cmd_len++] = c;
    cmd_total++;
}

/* One item from --dir at start-up (sim_dir_load). */
static int load_item(uint32_t tag, uint32_t type, const char *data, size_t len)
{
    return store(tag, type, data, len, false) ? -515 : 0;
}

/* A decimal count in [min, max]. */
static bool parse_count(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-' || n < min || n > max)
        return false;
    *v = n;
    return true;
}

static int write_ready_file(const char *path, const char *content)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    bool good = fputs(content, f) >= 0;
    if (fclose(f) != 0 || !good)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    const char *ready = NULL, *log_path = NULL;
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
            ready = argv[++i];
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log_path = argv[++i];
        else if (strcmp(argv[i], "--online") == 0)
            cfun = 1;
        else if (strcmp(argv[i], "--no-cmee-default") == 0)
            cmee = 0;
        else if (strcmp(argv[i], "--at-buffer") == 0 && i + 1 < argc) {
            char *end;
            unsigned long n = strtoul(argv[++i], &end, 10);
            at_buffer = n;
            if (*end != '\0' || n < 2 || n > (1ul << 24))
                bad = true;
        } else if (strcmp(argv[i], "--echo") == 0) {
            echo = true;
        } else if (strcmp(argv[i], "--silent") == 0) {
            silent = true;
        } else if (strcmp(argv[i], "--urc") == 0 && i + 1 < argc) {
            urc = argv[++i];
        } else if (strcmp(argv[i], "--urc-every") == 0 && i + 1 < argc) {
            bad |= !parse_count(argv[++i], 1, 1000000, &urc_every);
        } else if (strcmp(argv[i], "--urc-within") == 0) {
            urc_within = true;
        } else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc) {
            unsigned long v;
            bad |= !parse_count(argv[++i], 0, 60000, &v);
            delay_ms = (unsigned)v;
        } else if (strcmp(argv[i], "--silent-after") == 0 && i + 1 < argc) {
            bad |= !parse_count(argv[++i], 1, 1000000000, &silent_after);
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            store_dir = argv[++i];
        } else if (strcmp(argv[i], "--firmware") == 0 && i + 1 < argc) {
            firmware = argv[++i];
            bad |= firmware[0] == '\0' || strlen(firmware) > 100 || strpbrk(firmware, "\r\n");
        } else if (strcmp(argv[i], "--imei") == 0 && i + 1 < argc) {
            imei = argv[++i];
            bad |= imei[0] == '\0' || strlen(imei) > 20 || strspn(imei, "0123456789") !=
                                                            strlen(imei);
        } else if (strcmp(argv[i], "--fail-write") == 0 && i + 1 < argc) {
            fail_write = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--preload") == 0 && i + 1 < argc) {
            unsigned long tag, type;
            static const char placeholder[] = "modem-internal item";
            if (sscanf(argv[++i], "%lu,%lu", &tag, &type) != 2 || tag > UINT32_MAX ||
                type > 255 || store((uint32_t)tag, (uint32_t)type, placeholder,
                                    sizeof(placeholder) - 1, false) != 0)
                bad = true;
        } else {
            bad = true;
        }
    }
    if (bad) {
        fprintf(stderr, "usage: %s [--dir DIR] [--ready-file F] [--log F] [--online] "
                        "[--at-buffer N] [--no-cmee-default] [--preload TAG,TYPE]... "
                        "[--fail-write N] [--echo] [--urc TEXT [--urc-every N] [--urc-within]] "
                        "[--delay-ms N] [--silent | --silent-after N] [--firmware TEXT] "
                        "[--imei DIGITS]\n",
                argv[0]);
        return 2;
    }
    static const char reserved[] = "-----BEGIN CERTIFICATE-----\nMODEMRESERVEDFAKE\n"
                                   "-----END CERTIFICATE-----";
    cmd_buf = malloc(at_buffer + 1);
    if (cmd_buf == NULL || store(RESERVED_TAG, 0, reserved, sizeof(reserved) - 1, false) != 0)
        return 1;
    if (store_dir != NULL) {
        int err = sim_dir_open(store_dir);
        if (err == 0)
            err = sim_dir_load(store_dir, load_item);
        if (err != 0) {
            fprintf(stderr, "azkit-modem-sim: --dir %s: %s\n", store_dir,
                    err == -515 ? "more items than the simulator holds" : strerror(-err));
            return 1;
        }
    }
    if (log_path != NULL &&
        (log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        perror(log_path);
        return 1;
    }
    char slave_path[256];
    int slave_fd = -1;
    struct termios tio;
    master_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_fd < 0 || grantpt(master_fd) != 0 || unlockpt(master_fd) != 0 ||
        ptsname_r(master_fd, slave_path, sizeof(slave_path)) != 0 ||
        (slave_fd = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
        tcgetattr(slave_fd, &tio) != 0) {
        perror("azkit-modem-sim: pty");
        return 1;
    }
    /* Our own slave fd keeps the pty alive while clients close and reopen it. */
    cfmakeraw(&tio);
    if (tcsetattr(slave_fd, TCSANOW, &tio) != 0 ||
        fcntl(master_fd, F_SETFL, fcntl(master_fd, F_GETFL) | O_NONBLOCK) != 0) {
        perror("azkit-modem-sim: pty setup");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);
    struct stat st;
    bool watch_stdin = fstat(0, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    printf("%s\n", slave_path);
    fflush(stdout);
    if (ready != NULL && write_ready_file(ready, slave_path) != 0) {
        perror(ready);
        return 1;
    }
    while (!stop_flag) {
        struct pollfd pfd[2] = {{master_fd, (short)(POLLIN | (outq_len ? POLLOUT : 0)), 0},
                                {0, POLLIN, 0}};
        int n = ppoll(pfd, watch_stdin ? 2 : 1, NULL, &orig);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("azkit-modem-sim: poll");
            break;
        }
        if (watch_stdin && pfd[1].revents) {
            char junk[256];
            ssize_t r = read(0, junk, sizeof(junk));
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
        if (pfd[0].revents & POLLIN) {
            char buf[4096];
            ssize_t r = read(master_fd, buf, sizeof(buf));
            for (ssize_t i = 0; i < r; i++)
                feed(buf[i]);
        } else if (pfd[0].revents & (POLLHUP | POLLERR)) {
            /* Hang-up without data (should not happen while we hold the slave): no busy loop. */
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        flush_out();
    }
    for (size_t i = 0; i < n_items; i++)
        free(items[i].data);
    free(cmd_buf);
    free(outq);
    close(slave_fd);
    close(master_fd);
    if (log_fd >= 0)
        close(log_fd);
    return 0;
}

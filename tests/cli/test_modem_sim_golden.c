/*
 * `azkit modem-sim` answers as Nordic documents the nRF91 modem: each exchange below is taken
 * from Nordic's documentation (the source is named beside it), fed to the simulator over its
 * pseudo-terminal as a client would send it, and the answer compared with the documented one.
 * The simulator's behaviour is pinned here by those documents, not by azkit's own client.
 *
 * How the documented text is read:
 *  - "..." in a documented line stands for any text (Nordic abbreviates certificates and
 *    digests: "978C...02C4" is a 64-digit SHA-256, checked in full separately);
 *  - ", " and "," are the same: the examples print "%CMNG: 12345678, 0, ..." while the
 *    response syntax is "%CMNG: <sec_tag>,<type>[,<sha>]" and a real modem's list line reads
 *    %CMNG: 123,0,"2C43...". (quoted in NordicSemiconductor/nrfcredstore command_interface.py);
 *  - the reference's PDF text flattens a PEM onto one line with curly quotes; the exchanges
 *    below use the PEM's line breaks (allowed inside quotes, "<content> in the read response
 *    is exactly what is written, including <CR>, <LF>") and straight quotes;
 *  - the documented list order follows the order of the examples' writes and is not a stated
 *    rule, so the lines of a list answer are compared as a set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "support/modem_sim_util.h"
#include "support/test_util.h"

/* Sources. */
#define SRC_CMNG                                                                               \
    "nRF9160 AT Commands, Credential storage management %CMNG, set command examples "          \
    "(https://docs.nordicsemi.com/r/a9hNfce_cGoQ_yc53n~QEg/6~u4x3XnvC7aK0fWkJq15Q; "             \
    "Command Reference Guide v1.x section 5.28.1)"
#define SRC_CMNG_RULE                                                                          \
    "nRF9160 AT Commands, %CMNG set command: \"The write and delete operations are allowed "   \
    "only when the modem is not activated to normal operation mode with +CFUN <fun> mode 1, "  \
    "2, or 21\"; \"518 - Not allowed in active state\""
#define SRC_PSK                                                                                \
    "nrfconnect/ncs-serial-modem doc/app/sm_testing.rst: AT%CMNG=0,1001,3,"                    \
    "\"6e7266393174657374\" (a PSK written as hex)"
#define SRC_CFUN                                                                               \
    "nRF9160 AT Commands, Functional mode +CFUN: set, read and test command examples "         \
    "(Command Reference Guide v1.x section 5.1)"
#define SRC_CGMR                                                                               \
    "nRF9160 AT Commands, Revision identification +CGMR, set command example "                 \
    "(https://docs.nordicsemi.com/r/a9hNfce_cGoQ_yc53n~QEg/3GPj8ipYT8H60z6TZYZ7eA)"
#define SRC_CGSN                                                                               \
    "nRF9160 AT Commands, Product serial number identification +CGSN, set command examples "   \
    "(https://docs.nordicsemi.com/r/bundle/ref_at_commands/page/ref/at_commands/general/"      \
    "cgsn_set.html)"
#define SRC_CMEE                                                                               \
    "3GPP TS 27.007 section 9.1 (which Nordic's reference follows for +CMEE): +CMEE=[<n>]; "   \
    "+CMEE? -> +CMEE: <n>; 0 = \"disable +CME ERROR: <err> result code and use ERROR "          \
    "instead\", 1 = numeric <err>"
#define SRC_KEYGEN                                                                             \
    "nRF9160 AT Commands, %KEYGEN set command (\"Base64Url(CSR_DER).Base64Url(cose_sign)\"), "  \
    "and the exchange printed in Nordic's nRFCloud/utils README: AT%KEYGEN=16842753,2,0 -> "   \
    "%KEYGEN: \"MIIBCjCBrwIBADAv...\""

#define CERT_A "-----BEGIN CERTIFICATE-----\nMIIBc464...\n...bW9aAa4\n-----END CERTIFICATE-----"
#define KEY_A                                                                                  \
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIICz...\n...ukBu\n"                                 \
    "-----END ENCRYPTED PRIVATE KEY-----"

struct exchange {
    const char *source;
    const char *sim_args[4];     /* extra simulator options, NULL-terminated */
    const char *setup[6];        /* commands sent first, each must answer OK */
    const char *command;
    const char *answer[6];       /* the documented answer, one logical line each */
};

static const struct exchange exchanges[] = {
    /* %CMNG */
    {SRC_CMNG, {NULL}, {NULL}, "AT%CMNG=0, 12345678, 0,\"" CERT_A "\"", {"OK"}},
    {SRC_CMNG, {NULL}, {NULL}, "AT%CMNG=0,567890,1,\"" CERT_A "\"", {"OK"}},
    {SRC_CMNG, {NULL}, {NULL}, "AT%CMNG=0,123,2,\"" KEY_A "\", \"abcdefg\"", {"OK"}},
    {SRC_CMNG, {NULL}, {"AT%CMNG=0,12345678,0,\"" CERT_A "\""}, "AT%CMNG=1,12345678, 0",
     {"%CMNG: 12345678, 0, \"978C...02C4\"", "OK"}},
    {SRC_CMNG, {NULL}, {"AT%CMNG=0,12345678,0,\"" CERT_A "\"",
                        "AT%CMNG=0,12345678,1,\"" CERT_A "\""},
     "AT%CMNG=1,12345678",
     {"%CMNG: 12345678, 0, \"978C...02C4\"", "%CMNG: 12345678, 1, \"1A8C...02BB\"", "OK"}},
    {SRC_CMNG " and " SRC_PSK, {NULL},
     {"AT%CMNG=0,12345678,0,\"" CERT_A "\"", "AT%CMNG=0,567890,1,\"" CERT_A "\"",
      "AT%CMNG=0,123,2,\"" KEY_A "\",\"abcdefg\"", "AT%CMNG=0,654321,3,\"6e7266393174657374\""},
     "AT%CMNG=1",
     {"%CMNG: 12345678, 0, \"978C...02C4\"", "%CMNG: 567890, 1, \"C485...CF09\"",
      "%CMNG: 123, 2, \"92E1...8AC8\"", "%CMNG: 654321, 3, \"E0C9...511D\"", "OK"}},
    {SRC_CMNG, {NULL}, {"AT%CMNG=0,12345678,0,\"" CERT_A "\""}, "AT%CMNG=2, 12345678, 0",
     {"%CMNG: 12345678, 0, \"978C...02C4\", \"" CERT_A "\"", "OK"}},
    {SRC_CMNG, {NULL}, {"AT%CMNG=0,123,1,\"" CERT_A "\""}, "AT%CMNG=3,123,1", {"OK"}},
    {SRC_CMNG, {NULL}, {NULL}, "AT%CMNG=2,4567,0", {"+CME ERROR: 513"}},
    {SRC_CMNG_RULE, {"--online", NULL}, {NULL}, "AT%CMNG=0,12345678,0,\"" CERT_A "\"",
     {"+CME ERROR: 518"}},
    {SRC_CMNG_RULE, {NULL}, {"AT%CMNG=0,123,1,\"" CERT_A "\"", "AT+CFUN=1"}, "AT%CMNG=3,123,1",
     {"+CME ERROR: 518"}},
    /* +CFUN */
    {SRC_CFUN, {NULL}, {NULL}, "AT+CFUN=1", {"OK"}},
    {SRC_CFUN, {NULL}, {"AT+CFUN=1"}, "AT+CFUN?", {"+CFUN: 1", "OK"}},
    {SRC_CFUN, {NULL}, {NULL}, "AT+CFUN=?", {"+CFUN: (0,1,4,20,21,30,31,40,41,44)", "OK"}},
    /* +CGMR, +CGSN: the documented values, set with --firmware and --imei */
    {SRC_CGMR, {"--firmware", "mfw_nrf9160_1.1.1", NULL}, {NULL}, "AT+CGMR",
     {"mfw_nrf9160_1.1.1", "OK"}},
    {SRC_CGSN, {"--imei", "352656100367872", NULL}, {NULL}, "AT+CGSN", {"352656100367872", "OK"}},
    {SRC_CGSN, {"--imei", "352656100367872", NULL}, {NULL}, "AT+CGSN=1",
     {"+CGSN: \"352656100367872\"", "OK"}},
    /* +CMEE */
    {SRC_CMEE, {"--no-cmee-default", NULL}, {NULL}, "AT+CMEE=1", {"OK"}},
    {SRC_CMEE, {"--no-cmee-default", NULL}, {"AT+CMEE=1"}, "AT+CMEE?", {"+CMEE: 1", "OK"}},
    {SRC_CMEE, {"--no-cmee-default", NULL}, {NULL}, "AT+CMEE?", {"+CMEE: 0", "OK"}},
    {SRC_CMEE " and " SRC_CMNG, {"--no-cmee-default", NULL}, {NULL}, "AT%CMNG=2,4567,0",
     {"ERROR"}},
    /* %KEYGEN (the answer's shape is checked in full by check_keygen) */
    {SRC_KEYGEN, {NULL}, {NULL}, "AT%KEYGEN=16842753,2,0", {"%KEYGEN: \"MIIB...\"", "OK"}},
};

static char g_dir[512];

/* A raw connection to the simulator's terminal. */
static int open_pty(const char *spec)
{
    int fd = open(spec + strlen("nrf91:"), O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct termios t;
    assert_int_equal(tcgetattr(fd, &t), 0);
    cfmakeraw(&t);
    assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
    return fd;
}

/* Whether the last logical line of `buf` is a final result code. */
static bool ends_with_final(const char *buf)
{
    size_t n = strlen(buf);
    if (n < 2 || buf[n - 1] != '\n')
        return false;
    size_t s = n - 1;
    while (s > 0 && buf[s - 1] != '\n')
        s--;
    const char *l = buf + s;
    return strncmp(l, "OK\r", 3) == 0 || strncmp(l, "ERROR\r", 6) == 0 ||
           strncmp(l, "+CME ERROR:", 11) == 0;
}

/* Sends `cmd` + CR LF and returns the answer up to its final result code (malloc'd). A
 * missing answer fails the test after 20 s, so a broken simulator cannot hang it. */
static char *exchange(int fd, const char *cmd)
{
    size_t n = strlen(cmd);
    assert_int_equal(write(fd, cmd, n), (ssize_t)n);
    assert_int_equal(write(fd, "\r\n", 2), 2);
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap);
    bool quoted = false;
    time_t give_up = time(NULL) + 20;
    while (!(!quoted && ends_with_final(buf))) {
        struct pollfd p = {fd, POLLIN, 0};
        if (time(NULL) > give_up)
            fail_msg("no final result code for %s; got so far:\n%s", cmd, buf);
        if (poll(&p, 1, 1000) <= 0)
            continue;
        char c;
        if (read(fd, &c, 1) != 1)
            continue;
        if (c == '"')
            quoted = !quoted;
        assert_true(len + 1 < cap);
        buf[len++] = c;
    }
    return buf;
}

/* `s` with ", " made "," (documented examples space their parameters; see the top). */
static char *squeeze(const char *s)
{
    char *o = strdup(s), *w = o;
    for (const char *p = s; *p; p++) {
        *w++ = *p;
        if (*p == ',')
            while (p[1] == ' ')
                p++;
    }
    *w = '\0';
    return o;
}

/* A documented digest abbreviated as "978C...02C4" made "...": the answer's digest is
 * checked in full by check_digests(). */
static void any_digest(char *pat)
{
    for (char *q = pat; (q = strchr(q, '"')) != NULL; q++) {
        if (strspn(q + 1, "0123456789ABCDEF") == 4 && strncmp(q + 5, "...", 3) == 0 &&
            strspn(q + 8, "0123456789ABCDEF") == 4 && q[12] == '"') {
            memmove(q + 1, q + 5, strlen(q + 5) + 1); /* "978C...02C4" -> "...02C4" */
            memmove(q + 4, q + 8, strlen(q + 8) + 1); /* "...02C4" -> "..." */
        }
    }
}

/* Glob match where "..." stands for any text. */
static bool glob(const char *pat, const char *s)
{
    const char *dots = strstr(pat, "...");
    if (dots == NULL)
        return strcmp(pat, s) == 0;
    size_t pre = (size_t)(dots - pat);
    if (strncmp(pat, s, pre) != 0)
        return false;
    for (const char *t = s + pre;; t++) {
        if (glob(dots + 3, t))
            return true;
        if (*t == '\0')
            return false;
    }
}

/* Splits an answer into logical lines (CR LF outside quotes ends one). */
static size_t split_lines(char *buf, char **lines, size_t max)
{
    size_t n = 0;
    bool quoted = false;
    char *start = buf;
    for (char *p = buf; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        if (!quoted && *p == '\r' && p[1] == '\n') {
            *p = '\0';
            if (n < max && p > start)
                lines[n++] = start;
            start = p + 2;
            p++;
        }
    }
    return n;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02X", md[i]);
}

/* Every quoted 64-digit digest in a %CMNG line is the SHA-256 of what was written there
 * ("SHA-256 digest of the entity ... as stored"): all examples store CERT_A, KEY_A or the
 * PSK. */
static void check_digests(const char *line)
{
    if (strncmp(line, "%CMNG: ", 7) != 0)
        return;
    const char *q = strchr(line, '"');
    assert_non_null(q);
    char got[65];
    snprintf(got, sizeof(got), "%.64s", q + 1);
    assert_int_equal(strspn(got, "0123456789ABCDEF"), 64);
    assert_int_equal(q[65], '"');
    char a[65], b[65], c[65];
    sha256_hex(CERT_A, a);
    sha256_hex(KEY_A, b);
    sha256_hex("6e7266393174657374", c);
    if (strcmp(got, a) != 0 && strcmp(got, b) != 0 && strcmp(got, c) != 0)
        fail_msg("%s: not the SHA-256 of the content written", line);
}

/* %KEYGEN: "<base64url CSR DER>.<base64url COSE>": both parts base64url, the first a DER
 * SEQUENCE. */
static void check_keygen(const char *line)
{
    if (strncmp(line, "%KEYGEN: \"", 10) != 0)
        return;
    const char *body = line + 10, *dot = strchr(body, '.');
    assert_non_null(dot);
    const char *end = strchr(dot, '"');
    assert_non_null(end);
    const char *b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_int_equal(strspn(body, b64url), (size_t)(dot - body));
    assert_int_equal(strspn(dot + 1, b64url), (size_t)(end - dot - 1));
    assert_true(end > dot + 1);
    /* "MII" is a DER SEQUENCE with a two-byte length: 30 82 ... */
    assert_int_equal(strncmp(body, "MII", 3), 0);
}

static void run_exchange(const struct exchange *x)
{
    struct azk_sim sim = {0};
    azk_sim_start(&sim, g_dir, x->sim_args);
    int fd = open_pty(sim.spec);
    for (size_t i = 0; i < 6 && x->setup[i]; i++) {
        char *a = exchange(fd, x->setup[i]);
        if (strstr(a, "OK\r\n") == NULL)
            fail_msg("setup %s: %s", x->setup[i], a);
        free(a);
    }
    char *got = exchange(fd, x->command);
    char *lines[16];
    size_t n = split_lines(got, lines, 16);
    /* "<sec_tag>s with values above 2147483647 might be visible in the %CMNG list command"
     * (SRC_CMNG): the simulator lists the modem's own item at 4294967292 too. */
    for (size_t j = 0; j < n;) {
        if (strncmp(lines[j], "%CMNG: ", 7) == 0 && strtoull(lines[j] + 7, NULL, 10) > 2147483647ull)
            memmove(&lines[j], &lines[j + 1], (--n - j) * sizeof(lines[0]));
        else
            j++;
    }
    size_t want = 0;
    while (want < 6 && x->answer[want])
        want++;
    if (n != want)
        fail_msg("%s\n%s: %zu lines, the documentation shows %zu", x->source, x->command, n,
                 want);
    bool used[16] = {false};
    for (size_t i = 0; i < want; i++) {
        char *pat = squeeze(x->answer[i]);
        any_digest(pat);
        bool found = false;
        for (size_t j = 0; j < n && !found; j++) {
            char *line = squeeze(lines[j]);
            if (!used[j] && glob(pat, line)) {
                used[j] = found = true;
                check_digests(line);
                check_keygen(line);
            }
            free(line);
        }
        if (!found)
            fail_msg("%s\n%s: the documented line\n  %s\nis not in the answer:\n%s",
                     x->source, x->command, x->answer[i], got);
        free(pat);
    }
    free(got);
    close(fd);
    azk_sim_stop(&sim);
}

static void test_documented_exchanges(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++)
        run_exchange(&exchanges[i]);
}

/* The comparison itself can fail: an answer that differs from the documented one by one
 * character does not match. */
static void test_comparison_fails_on_a_difference(void **state)
{
    (void)state;
    assert_true(glob("+CFUN: (0,1,4,20,21,30,31,40,41,44)", "+CFUN: (0,1,4,20,21,30,31,40,41,44)"));
    assert_false(glob("+CFUN: (0,1,4,20,21,30,31,40,41,44)", "+CFUN: (0,1,4,20,21,30,31,40,41)"));
    assert_true(glob("%CMNG: 1,0,\"978C...02C4\"", "%CMNG: 1,0,\"978C00000000000002C4\""));
    assert_false(glob("%CMNG: 1,0,\"978C...02C4\"", "%CMNG: 1,1,\"978C00000000000002C4\""));
    char *a = squeeze("%CMNG: 12345678, 0, \"x\"");
    assert_string_equal(a, "%CMNG: 12345678,0,\"x\"");
    free(a);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    azk_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_exchanges),
        cmocka_unit_test(test_comparison_fails_on_a_difference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * The docs keep up with the command lines: every option that `azkit ... --help` and
 * `azkit-hub ... --help` print is documented (docs/cli.md for azkit, docs/hub.md for
 * azkit-hub). An option added without its documentation fails here; the command examples
 * are checked against real runs by test_docs_examples.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hub_harness.h"
#include "support/test_util.h"

/* Every "--option" of `help` must appear in `doc` as "--option" followed by a non-name
 * character. */
static void check(const char *what, const char *help, const char *doc)
{
    int missing = 0;
    for (const char *p = help; (p = strstr(p, "--")) != NULL;) {
        const char *s = p + 2;
        size_t n = 0;
        while (isalnum((unsigned char)s[n]) || s[n] == '-')
            n++;
        p = s + n;
        if (n < 2 || !isalpha((unsigned char)s[0]))
            continue;
        char opt[64];
        snprintf(opt, sizeof(opt), "--%.*s", (int)(n < 60 ? n : 60), s);
        bool found = false;
        for (const char *d = doc; (d = strstr(d, opt)) != NULL; d += strlen(opt)) {
            char after = d[strlen(opt)];
            if (!isalnum((unsigned char)after) && after != '-') {
                found = true;
                break;
            }
        }
        if (!found) {
            printf("%s: %s is not documented\n", what, opt);
            missing++;
        }
    }
    if (missing)
        fail_msg("%s: %d option(s) missing from the docs", what, missing);
}

static char *help_of(const char *bin, const char *const *args)
{
    struct azk_run r;
    azk_run_bin(&r, bin, NULL, args);
    if (r.status != 0)
        fail_msg("%s --help exited %d: %s", args[0], r.status, r.err);
    char *out = strdup(r.out);
    azk_run_free(&r);
    return out;
}

static void test_azkit_options_documented(void **state)
{
    (void)state;
    char *doc = azk_test_read(AZK_SOURCE_DIR "/docs/cli.md", NULL);
    static const char *const cmds[][4] = {
        {"--help"},
        {"cred", "provision", "--help"}, {"cred", "export", "--help"},
        {"cred", "write", "--help"}, {"cred", "list", "--help"},
        {"cred", "keygen", "--help"}, {"pki", "sign-csr", "--help"},
        {"pki", "--help"}, {"run", "--help"}, {"doctor", "--help"}, {"fleet", "--help"},
        {"dps", "--help"}, {"errno", "--help"}, {"modem-sim", "--help"},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *argv[5] = {cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL};
        char *help = help_of(AZKIT_BIN, argv);
        /* A printf escape leaked into the text (issue 16: run --help showed "%%d"). */
        if (strstr(help, "%%") != NULL)
            fail_msg("azkit %s %s prints a literal %%%%:\n%s", argv[0], argv[1] ? argv[1] : "",
                     help);
        char what[80];
        snprintf(what, sizeof(what), "azkit %s %s", cmds[i][0],
                 cmds[i][1] && strcmp(cmds[i][1], "--help") ? cmds[i][1] : "");
        check(what, help, doc);
        free(help);
    }
    free(doc);
}

static void test_hub_options_documented(void **state)
{
    (void)state;
    char *doc = azk_test_read(AZK_SOURCE_DIR "/docs/hub.md", NULL);
    static const char *const cmds[][4] = {
        {"--help"}, {"serve", "--help"}, {"device", "--help"}, {"ca", "--help"},
        {"twin", "--help"}, {"method", "invoke", "--help"}, {"c2d", "send", "--help"},
        {"telemetry", "--help"}, {"fault", "--help"}, {"enroll", "--help"},
        {"dps-ca", "--help"}, {"registration", "--help"}, {"fota", "--help"},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *argv[5] = {cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL};
        char *help = help_of(AZKIT_HUB_BIN, argv);
        char what[80];
        snprintf(what, sizeof(what), "azkit-hub %s", cmds[i][0]);
        check(what, help, doc);
        free(help);
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_azkit_options_documented),
        cmocka_unit_test(test_hub_options_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

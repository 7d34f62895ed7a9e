/*
 * The docs keep up with the command lines: every option that `azkit ... --help` and
 * `azkit-hub ... --help` print is documented (docs/cli.md for azkit, docs/hub.md for
 * azkit-hub), and the `cred provision` examples show what the tool prints. An option added
 * without its documentation, or output changed without its example, fails here.
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
        {"dps-ca", "--help"}, {"registration", "--help"},
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

/* The `cred provision` examples in docs/cli.md against a real run with the same inputs: the
 * text block line for line (its abbreviated `why: ...` lines and the store path aside), and
 * the JSON example field for field (the chain's size may differ by a few bytes: ECDSA
 * signatures and serial numbers vary in length). */
static char *block_after(const char *doc, const char *marker)
{
    const char *m = strstr(doc, marker);
    if (m == NULL)
        fail_msg("docs/cli.md has no \"%s\"", marker);
    const char *open = strstr(m, "```");
    const char *start = open ? strchr(open, '\n') : NULL;
    const char *end = start ? strstr(start + 1, "```") : NULL;
    if (end == NULL)
        fail_msg("no code block after \"%s\"", marker);
    return strndup(start + 1, (size_t)(end - start - 1));
}

static bool has_line(const char *text, const char *line, size_t len)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == len && memcmp(p, line, len) == 0)
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

static void test_cli_examples_match_real_output(void **state)
{
    (void)state;
    char dir[512], cwd[1024];
    azk_test_mkdtemp(dir);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    const char *a1[] = {"pki", "root", "--cn", "Azkit Test Root CA", "--out", "root", NULL};
    const char *a2[] = {"pki", "intermediate", "--ca", "root", "--cn",
                        "Azkit Test Intermediate CA", "--out", "inter", NULL};
    const char *a3[] = {"pki", "device", "my-device-01", "--ca", "inter", "--out",
                        "my-device-01", NULL};
    azk_must(a1);
    azk_must(a2);
    azk_must(a3);
    char *doc = azk_test_read(AZK_SOURCE_DIR "/docs/cli.md", NULL);

    /* Text: two tags. */
    struct azk_run r;
    const char *two[] = {"--store", "two", "cred", "provision", "--sec-tag", "10",
                         "--secondary-sec-tag", "11", "--cert", "my-device-01.chain.pem",
                         "--key", "my-device-01.key.pem", NULL};
    azk_run(&r, NULL, two);
    assert_int_equal(r.status, 0);
    char *want = block_after(doc, "The output, with the `why` lines of tag 11 abbreviated:");
    int doc_lines = 0, out_lines = 0;
    for (const char *p = want; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        doc_lines++;
        bool skip = (l >= 8 && memcmp(p + l - 8, "why: ...", 8) == 0) ||
                    strncmp(p, "provisioned into", 16) == 0;
        if (!skip && !has_line(r.out, p, l))
            fail_msg("docs/cli.md shows a line `cred provision` does not print:\n%.*s\n"
                     "real output:\n%s", (int)l, p, r.out);
        p = nl ? nl + 1 : NULL;
    }
    for (const char *p = r.out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        out_lines++;
    if (doc_lines != out_lines)
        fail_msg("docs/cli.md shows %d lines, `cred provision` prints %d:\n%s", doc_lines,
                 out_lines, r.out);
    free(want);
    azk_run_free(&r);

    /* JSON: one tag. */
    const char *one[] = {"--store", "store", "--json", "cred", "provision", "--sec-tag", "10",
                         "--cert", "my-device-01.chain.pem", "--key", "my-device-01.key.pem",
                         NULL};
    azk_run(&r, NULL, one);
    assert_int_equal(r.status, 0);
    char *wj = block_after(doc, "`--json` (for the one-tag run; one `why` abbreviated):");
    cJSON *w = cJSON_Parse(wj), *g = cJSON_Parse(r.out);
    assert_non_null(w);
    assert_non_null(g);
    const cJSON *it;
    cJSON_ArrayForEach(it, g)
        if (!cJSON_HasObjectItem(w, it->string))
            fail_msg("the JSON example lacks \"%s\"", it->string);
    cJSON_ArrayForEach(it, w)
        if (!cJSON_HasObjectItem(g, it->string))
            fail_msg("the JSON example shows \"%s\", which the tool does not print", it->string);
    const cJSON *ws = cJSON_GetObjectItem(w, "steps"), *gs = cJSON_GetObjectItem(g, "steps");
    assert_int_equal(cJSON_GetArraySize(ws), cJSON_GetArraySize(gs));
    for (int i = 0; i < cJSON_GetArraySize(gs); i++) {
        const cJSON *a = cJSON_GetArrayItem(ws, i), *b = cJSON_GetArrayItem(gs, i);
        for (const char *const *k = (const char *const[]){"sec_tag", "type", "type_name", "what",
                                                           NULL};
             *k; k++) {
            char *x = cJSON_PrintUnformatted(cJSON_GetObjectItem(a, *k));
            char *y = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, *k));
            if (strcmp(x, y) != 0)
                fail_msg("step %d %s: the docs show %s, the tool prints %s", i, *k, x, y);
            free(x);
            free(y);
        }
        int dsz = cJSON_GetObjectItem(a, "size")->valueint;
        int gsz = cJSON_GetObjectItem(b, "size")->valueint;
        /* Type 1 (two certificates): ECDSA signatures (70..72 DER bytes) and random serial
         * numbers vary in length, and base64 and line breaks carry that into the PEM. */
        int slack = cJSON_GetObjectItem(b, "type")->valueint == 1 ? 24 : 0;
        if (abs(dsz - gsz) > slack)
            fail_msg("step %d size: the docs show %d, the tool prints %d", i, dsz, gsz);
    }
    char *x = cJSON_PrintUnformatted(cJSON_GetObjectItem(w, "ncs"));
    char *y = cJSON_PrintUnformatted(cJSON_GetObjectItem(g, "ncs"));
    assert_string_equal(x, y);
    free(x);
    free(y);
    cJSON_Delete(w);
    cJSON_Delete(g);
    free(wj);
    azk_run_free(&r);
    free(doc);
    assert_int_equal(chdir(cwd), 0);
    azk_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_azkit_options_documented),
        cmocka_unit_test(test_hub_options_documented),
        cmocka_unit_test(test_cli_examples_match_real_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

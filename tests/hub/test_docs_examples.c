/*
 * The command examples in docs/cli.md and docs/guide.md against real runs with the same
 * inputs: each documented output block is found by the heading (or sentence) before it and
 * its position after that, the command is run in a scratch directory holding the docs' test
 * PKI, and the two are compared with doc_compare.h (variable values masked, structure and
 * wording exact). Each comparison is then repeated with one word of the documented block
 * changed, which must fail: a check that cannot fail would prove nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "doc_compare.h"
#include "hub_harness.h"
#include "support/modem_sim_util.h"
#include "support/test_util.h"

static struct azk_sim g_sim;

/* Placeholders in the examples' arguments and their values (see struct example). */
#define NVARS 4
static char g_vars[NVARS][2][700] = {{"%SIM%"}, {"%SCOPE%"}, {"%DPS%"}, {"%HUBDATA%"}};
/* Run-dependent values in the output and what the docs show instead. */
#define NSUBST 2
static char g_subst[NSUBST][2][700];

enum mode {
    SETUP,   /* run, must exit 0, nothing compared */
    TEXT,    /* the whole output, line by line */
    EXCERPT, /* the documented lines are a contiguous part of the output */
    JSON,    /* one JSON value */
    EVENTS,  /* one JSON object per line: each printed line has the members of the documented
              * line with the same "event" */
};
enum stream { OUT, ERR, BOTH };

struct example {
    const char *doc;    /* file under docs/, NULL for SETUP */
    const char *marker; /* text before the block */
    int nth;            /* 1: the first code block after the marker */
    enum mode mode;
    enum stream stream;
    int status;            /* expected exit status */
    const char *alias;     /* what the docs call the scratch directory */
    const char *json_item; /* compare this array's first element of the output instead */
    const char *file;      /* compare this file (written by the command) instead */
    const char *argv[20];  /* "@" at the start of an argument: the scratch directory;
                            * "%SIM%" in one: the modem simulator's device; %SCOPE%, %DPS%,
                            * %HUBDATA%: the hub's id scope, DPS host and data directory */
    int line;              /* compare only this line of the block (1 = the first), or 0 */
    bool hub;              /* run azkit-hub instead of azkit */
};

#define CLI "cli.md"
#define GUIDE "guide.md"
#define AZKDOC "/tmp/azkdoc"
#define DEMO "/tmp/azkit-demo"
#define CHAIN "my-device-01.chain.pem"
#define KEY "my-device-01.key.pem"

static const struct example examples[] = {
    {CLI, "### `azkit pki root`", 2, TEXT, OUT, 0, NULL, NULL, NULL, {"pki", "root"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL, {"pki", "intermediate", "--ca", "root"}, 0,
     false},
    {GUIDE, "The last command prints:", 1, TEXT, OUT, 0, NULL, NULL, NULL,
     {"pki", "device", "my-device-01", "--ca", "intermediate"}, 0, false},
    {CLI, "### JSON output of the create commands", 1, JSON, OUT, 0, NULL, NULL, NULL,
     {"--json", "pki", "device", "dev-2", "--ca-cert", "intermediate.cert.pem", "--ca-key",
      "intermediate.key.pem", "--key-type", "rsa", "--days", "30"}, 0, false},
    {CLI, "### `azkit pki show`", 2, TEXT, OUT, 0, NULL, NULL, NULL, {"pki", "show", CHAIN}, 0,
     false},
    {CLI, "### `azkit pki show`", 3, JSON, OUT, 0, NULL, NULL, NULL,
     {"--json", "pki", "show", "root.cert.pem"}, 0, false},
    {CLI, "object (`src/cli/output_x509.c`):", 1, JSON, OUT, 0, NULL, "certificates", NULL,
     {"--json", "pki", "show", "my-device-01.cert.pem"}, 0, false},
    {CLI, "### `azkit pki verify`", 2, TEXT, OUT, 0, NULL, NULL, NULL,
     {"pki", "verify", "--ca", "root", "--expect-cn", "my-device-01", CHAIN}, 0, false},
    {GUIDE, "### 3.2 Verify the chain the way Azure will", 2, TEXT, OUT, 0, NULL, NULL, NULL,
     {"pki", "verify", "--ca", "root", "--expect-cn", "my-device-01", CHAIN}, 0, false},
    {CLI, "### `azkit pki verify`", 3, TEXT, ERR, 1, NULL, NULL, NULL,
     {"pki", "verify", "--ca", "root", "my-device-01.cert.pem"}, 0, false},
    {GUIDE, "(exit status 1):", 2, TEXT, ERR, 1, NULL, NULL, NULL,
     {"pki", "verify", "--ca", "root", "my-device-01.cert.pem"}, 0, false},
    {CLI, "### `azkit pki verify`", 4, JSON, OUT, 1, NULL, NULL, NULL,
     {"--json", "pki", "verify", "--ca", "root", "--untrusted", "intermediate.cert.pem",
      "--expect-cn", "other", "my-device-01.cert.pem"}, 0, false},

    /* The guide's store and the reference's store: one tag provisioned. */
    {GUIDE, "### 3.3 Provision the security tag", 2, TEXT, OUT, 0, DEMO, NULL, NULL,
     {"--store", "@/store", "cred", "provision", "--sec-tag", "10", "--cert", CHAIN, "--key",
      KEY}, 0, false},
    {CLI, "to the certificate's CN (with DPS it is also the registration id). For example:", 1,
     EXCERPT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/two", "cred", "provision", "--sec-tag", "10", "--secondary-sec-tag", "11",
      "--cert", CHAIN, "--key", KEY, "--id-scope", "0ne00ABCDEF"}, 0, false},
    {CLI, "The output, with the `why` lines of tag 11 abbreviated:", 1, TEXT, OUT, 0, NULL, NULL,
     NULL, {"--store", "@/two", "cred", "provision", "--sec-tag", "10", "--secondary-sec-tag",
            "11", "--cert", CHAIN, "--key", KEY}, 0, false},
    {CLI, "`--json` (for the one-tag run; one `why` abbreviated):", 1, JSON, OUT, 0, NULL, NULL,
     NULL, {"--store", "@/store", "--json", "cred", "provision", "--sec-tag", "10", "--cert",
            CHAIN, "--key", KEY}, 0, false},
    {CLI, "### `azkit cred list`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "list"}, 0, false},
    {GUIDE, "### 3.4 List and check", 2, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "list"}, 0, false},
    {CLI, "### `azkit cred list`", 4, JSON, OUT, 0, AZKDOC, NULL, NULL,
     {"--store", "@/store", "--json", "cred", "list"}, 0, false},
    {CLI, "### `azkit cred write`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "write", "10", "cert", CHAIN}, 0, false},
    {CLI, "### `azkit cred read`", 3, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "cred", "read", "10", "cert"}, 0, false},
    {CLI, "### `azkit cred exists`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "exists", "10", "key"}, 0, false},
    {CLI, "### `azkit cred exists`", 4, JSON, OUT, 1, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "cred", "exists", "11", "key"}, 0, false},
    {CLI, "### `azkit cred cmp`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "cmp", "10", "key", KEY}, 0, false},
    {CLI, "### `azkit cred cmp`", 4, JSON, OUT, 1, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "cred", "cmp", "10", "cert", "root.cert.pem"}, 0, false},
    {CLI, "### `azkit cred digest`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "digest", "10", "cert"}, 0, false},
    {CLI, "### `azkit cred digest`", 4, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "cred", "digest", "10", "cert"}, 0, false},
    {CLI, "### `azkit cred export`", 3, TEXT, BOTH, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "export", "--c", "sec_tag_10.h", "--sec-tag", "10"}, 0, false},
    {CLI, "An excerpt of the generated header:", 1, EXCERPT, OUT, 0, NULL, NULL, "sec_tag_10.h",
     {"--store", "@/store", "cred", "export", "--c", "sec_tag_10.h", "--sec-tag", "10"}, 0, false},
    {GUIDE, "### 3.5 Export a firmware header", 2, TEXT, BOTH, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "export", "--c", "sec_tag_10.h", "--sec-tag", "10"}, 0, false},
    {CLI, "### `azkit cred export`", 5, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "cred", "export", "--c", "sec_tag_10.h", "--sec-tag",
      "10"}, 0, false},

    /* Other tags, in a scratch store. */
    {CLI, "### `azkit cred write`", 4, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "--json", "cred", "write", "17", "cert", "crlf.chain.pem"}, 0, false},
    {CLI, "stderr, one per line, with the fix indented under them:", 1, TEXT, ERR, 0, NULL,
     NULL, NULL, {"--store", "@/scratch", "cred", "write", "17", "cert", "crlf.chain.pem"}, 0,
     false},
    {CLI, "**Failure object**", 1, JSON, OUT, 1, NULL, NULL, NULL,
     {"--store", "@/scratch", "--json", "cred", "write", "18", "cert", "reversed.pem"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "cred", "write", "12", "ca", "root.cert.pem"}, 0, false},
    {CLI, "### `azkit cred delete`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "cred", "delete", "12", "ca"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "cred", "write", "12", "cert", CHAIN}, 0, false},
    {CLI, "### `azkit cred delete`", 4, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "--json", "cred", "delete", "12", "cert"}, 0, false},
    {CLI, "### `azkit cred clear`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "cred", "clear", "13"}, 0, false},
    {CLI, "### `azkit cred clear`", 4, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/scratch", "--json", "cred", "clear", "13"}, 0, false},

    /* keygen in a modem (the simulator). */
    {CLI, "### `azkit cred keygen`", 3, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "%SIM%,offline=ok", "cred", "keygen", "10", "--cn", "my-device-01", "--out",
      "my-device-01.csr.pem"}, 0, false},
    /* errno: the JSON's shape (causes abbreviated). */
    {CLI, "`-116` the NCS DPS timeout, for `-95`", 1, JSON, OUT, 0, NULL, NULL, NULL,
     {"--json", "errno", "-111"}, 0, false},
    /* azkit-hub: a usage error in --json. */
    {"hub.md", "With `--json`, errors are", 1, JSON, OUT, 2, NULL, NULL, NULL,
     {"--json", "device", "add", "x"}, 3, true},

    /* doctor: the test root, a leaf without its intermediate, an id that is not the CN. */
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/doc1", "cred", "write", "10", "ca", "root.cert.pem"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/doc1", "cred", "write", "10", "cert", "my-device-01.cert.pem"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/doc1", "cred", "write", "10", "key", KEY}, 0, false},
    {CLI, "that is not the certificate's CN:", 2, TEXT, OUT, 1, NULL, NULL, NULL,
     {"--store", "@/doc1", "doctor", "--sec-tag", "10", "--hub", "myhub.azure-devices.net",
      "--device-id", "other"}, 0, false},
    /* doctor: the key in tag 11, its certificate in tag 10. */
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/doc2", "cred", "provision", "--sec-tag", "10", "--cert", CHAIN, "--key",
      KEY}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/doc2", "cred", "delete", "10", "key"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/doc2", "cred", "write", "11", "key", KEY}, 0, false},
    {CLI, "in tag 10 (`azkit --json doctor --sec-tag 10 --sec-tag 11`):", 1, JSON, OUT, 1, NULL,
     NULL, NULL, {"--store", "@/doc2", "--json", "doctor", "--sec-tag", "10", "--sec-tag", "11"},
     0, false},
    /* dps: nothing kept yet. */
    {CLI, "Before the first registration:", 2, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "dps", "show"}, 0, false},
    {CLI, "Before the first registration:", 3, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "dps", "show"}, 0, false},
};

/* The nth fenced code block after `marker` in `doc` (malloc'd), or NULL. */
static char *block_after(const char *doc, const char *marker, int nth)
{
    const char *p = strstr(doc, marker);
    if (p == NULL)
        return NULL;
    for (int i = 0; i < nth; i++) {
        const char *open = strstr(p, "\n```");
        const char *start = open ? strchr(open + 1, '\n') : NULL;
        const char *end = start ? strstr(start, "\n```") : NULL;
        if (end == NULL)
            return NULL;
        if (i == nth - 1)
            return strndup(start + 1, (size_t)(end - start));
        p = end + 4;
    }
    return NULL;
}

/* Every occurrence of `from` in `s` replaced by `to` (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1), *o = out;
    for (const char *p = s;;) {
        const char *f = strstr(p, from);
        if (f == NULL) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(f - p));
        o += f - p;
        memcpy(o, to, tl);
        o += tl;
        p = f + fl;
    }
    return out;
}

/* Line n (1 = the first) of `block`, which is freed (malloc'd; empty when there is none). */
static char *nth_line(char *block, int n)
{
    const char *p = block;
    for (int i = 1; i < n && p; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    char *line = strndup(p ? p : "", p ? strcspn(p, "\n") : 0);
    free(block);
    return line;
}

/* The members of `o` as one sorted, comma-separated string (malloc'd). */
static char *member_names(const cJSON *o)
{
    char *names[64];
    size_t n = 0, len = 1;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
        if (n < 64) {
            names[n++] = it->string;
            len += strlen(it->string) + 1;
        }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    char *out = calloc(1, len);
    for (size_t i = 0; i < n; i++) {
        strcat(out, names[i]);
        strcat(out, ",");
    }
    return out;
}

/* EVENTS: every line printed is a JSON object whose "event" the docs show with the same
 * members (values vary from run to run). */
static bool events_match(const char *doc, const char *real, char *why, size_t n)
{
    bool ok = true;
    int matched = 0;
    char *copy = strdup(real), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); ok && line;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *r = cJSON_Parse(line);
        const cJSON *ev = cJSON_GetObjectItem(r, "event");
        if (!cJSON_IsString(ev)) {
            snprintf(why, n, "not an event line: %s", line);
            ok = false;
        } else {
            char *want = NULL, *got = member_names(r);
            char *dcopy = strdup(doc), *dsave = NULL;
            for (char *dl = strtok_r(dcopy, "\n", &dsave); dl && want == NULL;
                 dl = strtok_r(NULL, "\n", &dsave)) {
                cJSON *d = cJSON_Parse(dl);
                const cJSON *dev = cJSON_GetObjectItem(d, "event");
                if (cJSON_IsString(dev) && strcmp(dev->valuestring, ev->valuestring) == 0)
                    want = member_names(d);
                cJSON_Delete(d);
            }
            free(dcopy);
            if (want == NULL || strcmp(want, got) != 0) {
                snprintf(why, n, "event \"%s\": the docs show members %s, the tool prints %s",
                         ev->valuestring, want ? want : "(no such event)", got);
                ok = false;
            }
            matched++;
            free(want);
            free(got);
        }
        cJSON_Delete(r);
    }
    free(copy);
    if (ok && matched == 0) {
        snprintf(why, n, "the tool printed no events");
        ok = false;
    }
    return ok;
}

/* Whether the documented block matches the real output; `why` says where not. */
static bool compare(const struct example *e, const char *doc, const char *real, char *why,
                    size_t n)
{
    if (e->mode == EVENTS)
        return events_match(doc, real, why, n);
    if (e->mode != JSON)
        return azk_doc_text_matches(doc, real, e->mode == EXCERPT, why, n);
    cJSON *d = cJSON_Parse(doc), *r = cJSON_Parse(real);
    bool ok = false;
    if (d == NULL)
        snprintf(why, n, "the documented block is not JSON");
    else if (r == NULL)
        snprintf(why, n, "the tool's output is not JSON");
    else {
        const cJSON *rv = r;
        if (e->json_item)
            rv = cJSON_GetArrayItem(cJSON_GetObjectItem(r, e->json_item), 0);
        ok = rv != NULL && azk_doc_json_matches(d, rv, why, n);
    }
    cJSON_Delete(d);
    cJSON_Delete(r);
    return ok;
}

/* The documented block with its first word of 3+ lowercase letters changed (or, without
 * one, a character put in front). */
static char *mutated(const char *doc)
{
    char *m = strdup(doc);
    for (char *p = m; *p; p++) {
        size_t n = 0;
        while (p[n] >= 'a' && p[n] <= 'z')
            n++;
        if (n >= 3 && (p == m || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n])) {
            p[0] = 'Q';
            return m;
        }
        p += n ? n - 1 : 0;
    }
    free(m);
    m = malloc(strlen(doc) + 2);
    sprintf(m, "Q%s", doc);
    return m;
}

/* Runs one example; returns false (having printed why) when the docs do not match. */
static bool run_example(const struct example *e, const char *dir)
{
    bool ok = true;
    const char *argv[21];
    char *owned[20] = {0};
    size_t argc = 0;
    for (; e->argv[argc]; argc++) {
        if (e->argv[argc][0] == '@') {
            owned[argc] = malloc(strlen(dir) + strlen(e->argv[argc]) + 1);
            sprintf(owned[argc], "%s%s", dir, e->argv[argc] + 1);
            argv[argc] = owned[argc];
        } else if (strchr(e->argv[argc], '%') != NULL) {
            if (strstr(e->argv[argc], "%SIM%") != NULL && g_sim.pid == 0) {
                azk_sim_start(&g_sim, dir, NULL);
                snprintf(g_vars[0][1], sizeof(g_vars[0][1]), "%s", g_sim.spec);
            }
            char *a = strdup(e->argv[argc]);
            for (size_t v = 0; v < NVARS; v++) {
                char *b = replace_all(a, g_vars[v][0], g_vars[v][1]);
                free(a);
                a = b;
            }
            argv[argc] = owned[argc] = a;
        } else {
            argv[argc] = e->argv[argc];
        }
    }
    argv[argc] = NULL;
    struct azk_run r;
    azk_run_bin(&r, e->hub ? AZKIT_HUB_BIN : AZKIT_BIN, NULL, argv);
    char what[256];
    snprintf(what, sizeof(what), "docs/%s, block %d after \"%s\" (azkit %s %s %s ...)",
             e->doc ? e->doc : "-", e->nth, e->marker ? e->marker : "-", argv[0],
             argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : "");
    if (r.status != e->status)
        fail_msg("%s: exit status %d, expected %d\nstdout:\n%s\nstderr:\n%s", what, r.status,
                 e->status, r.out, r.err);
    if (e->mode != SETUP) {
        char path[600];
        snprintf(path, sizeof(path), "%s/docs/%s", AZK_SOURCE_DIR, e->doc);
        char *docfile = azk_test_read(path, NULL);
        char *want = block_after(docfile, e->marker, e->nth);
        if (want == NULL)
            fail_msg("%s: no such code block", what);
        if (e->line > 0)
            want = nth_line(want, e->line);
        if (e->mode == JSON || e->mode == EVENTS) {
            /* The docs abbreviate an object as {...}. */
            char *full = replace_all(want, "{...}", "{\"...\": \"...\"}");
            free(want);
            want = full;
        }
        char *raw;
        if (e->file) {
            raw = azk_test_read(e->file, NULL);
        } else if (e->stream == BOTH) {
            raw = malloc(strlen(r.out) + strlen(r.err) + 1);
            sprintf(raw, "%s%s", r.out, r.err);
        } else {
            raw = strdup(e->stream == OUT ? r.out : r.err);
        }
        char *real = replace_all(raw, dir, e->alias ? e->alias : AZKDOC);
        for (size_t v = 0; v < NSUBST; v++) {
            if (g_subst[v][0][0] == '\0')
                continue;
            char *b = replace_all(real, g_subst[v][0], g_subst[v][1]);
            free(real);
            real = b;
        }
        char why[1024];
        if (!compare(e, want, real, why, sizeof(why))) {
            printf("%s does not show what the tool prints: %s\nthe docs:\n%s\nthe tool:\n%s\n",
                   what, why, want, real);
            ok = false;
        } else {
            char *bad = mutated(want);
            if (bad == NULL || compare(e, bad, real, why, sizeof(why))) {
                printf("%s: a changed word in the docs still matches; the check proves "
                       "nothing\n", what);
                ok = false;
            }
            free(bad);
        }
        free(real);
        free(raw);
        free(want);
        free(docfile);
    }
    azk_run_free(&r);
    for (size_t i = 0; i < argc; i++)
        free(owned[i]);
    return ok;
}

/* Inputs of the examples that show a rejected or normalised file. */
static void write_bad_inputs(void)
{
    char *leaf = azk_test_read("my-device-01.cert.pem", NULL);
    char *inter = azk_test_read("intermediate.cert.pem", NULL);
    char *chain = azk_test_read(CHAIN, NULL);
    char *crlf = replace_all(chain, "\n", "\r\n");
    azk_test_write("crlf.chain.pem", crlf, strlen(crlf));
    char *rev = malloc(strlen(leaf) + strlen(inter) + 1);
    sprintf(rev, "%s%s", inter, leaf);
    azk_test_write("reversed.pem", rev, strlen(rev));
    free(rev);
    free(crlf);
    free(chain);
    free(inter);
    free(leaf);
}

static void test_docs_examples_match_real_runs(void **state)
{
    (void)state;
    char dir[512], cwd[1024];
    azk_test_mkdtemp(dir);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    int failed = 0;
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        if (i == 3) /* after the device certificate of examples[2] */
            write_bad_inputs();
        failed += !run_example(&examples[i], dir);
    }
    azk_sim_stop(&g_sim);
    if (failed)
        fail_msg("%d documented example(s) differ from the real output (above)", failed);
    assert_int_equal(chdir(cwd), 0);
    azk_test_rmrf(dir);
}

/* Examples that need a hub: a DPS registration with `azkit run`, the assignment it keeps,
 * an azkit-hub error. */
static const struct example hub_examples[] = {
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL, {"pki", "root"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL, {"pki", "intermediate", "--ca", "root"}, 0,
     false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"pki", "device", "my-device-01", "--ca", "intermediate"}, 0, false},
    {NULL, NULL, 0, SETUP, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "cred", "provision", "--sec-tag", "10", "--cert", CHAIN, "--key",
      KEY, "--ca", "%HUBDATA%/pki/ca.pem"}, 0, false},
    {CLI, "With `--json`, one JSON object per line:", 1, EVENTS, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "run", "--id-scope", "%SCOPE%", "--dps-host", "%DPS%",
      "--count", "1"}, 0, false},
    {CLI, "After a registration (", 2, TEXT, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "dps", "show"}, 0, false},
    {CLI, "After a registration (", 3, JSON, OUT, 0, NULL, NULL, NULL,
     {"--store", "@/store", "--json", "dps", "show"}, 0, false},
    {"hub.md", "With `--json`, errors are", 1, JSON, OUT, 1, NULL, NULL, NULL,
     {"--json", "--data", "%HUBDATA%", "device", "show", "x"}, 1, true},
    {CLI, "once at the end (at least one), then the summary object", 1, EVENTS, OUT, 0, NULL,
     NULL, NULL,
     {"--json", "fleet", "--issuer", "intermediate", "--id-scope", "%SCOPE%", "--dps-host",
      "%DPS%", "--trust", "%HUBDATA%/pki/ca.pem", "--count", "2", "--messages", "1"}, 0, false},
};

static void test_docs_examples_with_a_hub(void **state)
{
    (void)state;
    char dir[512], cwd[1024];
    azk_test_mkdtemp(dir);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    struct test_hub hub;
    test_hub_init(&hub);
    test_hub_start(&hub, NULL);
    test_hub_ready_str(&hub, "id_scope", g_vars[1][1], sizeof(g_vars[1][1]));
    test_hub_ready_str(&hub, "dps_host", g_vars[2][1], sizeof(g_vars[2][1]));
    snprintf(g_vars[3][1], sizeof(g_vars[3][1]), "%s", hub.data);
    snprintf(g_subst[0][0], sizeof(g_subst[0][0]), "%s", g_vars[1][1]);
    snprintf(g_subst[0][1], sizeof(g_subst[0][1]), "0ne00ABCDEF");
    snprintf(g_subst[1][0], sizeof(g_subst[1][0]), "localhost:%d", hub.mqtt_port);
    snprintf(g_subst[1][1], sizeof(g_subst[1][1]), "localhost:8883");
    int failed = 0;
    for (size_t i = 0; i < sizeof(hub_examples) / sizeof(hub_examples[0]); i++) {
        if (i == 3) { /* the devices' group: on the intermediate the examples made */
            char inter[700];
            snprintf(inter, sizeof(inter), "%s/intermediate.cert.pem", dir);
            cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "doc-group", "--cert",
                                        inter, NULL));
        }
        failed += !run_example(&hub_examples[i], dir);
    }
    memset(g_subst, 0, sizeof(g_subst));
    assert_int_equal(chdir(cwd), 0);
    test_hub_finish(&hub, dir);
    if (failed)
        fail_msg("%d documented example(s) differ from the real output (above)", failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_examples_match_real_runs),
        cmocka_unit_test(test_docs_examples_with_a_hub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

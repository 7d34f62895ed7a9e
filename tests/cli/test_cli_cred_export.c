/* `azkit cred export --c`: the generated header compiles with gcc -Wall -Werror against the
 * modem_key_mgmt API, and writes exactly the stored bytes with strlen() lengths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/test_util.h"

static char dir[512];

/* Compiles the driver with `header` and runs `fn` (NULL: azkit_provision_sec_tag_<tag>). */
static char *compile_and_run_fn(const char *header, unsigned tag, const char *fn)
{
    char cmd[4096];
    char exe[700], fn_buf[64];
    if (fn == NULL) {
        snprintf(fn_buf, sizeof(fn_buf), "azkit_provision_sec_tag_%u", tag);
        fn = fn_buf;
    }
    snprintf(exe, sizeof(exe), "%s/driver-%u", dir, tag);
    snprintf(cmd, sizeof(cmd),
             "gcc -std=c11 -Wall -Wextra -Werror -I%s/tests/support/nrf_stub "
             "'-DAZK_EXPORTED_HEADER=\"%s\"' -DAZK_PROVISION_FN=%s "
             "%s/tests/support/export_driver.c -o %s 2>&1 && %s",
             AZK_SOURCE_DIR, header, fn, AZK_SOURCE_DIR, exe, exe);
    int status;
    char *out = azk_test_shell(cmd, &status);
    if (status != 0)
        fail_msg("driver failed (%d):\n%s", status, out);
    return out;
}

static char *compile_and_run(const char *header, unsigned tag)
{
    return compile_and_run_fn(header, tag, NULL);
}

/* Checks every write in the driver output against `azkit cred read`. */
static int check_writes(const char *out, const char *store, unsigned tag)
{
    int writes = 0;
    const char *p = out;
    while (strncmp(p, "END", 3) != 0) {
        unsigned t;
        int type;
        size_t len, slen;
        assert_int_equal(sscanf(p, "%u %d %zu %zu", &t, &type, &len, &slen), 4);
        assert_int_equal(t, tag);
        assert_int_equal(len, slen); /* strlen(), never sizeof() */
        const char *content = strchr(p, '\n') + 1;
        if (type != 2 && type != 3) {
            char tagtxt[16], typetxt[4];
            snprintf(tagtxt, sizeof(tagtxt), "%u", tag);
            snprintf(typetxt, sizeof(typetxt), "%d", type);
            struct azk_run r;
            azk_runv(&r, NULL, "--store", store, "cred", "read", tagtxt, typetxt, NULL);
            assert_int_equal(r.status, 0);
            assert_int_equal(strlen(r.out), len + 1);
            assert_memory_equal(r.out, content, len);
            azk_run_free(&r);
        }
        p = content + len + 1;
        writes++;
    }
    assert_non_null(strstr(p, "END 0"));
    return writes;
}

static void test_export_compiles_and_matches(void **state)
{
    (void)state;
    azk_test_mkdtemp(dir);
    azk_test_make_pki(dir);
    const char *store = azk_path(dir, "store");
    AZK_MUST("--store", store, "cred", "provision", "--sec-tag", "42", "--cert",
             azk_path(dir, "dev-1.chain.pem"), "--key", azk_path(dir, "dev-1.key.pem"));
    struct azk_run w;
    azk_runv(&w, "device-42", "--store", store, "cred", "write", "42", "identity", "-", NULL);
    assert_int_equal(w.status, 0);
    azk_run_free(&w);
    const char *hdr = azk_path(dir, "tag42.h");
    AZK_MUST("--store", store, "cred", "export", "--c", hdr, "--sec-tag", "42");
    char *text = azk_test_read(hdr, NULL);
    assert_null(strstr(text, "PRIVATE KEY"));
    assert_non_null(strstr(text, "strlen("));
    assert_null(strstr(text, "sizeof(azkit"));
    assert_non_null(strstr(text, "MODEM_KEY_MGMT_CRED_TYPE_CA_CHAIN"));
    assert_non_null(strstr(text, "MODEM_KEY_MGMT_CRED_TYPE_PUBLIC_CERT"));
    /* Next to the provisioning function: the key is not here, and where it must come from. */
    const char *fn = strstr(text, "/* Provisions security tag 42.");
    assert_non_null(fn);
    assert_true(strstr(fn, "The private key (type 2) is NOT in this header") <
                strstr(fn, "azkit_provision_sec_tag_42(void)"));
    assert_non_null(strstr(fn, "(exported without --include-key): it must already be in tag 42"));
    assert_non_null(strstr(fn, "AT%KEYGEN"));
    free(text);
    assert_int_equal(azk_test_mode(hdr), 0644);
    char *out = compile_and_run(hdr, 42);
    assert_int_equal(check_writes(out, store, 42), 3); /* CA chain, client chain, identity */
    free(out);

    /* With --include-key the key is written too, and the header is 0600. */
    const char *hdrk = azk_path(dir, "tag42k.h");
    AZK_MUST("--store", store, "cred", "export", "--c", hdrk, "--sec-tag", "42", "--include-key");
    assert_int_equal(azk_test_mode(hdrk), 0600);
    out = compile_and_run(hdrk, 42);
    assert_int_equal(check_writes(out, store, 42), 4);
    assert_non_null(strstr(out, "-----BEGIN PRIVATE KEY-----"));
    free(out);
    text = azk_test_read(hdrk, NULL);
    assert_null(strstr(text, "NOT in this header")); /* the key is in it */
    free(text);

    /* A PSK identity with characters C needs escaped. */
    struct azk_run r;
    azk_runv(&r, "id \\ with ?\?= trigraph", "--store", store, "cred", "write", "43", "identity",
             "-", NULL);
    assert_int_equal(r.status, 0);
    azk_run_free(&r);
    const char *hdr43 = azk_path(dir, "tag43.h");
    AZK_MUST("--store", store, "cred", "export", "--c", hdr43, "--sec-tag", "43");
    out = compile_and_run(hdr43, 43);
    assert_int_equal(check_writes(out, store, 43), 1);
    free(out);

    /* Nothing to export, and usage errors. */
    azk_runv(&r, NULL, "--store", store, "cred", "export", "--c", azk_path(dir, "x.h"),
             "--sec-tag", "99", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "holds nothing to export"));
    azk_run_free(&r);
    azk_runv(&r, NULL, "--store", store, "cred", "export", "--c", "-", "--sec-tag", "42",
             "--include-key", NULL);
    assert_int_equal(r.status, 2);
    azk_run_free(&r);
    azk_runv(&r, NULL, "--store", store, "cred", "export", "--sec-tag", "42", NULL);
    assert_int_equal(r.status, 2);
    azk_run_free(&r);
    /* Two tags: refused, not the last one exported silently. */
    azk_runv(&r, NULL, "--store", store, "cred", "export", "--c", azk_path(dir, "two.h"),
             "--sec-tag", "42", "--sec-tag", "43", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "takes one --sec-tag (given 42 and 43)"));
    assert_false(azk_test_exists(azk_path(dir, "two.h")));
    azk_run_free(&r);
    /* Both tags of the socket in one header: --secondary-sec-tag names a tag the store holds,
     * and azkit_provision_sec_tags() writes both (the primary first). */
    char st2[600]; /* azk_path() reuses its buffers: `store` may be gone by now */
    snprintf(st2, sizeof(st2), "%s", azk_path(dir, "store"));
    store = st2;
    AZK_MUST("--store", store, "cred", "write", "44", "ca_chain", azk_path(dir, "root.cert.pem"));
    const char *hdr2 = azk_path(dir, "tags.h");
    azk_runv(&r, NULL, "--store", store, "cred", "export", "--c", hdr2, "--sec-tag", "42",
             "--secondary-sec-tag", "44", NULL);
    if (r.status != 0)
        fail_msg("two-tag export: exit %d\n%s%s", r.status, r.out, r.err);
    assert_non_null(strstr(r.out, "(sec_tag 42 and 44): call azkit_provision_sec_tags()"));
    azk_run_free(&r);
    out = compile_and_run_fn(hdr2, 4244, "azkit_provision_sec_tags");
    const char *w44 = strstr(out, "\n44 0 ");
    assert_true(strncmp(out, "42 0 ", 5) == 0 && w44 != NULL);
    assert_null(strstr(w44 + 1, "\n42 ")); /* every write of 42 before the first of 44 */
    assert_non_null(strstr(out, "END 0"));
    free(out);
    /* --c without its file name: the next option is not taken as one (no file "--sec-tag"). */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    azk_runv(&r, NULL, "--store", store, "cred", "export", "--c", "--sec-tag", "42", NULL);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--c needs a file name, not the option '--sec-tag'"));
    assert_false(azk_test_exists(azk_path(dir, "--sec-tag")));
    azk_run_free(&r);
    azk_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_compiles_and_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

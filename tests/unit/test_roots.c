/* The committed Azure roots: the files, the table in data/roots/README.md, and what the
 * library embeds all say the same thing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azkit.h"
#include "support/test_util.h"

static void test_roots_match_files_and_table(void **state)
{
    (void)state;
    char *readme = azk_test_read(AZK_SOURCE_DIR "/data/roots/README.md", NULL);
    for (int i = 0; i < AZK_ROOT_COUNT; i++) {
        const struct azk_root_info *r = azk_azure_root((enum azk_azure_root)i);
        assert_non_null(r);
        char path[1024];
        snprintf(path, sizeof(path), "%s/data/roots/%s", AZK_SOURCE_DIR, r->file);
        size_t len;
        char *file = azk_test_read(path, &len);
        assert_string_equal(file, r->pem); /* embedded copy is byte-identical */
        struct azk_cert_summary s;
        size_t n = 0;
        assert_int_equal(azk_x509_summarize_pem(file, len, &s, 1, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_string_equal(s.subject_cn, r->name);
        assert_string_equal(s.not_after, r->not_after);
        assert_string_equal(s.sha256, r->sha256);
        assert_true(s.is_ca);
        assert_true(s.self_signed);
        /* The README table row names the file, the CN, both dates and the fingerprint. */
        char *row = strstr(readme, r->file);
        assert_non_null(row);
        char *eol = strchr(row, '\n');
        *eol = '\0';
        assert_non_null(strstr(row, r->name));
        assert_non_null(strstr(row, r->sha256));
        char date[32];
        snprintf(date, sizeof(date), "%.10s %.8s", s.not_after, s.not_after + 11);
        assert_non_null(strstr(row, date));
        snprintf(date, sizeof(date), "%.10s %.8s", s.not_before, s.not_before + 11);
        assert_non_null(strstr(row, date));
        *eol = '\n';
        assert_ptr_equal(azk_azure_root_by_fingerprint(s.sha256), r);
        free(file);
    }
    assert_true(azk_azure_root(AZK_ROOT_BALTIMORE)->retired);
    assert_false(azk_azure_root(AZK_ROOT_DIGICERT_G2)->retired);
    assert_null(azk_azure_root((enum azk_azure_root)3));
    assert_null(azk_azure_root_by_fingerprint("00"));
    /* Lowercase fingerprints are recognised too. */
    assert_non_null(azk_azure_root_by_fingerprint(
        "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f"));
    free(readme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roots_match_files_and_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Error numbers: azk_strerror() has its own text for every errno the code returns (the test
 * reads the sources and walks every -EXXX it finds), and the table behind `azkit errno` has the
 * right numbers on both systems: Linux from glibc itself (strerrorname_np), the nRF91 from
 * newlib's sys/errno.h (the numbering NCS builds with; Zephyr's minimal libc copies it) when
 * the newlib headers are installed (libnewlib-dev / libnewlib-arm-none-eabi).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "azkit/common.h"
#include "doctor/errno_explain.h"
#include "support/test_util.h"

/* Every "-EXXX" token in the .c and .h files under `dir`, appended to names (deduplicated). */
static void scan(const char *dir, char names[][32], size_t *n, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            scan(path, names, n, max);
            continue;
        }
        size_t len = strlen(de->d_name);
        if (len < 3 || (strcmp(de->d_name + len - 2, ".c") != 0 &&
                        strcmp(de->d_name + len - 2, ".h") != 0))
            continue;
        char *text = azk_test_read(path, NULL);
        for (char *p = text; (p = strstr(p, "-E")) != NULL; p++) {
            /* A word on its own: "-EINVAL", not "CERT-EXPIRED" or "-----END". */
            if (p > text && (p[-1] == '-' || (p[-1] >= 'A' && p[-1] <= 'Z')))
                continue;
            size_t k = 1;
            while ((p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9'))
                k++;
            if (k < 4 || k > 30 || (p[k] >= 'a' && p[k] <= 'z') || p[k] == '_')
                continue;
            char name[32];
            memcpy(name, p + 1, k - 1);
            name[k - 1] = '\0';
            bool seen = false;
            for (size_t i = 0; i < *n && !seen; i++)
                seen = strcmp(names[i], name) == 0;
            if (!seen && *n < max)
                snprintf(names[(*n)++], 32, "%s", name);
        }
        free(text);
    }
    closedir(d);
}

/* Not error numbers: "-ECDSA" in key-type text, "-E914" inside the WebSocket GUID (an errno
 * name has a letter after its E, E2BIG aside). */
static bool not_errno(const char *name)
{
    bool digit = name[1] >= '0' && name[1] <= '9';
    return strcmp(name, "ECDSA") == 0 || strcmp(name, "END") == 0 ||
           (digit && strcmp(name, "E2BIG") != 0);
}

static void test_every_returned_errno_has_text(void **state)
{
    (void)state;
    static char names[256][32];
    size_t n = 0;
    scan(AZK_SOURCE_DIR "/src", names, &n, 256);
    scan(AZK_SOURCE_DIR "/include", names, &n, 256);
    assert_true(n > 20);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (not_errno(names[i]))
            continue;
        const struct azki_errno_info *e = azki_errno_by_name(names[i]);
        if (e == NULL)
            fail_msg("the code returns -%s, which `azkit errno` does not know: add it to "
                     "src/doctor/errno_explain.c (and azk_strerror)", names[i]);
        assert_true(e->linux_no != 0);
        const char *text = azk_strerror(-e->linux_no);
        if (strstr(text, "not known") != NULL || strstr(text, "unknown") != NULL)
            fail_msg("azk_strerror(-%s) = \"%s\"", names[i], text);
        checked++;
    }
    /* The ones the issue named, whether or not the code returns them today. */
    const int named[] = {ENOKEY, EMFILE, EALREADY, ECANCELED, ENOTCONN};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        assert_null(strstr(azk_strerror(-named[i]), "not known"));
    assert_true(checked > 20);
    /* A number nobody returns still gets a sentence, never "unknown error". */
    assert_null(strstr(azk_strerror(-123456), "unknown error"));
}

/* Linux numbers: what glibc calls that number. */
static void test_linux_numbers_match_glibc(void **state)
{
    (void)state;
    size_t n;
    const struct azki_errno_info *t = azki_errno_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].linux_no == 0)
            continue;
        const char *g = strerrorname_np(t[i].linux_no);
        assert_non_null(g);
        /* Linux gives ENOTSUP and EOPNOTSUPP one number. */
        bool alias = strcmp(t[i].name, "ENOTSUP") == 0 && strcmp(g, "EOPNOTSUPP") == 0;
        if (strcmp(g, t[i].name) != 0 && !alias)
            fail_msg("%s: Linux %d is %s", t[i].name, t[i].linux_no, g);
    }
}

/* nRF91 numbers: newlib's sys/errno.h, when installed. */
static void test_nrf91_numbers_match_newlib(void **state)
{
    (void)state;
    const char *path = "/usr/include/newlib/sys/errno.h";
    if (!azk_test_exists(path)) {
        print_message("skipped: %s is not installed\n", path);
        return;
    }
    char *text = azk_test_read(path, NULL);
    size_t n, compared = 0;
    const struct azki_errno_info *t = azki_errno_table(&n);
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof(want), "#define %s ", t[i].name);
        char *p = strstr(text, want);
        char want_tab[64];
        snprintf(want_tab, sizeof(want_tab), "#define\t%s ", t[i].name);
        if (p == NULL)
            p = strstr(text, want_tab);
        if (t[i].nrf91 == 0) {
            /* Not a newlib number (Linux-only names). */
            if (p != NULL && strcmp(t[i].name, "ESTALE") != 0)
                fail_msg("%s is in newlib but the table has no nRF91 number", t[i].name);
            continue;
        }
        if (p == NULL)
            fail_msg("%s is not in %s", t[i].name, path);
        int v = atoi(p + strlen(want));
        if (v != t[i].nrf91)
            fail_msg("%s: newlib %d, table %d", t[i].name, v, t[i].nrf91);
        compared++;
    }
    free(text);
    assert_true(compared > 30);
}

/* The numbers a user asks about, and the ones that differ between the systems. */
static void test_lookups(void **state)
{
    (void)state;
    assert_string_equal(azki_errno_by_nrf91(-111)->name, "ECONNREFUSED");
    assert_string_equal(azki_errno_by_linux(-111)->name, "ECONNREFUSED");
    assert_string_equal(azki_errno_by_nrf91(-113)->name, "ECONNABORTED");
    assert_string_equal(azki_errno_by_linux(-113)->name, "EHOSTUNREACH");
    assert_string_equal(azki_errno_by_nrf91(-116)->name, "ETIMEDOUT");
    assert_string_equal(azki_errno_by_linux(-116)->name, "ESTALE");
    assert_string_equal(azki_errno_by_nrf91(-110)->name, "ESHUTDOWN");
    assert_string_equal(azki_errno_by_linux(-110)->name, "ETIMEDOUT");
    assert_string_equal(azki_errno_by_nrf91(-95)->name, "EOPNOTSUPP");
    assert_string_equal(azki_errno_by_nrf91(-104)->name, "ECONNRESET");
    assert_string_equal(azki_errno_by_nrf91(-22)->name, "EINVAL");
    assert_string_equal(azki_errno_by_nrf91(-12)->name, "ENOMEM");
    assert_string_equal(azki_errno_by_name("econnrefused")->name, "ECONNREFUSED");
    assert_null(azki_errno_by_name("ENOSUCH"));
    assert_null(azki_errno_by_nrf91(0));
    /* Every entry has a meaning and, on each system it exists on, at least one cause. */
    size_t n;
    const struct azki_errno_info *t = azki_errno_table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].meaning);
        assert_non_null(t[i].nrf91_causes[0].cause);
        assert_non_null(t[i].linux_causes[0].cause);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(t[i].name, t[j].name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_returned_errno_has_text),
        cmocka_unit_test(test_linux_numbers_match_glibc),
        cmocka_unit_test(test_nrf91_numbers_match_newlib),
        cmocka_unit_test(test_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

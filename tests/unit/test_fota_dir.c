/* The FOTA directory (azkit/fota_posix.h): the saved state reads back as written and a broken
 * state file reads as "nothing saved" (the state machine starts without a job); staging drops
 * what lies after a fragment it rewrites; verify refuses a wrong size or digest; apply keeps
 * the previous image; the fail-boot marker rolls back exactly once, also to "no image". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "azkit/fota_posix.h"
#include "support/test_util.h"

static char g_dir[512];

static void write_file(const char *name, const char *text)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    struct azk_fota_dir d;
    struct azk_fota_saved s = {.status = AZK_FOTA_DOWNLOADING, .offset = 4096, .total = 9000}, r;
    char running[AZK_FOTA_VERSION_SIZE];
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1.0", running, NULL), 0);
    assert_string_equal(running, "1.0");
    assert_int_equal(d.store.load(&d.store, &r), -ENOENT);
    strcpy(s.previous, "1.0");
    strcpy(s.job.version, "2 \"beta\"");
    strcpy(s.job.job_id, "j-1");
    strcpy(s.job.host, "fw.example:8443");
    strcpy(s.job.path, "a/b.bin");
    s.job.fragment_size = 4096;
    s.job.has_size = true;
    s.job.size = 9000;
    s.job.has_sha256 = true;
    memset(s.job.sha256, 0xab, 32);
    assert_int_equal(d.store.save(&d.store, &s), 0);
    assert_int_equal(d.store.load(&d.store, &r), 0);
    assert_int_equal(r.status, AZK_FOTA_DOWNLOADING);
    assert_true(r.offset == 4096 && r.total == 9000);
    assert_string_equal(r.previous, "1.0");
    assert_memory_equal(&r.job, &s.job, sizeof(s.job));
    /* a broken state file: nothing saved, and the state machine starts without a job */
    write_file("state", "{\"status\":\"downloading\",");
    assert_int_equal(d.store.load(&d.store, &r), -EIO);
    struct azk_fota f;
    assert_int_equal(azk_fota_init(&f, running, &d.store), 0);
    assert_false(azk_fota_progress(&f, NULL, NULL));
    azk_test_rmrf(g_dir);
}

static void test_stage_verify_apply_rollback(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    struct azk_fota_dir d;
    struct azk_fota_saved s = {.status = AZK_FOTA_REBOOTING};
    char running[AZK_FOTA_VERSION_SIZE];
    uint8_t sha[32];
    bool rolled;
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1", running, NULL), 0);
    assert_int_equal(azk_fota_dir_verify(&d, 3, NULL), -ENOENT);
    assert_int_equal(azk_fota_dir_stage(&d, 0, "abcXXXX", 7), 0);
    assert_int_equal(azk_fota_dir_stage(&d, 3, "def", 3), 0); /* drops the rest */
    SHA256((const unsigned char *)"abcdef", 6, sha);
    assert_int_equal(azk_fota_dir_verify(&d, 7, NULL), -EMSGSIZE);
    assert_int_equal(azk_fota_dir_verify(&d, 6, sha), 0);
    sha[0] ^= 1;
    assert_int_equal(azk_fota_dir_verify(&d, 6, sha), -EBADMSG);
    /* the first update: no previous image; the marker rolls back to none (the fallback) */
    assert_int_equal(azk_fota_dir_apply(&d, "2"), 0);
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1", running, &rolled), 0);
    assert_string_equal(running, "2");
    assert_false(rolled);
    assert_int_equal(d.store.save(&d.store, &s), 0);
    write_file("fail-boot", "");
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1", running, &rolled), 0);
    assert_true(rolled);
    assert_string_equal(running, "1");
    /* a second update over an image: the marker puts that image back, once */
    assert_int_equal(azk_fota_dir_stage(&d, 0, "v2", 2), 0);
    assert_int_equal(azk_fota_dir_apply(&d, "2"), 0);
    assert_int_equal(azk_fota_dir_stage(&d, 0, "v3", 2), 0);
    assert_int_equal(azk_fota_dir_apply(&d, "3"), 0);
    write_file("fail-boot", "");
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1", running, &rolled), 0);
    assert_true(rolled);
    assert_string_equal(running, "2");
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1", running, &rolled), 0);
    assert_false(rolled); /* the marker was used up */
    assert_string_equal(running, "2");
    /* bad arguments and a bad version file */
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "", running, NULL), -EINVAL);
    write_file("image.version", "\n");
    assert_int_equal(azk_fota_dir_open(&d, g_dir, "1", running, NULL), -EINVAL);
    azk_test_rmrf(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_stage_verify_apply_rollback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

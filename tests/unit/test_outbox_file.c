/* The file outbox (azkit/outbox_file.h): what put() accepted is there after reopening; a torn
 * last record (a crash mid-write) is cut and the rest kept; removals are replayed; the log is
 * compacted; one process at a time; full without eviction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azkit/outbox_file.h"
#include "support/test_util.h"

static char g_dir[512], g_path[700];

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    snprintf(g_path, sizeof(g_path), "%s/outbox.log", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    azk_test_rmrf(g_dir);
    return 0;
}

static uint32_t put(struct azk_outbox_file *f, const char *props, const char *payload)
{
    struct azk_outbox *ob = azk_outbox_file_outbox(f);
    uint32_t id = 0;
    assert_int_equal(ob->put(ob, azk_span_from_str(props), azk_span_from_str(payload), &id), 0);
    return id;
}

static off_t file_size(void)
{
    struct stat st;
    assert_int_equal(stat(g_path, &st), 0);
    return st.st_size;
}

static void test_survives_reopen_and_torn_tail(void **state)
{
    (void)state;
    struct azk_outbox_file *f;
    struct azk_outbox_file_info info;
    assert_int_equal(azk_outbox_file_open(g_path, 0, &f, &info), 0);
    assert_int_equal(info.messages, 0);
    assert_int_equal(put(f, "a=1", "{\"n\":1}"), 1);
    assert_int_equal(put(f, "", "{\"n\":2}"), 2);
    assert_int_equal(put(f, "", "{\"n\":3}"), 3);
    struct azk_outbox *ob = azk_outbox_file_outbox(f);
    assert_int_equal(ob->remove(ob, 2), 0);
    assert_int_equal(ob->remove(ob, 2), -ENOENT);
    /* A second process cannot open it while this one has it. */
    struct azk_outbox_file *g;
    assert_int_equal(azk_outbox_file_open(g_path, 0, &g, NULL), -EBUSY);
    azk_outbox_file_close(f);

    /* A crash in the middle of the next put: half a record at the end. */
    off_t before = file_size();
    assert_int_equal(azk_outbox_file_open(g_path, 0, &f, NULL), 0);
    put(f, "", "{\"n\":4}");
    azk_outbox_file_close(f);
    off_t full = file_size();
    assert_int_equal(truncate(g_path, before + (full - before) / 2), 0);

    assert_int_equal(azk_outbox_file_open(g_path, 0, &f, &info), 0);
    assert_int_equal(info.messages, 2);
    assert_true(info.torn_bytes > 0);
    assert_int_equal(file_size(), before); /* cut */
    ob = azk_outbox_file_outbox(f);
    struct azk_outbox_msg m;
    assert_int_equal(ob->next(ob, 0, &m), 0);
    assert_int_equal(m.id, 1);
    assert_true(azk_span_eq_str(m.props, "a=1"));
    assert_true(azk_span_eq_str(m.payload, "{\"n\":1}"));
    assert_int_equal(ob->next(ob, 1, &m), 0);
    assert_int_equal(m.id, 3);
    assert_int_equal(ob->next(ob, 3, &m), -ENOENT);
    /* Ids go on after the ones it holds. */
    assert_int_equal(put(f, "", "{\"n\":5}"), 4);
    azk_outbox_file_close(f);

    /* A flipped byte in the last record: its CRC fails, it is cut, the others stay. */
    int fd = open(g_path, O_RDWR);
    off_t end = lseek(fd, 0, SEEK_END);
    char b;
    assert_int_equal(pread(fd, &b, 1, end - 6), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, end - 6), 1);
    close(fd);
    assert_int_equal(azk_outbox_file_open(g_path, 0, &f, &info), 0);
    assert_int_equal(info.messages, 2);
    assert_int_equal(azk_outbox_file_count(f), 2);
    azk_outbox_file_close(f);
    unlink(g_path);
}

static void test_full_and_compaction(void **state)
{
    (void)state;
    struct azk_outbox_file *f;
    assert_int_equal(azk_outbox_file_open(g_path, 100, &f, NULL), 0);
    struct azk_outbox *ob = azk_outbox_file_outbox(f);
    uint32_t id;
    /* 12 + 30 bytes each: two fit in 100. */
    const char *body = "012345678901234567890123456789";
    put(f, "", body);
    put(f, "", body);
    assert_int_equal(ob->put(ob, (struct azk_span){0}, azk_span_from_str(body), &id), -ENOSPC);
    assert_int_equal(azk_outbox_file_count(f), 2); /* nothing evicted */
    azk_outbox_file_close(f);
    unlink(g_path);

    /* Many messages through: the log is rewritten and stays small. */
    assert_int_equal(azk_outbox_file_open(g_path, 0, &f, NULL), 0);
    ob = azk_outbox_file_outbox(f);
    static char big[4000];
    memset(big, 'x', sizeof(big) - 1);
    uint32_t last = 0;
    for (int i = 0; i < 600; i++) {
        last = put(f, "", big);
        if (i > 0)
            assert_int_equal(ob->remove(ob, last - 1), 0);
    }
    assert_true(file_size() < 3 * 1024 * 1024);
    azk_outbox_file_close(f);
    struct azk_outbox_file_info info;
    assert_int_equal(azk_outbox_file_open(g_path, 0, &f, &info), 0);
    assert_int_equal(info.messages, 1);
    assert_int_equal(info.torn_bytes, 0);
    struct azk_outbox_msg m;
    ob = azk_outbox_file_outbox(f);
    assert_int_equal(ob->next(ob, 0, &m), 0);
    assert_int_equal(m.id, last);
    azk_outbox_file_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_survives_reopen_and_torn_tail),
        cmocka_unit_test(test_full_and_compaction),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

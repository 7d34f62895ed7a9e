/* The store when the disk refuses writes, then takes them again. A child process appends
 * telemetry one message at a time under a file-size limit (RLIMIT_FSIZE, so the WAL's writes
 * fail with EFBIG part-way, as on a full disk), then with the limit lifted, and reports each
 * message's outcome through a pipe. The parent reopens the database and checks that:
 *  - some commits failed while the limit held, and every commit after it was lifted succeeded
 *    (a failed commit leaves nothing behind that breaks the next ones);
 *  - every message whose commit succeeded is there, whole, and nothing else is (a failed
 *    commit is not half-kept, and its frames do not reappear).
 * Both durabilities: the hub's own WAL writer gathers a commit's frames into one write
 * (store_wal_vfs.c), so a failed write must fail that commit and only that one. A third run
 * keeps 70 messages (segments of 10: every tenth commit empties the oldest segment first,
 * store_tel_seg.c), so failed commits also roll back segment moves: afterwards the store holds
 * the newest 70 to 80 committed messages, in order (the 40 after the limit do not go round
 * the ring of 80, so a segment move a failed commit kept would still show). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "hub/store/store.h"
#include "support/test_util.h"

#define MSGS_LIMITED 120
#define MSGS_AFTER 40
#define OK_FLAG (1ULL << 63)

static int done_rc;
static bool done;

static void tel_done(void *ctx, int rc)
{
    (void)ctx;
    done_rc = rc;
    done = true;
}

/* Appends one message whose payload names its number, waits for its commit, reports
 * seq | OK_FLAG (committed) or seq (failed). */
static void append_one(struct event_base *base, struct hub_store *st, unsigned n)
{
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    snprintf(t.device_id, sizeof t.device_id, "full-%u", n % 7);
    char payload[300];
    memset(payload, 'p', sizeof payload);
    snprintf(payload, sizeof payload, "message %u", n);
    t.payload = payload;
    t.payload_len = sizeof payload;
    t.app_props = "{\"k\":\"v\"}";
    uint64_t seq = 0;
    done = false;
    if (hub_store_telemetry_append(st, &t, &seq, tel_done, NULL) != 0)
        _exit(4);
    while (!done)
        event_base_loop(base, EVLOOP_ONCE);
    azk_test_report(done_rc == 0 ? seq | OK_FLAG : seq);
}

static off_t size_of(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/* The writer: `arg` is the store's configuration. */
static void child(void *arg)
{
    const struct hub_store_config *cfg = arg;
    const char *dir = cfg->data_dir;
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
    struct event_base *base = event_base_new();
    struct hub_store *st;
    if (!base || hub_store_open(cfg, base, &st, NULL) != 0)
        _exit(2);
    /* Room for a few dozen commits beyond what the files hold now. */
    off_t big = size_of(dir, "hub.db") > size_of(dir, "hub.db-wal") ? size_of(dir, "hub.db")
                                                                    : size_of(dir, "hub.db-wal");
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)big + 150000;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        _exit(5);
    for (unsigned n = 0; n < MSGS_LIMITED; n++)
        append_one(base, st, n);
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        _exit(6);
    for (unsigned n = MSGS_LIMITED; n < MSGS_LIMITED + MSGS_AFTER; n++)
        append_one(base, st, n);
    hub_store_close(st);
    event_base_free(base);
}

static void run(bool process_only, uint64_t keep)
{
    char dir[512];
    azk_test_mkdtemp(dir);
    struct hub_store_config wcfg = {.data_dir = dir, .telemetry_max = keep,
                                    .sync_process_only = process_only};
    int rd;
    pid_t pid = azk_test_fork_reporter(child, &wcfg, &rd);
    uint64_t seqs[MSGS_LIMITED + MSGS_AFTER];
    size_t n = 0;
    uint64_t v;
    while (n < MSGS_LIMITED + MSGS_AFTER && read(rd, &v, sizeof v) == (ssize_t)sizeof v)
        seqs[n++] = v;
    close(rd);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the writer process ended with status %d", status);
    assert_int_equal(n, MSGS_LIMITED + MSGS_AFTER);

    size_t failed = 0, ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (seqs[i] & OK_FLAG)
            ok++;
        else if (i < MSGS_LIMITED)
            failed++;
        else
            fail_msg("message %zu failed after the limit was lifted", i);
    }
    print_message("%s: %zu commits failed under the limit, %zu succeeded\n",
                  process_only ? "durability process" : "durability power", failed, ok);
    assert_true(failed > 0);          /* the limit was reached */
    assert_true(ok > MSGS_AFTER);     /* and some fitted under it */

    /* Reopen: exactly the committed messages retention keeps (all of them, or the newest
     * keep .. keep + a segment), whole, in order. */
    struct event_base *base = event_base_new();
    struct hub_store_config cfg = {.data_dir = dir, .telemetry_max = keep};
    struct hub_store *st;
    assert_int_equal(hub_store_open(&cfg, base, &st, NULL), 0);
    struct hub_telemetry *arr;
    size_t got;
    assert_int_equal(hub_store_telemetry_read(st, 0, NULL, 100000, &arr, &got), 0);
    if (ok <= keep)
        assert_int_equal(got, ok);
    else
        assert_true(got >= keep && got <= keep + keep / 7);
    size_t k = 0, skip = ok - got; /* the oldest committed ones retention dropped */
    for (size_t i = 0; i < n; i++) {
        if (!(seqs[i] & OK_FLAG) || (skip > 0 && skip--))
            continue;
        assert_int_equal(arr[k].seq, seqs[i] & ~OK_FLAG);
        char want[32];
        snprintf(want, sizeof want, "message %zu", i);
        assert_int_equal(arr[k].payload_len, 300);
        assert_memory_equal(arr[k].payload, want, strlen(want) + 1);
        k++;
    }
    hub_telemetry_free_array(arr, got);
    hub_store_close(st);
    event_base_free(base);
    azk_test_rmrf(dir);
}

static void test_disk_full_power(void **state)
{
    (void)state;
    run(false, 10000000);
}

static void test_disk_full_process(void **state)
{
    (void)state;
    run(true, 10000000);
}

static void test_disk_full_segments(void **state)
{
    (void)state;
    run(false, 70);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full_power),
        cmocka_unit_test(test_disk_full_process),
        cmocka_unit_test(test_disk_full_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

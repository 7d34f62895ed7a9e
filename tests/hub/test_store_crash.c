/* kill -9 durability of the hub's state store: a child process appends telemetry (and now and
 * then creates a device) as fast as it can and, in each completion callback, reports what
 * completed through a pipe. The parent kills it with SIGKILL at a random moment, reopens the
 * database and checks that everything the child saw completed is there. Repeated on the same
 * data directory, so the store also recovers from its own crashes again and again. Odd rounds
 * run with sync_process_only (`serve --durability process`: no fsync, commits made on the loop
 * thread when the writer is idle), whose promise for kill -9 is the same. Rounds 2 and 5 start
 * WAL checkpoints at 64 frames instead of 4096, so that the kill also falls while the
 * checkpoint thread copies the WAL into the database (store_checkpoint.c). Rounds 3 to 5 use
 * a second data directory and keep only ROUND_RETENTION records, so the writer empties
 * segments and moves on to the next (store_tel_seg.c) many times a round, and the kill also
 * falls in those transactions: then every reported record that retention keeps (the newest
 * ROUND_RETENTION) must be there, and the store must hold one run of consecutive records, at
 * least that many and at most a segment more. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "hub/store/store.h"
#include "support/test_util.h"

#define DEV_FLAG (1ULL << 63)
#define ROUND_RETENTION 7000 /* 8 segments of 1,000 */

/* The telemetry a round keeps. */
static uint64_t round_retention(unsigned round)
{
    return round >= 3 ? ROUND_RETENTION : 10000000;
}

static long outstanding;

/* ctx is a heap cell the append filled with the record's seq (seq_out). */
static void tel_done(void *ctx, int rc)
{
    if (rc != 0)
        _exit(4);
    uint64_t *seq = ctx;
    azk_test_report(*seq);
    free(seq);
    outstanding--;
}

static void dev_done(void *ctx, int rc)
{
    if (rc != 0)
        _exit(5);
    azk_test_report(DEV_FLAG | (uint64_t)(uintptr_t)ctx);
    outstanding--;
}

struct child_args {
    const char *dir;
    unsigned round;
};

/* Never returns: appends until the parent kills it. */
static void child(void *arg)
{
    const struct child_args *a = arg;
    const char *dir = a->dir;
    unsigned round = a->round;
    struct event_base *base = event_base_new();
    struct hub_store_config cfg = {.data_dir = dir, .telemetry_max = round_retention(round),
                                   .sync_process_only = round % 2 == 1,
                                   .wal_checkpoint_frames = round % 3 == 2 ? 64 : 0};
    struct hub_store *st;
    if (!base || hub_store_open(&cfg, base, &st, NULL) != 0)
        _exit(2);
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    snprintf(t.device_id, sizeof t.device_id, "crash-%u", round);
    char payload[200];
    memset(payload, 'p', sizeof payload);
    t.payload = payload;
    t.payload_len = sizeof payload;
    t.app_props = "{\"k\":\"v\"}";
    for (unsigned n = 0;; n++) {
        /* Bounded backlog: wait for completions when 2000 are outstanding. */
        while (outstanding > 2000)
            event_base_loop(base, EVLOOP_ONCE);
        for (int i = 0; i < 20; i++) {
            uint64_t *seq = malloc(sizeof *seq);
            if (!seq || hub_store_telemetry_append(st, &t, seq, tel_done, seq) != 0)
                _exit(6);
            outstanding++;
        }
        if (n % 5 == 0) {
            struct hub_device d;
            memset(&d, 0, sizeof d);
            snprintf(d.device_id, sizeof d.device_id, "dev-%u-%u", round, n);
            d.auth = HUB_AUTH_NONE;
            if (hub_store_device_create(st, &d, NULL, dev_done,
                                        (void *)(uintptr_t)((uint64_t)round << 32 | n)) != 0)
                _exit(7);
            outstanding++;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
}

static void sync_done(void *ctx, int rc)
{
    assert_int_equal(rc, 0);
    *(int *)ctx = 1;
}

/* The store holds one run of consecutive records ending at the newest: at least `keep` (or
 * all there ever were) and at most a segment (keep / 7) more. */
static void check_one_run(struct hub_store *st, uint64_t keep)
{
    uint64_t last = hub_store_telemetry_last_seq(st);
    struct hub_telemetry *arr;
    size_t n;
    assert_int_equal(hub_store_telemetry_read(st, 0, NULL, 100000, &arr, &n), 0);
    assert_true(n >= (last < keep ? last : keep) && n <= keep + keep / 7);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(arr[k].seq, last - n + 1 + k);
    hub_telemetry_free_array(arr, n);
}

static void test_kill9(void **state)
{
    (void)state;
    char dirs[2][512];
    azk_test_mkdtemp(dirs[0]);
    azk_test_mkdtemp(dirs[1]);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    size_t cap = 1 << 20, total_tel = 0, total_dev = 0;
    uint64_t *tel = malloc(cap * sizeof *tel);
    uint64_t *devs = malloc(cap * sizeof *devs);
    size_t ntel = 0, ndev = 0;

    for (unsigned round = 0; round < 6; round++) {
        const char *dir = dirs[round_retention(round) == ROUND_RETENTION];
        struct child_args args = {dir, round};
        int rd;
        pid_t pid = azk_test_fork_reporter(child, &args, &rd);
        /* Wait for the first report (opening the store is slow under sanitizers on a busy
         * machine), then read reports for a random 50..400 ms more, then kill. */
        {
            struct pollfd p = {rd, POLLIN, 0};
            assert_true(poll(&p, 1, 30000) > 0);
        }
        int ms = 50 + rand() % 350;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (el >= ms)
                break;
            struct pollfd p = {rd, POLLIN, 0};
            if (poll(&p, 1, (int)(ms - el)) > 0) {
                uint64_t v;
                ssize_t r = read(rd, &v, sizeof v);
                if (r == 0)
                    break;
                assert_int_equal(r, sizeof v);
                if (v & DEV_FLAG)
                    devs[ndev++] = v & ~DEV_FLAG;
                else
                    tel[ntel++] = v;
                assert_true(ntel < cap && ndev < cap);
            }
        }
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("child exited early: status %d", status);
        /* Everything still in the pipe was reported before the kill. */
        uint64_t v;
        ssize_t r;
        while ((r = read(rd, &v, sizeof v)) == (ssize_t)sizeof v) {
            if (v & DEV_FLAG)
                devs[ndev++] = v & ~DEV_FLAG;
            else
                tel[ntel++] = v;
            assert_true(ntel < cap && ndev < cap);
        }
        close(rd);

        /* Reopen and check. */
        struct event_base *base = event_base_new();
        uint64_t keep = round_retention(round);
        struct hub_store_config cfg = {.data_dir = dir, .telemetry_max = keep};
        struct hub_store *st;
        struct azk_diag d;
        azk_diag_init(&d);
        int rc = hub_store_open(&cfg, base, &st, &d);
        if (rc != 0)
            fail_msg("reopen after kill -9: %d %s", rc, d.count ? d.items[0].message : "");
        /* Every reported seq is present (reported seqs are increasing within a round). */
        uint64_t last = hub_store_telemetry_last_seq(st);
        for (size_t i = total_tel; i < ntel; i++)
            assert_true(tel[i] <= last);
        size_t i = total_tel;
        /* Retention may have dropped this round's first reports, never the newest `keep`. */
        while (i < ntel && last > keep && tel[i] <= last - keep)
            i++;
        if (keep == ROUND_RETENTION)
            check_one_run(st, keep);
        uint64_t after = i < ntel ? tel[i] - 1 : last;
        while (i < ntel) {
            struct hub_telemetry *arr;
            size_t n;
            assert_int_equal(hub_store_telemetry_read(st, after, NULL, 5000, &arr, &n), 0);
            assert_true(n > 0);
            for (size_t k = 0; k < n && i < ntel; k++) {
                if (arr[k].seq == tel[i]) {
                    assert_int_equal(arr[k].payload_len, 200);
                    i++;
                } else {
                    assert_true(arr[k].seq < tel[i]);
                }
            }
            after = arr[n - 1].seq;
            hub_telemetry_free_array(arr, n);
        }
        for (size_t k = total_dev; k < ndev; k++) {
            char id[64];
            snprintf(id, sizeof id, "dev-%u-%u", (unsigned)(devs[k] >> 32),
                     (unsigned)(devs[k] & 0xffffffffu));
            struct hub_device got;
            if (hub_store_device_get(st, id, &got) != 0)
                fail_msg("device %s completed before kill -9 but is missing", id);
        }
        print_message("round %u: killed after %d ms; %zu telemetry and %zu device writes "
                      "reported, all present\n",
                      round, ms, ntel - total_tel, ndev - total_dev);
        if (keep == ROUND_RETENTION) {
            /* The store goes on from where the crash left it: 1,500 more records (a segment
             * and a half) and still one run, ending at the newest. */
            struct hub_telemetry t;
            memset(&t, 0, sizeof t);
            strcpy(t.device_id, "after-crash");
            for (int k = 0; k < 1500; k++)
                assert_int_equal(hub_store_telemetry_append(st, &t, NULL, NULL, NULL), 0);
            int synced = 0;
            assert_int_equal(hub_store_sync(st, sync_done, &synced), 0);
            while (!synced)
                event_base_loop(base, EVLOOP_ONCE);
            check_one_run(st, keep);
            assert_int_equal(hub_store_telemetry_last_seq(st), last + 1500);
        }
        assert_true(ntel > total_tel); /* the child made progress */
        total_tel = ntel;
        total_dev = ndev;
        hub_store_close(st);
        event_base_free(base);
    }
    free(tel);
    free(devs);
    azk_test_rmrf(dirs[0]);
    azk_test_rmrf(dirs[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

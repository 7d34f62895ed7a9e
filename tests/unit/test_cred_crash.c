/* Crash safety of the directory store: a write stopped at each step, and writers killed with
 * SIGKILL at random moments, always leave the old or the new credential -- never a torn,
 * empty or missing one. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "azkit/azkit.h"
#include "cred/backend_dir.h"
#include "support/test_util.h"

static char dir[512];
static char *old_pem, *new_pem;
static size_t old_len, new_len;

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(dir);
    /* Two valid credentials of clearly different sizes: an EC root and an RSA root. */
    AZK_MUST("pki", "root", "--cn", "Old Root", "--out", azk_path(dir, "old"));
    AZK_MUST("pki", "root", "--cn", "New Root", "--key-type", "rsa", "--out", azk_path(dir, "new"));
    old_pem = azk_test_read(azk_path(dir, "old.cert.pem"), &old_len);
    new_pem = azk_test_read(azk_path(dir, "new.cert.pem"), &new_len);
    old_len--; /* canonical form: no final LF */
    new_len--;
    assert_int_not_equal(old_len, new_len);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(old_pem);
    free(new_pem);
    azk_test_rmrf(dir);
    return 0;
}

/* 0 = old, 1 = new; fails the test on anything else. */
static int which_version(const char *store)
{
    struct azk_credstore *s;
    assert_int_equal(azk_credstore_open_dir(store, &s, NULL), 0);
    char *buf = malloc(16384);
    size_t n = 16384;
    int rc = azk_cred_read(s, 5, AZK_CRED_CA_CHAIN, buf, &n);
    azk_credstore_close(s);
    if (rc != 0)
        fail_msg("credential missing after crash: %d", rc);
    int v = -1;
    if (n == old_len && memcmp(buf, old_pem, n) == 0)
        v = 0;
    else if (n == new_len && memcmp(buf, new_pem, n) == 0)
        v = 1;
    free(buf);
    if (v < 0)
        fail_msg("torn credential: %zu bytes, neither old (%zu) nor new (%zu)", n, old_len, new_len);
    return v;
}

static enum azki_write_step stop_step;
static int hook_calls;

static int stop_hook(enum azki_write_step step, void *user)
{
    (void)user;
    hook_calls++;
    return step == stop_step;
}

static int count_cb(azk_sec_tag_t tag, int type, void *user)
{
    assert_int_equal(tag, 5);
    assert_int_equal(type, AZK_CRED_CA_CHAIN);
    (*(int *)user)++;
    return 0;
}

static void test_stop_at_each_step(void **state)
{
    (void)state;
    for (int step = 1; step <= AZKI_WSTEP_COUNT; step++) {
        char store[600];
        snprintf(store, sizeof(store), "%s/step%d", dir, step);
        struct azk_credstore *s;
        assert_int_equal(azk_credstore_open_dir(store, &s, NULL), 0);
        assert_int_equal(azk_cred_write(s, 5, AZK_CRED_CA_CHAIN, old_pem, old_len), 0);
        stop_step = (enum azki_write_step)step;
        hook_calls = 0;
        azki_credstore_dir_set_fault_hook(s, stop_hook, NULL);
        assert_int_equal(azk_cred_write(s, 5, AZK_CRED_CA_CHAIN, new_pem, new_len), -EINTR);
        assert_int_equal(hook_calls, step);
        azk_credstore_close(s);
        /* Before the rename the old credential survives; from the rename on, the new one. */
        assert_int_equal(which_version(store), step >= AZKI_WSTEP_RENAMED ? 1 : 0);
        /* Leftover temporary files are invisible to list, and a later write succeeds. */
        assert_int_equal(azk_credstore_open_dir(store, &s, NULL), 0);
        int count = 0;
        assert_int_equal(azk_cred_list(s, count_cb, &count), 0);
        assert_int_equal(count, 1);
        assert_int_equal(azk_cred_write(s, 5, AZK_CRED_CA_CHAIN, new_pem, new_len), 0);
        assert_int_equal(azk_cred_clear(s, 5), 0); /* removes leftovers too */
        assert_false(azk_test_exists(azk_path(store, "5")));
        azk_credstore_close(s);
    }
}

/* A child that rewrites the credential forever, alternating old and new. */
static void writer_loop(const char *store, int start)
{
    struct azk_credstore *s;
    if (azk_credstore_open_dir(store, &s, NULL) != 0)
        _exit(3);
    for (int i = start;; i++) {
        const char *p = i % 2 ? new_pem : old_pem;
        size_t n = i % 2 ? new_len : old_len;
        if (azk_cred_write(s, 5, AZK_CRED_CA_CHAIN, p, n) != 0)
            _exit(4);
    }
}

static void test_sigkill_soak(void **state)
{
    (void)state;
    char store[600];
    snprintf(store, sizeof(store), "%s/soak", dir);
    struct azk_credstore *s;
    assert_int_equal(azk_credstore_open_dir(store, &s, NULL), 0);
    assert_int_equal(azk_cred_write(s, 5, AZK_CRED_CA_CHAIN, old_pem, old_len), 0);
    azk_credstore_close(s);
    srand((unsigned)time(NULL));
    int seen[2] = {0, 0};
    const int rounds = 60;
    for (int round = 0; round < rounds; round++) {
        /* Two concurrent writers, killed together at a random moment. */
        pid_t kids[2];
        for (int k = 0; k < 2; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0)
                writer_loop(store, k);
        }
        struct timespec ts = {0, (long)(rand() % 20000) * 1000L};
        nanosleep(&ts, NULL);
        for (int k = 0; k < 2; k++) {
            kill(kids[k], SIGKILL);
            int st;
            assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
            if (WIFEXITED(st))
                fail_msg("writer exited with %d instead of being killed", WEXITSTATUS(st));
        }
        seen[which_version(store)]++;
    }
    print_message("soak: %d rounds, old %d, new %d\n", rounds, seen[0], seen[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_at_each_step),
        cmocka_unit_test(test_sigkill_soak),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

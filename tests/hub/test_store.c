/* The hub's state store against real SQLite in a scratch directory and a real event_base:
 * every operation, completion order, group commit, persistence across close/open, C2D rules,
 * etags, cascading deletes, lazy connection state, and the errors at open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "hub/store/store.h"
#include "support/test_util.h"

struct fx {
    char dir[512];
    struct event_base *base;
    struct hub_store *st;
};

/* Completion recorder: ctx is the index of the op; records order and rc. */
#define REC_MAX 20000
static int rec_order[REC_MAX];
static int rec_rc[REC_MAX];
static int rec_n;

static void rec_done(void *ctx, int rc)
{
    assert_true(rec_n < REC_MAX);
    rec_order[rec_n] = (int)(intptr_t)ctx;
    rec_rc[rec_n] = rc;
    rec_n++;
}

static void *idx(int i)
{
    return (void *)(intptr_t)i;
}

/* Runs the loop until `n` completions were recorded. */
static void wait_done(struct fx *f, int n)
{
    for (int spins = 0; rec_n < n; spins++) {
        assert_true(spins < 100000);
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static int sync_flag;
static void sync_done(void *ctx, int rc)
{
    (void)ctx;
    assert_int_equal(rc, 0);
    sync_flag = 1;
}

/* Waits until everything submitted so far has committed. */
static void settle(struct fx *f)
{
    sync_flag = 0;
    assert_int_equal(hub_store_sync(f->st, sync_done, NULL), 0);
    while (!sync_flag)
        event_base_loop(f->base, EVLOOP_ONCE);
}

/* The second pass runs every test again with sync_process_only (`serve --durability process`),
 * where the loop thread commits inline whenever the writer thread is idle. */
static bool g_process_durability;

static void open_store_cfg(struct fx *f, const struct hub_store_config *cfg_in)
{
    struct hub_store_config cfg = {0};
    if (cfg_in)
        cfg = *cfg_in;
    cfg.data_dir = f->dir;
    cfg.sync_process_only = g_process_durability;
    struct azk_diag d;
    azk_diag_init(&d);
    int rc = hub_store_open(&cfg, f->base, &f->st, &d);
    if (rc != 0)
        fail_msg("open: %d %s", rc, d.count ? d.items[0].message : "");
}

static void open_store(struct fx *f)
{
    open_store_cfg(f, NULL);
}

static void reopen(struct fx *f)
{
    hub_store_close(f->st);
    f->st = NULL;
    open_store(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    azk_test_mkdtemp(f->dir);
    f->base = event_base_new();
    rec_n = 0;
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hub_store_close(f->st);
    event_base_free(f->base);
    azk_test_rmrf(f->dir);
    free(f);
    return 0;
}

static struct hub_device mkdev(const char *id)
{
    struct hub_device d;
    memset(&d, 0, sizeof d);
    snprintf(d.device_id, sizeof d.device_id, "%s", id);
    d.auth = HUB_AUTH_SELF_SIGNED;
    snprintf(d.primary_thumbprint, sizeof d.primary_thumbprint, "%s",
             "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd");
    d.status = HUB_DEVICE_ENABLED;
    return d;
}

/* Runs one SQL query on the DB file (a separate connection) and returns the first column of
 * the first row as an integer. */
static long long db_int(struct fx *f, const char *sql, const char *arg)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(azk_path(f->dir, "hub.db"), &db, SQLITE_OPEN_READONLY,
                                     NULL),
                     SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* ---- helpers ---- */

static void test_helpers(void **state)
{
    (void)state;
    char tp[HUB_THUMBPRINT_MAX + 1], et[HUB_ETAG_MAX + 1];
    assert_int_equal(hub_thumbprint_normalise("ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"
                                              ":ab:cd:ef:01",
                                              tp),
                     0);
    assert_string_equal(tp, "ABCDEF0123456789ABCDEF0123456789ABCDEF01");
    assert_int_equal(hub_thumbprint_normalise("abc", tp), -EINVAL);
    assert_int_equal(hub_thumbprint_normalise("zz", tp), -EINVAL);
    assert_int_equal(hub_thumbprint_normalise("", tp), 0);
    assert_string_equal(tp, "");
    char sha256[80];
    memset(sha256, 'f', 64);
    sha256[64] = 0;
    assert_int_equal(hub_thumbprint_normalise(sha256, tp), 0);
    assert_int_equal(strlen(tp), 64);
    hub_etag_from_counter(0, et);
    assert_string_equal(et, "MA==");
    hub_etag_from_counter(1, et);
    assert_string_equal(et, "MQ==");
    hub_etag_from_counter(12, et);
    assert_string_equal(et, "MTI=");
    hub_twin_etag_text(1, et);
    assert_string_equal(et, "AAAAAAAAAAE=");
    assert_int_equal(hub_device_id_valid("dev+#?$%';1"), 0);
    assert_int_equal(hub_device_id_valid("bad/id"), -EINVAL);
    assert_int_equal(hub_device_id_valid(""), -EINVAL);
}

/* ---- registry ---- */

static void test_device_crud(void **state)
{
    struct fx *f = *state;
    struct hub_device d = mkdev("dev+#?$%';1"), out, got;
    assert_int_equal(hub_store_device_create(f->st, &d, &out, rec_done, idx(0)), 0);
    assert_string_equal(out.primary_thumbprint, "AABBCCDDEEFF00112233445566778899AABBCCDD");
    assert_string_equal(out.etag, "MA==");
    assert_true(out.generation_id[0] != '\0');
    assert_true(out.created_ms > 0);
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, rec_done, idx(99)), -EEXIST);

    struct hub_device bad = mkdev("bad/id");
    assert_int_equal(hub_store_device_create(f->st, &bad, NULL, rec_done, idx(99)), -EINVAL);
    bad = mkdev("x");
    strcpy(bad.primary_thumbprint, "1234");
    assert_int_equal(hub_store_device_create(f->st, &bad, NULL, rec_done, idx(99)), -EINVAL);
    bad = mkdev("x");
    bad.primary_thumbprint[0] = 0;
    assert_int_equal(hub_store_device_create(f->st, &bad, NULL, rec_done, idx(99)), -EINVAL);

    /* Memory is updated at once: a get sees the device before the commit. */
    assert_int_equal(hub_store_device_get(f->st, d.device_id, &got), 0);
    assert_string_equal(got.generation_id, out.generation_id);
    wait_done(f, 1);
    assert_int_equal(rec_rc[0], 0);
    assert_int_equal(rec_order[0], 0);
    assert_int_equal(db_int(f, "SELECT count(*) FROM devices WHERE id=?", d.device_id), 1);

    /* Update: etag check. */
    d.status = HUB_DEVICE_DISABLED;
    strcpy(d.status_reason, "maintenance");
    d.auth = HUB_AUTH_CA;
    assert_int_equal(hub_store_device_update(f->st, &d, "MQ==", NULL, rec_done, idx(99)),
                     -ESTALE);
    assert_int_equal(hub_store_device_update(f->st, &d, "\"MA==\"", &out, rec_done, idx(1)), 0);
    assert_string_equal(out.etag, "MQ==");
    assert_int_equal(out.status, HUB_DEVICE_DISABLED);
    assert_string_equal(out.status_reason, "maintenance");
    assert_int_equal(out.auth, HUB_AUTH_CA);
    assert_int_equal(hub_store_device_update(f->st, &d, "*", &out, rec_done, idx(2)), 0);
    assert_string_equal(out.etag, "Mg==");
    assert_int_equal(hub_store_device_update(f->st, &d, NULL, &out, rec_done, idx(3)), 0);
    assert_string_equal(out.etag, "Mw==");
    struct hub_device ghost = mkdev("ghost");
    assert_int_equal(hub_store_device_update(f->st, &ghost, NULL, NULL, rec_done, idx(99)),
                     -ENOENT);

    /* List is sorted. */
    struct hub_device b = mkdev("b-dev"), a = mkdev("a-dev");
    b.auth = HUB_AUTH_NONE;
    b.primary_thumbprint[0] = 0;
    assert_int_equal(hub_store_device_create(f->st, &b, NULL, rec_done, idx(4)), 0);
    a.auth = HUB_AUTH_SAS;
    strcpy(a.primary_key, "a2V5MQ==");
    strcpy(a.secondary_key, "a2V5Mg==");
    assert_int_equal(hub_store_device_create(f->st, &a, NULL, rec_done, idx(5)), 0);
    struct hub_device *list;
    size_t n;
    assert_int_equal(hub_store_device_list(f->st, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(hub_store_device_count(f->st), 3);
    assert_string_equal(list[0].device_id, "a-dev");
    assert_string_equal(list[0].primary_key, "a2V5MQ==");
    assert_string_equal(list[1].device_id, "b-dev");
    assert_string_equal(list[2].device_id, "dev+#?$%';1");
    free(list);

    /* Delete with etag check. */
    assert_int_equal(hub_store_device_delete(f->st, "a-dev", "MQ==", rec_done, idx(99)),
                     -ESTALE);
    assert_int_equal(hub_store_device_delete(f->st, "a-dev", "MA==", rec_done, idx(6)), 0);
    assert_int_equal(hub_store_device_delete(f->st, "a-dev", NULL, rec_done, idx(99)), -ENOENT);
    assert_int_equal(hub_store_device_get(f->st, "a-dev", &got), -ENOENT);
    wait_done(f, 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(rec_order[i], i);
        assert_int_equal(rec_rc[i], 0);
    }
    assert_int_equal(db_int(f, "SELECT count(*) FROM devices", NULL), 2);

    /* Survives a restart. */
    reopen(f);
    assert_int_equal(hub_store_device_get(f->st, d.device_id, &got), 0);
    assert_string_equal(got.etag, "Mw==");
    assert_int_equal(got.etag_counter, 3);
    assert_int_equal(got.status, HUB_DEVICE_DISABLED);
    assert_string_equal(got.status_reason, "maintenance");
    assert_int_equal(got.auth, HUB_AUTH_CA);
    assert_string_equal(got.generation_id, out.generation_id);
    assert_int_equal(got.created_ms, out.created_ms);
    assert_int_equal(hub_store_device_get(f->st, "a-dev", &got), -ENOENT);
    assert_int_equal(hub_store_device_count(f->st), 2);
}

static void test_connection_state_lazy(void **state)
{
    struct fx *f = *state;
    hub_store_close(f->st);
    struct hub_store_config cfg = {.conn_flush_ms = 50};
    open_store_cfg(f, &cfg);
    struct hub_device d = mkdev("conn-1");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, NULL, NULL), 0);
    settle(f);
    struct hub_store_stats s0, s1;
    hub_store_get_stats(f->st, &s0);
    assert_int_equal(hub_store_device_set_connected(f->st, "conn-1", true, 1000), 0);
    assert_int_equal(hub_store_device_touch(f->st, "conn-1", 2000), 0);
    assert_int_equal(hub_store_device_set_connected(f->st, "nope", true, 1000), -ENOENT);
    struct hub_device got;
    assert_int_equal(hub_store_device_get(f->st, "conn-1", &got), 0);
    assert_true(got.connected);
    assert_int_equal(got.connection_state_updated_ms, 1000);
    assert_int_equal(got.last_activity_ms, 2000);
    /* Nothing was submitted synchronously. */
    hub_store_get_stats(f->st, &s1);
    assert_int_equal(s1.ops_submitted, s0.ops_submitted);
    /* The timer flushes it a little later. */
    struct timeval tv = {0, 200000};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
    settle(f);
    hub_store_get_stats(f->st, &s1);
    assert_true(s1.conn_flushes >= 1);
    assert_int_equal(db_int(f, "SELECT last_activity_ms FROM devices WHERE id=?", "conn-1"),
                     2000);
    assert_int_equal(db_int(f, "SELECT connected FROM devices WHERE id=?", "conn-1"), 1);

    /* At close the latest state is flushed; after a restart nobody is connected. */
    assert_int_equal(hub_store_device_touch(f->st, "conn-1", 3000), 0);
    reopen(f);
    assert_int_equal(hub_store_device_get(f->st, "conn-1", &got), 0);
    assert_false(got.connected);
    assert_int_equal(got.last_activity_ms, 3000);
    assert_int_equal(got.connection_state_updated_ms, 1000);
}

/* ---- CAs ---- */

static void test_cas(void **state)
{
    struct fx *f = *state;
    struct hub_ca ca, out, got;
    memset(&ca, 0, sizeof ca);
    strcpy(ca.name, "my-root");
    ca.pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    strcpy(ca.thumbprint_sha1, "0123456789abcdef0123456789abcdef01234567");
    memset(ca.thumbprint_sha256, 'a', 64);
    assert_int_equal(hub_store_ca_put(f->st, &ca, NULL, &out, rec_done, idx(0)), 0);
    assert_string_equal(out.etag, "MA==");
    assert_string_equal(out.thumbprint_sha1, "0123456789ABCDEF0123456789ABCDEF01234567");
    assert_false(out.verified);
    int64_t created = out.created_ms;
    hub_ca_clear(&out);

    struct hub_ca bad = ca;
    strcpy(bad.thumbprint_sha1, "ff");
    assert_int_equal(hub_store_ca_put(f->st, &bad, NULL, NULL, rec_done, idx(99)), -EINVAL);
    bad = ca;
    bad.pem = "";
    assert_int_equal(hub_store_ca_put(f->st, &bad, NULL, NULL, rec_done, idx(99)), -EINVAL);

    /* Replace: etag checked, created kept. */
    assert_int_equal(hub_store_ca_put(f->st, &ca, "MQ==", NULL, rec_done, idx(99)), -ESTALE);
    assert_int_equal(hub_store_ca_put(f->st, &ca, "MA==", &out, rec_done, idx(1)), 0);
    assert_string_equal(out.etag, "MQ==");
    assert_int_equal(out.created_ms, created);
    hub_ca_clear(&out);

    assert_int_equal(hub_store_ca_set_verification_code(f->st, "my-root", "CODE123", rec_done,
                                                        idx(2)),
                     0);
    assert_int_equal(hub_store_ca_get(f->st, "my-root", &got), 0);
    assert_string_equal(got.verification_code, "CODE123");
    assert_string_equal(got.etag, "Mg==");
    hub_ca_clear(&got);
    assert_int_equal(hub_store_ca_set_verified(f->st, "my-root", true, rec_done, idx(3)), 0);
    assert_int_equal(hub_store_ca_set_verified(f->st, "nope", true, rec_done, idx(99)), -ENOENT);

    struct hub_ca ca2 = ca;
    strcpy(ca2.name, "another");
    assert_int_equal(hub_store_ca_put(f->st, &ca2, NULL, NULL, rec_done, idx(4)), 0);
    wait_done(f, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rec_rc[i], 0);

    reopen(f);
    struct hub_ca *list;
    size_t n;
    assert_int_equal(hub_store_ca_list(f->st, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "another");
    assert_string_equal(list[1].name, "my-root");
    assert_true(list[1].verified);
    assert_string_equal(list[1].verification_code, "");
    assert_string_equal(list[1].etag, "Mw==");
    assert_string_equal(list[1].pem, ca.pem);
    assert_int_equal(list[1].created_ms, created);
    for (size_t i = 0; i < n; i++)
        hub_ca_clear(&list[i]);
    free(list);

    rec_n = 0;
    assert_int_equal(hub_store_ca_delete(f->st, "my-root", "MA==", rec_done, idx(99)), -ESTALE);
    assert_int_equal(hub_store_ca_delete(f->st, "my-root", "Mw==", rec_done, idx(0)), 0);
    assert_int_equal(hub_store_ca_delete(f->st, "my-root", NULL, rec_done, idx(99)), -ENOENT);
    assert_int_equal(hub_store_ca_get(f->st, "my-root", &got), -ENOENT);
    wait_done(f, 1);
    reopen(f);
    assert_int_equal(hub_store_ca_get(f->st, "my-root", &got), -ENOENT);
    assert_int_equal(hub_store_ca_get(f->st, "another", &got), 0);
    hub_ca_clear(&got);
}

/* ---- twins ---- */

static void test_twins(void **state)
{
    struct fx *f = *state;
    struct hub_device d = mkdev("tw-1");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, NULL, NULL), 0);
    struct hub_twin tw;
    assert_int_equal(hub_store_twin_get(f->st, "tw-1", &tw), 0);
    assert_string_equal(tw.desired, "{}");
    assert_string_equal(tw.reported, "{}");
    assert_string_equal(tw.tags, "{}");
    assert_int_equal(tw.desired_version, 1);
    assert_int_equal(tw.reported_version, 1);
    assert_int_equal(tw.etag, 1);
    assert_int_equal(tw.version, 1);
    hub_twin_clear(&tw);
    assert_int_equal(hub_store_twin_get(f->st, "nope", &tw), -ENOENT);
    assert_null(hub_store_twin_peek(f->st, "nope"));

    struct hub_twin nt = {0};
    strcpy(nt.device_id, "tw-1");
    nt.desired = "{\"fw\":\"1.2\"}";
    nt.desired_version = 2;
    nt.reported = "{\"temp\":21.5}";
    nt.reported_version = 5;
    nt.tags = NULL; /* -> "{}" */
    nt.etag = 7;
    nt.version = 8;
    assert_int_equal(hub_store_twin_set(f->st, &nt, rec_done, idx(0)), 0);
    const struct hub_twin *p = hub_store_twin_peek(f->st, "tw-1");
    assert_non_null(p);
    assert_string_equal(p->desired, "{\"fw\":\"1.2\"}");
    assert_string_equal(p->tags, "{}");
    strcpy(nt.device_id, "nope");
    assert_int_equal(hub_store_twin_set(f->st, &nt, rec_done, idx(99)), -ENOENT);
    wait_done(f, 1);
    assert_int_equal(rec_rc[0], 0);

    reopen(f);
    assert_int_equal(hub_store_twin_get(f->st, "tw-1", &tw), 0);
    assert_string_equal(tw.desired, "{\"fw\":\"1.2\"}");
    assert_string_equal(tw.reported, "{\"temp\":21.5}");
    assert_string_equal(tw.tags, "{}");
    assert_int_equal(tw.desired_version, 2);
    assert_int_equal(tw.reported_version, 5);
    assert_int_equal(tw.etag, 7);
    assert_int_equal(tw.version, 8);
    hub_twin_clear(&tw);
}

/* ---- C2D ---- */

static struct hub_c2d_msg mkmsg(const char *id, const char *payload, int64_t expiry)
{
    struct hub_c2d_msg m;
    memset(&m, 0, sizeof m);
    if (id)
        snprintf(m.message_id, sizeof m.message_id, "%s", id);
    m.payload = (void *)payload;
    m.payload_len = strlen(payload);
    m.properties = "a=1&%24.ct=text%2Fplain";
    m.expiry_ms = expiry;
    return m;
}

static void test_c2d(void **state)
{
    struct fx *f = *state;
    struct hub_device d = mkdev("c2d-1");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, NULL, NULL), 0);
    char id[HUB_C2D_ID_MAX + 1];
    struct hub_c2d_msg m = mkmsg(NULL, "hello", 0), got;
    assert_int_equal(hub_store_c2d_enqueue(f->st, "nope", &m, id, NULL, NULL), -ENOENT);
    assert_int_equal(hub_store_c2d_next(f->st, "c2d-1", 0, &got), -EAGAIN);

    /* 50 fit, the 51st does not. */
    for (int i = 0; i < HUB_C2D_QUEUE_MAX; i++) {
        char mid[32], pl[32];
        snprintf(mid, sizeof mid, "m%02d", i);
        snprintf(pl, sizeof pl, "payload %d", i);
        m = mkmsg(i == 0 ? NULL : mid, pl, 0);
        assert_int_equal(hub_store_c2d_enqueue(f->st, "c2d-1", &m, id, rec_done, idx(i)), 0);
        if (i == 0)
            assert_int_equal(strlen(id), 36); /* generated uuid */
    }
    char first_id[HUB_C2D_ID_MAX + 1];
    strcpy(first_id, id);
    assert_int_equal(hub_store_c2d_count(f->st, "c2d-1"), 50);
    m = mkmsg("over", "x", 0);
    assert_int_equal(hub_store_c2d_enqueue(f->st, "c2d-1", &m, NULL, rec_done, idx(99)),
                     -ENOSPC);
    struct hub_device dev;
    assert_int_equal(hub_store_device_get(f->st, "c2d-1", &dev), 0);
    assert_int_equal(dev.c2d_message_count, 50);
    wait_done(f, 50);

    /* next / mark in flight / ack. */
    assert_int_equal(hub_store_c2d_next(f->st, "c2d-1", 0, &got), 0);
    assert_int_equal(got.payload_len, 9);
    assert_memory_equal(got.payload, "payload 0", 9);
    assert_string_equal(got.properties, "a=1&%24.ct=text%2Fplain");
    assert_true(got.enqueued_ms > 0);
    char mid0[HUB_C2D_ID_MAX + 1];
    strcpy(mid0, got.message_id);
    hub_c2d_msg_clear(&got);
    assert_int_equal(hub_store_c2d_mark_inflight(f->st, "c2d-1", mid0, 7, NULL, NULL), 0);
    assert_int_equal(hub_store_c2d_mark_inflight(f->st, "c2d-1", "m01", 8, NULL, NULL), 0);
    assert_int_equal(hub_store_c2d_mark_inflight(f->st, "c2d-1", "zz", 9, NULL, NULL), -ENOENT);
    assert_int_equal(hub_store_c2d_mark_inflight(f->st, "c2d-1", "m02", 0, NULL, NULL), -EINVAL);
    assert_int_equal(hub_store_c2d_next(f->st, "c2d-1", 0, &got), 0);
    assert_string_equal(got.message_id, "m02");
    hub_c2d_msg_clear(&got);
    assert_int_equal(hub_store_c2d_ack_packet(f->st, "c2d-1", 7, rec_done, idx(100)), 0);
    assert_int_equal(hub_store_c2d_ack_packet(f->st, "c2d-1", 7, rec_done, idx(99)), -ENOENT);
    assert_int_equal(hub_store_c2d_count(f->st, "c2d-1"), 49);
    /* Now one slot is free again. */
    assert_int_equal(hub_store_c2d_enqueue(f->st, "c2d-1", &m, NULL, rec_done, idx(101)), 0);
    assert_int_equal(hub_store_c2d_enqueue(f->st, "c2d-1", &m, NULL, rec_done, idx(99)),
                     -ENOSPC);

    /* Disconnect: m01 goes back to the front. */
    assert_int_equal(hub_store_c2d_requeue_inflight(f->st, "c2d-1"), 1);
    assert_int_equal(hub_store_c2d_requeue_inflight(f->st, "nope"), -ENOENT);
    assert_int_equal(hub_store_c2d_next(f->st, "c2d-1", 0, &got), 0);
    assert_string_equal(got.message_id, "m01");
    assert_int_equal(got.delivery_count, 1);
    assert_int_equal(got.packet_id, 0);
    hub_c2d_msg_clear(&got);
    assert_int_equal(hub_store_c2d_remove(f->st, "c2d-1", "m03", rec_done, idx(102)), 0);
    assert_int_equal(hub_store_c2d_remove(f->st, "c2d-1", "m03", rec_done, idx(99)), -ENOENT);
    wait_done(f, 53);
    for (int i = 0; i < 53; i++)
        assert_int_equal(rec_rc[i], 0);

    /* Persisted: order, delivery count, properties; in-flight marks are gone. */
    assert_int_equal(hub_store_c2d_mark_inflight(f->st, "c2d-1", "m02", 11, NULL, NULL), 0);
    reopen(f);
    assert_int_equal(hub_store_c2d_count(f->st, "c2d-1"), 49);
    assert_int_equal(hub_store_c2d_next(f->st, "c2d-1", 0, &got), 0);
    assert_string_equal(got.message_id, "m01");
    assert_int_equal(got.delivery_count, 1);
    hub_c2d_msg_clear(&got);
    assert_int_equal(hub_store_c2d_mark_inflight(f->st, "c2d-1", "m01", 1, NULL, NULL), 0);
    assert_int_equal(hub_store_c2d_next(f->st, "c2d-1", 0, &got), 0);
    assert_string_equal(got.message_id, "m02");
    assert_int_equal(got.delivery_count, 1);
    assert_int_equal(got.packet_id, 0);
    assert_string_equal(got.properties, "a=1&%24.ct=text%2Fplain");
    hub_c2d_msg_clear(&got);

    /* Purge. */
    rec_n = 0;
    assert_int_equal(hub_store_c2d_purge(f->st, "c2d-1", NULL, NULL, rec_done, idx(0)), 49);
    assert_int_equal(hub_store_c2d_count(f->st, "c2d-1"), 0);
    wait_done(f, 1);
    assert_int_equal(db_int(f, "SELECT count(*) FROM c2d", NULL), 0);
    assert_int_equal(hub_store_c2d_count(f->st, "nope"), -ENOENT);
}

static void test_c2d_expiry(void **state)
{
    struct fx *f = *state;
    struct hub_device d = mkdev("exp-1");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, NULL, NULL), 0);
    int64_t far = (int64_t)4e12;
    struct hub_c2d_msg m = mkmsg("later", "y", far), got;
    assert_int_equal(hub_store_c2d_enqueue(f->st, "exp-1", &m, NULL, NULL, NULL), 0);
    m = mkmsg("never", "z", 0);
    assert_int_equal(hub_store_c2d_enqueue(f->st, "exp-1", &m, NULL, NULL, NULL), 0);
    m = mkmsg("old", "x", 1000); /* long expired */
    assert_int_equal(hub_store_c2d_enqueue(f->st, "exp-1", &m, NULL, NULL, NULL), 0);
    assert_int_equal(hub_store_c2d_count(f->st, "exp-1"), 3);
    settle(f);
    /* Lazily dropped: the first next() removes "old". */
    assert_int_equal(hub_store_c2d_next(f->st, "exp-1", 2000, &got), 0);
    assert_string_equal(got.message_id, "later");
    assert_int_equal(got.expiry_ms, far);
    hub_c2d_msg_clear(&got);
    assert_int_equal(hub_store_c2d_count(f->st, "exp-1"), 2);
    /* Later, "later" expires too. */
    assert_int_equal(hub_store_c2d_next(f->st, "exp-1", far, &got), 0);
    assert_string_equal(got.message_id, "never");
    hub_c2d_msg_clear(&got);
    settle(f);
    assert_int_equal(db_int(f, "SELECT count(*) FROM c2d WHERE device_id=?", "exp-1"), 1);
    reopen(f);
    assert_int_equal(hub_store_c2d_count(f->st, "exp-1"), 1);

    /* A full queue of expired messages makes room at enqueue. */
    for (int i = 0; i < HUB_C2D_QUEUE_MAX - 1; i++) {
        m = mkmsg(NULL, "e", 1000);
        assert_int_equal(hub_store_c2d_enqueue(f->st, "exp-1", &m, NULL, NULL, NULL), 0);
    }
    m = mkmsg(NULL, "fresh", 0);
    assert_int_equal(hub_store_c2d_enqueue(f->st, "exp-1", &m, NULL, NULL, NULL), 0);
    assert_int_equal(hub_store_c2d_count(f->st, "exp-1"), 2);
}

/* ---- delete cascades ---- */

static void test_delete_cascades(void **state)
{
    struct fx *f = *state;
    struct hub_device d = mkdev("casc-1");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, NULL, NULL), 0);
    struct hub_twin tw = {0};
    strcpy(tw.device_id, "casc-1");
    tw.desired = "{\"a\":1}";
    tw.reported = "{}";
    tw.tags = "{\"t\":1}";
    tw.etag = tw.version = tw.desired_version = tw.reported_version = 3;
    assert_int_equal(hub_store_twin_set(f->st, &tw, NULL, NULL), 0);
    struct hub_c2d_msg m = mkmsg(NULL, "x", 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(hub_store_c2d_enqueue(f->st, "casc-1", &m, NULL, NULL, NULL), 0);
    settle(f);
    assert_int_equal(db_int(f, "SELECT count(*) FROM c2d WHERE device_id=?", "casc-1"), 5);
    assert_int_equal(db_int(f, "SELECT count(*) FROM twins WHERE device_id=?", "casc-1"), 1);

    assert_int_equal(hub_store_device_delete(f->st, "casc-1", NULL, rec_done, idx(0)), 0);
    assert_int_equal(hub_store_c2d_count(f->st, "casc-1"), -ENOENT);
    assert_null(hub_store_twin_peek(f->st, "casc-1"));
    wait_done(f, 1);
    assert_int_equal(db_int(f, "SELECT count(*) FROM c2d WHERE device_id=?", "casc-1"), 0);
    assert_int_equal(db_int(f, "SELECT count(*) FROM twins WHERE device_id=?", "casc-1"), 0);
    assert_int_equal(db_int(f, "SELECT count(*) FROM devices WHERE id=?", "casc-1"), 0);

    /* Recreated with the same id: a fresh twin and an empty queue, also after restart. */
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, NULL, NULL), 0);
    reopen(f);
    assert_int_equal(hub_store_c2d_count(f->st, "casc-1"), 0);
    const struct hub_twin *p = hub_store_twin_peek(f->st, "casc-1");
    assert_non_null(p);
    assert_string_equal(p->desired, "{}");
    assert_int_equal(p->version, 1);
}

/* ---- completions: order, group commit, close ---- */

static void test_completion_order_and_group_commit(void **state)
{
    struct fx *f = *state;
    struct hub_device d = mkdev("ord-1");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, rec_done, idx(0)), 0);
    int n = 1;
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    strcpy(t.device_id, "ord-1");
    t.payload = "{\"n\":1}";
    t.payload_len = 7;
    uint64_t prev = 0;
    for (int i = 0; i < 3000; i++) {
        int k = i % 4;
        if (k == 0 || k == 1) {
            uint64_t seq;
            assert_int_equal(hub_store_telemetry_append(f->st, &t, &seq, rec_done, idx(n++)), 0);
            assert_true(seq > prev);
            prev = seq;
        } else if (k == 2) {
            struct hub_c2d_msg m = mkmsg(NULL, "c", 0);
            if (hub_store_c2d_count(f->st, "ord-1") >= HUB_C2D_QUEUE_MAX)
                assert_int_equal(hub_store_c2d_purge(f->st, "ord-1", NULL, NULL, rec_done, idx(n++)), 50);
            else
                assert_int_equal(
                    hub_store_c2d_enqueue(f->st, "ord-1", &m, NULL, rec_done, idx(n++)), 0);
        } else {
            assert_int_equal(hub_store_device_update(f->st, &d, NULL, NULL, rec_done, idx(n++)),
                             0);
        }
        /* Let the loop run now and then so completions interleave with submissions. */
        if (i % 500 == 0)
            event_base_loop(f->base, EVLOOP_NONBLOCK);
    }
    wait_done(f, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(rec_order[i], i);
        assert_int_equal(rec_rc[i], 0);
    }
    struct hub_store_stats s;
    hub_store_get_stats(f->st, &s);
    assert_int_equal(s.ops_committed, s.ops_submitted);
    assert_int_equal(s.ops_failed, 0);
    assert_true(s.ops_submitted >= (uint64_t)n);
    /* Group commit: far fewer transactions than operations. */
    print_message("%llu operations in %llu transactions\n", (unsigned long long)s.ops_committed,
                  (unsigned long long)s.transactions);
    assert_true(s.transactions * 10 < s.ops_committed);
}

/* WAL checkpoints on their own thread (store_checkpoint.c): one commit per message, as a
 * window-1 device makes them; with checkpoints starting at 64 frames the WAL must start again
 * from its beginning over and over (bounded: without checkpoints 3,000 messages make a WAL of
 * ~40 MB), the thread must have done passes and the committing thread the tails, a reader
 * reading meanwhile sees every record, and every record is there after reopening. */
static void test_wal_checkpoints(void **state)
{
    struct fx *f = *state;
    hub_store_close(f->st);
    struct hub_store_config cfg = {.telemetry_max = 1000000, .wal_checkpoint_frames = 64};
    open_store_cfg(f, &cfg);
    char wal[600];
    snprintf(wal, sizeof wal, "%s/hub.db-wal", f->dir);
    char payload[400];
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    strcpy(t.device_id, "ckpt");
    t.payload = payload;
    const int total = 3000;
    off_t wal_max = 0;
    for (int i = 0; i < total; i++) {
        t.payload_len = (size_t)snprintf(payload, sizeof payload, "{\"n\":%d,\"pad\":\"%0300d\"}", i, 0);
        assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, rec_done, idx(i)), 0);
        wait_done(f, i + 1);
        struct stat sb;
        if (stat(wal, &sb) == 0 && sb.st_size > wal_max)
            wal_max = sb.st_size;
        if (i % 250 == 249) { /* a reader beside the checkpoints */
            struct hub_telemetry *arr = NULL;
            size_t n = 0;
            assert_int_equal(hub_store_telemetry_read(f->st, (uint64_t)(i - 99), "ckpt", 1000,
                                                      &arr, &n), 0);
            assert_int_equal(n, 100);
            for (size_t k = 0; k < n; k++)
                assert_true(strstr(arr[k].payload, "\"n\":") != NULL &&
                            atoi(strstr(arr[k].payload, "\"n\":") + 4) == i - 99 + (int)k);
            hub_telemetry_free_array(arr, n);
        }
    }
    struct hub_store_stats s;
    hub_store_get_stats(f->st, &s);
    print_message("WAL at most %lld bytes; %llu checkpoint passes on the thread, %llu here\n",
                  (long long)wal_max, (unsigned long long)s.checkpoints,
                  (unsigned long long)s.checkpoints_inline);
    assert_true(s.checkpoints > 0);
    assert_true(s.checkpoints_inline > 0);
    /* 4 x 64 frames of 4 KiB is where the committing thread copies everything: twice that. */
    assert_true(wal_max <= 2 * 4 * 64 * (4096 + 24) + 32);
    hub_store_close(f->st);
    f->st = NULL;
    open_store(f);
    struct hub_telemetry *arr = NULL;
    size_t n = 0;
    assert_int_equal(hub_store_telemetry_read(f->st, 0, "ckpt", (size_t)total + 10, &arr, &n), 0);
    assert_int_equal(n, (size_t)total);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(atoi(strstr(arr[k].payload, "\"n\":") + 4), (int)k);
    hub_telemetry_free_array(arr, n);
}

static void test_close_runs_pending_completions(void **state)
{
    struct fx *f = *state;
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    strcpy(t.device_id, "pending");
    for (int i = 0; i < 500; i++)
        assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, rec_done, idx(i)), 0);
    struct hub_device d = mkdev("pending");
    assert_int_equal(hub_store_device_create(f->st, &d, NULL, rec_done, idx(500)), 0);
    hub_store_close(f->st); /* the loop never ran */
    f->st = NULL;
    assert_int_equal(rec_n, 501);
    for (int i = 0; i < 501; i++) {
        assert_int_equal(rec_order[i], i);
        assert_int_equal(rec_rc[i], 0);
    }
    open_store(f);
    assert_int_equal(hub_store_telemetry_last_seq(f->st), 500);
    struct hub_device got;
    assert_int_equal(hub_store_device_get(f->st, "pending", &got), 0);
}

/* ---- telemetry ---- */

static uint64_t listener_seq;
static int listener_calls;
static void on_tel(void *ctx, uint64_t last)
{
    (void)ctx;
    listener_seq = last;
    listener_calls++;
}

static void test_telemetry(void **state)
{
    struct fx *f = *state;
    listener_calls = 0;
    hub_store_set_telemetry_listener(f->st, on_tel, NULL);
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 30; i++) {
        char pl[32];
        snprintf(t.device_id, sizeof t.device_id, "tdev-%d", i % 3);
        snprintf(pl, sizeof pl, "{\"i\":%d}", i);
        t.payload = pl;
        t.payload_len = strlen(pl);
        t.app_props = i == 5 ? "{\"k\":\"v\"}" : i == 6 ? "" : NULL;
        t.sys_props = i == 5 ? "{\"contentType\":\"application/json\"}" : NULL;
        t.enqueued_ms = i == 5 ? 12345 : 0;
        strcpy(t.msg_type, i == 29 ? "Will" : "");
        uint64_t seq;
        assert_int_equal(hub_store_telemetry_append(f->st, &t, &seq, rec_done, idx(i)), 0);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    t.device_id[0] = 0;
    assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, rec_done, idx(99)), -EINVAL);
    wait_done(f, 30);
    assert_int_equal(hub_store_telemetry_last_seq(f->st), 30);
    assert_true(listener_calls >= 1);
    assert_int_equal(listener_seq, 30);

    struct hub_telemetry *arr;
    size_t n;
    assert_int_equal(hub_store_telemetry_read(f->st, 0, NULL, 1000, &arr, &n), 0);
    assert_int_equal(n, 30);
    assert_int_equal(arr[0].seq, 1);
    assert_string_equal(arr[5].device_id, "tdev-2");
    assert_int_equal(arr[5].enqueued_ms, 12345);
    assert_string_equal(arr[5].app_props, "{\"k\":\"v\"}");
    assert_string_equal(arr[5].sys_props, "{\"contentType\":\"application/json\"}");
    assert_string_equal(arr[4].app_props, "{}"); /* none given */
    assert_string_equal(arr[6].app_props, "{}"); /* "" given */
    assert_string_equal(arr[6].sys_props, "{}");
    assert_memory_equal(arr[5].payload, "{\"i\":5}", arr[5].payload_len);
    assert_string_equal(arr[0].msg_type, "Telemetry");
    assert_string_equal(arr[29].msg_type, "Will");
    hub_telemetry_free_array(arr, n);

    /* Pages after seq N, by device. */
    assert_int_equal(hub_store_telemetry_read(f->st, 10, "tdev-1", 4, &arr, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(arr[0].seq, 11);
    assert_int_equal(arr[1].seq, 14);
    assert_int_equal(arr[3].seq, 20);
    hub_telemetry_free_array(arr, n);
    assert_int_equal(hub_store_telemetry_read(f->st, 30, NULL, 10, &arr, &n), 0);
    assert_int_equal(n, 0);
    hub_telemetry_free_array(arr, n);

    /* Sequence numbers continue after a restart. */
    reopen(f);
    memset(&t, 0, sizeof t);
    strcpy(t.device_id, "tdev-0");
    uint64_t seq;
    assert_int_equal(hub_store_telemetry_append(f->st, &t, &seq, NULL, NULL), 0);
    assert_int_equal(seq, 31);
    settle(f);
    assert_int_equal(hub_store_telemetry_read(f->st, 30, NULL, 10, &arr, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(arr[0].payload_len, 0);
    hub_telemetry_free_array(arr, n);
}

/* Closes the store and opens it again keeping `max` telemetry records. */
static void reopen_retaining(struct fx *f, uint64_t max)
{
    hub_store_close(f->st);
    f->st = NULL;
    struct hub_store_config cfg = {.telemetry_max = max};
    open_store_cfg(f, &cfg);
}

static void test_telemetry_retention(void **state)
{
    struct fx *f = *state;
    reopen_retaining(f, 100);
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    strcpy(t.device_id, "ret");
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 1000; i++)
            assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, NULL, NULL), 0);
        settle(f);
    }
    /* At least the 100 newest, at most a segment (100 / 7 rounded up = 15) more: 5,000 =
     * 333 full segments and 5 records in the one being filled, 7 * 15 + 5 kept. */
    assert_int_equal(db_int(f, "SELECT count(*) FROM telemetry", NULL), 110);
    assert_int_equal(db_int(f, "SELECT min(seq) FROM telemetry", NULL), 5000 - 110 + 1);
    assert_int_equal(db_int(f, "SELECT max(seq) FROM telemetry", NULL), 5000);
}

/* The segment ring (store_tel_seg.c) with 10 records a segment (retention 70 / 7): every
 * segment holds 10 consecutive records, the oldest segment is emptied for the next ten, reads
 * run across segment boundaries and across the ring's wrap in seq order, and a reopened store
 * goes on filling the segment it was filling. */
static void test_telemetry_segments(void **state)
{
    struct fx *f = *state;
    reopen_retaining(f, 70);
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    for (int i = 1; i <= 215; i++) {
        strcpy(t.device_id, i % 2 ? "seg-odd" : "seg-even");
        t.enqueued_ms = 1000 + i;
        assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, NULL, NULL), 0);
        if (i % 7 == 0) /* groups of every size, some across a segment's end */
            settle(f);
        if (i == 205) { /* reopened in the middle of segment 4 (records 201 ..) */
            settle(f);
            reopen_retaining(f, 70);
        }
    }
    settle(f);
    /* 215 records: blocks of ten, block b (records 10b+1 .. 10b+10) in segment b mod 8. The
     * newest block (21: 211 .. 215) is in segment 5; the seven before it are kept. */
    assert_int_equal(db_int(f, "SELECT count(*) FROM telemetry", NULL), 75);
    for (int b = 14; b <= 21; b++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM telemetry_%d WHERE seq BETWEEN %d AND %d", b % 8,
                 10 * b + 1, 10 * b + 10);
        assert_int_equal(db_int(f, sql, NULL), b == 21 ? 5 : 10);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM telemetry_%d", b % 8);
        assert_int_equal(db_int(f, sql, NULL), b == 21 ? 5 : 10);
    }

    /* Everything, oldest first: 141 .. 215, through the wrap from segment 7 to 0. */
    struct hub_telemetry *arr;
    size_t n;
    assert_int_equal(hub_store_telemetry_read(f->st, 0, NULL, 1000, &arr, &n), 0);
    assert_int_equal(n, 75);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(arr[k].seq, 141 + k);
    hub_telemetry_free_array(arr, n);
    /* A page that starts in one segment and ends in the next. */
    assert_int_equal(hub_store_telemetry_read(f->st, 155, NULL, 12, &arr, &n), 0);
    assert_int_equal(n, 12);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(arr[k].seq, 156 + k);
    hub_telemetry_free_array(arr, n);
    /* One device's records across segments. */
    assert_int_equal(hub_store_telemetry_read(f->st, 150, "seg-even", 20, &arr, &n), 0);
    assert_int_equal(n, 20);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(arr[k].seq, 152 + 2 * k);
        assert_string_equal(arr[k].device_id, "seg-even");
    }
    hub_telemetry_free_array(arr, n);
    /* Nothing after the newest. */
    assert_int_equal(hub_store_telemetry_read(f->st, 215, NULL, 10, &arr, &n), 0);
    assert_int_equal(n, 0);

    /* A partition by each key: its records in seq order, the same ones by every key. */
    int p = (int)hub_telemetry_partition("seg-odd", 4);
    int q = (int)hub_telemetry_partition("seg-even", 4);
    size_t expect = p == q ? 75 : 38; /* the odd records among 141 .. 215 */
    struct hub_tel_part_info info;
    assert_int_equal(hub_store_telemetry_part_info(f->st, p, &info), 0);
    assert_false(info.empty);
    assert_int_equal(info.last_seq, 215);
    assert_int_equal(info.last_enqueued_ms, 1215);
    assert_int_equal(info.last_pseq - info.begin_pseq + 1, (int64_t)expect);
    const enum hub_tel_key keys[] = {HUB_TEL_AFTER_SEQ, HUB_TEL_AFTER_PSEQ, HUB_TEL_AFTER_TIME};
    const int64_t from[] = {0, info.begin_pseq - 1, 0};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(hub_store_telemetry_read_part(f->st, p, keys[k], from[k], 1000, &arr,
                                                       &n), 0);
        assert_int_equal(n, expect);
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(arr[j].pseq, info.begin_pseq + (int64_t)j);
            if (j)
                assert_true(arr[j].seq > arr[j - 1].seq);
        }
        assert_int_equal(arr[n - 1].seq, 215);
        hub_telemetry_free_array(arr, n);
    }
    /* From the middle of the partition, by seq, a page crossing a segment's end. */
    assert_int_equal(hub_store_telemetry_read_part(f->st, p, HUB_TEL_AFTER_SEQ, 175, 3, &arr,
                                                   &n), 0);
    assert_int_equal(n, 3);
    if (p != q) {
        assert_int_equal(arr[0].seq, 177);
        assert_int_equal(arr[2].seq, 181);
    }
    hub_telemetry_free_array(arr, n);
}

/* ---- open errors, file mode, schema ---- */

static void test_file_mode_and_schema(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    assert_int_equal(stat(azk_path(f->dir, "hub.db"), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(db_int(f, "SELECT version FROM schema_version WHERE component='hub'", NULL),
                     8);
    /* Telemetry in eight segment tables and a view of them; no index on any: a device's
     * reads and a partition's walk the rows by seq. */
    assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE type='table' AND"
                               " name GLOB 'telemetry_[0-7]'", NULL),
                     8);
    assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE type='view' AND"
                               " name='telemetry'", NULL),
                     1);
    assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE type='index' AND"
                               " tbl_name GLOB 'telemetry*'", NULL),
                     0);
    assert_string_equal(hub_store_db_path(f->st), azk_path(f->dir, "hub.db"));
    /* New databases get 2 KiB pages (store_schema.c says why). */
    assert_int_equal(db_int(f, "PRAGMA page_size", NULL), 2048);
    /* WAL mode: the -wal file exists while the store is open, with the DB's mode. */
    assert_true(azk_test_exists(azk_path(f->dir, "hub.db-wal")));
    assert_int_equal(azk_test_mode(azk_path(f->dir, "hub.db-wal")), 0600);
}

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    hub_store_close(f->st);
    f->st = NULL;
    struct azk_diag d;
    struct hub_store *st;
    struct hub_store_config cfg = {0};

    /* Data dir that cannot be a directory. */
    azk_test_write(azk_path(f->dir, "afile"), "x", 1);
    cfg.data_dir = azk_path(f->dir, "afile");
    azk_diag_init(&d);
    assert_true(hub_store_open(&cfg, f->base, &st, &d) < 0);
    assert_null(st);
    const struct azk_finding *fi = azk_diag_find(&d, "hub.store.not-writable");
    assert_non_null(fi);
    assert_non_null(strstr(fi->message, "afile"));

    /* A data dir we cannot write (only meaningful when not root). */
    if (geteuid() != 0) {
        char ro[600];
        snprintf(ro, sizeof ro, "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0500), 0);
        cfg.data_dir = ro;
        azk_diag_init(&d);
        assert_int_equal(hub_store_open(&cfg, f->base, &st, &d), -EACCES);
        assert_non_null(azk_diag_find(&d, "hub.store.not-writable"));
    }

    /* Garbage instead of a database. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad", f->dir);
    assert_int_equal(mkdir(bad, 0700), 0);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    azk_test_write(azk_path(bad, "hub.db"), junk, sizeof junk);
    cfg.data_dir = bad;
    azk_diag_init(&d);
    assert_int_equal(hub_store_open(&cfg, f->base, &st, &d), -EILSEQ);
    fi = azk_diag_find(&d, "hub.store.corrupt");
    assert_non_null(fi);
    assert_non_null(strstr(fi->message, "hub.db"));

    /* An empty (0-byte) hub.db left by a crash or an operator: refused, and left as it is. */
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty", f->dir);
    assert_int_equal(mkdir(empty, 0700), 0);
    azk_test_write(azk_path(empty, "hub.db"), "", 0);
    cfg.data_dir = empty;
    azk_diag_init(&d);
    assert_int_equal(hub_store_open(&cfg, f->base, &st, &d), -EILSEQ);
    assert_null(st);
    fi = azk_diag_find(&d, "hub.store.empty");
    assert_non_null(fi);
    assert_non_null(strstr(fi->message, "empty/hub.db is empty (0 bytes)"));
    assert_non_null(strstr(fi->fix, "delete it"));
    struct stat sb;
    assert_int_equal(stat(azk_path(empty, "hub.db"), &sb), 0);
    assert_int_equal(sb.st_size, 0);
    /* Deleted on purpose: a fresh start. */
    assert_int_equal(unlink(azk_path(empty, "hub.db")), 0);
    azk_diag_init(&d);
    assert_int_equal(hub_store_open(&cfg, f->base, &st, &d), 0);
    hub_store_close(st);

    /* A database from a newer azkit-hub. */
    open_store(f);
    hub_store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(azk_path(f->dir, "hub.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE saved AS SELECT * FROM schema_version;"
                                      "UPDATE schema_version SET version=99", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    cfg.data_dir = f->dir;
    azk_diag_init(&d);
    assert_int_equal(hub_store_open(&cfg, f->base, &st, &d), -EPROTO);
    assert_non_null(azk_diag_find(&d, "hub.store.newer-schema"));
    assert_int_equal(sqlite3_open(azk_path(f->dir, "hub.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM schema_version; INSERT INTO schema_version"
                                      " SELECT * FROM saved; DROP TABLE saved", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    open_store(f); /* for teardown */
}

/* Takes a database back to schema 7's single telemetry table (segment 0 holds every record
 * while fewer than a segment's worth are stored). */
#define TO_SCHEMA_7_TELEMETRY                                                                 \
    "DROP VIEW telemetry; DROP TABLE telemetry_1; DROP TABLE telemetry_2;"                   \
    "DROP TABLE telemetry_3; DROP TABLE telemetry_4; DROP TABLE telemetry_5;"                \
    "DROP TABLE telemetry_6; DROP TABLE telemetry_7;"                                        \
    "ALTER TABLE telemetry_0 RENAME TO telemetry;"

/* A version-1 database (before persistent sessions) gains the session column: every device
 * without a session, nothing else changed. */
static void test_migrates_version_1(void **state)
{
    struct fx *f = *state;
    struct hub_device dev = mkdev("old-1");
    assert_int_equal(hub_store_device_create(f->st, &dev, NULL, NULL, NULL), 0);
    hub_store_close(f->st); /* commits what is queued */
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(azk_path(f->dir, "hub.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE devices DROP COLUMN session;"
                                      "ALTER TABLE devices DROP COLUMN device_scope;"
                                      "ALTER TABLE twins DROP COLUMN meta;"
                                      TO_SCHEMA_7_TELEMETRY
                                      "DROP INDEX IF EXISTS telemetry_part;"
                                      "ALTER TABLE telemetry DROP COLUMN part;"
                                      "ALTER TABLE telemetry DROP COLUMN pseq;"
                                      "UPDATE schema_version SET version=1 WHERE component='hub'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    open_store(f);
    assert_int_equal(db_int(f, "SELECT version FROM schema_version WHERE component='hub'", NULL),
                     8);
    assert_int_equal(hub_store_device_get(f->st, "old-1", &dev), 0);
    assert_string_equal(dev.device_scope, "");
    assert_string_equal(hub_store_twin_peek(f->st, "old-1")->meta, ""); /* not recorded */
    assert_false(dev.has_session);
    assert_int_equal(hub_store_device_set_session(f->st, "old-1", true, 5), 0);
    hub_store_close(f->st); /* flushes the lazy state */
    f->st = NULL;
    open_store(f);
    assert_int_equal(hub_store_device_get(f->st, "old-1", &dev), 0);
    assert_true(dev.has_session);
    assert_int_equal(dev.session_subs, 5);
}

/* Partitions: each record gets hash(device id) mod N and a sequence number in its partition
 * from 0; reads of one partition after an offset (seq), a sequence number or a time; what a
 * partition holds. */
static void test_telemetry_partitions(void **state)
{
    struct fx *f = *state;
    assert_int_equal(hub_store_partitions(f->st), 4);
    assert_int_equal(hub_telemetry_partition("dev", 1), 0);
    assert_int_equal(hub_telemetry_partition("dev", 4), hub_telemetry_partition("dev", 4));
    struct hub_telemetry t;
    memset(&t, 0, sizeof t);
    int64_t count[4] = {0};
    for (int i = 0; i < 40; i++) {
        snprintf(t.device_id, sizeof t.device_id, "pdev-%d", i % 8);
        t.enqueued_ms = 1000 + i;
        assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, rec_done, idx(i)), 0);
        count[hub_telemetry_partition(t.device_id, 4)]++;
    }
    wait_done(f, 40);
    int64_t total = 0;
    for (int p = 0; p < 4; p++) {
        struct hub_tel_part_info info;
        assert_int_equal(hub_store_telemetry_part_info(f->st, p, &info), 0);
        assert_int_equal(info.empty, count[p] == 0);
        if (count[p] == 0)
            continue;
        assert_int_equal(info.begin_pseq, 0);
        assert_int_equal(info.last_pseq, count[p] - 1);
        struct hub_telemetry *arr;
        size_t n;
        assert_int_equal(hub_store_telemetry_read_part(f->st, p, HUB_TEL_AFTER_SEQ, -1, 100,
                                                       &arr, &n), 0);
        assert_int_equal(n, (size_t)count[p]);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(arr[k].part, p);
            assert_int_equal(arr[k].pseq, (int64_t)k);
            assert_int_equal(hub_telemetry_partition(arr[k].device_id, 4), (unsigned)p);
        }
        assert_int_equal(info.last_seq, arr[n - 1].seq);
        assert_int_equal(info.last_enqueued_ms, arr[n - 1].enqueued_ms);
        uint64_t first_seq = arr[0].seq;
        int64_t first_ms = arr[0].enqueued_ms;
        hub_telemetry_free_array(arr, n);
        /* After the first one, by each key. */
        assert_int_equal(hub_store_telemetry_read_part(f->st, p, HUB_TEL_AFTER_SEQ,
                                                       (int64_t)first_seq, 100, &arr, &n), 0);
        assert_int_equal(n, (size_t)count[p] - 1);
        hub_telemetry_free_array(arr, n);
        assert_int_equal(hub_store_telemetry_read_part(f->st, p, HUB_TEL_AFTER_PSEQ, 0, 100, &arr,
                                                       &n), 0);
        assert_int_equal(n, (size_t)count[p] - 1);
        hub_telemetry_free_array(arr, n);
        assert_int_equal(hub_store_telemetry_read_part(f->st, p, HUB_TEL_AFTER_TIME, first_ms,
                                                       100, &arr, &n), 0);
        assert_int_equal(n, (size_t)count[p] - 1);
        hub_telemetry_free_array(arr, n);
        total += count[p];
    }
    assert_int_equal(total, 40);
    struct hub_telemetry *arr;
    size_t n;
    assert_int_equal(hub_store_telemetry_read_part(f->st, 0, (enum hub_tel_key)7, 0, 1, &arr, &n),
                     -EINVAL);

    /* Nothing after a partition's newest record, by each key (answered without reading the
     * table), until one more arrives; after reopening, every record is found again. */
    int pd = (int)hub_telemetry_partition("pdev-0", 4);
    struct hub_tel_part_info last;
    assert_int_equal(hub_store_telemetry_part_info(f->st, pd, &last), 0);
    const enum hub_tel_key keys[] = {HUB_TEL_AFTER_SEQ, HUB_TEL_AFTER_PSEQ, HUB_TEL_AFTER_TIME};
    const int64_t newest[] = {(int64_t)last.last_seq, last.last_pseq, last.last_enqueued_ms};
    /* step 0: nothing newer; 1: one appended; 2: the same after reopening the store */
    for (int step = 0; step < 3; step++) {
        if (step == 1) {
            strcpy(t.device_id, "pdev-0");
            t.enqueued_ms = 5000;
            assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, NULL, NULL), 0);
            settle(f);
            count[pd]++;
        } else if (step == 2) {
            hub_store_close(f->st);
            f->st = NULL;
            open_store(f);
        }
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(hub_store_telemetry_read_part(f->st, pd, keys[k], newest[k], 100,
                                                           &arr, &n), 0);
            assert_int_equal(n, step == 0 ? 0u : 1u);
            hub_telemetry_free_array(arr, n);
        }
    }
    for (int p = 0; p < 4; p++) {
        assert_int_equal(hub_store_telemetry_read_part(f->st, p, HUB_TEL_AFTER_SEQ, -1, 100, &arr,
                                                       &n), 0);
        assert_int_equal(n, (size_t)count[p]);
        hub_telemetry_free_array(arr, n);
    }

    /* A version-4 database (no partitions): its rows get them at open, in seq order, and new
     * records continue each partition's numbering. */
    hub_store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(azk_path(f->dir, "hub.db"), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, TO_SCHEMA_7_TELEMETRY
                                      "DROP INDEX IF EXISTS telemetry_part;"
                                      "ALTER TABLE telemetry DROP COLUMN part;"
                                      "ALTER TABLE telemetry DROP COLUMN pseq;"
                                      "UPDATE schema_version SET version=4 WHERE component='hub'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    open_store(f);
    assert_int_equal(db_int(f, "SELECT count(*) FROM telemetry WHERE part < 0", NULL), 0);
    strcpy(t.device_id, "pdev-0");
    assert_int_equal(hub_store_telemetry_append(f->st, &t, NULL, NULL, NULL), 0);
    settle(f);
    int p0 = (int)hub_telemetry_partition("pdev-0", 4);
    struct hub_tel_part_info info;
    assert_int_equal(hub_store_telemetry_part_info(f->st, p0, &info), 0);
    assert_int_equal(info.begin_pseq, 0);
    assert_int_equal(info.last_pseq, count[p0]);
    assert_int_equal(hub_store_telemetry_read_part(f->st, p0, HUB_TEL_AFTER_PSEQ, -1, 100, &arr,
                                                   &n), 0);
    assert_int_equal(n, (size_t)count[p0] + 1);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(arr[k].pseq, (int64_t)k);
    hub_telemetry_free_array(arr, n);
}

/* A data dir created by the store is 0700. */
static void test_creates_data_dir(void **state)
{
    struct fx *f = *state;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/new/deeper", f->dir);
    struct hub_store_config cfg = {.data_dir = sub};
    struct hub_store *st;
    assert_int_equal(hub_store_open(&cfg, f->base, &st, NULL), 0);
    hub_store_close(st);
    assert_int_equal(azk_test_mode(sub), 0700);
    assert_int_equal(azk_test_mode(azk_path(sub, "hub.db")), 0600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test_setup_teardown(test_device_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_state_lazy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_c2d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_c2d_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion_order_and_group_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_runs_pending_completions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_telemetry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_telemetry_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_telemetry_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_telemetry_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_mode_and_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creates_data_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_checkpoints, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("durability power", tests, NULL, NULL);
    g_process_durability = true;
    failed += cmocka_run_group_tests_name("durability process", tests, NULL, NULL);
    return failed;
}

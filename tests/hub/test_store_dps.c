/* DPS tables of the hub store (src/hub/store/store_dps.c): put/get/list/delete of enrollments,
 * groups, DPS CAs and registration records, etags and If-Match, completions, persistence
 * across close/reopen, and the "dps" row of schema_version. */
#include "support/test_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "azkit/pki.h"
#include "hub/store/store_dps.h"

struct fx {
    char dir[512];
    struct event_base *base;
    struct hub_store *st;
};

static char *g_pem;  /* a self-signed device certificate */
static char *g_pem2; /* another */

static int rec_rc[64], rec_order[64], rec_n;

static void rec_done(void *ctx, int rc)
{
    assert_true(rec_n < 64);
    rec_order[rec_n] = (int)(intptr_t)ctx;
    rec_rc[rec_n++] = rc;
}

static void wait_done(struct fx *f, int n)
{
    for (int spins = 0; rec_n < n; spins++) {
        assert_true(spins < 100000);
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static void open_store(struct fx *f)
{
    struct hub_store_config cfg = {.data_dir = f->dir};
    struct azk_diag d;
    azk_diag_init(&d);
    int rc = hub_store_open(&cfg, f->base, &f->st, &d);
    if (rc != 0)
        fail_msg("open: %d %s", rc, d.count ? d.items[0].message : "");
}

static void reopen(struct fx *f)
{
    hub_store_close(f->st);
    open_store(f);
}

static char *make_pem(const char *dir, const char *cn)
{
    char o[1024];
    snprintf(o, sizeof o, "%s/%s", dir, cn);
    struct azk_pki_request r = {.kind = AZK_PKI_SELF_SIGNED, .common_name = cn, .out_prefix = o};
    struct azk_pki_result res;
    assert_int_equal(azk_pki_create(&r, &res, NULL), 0);
    return azk_test_read(res.cert_path, NULL);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    azk_test_mkdtemp(f->dir);
    f->base = event_base_new();
    rec_n = 0;
    if (!g_pem) {
        g_pem = make_pem(f->dir, "dev1");
        g_pem2 = make_pem(f->dir, "dev2");
    }
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

static int group_teardown(void **state)
{
    (void)state;
    free(g_pem);
    free(g_pem2);
    return 0;
}

static void enr_init(struct dps_enrollment *e, const char *id, char *pem)
{
    memset(e, 0, sizeof *e);
    snprintf(e->registration_id, sizeof e->registration_id, "%s", id);
    e->primary_pem = pem;
    e->c.reprovision.update_hub_assignment = true;
}

static void test_enrollments(void **state)
{
    struct fx *f = *state;
    struct dps_enrollment e, out;
    enr_init(&e, "dev1", g_pem);
    snprintf(e.c.iot_hub_host_name, sizeof e.c.iot_hub_host_name, "hub.azure-devices.net");
    e.c.initial_twin = (char *)"{\"tags\":{\"a\":1}}";
    assert_int_equal(hub_store_dps_enrollment_put(f->st, &e, NULL, &out, rec_done, (void *)1),
                     0);
    assert_string_equal(out.meta.etag, "MA==");
    assert_true(out.meta.created_ms > 0);
    int64_t created = out.meta.created_ms;
    dps_enrollment_clear(&out);
    /* replace: If-Match mismatch, then the right one */
    e.c.status = DPS_STATUS_DISABLED;
    assert_int_equal(hub_store_dps_enrollment_put(f->st, &e, "\"MQ==\"", NULL, rec_done, NULL),
                     -ESTALE);
    assert_int_equal(
        hub_store_dps_enrollment_put(f->st, &e, "\"MA==\"", &out, rec_done, (void *)2), 0);
    assert_string_equal(out.meta.etag, "MQ==");
    assert_int_equal(out.meta.created_ms, created);
    dps_enrollment_clear(&out);
    enr_init(&e, "dev2", g_pem2);
    assert_int_equal(hub_store_dps_enrollment_put(f->st, &e, "*", NULL, rec_done, (void *)3), 0);
    /* invalid */
    enr_init(&e, "dev3", NULL);
    assert_int_equal(hub_store_dps_enrollment_put(f->st, &e, NULL, NULL, rec_done, NULL),
                     -EINVAL);
    wait_done(f, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rec_rc[i], 0);
        assert_int_equal(rec_order[i], i + 1);
    }
    reopen(f);
    assert_int_equal(hub_store_dps_enrollment_get(f->st, "dev1", &out), 0);
    assert_string_equal(out.primary_pem, g_pem);
    assert_int_equal(out.c.status, DPS_STATUS_DISABLED);
    assert_string_equal(out.c.iot_hub_host_name, "hub.azure-devices.net");
    assert_string_equal(out.c.initial_twin, "{\"tags\":{\"a\":1}}");
    assert_string_equal(out.meta.etag, "MQ==");
    assert_int_equal(out.meta.created_ms, created);
    dps_enrollment_clear(&out);
    struct dps_enrollment *arr;
    size_t n;
    assert_int_equal(hub_store_dps_enrollment_list(f->st, &arr, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(arr[0].registration_id, "dev1");
    assert_string_equal(arr[1].registration_id, "dev2");
    assert_string_equal(arr[1].primary_pem, g_pem2);
    dps_enrollment_free_array(arr, n);
    /* delete */
    assert_int_equal(hub_store_dps_enrollment_delete(f->st, "dev1", "MA==", NULL, NULL), -ESTALE);
    assert_int_equal(hub_store_dps_enrollment_delete(f->st, "nope", NULL, NULL, NULL), -ENOENT);
    rec_n = 0;
    assert_int_equal(hub_store_dps_enrollment_delete(f->st, "dev1", "MQ==", rec_done, NULL), 0);
    assert_int_equal(hub_store_dps_enrollment_get(f->st, "dev1", &out), -ENOENT);
    wait_done(f, 1);
    assert_int_equal(rec_rc[0], 0);
    reopen(f);
    assert_int_equal(hub_store_dps_enrollment_get(f->st, "dev1", &out), -ENOENT);
    assert_int_equal(hub_store_dps_enrollment_get(f->st, "dev2", &out), 0);
    dps_enrollment_clear(&out);
}

static void test_groups_cas_registrations(void **state)
{
    struct fx *f = *state;
    struct dps_group g = {0};
    snprintf(g.group_id, sizeof g.group_id, "grp1");
    g.primary_pem = g_pem;
    g.c.n_iot_hubs = 2;
    snprintf(g.c.iot_hubs[0], sizeof g.c.iot_hubs[0], "a.azure-devices.net");
    snprintf(g.c.iot_hubs[1], sizeof g.c.iot_hubs[1], "b.azure-devices.net");
    assert_int_equal(hub_store_dps_group_put(f->st, &g, NULL, NULL, rec_done, NULL), 0);
    struct dps_group g2 = {0};
    snprintf(g2.group_id, sizeof g2.group_id, "grp2");
    snprintf(g2.ca_primary, sizeof g2.ca_primary, "myca");
    assert_int_equal(hub_store_dps_group_put(f->st, &g2, NULL, NULL, rec_done, NULL), 0);

    struct dps_ca ca = {0};
    snprintf(ca.name, sizeof ca.name, "myca");
    assert_int_equal(hub_store_dps_ca_put(f->st, &ca, NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(dps_ca_set_pem(&ca, g_pem2, NULL, 0), 0);
    snprintf(ca.verification_code, sizeof ca.verification_code, "ABC123");
    assert_int_equal(hub_store_dps_ca_put(f->st, &ca, NULL, NULL, rec_done, NULL), 0);
    ca.verified = true;
    ca.verification_code[0] = '\0';
    assert_int_equal(hub_store_dps_ca_put(f->st, &ca, "MA==", NULL, rec_done, NULL), 0);
    dps_ca_clear(&ca);

    struct dps_registration r = {.status = DPS_REG_ASSIGNED,
                                 .substatus = DPS_SUB_INITIAL_ASSIGNMENT};
    snprintf(r.registration_id, sizeof r.registration_id, "dev1");
    snprintf(r.device_id, sizeof r.device_id, "dev1");
    snprintf(r.assigned_hub, sizeof r.assigned_hub, "a.azure-devices.net");
    snprintf(r.group_id, sizeof r.group_id, "grp1");
    snprintf(r.thumbprint_sha1, sizeof r.thumbprint_sha1, "%040d", 7);
    assert_int_equal(hub_store_dps_registration_put(f->st, &r, NULL, NULL, rec_done, NULL), 0);
    wait_done(f, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rec_rc[i], 0);

    /* the zero-copy view the matcher reads */
    struct dps_store_view v;
    hub_store_dps_view(f->st, &v);
    assert_int_equal(v.n_groups, 2);
    assert_int_equal(v.n_cas, 1);
    assert_int_equal(v.n_enrollments, 0);
    assert_true(v.cas[0].verified);

    reopen(f);
    struct dps_group go;
    assert_int_equal(hub_store_dps_group_get(f->st, "grp1", &go), 0);
    assert_string_equal(go.primary_pem, g_pem);
    assert_int_equal(go.c.n_iot_hubs, 2);
    assert_string_equal(go.c.iot_hubs[1], "b.azure-devices.net");
    dps_group_clear(&go);
    assert_int_equal(hub_store_dps_group_get(f->st, "grp2", &go), 0);
    assert_string_equal(go.ca_primary, "myca");
    dps_group_clear(&go);
    struct dps_ca co;
    assert_int_equal(hub_store_dps_ca_get(f->st, "myca", &co), 0);
    assert_true(co.verified);
    assert_string_equal(co.meta.etag, "MQ==");
    assert_string_equal(co.pem, g_pem2);
    assert_int_equal(strlen(co.thumbprint_sha256), 64);
    dps_ca_clear(&co);
    struct dps_registration ro;
    assert_int_equal(hub_store_dps_registration_get(f->st, "dev1", &ro), 0);
    assert_string_equal(ro.assigned_hub, "a.azure-devices.net");
    assert_string_equal(ro.group_id, "grp1");
    assert_int_equal(ro.status, DPS_REG_ASSIGNED);
    assert_string_equal(ro.thumbprint_sha1, r.thumbprint_sha1);
    dps_registration_clear(&ro);
    /* registration etag + delete */
    assert_int_equal(hub_store_dps_registration_delete(f->st, "dev1", "\"MQ==\"", NULL, NULL),
                     -ESTALE);
    assert_int_equal(hub_store_dps_registration_delete(f->st, "dev1", "\"MA==\"", NULL, NULL),
                     0);
    assert_int_equal(hub_store_dps_group_delete(f->st, "grp2", NULL, NULL, NULL), 0);
    assert_int_equal(hub_store_dps_ca_delete(f->st, "myca", NULL, NULL, NULL), 0);
    struct dps_group *ga;
    size_t n;
    assert_int_equal(hub_store_dps_group_list(f->st, &ga, &n), 0);
    assert_int_equal(n, 1);
    dps_group_free_array(ga, n);
    reopen(f);
    assert_int_equal(hub_store_dps_registration_get(f->st, "dev1", &ro), -ENOENT);
    assert_int_equal(hub_store_dps_ca_get(f->st, "myca", &co), -ENOENT);
    struct dps_registration *ra;
    assert_int_equal(hub_store_dps_registration_list(f->st, &ra, &n), 0);
    assert_int_equal(n, 0);
    assert_null(ra);
    struct dps_ca *ca_arr;
    assert_int_equal(hub_store_dps_ca_list(f->st, &ca_arr, &n), 0);
    assert_int_equal(n, 0);
}

static void test_schema_version(void **state)
{
    struct fx *f = *state;
    hub_store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    char path[700];
    snprintf(path, sizeof path, "%s/hub.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT version FROM schema_version WHERE component='dps'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
    /* a newer DPS schema is refused */
    assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version=99 WHERE component='dps'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    struct hub_store_config cfg = {.data_dir = f->dir};
    assert_int_equal(hub_store_open(&cfg, f->base, &f->st, NULL), -EPROTO);
    f->st = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enrollments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups_cas_registrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}

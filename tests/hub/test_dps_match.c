/* DPS matching (src/hub/dps/dps_match.c) and allocation (src/hub/dps/dps_allocate.c) with real
 * certificates made by azk_pki_create(). */
#include "support/test_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "hub/dps/dps_allocate.h"
#include "hub/dps/dps_match.h"

static char g_dir[512];

static void make(enum azk_pki_kind kind, const char *cn, const char *out, const char *issuer,
                 const char *nb, const char *na)
{
    test_hub_make_cert(g_dir, kind, cn, out, issuer, nb, na);
}

/* PEM text of <name>.cert.pem (cached for the run). */
#define NPEM 64
static struct {
    char name[64];
    char *pem;
} g_pems[NPEM];

static const char *pem(const char *name)
{
    for (int i = 0; i < NPEM && g_pems[i].pem; i++)
        if (strcmp(g_pems[i].name, name) == 0)
            return g_pems[i].pem;
    for (int i = 0; i < NPEM; i++) {
        if (g_pems[i].pem)
            continue;
        char f[600];
        snprintf(f, sizeof f, "%s.cert.pem", name);
        snprintf(g_pems[i].name, sizeof g_pems[i].name, "%s", name);
        g_pems[i].pem = azk_test_read(azk_path(g_dir, f), NULL);
        assert_non_null(g_pems[i].pem);
        return g_pems[i].pem;
    }
    fail_msg("too many PEMs");
    return NULL;
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    make(AZK_PKI_ROOT, "Root A", "rootA", NULL, NULL, NULL);
    make(AZK_PKI_INTERMEDIATE, "Inter A", "interA", "rootA", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-1", "dev-1", "interA", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-2", "dev-2", "interA", NULL, NULL);
    make(AZK_PKI_DEVICE, "other-id", "other", "interA", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-old", "dev-old", "interA", "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z");
    make(AZK_PKI_INTERMEDIATE, "Inter Old", "interOld", "rootA", "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z");
    make(AZK_PKI_DEVICE, "dev-x", "dev-x", "interOld", "2020-01-01T00:00:00Z",
         "2099-01-01T00:00:00Z");
    make(AZK_PKI_ROOT, "Root B", "rootB", NULL, NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-r", "dev-r", "rootB", NULL, NULL);
    make(AZK_PKI_ROOT, "Root C", "rootC", NULL, NULL, NULL);
    make(AZK_PKI_INTERMEDIATE, "Inter C", "interC", "rootC", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-c", "dev-c", "interC", NULL, NULL);
    make(AZK_PKI_SELF_SIGNED, "ss-1", "ss-1", NULL, NULL, NULL);
    make(AZK_PKI_SELF_SIGNED, "ss-2", "ss-2", NULL, NULL, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NPEM; i++)
        free(g_pems[i].pem);
    azk_test_rmrf(g_dir);
    return 0;
}

/* What a device sends: <name>.chain.pem (leaf + intermediates) or <name>.cert.pem. */
struct sent {
    X509 *leaf;
    STACK_OF(X509) *inter;
};

static struct sent send_file(const char *file)
{
    FILE *f = fopen(azk_path(g_dir, file), "r");
    assert_non_null(f);
    struct sent s = {NULL, sk_X509_new_null()};
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (!s.leaf)
            s.leaf = x;
        else
            sk_X509_push(s.inter, x);
    }
    fclose(f);
    ERR_clear_error();
    assert_non_null(s.leaf);
    return s;
}

static void sent_free(struct sent *s)
{
    X509_free(s->leaf);
    sk_X509_pop_free(s->inter, X509_free);
}

/* Test world: up to 4 of each. */
struct world {
    struct dps_enrollment e[4];
    size_t ne;
    struct dps_group g[4];
    size_t ng;
    struct dps_ca ca[4];
    size_t nca;
};

static struct dps_enrollment *add_enr(struct world *w, const char *regid, const char *p,
                                      const char *s, bool enabled)
{
    struct dps_enrollment *e = &w->e[w->ne++];
    memset(e, 0, sizeof *e);
    snprintf(e->registration_id, sizeof e->registration_id, "%s", regid);
    e->primary_pem = (char *)pem(p);
    e->secondary_pem = s ? (char *)pem(s) : NULL;
    e->c.status = enabled ? DPS_STATUS_ENABLED : DPS_STATUS_DISABLED;
    return e;
}

static struct dps_group *add_grp(struct world *w, const char *id, const char *p, const char *s,
                                 bool enabled)
{
    struct dps_group *g = &w->g[w->ng++];
    memset(g, 0, sizeof *g);
    snprintf(g->group_id, sizeof g->group_id, "%s", id);
    g->primary_pem = p ? (char *)pem(p) : NULL;
    g->secondary_pem = s ? (char *)pem(s) : NULL;
    g->c.status = enabled ? DPS_STATUS_ENABLED : DPS_STATUS_DISABLED;
    return g;
}

static void add_ca(struct world *w, const char *name, const char *cert, bool verified)
{
    struct dps_ca *c = &w->ca[w->nca++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->pem = (char *)pem(cert);
    c->verified = verified;
}

/* Runs the match for a device sending `file` as `regid`. */
static void run(const struct world *w, const char *regid, const char *file,
                struct dps_match_result *r)
{
    struct sent s = send_file(file);
    struct dps_match_input in = {
        .registration_id = regid,
        .leaf = s.leaf,
        .intermediates = s.inter,
        .enrollments = w->e,
        .n_enrollments = w->ne,
        .groups = w->g,
        .n_groups = w->ng,
        .cas = w->ca,
        .n_cas = w->nca,
        .now = time(NULL),
    };
    dps_match_x509(&in, r);
    sent_free(&s);
}

#define EXPECT_REFUSED(r, why)                                                                 \
    do {                                                                                       \
        if ((r).kind != DPS_MATCH_REFUSED || (r).reason != (why))                              \
            fail_msg("expected refusal %s, got kind %d reason %s: %s",                         \
                     dps_refuse_reason_name(why), (int)(r).kind,                               \
                     dps_refuse_reason_name((r).reason), (r).message);                         \
    } while (0)

static void expect_kind(const struct dps_match_result *r, enum dps_match_kind k, size_t idx)
{
    if (r->kind != k || r->index != idx)
        fail_msg("expected kind %d index %zu, got kind %d index %zu reason %s: %s", (int)k, idx,
                 (int)r->kind, r->index, dps_refuse_reason_name(r->reason), r->message);
    assert_int_equal(r->error_code, 0);
}

static void test_individual_over_group(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "ga", "interA", NULL, true);
    add_enr(&w, "dev-1", "dev-1", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-1", "dev-1.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_INDIVIDUAL, 0);
    assert_false(r.secondary);
    assert_string_equal(r.leaf_cn, "dev-1");
    assert_int_equal(strlen(r.leaf_sha1), 40);
    assert_int_equal(strlen(r.leaf_sha256), 64);
    /* another device of the same CA goes to the group */
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
}

static void test_group_intermediate(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "ga", "interA", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
    assert_non_null(strstr(r.message, "ga"));
    /* the same device sending only its leaf */
    run(&w, "dev-2", "dev-2.cert.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_CHAIN_INCOMPLETE);
    assert_int_equal(r.error_code, DPS_ERR_UNAUTHORIZED);
    assert_non_null(strstr(r.message, "Inter A"));
}

static void test_group_root(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "groot", "rootA", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
    /* a device signed by a root directly, sending only its leaf */
    struct world w2 = {0};
    add_grp(&w2, "grootb", "rootB", NULL, true);
    run(&w2, "dev-r", "dev-r.cert.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
    /* the device's chain does not reach root B */
    run(&w2, "dev-2", "dev-2.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_NO_ENROLLMENT);
}

static void test_first_up_the_chain_wins(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "groot", "rootA", NULL, true);
    add_grp(&w, "ginter", "interA", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 1);
    /* a disabled group on the intermediate blocks the root's group */
    w.g[1].c.status = DPS_STATUS_DISABLED;
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_DISABLED);
    assert_int_equal(r.index, 1);
    assert_int_equal(r.error_code, 0);
}

static void test_disabled_individual_blocks_group(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "ga", "interA", NULL, true);
    add_enr(&w, "dev-2", "dev-2", NULL, false);
    struct dps_match_result r;
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_DISABLED);
    assert_int_equal(r.index, 0);
    assert_int_equal(r.error_code, 0);
}

static void test_cn_mismatch(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "ga", "interA", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-2", "other.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_CN_MISMATCH);
    assert_int_equal(r.error_code, DPS_ERR_UNAUTHORIZED);
    assert_non_null(strstr(r.message, "other-id"));
    /* individual enrollment holding that certificate under another registration id */
    struct world w2 = {0};
    add_enr(&w2, "dev-2", "other", NULL, true);
    run(&w2, "dev-2", "other.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_CN_MISMATCH);
}

static void test_unknown_device(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "gc", "interC", NULL, true);
    add_enr(&w, "dev-1", "dev-1", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-2", "dev-2.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_NO_ENROLLMENT);
    assert_int_equal(r.error_code, 401002);
    /* nothing at all */
    struct world empty = {0};
    run(&empty, "dev-2", "dev-2.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_NO_ENROLLMENT);
    /* an individual enrollment with a different certificate */
    struct world w3 = {0};
    add_enr(&w3, "dev-2", "dev-1", NULL, true);
    run(&w3, "dev-2", "dev-2.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_CERT_MISMATCH);
    assert_int_equal(r.error_code, 401002);
}

static void test_ca_references(void **state)
{
    (void)state;
    struct world w = {0};
    struct dps_group *g = add_grp(&w, "gref", NULL, NULL, true);
    snprintf(g->ca_primary, sizeof g->ca_primary, "caC");
    add_ca(&w, "caC", "rootC", true);
    struct dps_match_result r;
    run(&w, "dev-c", "dev-c.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
    assert_non_null(strstr(r.message, "CA reference"));
    /* the same CA not verified */
    w.ca[0].verified = false;
    run(&w, "dev-c", "dev-c.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_CA_NOT_VERIFIED);
    assert_int_equal(r.error_code, 401002);
    /* a reference to a CA DPS does not have */
    snprintf(g->ca_primary, sizeof g->ca_primary, "missing");
    run(&w, "dev-c", "dev-c.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_NO_ENROLLMENT);
    /* a verified intermediate as the secondary reference */
    add_ca(&w, "interC", "interC", true);
    snprintf(g->ca_secondary, sizeof g->ca_secondary, "interC");
    run(&w, "dev-c", "dev-c.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
    assert_true(r.secondary);
}

static void test_secondary_certificates(void **state)
{
    (void)state;
    struct world w = {0};
    add_enr(&w, "ss-2", "ss-1", "ss-2", true);
    struct dps_match_result r;
    run(&w, "ss-2", "ss-2.cert.pem", &r);
    expect_kind(&r, DPS_MATCH_INDIVIDUAL, 0);
    assert_true(r.secondary);
    struct world w2 = {0};
    add_grp(&w2, "g2", "rootB", "interA", true);
    run(&w2, "dev-2", "dev-2.chain.pem", &r);
    expect_kind(&r, DPS_MATCH_GROUP, 0);
    assert_true(r.secondary);
}

static void test_expired(void **state)
{
    (void)state;
    struct world w = {0};
    add_grp(&w, "ga", "interA", NULL, true);
    struct dps_match_result r;
    run(&w, "dev-old", "dev-old.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_EXPIRED);
    assert_int_equal(r.error_code, 401002);
    assert_non_null(strstr(r.message, "expired"));
    /* an expired intermediate held by a group */
    struct world w2 = {0};
    add_grp(&w2, "gold", "interOld", NULL, true);
    run(&w2, "dev-x", "dev-x.chain.pem", &r);
    EXPECT_REFUSED(r, DPS_REFUSE_EXPIRED);
    assert_non_null(strstr(r.message, "Inter Old"));
}

static void test_no_certificate(void **state)
{
    (void)state;
    struct dps_match_input in = {.registration_id = "dev-1", .now = time(NULL)};
    struct dps_match_result r;
    dps_match_x509(&in, &r);
    EXPECT_REFUSED(r, DPS_REFUSE_NO_CERTIFICATE);
}

/* ---- allocation ---- */

static const char *const hubs3[] = {"hub-a.azure-devices.net", "hub-b.azure-devices.net",
                                    "hub-c.azure-devices.net"};

static void test_allocate_static(void **state)
{
    (void)state;
    struct dps_common c = {.allocation = DPS_ALLOC_STATIC};
    snprintf(c.iot_hub_host_name, sizeof c.iot_hub_host_name, "hub-b.azure-devices.net");
    struct dps_alloc_input in = {"dev-1", &c, hubs3, 3};
    char hub[DPS_HOST_MAX + 1], why[200];
    assert_int_equal(dps_allocate(&in, hub, why, sizeof why), 0);
    assert_string_equal(hub, "hub-b.azure-devices.net");
    /* a group's single hub */
    c.iot_hub_host_name[0] = '\0';
    c.n_iot_hubs = 1;
    snprintf(c.iot_hubs[0], sizeof c.iot_hubs[0], "hub-c.azure-devices.net");
    assert_int_equal(dps_allocate(&in, hub, why, sizeof why), 0);
    assert_string_equal(hub, "hub-c.azure-devices.net");
    /* not linked */
    snprintf(c.iot_hubs[0], sizeof c.iot_hubs[0], "elsewhere.azure-devices.net");
    assert_int_equal(dps_allocate(&in, hub, why, sizeof why), -ENOENT);
    assert_non_null(strstr(why, "elsewhere"));
    /* nothing named, several linked */
    c.n_iot_hubs = 0;
    assert_int_equal(dps_allocate(&in, hub, why, sizeof why), -ENOENT);
    /* nothing named, one linked */
    in.n_linked = 1;
    assert_int_equal(dps_allocate(&in, hub, why, sizeof why), 0);
    assert_string_equal(hub, hubs3[0]);
    in.n_linked = 0;
    assert_int_equal(dps_allocate(&in, hub, why, sizeof why), -ENOENT);
}

static void test_allocate_hashed(void **state)
{
    (void)state;
    struct dps_common c = {.allocation = DPS_ALLOC_HASHED};
    const char *const rev[] = {hubs3[2], hubs3[1], hubs3[0]};
    int count[3] = {0};
    char hub[DPS_HOST_MAX + 1], hub2[DPS_HOST_MAX + 1];
    for (int i = 0; i < 300; i++) {
        char id[32];
        snprintf(id, sizeof id, "device-%d", i);
        struct dps_alloc_input in = {id, &c, hubs3, 3};
        assert_int_equal(dps_allocate(&in, hub, NULL, 0), 0);
        /* stable: same answer again, and whatever the order of the linked hubs */
        assert_int_equal(dps_allocate(&in, hub2, NULL, 0), 0);
        assert_string_equal(hub, hub2);
        struct dps_alloc_input in2 = {id, &c, rev, 3};
        assert_int_equal(dps_allocate(&in2, hub2, NULL, 0), 0);
        assert_string_equal(hub, hub2);
        for (int k = 0; k < 3; k++)
            if (strcmp(hub, hubs3[k]) == 0)
                count[k]++;
    }
    for (int k = 0; k < 3; k++)
        if (count[k] < 60)
            fail_msg("hashed allocation is uneven: %d %d %d", count[0], count[1], count[2]);
    /* a known value, so a change of the hash (which would move devices) is noticed */
    assert_true(dps_alloc_hash("dev-1") == dps_alloc_hash("DEV-1"));
    /* over the enrollment's iotHubs only (linked ones) */
    c.n_iot_hubs = 2;
    snprintf(c.iot_hubs[0], sizeof c.iot_hubs[0], "%s", hubs3[1]);
    snprintf(c.iot_hubs[1], sizeof c.iot_hubs[1], "not-linked.azure-devices.net");
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "d%d", i);
        struct dps_alloc_input in = {id, &c, hubs3, 3};
        assert_int_equal(dps_allocate(&in, hub, NULL, 0), 0);
        assert_string_equal(hub, hubs3[1]);
    }
    c.n_iot_hubs = 1;
    snprintf(c.iot_hubs[0], sizeof c.iot_hubs[0], "not-linked.azure-devices.net");
    struct dps_alloc_input in = {"d1", &c, hubs3, 3};
    assert_int_equal(dps_allocate(&in, hub, NULL, 0), -ENOENT);
}

static void test_reprovision(void **state)
{
    (void)state;
    struct dps_reprovision_policy pol = {true, true};
    struct dps_reprovision_decision d;
    /* first registration */
    dps_reprovision_decide(NULL, "hub-a", &pol, &d);
    assert_string_equal(d.hub, "hub-a");
    assert_true(d.create_device && d.initial_twin && !d.moved && !d.migrate_twin);
    assert_int_equal(d.substatus, DPS_SUB_INITIAL_ASSIGNMENT);
    struct dps_registration prev = {.status = DPS_REG_ASSIGNED,
                                    .substatus = DPS_SUB_INITIAL_ASSIGNMENT};
    snprintf(prev.assigned_hub, sizeof prev.assigned_hub, "hub-a");
    /* again, same hub: the same device */
    dps_reprovision_decide(&prev, "hub-a", &pol, &d);
    assert_string_equal(d.hub, "hub-a");
    assert_false(d.moved);
    assert_false(d.initial_twin);
    assert_int_equal(d.substatus, DPS_SUB_INITIAL_ASSIGNMENT);
    /* hub changed, migrate */
    dps_reprovision_decide(&prev, "hub-b", &pol, &d);
    assert_string_equal(d.hub, "hub-b");
    assert_true(d.moved && d.migrate_twin && !d.initial_twin);
    assert_string_equal(d.previous_hub, "hub-a");
    assert_int_equal(d.substatus, DPS_SUB_DEVICE_DATA_MIGRATED);
    /* hub changed, reset */
    pol.migrate_device_data = false;
    dps_reprovision_decide(&prev, "hub-b", &pol, &d);
    assert_true(d.moved && !d.migrate_twin && d.initial_twin);
    assert_int_equal(d.substatus, DPS_SUB_DEVICE_DATA_RESET);
    /* hub changed, no update */
    pol.update_hub_assignment = false;
    dps_reprovision_decide(&prev, "hub-b", &pol, &d);
    assert_string_equal(d.hub, "hub-a");
    assert_false(d.moved);
    /* a failed earlier attempt counts as first */
    prev.status = DPS_REG_FAILED;
    dps_reprovision_decide(&prev, "hub-b", &pol, &d);
    assert_string_equal(d.hub, "hub-b");
    assert_int_equal(d.substatus, DPS_SUB_INITIAL_ASSIGNMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_individual_over_group),
        cmocka_unit_test(test_group_intermediate),
        cmocka_unit_test(test_group_root),
        cmocka_unit_test(test_first_up_the_chain_wins),
        cmocka_unit_test(test_disabled_individual_blocks_group),
        cmocka_unit_test(test_cn_mismatch),
        cmocka_unit_test(test_unknown_device),
        cmocka_unit_test(test_ca_references),
        cmocka_unit_test(test_secondary_certificates),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_no_certificate),
        cmocka_unit_test(test_allocate_static),
        cmocka_unit_test(test_allocate_hashed),
        cmocka_unit_test(test_reprovision),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

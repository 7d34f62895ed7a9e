/* DPS over MQTT through the real azkit-hub: the Embedded C / NCS wire flavour replayed with a
 * raw MQTT client, per-request X.509 authorization (individual enrollments, groups on an
 * intermediate and on a root), $rid echo and isolation, and the device the assignment leaves
 * in the hub's registry (selfSigned, leaf thumbprint) connecting to the IoT Hub side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "azkit/pki.h"
#include "hub/store/store_dps.h"
#include "dps_test_util.h"
#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32];
static char g_dps_host[300];

static const char *file(const char *name, const char *ext)
{
    return test_pem_path(g_dir, name, ext);
}

static void make(enum azk_pki_kind kind, const char *cn, const char *out, const char *issuer)
{
    test_hub_make_cert(g_dir, kind, cn, out, issuer, NULL, NULL);
}

/* ---- enrollments through the store, before start -------------------------------------------- */

static void done_ok(void *ctx, int rc)
{
    (void)ctx;
    assert_int_equal(rc, 0);
}

static void put_enrollment(struct hub_store *st, const char *id, const char *device_id,
                           const char *cert, bool enabled, const char *twin)
{
    struct dps_enrollment e;
    memset(&e, 0, sizeof(e));
    snprintf(e.registration_id, sizeof(e.registration_id), "%s", id);
    if (device_id)
        snprintf(e.device_id, sizeof(e.device_id), "%s", device_id);
    e.primary_pem = azk_test_read(file(cert, "cert"), NULL);
    e.c.status = enabled ? DPS_STATUS_ENABLED : DPS_STATUS_DISABLED;
    e.c.reprovision.update_hub_assignment = true;
    e.c.reprovision.migrate_device_data = true;
    e.c.initial_twin = twin ? strdup(twin) : NULL;
    assert_int_equal(hub_store_dps_enrollment_put(st, &e, NULL, NULL, done_ok, NULL), 0);
    dps_enrollment_clear(&e);
}

static void put_group(struct hub_store *st, const char *id, const char *cert, const char *twin)
{
    struct dps_group g;
    memset(&g, 0, sizeof(g));
    snprintf(g.group_id, sizeof(g.group_id), "%s", id);
    g.primary_pem = azk_test_read(file(cert, "cert"), NULL);
    g.c.reprovision.update_hub_assignment = true;
    g.c.reprovision.migrate_device_data = true;
    g.c.initial_twin = twin ? strdup(twin) : NULL;
    assert_int_equal(hub_store_dps_group_put(st, &g, NULL, NULL, done_ok, NULL), 0);
    dps_group_clear(&g);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    make(AZK_PKI_ROOT, "Root A", "rootA", NULL);
    make(AZK_PKI_INTERMEDIATE, "Inter A", "interA", "rootA");
    make(AZK_PKI_DEVICE, "dev-1", "dev-1", "interA");
    make(AZK_PKI_DEVICE, "dev-2", "dev-2", "interA");
    make(AZK_PKI_DEVICE, "dev-both", "dev-both", "interA");
    make(AZK_PKI_DEVICE, "dis-1", "dis-1", "interA");
    make(AZK_PKI_DEVICE, "someone-else", "cn-bad", "interA");
    make(AZK_PKI_ROOT, "Root B", "rootB", NULL);
    make(AZK_PKI_DEVICE, "dev-r", "dev-r", "rootB");
    make(AZK_PKI_SELF_SIGNED, "ind-1", "ind-1", NULL);
    make(AZK_PKI_SELF_SIGNED, "nobody", "nobody", NULL);

    test_hub_init(&hub);
    struct event_base *base = event_base_new();
    struct hub_store *st = NULL;
    struct hub_store_config cfg = {.data_dir = hub.data};
    assert_int_equal(hub_store_open(&cfg, base, &st, NULL), 0);
    put_enrollment(st, "ind-1", NULL, "ind-1", true,
                   "{\"tags\":{\"site\":\"lab\"},\"properties\":{\"desired\":{\"interval\":30}}}");
    put_enrollment(st, "dev-both", "custom-dev", "dev-both", true, NULL);
    put_enrollment(st, "dis-1", NULL, "dis-1", false, NULL);
    put_group(st, "grp-a", "interA", "{\"tags\":{\"group\":\"a\"}}");
    put_group(st, "grp-root", "rootB", NULL);
    hub_store_close(st);
    event_base_free(base);

    const char *extra[] = {"--dps-retry-after", "1", "--dps-assign-delay", "2", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps_host, sizeof(g_dps_host));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* ---- a DPS device --------------------------------------------------------------------------- */

static void dps_open(struct test_dev *d, const char *reg_id, const char *send, const char *key,
                     bool clean)
{
    test_dps_open(d, &hub, g_scope, reg_id, send, key, clean);
}

static void dps_open_named(struct test_dev *d, const char *reg_id, const char *cert_name,
                           bool chain)
{
    dps_open(d, reg_id, file(cert_name, chain ? "chain" : "cert"), file(cert_name, "key"), true);
}

static void reg(struct test_dev *d, const char *rid, const char *body, int qos)
{
    char topic[128];
    snprintf(topic, sizeof(topic), "$dps/registrations/PUT/iotdps-register/?$rid=%s", rid);
    test_dev_publish(d, topic, body, qos, qos ? 7 : 0);
    if (qos) {
        assert_int_equal(test_dev_read(d, 5000), 1);
        assert_int_equal(d->pkt.type, AZK_MQTT_PUBACK);
    }
}

static void poll_op(struct test_dev *d, const char *rid, const char *op)
{
    char topic[256];
    snprintf(topic, sizeof(topic),
             "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=%s&operationId=%s", rid, op);
    test_dev_publish(d, topic, "", 0, 0);
}

/* Register ($rid=1, empty body) and poll until assigned, honouring retry-after.
 * Returns the final body; *op_out (may be NULL) gets the operation id. */
static cJSON *provision(struct test_dev *d, int *polls_202)
{
    reg(d, "1", "", 0);
    cJSON *j = test_dps_expect(d, "$dps/registrations/res/202/?$rid=1&retry-after=1");
    assert_string_equal(test_json_str(j, "status"), "assigning");
    char op[128];
    snprintf(op, sizeof(op), "%s", test_json_str(j, "operationId"));
    assert_true(strncmp(op, "4.", 2) == 0);
    cJSON_Delete(j);
    int n202 = 0;
    for (int i = 0; i < 10; i++) {
        poll_op(d, "1", op);
        assert_int_equal(test_dev_read(d, 5000), 1);
        assert_int_equal(d->pkt.type, AZK_MQTT_PUBLISH);
        j = cJSON_ParseWithLength(d->pkt.u.publish.payload.ptr, d->pkt.u.publish.payload.len);
        assert_non_null(j);
        assert_string_equal(test_json_str(j, "operationId"), op);
        if (azk_span_eq_str(d->pkt.u.publish.topic, "$dps/registrations/res/200/?$rid=1")) {
            if (polls_202)
                *polls_202 = n202;
            return j;
        }
        if (!azk_span_eq_str(d->pkt.u.publish.topic,
                             "$dps/registrations/res/202/?$rid=1&retry-after=1"))
            fail_msg("unexpected topic %.*s", (int)d->pkt.u.publish.topic.len,
                     d->pkt.u.publish.topic.ptr);
        assert_string_equal(test_json_str(j, "status"), "assigning");
        cJSON_Delete(j);
        n202++;
        sleep(1); /* retry-after */
    }
    fail_msg("not assigned after 10 polls");
    return NULL;
}

static void expect_401(struct test_dev *d)
{
    reg(d, "1", "", 0);
    cJSON *j = test_dps_expect(d, "$dps/registrations/res/401/?$rid=1");
    assert_int_equal(cJSON_GetObjectItem(j, "errorCode")->valueint, 401002);
    assert_true(strlen(test_json_str(j, "message")) > 0);
    assert_int_equal(strlen(test_json_str(j, "trackingId")), 36);
    assert_true(strlen(test_json_str(j, "timestampUtc")) > 20);
    assert_null(cJSON_GetObjectItem(j, "operationId"));
    assert_null(cJSON_GetObjectItem(j, "status"));
    cJSON_Delete(j);
}

static void check_device(const char *device_id, const char *cert_name, char *etag_out)
{
    cJSON *out = test_hub_admin(&hub, 0, "device", "show", device_id, NULL);
    cJSON *dev = cJSON_GetObjectItem(out, "device");
    assert_non_null(dev);
    cJSON *a = cJSON_GetObjectItem(dev, "authentication");
    assert_string_equal(test_json_str(a, "type"), "selfSigned");
    char hex[65];
    test_hub_thumbprint(file(cert_name, "cert"), EVP_sha256(), hex);
    assert_string_equal(test_json_str(cJSON_GetObjectItem(a, "x509Thumbprint"), "primaryThumbprint"), hex);
    if (etag_out)
        strcpy(etag_out, test_json_str(dev, "etag"));
    cJSON_Delete(out);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* What NCS / the Embedded C sample send: clean session 0, $rid=1, empty register body, QoS 0
 * polls; a group on the intermediate, the device sending leaf + intermediate. */
static void test_ncs_flavour(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open(&d, "dev-1", file("dev-1", "chain"), file("dev-1", "key"), false);
    int n202 = 0;
    cJSON *j = provision(&d, &n202);
    assert_true(n202 >= 1); /* --dps-assign-delay 2 */
    assert_string_equal(test_json_str(j, "status"), "assigned");
    cJSON *rs = cJSON_GetObjectItem(j, "registrationState");
    assert_string_equal(test_json_str(rs, "registrationId"), "dev-1");
    assert_string_equal(test_json_str(rs, "deviceId"), "dev-1");
    assert_string_equal(test_json_str(rs, "assignedHub"), g_dps_host); /* localhost:PORT */
    assert_string_equal(test_json_str(rs, "status"), "assigned");
    assert_string_equal(test_json_str(rs, "substatus"), "initialAssignment");
    test_json_str(rs, "createdDateTimeUtc");
    test_json_str(rs, "lastUpdatedDateTimeUtc");
    test_json_str(rs, "etag");
    assert_null(cJSON_GetObjectItem(rs, "payload"));
    cJSON_Delete(j);

    char etag1[64];
    check_device("dev-1", "dev-1", etag1);
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "dev-1", NULL);
    assert_string_equal(test_json_str(cJSON_GetObjectItem(cJSON_GetObjectItem(tw, "twin"), "tags"), "group"), "a");
    cJSON_Delete(tw);

    /* Registering again returns the same device, untouched. */
    j = provision(&d, NULL);
    rs = cJSON_GetObjectItem(j, "registrationState");
    assert_string_equal(test_json_str(rs, "deviceId"), "dev-1");
    cJSON_Delete(j);
    char etag2[64];
    check_device("dev-1", "dev-1", etag2);
    assert_string_equal(etag1, etag2);
    test_dev_close(&d);

    /* The device connects to the IoT Hub side with the same certificate. */
    struct test_dev h;
    assert_int_equal(test_dev_open(&h, &hub, "dev-1", file("dev-1", "chain"),
                                   file("dev-1", "key"), TLS1_2_VERSION), 0);
    test_dev_close(&h);
}

/* Two devices, both with $rid=1 (as NCS does): each sees only its own answers. */
static void test_same_rid_isolated(void **state)
{
    (void)state;
    struct test_dev a, b;
    dps_open_named(&a, "dev-2", "dev-2", true);
    dps_open(&b, "ind-1", file("ind-1", "cert"), file("ind-1", "key"), true);
    reg(&a, "1", "{\"registrationId\":\"dev-2\",\"payload\":{\"fw\":\"1.2\"}}", 1);
    reg(&b, "1", "", 0);
    cJSON *ja = test_dps_expect(&a, "$dps/registrations/res/202/?$rid=1&retry-after=1");
    cJSON *jb = test_dps_expect(&b, "$dps/registrations/res/202/?$rid=1&retry-after=1");
    char opa[128], opb[128];
    snprintf(opa, sizeof(opa), "%s", test_json_str(ja, "operationId"));
    snprintf(opb, sizeof(opb), "%s", test_json_str(jb, "operationId"));
    assert_string_not_equal(opa, opb);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    /* Nothing else arrived for either. */
    assert_int_equal(test_dev_read(&a, 300), 0);
    assert_int_equal(test_dev_read(&b, 300), 0);
    /* Another device's operation is unknown. */
    poll_op(&a, "1", opb);
    cJSON *j = test_dps_expect(&a, "$dps/registrations/res/404/?$rid=1");
    assert_int_equal(cJSON_GetObjectItem(j, "errorCode")->valueint / 1000, 404);
    cJSON_Delete(j);
    sleep(3);
    poll_op(&a, "1", opa);
    poll_op(&b, "1", opb);
    ja = test_dps_expect(&a, "$dps/registrations/res/200/?$rid=1");
    jb = test_dps_expect(&b, "$dps/registrations/res/200/?$rid=1");
    cJSON *ra = cJSON_GetObjectItem(ja, "registrationState");
    cJSON *rb = cJSON_GetObjectItem(jb, "registrationState");
    assert_string_equal(test_json_str(ra, "deviceId"), "dev-2");
    assert_string_equal(test_json_str(rb, "deviceId"), "ind-1");
    assert_string_equal(test_json_str(cJSON_GetObjectItem(ra, "payload"), "fw"), "1.2");
    assert_int_equal(test_dev_read(&a, 300), 0);
    assert_int_equal(test_dev_read(&b, 300), 0);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    test_dev_close(&a);
    test_dev_close(&b);
    check_device("dev-2", "dev-2", NULL);
    check_device("ind-1", "ind-1", NULL);
    cJSON *tw = test_hub_admin(&hub, 0, "twin", "show", "ind-1", NULL);
    assert_string_equal(test_json_str(cJSON_GetObjectItem(cJSON_GetObjectItem(tw, "twin"), "tags"), "site"), "lab");
    cJSON_Delete(tw);
    /* A self-signed individual device, too, connects to the hub. */
    struct test_dev h;
    assert_int_equal(test_dev_open(&h, &hub, "ind-1", file("ind-1", "cert"), file("ind-1", "key"),
                                   TLS1_2_VERSION), 0);
    test_dev_close(&h);
}

/* An individual enrollment wins over the group that also holds its issuer. */
static void test_individual_over_group(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open_named(&d, "dev-both", "dev-both", true);
    cJSON *j = provision(&d, NULL);
    assert_string_equal(test_json_str(cJSON_GetObjectItem(j, "registrationState"), "deviceId"),
                        "custom-dev");
    cJSON_Delete(j);
    test_dev_close(&d);
    check_device("custom-dev", "dev-both", NULL);
}

/* The group holds the intermediate: a device that sends only its leaf is refused. */
static void test_leaf_only_refused(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open_named(&d, "dev-1", "dev-1", false);
    expect_401(&d);
    test_dev_close(&d);
}

static void test_group_on_root(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open_named(&d, "dev-r", "dev-r", true);
    cJSON *j = provision(&d, NULL);
    assert_string_equal(test_json_str(j, "status"), "assigned");
    cJSON_Delete(j);
    test_dev_close(&d);
    check_device("dev-r", "dev-r", NULL);
}

static void test_disabled_individual_blocks_group(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open_named(&d, "dis-1", "dis-1", true);
    reg(&d, "1", "", 0);
    cJSON *j = test_dps_expect(&d, "$dps/registrations/res/200/?$rid=1");
    assert_string_equal(test_json_str(j, "status"), "disabled");
    assert_string_equal(test_json_str(cJSON_GetObjectItem(j, "registrationState"), "status"), "disabled");
    cJSON_Delete(j);
    test_dev_close(&d);
    cJSON_Delete(test_hub_admin(&hub, 1, "device", "show", "dis-1", NULL));
}

static void test_cn_mismatch(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open(&d, "dev-x", file("cn-bad", "chain"), file("cn-bad", "key"), true);
    expect_401(&d);
    test_dev_close(&d);
}

static void test_unknown_device(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open(&d, "nobody", file("nobody", "cert"), file("nobody", "key"), true);
    expect_401(&d);
    /* No certificate at all: CONNECT is accepted, the register is not. */
    test_dev_close(&d);
    dps_open(&d, "nocert", NULL, NULL, true);
    expect_401(&d);
    /* An unknown operation id: 404. */
    poll_op(&d, "x9", "4.0000000000000000.00000000-0000-4000-8000-000000000000");
    cJSON *j = test_dps_expect(&d, "$dps/registrations/res/404/?$rid=x9");
    cJSON_Delete(j);
    test_dev_close(&d);
}

/* Topics a DPS connection may not use disconnect it. */
static void test_topic_rules(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open_named(&d, "dev-2", "dev-2", true);
    const char *f[] = {"$iothub/twin/res/#"};
    test_dev_subscribe(&d, 2, f, 1, 1);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);
    dps_open_named(&d, "dev-2", "dev-2", true);
    test_dev_publish(&d, "devices/dev-2/messages/events/", "x", 0, 0);
    assert_int_equal(test_dev_read(&d, 3000), -1);
    test_dev_close(&d);
    /* A wrong id scope is refused at CONNECT. */
    assert_int_equal(test_dev_tls(&d, &hub, file("dev-2", "chain"), file("dev-2", "key"),
                                  TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(&d, "dev-2",
                                      "0ne99999999/registrations/dev-2/api-version=2021-06-01",
                                      true, 60, NULL), 5);
    test_dev_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ncs_flavour),
        cmocka_unit_test(test_same_rid_isolated),
        cmocka_unit_test(test_individual_over_group),
        cmocka_unit_test(test_leaf_only_refused),
        cmocka_unit_test(test_group_on_root),
        cmocka_unit_test(test_disabled_individual_blocks_group),
        cmocka_unit_test(test_cn_mismatch),
        cmocka_unit_test(test_unknown_device),
        cmocka_unit_test(test_topic_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* What a device or the service was told is done survives kill -9: twin patches answered 204,
 * telemetry answered with PUBACK, a queued C2D message, and the registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hub_harness.h"
#include "support/test_util.h"

/* `extra`: serve options of both runs (the durability under test). */
static void kill9_loses_nothing_acknowledged(const char *const *extra)
{
    char pki[512];
    azk_test_mkdtemp(pki);
    char cert[700], key[700];
    struct test_hub hub;
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, "crash-1", EVP_sha1(), cert, key);
    test_hub_start(&hub, extra);

    struct test_dev dev;
    assert_int_equal(test_dev_open(&dev, &hub, "crash-1", cert, key, TLS1_2_VERSION), 0);
    const char *res[] = {"$iothub/twin/res/#"};
    test_dev_subscribe(&dev, 1, res, 1, 0);
    assert_int_equal(test_dev_read(&dev, 5000), 1);
    /* 50 acknowledged telemetry messages and 10 acknowledged twin patches. */
    int acked = 0;
    for (int i = 1; i <= 50; i++) {
        char body[32];
        snprintf(body, sizeof(body), "{\"n\":%d}", i);
        test_dev_publish(&dev, "devices/crash-1/messages/events/", body, 1, (uint16_t)i);
    }
    while (acked < 50) {
        assert_int_equal(test_dev_read(&dev, 5000), 1);
        assert_int_equal(dev.pkt.type, AZK_MQTT_PUBACK);
        assert_int_equal(dev.pkt.u.packet_id, acked + 1); /* in order */
        acked++;
    }
    for (int i = 1; i <= 10; i++) {
        char topic[128], body[64];
        snprintf(topic, sizeof(topic), "$iothub/twin/PATCH/properties/reported/?$rid=%d", i);
        snprintf(body, sizeof(body), "{\"counter\":%d}", i);
        test_dev_publish(&dev, topic, body, 0, 0);
        assert_int_equal(test_dev_read(&dev, 5000), 1);
        char want[128];
        snprintf(want, sizeof(want), "$iothub/twin/res/204/?$rid=%d&$version=%d", i, i + 1);
        assert_true(azk_span_eq_str(dev.pkt.u.publish.topic, want));
    }
    test_dev_close(&dev);
    /* A C2D message the service API accepted (answered after commit). */
    cJSON *j = test_hub_admin(&hub, 0, "c2d", "send", "crash-1", "survives", "--message-id",
                              "keep-1", NULL);
    cJSON_Delete(j);
    test_hub_kill9(&hub);

    struct hub_telemetry *recs;
    size_t count = test_hub_telemetry(&hub, &recs);
    assert_int_equal(count, 50);
    hub_telemetry_free_array(recs, count);

    test_hub_start(&hub, extra);
    assert_int_equal(test_dev_open(&dev, &hub, "crash-1", cert, key, TLS1_3_VERSION), 0);
    test_dev_subscribe(&dev, 1, res, 1, 0);
    assert_int_equal(test_dev_read(&dev, 5000), 1);
    test_dev_publish(&dev, "$iothub/twin/GET/?$rid=99", "", 0, 0);
    assert_int_equal(test_dev_read(&dev, 5000), 1);
    cJSON *doc = cJSON_ParseWithLength(dev.pkt.u.publish.payload.ptr, dev.pkt.u.publish.payload.len);
    cJSON *rep = cJSON_GetObjectItem(doc, "reported");
    assert_int_equal(cJSON_GetObjectItem(rep, "counter")->valueint, 10);
    assert_int_equal(cJSON_GetObjectItem(rep, "$version")->valueint, 11);
    cJSON_Delete(doc);
    /* The queued C2D message is delivered after the restart. */
    const char *c2d[] = {"devices/crash-1/messages/devicebound/#"};
    test_dev_subscribe(&dev, 2, c2d, 1, 1);
    bool delivered = false;
    while (!delivered) {
        assert_int_equal(test_dev_read(&dev, 5000), 1);
        if (dev.pkt.type == AZK_MQTT_PUBLISH &&
            azk_span_eq_str(dev.pkt.u.publish.payload, "survives"))
            delivered = true;
    }
    /* ... and the registry entry is intact. */
    j = test_hub_admin(&hub, 0, "device", "show", "crash-1", NULL);
    cJSON *dev_json = cJSON_GetObjectItem(j, "device") ? cJSON_GetObjectItem(j, "device") : j;
    cJSON *auth = cJSON_GetObjectItem(dev_json, "authentication");
    assert_non_null(auth);
    assert_string_equal(cJSON_GetObjectItem(auth, "type")->valuestring, "selfSigned");
    cJSON_Delete(j);
    test_dev_close(&dev);
    test_hub_finish(&hub, pki);
}

static void test_kill9_loses_nothing_acknowledged(void **state)
{
    (void)state;
    kill9_loses_nothing_acknowledged(NULL); /* --durability power */
}

/* Without the fsync the promise is the same for kill -9 (the commit is in the kernel). */
static void test_kill9_with_process_durability(void **state)
{
    (void)state;
    const char *extra[] = {"--durability", "process", NULL};
    kill9_loses_nothing_acknowledged(extra);
}

/* Bad values of the serve options this file is about: exit 2 with what is accepted. */
static void test_serve_option_errors(void **state)
{
    (void)state;
    char dir[512], data[700];
    azk_test_mkdtemp(dir);
    snprintf(data, sizeof(data), "%s/never", dir);
    const char *cases[][3] = {
        {"--durability", "fsync", "--durability is power or process, not 'fsync'"},
        {"--dps-retry-after", "-1", "--dps-retry-after needs seconds 0..3600"},
        {"--dps-retry-after", "3601", "--dps-retry-after needs seconds 0..3600"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {"serve", "--data", data, cases[i][0], cases[i][1], NULL};
        struct azk_run r;
        azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
        if (r.status != 2 || strstr(r.err, cases[i][2]) == NULL)
            fail_msg("serve %s %s: exit %d, wanted 2 with \"%s\":\n%s", cases[i][0],
                     cases[i][1], r.status, cases[i][2], r.err);
        azk_run_free(&r);
    }
    assert_false(azk_test_exists(data)); /* refused before anything was created */
    azk_test_rmrf(dir);
}

/* `serve` on `data` must refuse to start because `db` (a path under it) is empty, with a
 * message that names the file and the fix, and leave the file as it is. */
static void expect_refused_empty(const char *data, const char *db, const char *const *extra)
{
    const char *argv[16] = {"serve", "--data", data, "--mqtt-port", "0", "--service-port", "0"};
    size_t n = 7;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    struct azk_run r;
    azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
    char want[800];
    snprintf(want, sizeof(want), "%s is empty (0 bytes)", db);
    if (r.status == 0 || strstr(r.err, want) == NULL || strstr(r.err, "delete it") == NULL)
        fail_msg("serve with an empty %s: status %d, stderr:\n%s", db, r.status, r.err);
    azk_run_free(&r);
    assert_true(azk_test_exists(db));
    char *text = azk_test_read(db, NULL);
    assert_string_equal(text, "");
    free(text);
}

/* A 0-byte hub.db (a crash, an operator) is not a new hub: `serve` refuses to start, naming
 * the file and the fix, for the primary hub and for a linked hub; once the file is deleted on
 * purpose, the hub starts empty. */
static void test_empty_database_refused(void **state)
{
    (void)state;
    char pki[512];
    azk_test_mkdtemp(pki);
    char cert[700], key[700];
    struct test_hub hub;
    test_hub_init(&hub);
    test_hub_self_signed_device(&hub, pki, "kept-1", EVP_sha1(), cert, key);
    const char *const linked[] = {"--linked-hub", "hub-b.azkit.test", NULL};
    test_hub_start(&hub, linked);
    test_hub_stop(&hub);

    char db[700], wal[720];
    snprintf(db, sizeof(db), "%s/hub.db", hub.data);
    snprintf(wal, sizeof(wal), "%s-wal", db);
    assert_int_equal(truncate(db, 0), 0);
    unlink(wal);
    expect_refused_empty(hub.data, db, NULL);

    /* A linked hub's database, the same. */
    assert_int_equal(unlink(db), 0);
    test_hub_start(&hub, linked); /* a fresh primary hub: starts */
    cJSON *j = test_hub_admin(&hub, 0, "device", "list", NULL);
    char *text = cJSON_PrintUnformatted(j);
    assert_null(strstr(text, "kept-1"));
    free(text);
    cJSON_Delete(j);
    test_hub_stop(&hub);
    char linked_db[760];
    snprintf(linked_db, sizeof(linked_db), "%s/hubs/hub-b.azkit.test/hub.db", hub.data);
    assert_int_equal(truncate(linked_db, 0), 0);
    expect_refused_empty(hub.data, linked_db, linked);

    test_hub_cleanup(&hub);
    azk_test_rmrf(pki);
}

/* A second `serve` on the data directory of a running hub is refused, naming the file and
 * the fix (it would otherwise write the same tables with its own sequence counters), and the
 * running hub goes on serving with its state intact. */
static void test_second_hub_on_same_data_refused(void **state)
{
    (void)state;
    struct test_hub hub;
    test_hub_init(&hub);
    test_hub_start(&hub, NULL);
    cJSON *made = test_hub_admin(&hub, 0, "device", "add", "kept-2", "--sas", NULL);
    cJSON_Delete(made);

    const char *argv[] = {"serve", "--data", hub.data, "--mqtt-port", "0", "--service-port",
                          "0", NULL};
    struct azk_run r;
    azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
    char db[700];
    snprintf(db, sizeof(db), "%s/hub.db", hub.data);
    if (r.status == 0 || strstr(r.err, "is in use by another process") == NULL ||
        strstr(r.err, db) == NULL || strstr(r.err, "another --data directory") == NULL)
        fail_msg("a second serve on %s: status %d, stderr:\n%s", hub.data, r.status, r.err);
    azk_run_free(&r);

    cJSON *j = test_hub_admin(&hub, 0, "device", "list", NULL);
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "kept-2"));
    free(text);
    cJSON_Delete(j);
    test_hub_stop(&hub);
    test_hub_start(&hub, NULL); /* the lock went with the first hub */
    test_hub_stop(&hub);
    test_hub_cleanup(&hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_nothing_acknowledged),
        cmocka_unit_test(test_kill9_with_process_durability),
        cmocka_unit_test(test_serve_option_errors),
        cmocka_unit_test(test_empty_database_refused),
        cmocka_unit_test(test_second_hub_on_same_data_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

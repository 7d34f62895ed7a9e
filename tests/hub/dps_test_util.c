/* DPS device helpers for the hub tests (dps_test_util.h). */
#include "dps_test_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

void test_dps_open(struct test_dev *d, const struct test_hub *h, const char *scope,
                   const char *reg_id, const char *send, const char *key, bool clean)
{
    assert_int_equal(test_dev_tls(d, h, send, key, TLS1_2_VERSION, NULL), 0);
    char user[512];
    snprintf(user, sizeof(user), "%s/registrations/%s/api-version=2019-03-31&ClientVersion="
             "azure-iot-provisioning-device%%2F1.0", scope, reg_id);
    assert_int_equal(test_dev_connect(d, reg_id, user, clean, 60, NULL), 0);
    const char *f[] = {"$dps/registrations/res/#"};
    test_dev_subscribe(d, 1, f, 1, 1);
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_SUBACK);
    struct azk_mqtt_iter it;
    uint8_t code = 0x80;
    azk_mqtt_iter_init(&it, &d->pkt);
    assert_true(azk_mqtt_iter_next_suback_code(&it, &code));
    assert_int_equal(code, 1);
}

cJSON *test_dps_expect(struct test_dev *d, const char *topic)
{
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_PUBLISH);
    if (!azk_span_eq_str(d->pkt.u.publish.topic, topic))
        fail_msg("topic '%.*s', expected '%s'", (int)d->pkt.u.publish.topic.len,
                 d->pkt.u.publish.topic.ptr, topic);
    cJSON *j = cJSON_ParseWithLength(d->pkt.u.publish.payload.ptr, d->pkt.u.publish.payload.len);
    assert_non_null(j);
    return j;
}

const char *test_json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        fail_msg("member '%s' is not a string", name);
    return v->valuestring;
}

/* Reads the answer to request `rid`: returns its body; *status and *retry_after from the
 * topic "$dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]". */
static cJSON *answer(struct test_dev *d, const char *rid, int *status, int *retry_after)
{
    assert_int_equal(test_dev_read(d, 10000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_PUBLISH);
    char topic[256];
    snprintf(topic, sizeof(topic), "%.*s", (int)d->pkt.u.publish.topic.len,
             d->pkt.u.publish.topic.ptr);
    char want[64];
    snprintf(want, sizeof(want), "/?$rid=%s", rid);
    if (sscanf(topic, "$dps/registrations/res/%d/", status) != 1 || strstr(topic, want) == NULL)
        fail_msg("unexpected answer topic '%s' (request $rid=%s)", topic, rid);
    const char *ra = strstr(topic, "retry-after=");
    *retry_after = ra ? atoi(ra + 12) : 0;
    cJSON *j = cJSON_ParseWithLength(d->pkt.u.publish.payload.ptr, d->pkt.u.publish.payload.len);
    assert_non_null(j);
    return j;
}

cJSON *test_dps_register(struct test_dev *d, const char *rid, const char *body, int *status)
{
    char topic[256];
    snprintf(topic, sizeof(topic), "$dps/registrations/PUT/iotdps-register/?$rid=%s", rid);
    test_dev_publish(d, topic, body, 0, 0);
    int st = 0, retry = 0;
    cJSON *j = answer(d, rid, &st, &retry);
    for (int polls = 0; st == 202; polls++) {
        if (polls == 30)
            fail_msg("still assigning after 30 polls");
        char op[128];
        snprintf(op, sizeof(op), "%s", test_json_str(j, "operationId"));
        cJSON_Delete(j);
        sleep((unsigned)(retry > 0 ? retry : 1));
        snprintf(topic, sizeof(topic),
                 "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=%s&operationId=%s",
                 rid, op);
        test_dev_publish(d, topic, "", 0, 0);
        j = answer(d, rid, &st, &retry);
    }
    if (status)
        *status = st;
    return j;
}

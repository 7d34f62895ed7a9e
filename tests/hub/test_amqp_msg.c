/* The AMQP endpoint's own parsing of external input: node addresses, the `to` of C2D messages,
 * CBS audiences, put-token requests and C2D messages as Proton decodes them (good and bad), the
 * C2D property bag, and the feedback queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proton/codec.h>
#include <proton/message.h>

#include "hub/amqp/amqp_addr.h"
#include "hub/amqp/amqp_msg.h"
#include "hub/iothub/c2d_props.h"
#include "hub/iothub/feedback.h"
#include "support/test_util.h"

static void test_node_of(void **state)
{
    (void)state;
    assert_int_equal(hub_amqp_node_of("$cbs"), HUB_AMQP_NODE_CBS);
    assert_int_equal(hub_amqp_node_of("/messages/devicebound"), HUB_AMQP_NODE_DEVICEBOUND);
    assert_int_equal(hub_amqp_node_of("/messages/deviceBound"), HUB_AMQP_NODE_DEVICEBOUND);
    assert_int_equal(hub_amqp_node_of("/messages/serviceBound/feedback"), HUB_AMQP_NODE_FEEDBACK);
    assert_int_equal(hub_amqp_node_of("amqps://h.example:5671/messages/devicebound"),
                     HUB_AMQP_NODE_DEVICEBOUND);
    assert_int_equal(hub_amqp_node_of(NULL), HUB_AMQP_NODE_UNKNOWN);
    assert_int_equal(hub_amqp_node_of(""), HUB_AMQP_NODE_UNKNOWN);
    assert_int_equal(hub_amqp_node_of("$CBS"), HUB_AMQP_NODE_UNKNOWN);
    assert_int_equal(hub_amqp_node_of("/messages/devicebound/"), HUB_AMQP_NODE_UNKNOWN);
    assert_int_equal(hub_amqp_node_of("/messages/serviceBound/filenotifications"),
                     HUB_AMQP_NODE_UNKNOWN);
    assert_int_equal(hub_amqp_node_of("amqps://host-without-path"), HUB_AMQP_NODE_UNKNOWN);
    assert_int_equal(hub_amqp_node_of("/messages/events"), HUB_AMQP_NODE_UNKNOWN);
}

static void test_device_of_to(void **state)
{
    (void)state;
    char id[129];
    assert_int_equal(hub_amqp_device_of_to("/devices/dev-1/messages/devicebound", id, sizeof(id)), 0);
    assert_string_equal(id, "dev-1");
    assert_int_equal(hub_amqp_device_of_to("/devices/a%23b%2Fc/messages/deviceBound", id, sizeof(id)), 0);
    assert_string_equal(id, "a#b/c");
    assert_int_equal(hub_amqp_device_of_to(NULL, id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("/devices//messages/devicebound", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("/devices/x/messages/events", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("/devices/x/y/messages/devicebound", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("devices/x/messages/devicebound", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("/devices/x%zz/messages/devicebound", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("/devices/x%00y/messages/devicebound", id, sizeof(id)), -EINVAL);
    assert_int_equal(hub_amqp_device_of_to("/devices/x/messages/devicebound/", id, sizeof(id)), -EINVAL);
    char longto[400];
    snprintf(longto, sizeof(longto), "/devices/%0200d/messages/devicebound", 7);
    assert_int_equal(hub_amqp_device_of_to(longto, id, sizeof(id)), -ENAMETOOLONG);
    char small[4];
    assert_int_equal(hub_amqp_device_of_to("/devices/abcd/messages/devicebound", small, sizeof(small)),
                     -ENAMETOOLONG);
}

static void test_audience(void **state)
{
    (void)state;
    assert_true(hub_amqp_audience_in_scope("localhost", "localhost"));
    assert_true(hub_amqp_audience_in_scope("localhost:5671", "localhost%3A5671"));
    assert_true(hub_amqp_audience_in_scope("Hub.Example", "hub.example/messages/devicebound"));
    assert_true(hub_amqp_audience_in_scope("hub.example/", "hub.example"));
    assert_true(hub_amqp_audience_in_scope("https://hub.example", "amqps://hub.example/x"));
    assert_false(hub_amqp_audience_in_scope("hub.example/devices/a", "hub.example"));
    assert_false(hub_amqp_audience_in_scope("hub.example/devices/a", "hub.example/devices/ab"));
    assert_true(hub_amqp_audience_in_scope("hub.example/devices/a", "hub.example/devices/a/x"));
    assert_false(hub_amqp_audience_in_scope("hub.example", "other.example"));
    assert_false(hub_amqp_audience_in_scope("localhost", "localhost:5671"));
    assert_false(hub_amqp_audience_in_scope("hub.example", "hub.example.evil"));
    assert_false(hub_amqp_audience_in_scope("", "x"));
    assert_false(hub_amqp_audience_in_scope("x", ""));
    assert_false(hub_amqp_audience_in_scope(NULL, "x"));
    assert_false(hub_amqp_audience_in_scope("x", NULL));
    assert_false(hub_amqp_audience_in_scope("x", "x%zz"));
    assert_false(hub_amqp_audience_in_scope("x", "x%00"));
}

static void put_str(pn_data_t *d, const char *s)
{
    pn_data_put_string(d, pn_bytes(strlen(s), s));
}

static pn_message_t *cbs_message(const char *op, const char *type, const char *name,
                                 const char *token)
{
    pn_message_t *m = pn_message();
    pn_atom_t id = {.type = PN_STRING};
    id.u.as_bytes = pn_bytes(5, "req-1");
    pn_message_set_id(m, id);
    pn_message_set_reply_to(m, "cbs");
    pn_data_t *ap = pn_message_properties(m);
    pn_data_put_map(ap);
    pn_data_enter(ap);
    if (op) {
        put_str(ap, "operation");
        put_str(ap, op);
    }
    if (type) {
        put_str(ap, "type");
        put_str(ap, type);
    }
    if (name) {
        put_str(ap, "name");
        put_str(ap, name);
    }
    pn_data_exit(ap);
    if (token)
        put_str(pn_message_body(m), token);
    return m;
}

static void test_cbs_request(void **state)
{
    (void)state;
    struct hub_amqp_cbs_req r;
    const char *why = NULL;
    pn_message_t *m = cbs_message("put-token", "servicebus.windows.net:sastoken", "h:5671",
                                  "SharedAccessSignature sr=h&sig=x&se=1");
    assert_int_equal(hub_amqp_cbs_request(m, &r, &why), 0);
    assert_string_equal(r.message_id, "req-1");
    assert_string_equal(r.reply_to, "cbs");
    assert_string_equal(r.name, "h:5671");
    assert_string_equal(r.token, "SharedAccessSignature sr=h&sig=x&se=1");
    pn_message_free(m);

    const struct {
        const char *op, *type, *name, *token;
    } bad[] = {
        {NULL, "t", "n", "tok"},          {"delete-token", "t", "n", "tok"},
        {"put-token", NULL, "n", "tok"},  {"put-token", "t", NULL, "tok"},
        {"put-token", "t", "", "tok"},    {"put-token", "t", "n", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = cbs_message(bad[i].op, bad[i].type, bad[i].name, bad[i].token);
        why = NULL;
        assert_int_equal(hub_amqp_cbs_request(m, &r, &why), -EINVAL);
        assert_non_null(why);
        pn_message_free(m);
    }
    /* A token that is binary, and one too long. */
    m = cbs_message("put-token", "t", "n", NULL);
    pn_data_put_binary(pn_message_body(m), pn_bytes(3, "abc"));
    assert_int_equal(hub_amqp_cbs_request(m, &r, &why), -EINVAL);
    pn_message_free(m);
    char *big = malloc(2000);
    memset(big, 'a', 1999);
    big[1999] = '\0';
    m = cbs_message("put-token", "t", "n", big);
    assert_int_equal(hub_amqp_cbs_request(m, &r, &why), -EINVAL);
    assert_non_null(strstr(why, "1024"));
    pn_message_free(m);
    /* A name (audience) that is not a string. */
    m = cbs_message("put-token", "t", NULL, "tok");
    pn_data_t *ap = pn_message_properties(m);
    pn_data_rewind(ap);
    pn_data_next(ap);
    pn_data_enter(ap);
    while (pn_data_next(ap))
        ;
    put_str(ap, "name");
    pn_data_put_int(ap, 7);
    pn_data_exit(ap);
    assert_int_equal(hub_amqp_cbs_request(m, &r, &why), -EINVAL);
    pn_message_free(m);
    /* An id of a type IoT Hub does not take. */
    m = cbs_message("put-token", "t", "n", "tok");
    pn_data_clear(pn_message_id(m)); /* (pn_message_set_id refuses a double) */
    pn_data_put_double(pn_message_id(m), 1.5);
    assert_int_equal(hub_amqp_cbs_request(m, &r, &why), -EINVAL);
    pn_message_free(m);
    free(big);
}

static void test_id_text(void **state)
{
    (void)state;
    char out[129];
    pn_atom_t a = {.type = PN_UUID};
    for (int i = 0; i < 16; i++)
        a.u.as_uuid.bytes[i] = (char)(i * 17);
    assert_int_equal(hub_amqp_id_text(a, out, sizeof(out)), 36);
    assert_string_equal(out, "00112233-4455-6677-8899-aabbccddeeff");
    a.type = PN_ULONG;
    a.u.as_ulong = 42;
    assert_int_equal(hub_amqp_id_text(a, out, sizeof(out)), 2);
    assert_string_equal(out, "42");
    a.type = PN_NULL;
    assert_int_equal(hub_amqp_id_text(a, out, sizeof(out)), 0);
    a.type = PN_STRING;
    a.u.as_bytes = pn_bytes(3, "a\nb");
    assert_int_equal(hub_amqp_id_text(a, out, sizeof(out)), -EINVAL);
    char big[200];
    memset(big, 'x', sizeof(big));
    a.u.as_bytes = pn_bytes(sizeof(big), big);
    assert_int_equal(hub_amqp_id_text(a, out, sizeof(out)), -EINVAL);
    a.type = PN_INT;
    assert_int_equal(hub_amqp_id_text(a, out, sizeof(out)), -EINVAL);
}

static pn_message_t *c2d_message(const char *to)
{
    pn_message_t *m = pn_message();
    if (to)
        pn_message_set_address(m, to);
    pn_atom_t id = {.type = PN_STRING};
    id.u.as_bytes = pn_bytes(4, "m-42");
    pn_message_set_id(m, id);
    pn_message_set_inferred(m, true);
    pn_data_put_binary(pn_message_body(m), pn_bytes(5, "hello"));
    return m;
}

static void add_prop(pn_message_t *m, const char *key, pn_type_t t, const char *sval, long long n)
{
    pn_data_t *ap = pn_message_properties(m);
    pn_data_rewind(ap);
    if (!pn_data_next(ap)) {
        pn_data_put_map(ap);
    }
    pn_data_rewind(ap);
    pn_data_next(ap);
    pn_data_enter(ap);
    while (pn_data_next(ap))
        ;
    put_str(ap, key);
    if (t == PN_STRING)
        put_str(ap, sval);
    else if (t == PN_LONG)
        pn_data_put_long(ap, n);
    else if (t == PN_BOOL)
        pn_data_put_bool(ap, n != 0);
    else if (t == PN_DOUBLE)
        pn_data_put_double(ap, (double)n);
    else if (t == PN_LIST)
        pn_data_put_list(ap);
    pn_data_exit(ap);
}

static void test_c2d_good(void **state)
{
    (void)state;
    struct hub_amqp_c2d c;
    struct hub_amqp_refusal ref;
    pn_message_t *m = c2d_message("/devices/dev%201/messages/devicebound");
    pn_atom_t cid = {.type = PN_ULONG};
    cid.u.as_ulong = 7;
    pn_message_set_correlation_id(m, cid);
    pn_message_set_content_type(m, "application/json");
    pn_message_set_expiry_time(m, 2000000);
    add_prop(m, "color", PN_STRING, "blue green", 0);
    add_prop(m, "n", PN_LONG, NULL, -3);
    add_prop(m, "ok", PN_BOOL, NULL, 1);
    add_prop(m, "iothub-ack", PN_STRING, "full", 0);
    assert_int_equal(hub_amqp_c2d_from_message(m, 1000000, &c, &ref), 0);
    assert_string_equal(c.device_id, "dev 1");
    assert_string_equal(c.message_id, "m-42");
    assert_int_equal(c.ack, HUB_C2D_ACK_FULL);
    assert_int_equal(c.expiry_ms, 2000000);
    assert_int_equal(c.body_len, 5);
    assert_memory_equal(c.body, "hello", 5);
    assert_non_null(strstr(c.props, "color=blue%20green&n=-3&ok=true&%24.mid=m-42&"));
    assert_non_null(strstr(c.props, "%24.cid=7"));
    assert_non_null(strstr(c.props, "%24.ct=application%2Fjson"));
    assert_non_null(strstr(c.props, "%24.exp="));
    assert_non_null(strstr(c.props, "iothub-ack=full"));
    assert_int_equal(hub_c2d_props_ack(c.props), HUB_C2D_ACK_FULL);
    pn_message_free(m);

    /* No id: one is made; an AMQP string body. */
    m = pn_message();
    pn_message_set_address(m, "/devices/d/messages/devicebound");
    put_str(pn_message_body(m), "text body");
    assert_int_equal(hub_amqp_c2d_from_message(m, 1000, &c, &ref), 0);
    assert_int_equal(strlen(c.message_id), 36);
    assert_int_equal(c.body_len, 9);
    assert_int_equal(c.ack, HUB_C2D_ACK_NONE);
    assert_int_equal(hub_c2d_props_ack(c.props), HUB_C2D_ACK_NONE);
    pn_message_free(m);
}

static void expect_refusal(pn_message_t *m, const char *condition, const char *words)
{
    struct hub_amqp_c2d c;
    struct hub_amqp_refusal ref;
    if (hub_amqp_c2d_from_message(m, 1000000, &c, &ref) != -EINVAL)
        fail_msg("accepted; expected a refusal saying '%s'", words);
    assert_string_equal(ref.condition, condition);
    if (strstr(ref.description, words) == NULL)
        fail_msg("'%s' does not say '%s'", ref.description, words);
    pn_message_free(m);
}

static void test_c2d_bad(void **state)
{
    (void)state;
    const char *arg = "com.microsoft:argument-error";
    expect_refusal(c2d_message(NULL), arg, "(none)");
    expect_refusal(c2d_message("/devices/x/messages/events"), arg, "/messages/devicebound");
    char longto[400];
    snprintf(longto, sizeof(longto), "/devices/%0200d/messages/devicebound", 7);
    expect_refusal(c2d_message(longto), arg, "longer than 128");

    pn_message_t *m = c2d_message("/devices/d/messages/devicebound");
    add_prop(m, "iothub-ack", PN_STRING, "always", 0);
    expect_refusal(m, arg, "iothub-ack");
    m = c2d_message("/devices/d/messages/devicebound");
    add_prop(m, "x", PN_DOUBLE, NULL, 1);
    expect_refusal(m, arg, "application property 'x'");
    m = c2d_message("/devices/d/messages/devicebound");
    add_prop(m, "x", PN_LIST, NULL, 0);
    expect_refusal(m, arg, "application property 'x'");
    m = c2d_message("/devices/d/messages/devicebound");
    add_prop(m, "", PN_STRING, "v", 0);
    expect_refusal(m, arg, "property name");

    m = c2d_message("/devices/d/messages/devicebound");
    pn_message_set_expiry_time(m, 999999);
    expect_refusal(m, arg, "expired");

    m = c2d_message("/devices/d/messages/devicebound");
    pn_data_clear(pn_message_id(m));
    pn_data_put_double(pn_message_id(m), 1.5);
    expect_refusal(m, arg, "message id");
    m = c2d_message("/devices/d/messages/devicebound");
    pn_data_put_double(pn_message_correlation_id(m), 1.5);
    expect_refusal(m, arg, "correlation id");

    /* 64 KB + 1 of body. */
    m = c2d_message("/devices/d/messages/devicebound");
    char *big = calloc(1, HUB_C2D_PAYLOAD_MAX + 1);
    pn_data_clear(pn_message_body(m));
    pn_data_put_binary(pn_message_body(m), pn_bytes(HUB_C2D_PAYLOAD_MAX + 1, big));
    expect_refusal(m, "amqp:link:message-size-exceeded", "65536");
    free(big);

    /* A body that is a list. */
    m = c2d_message("/devices/d/messages/devicebound");
    pn_data_clear(pn_message_body(m));
    pn_data_put_list(pn_message_body(m));
    expect_refusal(m, arg, "body");

    /* Properties that make the device's topic too long. */
    m = c2d_message("/devices/d/messages/devicebound");
    char v[1000];
    memset(v, 'v', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    for (int i = 0; i < 6; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        add_prop(m, k, PN_STRING, v, 0);
    }
    expect_refusal(m, arg, "too long");
}

static void test_props_and_ack(void **state)
{
    (void)state;
    enum hub_c2d_ack a;
    assert_int_equal(hub_c2d_ack_parse("positive", &a), 0);
    assert_int_equal(a, HUB_C2D_ACK_POSITIVE);
    assert_int_equal(hub_c2d_ack_parse("Full", &a), -EINVAL);
    assert_int_equal(hub_c2d_ack_parse(NULL, &a), -EINVAL);
    assert_int_equal(hub_c2d_props_ack("a=1&iothub-ack=negative&b=2"), HUB_C2D_ACK_NEGATIVE);
    assert_int_equal(hub_c2d_props_ack("xiothub-ack=full"), HUB_C2D_ACK_NONE);
    assert_int_equal(hub_c2d_props_ack("iothub-ack=bogus"), HUB_C2D_ACK_NONE);
    assert_int_equal(hub_c2d_props_ack("iothub-ack=fullfullfullfullfull"), HUB_C2D_ACK_NONE);
    assert_int_equal(hub_c2d_props_ack(NULL), HUB_C2D_ACK_NONE);
    assert_int_equal(hub_c2d_props_ack(""), HUB_C2D_ACK_NONE);
    assert_true(hub_feedback_wanted(HUB_C2D_ACK_FULL, HUB_FEEDBACK_REJECTED));
    assert_true(hub_feedback_wanted(HUB_C2D_ACK_POSITIVE, HUB_FEEDBACK_SUCCESS));
    assert_false(hub_feedback_wanted(HUB_C2D_ACK_POSITIVE, HUB_FEEDBACK_EXPIRED));
    assert_true(hub_feedback_wanted(HUB_C2D_ACK_NEGATIVE, HUB_FEEDBACK_EXPIRED));
    assert_false(hub_feedback_wanted(HUB_C2D_ACK_NEGATIVE, HUB_FEEDBACK_SUCCESS));
    assert_false(hub_feedback_wanted(HUB_C2D_ACK_NONE, HUB_FEEDBACK_SUCCESS));
}

static void test_feedback_queue(void **state)
{
    (void)state;
    struct hub_feedback f = {0};
    struct hub_feedback_rec *taken = NULL;
    assert_null(hub_feedback_take_json(&f, 10, &taken));
    for (int i = 0; i < 3; i++) {
        struct hub_feedback_rec r = {.status = i == 1 ? HUB_FEEDBACK_REJECTED : HUB_FEEDBACK_SUCCESS,
                                     .at_ms = 1700000000000};
        snprintf(r.original_message_id, sizeof(r.original_message_id), "m%d", i);
        snprintf(r.device_id, sizeof(r.device_id), "d\"%d", i);
        assert_int_equal(hub_feedback_push(&f, &r), 0);
    }
    char *json = hub_feedback_take_json(&f, 2, &taken);
    assert_non_null(json);
    assert_string_equal(json, "[{\"originalMessageId\":\"m0\",\"deviceId\":\"d\\\"0\","
                              "\"deviceGenerationId\":\"\",\"description\":\"Success\","
                              "\"statusCode\":\"Success\",\"enqueuedTimeUtc\":"
                              "\"2023-11-14T22:13:20.000Z\"},{\"originalMessageId\":\"m1\","
                              "\"deviceId\":\"d\\\"1\",\"deviceGenerationId\":\"\","
                              "\"description\":\"Rejected\",\"statusCode\":\"Rejected\","
                              "\"enqueuedTimeUtc\":\"2023-11-14T22:13:20.000Z\"}]");
    free(json);
    assert_int_equal(f.count, 1);
    /* Not accepted: back at the head, in order. */
    hub_feedback_requeue(&f, taken);
    assert_int_equal(f.count, 3);
    assert_string_equal(f.head->original_message_id, "m0");
    json = hub_feedback_take_json(&f, 10, &taken);
    assert_non_null(strstr(json, "\"m2\""));
    free(json);
    assert_int_equal(f.count, 0);
    assert_null(f.head);
    assert_null(f.tail);
    hub_feedback_free_list(taken);
    /* The cap drops the oldest. */
    for (int i = 0; i < HUB_FEEDBACK_MAX + 2; i++) {
        struct hub_feedback_rec r = {.status = HUB_FEEDBACK_SUCCESS};
        snprintf(r.original_message_id, sizeof(r.original_message_id), "n%d", i);
        assert_int_equal(hub_feedback_push(&f, &r), 0);
    }
    assert_int_equal(f.count, HUB_FEEDBACK_MAX);
    assert_string_equal(f.head->original_message_id, "n2");
    hub_feedback_clear(&f);
    assert_int_equal(f.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_of),      cmocka_unit_test(test_device_of_to),
        cmocka_unit_test(test_audience),     cmocka_unit_test(test_cbs_request),
        cmocka_unit_test(test_id_text),      cmocka_unit_test(test_c2d_good),
        cmocka_unit_test(test_c2d_bad),      cmocka_unit_test(test_props_and_ack),
        cmocka_unit_test(test_feedback_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The Event Hubs-compatible endpoint's parsing of external input: link addresses as the Event
 * Hubs SDKs write them, receiver selector filters (good and bad), the entity path of a hub. */
#include <errno.h>
#include <string.h>

#include "hub/amqp/eh_addr.h"
#include "support/test_util.h"

static void test_address(void **state)
{
    (void)state;
    struct hub_eh_address a;
    assert_int_equal(hub_eh_address_parse("myhub/$management", &a), HUB_EH_NODE_MANAGEMENT);
    assert_string_equal(a.entity, "myhub");
    assert_int_equal(hub_eh_address_parse("$management", &a), HUB_EH_NODE_MANAGEMENT);
    assert_string_equal(a.entity, "");
    assert_int_equal(hub_eh_address_parse("myhub/ConsumerGroups/$default/Partitions/3", &a),
                     HUB_EH_NODE_PARTITION);
    assert_string_equal(a.entity, "myhub");
    assert_string_equal(a.consumer_group, "$default");
    assert_int_equal(a.partition, 3);
    assert_int_equal(hub_eh_address_parse("sb://h.example:5671/myhub/consumergroups/cg/"
                                          "partitions/12", &a), HUB_EH_NODE_PARTITION);
    assert_string_equal(a.consumer_group, "cg");
    assert_int_equal(a.partition, 12);
    assert_int_equal(hub_eh_address_parse("amqps://h/myhub/$management", &a),
                     HUB_EH_NODE_MANAGEMENT);
    static const char *const bad[] = {
        NULL, "", "myhub", "myhub/", "/ConsumerGroups/cg/Partitions/0",
        "myhub/ConsumerGroups//Partitions/0", "myhub/ConsumerGroups/cg/Partitions/",
        "myhub/ConsumerGroups/cg/Partitions/-1", "myhub/ConsumerGroups/cg/Partitions/1x",
        "myhub/ConsumerGroups/cg/Partitions/12345", "myhub/ConsumerGroups/cg",
        "myhub/Partitions/0", "sb://host-only", "myhub/$management/x",
        "myhub/ConsumerGroups/cg/Partitions/0/x",
        "0123456789012345678901234567890123456789012345678901234567890123/$management",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hub_eh_address_parse(bad[i], &a), HUB_EH_NODE_NONE);
}

static void test_filter(void **state)
{
    (void)state;
    struct hub_eh_position p;
    const char *why = NULL;
    assert_int_equal(hub_eh_filter_parse("amqp.annotation.x-opt-offset > '-1'", &p, &why), 0);
    assert_int_equal(p.from, HUB_EH_FROM_OFFSET);
    assert_false(p.inclusive);
    assert_int_equal(p.value, -1);
    assert_int_equal(hub_eh_filter_parse("amqp.annotation.x-opt-offset > '@latest'", &p, &why),
                     0);
    assert_int_equal(p.from, HUB_EH_FROM_LATEST);
    assert_int_equal(hub_eh_filter_parse("amqp.annotation.x-opt-sequence-number >= '42'", &p,
                                         &why), 0);
    assert_int_equal(p.from, HUB_EH_FROM_SEQNO);
    assert_true(p.inclusive);
    assert_int_equal(p.value, 42);
    assert_int_equal(hub_eh_filter_parse("amqp.annotation.x-opt-enqueued-time>'1764700000000'",
                                         &p, &why), 0);
    assert_int_equal(p.from, HUB_EH_FROM_TIME);
    assert_int_equal(p.value, 1764700000000LL);
    assert_int_equal(hub_eh_filter_parse("amqp.annotation.x-opt-offset > '9223372036854775807'",
                                         &p, &why), 0);
    assert_int_equal(hub_eh_filter_parse("amqp.annotation.x-opt-offset > "
                                         "'-9223372036854775808'", &p, &why), 0);
    static const char *const bad[] = {
        NULL, "", "amqp.annotation.x-opt-offset", "amqp.annotation.x-opt-offset > 5",
        "amqp.annotation.x-opt-offset < '5'", "amqp.annotation.x-opt-offset = '5'",
        "amqp.annotation.x-opt-offset > '5", "amqp.annotation.x-opt-offset > '5' AND 1=1",
        "amqp.annotation.x-opt-offset > ''", "amqp.annotation.x-opt-offset > '-'",
        "amqp.annotation.x-opt-offset > '9223372036854775808'",
        "amqp.annotation.x-opt-sequence-number > '@latest'",
        "amqp.annotation.x-opt-enqueued-time > '1.5'", "amqp.annotation.x-opt-other > '1'",
        "amqp.annotation.x-opt-offsetx > '1'", "x-opt-offset > '1'",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(hub_eh_filter_parse(bad[i], &p, &why), -EINVAL);
        assert_non_null(why);
    }
}

static void test_entity(void **state)
{
    (void)state;
    char e[16];
    hub_eh_entity_of_host("myhub.azure-devices.net", e, sizeof(e));
    assert_string_equal(e, "myhub");
    hub_eh_entity_of_host("localhost", e, sizeof(e));
    assert_string_equal(e, "localhost");
    hub_eh_entity_of_host("a-very-long-hub-name.example", e, sizeof(e));
    assert_string_equal(e, "a-very-long-hub");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_entity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

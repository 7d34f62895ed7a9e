/* hub_props_json (src/hub/iothub/props_json.c): a device-to-cloud message's property bag into
 * the application and system property objects the hub stores. Each output is parsed back with
 * cJSON and compared member by member, in order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/iothub/props_json.h"
#include "support/test_util.h"

static const struct hub_sys_prop hub_adds[] = {
    {"iothub-connection-device-id", "dev-1"},
    {"iothub-connection-auth-method", "x509"},
};

/* The system properties when the device sent none of its own: the hub's. */
static const char *const hub_sys[] = {"iothub-connection-device-id", "dev-1",
                                      "iothub-connection-auth-method", "x509", NULL};

/* `want` lists name, value pairs (value NULL: JSON null), NULL-terminated; checks the object
 * has exactly those members in that order. */
static void check_object(const char *json, const char *const *want)
{
    cJSON *o = cJSON_Parse(json);
    if (o == NULL || !cJSON_IsObject(o))
        fail_msg("not a JSON object: %s", json);
    const cJSON *m = o->child;
    for (size_t i = 0; want[i] != NULL; i += 2) {
        if (m == NULL)
            fail_msg("%s: member '%s' missing", json, want[i]);
        assert_string_equal(m->string, want[i]);
        if (want[i + 1] == NULL)
            assert_true(cJSON_IsNull(m));
        else
            assert_string_equal(cJSON_GetStringValue(m), want[i + 1]);
        m = m->next;
    }
    if (m != NULL)
        fail_msg("%s: unexpected member '%s'", json, m->string);
    cJSON_Delete(o);
}

static void run(const char *bag, const char *const *app, const char *const *sys)
{
    char *a = NULL, *s = NULL;
    assert_int_equal(hub_props_json(azk_span_from_str(bag), hub_adds, 2, &a, &s), 0);
    check_object(a, app);
    check_object(s, sys);
    free(a);
    free(s);
}

static void test_split_and_names(void **state)
{
    (void)state;
    run("", (const char *const[]){NULL},
        hub_sys);
    run("$.mid=abc&%24.ct=application%2Fjson&$.ce=utf-8&k=v&flag&$.custom=1&iothub-x=y",
        (const char *const[]){"k", "v", "flag", NULL, NULL},
        (const char *const[]){"message-id", "abc", "content-type", "application/json",
                              "content-encoding", "utf-8", "$.custom", "1", "iothub-x", "y",
                              "iothub-connection-device-id", "dev-1",
                              "iothub-connection-auth-method", "x509", NULL});
}

static void test_last_value_wins(void **state)
{
    (void)state;
    /* In the later one's place; the hub's own properties replace what a device sent. */
    run("a=1&b=2&a=3&iothub-connection-device-id=evil&iothub-connection-auth-method=sas",
        (const char *const[]){"b", "2", "a", "3", NULL},
        hub_sys);
    /* A name or value ends at a NUL: no second member that readers cut to the hub's name. */
    run("iothub-connection-device-id%00x=evil&v=a%00b",
        (const char *const[]){"v", "a", NULL},
        hub_sys);
}

static void test_escapes(void **state)
{
    (void)state;
    run("q%22=%22%5C%0A%01%09x%2F%C3%A9",
        (const char *const[]){"q\"", "\"\\\n\x01\tx/\xc3\xa9", NULL},
        hub_sys);
}

/* "kk..k=vv..v": a key of klen bytes and a value of vlen (a static buffer). */
static struct azk_span big_prop(size_t klen, size_t vlen)
{
    static char buf[6000];
    memset(buf, 'k', klen);
    buf[klen] = '=';
    memset(buf + klen + 1, 'v', vlen);
    return (struct azk_span){buf, klen + 1 + vlen};
}

static void test_limits_and_errors(void **state)
{
    (void)state;
    char *a = (char *)1, *s = (char *)1;
    /* A key of 511 bytes and a value of 4095 fit; one more byte does not. */
    assert_int_equal(hub_props_json(big_prop(511, 4095), NULL, 0, &a, &s), 0);
    assert_int_equal(strlen(a), 511 + 4095 + 7); /* {"k":"v"} */
    free(a);
    free(s);
    assert_int_equal(hub_props_json(big_prop(512, 0), NULL, 0, &a, &s), -EMSGSIZE);
    assert_null(a);
    assert_null(s);
    assert_int_equal(hub_props_json(big_prop(1, 4096), NULL, 0, &a, &s), -EMSGSIZE);
    assert_int_equal(hub_props_json(azk_span_from_str("=v"), NULL, 0, &a, &s), -EBADMSG);
    assert_int_equal(hub_props_json(azk_span_from_str("a=%zz"), NULL, 0, &a, &s), -EBADMSG);
    assert_null(a);
    assert_null(s);
}

/* More properties than the list keeps inline and a bag longer than the on-stack text. */
static void test_many(void **state)
{
    (void)state;
    char bag[8192];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(bag + n, sizeof bag - n, "%sp%d=value-%d", i ? "&" : "", i, i);
    char *a, *s;
    assert_int_equal(hub_props_json(azk_span_from_str(bag), NULL, 0, &a, &s), 0);
    cJSON *o = cJSON_Parse(a);
    assert_non_null(o);
    assert_int_equal(cJSON_GetArraySize(o), 200);
    char name[16], want[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "p%d", i);
        snprintf(want, sizeof want, "value-%d", i);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name)),
                            want);
    }
    cJSON_Delete(o);
    assert_string_equal(s, "{}");
    free(a);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_names),
        cmocka_unit_test(test_last_value_wins),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_limits_and_errors),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The IoT Hub query language (src/hub/query_parse.c, query_eval.c) over twin documents shaped
 * like GET /twins/{id}: conditions, missing paths, type mismatches, quoted strings and escapes,
 * projections, aggregates and GROUP BY, and a clear error for each kind of bad query. */
#include "support/test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/service/query.h"

/* Three twins: bit 1, 2 and 4 in match masks. */
static const char *const twin_text[] = {
    ("{\"deviceId\":\"dev-a\",\"status\":\"enabled\",\"connectionState\":\"Connected\","
    "\"tags\":{\"location\":{\"region\":\"US\",\"plant\":\"R43\"},\"n\":5,\"weird key\":\"x\","
    "\"quote\":\"it's\"},"
    "\"properties\":{\"desired\":{\"cfg\":{\"rate\":300},\"$version\":2},"
    "\"reported\":{\"connectivity\":\"wifi\",\"telemetryConfig\":{\"status\":\"Success\"},"
    "\"arr\":[1,2,3],\"nul\":null,\"on\":true}}}"),
    ("{\"deviceId\":\"dev-b\",\"status\":\"disabled\",\"connectionState\":\"Disconnected\","
    "\"tags\":{\"location\":{\"region\":\"EU\"},\"n\":\"5\"},"
    "\"properties\":{\"desired\":{\"cfg\":{\"rate\":60},\"$version\":1},"
    "\"reported\":{\"connectivity\":\"wired\",\"telemetryConfig\":{\"status\":\"Pending\"},"
    "\"on\":false}}}"),
    ("{\"deviceId\":\"other\",\"status\":\"enabled\",\"connectionState\":\"Disconnected\","
    "\"tags\":{},\"properties\":{\"desired\":{\"$version\":1},\"reported\":{}}}"),
};
#define NTWINS 3
static cJSON *g_twins[NTWINS];

static int group_setup(void **state)
{
    (void)state;
    for (int i = 0; i < NTWINS; i++) {
        g_twins[i] = cJSON_Parse(twin_text[i]);
        if (g_twins[i] == NULL)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NTWINS; i++)
        cJSON_Delete(g_twins[i]);
    return 0;
}

static struct hub_query *parse_ok(const char *text)
{
    struct hub_query *q = NULL;
    char err[HUB_QUERY_ERR_MAX];
    int rc = hub_query_parse(text, strlen(text), &q, err);
    if (rc != 0)
        fail_msg("query \"%s\" did not parse (%d): %s", text, rc, err);
    assert_string_equal(err, "");
    return q;
}

/* Which twins `where` (the text after WHERE) selects, as a bit mask. */
static unsigned matches(const char *where)
{
    char text[1024];
    snprintf(text, sizeof(text), "SELECT * FROM devices WHERE %s", where);
    struct hub_query *q = parse_ok(text);
    unsigned m = 0;
    for (int i = 0; i < NTWINS; i++)
        if (hub_query_match(q, g_twins[i]))
            m |= 1u << i;
    hub_query_free(q);
    return m;
}

#define assert_matches(where, mask)                                                             \
    do {                                                                                        \
        unsigned got_ = matches(where);                                                         \
        if (got_ != (mask))                                                                     \
            fail_msg("WHERE %s: matched %#x, expected %#x", (where), got_, (unsigned)(mask));   \
    } while (0)

static void test_conditions(void **state)
{
    (void)state;
    struct hub_query *all = parse_ok("SELECT * FROM devices");
    for (int i = 0; i < NTWINS; i++)
        assert_true(hub_query_match(all, g_twins[i]));
    hub_query_free(all);

    assert_matches("deviceId = 'dev-a'", 1);
    assert_matches("deviceId != 'dev-a'", 6);
    assert_matches("deviceId <> 'dev-a'", 6);
    assert_matches("status = 'enabled' AND connectionState = 'Connected'", 1);
    assert_matches("status = 'disabled' OR deviceId = 'other'", 6);
    assert_matches("NOT status = 'enabled'", 2);
    assert_matches("tags.location.region = 'US'", 1);
    assert_matches("properties.desired.cfg.rate >= 60", 3);
    assert_matches("properties.desired.cfg.rate > 60", 1);
    assert_matches("properties.desired.cfg.rate <= 60", 2);
    assert_matches("properties.desired.cfg.rate < 300", 2);
    assert_matches("properties.reported.telemetryConfig.status = 'Pending'", 2);
    assert_matches("properties.reported.on = true", 1);
    assert_matches("properties.reported.on = false", 2);
    assert_matches("properties.desired.$version = 1", 6);
    /* Keywords and system property names in any case; the collection prefix. */
    assert_matches("DeviceId = 'dev-a' and STATUS = 'enabled'", 1);
    assert_matches("devices.tags.location.region = 'EU'", 2);
    assert_matches("tags.Location.region = 'US'", 0); /* user properties: exact names */
    /* Keywords are names after a dot. */
    assert_matches("tags.from = 1 OR tags.in = 2 OR tags.group.by = 3 OR tags.not = 4", 0);
    /* Grouping and precedence: AND binds tighter than OR. */
    assert_matches("deviceId = 'other' OR status = 'enabled' AND connectionState = 'Connected'",
                   5);
    assert_matches("(deviceId = 'other' OR status = 'enabled') AND connectionState = "
                   "'Connected'", 1);
    /* IN and NIN with the documented brackets and SQL's parentheses. */
    assert_matches("properties.reported.connectivity IN ['wired', 'wifi']", 3);
    assert_matches("properties.reported.connectivity IN ('wired')", 2);
    assert_matches("properties.reported.connectivity NIN ['wired']", 1);
    assert_matches("deviceId IN ['dev-a', 'other']", 5);
    assert_matches("deviceId nin ['dev-a', 'other']", 2);
    assert_matches("tags.n IN [5, 'x']", 1);
    /* Functions. */
    assert_matches("IS_DEFINED(properties.reported.connectivity)", 3);
    assert_matches("is_defined(properties.reported.nul)", 1); /* null is defined */
    assert_matches("IS_NULL(properties.reported.nul)", 1);
    assert_matches("NOT IS_DEFINED(tags.location)", 4);
    assert_matches("IS_NUMBER(tags.n)", 1);
    assert_matches("IS_STRING(tags.n)", 2);
    assert_matches("IS_OBJECT(tags.location)", 3);
    assert_matches("IS_ARRAY(properties.reported.arr)", 1);
    assert_matches("IS_BOOL(properties.reported.on)", 3);
    assert_matches("IS_PRIMITIVE(tags.location)", 0);
    assert_matches("STARTSWITH(deviceId, 'dev-')", 3);
    assert_matches("ENDSWITH(deviceId, '-b')", 2);
    assert_matches("startswith(deviceId, '')", 7);
    assert_matches("ENDSWITH(deviceId, 'a-much-longer-suffix')", 0);
    assert_matches("STARTSWITH(tags.n, '5')", 2); /* a number is not a string */
    /* Arithmetic. */
    assert_matches("properties.desired.cfg.rate / 60 = 5", 1);
    assert_matches("properties.desired.cfg.rate / 0 = 5", 0);
    assert_matches("tags.n % 2 = 1", 1);
    assert_matches("tags.n * 2 + 1 = 11", 1);
    assert_matches("-tags.n < 0", 1);
    assert_matches("0x10 = 16 AND 1.5e1 = 15 AND .5 = 0.5", 7);
    /* Array elements. */
    assert_matches("properties.reported.arr[1] = 2", 1);
    assert_matches("properties.reported.arr[7] = 2", 0);
    assert_matches("IS_DEFINED(tags.n[0])", 0);
    /* Constants alone. */
    assert_matches("true", 7);
    assert_matches("false", 0);
    assert_matches("'a string'", 0);
    assert_matches("null = null", 7);
    assert_matches("undefined = undefined", 0);
}

static void test_missing_and_mismatched(void **state)
{
    (void)state;
    /* A missing path is undefined: neither = nor != selects the twin without it. */
    assert_matches("tags.location.region != 'US'", 2);
    assert_matches("NOT (tags.location.region = 'US')", 2);
    assert_matches("tags.nothing.deeper = 1", 0);
    assert_matches("tags.location.region.deeper = 'US'", 0); /* a path through a string */
    /* Three-valued logic: undefined OR true is true, undefined AND false is false. */
    assert_matches("tags.location.region = 'US' OR deviceId = 'other'", 5);
    assert_matches("NOT (tags.location.region = 'US' AND deviceId = 'dev-a')", 6);
    /* Different types never compare: the number 5 is not the string '5'. */
    assert_matches("tags.n = 5", 1);
    assert_matches("tags.n = '5'", 2);
    assert_matches("tags.n > 4", 1);
    assert_matches("tags.n < 'z'", 2);
    assert_matches("tags.n != 5", 0);
    assert_matches("status = true", 0);
    assert_matches("properties.reported.on < true", 0); /* booleans: equality only */
    /* Objects and arrays do not compare, not even with themselves. */
    assert_matches("tags.location = tags.location", 0);
    assert_matches("properties.reported.arr = properties.reported.arr", 0);
    assert_matches("tags.location IN [1]", 0);
    /* Operators on non-numbers and NOT on non-booleans are undefined. */
    assert_matches("tags.location.region + 1 = 1", 0);
    assert_matches("NOT deviceId", 0);
    assert_matches("NOT NOT (deviceId = 'dev-a')", 1);
}

static void test_strings(void **state)
{
    (void)state;
    assert_matches("deviceId = \"dev-a\"", 1);
    assert_matches("tags['weird key'] = 'x'", 1);
    assert_matches("tags[\"weird key\"] = \"x\"", 1);
    assert_matches("tags.quote = 'it\\'s'", 1);
    assert_matches("tags.quote = \"it's\"", 1);
    assert_matches("'a\\\"b' = \"a\\\"b\"", 7);
    assert_matches("'back\\\\slash' = \"back\\\\slash\"", 7);
    assert_matches("'\\u0041\\u00e9' = 'A\xc3\xa9'", 7);
    assert_matches("'\\ud83d\\ude00' = '\xf0\x9f\x98\x80'", 7);
    assert_matches("'tab\\there' = 'tab\there'", 7);
    assert_matches("'' = \"\"", 7);
    assert_matches("'a\"b' = \"a\\\"b\"", 7); /* a bare \" inside '...' */
    assert_matches("'\\u00e9' = '\xc3\xa9' AND '\\/' = '/'", 7);
    assert_matches("'abc' < 'abd' AND 'B' < 'a'", 7); /* ordinal order */
}

static void expect_error(const char *text, int rc_want, const char *in_msg)
{
    struct hub_query *q = (struct hub_query *)1;
    char err[HUB_QUERY_ERR_MAX];
    int rc = hub_query_parse(text, strlen(text), &q, err);
    if (rc != rc_want)
        fail_msg("\"%s\": rc %d, expected %d (%s)", text, rc, rc_want, err);
    assert_null(q);
    if (strstr(err, in_msg) == NULL)
        fail_msg("\"%s\": error \"%s\" does not say \"%s\"", text, err, in_msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", -EINVAL, "empty");
    expect_error("   ", -EINVAL, "empty");
    expect_error("SELECT", -EINVAL, "at the end of the query");
    expect_error("SELECT *", -EINVAL, "expected FROM");
    expect_error("DELETE FROM devices", -EINVAL, "expected SELECT near 'DELETE' (at character 1)");
    expect_error("SELECT * FROM things", -EINVAL, "expected the collection devices near 'things'");
    expect_error("SELECT * FROM devices.modules", -ENOTSUP, "devices.modules is not supported");
    expect_error("SELECT * FROM devices.jobs", -ENOTSUP, "devices.jobs is not supported");
    expect_error("SELECT * FROM devices WHERE", -EINVAL, "expected a value");
    expect_error("SELECT * FROM devices WHERE deviceId = = 1", -EINVAL,
                 "near '=' (at character 40)");
    expect_error("SELECT * FROM devices WHERE deviceId = 'abc", -EINVAL,
                 "string not closed (a ' is missing) (at character 40)");
    expect_error("SELECT * FROM devices WHERE deviceId = \"abc'", -EINVAL, "a \" is missing");
    expect_error("SELECT * FROM devices WHERE deviceId = 'a\\qb'", -EINVAL, "unknown escape \\q");
    expect_error("SELECT * FROM devices WHERE deviceId = 'a\\u12'", -EINVAL, "four hex digits");
    expect_error("SELECT * FROM devices WHERE deviceId = 'a\\u0000'", -EINVAL, "NUL");
    expect_error("SELECT * FROM devices WHERE deviceId = '\\ud800x'", -EINVAL, "surrogate");
    expect_error("SELECT * FROM devices WHERE deviceId = 'a\\", -EINVAL, "not closed");
    expect_error("SELECT * FROM devices WHERE tags.a = 1 = 2", -EINVAL, "cannot be chained");
    expect_error("SELECT * FROM devices WHERE !(tags.a = 1)", -EINVAL, "use NOT");
    expect_error("SELECT * FROM devices WHERE tags.a = 1 extra", -EINVAL,
                 "expected WHERE, GROUP BY or the end of the query near 'extra'");
    expect_error("SELECT * FROM devices WHERE FOO(deviceId)", -EINVAL, "Unknown function FOO");
    expect_error("SELECT * FROM devices WHERE IS_DEFINED(a, b)", -EINVAL, "takes 1 argument");
    expect_error("SELECT * FROM devices WHERE STARTSWITH(a)", -EINVAL, "second argument");
    expect_error("SELECT * FROM devices WHERE tags.a IN 'x'", -EINVAL, "after IN/NIN");
    expect_error("SELECT * FROM devices WHERE tags.a IN [1, undefined]", -EINVAL, "undefined");
    expect_error("SELECT * FROM devices WHERE tags.", -EINVAL, "a property name after '.'");
    /* ".5" is a number, so nothing is left of the path after "devices" (found by fuzzing). */
    expect_error("SELECT devices.5 FROM devices", -EINVAL, "a property name after 'devices.'");
    expect_error("SELECT * FROM devices WHERE devices.5 = 1", -EINVAL,
                 "a property name after 'devices.'");
    expect_error("SELECT * FROM devices WHERE tags[-1] = 1", -EINVAL, "quoted property name");
    expect_error("SELECT * FROM devices WHERE tags[1.5] = 1", -EINVAL, "array index");
    expect_error("SELECT * FROM devices WHERE tags['a' = 1", -EINVAL, "expected ']'");
    expect_error("SELECT * FROM devices WHERE 1e999 = 1", -EINVAL, "out of range");
    expect_error("SELECT * FROM devices WHERE 0x = 1", -EINVAL, "hex digits");
    expect_error("SELECT * FROM devices WHERE 12abc = 1", -EINVAL, "after a number");
    expect_error("SELECT * FROM devices WHERE deviceId = 'a' AND", -EINVAL, "expected a value");
    expect_error("SELECT * FROM devices WHERE (deviceId = 'a'", -EINVAL, "expected ')'");
    expect_error("SELECT * FROM devices WHERE deviceId ~ 'a'", -EINVAL, "unexpected character '~'");
    expect_error("SELECT * FROM devices GROUP BY tags.x", -EINVAL, "SELECT * cannot be combined");
    expect_error("SELECT deviceId, COUNT() FROM devices", -EINVAL, "not in GROUP BY");
    expect_error("SELECT tags.a, COUNT() FROM devices GROUP BY tags.b", -EINVAL, "'a' is selected");
    expect_error("SELECT COUNT(x) FROM devices", -EINVAL, "COUNT takes no argument");
    expect_error("SELECT UPPER(deviceId) FROM devices", -EINVAL, "UPPER() cannot be selected");
    expect_error("SELECT deviceId, tags.deviceId FROM devices", -EINVAL,
                 "Two SELECT items are named 'deviceId'");
    expect_error("SELECT deviceId AS FROM devices", -EINVAL, "a name after AS");
    expect_error("SELECT TOP x * FROM devices", -EINVAL, "whole number after TOP");
    expect_error("SELECT * FROM devices GROUP tags.x", -EINVAL, "expected BY");
    expect_error("SELECT * FROM devices WHERE from = 1", -EINVAL, "expected a value");
    expect_error("SELECT * FROM devices d", -EINVAL, "near 'd'");

    /* A NUL byte in the text is a character like any other: refused, not a terminator. */
    const char nul[] = "SELECT * FROM devices WHERE a\0 = 1";
    struct hub_query *q = NULL;
    char err[HUB_QUERY_ERR_MAX];
    assert_int_equal(hub_query_parse(nul, sizeof(nul) - 1, &q, err), -EINVAL);
    assert_non_null(strstr(err, "unexpected character 0x00 (at character 30)"));

    /* Limits: nesting, chains, length. */
    char text[HUB_QUERY_TEXT_MAX + 64];
    size_t n = (size_t)snprintf(text, sizeof(text), "SELECT * FROM devices WHERE ");
    for (int i = 0; i < HUB_QUERY_DEPTH_MAX + 5; i++)
        text[n++] = '(';
    text[n] = '\0';
    assert_int_equal(hub_query_parse(text, n, &q, err), -E2BIG);
    assert_non_null(strstr(err, "nested deeper"));
    n = (size_t)snprintf(text, sizeof(text), "SELECT * FROM devices WHERE a = 1");
    for (int i = 0; i < HUB_QUERY_HEIGHT_MAX + 5; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, " OR a=1");
    assert_int_equal(hub_query_parse(text, n, &q, err), -E2BIG);
    assert_non_null(strstr(err, "operators in a chain"));
    n = (size_t)snprintf(text, sizeof(text), "SELECT * FROM devices WHERE a = 1");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, " OR a=1");
    q = parse_ok(text); /* a long but reasonable chain is fine */
    hub_query_free(q);
    memset(text, ' ', HUB_QUERY_TEXT_MAX + 1);
    assert_int_equal(hub_query_parse(text, HUB_QUERY_TEXT_MAX + 1, &q, err), -E2BIG);
    assert_non_null(strstr(err, "at most 8192"));
}

static void assert_json(cJSON *got, const char *want_text)
{
    cJSON *want = cJSON_Parse(want_text);
    assert_non_null(want);
    if (!cJSON_Compare(got, want, 1)) {
        char *g = cJSON_PrintUnformatted(got);
        fail_msg("got %s, expected %s", g ? g : "NULL", want_text);
    }
    cJSON_Delete(want);
    cJSON_Delete(got);
}

static void test_projection(void **state)
{
    (void)state;
    struct hub_query *q = parse_ok("SELECT deviceId, tags.location.region, "
                                   "properties.reported.arr[0], tags['weird key'] AS w "
                                   "FROM devices");
    assert_false(q->aggregate);
    assert_json(hub_query_project(q, g_twins[0]),
                "{\"deviceId\":\"dev-a\",\"region\":\"US\",\"$1\":1,\"w\":\"x\"}");
    /* Missing paths are left out of the row. */
    assert_json(hub_query_project(q, g_twins[2]), "{\"deviceId\":\"other\"}");
    hub_query_free(q);

    q = parse_ok("SELECT tags.location AS loc FROM devices WHERE deviceId = 'dev-a'");
    assert_json(hub_query_project(q, g_twins[0]),
                "{\"loc\":{\"region\":\"US\",\"plant\":\"R43\"}}");
    hub_query_free(q);

    q = parse_ok("SELECT * FROM devices");
    assert_json(hub_query_project(q, g_twins[1]), twin_text[1]);
    hub_query_free(q);

    q = parse_ok("select top 2 * from devices");
    assert_int_equal(q->top, 2);
    hub_query_free(q);
}

/* All rows of an aggregate query over the three twins. */
static cJSON *aggregate(const char *text)
{
    struct hub_query *q = parse_ok(text);
    assert_true(q->aggregate);
    struct hub_query_agg *a = hub_query_agg_new(q);
    assert_non_null(a);
    for (int i = 0; i < NTWINS; i++)
        if (hub_query_match(q, g_twins[i]))
            assert_int_equal(hub_query_agg_add(a, g_twins[i]), 0);
    cJSON *rows = hub_query_agg_rows(a);
    hub_query_agg_free(a);
    hub_query_free(q);
    return rows;
}

static void test_aggregates(void **state)
{
    (void)state;
    assert_json(aggregate("SELECT COUNT() AS n FROM devices"), "[{\"n\":3}]");
    assert_json(aggregate("SELECT COUNT() FROM devices"), "[{\"$1\":3}]");
    assert_json(aggregate("SELECT COUNT() AS n FROM devices WHERE status = 'enabled'"),
                "[{\"n\":2}]");
    assert_json(aggregate("SELECT COUNT() AS n FROM devices WHERE deviceId = 'none'"),
                "[{\"n\":0}]");
    assert_json(aggregate("SELECT SUM(properties.desired.cfg.rate) AS s, "
                          "AVG(properties.desired.cfg.rate) AS a, "
                          "MIN(properties.desired.cfg.rate) AS lo, "
                          "MAX(properties.desired.cfg.rate) AS hi, COUNT() AS n FROM devices"),
                "[{\"s\":360,\"a\":180,\"lo\":60,\"hi\":300,\"n\":3}]");
    /* AVG/MIN/MAX of nothing are undefined (left out); SUM of nothing is 0. */
    assert_json(aggregate("SELECT SUM(tags.none) AS s, AVG(tags.none) AS a, MIN(tags.none) AS "
                          "lo FROM devices"),
                "[{\"s\":0}]");
    assert_json(aggregate("SELECT MIN(deviceId) AS lo, MAX(deviceId) AS hi FROM devices"),
                "[{\"lo\":\"dev-a\",\"hi\":\"other\"}]");
    /* GROUP BY, as in Microsoft's example: groups in the order first seen, the twin without
     * the property in a group of its own without that member. */
    assert_json(aggregate("SELECT properties.reported.telemetryConfig.status AS status, "
                          "COUNT() AS numberOfDevices FROM devices "
                          "GROUP BY properties.reported.telemetryConfig.status"),
                "[{\"status\":\"Success\",\"numberOfDevices\":1},"
                "{\"status\":\"Pending\",\"numberOfDevices\":1},{\"numberOfDevices\":1}]");
    assert_json(aggregate("SELECT status, COUNT() AS n FROM devices GROUP BY status"),
                "[{\"status\":\"enabled\",\"n\":2},{\"status\":\"disabled\",\"n\":1}]");
    assert_json(aggregate("SELECT status, connectionState, COUNT() AS n FROM devices "
                          "WHERE deviceId != 'x' GROUP BY status, connectionState"),
                "[{\"status\":\"enabled\",\"connectionState\":\"Connected\",\"n\":1},"
                "{\"status\":\"disabled\",\"connectionState\":\"Disconnected\",\"n\":1},"
                "{\"status\":\"enabled\",\"connectionState\":\"Disconnected\",\"n\":1}]");
    /* GROUP BY over no twins: no rows. */
    assert_json(aggregate("SELECT status, COUNT() AS n FROM devices WHERE false GROUP BY "
                          "status"),
                "[]");
    /* A number and a string that print alike are different keys. */
    assert_json(aggregate("SELECT tags.n, COUNT() AS c FROM devices GROUP BY tags.n"),
                "[{\"n\":5,\"c\":1},{\"n\":\"5\",\"c\":1},{\"c\":1}]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions),  cmocka_unit_test(test_missing_and_mismatched),
        cmocka_unit_test(test_strings),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_projection),  cmocka_unit_test(test_aggregates),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

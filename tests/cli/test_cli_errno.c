/*
 * `azkit errno N|NAME` and `azkit doctor --errno`: the real binary explains the numbers an
 * nRF91 user sees, in both numberings, with causes in an Azure/DPS connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_util.h"

static cJSON *explain_json(const char *arg, int want_status)
{
    struct azk_run r;
    const char *argv[] = {"--json", "errno", arg, NULL};
    azk_run(&r, NULL, argv);
    if (r.status != want_status)
        fail_msg("azkit errno %s: status %d\n%s\n%s", arg, r.status, r.out, r.err);
    cJSON *j = azk_run_json(&r);
    azk_run_free(&r);
    return j;
}

static const char *side(const cJSON *j, const char *sys, const char *field)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, sys), field);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static const char *first_cause(const cJSON *j, const char *sys)
{
    const cJSON *c = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, sys), "causes"), 0);
    assert_non_null(c);
    return cJSON_GetObjectItem(c, "cause")->valuestring;
}

static void test_numbers(void **state)
{
    (void)state;
    /* -111: the same name; on the nRF91 the TLS handshake (certificates), on Linux TCP. */
    cJSON *j = explain_json("-111", 0);
    assert_string_equal(side(j, "nrf91", "name"), "ECONNREFUSED");
    assert_string_equal(side(j, "linux", "name"), "ECONNREFUSED");
    assert_non_null(strstr(first_cause(j, "nrf91"), "TLS handshake"));
    assert_non_null(strstr(first_cause(j, "nrf91"), "DigiCert Global Root G2"));
    cJSON_Delete(j);
    /* The numbers that differ. */
    const char *pairs[][3] = {{"-113", "ECONNABORTED", "EHOSTUNREACH"},
                              {"-116", "ETIMEDOUT", "ESTALE"},
                              {"-110", "ESHUTDOWN", "ETIMEDOUT"},
                              {"-95", "EOPNOTSUPP", "EOPNOTSUPP"},
                              {"-104", "ECONNRESET", "ECONNRESET"},
                              {"-22", "EINVAL", "EINVAL"},
                              {"-12", "ENOMEM", "ENOMEM"},
                              {"128", "ENOTCONN", "EKEYREVOKED"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        j = explain_json(pairs[i][0], 0);
        assert_string_equal(side(j, "nrf91", "name"), pairs[i][1]);
        assert_string_equal(side(j, "linux", "name"), pairs[i][2]);
        cJSON_Delete(j);
    }
    /* -116 on the device is the DPS timeout of the NCS library. */
    j = explain_json("-116", 0);
    assert_non_null(strstr(first_cause(j, "nrf91"), "CONFIG_AZURE_IOT_HUB_DPS_TIMEOUT_SEC"));
    cJSON_Delete(j);
    /* -95: mqtt_helper in the wrong state. */
    j = explain_json("-95", 0);
    assert_non_null(strstr(first_cause(j, "nrf91"), "mqtt_helper"));
    cJSON_Delete(j);
}

static void test_names_and_errors(void **state)
{
    (void)state;
    cJSON *j = explain_json("etimedout", 0);
    const cJSON *dev = cJSON_GetObjectItem(j, "nrf91");
    assert_int_equal(cJSON_GetObjectItem(dev, "number")->valueint, -116);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "linux"), "number")->valueint,
                     -110);
    cJSON_Delete(j);
    /* Linux only. */
    j = explain_json("ENOKEY", 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "nrf91")));
    assert_string_equal(side(j, "linux", "name"), "ENOKEY");
    cJSON_Delete(j);
    /* A number neither system uses: exit 1, both null. */
    j = explain_json("-99999", 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "nrf91")));
    cJSON_Delete(j);
    /* Not a number or a name: usage error. */
    struct azk_run r;
    azk_runv(&r, NULL, "errno", "EWHATEVER", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "EWHATEVER"));
    azk_run_free(&r);
    azk_runv(&r, NULL, "errno", NULL);
    assert_int_equal(r.status, 2);
    azk_run_free(&r);
}

/* People's output; the doctor spelling gives the same. */
static void test_human_and_doctor_alias(void **state)
{
    (void)state;
    struct azk_run r;
    azk_runv(&r, NULL, "errno", "-116", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "-116 on an nRF91 (NCS/Zephyr, newlib numbering): ETIMEDOUT"));
    assert_non_null(strstr(r.out, "-116 on Linux: ESTALE"));
    assert_non_null(strstr(r.out, "a number printed by the device is the nRF91 one"));
    char *plain = strdup(r.out);
    azk_run_free(&r);
    azk_runv(&r, NULL, "doctor", "--errno", "-116", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, plain);
    free(plain);
    azk_run_free(&r);
    azk_runv(&r, NULL, "errno", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: azkit errno"));
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_names_and_errors),
        cmocka_unit_test(test_human_and_doctor_alias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Device SAS tokens, group-key derivation and connection strings (azkit/sas_token.h), pinned
 * against values computed independently (openssl dgst -mac HMAC) and Microsoft's documented
 * example of a derived group key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "azkit/sas_token.h"

#define KEY_01 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" /* 32 bytes of 0x01 */

/* "How to provision legacy devices using symmetric keys" (Microsoft Learn): this group key and
 * registration id give this device key. */
static void test_derive_documented_example(void **state)
{
    (void)state;
    char out[AZK_SAS_KEY_B64_MAX];
    assert_int_equal(azk_sas_derive_key("8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1Kp"
                                        "ZhJFFXJrqYKi9yegxkqIChbqOS9Egw==",
                                        "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6", out),
                     0);
    assert_string_equal(out, "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=");
    assert_int_equal(azk_sas_derive_key("not base64!", "x", out), -EINVAL);
    assert_int_equal(azk_sas_derive_key("", "x", out), -EINVAL);
}

/* sig = base64(HMAC-SHA256(key, url-encoded sr "\n" se)), url-encoded in the token. */
static void test_token_format(void **state)
{
    (void)state;
    char t[AZK_SAS_TOKEN_MAX];
    int n = azk_sas_token(KEY_01, "myhub.azure-devices.net/devices/dev1", NULL, 1700000000, t,
                          sizeof(t));
    const char *want = "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdev1"
                       "&sig=qUkVQF5tXm8Vh8Qwe7Oi5%2BACEu%2FsfZbBeiEfopb4olk%3D&se=1700000000";
    assert_string_equal(t, want);
    assert_int_equal(n, (int)strlen(want));
    n = azk_sas_token(KEY_01, "0ne00000001/registrations/dev-1", AZK_SAS_DPS_KEY_NAME,
                      1700000000, t, sizeof(t));
    assert_string_equal(t, "SharedAccessSignature sr=0ne00000001%2Fregistrations%2Fdev-1"
                           "&sig=8Rw0CORSCkjQCaHf%2BsiiAMxbFvglcSNstCclUrkL4yE%3D&se=1700000000"
                           "&skn=registration");
    assert_int_equal(azk_sas_token(KEY_01, "h/devices/d", NULL, 1, t, 40), -ENOBUFS);
    assert_string_equal(t, "");
    assert_int_equal(azk_sas_token("AAA", "h/devices/d", NULL, 1, t, sizeof(t)), -EINVAL);
    assert_int_equal(azk_sas_token(KEY_01, "", NULL, 1, t, sizeof(t)), -EINVAL);
}

/* The resource comes from the CONNECT: the username's first segment and the client id. */
static void test_connect_password(void **state)
{
    (void)state;
    char buf[AZK_SAS_TOKEN_MAX];
    int64_t exp = 0;
    struct azk_mqtt_connect m = {
        .client_id = azk_span_from_str("dev-1"),
        .has_username = true,
        .username = azk_span_from_str("0ne00000001/registrations/dev-1/api-version=2019-03-31"),
    };
    assert_int_equal(azk_sas_connect_password(KEY_01, "ignored", 60, true, &m, buf, sizeof(buf),
                                              &exp),
                     0);
    assert_true(m.has_password);
    assert_ptr_equal(m.password.ptr, buf);
    assert_int_equal(m.password.len, strlen(buf));
    assert_non_null(strstr(buf, "sr=0ne00000001%2Fregistrations%2Fdev-1&"));
    assert_non_null(strstr(buf, "&skn=registration"));
    char se[32];
    snprintf(se, sizeof(se), "&se=%lld", (long long)(exp / 1000));
    assert_non_null(strstr(buf, se));
    /* 60 s from now (rounded up to the second): renewal after 80 % of that, never now. */
    uint64_t renew = azk_sas_renew_in_ms(exp);
    assert_true(renew > 0 && renew <= 48800);
    assert_int_equal(azk_sas_renew_in_ms(exp - 120000), 0);

    m.has_password = false;
    m.client_id = azk_span_from_str("d1");
    m.username = azk_span_from_str("hub.example/d1/?api-version=2021-04-12");
    assert_int_equal(azk_sas_connect_password(KEY_01, NULL, 0, false, &m, buf, sizeof(buf), NULL),
                     0);
    static const char head[] = "SharedAccessSignature sr=hub.example%2Fdevices%2Fd1&sig=";
    assert_true(strncmp(buf, head, sizeof(head) - 1) == 0);
    assert_null(strstr(buf, "skn="));
    assert_int_equal(azk_sas_connect_password(KEY_01, "iothubowner", 0, false, &m, buf,
                                              sizeof(buf), NULL),
                     0);
    assert_non_null(strstr(buf, "&skn=iothubowner"));
    m.username = azk_span_from_str("no-slash");
    assert_int_equal(azk_sas_connect_password(KEY_01, NULL, 0, false, &m, buf, sizeof(buf), NULL),
                     -EINVAL);
}

/* Connection strings: parts in any order, '=' inside values, clear errors that never hold the
 * key. */
static void test_conn_string(void **state)
{
    (void)state;
    struct azk_device_conn_string cs;
    char why[200];
    assert_int_equal(azk_device_conn_string_parse(" SharedAccessKey=" KEY_01 ";DeviceId=dev-1;"
                                                  "HostName=localhost:8884 ;GatewayHostName=g",
                                                  &cs, why, sizeof(why)),
                     0);
    assert_string_equal(cs.host, "localhost:8884");
    assert_string_equal(cs.device_id, "dev-1");
    assert_string_equal(cs.key, KEY_01);
    assert_string_equal(cs.key_name, "");
    assert_int_equal(azk_device_conn_string_parse("HostName=h;DeviceId=d;SharedAccessKey=" KEY_01
                                                  ";SharedAccessKeyName=iothubowner",
                                                  &cs, why, sizeof(why)),
                     0);
    assert_string_equal(cs.key_name, "iothubowner");
    static const struct {
        const char *cs, *why;
    } bad[] = {
        {"HostName=h;DeviceId=d", "no SharedAccessKey"},
        {"DeviceId=d;SharedAccessKey=" KEY_01, "no HostName"},
        {"HostName=h;SharedAccessKey=" KEY_01, "no DeviceId"},
        {"HostName=h;DeviceId=d;SharedAccessKey=c2VjcmV0IQ", "not a base64 key"},
        {"HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=" KEY_01, "module identities"},
        {"HostName=h;DeviceId=d;x509=true", "X.509 device"},
        {"HostName=h;DeviceId=bad id;SharedAccessKey=" KEY_01, "not a valid device id"},
        {"HostName=h;HostName=h;DeviceId=d;SharedAccessKey=" KEY_01, "twice"},
        {"HostName;DeviceId=d;SharedAccessKey=" KEY_01, "not Name=value"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(azk_device_conn_string_parse(bad[i].cs, &cs, why, sizeof(why)), -EINVAL);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("'%s': '%s' lacks '%s'", bad[i].cs, why, bad[i].why);
        assert_null(strstr(why, "c2VjcmV0IQ"));
        assert_null(strstr(why, "AQEBAQ"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_documented_example),
        cmocka_unit_test(test_token_format),
        cmocka_unit_test(test_connect_password),
        cmocka_unit_test(test_conn_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

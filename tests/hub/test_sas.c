/* SharedAccessSignature tokens: parse, sign, create, verify (each rejection), connection
 * strings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "hub/service/sas.h"
#include "support/test_util.h"

static const char KEY[] = "T/nn4OFEwOVZP8Tebj0JGm/z0S7863ebT85S1GnFRX8=";
static const char *const HOSTS[] = {"localhost", "127.0.0.1", "::1", "myhub.example"};
static const struct hub_sas_policy POL[] = {{"iothubowner", KEY},
                                            {"provisioningserviceowner", "c2VydmljZQ=="}};
#define NOW 1700000000

static enum hub_sas_result verify(const char *tok)
{
    return hub_sas_verify(tok, POL, 2, HOSTS, 4, NOW, NULL);
}

static void test_parse(void **state)
{
    (void)state;
    struct hub_sas_token t;
    assert_int_equal(hub_sas_parse("SharedAccessSignature se=123&skn=iothubowner&sig=ab%2Bc%3D&sr=my%2Fhub", &t), 0);
    assert_string_equal(t.sr, "my/hub");
    assert_string_equal(t.sr_raw, "my%2Fhub");
    assert_string_equal(t.sig, "ab+c=");
    assert_string_equal(t.skn, "iothubowner");
    assert_int_equal(t.se, 123);
    /* skn is optional */
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&sig=b&se=1", &t), 0);
    assert_string_equal(t.skn, "");
    assert_int_equal(hub_sas_parse(NULL, &t), -EINVAL);
    assert_int_equal(hub_sas_parse("Bearer xyz", &t), -EINVAL);
    assert_int_equal(hub_sas_parse("SharedAccessSignaturesr=a&sig=b&se=1", &t), -EINVAL);
    assert_int_equal(hub_sas_parse("SharedAccessSignature ", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sig=b&se=1", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&se=1", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&sig=b", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&sig=b&se=1x", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&sr=a&sig=b&se=1", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&sig=b&se=1&foo=2", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr=a&sig=%zz&se=1", &t), -EBADMSG);
    assert_int_equal(hub_sas_parse("SharedAccessSignature sr&sig=b&se=1", &t), -EBADMSG);
}

static void test_sign_known_vector(void **state)
{
    (void)state;
    /* Reference: base64(HMAC-SHA256(b64decode(key), "localhost\n1700003600")) computed with
     * openssl dgst (see below) -- checked against an independent implementation. */
    char sig[64];
    assert_int_equal(hub_sas_sign(KEY, "localhost", 1700003600, sig, sizeof(sig)), 0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "printf 'localhost\\n1700003600' | openssl dgst -sha256 -mac HMAC -macopt "
             "hexkey:$(printf '%s' | base64 -d | od -An -tx1 | tr -d ' \\n') -binary | base64",
             KEY);
    int st = 0;
    char *out = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    out[strcspn(out, "\n")] = '\0';
    assert_string_equal(sig, out);
    free(out);
    /* The resource is signed url-encoded. */
    char a[64], b[64];
    assert_int_equal(hub_sas_sign(KEY, "h/devices/d", 5, a, sizeof(a)), 0);
    assert_int_equal(hub_sas_sign(KEY, "h%2Fdevices%2Fd", 5, b, sizeof(b)), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(hub_sas_sign("not base64!", "h", 5, a, sizeof(a)), -EINVAL);
    assert_int_equal(hub_sas_sign(KEY, "h", 5, a, 10), -ENOBUFS);
}

static void test_create_and_verify(void **state)
{
    (void)state;
    char tok[HUB_SAS_TOKEN_MAX];
    int n = hub_sas_create(KEY, "localhost", "iothubowner", NOW + 3600, tok, sizeof(tok));
    assert_true(n > 0);
    assert_non_null(strstr(tok, "SharedAccessSignature sr=localhost&sig="));
    const struct hub_sas_policy *m = NULL;
    assert_int_equal(hub_sas_verify(tok, POL, 2, HOSTS, 4, NOW, &m), HUB_SAS_OK);
    assert_non_null(m);
    assert_string_equal(m->name, "iothubowner");
    /* Accepted resource forms: host:port, /devices/.. suffix, scheme, case, IPv6. */
    const char *ok[] = {"localhost:443", "LOCALHOST", "localhost/devices/dev1",
                        "https://myhub.example", "127.0.0.1:8443/x", "[::1]:443", "::1"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_true(hub_sas_create(KEY, ok[i], "iothubowner", NOW + 10, tok, sizeof(tok)) > 0);
        assert_int_equal(verify(tok), HUB_SAS_OK);
    }
    /* Fields in another order. */
    char sig[64], reordered[512];
    hub_sas_sign(KEY, "localhost", NOW + 10, sig, sizeof(sig));
    char esig[200];
    size_t el = 0;
    azk_pct_encode(azk_span_from_str(sig), esig, sizeof(esig), &el);
    esig[el] = '\0';
    snprintf(reordered, sizeof(reordered),
             "SharedAccessSignature skn=iothubowner&se=%d&sig=%s&sr=localhost", NOW + 10, esig);
    assert_int_equal(verify(reordered), HUB_SAS_OK);
    /* The second policy works with its own key. */
    assert_true(hub_sas_create("c2VydmljZQ==", "localhost", "provisioningserviceowner", NOW + 10,
                               tok, sizeof(tok)) > 0);
    assert_int_equal(verify(tok), HUB_SAS_OK);
}

/* Event Hubs SDKs sign with the key's text as the HMAC key (@azure/core-amqp createToken):
 * accepted for an sb:// resource only. The vectors were made with node's crypto as the SDK
 * makes them. */
static void test_event_hubs_tokens(void **state)
{
    (void)state;
    assert_int_equal(verify("SharedAccessSignature sr=sb%3A%2F%2Flocalhost%2Flocalhost%2F%24"
                            "management&sig=zYdMFEWIi1f9HBbEAU3LPfVlAt8yql3iB29MX3H%2Fo8g%3D"
                            "&se=1700003600&skn=iothubowner"),
                     HUB_SAS_OK);
    /* The same rule for an IoT Hub resource: refused. */
    assert_int_equal(verify("SharedAccessSignature sr=localhost&sig=GmfrUYUw5rTVlrTjZ5teuFJSlxNc"
                            "KczYndeoplXHvqo%3D&se=1700003600&skn=iothubowner"),
                     HUB_SAS_BAD_SIGNATURE);
    /* An sb:// resource signed the IoT Hub way, and amqps://: accepted. */
    char tok[HUB_SAS_TOKEN_MAX];
    const char *ok[] = {"sb://localhost/localhost", "amqps://myhub.example:5671/x"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_true(hub_sas_create(KEY, ok[i], "iothubowner", NOW + 10, tok, sizeof(tok)) > 0);
        assert_int_equal(verify(tok), HUB_SAS_OK);
    }
    /* Another host after sb://, or a wrong key: refused. */
    assert_true(hub_sas_create(KEY, "sb://other.example/x", "iothubowner", NOW + 10, tok,
                               sizeof(tok)) > 0);
    assert_int_equal(verify(tok), HUB_SAS_WRONG_RESOURCE);
    assert_int_equal(verify("SharedAccessSignature sr=sb%3A%2F%2Flocalhost%2Flocalhost%2F%24"
                            "management&sig=AYdMFEWIi1f9HBbEAU3LPfVlAt8yql3iB29MX3H%2Fo8g%3D"
                            "&se=1700003600&skn=iothubowner"),
                     HUB_SAS_BAD_SIGNATURE);
}

static void test_rejections(void **state)
{
    (void)state;
    char tok[HUB_SAS_TOKEN_MAX];
    /* bad signature: another key */
    hub_sas_create("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "localhost", "iothubowner",
                   NOW + 60, tok, sizeof(tok));
    assert_int_equal(verify(tok), HUB_SAS_BAD_SIGNATURE);
    /* bad signature: tampered se */
    hub_sas_create(KEY, "localhost", "iothubowner", NOW + 60, tok, sizeof(tok));
    char *se = strstr(tok, "&se=");
    se[5] = se[5] == '9' ? '8' : '9';
    assert_int_equal(verify(tok), HUB_SAS_BAD_SIGNATURE);
    /* expired */
    hub_sas_create(KEY, "localhost", "iothubowner", NOW, tok, sizeof(tok));
    assert_int_equal(verify(tok), HUB_SAS_EXPIRED);
    hub_sas_create(KEY, "localhost", "iothubowner", NOW - 1, tok, sizeof(tok));
    assert_int_equal(verify(tok), HUB_SAS_EXPIRED);
    /* wrong resource */
    const char *bad_sr[] = {"otherhub", "localhost.evil", "localhost:abc", "evil/localhost",
                            "[::2]:443", "xlocalhost"};
    for (size_t i = 0; i < sizeof(bad_sr) / sizeof(bad_sr[0]); i++) {
        hub_sas_create(KEY, bad_sr[i], "iothubowner", NOW + 60, tok, sizeof(tok));
        assert_int_equal(verify(tok), HUB_SAS_WRONG_RESOURCE);
    }
    /* unknown or missing policy */
    hub_sas_create(KEY, "localhost", "registryRead", NOW + 60, tok, sizeof(tok));
    assert_int_equal(verify(tok), HUB_SAS_UNKNOWN_POLICY);
    hub_sas_create(KEY, "localhost", NULL, NOW + 60, tok, sizeof(tok));
    assert_int_equal(verify(tok), HUB_SAS_UNKNOWN_POLICY);
    /* malformed */
    assert_int_equal(verify(NULL), HUB_SAS_MALFORMED);
    assert_int_equal(verify(""), HUB_SAS_MALFORMED);
    assert_int_equal(verify("Basic dXNlcjpwYXNz"), HUB_SAS_MALFORMED);
    assert_string_equal(hub_sas_result_text(HUB_SAS_EXPIRED), "the token has expired (se)");
}

static void test_conn_string(void **state)
{
    (void)state;
    struct hub_conn_string c;
    assert_int_equal(hub_conn_string_parse("HostName=localhost;SharedAccessKeyName=iothubowner;"
                                           "SharedAccessKey=abc=", &c), 0);
    assert_string_equal(c.host_name, "localhost");
    assert_string_equal(c.key_name, "iothubowner");
    assert_string_equal(c.key, "abc=");
    assert_int_equal(hub_conn_string_parse("SharedAccessKey=k==;HostName=h.example;DeviceId=d;", &c), 0);
    assert_string_equal(c.key, "k==");
    assert_string_equal(c.host_name, "h.example");
    assert_string_equal(c.key_name, "");
    assert_int_equal(hub_conn_string_parse("HostName=h", &c), -EBADMSG);
    assert_int_equal(hub_conn_string_parse("HostName=h;garbage;SharedAccessKey=k", &c), -EBADMSG);
    assert_int_equal(hub_conn_string_parse(NULL, &c), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sign_known_vector),
        cmocka_unit_test(test_create_and_verify),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_event_hubs_tokens),
        cmocka_unit_test(test_conn_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

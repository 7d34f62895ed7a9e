/* Device authentication through the real azkit-hub over real TLS, as Azure decides it: every
 * case under TLS 1.2 and TLS 1.3, every refusal a CONNACK 5 (never a TLS alert) with the rule
 * in the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char pki[512];

static const char *p(const char *name)
{
    return azk_path(pki, name);
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    azk_test_make_pki(pki); /* root -> inter -> dev-1; self-signed ss-1 */
    /* A second chain whose root alone will be verified; a third whose root is not verified. */
    AZK_MUST("pki", "root", "--cn", "Root Two", "--out", p("root2"));
    AZK_MUST("pki", "intermediate", "--ca", p("root2"), "--cn", "Inter Two", "--out", p("inter2"));
    AZK_MUST("pki", "device", "dev-2", "--ca", p("inter2"), "--out", p("dev-2"));
    AZK_MUST("pki", "root", "--cn", "Root Three", "--out", p("root3"));
    AZK_MUST("pki", "device", "dev-3", "--ca", p("root3"), "--out", p("dev-3"));
    /* A fourth chain whose root is uploaded, verified and deleted while devices connect. */
    AZK_MUST("pki", "root", "--cn", "Root Four", "--out", p("root4"));
    AZK_MUST("pki", "device", "dev-4", "--ca", p("root4"), "--out", p("dev-4"));
    AZK_MUST("pki", "self-signed", "ss-old", "--out", p("ss-old"), "--not-before",
             "2020-01-01T00:00:00Z", "--not-after", "2021-01-01T00:00:00Z");

    char sha1[41], sha256[65], old[65], sha256_lower[65];
    test_hub_thumbprint(p("ss-1.cert.pem"), EVP_sha1(), sha1);
    test_hub_thumbprint(p("ss-1.cert.pem"), EVP_sha256(), sha256);
    test_hub_thumbprint(p("ss-old.cert.pem"), EVP_sha256(), old);
    for (int i = 0; i <= 64; i++) /* lowercase: thumbprints compare case-insensitively */
        sha256_lower[i] = (char)(sha256[i] >= 'A' ? sha256[i] | 0x20 : sha256[i]);

    test_hub_init(&hub);
    test_hub_add_self_signed(&hub, "ss-sha1", sha1, NULL, true);
    test_hub_add_self_signed(&hub, "ss-sha256", "0000000000000000000000000000000000000000",
                             sha256_lower, true); /* matches the secondary */
    test_hub_add_self_signed(&hub, "ss-wrong", "1111111111111111111111111111111111111111", NULL,
                             true);
    test_hub_add_self_signed(&hub, "ss-disabled", sha1, NULL, false);
    test_hub_add_self_signed(&hub, "ss-old", old, NULL, true);
    test_hub_add_ca_device(&hub, "dev-1", true);
    test_hub_add_ca_device(&hub, "dev-2", true);
    test_hub_add_ca_device(&hub, "dev-3", true);
    test_hub_add_ca_device(&hub, "not-dev-1", true);
    test_hub_add_ca_device(&hub, "dev-4", true);
    test_hub_add_verified_ca(&hub, "inter", p("inter.cert.pem"), true);   /* only the intermediate */
    test_hub_add_verified_ca(&hub, "root2", p("root2.cert.pem"), true);   /* only the root */
    test_hub_add_verified_ca(&hub, "root3", p("root3.cert.pem"), false);  /* uploaded, unverified */
    test_hub_start(&hub, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, pki);
    return 0;
}

struct auth_case {
    const char *id, *cert, *key, *rule;
    int want; /* CONNACK code */
};

static void run_cases(int tls_version)
{
    const struct auth_case cases[] = {
        {"ss-sha1", "ss-1.cert.pem", "ss-1.key.pem", NULL, 0},
        {"ss-sha256", "ss-1.cert.pem", "ss-1.key.pem", NULL, 0},
        {"ss-wrong", "ss-1.cert.pem", "ss-1.key.pem", "thumbprint", 5},
        {"ss-disabled", "ss-1.cert.pem", "ss-1.key.pem", "disabled", 5},
        {"ss-old", "ss-old.cert.pem", "ss-old.key.pem", "expired", 5},
        /* verified CA = the intermediate: the leaf alone is enough (partial chain) */
        {"dev-1", "dev-1.cert.pem", "dev-1.key.pem", NULL, 0},
        {"dev-1", "dev-1.chain.pem", "dev-1.key.pem", NULL, 0},
        /* only the root verified: the leaf alone is refused, leaf + intermediate accepted */
        {"dev-2", "dev-2.cert.pem", "dev-2.key.pem", "intermediate", 5},
        {"dev-2", "dev-2.chain.pem", "dev-2.key.pem", NULL, 0},
        {"dev-3", "dev-3.cert.pem", "dev-3.key.pem", "verified", 5},
        {"not-dev-1", "dev-1.chain.pem", "dev-1.key.pem", "CN", 5},
        {"unknown-dev", "ss-1.cert.pem", "ss-1.key.pem", "registered", 5},
        {"ss-sha1", NULL, NULL, "certificate", 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct auth_case *c = &cases[i];
        struct test_dev d;
        /* The handshake never fails over the client certificate. */
        assert_int_equal(test_dev_tls(&d, &hub, c->cert ? p(c->cert) : NULL,
                                      c->key ? p(c->key) : NULL, tls_version, NULL),
                         0);
        int code = test_dev_connect(&d, c->id, NULL, true, 60, NULL);
        if (code != c->want)
            fail_msg("%s with %s (TLS %s): CONNACK %d, expected %d", c->id,
                     c->cert ? c->cert : "no certificate",
                     tls_version == TLS1_3_VERSION ? "1.3" : "1.2", code, c->want);
        if (c->want == 5) /* refused: the hub closes the connection after CONNACK 5 */
            assert_int_equal(test_dev_read(&d, 3000), -1);
        test_dev_close(&d);
    }
    assert_true(test_hub_log_contains(&hub, "refused (CONNACK 5)"));
}

static void test_auth_tls12(void **state)
{
    (void)state;
    run_cases(TLS1_2_VERSION);
}

static void test_auth_tls13(void **state)
{
    (void)state;
    run_cases(TLS1_3_VERSION);
}

/* A client that tries to resume its previous session gets a full handshake, so its
 * certificate is checked again (no verdict is ever cached). */
static void test_resumption_checked_again(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        int ver = v ? TLS1_3_VERSION : TLS1_2_VERSION;
        struct test_dev d;
        assert_int_equal(test_dev_tls(&d, &hub, p("ss-1.cert.pem"), p("ss-1.key.pem"), ver, NULL), 0);
        assert_int_equal(test_dev_connect(&d, "ss-sha1", NULL, true, 60, NULL), 0);
        SSL_SESSION *sess = SSL_get1_session(d.ssl);
        test_dev_close(&d);
        /* Resume attempt without a client certificate: must not be resumed nor accepted. */
        assert_int_equal(test_dev_tls(&d, &hub, NULL, NULL, ver, sess), 0);
        assert_int_equal(SSL_session_reused(d.ssl), 0);
        assert_int_equal(test_dev_connect(&d, "ss-sha1", NULL, true, 60, NULL), 5);
        test_dev_close(&d);
        SSL_SESSION_free(sess);
    }
}

/* Username and client id rules. */
static void test_identity_rules(void **state)
{
    (void)state;
    struct test_dev d;
    assert_int_equal(test_dev_tls(&d, &hub, p("ss-1.cert.pem"), p("ss-1.key.pem"), TLS1_2_VERSION, NULL), 0);
    /* client id differs from the username's device id */
    assert_int_equal(test_dev_connect(&d, "ss-sha1", "localhost/ss-sha256/?api-version=2021-04-12",
                                      true, 60, NULL), 5);
    test_dev_close(&d);
    assert_int_equal(test_dev_tls(&d, &hub, p("ss-1.cert.pem"), p("ss-1.key.pem"), TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(&d, "ss-sha1", "not a username", true, 60, NULL), 5);
    test_dev_close(&d);
    /* The NCS form (2020-09-30) and the legacy form without '?' are accepted. */
    assert_int_equal(test_dev_tls(&d, &hub, p("ss-1.cert.pem"), p("ss-1.key.pem"), TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(&d, "ss-sha1",
                                      "localhost/ss-sha1/?api-version=2020-09-30&DeviceClientType="
                                      "azure-iot-device-nrf91%2F1.0",
                                      true, 60, NULL), 0);
    test_dev_close(&d);
    assert_int_equal(test_dev_tls(&d, &hub, p("ss-1.cert.pem"), p("ss-1.key.pem"), TLS1_2_VERSION, NULL), 0);
    assert_int_equal(test_dev_connect(&d, "ss-sha1", "localhost:8883/ss-sha1/api-version=2018-06-30",
                                      true, 60, NULL), 0);
    test_dev_close(&d);
}

/* TLS up for dev-4 (its certificate was issued by root4); CONNECT comes later. */
static void dev4_tls(struct test_dev *d, int tls_version)
{
    assert_int_equal(test_dev_tls(d, &hub, p("dev-4.cert.pem"), p("dev-4.key.pem"), tls_version,
                                  NULL), 0);
}

/* CONNECT of dev-4 on a connection whose TLS is up; returns the CONNACK code. */
static int dev4_connect(struct test_dev *d)
{
    int code = test_dev_connect(d, "dev-4", NULL, true, 60, NULL);
    test_dev_close(d);
    return code;
}

/* dev-1 (its intermediate verified from the start) connects whatever happens to root4. */
static void dev1_still_accepted(void)
{
    struct test_dev d;
    assert_int_equal(test_dev_open(&d, &hub, "dev-1", p("dev-1.chain.pem"), p("dev-1.key.pem"),
                                   TLS1_3_VERSION), 0);
    test_dev_close(&d);
}

/* The hub parses its verified CAs once and keeps them (iothub.c); adding, verifying and
 * deleting a CA through the service API changes the next verdicts -- even for a connection
 * whose TLS handshake happened before the change -- and leaves the other CAs' verdicts as
 * they were. */
static void test_ca_changes_while_devices_connect(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        int ver = v ? TLS1_3_VERSION : TLS1_2_VERSION;
        struct test_dev d;
        /* No CA for dev-4 yet (the cache holds inter, root2, root3). */
        dev4_tls(&d, ver);
        assert_int_equal(dev4_connect(&d), 5);
        /* Uploaded, not verified: still refused. */
        dev4_tls(&d, ver);
        cJSON_Delete(test_hub_admin(&hub, 0, "ca", "add", "root4", p("root4.cert.pem"), NULL));
        assert_int_equal(dev4_connect(&d), 5);
        dev1_still_accepted();
        /* Verified between the handshake and the CONNECT: accepted. */
        dev4_tls(&d, ver);
        cJSON_Delete(test_hub_admin(&hub, 0, "ca", "verify", "root4", "--ca-key",
                                    p("root4.key.pem"), NULL));
        assert_int_equal(dev4_connect(&d), 0);
        dev4_tls(&d, ver);
        assert_int_equal(dev4_connect(&d), 0);
        dev1_still_accepted();
        /* Deleted between the handshake and the CONNECT: refused again. */
        dev4_tls(&d, ver);
        cJSON_Delete(test_hub_admin(&hub, 0, "ca", "delete", "root4", NULL));
        assert_int_equal(dev4_connect(&d), 5);
        dev4_tls(&d, ver);
        assert_int_equal(dev4_connect(&d), 5);
        dev1_still_accepted();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_tls12),
        cmocka_unit_test(test_auth_tls13),
        cmocka_unit_test(test_resumption_checked_again),
        cmocka_unit_test(test_identity_rules),
        cmocka_unit_test(test_ca_changes_while_devices_connect),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

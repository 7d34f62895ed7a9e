/* DPS symmetric-key attestation through the real azkit-hub: enrollments with symmetric keys
 * through the service API (keys generated or given), a raw MQTT device that registers with a
 * SAS token this test signs itself (individual enrollment: its key; group: the key derived
 * from the group's), the sas device the assignment leaves in the hub connecting with the same
 * key, and every refusal (wrong key, expired, wrong sr, unknown id, a token for an X.509
 * enrollment, a certificate for a symmetric-key enrollment) as DPS 401002 with its reason in
 * the log. Also the key derivation itself against a vector computed outside this code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azkit/pki.h"
#include "hub/dps/dps_symkey.h"
#include "hub/service/sas.h"
#include "hub/store/store_dps.h"
#include "dps_test_util.h"
#include "hub_harness.h"
#include "service_test_util.h"
#include "support/test_util.h"

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32];

/* base64 of 32 and 64 bytes */
static const char ind_key1[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
static const char ind_key2[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
static const char other_key[] = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
static const char grp_key1[] =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
/* base64(HMAC-SHA256(base64decode(grp_key1), "sym-dev-01")), computed with Python's hmac. */
static const char grp_dev01_key[] = "6SPy05IApC0tWYRpvw+aWsr87qimS6i097X2Y7TPjD0=";

/* ---- tokens, signed here (not with the hub's code) ------------------------------------------ */

static void b64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static size_t unb64(const char *in, unsigned char *out)
{
    size_t len = strlen(in);
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    assert_true(n > 0);
    while (len > 0 && in[--len] == '=')
        n--;
    return (size_t)n;
}

static void hmac_b64(const char *key_b64, const char *msg, char out[64])
{
    unsigned char k[128], mac[32];
    unsigned int ml = 0;
    size_t kl = unb64(key_b64, k);
    assert_non_null(HMAC(EVP_sha256(), k, (int)kl, (const unsigned char *)msg, strlen(msg), mac,
                         &ml));
    b64(mac, ml, out);
}

/* The device key of a group member, as Microsoft's samples derive it. */
static void derive(const char *group_key, const char *reg_id, char out[64])
{
    hmac_b64(group_key, reg_id, out);
}

/* Percent-encodes everything but unreserved characters, '/' as "%2f" (as the docs show). */
static void url_encode(const char *in, char *out)
{
    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            *out++ = (char)c;
        else
            out += sprintf(out, "%%%02x", c);
    }
    *out = '\0';
}

/* "SharedAccessSignature sr=..&sig=..&se=..&skn=.." for resource `sr` (decoded), skn NULL =
 * none. */
static const char *token(const char *key, const char *sr, const char *skn, int64_t ttl_s)
{
    static char buf[4][1024];
    static int i;
    char *t = buf[i++ % 4];
    char enc[512], msg[600], sig[64], sig_enc[200];
    long long se = (long long)time(NULL) + ttl_s;
    url_encode(sr, enc);
    snprintf(msg, sizeof msg, "%s\n%lld", enc, se);
    hmac_b64(key, msg, sig);
    url_encode(sig, sig_enc);
    snprintf(t, 1024, "SharedAccessSignature sr=%s&sig=%s&se=%lld%s%s", enc, sig_enc, se,
             skn ? "&skn=" : "", skn ? skn : "");
    return t;
}

static const char *dps_token(const char *key, const char *reg_id, int64_t ttl_s)
{
    char sr[256];
    snprintf(sr, sizeof sr, "%s/registrations/%s", g_scope, reg_id);
    return token(key, sr, "registration", ttl_s);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static void done_ok(void *ctx, int rc)
{
    (void)ctx;
    assert_int_equal(rc, 0);
}

static void put_sym_enrollment(struct hub_store *st, const char *id, bool enabled)
{
    struct dps_enrollment e;
    memset(&e, 0, sizeof(e));
    snprintf(e.registration_id, sizeof(e.registration_id), "%s", id);
    e.attestation = DPS_ATTEST_SYMMETRIC_KEY;
    snprintf(e.keys.primary, sizeof e.keys.primary, "%s", ind_key1);
    snprintf(e.keys.secondary, sizeof e.keys.secondary, "%s", ind_key2);
    e.c.status = enabled ? DPS_STATUS_ENABLED : DPS_STATUS_DISABLED;
    e.c.reprovision.update_hub_assignment = true;
    e.c.reprovision.migrate_device_data = true;
    assert_int_equal(hub_store_dps_enrollment_put(st, &e, NULL, NULL, done_ok, NULL), 0);
    dps_enrollment_clear(&e);
}

static void put_x509_enrollment(struct hub_store *st, const char *id)
{
    struct dps_enrollment e;
    memset(&e, 0, sizeof(e));
    snprintf(e.registration_id, sizeof(e.registration_id), "%s", id);
    e.primary_pem = azk_test_read(test_pem_path(g_dir, id, "cert"), NULL);
    e.c.reprovision.update_hub_assignment = true;
    e.c.reprovision.migrate_device_data = true;
    assert_int_equal(hub_store_dps_enrollment_put(st, &e, NULL, NULL, done_ok, NULL), 0);
    dps_enrollment_clear(&e);
}

static void put_sym_group(struct hub_store *st, const char *id, const char *key1,
                          const char *key2)
{
    struct dps_group g;
    memset(&g, 0, sizeof(g));
    snprintf(g.group_id, sizeof(g.group_id), "%s", id);
    g.attestation = DPS_ATTEST_SYMMETRIC_KEY;
    snprintf(g.keys.primary, sizeof g.keys.primary, "%s", key1);
    snprintf(g.keys.secondary, sizeof g.keys.secondary, "%s", key2);
    g.c.reprovision.update_hub_assignment = true;
    g.c.reprovision.migrate_device_data = true;
    g.c.initial_twin = strdup("{\"tags\":{\"kind\":\"sym\"}}");
    assert_int_equal(hub_store_dps_group_put(st, &g, NULL, NULL, done_ok, NULL), 0);
    dps_group_clear(&g);
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    test_hub_make_cert(g_dir, AZK_PKI_SELF_SIGNED, "x-ind", "x-ind", NULL, NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_SELF_SIGNED, "sym-ind", "sym-ind", NULL, NULL, NULL);
    test_hub_init(&hub);
    struct event_base *base = event_base_new();
    struct hub_store *st = NULL;
    struct hub_store_config cfg = {.data_dir = hub.data};
    assert_int_equal(hub_store_open(&cfg, base, &st, NULL), 0);
    put_sym_enrollment(st, "sym-ind", true);
    put_sym_enrollment(st, "sym-off", false);
    put_x509_enrollment(st, "x-ind");
    put_sym_group(st, "sym-grp", grp_key1, other_key);
    hub_store_close(st);
    event_base_free(base);
    const char *extra[] = {"--dps-retry-after", "1", "--dps-assign-delay", "0", NULL};
    test_hub_start(&hub, extra);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

/* ---- devices -------------------------------------------------------------------------------- */

/* CONNECT (client id `id`, username `user`, password may be NULL); the CONNACK code. */
static int connect_raw(struct test_dev *d, const char *cert, const char *key, const char *id,
                       const char *user, const char *password)
{
    memset(d, 0, sizeof(*d));
    assert_int_equal(test_dev_tls(d, &hub, cert, key, TLS1_2_VERSION, NULL), 0);
    struct azk_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    c.client_id = azk_span_from_str(id);
    c.has_username = true;
    c.username = azk_span_from_str(user);
    c.has_password = password != NULL;
    c.password = azk_span_from_str(password ? password : "");
    c.clean_session = true;
    c.keep_alive = 60;
    uint8_t out[2048];
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_connect(&c, out, sizeof(out), &n), 0);
    test_dev_send(d, out, n);
    if (test_dev_read(d, 5000) != 1)
        return -1;
    assert_int_equal(d->pkt.type, AZK_MQTT_CONNACK);
    return d->pkt.u.connack.return_code;
}

/* A DPS device as the SDKs connect it with a token (and optionally a certificate). */
static void dps_open(struct test_dev *d, const char *reg_id, const char *password,
                     const char *cert_name)
{
    char user[256];
    snprintf(user, sizeof(user), "%s/registrations/%s/api-version=2019-03-31&ClientVersion="
             "azure-iot-provisioning-device%%2F1.9.1", g_scope, reg_id);
    const char *cert = cert_name ? test_pem_path(g_dir, cert_name, "cert") : NULL;
    const char *key = cert_name ? test_pem_path(g_dir, cert_name, "key") : NULL;
    assert_int_equal(connect_raw(d, cert, key, reg_id, user, password), 0);
    const char *f[] = {"$dps/registrations/res/#"};
    test_dev_subscribe(d, 1, f, 1, 1);
    assert_int_equal(test_dev_read(d, 5000), 1);
    assert_int_equal(d->pkt.type, AZK_MQTT_SUBACK);
}

/* Registers and returns the final body (assigned). */
static cJSON *provision(const char *reg_id, const char *password)
{
    struct test_dev d;
    dps_open(&d, reg_id, password, NULL);
    char body[128];
    snprintf(body, sizeof body, "{\"registrationId\":\"%s\"}", reg_id);
    int status = 0;
    cJSON *j = test_dps_register(&d, "1", body, &status);
    test_dev_close(&d);
    assert_int_equal(status, 200);
    assert_string_equal(test_json_str(j, "status"), "assigned");
    return j;
}

/* The register request is refused with 401002 and `log_text` in the log. */
static void expect_refused(const char *reg_id, const char *password, const char *cert_name,
                           const char *log_text)
{
    struct test_dev d;
    dps_open(&d, reg_id, password, cert_name);
    int status = 0;
    cJSON *j = test_dps_register(&d, "1", "", &status);
    test_dev_close(&d);
    assert_int_equal(status, 401);
    assert_int_equal(cJSON_GetObjectItem(j, "errorCode")->valueint, 401002);
    assert_null(cJSON_GetObjectItem(j, "operationId"));
    cJSON_Delete(j);
    if (!test_hub_log_contains(&hub, log_text))
        fail_msg("the log does not say '%s'", log_text);
}

/* The device connects to IoT Hub with a token signed with `key`. */
static int hub_connect(const char *device_id, const char *key)
{
    char user[256], sr[256];
    snprintf(user, sizeof user, "localhost/%s/?api-version=2021-04-12", device_id);
    snprintf(sr, sizeof sr, "localhost/devices/%s", device_id);
    struct test_dev d;
    int code = connect_raw(&d, NULL, NULL, device_id, user, token(key, sr, NULL, 600));
    test_dev_close(&d);
    return code;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_derivation(void **state)
{
    (void)state;
    char out[DPS_SYMKEY_MAX + 1], mine[64];
    assert_int_equal(dps_symkey_derive(grp_key1, "sym-dev-01", out), 0);
    assert_string_equal(out, grp_dev01_key);
    derive(grp_key1, "sym-dev-01", mine);
    assert_string_equal(mine, grp_dev01_key);
    assert_int_equal(dps_symkey_derive("not base64!", "x", out), -EINVAL);
    char gen[DPS_SYMKEY_MAX + 1], gen2[DPS_SYMKEY_MAX + 1];
    assert_int_equal(dps_symkey_generate(gen), 0);
    assert_int_equal(dps_symkey_generate(gen2), 0);
    assert_int_equal(strlen(gen), 88); /* 64 bytes */
    assert_string_not_equal(gen, gen2);
    assert_int_equal(dps_symkey_check(gen, "k", NULL, 0), 0);
    char err[128];
    assert_int_equal(dps_symkey_check("AAAAAAAAAAA=", "primaryKey", err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "16 to 64 bytes"));
    assert_int_equal(dps_symkey_check("%%%", "primaryKey", err, sizeof err), -EINVAL);
}

static void test_individual(void **state)
{
    (void)state;
    cJSON *j = provision("sym-ind", dps_token(ind_key1, "sym-ind", 600));
    cJSON *rs = cJSON_GetObjectItem(j, "registrationState");
    assert_string_equal(test_json_str(rs, "deviceId"), "sym-ind");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(rs, "symmetricKey")));
    assert_null(cJSON_GetObjectItem(rs, "x509"));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(rs, "symmetricKey"),
                                    "enrollmentGroupId"));
    cJSON_Delete(j);
    /* The device is a sas device with the enrollment's keys. */
    assert_int_equal(hub_connect("sym-ind", ind_key1), 0);
    assert_int_equal(hub_connect("sym-ind", ind_key2), 0);
    assert_int_equal(hub_connect("sym-ind", other_key), AZK_MQTT_CONNACK_NOT_AUTHORIZED);
    /* The secondary key registers too, and again gives the same device. */
    j = provision("sym-ind", dps_token(ind_key2, "sym-ind", 600));
    cJSON_Delete(j);
    assert_true(test_hub_log_contains(&hub, "individual enrollment 'sym-ind' (secondary "
                                      "symmetric key)"));
    /* The service API shows the registration with its attestation kind. */
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_DPS, NULL, &t);
    struct svc_resp r;
    svc_test_request(&t, &r, "GET", "/registrations/sym-ind?api-version=2021-10-01", NULL,
                     NULL, 0);
    assert_int_equal(r.r.status, 200);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(r.j, "symmetricKey")));
    svc_resp_free(&r);
}

static void test_group(void **state)
{
    (void)state;
    char dk[64];
    derive(grp_key1, "sym-dev-01", dk);
    cJSON *j = provision("sym-dev-01", dps_token(dk, "sym-dev-01", 600));
    cJSON *rs = cJSON_GetObjectItem(j, "registrationState");
    assert_string_equal(test_json_str(rs, "deviceId"), "sym-dev-01");
    assert_string_equal(test_json_str(cJSON_GetObjectItem(rs, "symmetricKey"),
                                      "enrollmentGroupId"), "sym-grp");
    cJSON_Delete(j);
    assert_int_equal(hub_connect("sym-dev-01", dk), 0);
    /* A key derived from the group's secondary key works too; the group key itself does not
     * sign for a member. */
    char dk2[64];
    derive(other_key, "sym-dev-02", dk2);
    j = provision("sym-dev-02", dps_token(dk2, "sym-dev-02", 600));
    cJSON_Delete(j);
    assert_int_equal(hub_connect("sym-dev-02", dk2), 0);
    expect_refused("sym-dev-03", dps_token(grp_key1, "sym-dev-03", 600), NULL,
                   "register refused (token-bad-signature)");
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("sym-ind", dps_token(other_key, "sym-ind", 600), NULL,
                   "signed with neither the primary nor the secondary key of the individual "
                   "enrollment 'sym-ind'");
    expect_refused("sym-ind", dps_token(ind_key1, "sym-ind", -10), NULL,
                   "register refused (token-expired)");
    char sr[256];
    snprintf(sr, sizeof sr, "%s/registrations/someone-else", g_scope);
    expect_refused("sym-ind", token(ind_key1, sr, "registration", 600), NULL,
                   "register refused (token-wrong-resource)");
    expect_refused("sym-ind", token(ind_key1, "0ne00000000/registrations/sym-ind",
                                    "registration", 600), NULL,
                   "register refused (token-wrong-resource)");
    snprintf(sr, sizeof sr, "%s/registrations/sym-ind", g_scope);
    expect_refused("sym-ind", token(ind_key1, sr, "iothubowner", 600), NULL,
                   "register refused (token-malformed)");
    expect_refused("sym-ind", "password", NULL, "register refused (token-malformed)");
    /* An X.509 enrollment with a token; a symmetric-key enrollment with a certificate. */
    expect_refused("x-ind", dps_token(ind_key1, "x-ind", 600), NULL,
                   "'x-ind' uses X.509 attestation");
    expect_refused("sym-ind", NULL, "sym-ind",
                   "'sym-ind' uses symmetric key attestation");
    expect_refused("sym-ind", NULL, NULL, "register refused (no-token)");
    /* Unknown registration id: no group key derives a key that signed it. */
    expect_refused("nobody-here", dps_token(ind_key1, "nobody-here", 600), NULL,
                   "no individual enrollment for registration id 'nobody-here'");
    /* Keys never reach the log. */
    assert_false(test_hub_log_contains(&hub, ind_key1));
    assert_false(test_hub_log_contains(&hub, grp_key1));
}

/* An X.509 device that also sends a password that is not a SAS token registers as before. */
static void test_x509_stray_password(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open(&d, "x-ind", "not-a-token", "x-ind");
    int status = 0;
    cJSON *j = test_dps_register(&d, "1", "", &status);
    test_dev_close(&d);
    assert_int_equal(status, 200);
    assert_string_equal(test_json_str(j, "status"), "assigned");
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "registrationState"), "symmetricKey"));
    cJSON_Delete(j);
}

static void test_disabled(void **state)
{
    (void)state;
    struct test_dev d;
    dps_open(&d, "sym-off", dps_token(ind_key1, "sym-off", 600), NULL);
    int status = 0;
    cJSON *j = test_dps_register(&d, "1", "", &status);
    test_dev_close(&d);
    assert_int_equal(status, 200);
    assert_string_equal(test_json_str(j, "status"), "disabled");
    cJSON_Delete(j);
}

/* Enrollments with symmetric keys through the service API: generated keys (64 bytes), given
 * keys, kept keys on update, refused keys and TPM. */
static void test_service_api(void **state)
{
    (void)state;
    struct hub_admin_target t;
    svc_test_target(&hub, HUB_SAS_POLICY_DPS, NULL, &t);
    struct svc_resp r;
    svc_test_request(&t, &r, "PUT", "/enrollments/svc-sym?api-version=2021-10-01",
                     "{\"registrationId\":\"svc-sym\",\"attestation\":{\"type\":\"symmetricKey\","
                     "\"symmetricKey\":{\"primaryKey\":\"\",\"secondaryKey\":null}}}",
                     NULL, 0);
    assert_int_equal(r.r.status, 200);
    const cJSON *att = cJSON_GetObjectItem(r.j, "attestation");
    assert_string_equal(test_json_str(att, "type"), "symmetricKey");
    const cJSON *sk = cJSON_GetObjectItem(att, "symmetricKey");
    char k1[100];
    snprintf(k1, sizeof k1, "%s", test_json_str(sk, "primaryKey"));
    assert_int_equal(strlen(k1), 88);
    assert_int_equal(strlen(test_json_str(sk, "secondaryKey")), 88);
    assert_string_not_equal(k1, test_json_str(sk, "secondaryKey"));
    char etag[64];
    snprintf(etag, sizeof etag, "%s", test_json_str(r.j, "etag"));
    svc_resp_free(&r);
    /* Updated without keys: kept; then a device registers with the generated key. */
    svc_test_request_if(&t, &r, "PUT", "/enrollments/svc-sym?api-version=2021-10-01",
                        "{\"registrationId\":\"svc-sym\",\"attestation\":{\"type\":"
                        "\"symmetricKey\"},\"provisioningStatus\":\"enabled\"}",
                        etag);
    assert_int_equal(r.r.status, 200);
    sk = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "attestation"), "symmetricKey");
    assert_string_equal(test_json_str(sk, "primaryKey"), k1);
    svc_resp_free(&r);
    cJSON *j = provision("svc-sym", dps_token(k1, "svc-sym", 600));
    cJSON_Delete(j);
    assert_int_equal(hub_connect("svc-sym", k1), 0);

    /* A group with given keys: returned as given. */
    char body[512];
    snprintf(body, sizeof body, "{\"enrollmentGroupId\":\"svc-grp\",\"attestation\":{\"type\":"
             "\"symmetricKey\",\"symmetricKey\":{\"primaryKey\":\"%s\",\"secondaryKey\":\"%s\"}}}",
             ind_key1, ind_key2);
    svc_test_request(&t, &r, "PUT", "/enrollmentGroups/svc-grp?api-version=2021-10-01", body,
                     NULL, 0);
    assert_int_equal(r.r.status, 200);
    sk = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "attestation"), "symmetricKey");
    assert_string_equal(test_json_str(sk, "primaryKey"), ind_key1);
    assert_string_equal(test_json_str(sk, "secondaryKey"), ind_key2);
    svc_resp_free(&r);
    svc_test_request(&t, &r, "GET", "/enrollmentGroups/svc-grp?api-version=2021-10-01", NULL,
                     NULL, 0);
    assert_int_equal(r.r.status, 200);
    sk = cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "attestation"), "symmetricKey");
    assert_string_equal(test_json_str(sk, "primaryKey"), ind_key1);
    svc_resp_free(&r);

    /* Refused: a key too short, not base64; TPM. */
    svc_test_request(&t, &r, "PUT", "/enrollments/bad-sym?api-version=2021-10-01",
                     "{\"attestation\":{\"type\":\"symmetricKey\",\"symmetricKey\":"
                     "{\"primaryKey\":\"AAAAAAAAAAA=\"}}}",
                     NULL, 0);
    assert_int_equal(r.r.status, 400);
    svc_resp_free(&r);
    svc_test_request(&t, &r, "PUT", "/enrollments/bad-sym?api-version=2021-10-01",
                     "{\"attestation\":{\"type\":\"symmetricKey\",\"symmetricKey\":"
                     "{\"primaryKey\":\"not base64\"}}}",
                     NULL, 0);
    assert_int_equal(r.r.status, 400);
    svc_resp_free(&r);
    svc_test_request(&t, &r, "PUT", "/enrollments/bad-tpm?api-version=2021-10-01",
                     "{\"attestation\":{\"type\":\"tpm\",\"tpm\":{\"endorsementKey\":\"AA==\"}}}",
                     NULL, 0);
    assert_int_equal(r.r.status, 400);
    svc_resp_free(&r);
}

/* The admin CLI: --symmetric-key with generated and given keys. */
static void test_admin_cli(void **state)
{
    (void)state;
    cJSON *j = test_hub_admin(&hub, 0, "enroll", "individual", "cli-sym", "--symmetric-key",
                              NULL);
    const cJSON *e = cJSON_GetObjectItem(j, "enrollment");
    const cJSON *sk = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "attestation"), "symmetricKey");
    assert_int_equal(strlen(test_json_str(sk, "primaryKey")), 88);
    cJSON_Delete(j);
    j = test_hub_admin(&hub, 0, "enroll", "group", "cli-grp", "--symmetric-key",
                       "--primary-key", ind_key1, "--secondary-key", ind_key2, NULL);
    e = cJSON_GetObjectItem(j, "enrollmentGroup");
    sk = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "attestation"), "symmetricKey");
    assert_string_equal(test_json_str(sk, "primaryKey"), ind_key1);
    assert_string_equal(test_json_str(sk, "secondaryKey"), ind_key2);
    cJSON_Delete(j);
    char dk[64];
    derive(ind_key1, "cli-dev", dk);
    j = provision("cli-dev", dps_token(dk, "cli-dev", 600));
    cJSON_Delete(j);
    assert_int_equal(hub_connect("cli-dev", dk), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derivation),
        cmocka_unit_test(test_individual),
        cmocka_unit_test(test_group),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_x509_stray_password),
        cmocka_unit_test(test_service_api),
        cmocka_unit_test(test_admin_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

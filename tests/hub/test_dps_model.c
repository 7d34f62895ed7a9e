/* DPS model JSON (src/hub/dps/dps_model.c): Azure's shapes (the DPS service REST API on Microsoft Learn) parsed,
 * validated and rendered, and the storage form round-tripped. */
#include "support/test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "hub/dps/dps_model.h"
#include "hub/iothub/cert_text.h"

static char g_dir[512];
static char *g_dev, *g_inter, *g_root;

static void make(enum azk_pki_kind kind, const char *cn, const char *out, const char *issuer)
{
    test_hub_make_cert(g_dir, kind, cn, out, issuer, NULL, NULL);
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    make(AZK_PKI_ROOT, "Root A", "root", NULL);
    make(AZK_PKI_INTERMEDIATE, "Inter A", "inter", "root");
    make(AZK_PKI_DEVICE, "dev1", "dev1", "inter");
    g_dev = azk_test_read(azk_path(g_dir, "dev1.cert.pem"), NULL);
    g_inter = azk_test_read(azk_path(g_dir, "inter.cert.pem"), NULL);
    g_root = azk_test_read(azk_path(g_dir, "root.cert.pem"), NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_dev);
    free(g_inter);
    free(g_root);
    azk_test_rmrf(g_dir);
    return 0;
}

/* Parses `fmt` with %s replaced by a PEM as a JSON string. */
static cJSON *body(const char *fmt, const char *pem)
{
    cJSON *s = cJSON_CreateString(pem ? pem : "");
    char *q = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    size_t n = strlen(fmt) + strlen(q) + 1;
    char *t = malloc(n);
    const char *at = strstr(fmt, "%s");
    assert_non_null(at);
    size_t pre = (size_t)(at - fmt);
    memcpy(t, fmt, pre);
    memcpy(t + pre, q, strlen(q));
    strcpy(t + pre + strlen(q), at + 2);
    cJSON *j = cJSON_Parse(t);
    if (!j)
        fail_msg("bad test JSON: %s", t);
    free(t);
    cJSON_free(q);
    return j;
}

static const char *str_at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static const cJSON *item_at(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cur;
}

static const char IND[] =
    "{\"registrationId\":\"dev1\",\"deviceId\":\"dev1\","
    "\"attestation\":{\"type\":\"x509\",\"x509\":{\"clientCertificates\":{\"primary\":"
    "{\"certificate\":%s}}}},"
    "\"provisioningStatus\":\"enabled\",\"iotHubHostName\":\"myhub.azure-devices.net\","
    "\"initialTwin\":{\"tags\":{\"floor\":3},\"properties\":{\"desired\":{\"rate\":5}}},"
    "\"capabilities\":{\"iotEdge\":false}}";

static void test_individual_round_trip(void **state)
{
    (void)state;
    cJSON *b = body(IND, g_dev);
    struct dps_enrollment e;
    char err[256];
    int rc = dps_enrollment_from_json(b, "dev1", NULL, DPS_JSON_API, &e, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    cJSON_Delete(b);
    assert_string_equal(e.registration_id, "dev1");
    assert_string_equal(e.device_id, "dev1");
    assert_string_equal(e.primary_pem, g_dev);
    assert_null(e.secondary_pem);
    assert_int_equal(e.c.status, DPS_STATUS_ENABLED);
    assert_int_equal(e.c.allocation, DPS_ALLOC_HASHED);
    assert_string_equal(e.c.iot_hub_host_name, "myhub.azure-devices.net");
    assert_true(e.c.reprovision.update_hub_assignment && e.c.reprovision.migrate_device_data);
    assert_non_null(strstr(e.c.initial_twin, "\"floor\":3"));
    e.meta.created_ms = 1586488273027;
    e.meta.updated_ms = 1586488273209;
    hub_etag_from_counter(2, e.meta.etag);
    e.meta.etag_counter = 2;

    /* GET form */
    struct dps_registration reg = {.status = DPS_REG_ASSIGNED,
                                   .substatus = DPS_SUB_INITIAL_ASSIGNMENT};
    snprintf(reg.registration_id, sizeof reg.registration_id, "dev1");
    cJSON *g = dps_enrollment_to_json(&e, &reg, DPS_JSON_API);
    assert_string_equal(str_at(g, "registrationId"), "dev1");
    assert_string_equal(str_at(g, "attestation.type"), "x509");
    const cJSON *info = item_at(g, "attestation.x509.clientCertificates.primary.info");
    assert_non_null(info);
    assert_null(item_at(g, "attestation.x509.clientCertificates.primary.certificate"));
    assert_string_equal(str_at(info, "subjectName"), "CN=dev1");
    assert_non_null(strstr(str_at(info, "issuerName"), "CN=Inter A"));
    assert_int_equal(strlen(str_at(info, "sha1Thumbprint")), 40);
    assert_int_equal(strlen(str_at(info, "sha256Thumbprint")), 64);
    assert_int_equal(strlen(str_at(info, "notBeforeUtc")), 20);
    assert_int_equal(strlen(str_at(info, "notAfterUtc")), 20);
    assert_true(strlen(str_at(info, "serialNumber")) > 0);
    assert_int_equal(item_at(info, "version")->valueint, 3);
    assert_string_equal(str_at(g, "etag"), "Mg==");
    assert_string_equal(str_at(g, "createdDateTimeUtc"), "2020-04-10T03:11:13.0270000Z");
    assert_string_equal(str_at(g, "lastUpdatedDateTimeUtc"), "2020-04-10T03:11:13.2090000Z");
    assert_string_equal(str_at(g, "provisioningStatus"), "enabled");
    assert_string_equal(str_at(g, "allocationPolicy"), "hashed");
    assert_string_equal(str_at(g, "registrationState.status"), "assigned");
    assert_string_equal(str_at(g, "registrationState.substatus"), "initialAssignment");
    assert_true(cJSON_IsTrue(item_at(g, "reprovisionPolicy.updateHubAssignment")));
    assert_int_equal(item_at(g, "initialTwin.properties.desired.rate")->valueint, 5);
    assert_true(cJSON_IsFalse(item_at(g, "capabilities.iotEdge")));

    /* the GET result PUT back (no PEM, only info) keeps the stored certificate */
    struct dps_enrollment back;
    rc = dps_enrollment_from_json(g, "dev1", &e, DPS_JSON_API, &back, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    assert_string_equal(back.primary_pem, g_dev);
    assert_string_equal(back.meta.etag, "Mg==");
    dps_enrollment_clear(&back);
    /* ... but not without the stored entry */
    assert_int_equal(dps_enrollment_from_json(g, "dev1", NULL, DPS_JSON_API, &back, err,
                                              sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "certificate"));
    cJSON_Delete(g);

    /* storage form */
    cJSON *s = dps_enrollment_to_json(&e, NULL, DPS_JSON_STORAGE);
    struct dps_enrollment e2;
    assert_int_equal(dps_enrollment_from_json(s, NULL, NULL, DPS_JSON_STORAGE, &e2, err,
                                              sizeof err),
                     0);
    cJSON_Delete(s);
    assert_string_equal(e2.primary_pem, g_dev);
    assert_string_equal(e2.c.initial_twin, e.c.initial_twin);
    assert_string_equal(e2.c.iot_hub_host_name, e.c.iot_hub_host_name);
    assert_int_equal(e2.meta.created_ms, e.meta.created_ms);
    assert_int_equal(e2.meta.updated_ms, e.meta.updated_ms);
    assert_int_equal(e2.meta.etag_counter, 2);
    assert_string_equal(e2.meta.etag, "Mg==");
    struct dps_enrollment e3;
    assert_int_equal(dps_enrollment_copy(&e3, &e2), 0);
    dps_enrollment_clear(&e2);
    assert_string_equal(e3.primary_pem, g_dev);
    dps_enrollment_clear(&e3);
    dps_enrollment_clear(&e);
}

static void test_group_shapes(void **state)
{
    (void)state;
    char err[256];
    cJSON *b = body("{\"enrollmentGroupId\":\"first\",\"attestation\":{\"type\":\"x509\","
                    "\"x509\":{\"signingCertificates\":{\"primary\":{\"certificate\":%s}}}},"
                    "\"provisioningStatus\":\"disabled\",\"reprovisionPolicy\":"
                    "{\"updateHubAssignment\":true,\"migrateDeviceData\":false},"
                    "\"allocationPolicy\":\"hashed\",\"iotHubs\":[\"myhub.azure-devices.net\"]}",
                    g_inter);
    struct dps_group g;
    int rc = dps_group_from_json(b, "first", NULL, DPS_JSON_API, &g, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    cJSON_Delete(b);
    assert_string_equal(g.group_id, "first");
    assert_string_equal(g.primary_pem, g_inter);
    assert_false(dps_group_uses_ca_refs(&g));
    assert_int_equal(g.c.status, DPS_STATUS_DISABLED);
    assert_false(g.c.reprovision.migrate_device_data);
    assert_int_equal(g.c.n_iot_hubs, 1);
    assert_string_equal(g.c.iot_hubs[0], "myhub.azure-devices.net");
    cJSON *j = dps_group_to_json(&g, DPS_JSON_API);
    assert_string_equal(str_at(j, "enrollmentGroupId"), "first");
    assert_string_equal(
        str_at(j, "attestation.x509.signingCertificates.primary.info.subjectName"),
        "CN=Inter A");
    assert_string_equal(str_at(j, "provisioningStatus"), "disabled");
    assert_string_equal(cJSON_GetArrayItem(item_at(j, "iotHubs"), 0)->valuestring,
                        "myhub.azure-devices.net");
    /* the Node sample: GET, set enabled, PUT back */
    cJSON_ReplaceItemInObject(j, "provisioningStatus", cJSON_CreateString("enabled"));
    struct dps_group g2;
    rc = dps_group_from_json(j, "first", &g, DPS_JSON_API, &g2, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    assert_int_equal(g2.c.status, DPS_STATUS_ENABLED);
    assert_string_equal(g2.primary_pem, g_inter);
    dps_group_clear(&g2);
    cJSON_Delete(j);
    /* storage */
    j = dps_group_to_json(&g, DPS_JSON_STORAGE);
    assert_int_equal(dps_group_from_json(j, NULL, NULL, DPS_JSON_STORAGE, &g2, err, sizeof err),
                     0);
    assert_string_equal(g2.primary_pem, g_inter);
    assert_int_equal(g2.c.status, DPS_STATUS_DISABLED);
    dps_group_clear(&g2);
    cJSON_Delete(j);
    dps_group_clear(&g);

    /* caReferences */
    b = cJSON_Parse("{\"enrollmentGroupId\":\"g2\",\"attestation\":{\"type\":\"x509\",\"x509\":"
                    "{\"caReferences\":{\"primary\":\"myVerifiedCaName\",\"secondary\":null}}}}");
    rc = dps_group_from_json(b, NULL, NULL, DPS_JSON_API, &g, err, sizeof err);
    if (rc)
        fail_msg("%s", err);
    cJSON_Delete(b);
    assert_true(dps_group_uses_ca_refs(&g));
    assert_string_equal(g.ca_primary, "myVerifiedCaName");
    assert_string_equal(g.ca_secondary, "");
    assert_null(g.primary_pem);
    j = dps_group_to_json(&g, DPS_JSON_API);
    assert_string_equal(str_at(j, "attestation.x509.caReferences.primary"), "myVerifiedCaName");
    assert_true(cJSON_IsNull(item_at(j, "attestation.x509.caReferences.secondary")));
    cJSON_Delete(j);
    j = dps_group_to_json(&g, DPS_JSON_STORAGE);
    assert_int_equal(dps_group_from_json(j, NULL, NULL, DPS_JSON_STORAGE, &g2, err, sizeof err),
                     0);
    assert_string_equal(g2.ca_primary, "myVerifiedCaName");
    cJSON_Delete(j);
    dps_group_clear(&g2);
    dps_group_clear(&g);
}

static void expect_enr_error(const char *fmt, const char *pem, const char *path,
                             const char *needle)
{
    cJSON *b = body(fmt, pem);
    struct dps_enrollment e;
    char err[256] = "";
    int rc = dps_enrollment_from_json(b, path, NULL, DPS_JSON_API, &e, err, sizeof err);
    cJSON_Delete(b);
    if (rc != -EINVAL || !strstr(err, needle))
        fail_msg("expected -EINVAL with '%s', got %d '%s' for %s", needle, rc, err, fmt);
}

static void expect_grp_error(const char *fmt, const char *pem, const char *needle)
{
    cJSON *b = body(fmt, pem);
    struct dps_group g;
    char err[256] = "";
    int rc = dps_group_from_json(b, NULL, NULL, DPS_JSON_API, &g, err, sizeof err);
    cJSON_Delete(b);
    if (rc != -EINVAL || !strstr(err, needle))
        fail_msg("expected -EINVAL with '%s', got %d '%s' for %s", needle, rc, err, fmt);
}

#define ATT "\"attestation\":{\"type\":\"x509\",\"x509\":{\"clientCertificates\":" \
            "{\"primary\":{\"certificate\":%s}}}}"

static void test_validation_errors(void **state)
{
    (void)state;
    expect_enr_error("{\"registrationId\":\"dev1\",\"x\":%s}", g_dev, NULL, "attestation");
    expect_enr_error("{\"registrationId\":\"dev1\",\"attestation\":{\"type\":\"tpm\"},"
                     "\"x\":%s}",
                     g_dev, NULL, "TPM attestation is not supported");
    expect_enr_error("{\"registrationId\":\"Dev/1\"," ATT "}", g_dev, NULL, "registrationId");
    expect_enr_error("{\"registrationId\":\"dev1\"," ATT "}", g_dev, "dev2", "differs");
    expect_enr_error("{" ATT ",\"allocationPolicy\":\"custom\"}", g_dev, "dev1", "custom");
    expect_enr_error("{" ATT ",\"allocationPolicy\":\"nearest\"}", g_dev, "dev1", "nearest");
    expect_enr_error("{" ATT ",\"provisioningStatus\":\"on\"}", g_dev, "dev1",
                     "provisioningStatus");
    expect_enr_error("{" ATT ",\"initialTwin\":{\"properties\":{\"reported\":{}}}}", g_dev,
                     "dev1", "reported");
    expect_enr_error("{" ATT ",\"iotHubs\":\"hub\"}", g_dev, "dev1", "iotHubs");
    expect_enr_error("{" ATT ",\"deviceId\":\"a/b\"}", g_dev, "dev1", "deviceId");
    expect_enr_error("{" ATT "}", "not a pem", "dev1", "PEM");
    expect_enr_error("{\"x\":%s,\"attestation\":{\"type\":\"x509\",\"x509\":{}}}", g_dev, "dev1",
                     "clientCertificates");
    expect_enr_error("{\"x\":%s,\"attestation\":{\"type\":\"x509\",\"x509\":"
                     "{\"signingCertificates\":{}}}}",
                     g_dev, "dev1", "enrollment groups");
    /* a chain (two certificates) where one is expected */
    char *chain = azk_test_read(azk_path(g_dir, "dev1.chain.pem"), NULL);
    expect_enr_error("{" ATT "}", chain, "dev1", "exactly one");
    free(chain);
    expect_grp_error("{\"enrollmentGroupId\":\"g\",\"attestation\":{\"type\":\"x509\",\"x509\":"
                     "{\"clientCertificates\":{\"primary\":{\"certificate\":%s}}}}}",
                     g_dev, "individual");
    expect_grp_error("{\"enrollmentGroupId\":\"g\",\"attestation\":{\"type\":\"x509\",\"x509\":"
                     "{\"signingCertificates\":{\"primary\":{\"certificate\":%s}},"
                     "\"caReferences\":{\"primary\":\"ca\"}}}}",
                     g_inter, "exactly one");
    expect_grp_error("{\"enrollmentGroupId\":\"g/1\",\"x\":%s}", g_inter, "not allowed");
    expect_grp_error("{\"enrollmentGroupId\":\"g\",\"attestation\":{\"type\":\"x509\",\"x509\":"
                     "{\"signingCertificates\":{\"primary\":{\"certificate\":%s}}}},"
                     "\"allocationPolicy\":\"static\",\"iotHubs\":[\"a\",\"b\"]}",
                     g_inter, "exactly one hub");
    /* not an object */
    struct dps_enrollment e;
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(dps_enrollment_from_json(arr, NULL, NULL, DPS_JSON_API, &e, NULL, 0),
                     -EINVAL);
    cJSON_Delete(arr);
}

static void test_ca_and_registration(void **state)
{
    (void)state;
    char err[256];
    cJSON *b = body("{\"certificate\":%s}", g_root);
    struct dps_ca ca;
    assert_int_equal(dps_ca_from_json(b, "rootca", DPS_JSON_API, &ca, err, sizeof err), 0);
    cJSON_Delete(b);
    assert_string_equal(ca.name, "rootca");
    assert_int_equal(strlen(ca.thumbprint_sha1), 40);
    assert_false(ca.verified);
    ca.verified = true;
    cJSON *j = dps_ca_to_json(&ca, DPS_JSON_API);
    assert_string_equal(str_at(j, "properties.subject"), "CN=Root A");
    assert_string_equal(str_at(j, "properties.thumbprint"), ca.thumbprint_sha1);
    assert_true(cJSON_IsTrue(item_at(j, "properties.isVerified")));
    cJSON_Delete(j);
    j = dps_ca_to_json(&ca, DPS_JSON_STORAGE);
    struct dps_ca ca2;
    assert_int_equal(dps_ca_from_json(j, NULL, DPS_JSON_STORAGE, &ca2, err, sizeof err), 0);
    assert_true(ca2.verified);
    assert_string_equal(ca2.pem, g_root);
    cJSON_Delete(j);
    dps_ca_clear(&ca2);
    dps_ca_clear(&ca);

    struct dps_registration r = {.status = DPS_REG_ASSIGNED,
                                 .substatus = DPS_SUB_DEVICE_DATA_MIGRATED};
    snprintf(r.registration_id, sizeof r.registration_id, "dev1");
    snprintf(r.device_id, sizeof r.device_id, "dev1");
    snprintf(r.assigned_hub, sizeof r.assigned_hub, "contoso.azure-devices.net");
    snprintf(r.group_id, sizeof r.group_id, "first");
    r.payload = strdup("{\"a\":1}");
    r.meta.created_ms = 1000;
    r.meta.updated_ms = 2000;
    hub_etag_from_counter(0, r.meta.etag);
    j = dps_registration_to_json(&r, DPS_JSON_API);
    assert_string_equal(str_at(j, "registrationId"), "dev1");
    assert_string_equal(str_at(j, "assignedHub"), "contoso.azure-devices.net");
    assert_string_equal(str_at(j, "deviceId"), "dev1");
    assert_string_equal(str_at(j, "status"), "assigned");
    assert_string_equal(str_at(j, "substatus"), "deviceDataMigrated");
    assert_string_equal(str_at(j, "createdDateTimeUtc"), "1970-01-01T00:00:01.0000000Z");
    assert_string_equal(str_at(j, "lastUpdatedDateTimeUtc"), "1970-01-01T00:00:02.0000000Z");
    assert_string_equal(str_at(j, "etag"), "MA==");
    assert_string_equal(str_at(j, "x509.enrollmentGroupId"), "first");
    assert_int_equal(item_at(j, "payload.a")->valueint, 1);
    assert_null(item_at(j, "errorCode"));
    cJSON_Delete(j);
    j = dps_registration_to_json(&r, DPS_JSON_STORAGE);
    struct dps_registration r2;
    assert_int_equal(dps_registration_from_json(j, DPS_JSON_STORAGE, &r2, err, sizeof err), 0);
    cJSON_Delete(j);
    assert_string_equal(r2.assigned_hub, r.assigned_hub);
    assert_string_equal(r2.group_id, "first");
    assert_int_equal(r2.substatus, DPS_SUB_DEVICE_DATA_MIGRATED);
    assert_string_equal(r2.payload, "{\"a\":1}");
    assert_int_equal(r2.meta.created_ms, 1000);
    dps_registration_clear(&r2);
    /* failed: no assignedHub/deviceId, an error */
    r.status = DPS_REG_FAILED;
    r.substatus = DPS_SUB_NONE;
    r.assigned_hub[0] = '\0';
    r.error_code = 401002;
    snprintf(r.error_message, sizeof r.error_message, "Invalid certificate.");
    j = dps_registration_to_json(&r, DPS_JSON_API);
    assert_null(item_at(j, "assignedHub"));
    assert_null(item_at(j, "deviceId"));
    assert_null(item_at(j, "substatus"));
    assert_int_equal(item_at(j, "errorCode")->valueint, 401002);
    assert_string_equal(str_at(j, "status"), "failed");
    cJSON_Delete(j);
    dps_registration_clear(&r);
}

/* Azure's three certificate forms: PEM, base64(PEM), base64(DER) with line breaks; anything
 * else refused with a sentence naming the forms. */
static void test_certificate_forms(void **state)
{
    (void)state;
    char *pem = NULL, *out = NULL;
    char why[160];
    assert_int_equal(hub_cert_text_to_pem(g_dev, &pem, why, sizeof(why)), 0);
    assert_string_equal(pem, g_dev);
    /* base64 of the PEM text, with a line break in the middle */
    unsigned char b64[8192];
    int n = EVP_EncodeBlock(b64, (const unsigned char *)g_dev, (int)strlen(g_dev));
    assert_true(n > 80);
    char wrapped[8300];
    snprintf(wrapped, sizeof(wrapped), "%.64s\r\n%s", (char *)b64, (char *)b64 + 64);
    assert_int_equal(hub_cert_text_to_pem(wrapped, &out, why, sizeof(why)), 0);
    assert_string_equal(out, g_dev);
    free(out);
    /* base64 of the DER: the PEM's body */
    char der64[8192] = "";
    const char *p = strchr(g_dev, '\n') + 1;
    const char *end = strstr(p, "-----END");
    memcpy(der64, p, (size_t)(end - p));
    assert_int_equal(hub_cert_text_to_pem(der64, &out, why, sizeof(why)), 0);
    assert_string_equal(out, g_dev); /* the same certificate, written as PEM again */
    free(out);
    free(pem);
    /* not base64; base64 of something else; a truncated DER; empty */
    const char *bad[] = {"not base64!", "aGVsbG8gd29ybGQ=", "MIIB", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(hub_cert_text_to_pem(bad[i], &out, why, sizeof(why)), -EINVAL);
        assert_null(out);
        assert_non_null(strstr(why, "base64 of the DER"));
    }
}

/* Symmetric-key attestation: generated keys, kept keys, storage round trip, and the
 * registration record's attestation member; old X.509 records read as X.509. */
static void test_symmetric_key(void **state)
{
    (void)state;
    static const char k1[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    char err[256] = "";
    cJSON *b = cJSON_Parse("{\"registrationId\":\"sym1\",\"attestation\":{\"type\":"
                           "\"symmetricKey\",\"symmetricKey\":{\"primaryKey\":\"" "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" "\"}}}");
    struct dps_enrollment e, e2, e3;
    assert_int_equal(dps_enrollment_from_json(b, NULL, NULL, DPS_JSON_API, &e, err, sizeof err), 0);
    cJSON_Delete(b);
    assert_int_equal(e.attestation, DPS_ATTEST_SYMMETRIC_KEY);
    assert_string_equal(e.keys.primary, k1);
    assert_int_equal(strlen(e.keys.secondary), 88); /* generated: 64 bytes */
    assert_null(e.primary_pem);
    /* API form shows the keys; the storage form round-trips them. */
    cJSON *j = dps_enrollment_to_json(&e, NULL, DPS_JSON_API);
    assert_string_equal(str_at(j, "attestation.type"), "symmetricKey");
    assert_string_equal(str_at(j, "attestation.symmetricKey.primaryKey"), k1);
    assert_null(item_at(j, "attestation.x509"));
    cJSON_Delete(j);
    j = dps_enrollment_to_json(&e, NULL, DPS_JSON_STORAGE);
    assert_int_equal(dps_enrollment_from_json(j, NULL, NULL, DPS_JSON_STORAGE, &e2, err,
                                              sizeof err), 0);
    cJSON_Delete(j);
    assert_string_equal(e2.keys.secondary, e.keys.secondary);
    /* An update without keys keeps the stored ones. */
    b = cJSON_Parse("{\"attestation\":{\"type\":\"symmetricKey\"}}");
    assert_int_equal(dps_enrollment_from_json(b, "sym1", &e2, DPS_JSON_API, &e3, err, sizeof err),
                     0);
    cJSON_Delete(b);
    assert_string_equal(e3.keys.primary, k1);
    assert_string_equal(e3.keys.secondary, e.keys.secondary);
    dps_enrollment_clear(&e3);
    /* The storage form must hold both keys. */
    b = cJSON_Parse("{\"registrationId\":\"sym1\",\"attestation\":{\"type\":\"symmetricKey\"}}");
    assert_int_equal(dps_enrollment_from_json(b, NULL, NULL, DPS_JSON_STORAGE, &e3, err,
                                              sizeof err), -EINVAL);
    cJSON_Delete(b);
    dps_enrollment_clear(&e2);
    dps_enrollment_clear(&e);

    /* A group: both keys generated, distinct. */
    struct dps_group g;
    b = cJSON_Parse("{\"enrollmentGroupId\":\"g\",\"attestation\":{\"type\":\"symmetricKey\","
                    "\"symmetricKey\":null}}");
    assert_int_equal(dps_group_from_json(b, NULL, NULL, DPS_JSON_API, &g, err, sizeof err), 0);
    cJSON_Delete(b);
    assert_int_equal(g.attestation, DPS_ATTEST_SYMMETRIC_KEY);
    assert_int_equal(strlen(g.keys.primary), 88);
    assert_string_not_equal(g.keys.primary, g.keys.secondary);
    j = dps_group_to_json(&g, DPS_JSON_API);
    assert_string_equal(str_at(j, "attestation.type"), "symmetricKey");
    cJSON_Delete(j);
    dps_group_clear(&g);
    expect_grp_error("{\"enrollmentGroupId\":\"g\",\"attestation\":{\"type\":\"symmetricKey\","
                     "\"symmetricKey\":{\"secondaryKey\":\"AAAA\"}},\"x\":%s}",
                     g_root, "attestation.symmetricKey.secondaryKey must be base64 of 16 to 64");

    /* Registration records: "symmetricKey" in, "symmetricKey" out; "x509" stays X.509. */
    struct dps_registration r;
    b = cJSON_Parse("{\"registrationId\":\"m1\",\"symmetricKey\":{\"enrollmentGroupId\":\"g\"},"
                    "\"status\":\"assigned\"}");
    assert_int_equal(dps_registration_from_json(b, DPS_JSON_STORAGE, &r, err, sizeof err), 0);
    cJSON_Delete(b);
    assert_int_equal(r.attestation, DPS_ATTEST_SYMMETRIC_KEY);
    assert_string_equal(r.group_id, "g");
    j = dps_registration_to_json(&r, DPS_JSON_API);
    assert_string_equal(str_at(j, "symmetricKey.enrollmentGroupId"), "g");
    assert_null(item_at(j, "x509"));
    cJSON_Delete(j);
    dps_registration_clear(&r);
    b = cJSON_Parse("{\"registrationId\":\"m1\",\"x509\":{},\"status\":\"assigned\"}");
    assert_int_equal(dps_registration_from_json(b, DPS_JSON_STORAGE, &r, err, sizeof err), 0);
    cJSON_Delete(b);
    assert_int_equal(r.attestation, DPS_ATTEST_X509);
    dps_registration_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_individual_round_trip),
        cmocka_unit_test(test_group_shapes),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_ca_and_registration),
        cmocka_unit_test(test_certificate_forms),
        cmocka_unit_test(test_symmetric_key),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* The DPS service API end to end: the real azkit-hub binary, the admin client over real HTTPS.
 * Individual enrollments and groups (create, get, update with If-Match, 412, delete, query with
 * paging, bulk), registration records (get, delete, 404), DPS verified CAs with proof of
 * possession, SAS policies (iothubowner and provisioningserviceowner; 401s), and the admin
 * commands (enroll, dps-ca, registration) with --json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "azkit/json.h"
#include "azkit/pki.h"
#include "hub/admin/admin_client.h"
#include "hub/hub_harness.h"
#include "hub/service/sas.h"
#include "hub/store/store_dps.h"
#include "service_test_util.h"
#include "support/test_util.h"

static struct test_hub g_h;
static struct hub_admin_target g_t;
static char g_leaf[700], g_leaf2[700], g_root[700];

/* ---- fixture ------------------------------------------------------------------------------ */

static void pki(enum azk_pki_kind kind, const char *cn, const char *prefix, const char *issuer)
{
    char cert[800], key[800];
    struct azk_pki_request rq;
    struct azk_pki_result res;
    memset(&rq, 0, sizeof(rq));
    rq.kind = kind;
    rq.common_name = cn;
    rq.out_prefix = prefix;
    rq.force = true;
    if (issuer) {
        snprintf(cert, sizeof(cert), "%s.cert.pem", issuer);
        snprintf(key, sizeof(key), "%s.key.pem", issuer);
        rq.issuer_cert = cert;
        rq.issuer_key = key;
    }
    assert_int_equal(azk_pki_create(&rq, &res, NULL), 0);
}

static void seed(struct hub_store *st)
{
    /* Registration records as the DPS device side writes them. */
    static const char *const ids[] = {"reg-a", "reg-b", "reg-c"};
    for (size_t i = 0; i < 3; i++) {
        struct dps_registration r;
        memset(&r, 0, sizeof(r));
        snprintf(r.registration_id, sizeof(r.registration_id), "%s", ids[i]);
        snprintf(r.device_id, sizeof(r.device_id), "%s", ids[i]);
        snprintf(r.assigned_hub, sizeof(r.assigned_hub), "localhost");
        snprintf(r.group_id, sizeof(r.group_id), "%s", i < 2 ? "grp1" : "");
        r.status = DPS_REG_ASSIGNED;
        r.substatus = DPS_SUB_INITIAL_ASSIGNMENT;
        assert_int_equal(hub_store_dps_registration_put(st, &r, NULL, NULL, NULL, NULL), 0);
    }
}

static int start(void **state)
{
    (void)state;
    test_hub_init(&g_h);
    snprintf(g_leaf, sizeof(g_leaf), "%s/leaf", g_h.dir);
    snprintf(g_leaf2, sizeof(g_leaf2), "%s/leaf2", g_h.dir);
    snprintf(g_root, sizeof(g_root), "%s/root", g_h.dir);
    pki(AZK_PKI_SELF_SIGNED, "dev-1", g_leaf, NULL);
    pki(AZK_PKI_SELF_SIGNED, "dev-1", g_leaf2, NULL);
    pki(AZK_PKI_ROOT, "DPS Test Root", g_root, NULL);
    {
        struct event_base *base = event_base_new();
        struct hub_store *st = NULL;
        struct hub_store_config cfg = {.data_dir = g_h.data};
        assert_int_equal(hub_store_open(&cfg, base, &st, NULL), 0);
        seed(st);
        hub_store_close(st);
        event_base_free(base);
    }
    test_hub_start(&g_h, NULL);
    svc_test_target(&g_h, HUB_SAS_POLICY_DPS, NULL, &g_t);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    test_hub_stop(&g_h);
    test_hub_cleanup(&g_h);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void req(struct svc_resp *out, const char *method, const char *path, const char *body,
                const char *if_match)
{
    svc_test_request_if(&g_t, out, method, path, body, if_match);
}

/* METHOD PATH (body and If-Match may be NULL) must answer `status`, and the error `code`
 * unless it is NULL. */
#define expect(method, path, body, if_match, status, code)                                      \
    do {                                                                                        \
        struct svc_resp expect_r_;                                                              \
        req(&expect_r_, method, path, body, if_match);                                          \
        svc_test_check(&expect_r_, status, code);                                               \
    } while (0)

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *enrollment_body(const char *id, const char *cert_prefix, const char *status)
{
    char f[800];
    snprintf(f, sizeof(f), "%s.cert.pem", cert_prefix);
    char *pem = azk_test_read(f, NULL);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "registrationId", id);
    cJSON *att = cJSON_AddObjectToObject(b, "attestation");
    cJSON_AddStringToObject(att, "type", "x509");
    cJSON *cc = cJSON_AddObjectToObject(cJSON_AddObjectToObject(att, "x509"), "clientCertificates");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cc, "primary"), "certificate", pem);
    cJSON_AddStringToObject(b, "provisioningStatus", status);
    free(pem);
    char *s = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return s;
}

/* ---- individual enrollments --------------------------------------------------------------- */

static void test_enrollments(void **state)
{
    (void)state;
    struct svc_resp r;
    char *body = enrollment_body("dev-1", g_leaf, "enabled");
    req(&r, "PUT", "/enrollments/dev-1", body, NULL);
    free(body);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(jstr(r.j, "registrationId"), "dev-1");
    assert_non_null(jstr(r.j, "createdDateTimeUtc"));
    char etag1[128];
    snprintf(etag1, sizeof(etag1), "%s", jstr(r.j, "etag"));
    assert_string_equal(etag1, r.r.etag);
    /* GET: cert info, no PEM */
    svc_resp_free(&r);
    req(&r, "GET", "/enrollments/dev-1", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    const cJSON *prim = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(r.j, "attestation"), "x509"), "clientCertificates"), "primary");
    assert_non_null(cJSON_GetObjectItem(prim, "info"));
    /* The attestation mechanism alone (POST, as the provisioning service SDK calls it). */
    struct svc_resp am;
    req(&am, "POST", "/enrollments/dev-1/attestationmechanism", NULL, NULL);
    assert_int_equal(am.r.status, 200);
    assert_string_equal(jstr(am.j, "type"), "x509");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(am.j, "x509"), "clientCertificates"), "primary"));
    assert_null(cJSON_GetObjectItem(am.j, "registrationId"));
    svc_resp_free(&am);
    req(&am, "POST", "/enrollments/nobody/attestationmechanism", NULL, NULL);
    assert_int_equal(am.r.status, 404);
    svc_resp_free(&am);
    /* PUT back what GET returned, with a disabled status: the body's etag is the If-Match */
    cJSON *back = cJSON_Duplicate(r.j, 1);
    svc_resp_free(&r);
    cJSON_ReplaceItemInObject(back, "provisioningStatus", cJSON_CreateString("disabled"));
    body = cJSON_PrintUnformatted(back);
    req(&r, "PUT", "/enrollments/dev-1", body, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(jstr(r.j, "provisioningStatus"), "disabled");
    assert_string_not_equal(r.r.etag, etag1);
    svc_resp_free(&r);
    /* the same body again: its etag is stale now -> 412 */
    req(&r, "PUT", "/enrollments/dev-1", body, NULL);
    assert_int_equal(r.r.status, 412);
    assert_string_equal(r.code, "PreconditionFailed");
    assert_int_equal(cJSON_GetObjectItem(r.j, "errorCode")->valueint, 412002);
    svc_resp_free(&r);
    free(body);
    cJSON_Delete(back);
    /* If-Match header mismatch -> 412; "*" -> 200 */
    body = enrollment_body("dev-1", g_leaf2, "enabled");
    expect("PUT", "/enrollments/dev-1", body, etag1, 412, NULL);
    expect("PUT", "/enrollments/dev-1", body, "*", 200, NULL);
    free(body);
    /* validation: bad JSON, id mismatch, no certificate */
    expect("PUT", "/enrollments/dev-2", "{", NULL, 400, NULL);
    body = enrollment_body("dev-1", g_leaf, "enabled");
    req(&r, "PUT", "/enrollments/dev-2", body, NULL);
    assert_int_equal(r.r.status, 400);
    assert_non_null(strstr(jstr(r.j, "message"), "differs"));
    svc_resp_free(&r);
    free(body);
    expect("PUT", "/enrollments/dev-2", "{\"attestation\":{\"type\":\"x509\",\"x509\":{}}}", NULL, 400, NULL);
    /* An initialTwin is held to IoT Hub's twin limits: UTF-8, depth, key rules, sizes. */
    static const struct {
        const char *twin, *why;
    } bad_twins[] = {
        {"{\"tags\":{\"k\":\"\xff\"}}", "initialTwin.tags.k: the value is not valid UTF-8"},
        {"{\"properties\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":"
         "{\"h\":{\"i\":{\"j\":{\"k\":{}}}}}}}}}}}}}}",
         "initialTwin.properties.desired.a.b.c.d.e.f.g.h.i.j.k: the value nests 11 levels"},
        {"{\"tags\":{\"a.b\":1}}", "cannot contain '.'"},
    };
    for (size_t i = 0; i < sizeof(bad_twins) / sizeof(bad_twins[0]); i++) {
        body = enrollment_body("dev-2", g_leaf2, "enabled");
        size_t len = strlen(body) + strlen(bad_twins[i].twin) + 32;
        char *with_twin = malloc(len);
        snprintf(with_twin, len, "%.*s,\"initialTwin\":%s}", (int)strlen(body) - 1, body,
                 bad_twins[i].twin);
        req(&r, "PUT", "/enrollments/dev-2", with_twin, NULL);
        if (r.r.status != 400 || strstr(jstr(r.j, "message"), bad_twins[i].why) == NULL)
            fail_msg("initialTwin %s: %d %s", bad_twins[i].twin, r.r.status, r.r.body);
        assert_int_equal(azk_json_validate((struct azk_span){r.r.body, r.r.body_len}, NULL, NULL),
                         0);
        svc_resp_free(&r);
        free(with_twin);
        free(body);
    }
    /* query with paging */
    body = enrollment_body("dev-2", g_leaf2, "enabled");
    expect("PUT", "/enrollments/dev-2", body, NULL, 200, NULL);
    free(body);
    struct hub_admin_header h[2] = {{"x-ms-max-item-count", "1"}, {"x-ms-continuation", ""}};
    svc_test_request(&g_t, &r, "POST", "/enrollments/query", "{\"query\":\"*\"}", h, 1);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.j), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(r.j, 0), "registrationId"), "dev-1");
    assert_string_equal(r.r.continuation, "dev-1");
    char cont[sizeof(r.r.continuation)];
    snprintf(cont, sizeof(cont), "%s", r.r.continuation);
    svc_resp_free(&r);
    h[1].value = cont;
    svc_test_request(&g_t, &r, "POST", "/enrollments/query", "{\"query\":\"*\"}", h, 2);
    assert_int_equal(cJSON_GetArraySize(r.j), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(r.j, 0), "registrationId"), "dev-2");
    assert_string_equal(r.r.continuation, "");
    svc_resp_free(&r);
    /* delete with a wrong If-Match -> 412, then 204, then 404 */
    expect("DELETE", "/enrollments/dev-2", NULL, "bm9wZQ==", 412, NULL);
    expect("DELETE", "/enrollments/dev-2", NULL, NULL, 204, NULL);
    req(&r, "GET", "/enrollments/dev-2", NULL, NULL);
    assert_int_equal(r.r.status, 404);
    assert_int_equal(cJSON_GetObjectItem(r.j, "errorCode")->valueint, 404201);
    svc_resp_free(&r);
    expect("DELETE", "/enrollments/dev-2", NULL, NULL, 404, NULL);
}

static void test_bulk(void **state)
{
    (void)state;
    char *b1 = enrollment_body("bulk-1", g_leaf, "enabled");
    char *b2 = enrollment_body("bulk-2", g_leaf2, "enabled");
    char body[20000];
    snprintf(body, sizeof(body), "{\"mode\":\"create\",\"enrollments\":[%s,%s]}", b1, b2);
    struct svc_resp r;
    req(&r, "POST", "/enrollments", body, NULL);
    assert_int_equal(r.r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.j, "isSuccessful")));
    svc_resp_free(&r);
    /* create again: both exist */
    req(&r, "POST", "/enrollments", body, NULL);
    assert_int_equal(r.r.status, 200);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r.j, "isSuccessful")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.j, "errors")), 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.j, "errors"), 0),
                                         "errorCode")->valueint, 409201);
    svc_resp_free(&r);
    /* update: fine; updateIfMatchEtag with a stale etag: one error */
    snprintf(body, sizeof(body), "{\"mode\":\"update\",\"enrollments\":[%s]}", b1);
    req(&r, "POST", "/enrollments", body, NULL);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.j, "isSuccessful")));
    svc_resp_free(&r);
    cJSON *e = cJSON_Parse(b2);
    cJSON_AddStringToObject(e, "etag", "c3RhbGU=");
    char *b2e = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    snprintf(body, sizeof(body), "{\"mode\":\"updateIfMatchEtag\",\"enrollments\":[%s,%s]}", b1, b2e);
    free(b2e);
    req(&r, "POST", "/enrollments", body, NULL);
    const cJSON *errs = cJSON_GetObjectItem(r.j, "errors");
    assert_int_equal(cJSON_GetArraySize(errs), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(errs, 0), "registrationId"), "bulk-2");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "errorCode")->valueint, 412002);
    svc_resp_free(&r);
    /* delete both, plus one that does not exist */
    snprintf(body, sizeof(body), "{\"mode\":\"delete\",\"enrollments\":[{\"registrationId\":"
             "\"bulk-1\"},{\"registrationId\":\"bulk-2\"},{\"registrationId\":\"nope\"}]}");
    req(&r, "POST", "/enrollments", body, NULL);
    errs = cJSON_GetObjectItem(r.j, "errors");
    assert_int_equal(cJSON_GetArraySize(errs), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(errs, 0), "registrationId"), "nope");
    svc_resp_free(&r);
    expect("GET", "/enrollments/bulk-1", NULL, NULL, 404, NULL);
    expect("POST", "/enrollments", "{\"mode\":\"frob\",\"enrollments\":[]}", NULL, 400, NULL);
    free(b1);
    free(b2);
}

/* ---- DPS CAs and groups ------------------------------------------------------------------- */

static char *cert_body(const char *prefix)
{
    char f[800];
    snprintf(f, sizeof(f), "%s.cert.pem", prefix);
    char *pem = azk_test_read(f, NULL);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "certificate", pem);
    free(pem);
    char *s = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return s;
}

static void test_cas_and_groups(void **state)
{
    (void)state;
    struct svc_resp r;
    char *body = cert_body(g_root);
    req(&r, "PUT", "/azkit/dps/certificates/droot", body, NULL);
    assert_int_equal(r.r.status, 200);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "isVerified")));
    svc_resp_free(&r);
    /* separate from the hub's CAs */
    struct hub_admin_target hub = g_t;
    snprintf(hub.skn, sizeof(hub.skn), "%s", HUB_SAS_POLICY_HUB);
    svc_test_request(&hub, &r, "GET", "/azkit/certificates/droot", NULL, NULL, 0);
    assert_int_equal(r.r.status, 404);
    svc_resp_free(&r);
    /* a leaf is not a CA */
    char *leaf = cert_body(g_leaf);
    expect("PUT", "/azkit/dps/certificates/leaf", leaf, NULL, 400, "InvalidCertificate");
    free(leaf);
    /* group referencing an unverified CA -> 400 */
    const char *gref = "{\"enrollmentGroupId\":\"grp1\",\"attestation\":{\"type\":\"x509\","
                       "\"x509\":{\"caReferences\":{\"primary\":\"droot\"}}}}";
    req(&r, "PUT", "/enrollmentGroups/grp1", gref, NULL);
    assert_int_equal(r.r.status, 400);
    assert_non_null(strstr(jstr(r.j, "message"), "not verified"));
    svc_resp_free(&r);
    /* proof of possession: verify without a code -> 400; wrong CN -> 400; right -> verified */
    char vpath[800];
    snprintf(vpath, sizeof(vpath), "%s/verif", g_h.dir);
    pki(AZK_PKI_VERIFICATION, "WRONG", vpath, g_root);
    char *vb = cert_body(vpath);
    expect("POST", "/azkit/dps/certificates/droot/verify", vb, NULL, 400, "CertificateVerificationFailed");
    req(&r, "POST", "/azkit/dps/certificates/droot/generateVerificationCode", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    char code[200];
    snprintf(code, sizeof(code), "%s", jstr(cJSON_GetObjectItem(r.j, "properties"), "verificationCode"));
    assert_true(strlen(code) >= 16);
    svc_resp_free(&r);
    expect("POST", "/azkit/dps/certificates/droot/verify", vb, NULL, 400, NULL);
    free(vb);
    pki(AZK_PKI_VERIFICATION, code, vpath, g_root);
    vb = cert_body(vpath);
    req(&r, "POST", "/azkit/dps/certificates/droot/verify", vb, NULL);
    assert_int_equal(r.r.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "properties"), "isVerified")));
    svc_resp_free(&r);
    free(vb);
    req(&r, "GET", "/azkit/dps/certificates", NULL, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.j, "value")), 1);
    svc_resp_free(&r);
    /* now the group is accepted */
    req(&r, "PUT", "/enrollmentGroups/grp1", gref, NULL);
    assert_int_equal(r.r.status, 200);
    char etag[128];
    snprintf(etag, sizeof(etag), "%s", r.r.etag);
    svc_resp_free(&r);
    /* a group with a signing certificate; If-Match mismatch on grp1 */
    char f[800];
    snprintf(f, sizeof(f), "%s.cert.pem", g_root);
    char *pem = azk_test_read(f, NULL);
    cJSON *g2 = cJSON_CreateObject();
    cJSON *att = cJSON_AddObjectToObject(g2, "attestation");
    cJSON_AddStringToObject(att, "type", "x509");
    cJSON *sc = cJSON_AddObjectToObject(cJSON_AddObjectToObject(att, "x509"), "signingCertificates");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(sc, "primary"), "certificate", pem);
    cJSON_AddStringToObject(g2, "allocationPolicy", "static");
    cJSON *hubs = cJSON_AddArrayToObject(g2, "iotHubs");
    cJSON_AddItemToArray(hubs, cJSON_CreateString("localhost"));
    free(pem);
    char *g2s = cJSON_PrintUnformatted(g2);
    cJSON_Delete(g2);
    req(&r, "PUT", "/enrollmentGroups/grp2", g2s, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(jstr(r.j, "allocationPolicy"), "static");
    svc_resp_free(&r);
    free(g2s);
    req(&r, "POST", "/enrollmentGroups/grp2/attestationmechanism", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(jstr(r.j, "type"), "x509");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.j, "x509"), "signingCertificates"));
    svc_resp_free(&r);
    expect("PUT", "/enrollmentGroups/grp1", gref, "d3Jvbmc=", 412, NULL);
    expect("PUT", "/enrollmentGroups/grp1", gref, etag, 200, NULL);
    struct hub_admin_header h = {"x-ms-max-item-count", "10"};
    svc_test_request(&g_t, &r, "POST", "/enrollmentGroups/query", "{\"query\":\"*\"}", &h, 1);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.j), 2);
    svc_resp_free(&r);
    expect("GET", "/enrollmentGroups/grp2", NULL, NULL, 200, NULL);
    expect("DELETE", "/enrollmentGroups/grp2", NULL, NULL, 204, NULL);
    expect("GET", "/enrollmentGroups/grp2", NULL, NULL, 404, NULL);
    free(body);
}

/* ---- registrations ------------------------------------------------------------------------ */

static void test_registrations(void **state)
{
    (void)state;
    struct svc_resp r;
    req(&r, "GET", "/registrations/reg-a", NULL, NULL);
    assert_int_equal(r.r.status, 200);
    assert_string_equal(jstr(r.j, "status"), "assigned");
    /* The stored host name, with the MQTT port appended as devices are told it. */
    char hub_ep[64];
    snprintf(hub_ep, sizeof(hub_ep), "localhost:%d", g_h.mqtt_port);
    assert_string_equal(jstr(r.j, "assignedHub"), hub_ep);
    svc_resp_free(&r);
    req(&r, "POST", "/registrations/grp1/query", "{\"query\":\"*\"}", NULL);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(cJSON_GetArraySize(r.j), 2);
    svc_resp_free(&r);
    expect("DELETE", "/registrations/reg-a", NULL, NULL, 204, NULL);
    expect("GET", "/registrations/reg-a", NULL, NULL, 404, NULL);
    expect("DELETE", "/registrations/reg-a", NULL, NULL, 404, NULL);
}

/* ---- authorisation ------------------------------------------------------------------------ */

static void test_auth(void **state)
{
    (void)state;
    struct svc_resp r;
    /* both policy names work on the DPS endpoints, with the one service key */
    struct hub_admin_target t = g_t;
    snprintf(t.skn, sizeof(t.skn), "%s", HUB_SAS_POLICY_HUB);
    svc_test_request(&t, &r, "POST", "/enrollments/query", NULL, NULL, 0);
    assert_int_equal(r.r.status, 200);
    svc_resp_free(&r);
    svc_test_request(&g_t, &r, "POST", "/enrollments/query", NULL, NULL, 0);
    assert_int_equal(r.r.status, 200);
    svc_resp_free(&r);
    /* provisioningserviceowner has no rights on the IoT Hub endpoints */
    svc_test_request(&g_t, &r, "GET", "/devices", NULL, NULL, 0);
    assert_int_equal(r.r.status, 401);
    svc_resp_free(&r);
    svc_test_request(&t, &r, "GET", "/devices", NULL, NULL, 0);
    assert_int_equal(r.r.status, 200);
    svc_resp_free(&r);
    /* wrong key, unknown policy, expired */
    t = g_t;
    snprintf(t.key, sizeof(t.key), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    svc_test_request(&t, &r, "GET", "/enrollments/dev-1", NULL, NULL, 0);
    assert_int_equal(r.r.status, 401);
    assert_int_equal(cJSON_GetObjectItem(r.j, "errorCode")->valueint, 401002);
    svc_resp_free(&r);
    t = g_t;
    snprintf(t.skn, sizeof(t.skn), "enrollmentread");
    svc_test_request(&t, &r, "GET", "/enrollments/dev-1", NULL, NULL, 0);
    assert_int_equal(r.r.status, 401);
    svc_resp_free(&r);
    char tok[HUB_SAS_TOKEN_MAX];
    t = g_t;
    hub_sas_create(g_t.key, g_t.sr, HUB_SAS_POLICY_DPS, (int64_t)time(NULL) - 5, tok, sizeof(tok));
    t.authorization = tok;
    svc_test_request(&t, &r, "GET", "/enrollments/dev-1", NULL, NULL, 0);
    assert_int_equal(r.r.status, 401);
    svc_resp_free(&r);
}

/* ---- the admin CLI ------------------------------------------------------------------------ */

static void test_cli(void **state)
{
    (void)state;
    char cert[800], cert2[800], rootc[800], rootk[800];
    snprintf(cert, sizeof(cert), "%s.cert.pem", g_leaf);
    snprintf(cert2, sizeof(cert2), "%s.cert.pem", g_leaf2);
    snprintf(rootc, sizeof(rootc), "%s.cert.pem", g_root);
    snprintf(rootk, sizeof(rootk), "%s.key.pem", g_root);
    cJSON *j = test_hub_admin(&g_h, 0, "enroll", "individual", "cli-1", "--cert", cert,
                              "--secondary-cert", cert2, "--device-id", "cli-dev",
                              "--iot-hub", "localhost", "--initial-twin",
                              "{\"tags\":{\"a\":1},\"properties\":{\"desired\":{}}}", NULL);
    const cJSON *e = cJSON_GetObjectItem(j, "enrollment");
    assert_string_equal(jstr(e, "deviceId"), "cli-dev");
    assert_string_equal(jstr(e, "provisioningStatus"), "enabled");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "dps-ca", "add", "cliroot", rootc, NULL);
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 1, "enroll", "group", "cli-g", "--ca-ref", "cliroot", NULL);
    assert_non_null(cJSON_GetObjectItem(j, "error"));
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "dps-ca", "verify", "cliroot", "--ca-key", rootk, NULL);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(j, "certificate"), "properties"), "isVerified")));
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "dps-ca", "list", NULL);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "certificates")) >= 2);
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "group", "cli-g", "--ca-ref", "cliroot",
                       "--allocation", "static", "--iot-hubs", "localhost",
                       "--reprovision", "never", "--disabled", NULL);
    e = cJSON_GetObjectItem(j, "enrollmentGroup");
    assert_string_equal(jstr(e, "provisioningStatus"), "disabled");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "reprovisionPolicy"),
                                                  "updateHubAssignment")));
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "group", "cli-g2", "--cert", rootc, NULL);
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "list", NULL);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "enrollments")) >= 1);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "enrollmentGroups")) >= 2);
    cJSON_Delete(j);
    /* show/disable/delete find an individual enrollment or a group */
    j = test_hub_admin(&g_h, 0, "enroll", "show", "cli-g", NULL);
    assert_non_null(cJSON_GetObjectItem(j, "enrollmentGroup"));
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "disable", "cli-1", NULL);
    assert_string_equal(jstr(cJSON_GetObjectItem(j, "enrollment"), "provisioningStatus"), "disabled");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "disable", "cli-g2", "--group", NULL);
    assert_string_equal(jstr(cJSON_GetObjectItem(j, "enrollmentGroup"), "provisioningStatus"),
                        "disabled");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 1, "enroll", "show", "cli-1", "--group", NULL);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "status")->valueint, 404);
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "delete", "cli-g2", NULL);
    assert_string_equal(jstr(j, "kind"), "enrollmentGroup");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "enroll", "delete", "cli-1", NULL);
    assert_string_equal(jstr(j, "kind"), "enrollment");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 1, "enroll", "show", "cli-1", NULL);
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 2, "enroll", "individual", "x", NULL);
    assert_string_equal(jstr(cJSON_GetObjectItem(j, "error"), "code"), "usage");
    cJSON_Delete(j);
    /* registrations */
    j = test_hub_admin(&g_h, 0, "registration", "show", "reg-b", NULL);
    assert_string_equal(jstr(cJSON_GetObjectItem(j, "registration"), "registrationId"), "reg-b");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 0, "registration", "delete", "reg-b", NULL);
    assert_string_equal(jstr(j, "deleted"), "reg-b");
    cJSON_Delete(j);
    j = test_hub_admin(&g_h, 1, "registration", "show", "reg-b", NULL);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enrollments), cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_cas_and_groups), cmocka_unit_test(test_registrations),
        cmocka_unit_test(test_auth), cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, start, stop);
}

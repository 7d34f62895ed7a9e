/* The X.509 verdict (src/hub/mqtt/auth.c) with real certificates made by azk_pki_create(). */
#include "support/test_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "hub/mqtt/auth.h"

/* The PKI every test uses, made once. */
static char g_dir[512];

static const char *P(const char *name)
{
    return azk_path(g_dir, name);
}

static void make(enum azk_pki_kind kind, const char *cn, const char *out, const char *issuer,
                 const char *nb, const char *na)
{
    test_hub_make_cert(g_dir, kind, cn, out, issuer, nb, na);
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(g_dir);
    make(AZK_PKI_ROOT, "Root A", "rootA", NULL, NULL, NULL);
    make(AZK_PKI_INTERMEDIATE, "Inter A", "interA", "rootA", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-1", "dev-1", "interA", NULL, NULL);
    make(AZK_PKI_DEVICE, "other-id", "other", "interA", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-old", "dev-old", "interA", "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z");
    make(AZK_PKI_INTERMEDIATE, "Inter Old", "interOld", "rootA", "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z");
    make(AZK_PKI_DEVICE, "dev-x", "dev-x", "interOld", "2020-01-01T00:00:00Z",
         "2099-01-01T00:00:00Z");
    make(AZK_PKI_ROOT, "Root B", "rootB", NULL, NULL, NULL);
    make(AZK_PKI_INTERMEDIATE, "Inter B", "interB", "rootB", NULL, NULL);
    make(AZK_PKI_DEVICE, "dev-b", "dev-b", "interB", NULL, NULL);
    make(AZK_PKI_SELF_SIGNED, "ss-1", "ss-1", NULL, NULL, NULL);
    make(AZK_PKI_SELF_SIGNED, "ss-old", "ss-old", NULL, "2020-01-01T00:00:00Z",
         "2021-01-01T00:00:00Z");
    make(AZK_PKI_SELF_SIGNED, "ss-future", "ss-future", NULL, "2090-01-01T00:00:00Z",
         "2091-01-01T00:00:00Z");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    azk_test_rmrf(g_dir);
    return 0;
}

/* Every certificate of a PEM file. */
static STACK_OF(X509) *load(const char *name)
{
    FILE *f = fopen(P(name), "r");
    assert_non_null(f);
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        sk_X509_push(sk, x);
    fclose(f);
    ERR_clear_error();
    assert_true(sk_X509_num(sk) > 0);
    return sk;
}

/* A device connection: the file it sends (leaf first), or NULL for no certificate. */
struct sent {
    X509 *leaf;
    STACK_OF(X509) *inter;
};

static struct sent send_file(const char *name)
{
    struct sent s = {NULL, sk_X509_new_null()};
    if (name == NULL)
        return s;
    STACK_OF(X509) *all = load(name);
    s.leaf = sk_X509_shift(all);
    X509 *x;
    while ((x = sk_X509_shift(all)) != NULL)
        sk_X509_push(s.inter, x);
    sk_X509_free(all);
    return s;
}

static void sent_free(struct sent *s)
{
    X509_free(s->leaf);
    sk_X509_pop_free(s->inter, X509_free);
}

/* Runs the verdict: `file` sent by device `id`, registered as `dev`, with verified CA files
 * (NULL-terminated list of file names). */
static struct hub_x509_verdict judge_at(const char *file, const char *id,
                                            const struct hub_x509_device *dev,
                                            const char *const *cas, time_t now)
{
    struct sent s = send_file(file);
    char *pems[8];
    size_t n = 0;
    for (; cas != NULL && cas[n] != NULL; n++) {
        size_t len;
        pems[n] = azk_test_read(P(cas[n]), &len);
    }
    struct hub_x509_input in = {
        .leaf = s.leaf,
        .intermediates = s.inter,
        .device = dev,
        .device_id = id,
        .verified_ca_pems = (const char *const *)pems,
        .verified_ca_count = n,
        .now = now,
    };
    struct hub_x509_verdict v;
    hub_x509_decide(&in, &v);
    for (size_t i = 0; i < n; i++)
        free(pems[i]);
    sent_free(&s);
    return v;
}

static struct hub_x509_verdict judge(const char *file, const char *id,
                                         const struct hub_x509_device *dev,
                                         const char *const *cas)
{
    return judge_at(file, id, dev, cas, time(NULL));
}

#define EXPECT(v, r)                                                                           \
    do {                                                                                       \
        if ((v).reason != (r) || (v).accepted != ((r) == HUB_X509_OK))                     \
            fail_msg("expected %s, got %s (%s)", hub_x509_reason_name(r),                  \
                     hub_x509_reason_name((v).reason), (v).message);                        \
    } while (0)

/* Thumbprint of a file's first certificate as `openssl x509 -fingerprint` prints it
 * (uppercase, colon-separated). */
static void fingerprint(const char *name, const char *alg, char *out, size_t len)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -%s -in '%s'", alg, P(name));
    int st;
    char *o = azk_test_shell(cmd, &st);
    assert_int_equal(st, 0);
    const char *eq = strchr(o, '=');
    assert_non_null(eq);
    snprintf(out, len, "%s", eq + 1);
    out[strcspn(out, "\n")] = '\0';
    free(o);
}

static void strip(const char *in, char *out)
{
    for (; *in; in++)
        if (*in != ':')
            *out++ = *in;
    *out = '\0';
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* ---- selfSigned ------------------------------------------------------------------------ */

static void test_self_signed_sha1(void **state)
{
    (void)state;
    char fp[200], hex[200];
    fingerprint("ss-1.cert.pem", "sha1", fp, sizeof(fp));
    strip(fp, hex);
    struct hub_x509_device dev = {HUB_X509_TYPE_SELF_SIGNED, hex, NULL, true};
    /* selfSigned does not check the CN: any device id works. */
    struct hub_x509_verdict v = judge("ss-1.cert.pem", "some-other-id", &dev, NULL);
    EXPECT(v, HUB_X509_OK);
    assert_non_null(strstr(v.message, "primary"));
    assert_non_null(strstr(v.message, "SHA-1"));
    assert_string_equal(v.leaf_sha1, hex);
    /* Lowercase with colons, and with spaces. */
    lower(fp);
    dev.primary_thumbprint = fp;
    v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_OK);
    char spaced[200];
    size_t j = 0;
    for (size_t i = 0; hex[i]; i++) {
        if (i > 0 && i % 2 == 0)
            spaced[j++] = ' ';
        spaced[j++] = hex[i];
    }
    spaced[j] = '\0';
    dev.primary_thumbprint = spaced;
    v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_OK);
}

static void test_self_signed_sha256_secondary(void **state)
{
    (void)state;
    char fp[200];
    fingerprint("ss-1.cert.pem", "sha256", fp, sizeof(fp));
    lower(fp); /* "ab:cd:..." */
    assert_non_null(strchr(fp, ':'));
    struct hub_x509_device dev = {HUB_X509_TYPE_SELF_SIGNED,
                                      "0000000000000000000000000000000000000000", fp, true};
    struct hub_x509_verdict v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_OK);
    assert_non_null(strstr(v.message, "secondary"));
    assert_non_null(strstr(v.message, "SHA-256"));
    /* A CA-signed certificate works too for selfSigned (any certificate, thumbprint only). */
    char hex[200];
    fingerprint("dev-1.cert.pem", "sha256", fp, sizeof(fp));
    strip(fp, hex);
    dev.primary_thumbprint = hex;
    v = judge("dev-1.chain.pem", "dev-1", &dev, NULL);
    EXPECT(v, HUB_X509_OK);
}

static void test_self_signed_wrong(void **state)
{
    (void)state;
    char fp[200], hex[200];
    fingerprint("ss-1.cert.pem", "sha1", fp, sizeof(fp));
    strip(fp, hex);
    hex[0] = hex[0] == 'A' ? 'B' : 'A';
    struct hub_x509_device dev = {HUB_X509_TYPE_SELF_SIGNED, hex, NULL, true};
    struct hub_x509_verdict v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_THUMBPRINT);
    assert_non_null(strstr(v.message, "ss-1"));
    /* Another device's certificate, a truncated thumbprint, garbage, nothing registered. */
    fingerprint("dev-1.cert.pem", "sha1", fp, sizeof(fp));
    strip(fp, hex);
    dev.primary_thumbprint = hex;
    v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_THUMBPRINT);
    fingerprint("ss-1.cert.pem", "sha1", fp, sizeof(fp));
    strip(fp, hex);
    hex[39] = '\0';
    v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_THUMBPRINT);
    strip(fp, hex);
    hex[5] = 'G';
    v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_THUMBPRINT);
    struct hub_x509_device none = {HUB_X509_TYPE_SELF_SIGNED, NULL, "", true};
    v = judge("ss-1.cert.pem", "ss-1", &none, NULL);
    EXPECT(v, HUB_X509_REFUSE_THUMBPRINT);
}

/* ---- certificateAuthority -------------------------------------------------------------- */

static const struct hub_x509_device ca_dev = {HUB_X509_TYPE_CA, NULL, NULL, true};

static void test_ca_root_verified(void **state)
{
    (void)state;
    const char *root[] = {"rootA.cert.pem", NULL};
    struct hub_x509_verdict v = judge("dev-1.chain.pem", "dev-1", &ca_dev, root);
    EXPECT(v, HUB_X509_OK);
    assert_non_null(strstr(v.message, "Root A"));
    /* Several verified CAs, the right one last. */
    const char *two[] = {"rootB.cert.pem", "rootA.cert.pem", NULL};
    v = judge("dev-1.chain.pem", "dev-1", &ca_dev, two);
    EXPECT(v, HUB_X509_OK);
}

static void test_ca_intermediate_verified(void **state)
{
    (void)state;
    const char *inter[] = {"interA.cert.pem", NULL};
    /* Only the intermediate is verified: accepted with or without it in the sent chain. */
    struct hub_x509_verdict v = judge("dev-1.cert.pem", "dev-1", &ca_dev, inter);
    EXPECT(v, HUB_X509_OK);
    assert_non_null(strstr(v.message, "Inter A"));
    v = judge("dev-1.chain.pem", "dev-1", &ca_dev, inter);
    EXPECT(v, HUB_X509_OK);
}

static void test_ca_missing_intermediate(void **state)
{
    (void)state;
    const char *root[] = {"rootA.cert.pem", NULL};
    struct hub_x509_verdict v = judge("dev-1.cert.pem", "dev-1", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_MISSING_INTERMEDIATE);
    assert_non_null(strstr(v.message, "Inter A"));
    assert_non_null(strstr(v.message, "intermediate"));
}

static void test_ca_unverified(void **state)
{
    (void)state;
    /* Device of hierarchy B sends its full chain; only root A is verified. */
    const char *root[] = {"rootA.cert.pem", NULL};
    struct hub_x509_verdict v = judge("dev-b.chain.pem", "dev-b", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_CA_NOT_VERIFIED);
    assert_non_null(strstr(v.message, "Root B"));
    /* No verified CA at all. */
    v = judge("dev-1.chain.pem", "dev-1", &ca_dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_CA_NOT_VERIFIED);
    /* The device also sends root B: still not verified. */
    char *chain = azk_test_read(P("dev-b.chain.pem"), NULL);
    char *rootb = azk_test_read(P("rootB.cert.pem"), NULL);
    char *all = malloc(strlen(chain) + strlen(rootb) + 1);
    strcpy(all, chain);
    strcat(all, rootb);
    azk_test_write(P("dev-b.full.pem"), all, strlen(all));
    free(chain);
    free(rootb);
    free(all);
    v = judge("dev-b.full.pem", "dev-b", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_CA_NOT_VERIFIED);
    /* A self-signed certificate on a CA device. */
    v = judge("ss-1.cert.pem", "ss-1", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_CA_NOT_VERIFIED);
    assert_non_null(strstr(v.message, "self-signed"));
    /* A damaged verified-CA entry verifies nothing (and does not crash). */
    azk_test_write(P("junk.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                   59);
    const char *junk[] = {"junk.pem", NULL};
    v = judge("dev-1.chain.pem", "dev-1", &ca_dev, junk);
    EXPECT(v, HUB_X509_REFUSE_CA_NOT_VERIFIED);
}

static void test_ca_cn_mismatch(void **state)
{
    (void)state;
    const char *root[] = {"rootA.cert.pem", NULL};
    struct hub_x509_verdict v = judge("dev-1.chain.pem", "dev-2", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_CN_MISMATCH);
    assert_non_null(strstr(v.message, "'dev-1'"));
    assert_non_null(strstr(v.message, "'dev-2'"));
    v = judge("other.chain.pem", "dev-1", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_CN_MISMATCH);
    /* Case matters: device ids are case-sensitive. */
    v = judge("dev-1.chain.pem", "DEV-1", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_CN_MISMATCH);
}

/* ---- common checks --------------------------------------------------------------------- */

static void test_disabled(void **state)
{
    (void)state;
    char fp[200], hex[200];
    fingerprint("ss-1.cert.pem", "sha1", fp, sizeof(fp));
    strip(fp, hex);
    struct hub_x509_device dev = {HUB_X509_TYPE_SELF_SIGNED, hex, NULL, false};
    struct hub_x509_verdict v = judge("ss-1.cert.pem", "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_DISABLED);
    struct hub_x509_device cad = {HUB_X509_TYPE_CA, NULL, NULL, false};
    const char *root[] = {"rootA.cert.pem", NULL};
    v = judge("dev-1.chain.pem", "dev-1", &cad, root);
    EXPECT(v, HUB_X509_REFUSE_DISABLED);
}

static void test_validity(void **state)
{
    (void)state;
    char fp[200], hex[200];
    fingerprint("ss-old.cert.pem", "sha1", fp, sizeof(fp));
    strip(fp, hex);
    struct hub_x509_device dev = {HUB_X509_TYPE_SELF_SIGNED, hex, NULL, true};
    struct hub_x509_verdict v = judge("ss-old.cert.pem", "ss-old", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_EXPIRED);
    assert_non_null(strstr(v.message, "2021-01-01"));
    /* The same certificate at a time inside its validity is accepted: `now` is an input. */
    v = judge_at("ss-old.cert.pem", "ss-old", &dev, NULL, 1593561600 /* 2020-07-01 */);
    EXPECT(v, HUB_X509_OK);

    fingerprint("ss-future.cert.pem", "sha256", fp, sizeof(fp));
    dev.primary_thumbprint = fp;
    v = judge("ss-future.cert.pem", "ss-future", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_NOT_YET_VALID);
    assert_non_null(strstr(v.message, "2090-01-01"));

    const char *root[] = {"rootA.cert.pem", NULL};
    v = judge("dev-old.chain.pem", "dev-old", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_EXPIRED);
    /* An expired intermediate in the chain. */
    v = judge("dev-x.chain.pem", "dev-x", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_EXPIRED);
    assert_non_null(strstr(v.message, "Inter Old"));
    /* A valid chain judged 20 years from now: expired. */
    v = judge_at("dev-1.chain.pem", "dev-1", &ca_dev, root, time(NULL) + 20L * 365 * 86400);
    EXPECT(v, HUB_X509_REFUSE_EXPIRED);
}

static void test_no_certificate(void **state)
{
    (void)state;
    struct hub_x509_device dev = {HUB_X509_TYPE_SELF_SIGNED, "00", NULL, true};
    struct hub_x509_verdict v = judge(NULL, "ss-1", &dev, NULL);
    EXPECT(v, HUB_X509_REFUSE_NO_CERTIFICATE);
    assert_string_equal(v.leaf_sha1, "");
    const char *root[] = {"rootA.cert.pem", NULL};
    v = judge(NULL, "dev-1", &ca_dev, root);
    EXPECT(v, HUB_X509_REFUSE_NO_CERTIFICATE);
}

static void test_registry_cases(void **state)
{
    (void)state;
    struct hub_x509_verdict v = judge("ss-1.cert.pem", "ss-1", NULL, NULL);
    EXPECT(v, HUB_X509_REFUSE_NOT_REGISTERED);
    struct hub_x509_device sas = {HUB_X509_TYPE_SAS, NULL, NULL, true};
    v = judge("ss-1.cert.pem", "ss-1", &sas, NULL);
    EXPECT(v, HUB_X509_REFUSE_NOT_X509);
    struct hub_x509_device unk = {HUB_X509_TYPE_UNKNOWN, NULL, NULL, true};
    v = judge("ss-1.cert.pem", "ss-1", &unk, NULL);
    EXPECT(v, HUB_X509_REFUSE_AUTH_TYPE);
    unk.type = (enum hub_x509_type)77;
    v = judge("ss-1.cert.pem", "ss-1", &unk, NULL);
    EXPECT(v, HUB_X509_REFUSE_AUTH_TYPE);
    assert_int_equal(hub_x509_type_parse("selfSigned"), HUB_X509_TYPE_SELF_SIGNED);
    assert_int_equal(hub_x509_type_parse("certificateAuthority"), HUB_X509_TYPE_CA);
    assert_int_equal(hub_x509_type_parse("sas"), HUB_X509_TYPE_SAS);
    assert_int_equal(hub_x509_type_parse("none"), HUB_X509_TYPE_NONE);
    assert_int_equal(hub_x509_type_parse("SelfSigned"), HUB_X509_TYPE_UNKNOWN);
    assert_int_equal(hub_x509_type_parse(NULL), HUB_X509_TYPE_UNKNOWN);
    for (int r = HUB_X509_OK; r <= HUB_X509_REFUSE_INTERNAL; r++)
        assert_string_not_equal(hub_x509_reason_name((enum hub_x509_reason)r),
                                "unknown");
    hub_x509_decide(NULL, &v);
    EXPECT(v, HUB_X509_REFUSE_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_sha1),
        cmocka_unit_test(test_self_signed_sha256_secondary),
        cmocka_unit_test(test_self_signed_wrong),
        cmocka_unit_test(test_ca_root_verified),
        cmocka_unit_test(test_ca_intermediate_verified),
        cmocka_unit_test(test_ca_missing_intermediate),
        cmocka_unit_test(test_ca_unverified),
        cmocka_unit_test(test_ca_cn_mismatch),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_no_certificate),
        cmocka_unit_test(test_registry_cases),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

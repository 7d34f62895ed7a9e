/* The credential store through its public API: every operation, rejection and warning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "azkit/azkit.h"
#include "cred/backend_dir.h"
#include "support/test_util.h"

static char pki[512];   /* test PKI, made once */
static char store_dir[512];
static struct azk_credstore *st;

static char *pem(const char *name, size_t *len)
{
    return azk_test_read(azk_path(pki, name), len);
}

static int group_setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(pki);
    azk_test_make_pki(pki);
    /* Expired and not-yet-valid device certificates, and an RSA device. */
    AZK_MUST("pki", "device", "old-1", "--ca", azk_path(pki, "inter"), "--out",
             azk_path(pki, "old-1"), "--not-before", "2020-01-01T00:00:00Z", "--not-after",
             "2021-01-01T00:00:00Z");
    AZK_MUST("pki", "device", "future-1", "--ca", azk_path(pki, "inter"), "--out",
             azk_path(pki, "future-1"), "--not-before", "2090-01-01T00:00:00Z", "--not-after",
             "2091-01-01T00:00:00Z");
    AZK_MUST("pki", "device", "rsa-1", "--ca", azk_path(pki, "inter"), "--key-type", "rsa",
             "--out", azk_path(pki, "rsa-1"));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    azk_test_rmrf(pki);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    azk_test_mkdtemp(store_dir);
    assert_int_equal(azk_credstore_open_dir(azk_path(store_dir, "s"), &st, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    azk_credstore_close(st);
    azk_test_rmrf(store_dir);
    return 0;
}

static void write_ok(azk_sec_tag_t tag, enum azk_cred_type type, const char *data, size_t len)
{
    struct azk_diag d;
    azk_diag_init(&d);
    int rc = azk_cred_write_ex(st, tag, type, data, len, NULL, &d);
    if (rc != 0)
        fail_msg("write %u/%d failed %d: %s", tag, type, rc, d.count ? d.items[0].message : "");
}

/* Expects a refused write with the given finding code, and the old content untouched. */
static void write_refused(enum azk_cred_type type, const char *data, size_t len, int want_rc,
                          const char *code)
{
    uint8_t before[32], after[32];
    bool had = azk_cred_digest(st, 7, type, before) == 0;
    struct azk_diag d;
    azk_diag_init(&d);
    int rc = azk_cred_write_ex(st, 7, type, data, len, NULL, &d);
    assert_int_equal(rc, want_rc);
    if (azk_diag_find(&d, code) == NULL)
        fail_msg("expected finding %s, got %s", code, d.count ? d.items[0].code : "none");
    const struct azk_finding *f = azk_diag_find(&d, code);
    assert_int_equal(f->severity, AZK_SEV_ERROR);
    assert_true(strlen(f->fix) > 0);
    if (had) {
        assert_int_equal(azk_cred_digest(st, 7, type, after), 0);
        assert_memory_equal(before, after, 32);
    } else {
        bool exists = true;
        assert_int_equal(azk_cred_exists(st, 7, type, &exists), 0);
        assert_false(exists);
    }
}

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    size_t clen, klen, rlen;
    char *chain = pem("dev-1.chain.pem", &clen), *key = pem("dev-1.key.pem", &klen);
    char *root = pem("root.cert.pem", &rlen);
    write_ok(10, AZK_CRED_CA_CHAIN, root, rlen);
    write_ok(10, AZK_CRED_CLIENT_CERT, chain, clen);
    write_ok(10, AZK_CRED_PRIVATE_KEY, key, klen);
    write_ok(10, AZK_CRED_PSK, "6e7266393174657374", 18);
    write_ok(10, AZK_CRED_IDENTITY, "nrf91-device 1", 14);

    char buf[8192];
    size_t n = sizeof(buf);
    assert_int_equal(azk_cred_read(st, 10, AZK_CRED_CLIENT_CERT, buf, &n), 0);
    /* Canonical: the file's final LF is gone, nothing else changed. */
    assert_int_equal(n, clen - 1);
    assert_memory_equal(buf, chain, n);
    n = sizeof(buf);
    assert_int_equal(azk_cred_read(st, 10, AZK_CRED_PSK, buf, &n), 0);
    assert_int_equal(n, 18);
    assert_memory_equal(buf, "6e7266393174657374", 18);

    /* Digest = SHA-256 of the canonical bytes, which is what the file holds on disk. */
    uint8_t dg[32];
    char hex[65], want[65];
    assert_int_equal(azk_cred_digest(st, 10, AZK_CRED_CA_CHAIN, dg), 0);
    azk_digest_hex(dg, hex);
    azk_test_sha256_hex(root, rlen - 1, want);
    assert_string_equal(hex, want);
    assert_int_equal(azk_cred_digest(st, 10, AZK_CRED_PRIVATE_KEY, dg), 0);

    bool ex = false;
    assert_int_equal(azk_cred_exists(st, 10, AZK_CRED_IDENTITY, &ex), 0);
    assert_true(ex);
    assert_int_equal(azk_cred_cmp(st, 10, AZK_CRED_CA_CHAIN, root, rlen), 0);
    assert_int_equal(azk_cred_cmp(st, 10, AZK_CRED_CA_CHAIN, chain, clen), 1);
    assert_int_equal(azk_cred_cmp(st, 10, AZK_CRED_PRIVATE_KEY, key, klen), 0);
    assert_int_equal(azk_cred_cmp(st, 11, AZK_CRED_CA_CHAIN, root, rlen), -ENOENT);

    assert_int_equal(azk_cred_delete(st, 10, AZK_CRED_PSK), 0);
    assert_int_equal(azk_cred_delete(st, 10, AZK_CRED_PSK), -ENOENT);
    assert_int_equal(azk_cred_exists(st, 10, AZK_CRED_PSK, &ex), 0);
    assert_false(ex);
    assert_int_equal(azk_cred_clear(st, 10), 0);
    assert_int_equal(azk_cred_exists(st, 10, AZK_CRED_CA_CHAIN, &ex), 0);
    assert_false(ex);
    assert_int_equal(azk_cred_clear(st, 10), 0); /* clearing an empty tag is fine */
    assert_false(azk_test_exists(azk_path(store_dir, "s/10")));
    free(chain);
    free(key);
    free(root);
}

static void test_private_key_never_read(void **state)
{
    (void)state;
    size_t klen;
    char *key = pem("dev-1.key.pem", &klen);
    write_ok(3, AZK_CRED_PRIVATE_KEY, key, klen);
    char buf[8192];
    memset(buf, 0, sizeof(buf));
    size_t n = sizeof(buf);
    assert_int_equal(azk_cred_read(st, 3, AZK_CRED_PRIVATE_KEY, buf, &n), -EACCES);
    assert_null(strstr(buf, "PRIVATE"));
    struct azk_cred_info info;
    assert_int_equal(azk_cred_describe(st, 3, AZK_CRED_PRIVATE_KEY, &info, NULL), 0);
    assert_string_equal(info.key_type, "EC P-256");
    free(key);
}

static void test_read_buffer_too_small(void **state)
{
    (void)state;
    write_ok(4, AZK_CRED_IDENTITY, "identity-1234", 13);
    char small[4];
    size_t n = sizeof(small);
    assert_int_equal(azk_cred_read(st, 4, AZK_CRED_IDENTITY, small, &n), -ENOMEM);
    assert_int_equal(n, 13);
    n = 0;
    assert_int_equal(azk_cred_read(st, 5, AZK_CRED_IDENTITY, small, &n), -ENOENT);
}

static void test_tags_and_types(void **state)
{
    (void)state;
    azk_sec_tag_t t;
    struct azk_diag d;
    azk_diag_init(&d);
    assert_int_equal(azk_sec_tag_parse("2147483647", &t, &d), 0);
    assert_int_equal(t, 2147483647u);
    assert_int_equal(azk_sec_tag_parse("2147483648", &t, &d), -ERANGE);
    assert_non_null(strstr(azk_diag_find(&d, "cred.reserved-sec-tag")->message, "reserved"));
    assert_int_equal(azk_sec_tag_parse("99999999999999999999", &t, &d), -ERANGE);
    assert_int_equal(azk_sec_tag_parse("-1", &t, &d), -EINVAL);
    assert_int_equal(azk_sec_tag_parse("10x", &t, &d), -EINVAL);
    assert_int_equal(azk_cred_write(st, 2147483648u, AZK_CRED_PSK, "00", 2), -ERANGE);
    write_ok(2147483647u, AZK_CRED_PSK, "00", 2);
    assert_int_equal(azk_cred_write(st, 1, (enum azk_cred_type)5, "00", 2), -EINVAL);

    static const struct { const char *text; int type; } names[] = {
        {"0", 0}, {"1", 1}, {"2", 2}, {"3", 3}, {"4", 4}, {"ca", 0}, {"cert", 1}, {"key", 2},
        {"psk", 3}, {"identity", 4}, {"ROOT_CA_CERT", 0}, {"CLIENT_CERT", 1}, {"CLIENT_KEY", 2},
        {"PSK", 3}, {"PSK_IDENTITY", 4}, {"psk_id", 4}, {"Client_Cert", 1},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        enum azk_cred_type ty;
        assert_int_equal(azk_cred_type_parse(names[i].text, &ty), 0);
        assert_int_equal((int)ty, names[i].type);
    }
    enum azk_cred_type ty;
    assert_int_equal(azk_cred_type_parse("5", &ty), -EINVAL);
    assert_int_equal(azk_cred_type_parse("10", &ty), -EINVAL);
    assert_int_equal(azk_cred_type_parse("certificate", &ty), -EINVAL);
    assert_int_equal(azk_cred_type_parse("", &ty), -EINVAL);
    assert_string_equal(azk_cred_type_nrf_name(2), "CLIENT_KEY");
}

static void test_canonical_form(void **state)
{
    (void)state;
    size_t rlen;
    char *root = pem("root.cert.pem", &rlen);
    /* CRLF, trailing spaces and a sizeof()-style NUL. */
    char *crlf = malloc(rlen * 2 + 8);
    size_t n = 0;
    for (size_t i = 0; i < rlen; i++) {
        if (root[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = root[i];
    }
    memcpy(crlf + n, "  \r\n", 4);
    n += 4;
    crlf[n++] = '\0';
    struct azk_diag d;
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 20, AZK_CRED_CA_CHAIN, crlf, n, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.crlf-normalised"));
    assert_non_null(azk_diag_find(&d, "cred.nul-normalised"));
    assert_non_null(strstr(azk_diag_find(&d, "cred.nul-normalised")->fix, "strlen"));
    char buf[8192];
    size_t len = sizeof(buf);
    assert_int_equal(azk_cred_read(st, 20, AZK_CRED_CA_CHAIN, buf, &len), 0);
    assert_int_equal(len, rlen - 1);
    assert_memory_equal(buf, root, len);
    assert_null(memchr(buf, '\r', len));
    /* cmp compares canonical forms: the CRLF/NUL buffer and the LF file both match. */
    assert_int_equal(azk_cred_cmp(st, 20, AZK_CRED_CA_CHAIN, crlf, n), 0);
    assert_int_equal(azk_cred_cmp(st, 20, AZK_CRED_CA_CHAIN, root, rlen), 0);
    /* A clean write gives no normalisation warning. */
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 21, AZK_CRED_CA_CHAIN, root, rlen, NULL, &d), 0);
    assert_null(azk_diag_find(&d, "cred.crlf-normalised"));
    assert_null(azk_diag_find(&d, "cred.nul-normalised"));
    free(crlf);
    free(root);
}

static void test_rejections_keep_old_content(void **state)
{
    (void)state;
    size_t rlen, clen, klen, slen, ilen;
    char *root = pem("root.cert.pem", &rlen), *chain = pem("dev-1.chain.pem", &clen);
    char *key = pem("dev-1.key.pem", &klen), *leaf = pem("dev-1.cert.pem", &slen);
    char *inter = pem("inter.cert.pem", &ilen);
    /* Something valid in place first, so "loses nothing" is checked. */
    write_ok(7, AZK_CRED_CA_CHAIN, root, rlen);
    write_ok(7, AZK_CRED_CLIENT_CERT, chain, clen);
    write_ok(7, AZK_CRED_PRIVATE_KEY, key, klen);
    write_ok(7, AZK_CRED_PSK, "abcd", 4);
    write_ok(7, AZK_CRED_IDENTITY, "id", 2);

    write_refused(AZK_CRED_CA_CHAIN, "hello", 5, -EBADMSG, "pem.no-certificate");
    write_refused(AZK_CRED_CA_CHAIN, key, klen, -EBADMSG, "pem.not-certificate");
    write_refused(AZK_CRED_CA_CHAIN, "", 0, -EINVAL, "cred.empty");
    write_refused(AZK_CRED_CA_CHAIN, "\n \r\n", 4, -EINVAL, "cred.empty");
    char der[8] = {0x30, (char)0x82, 0x01, 0x00, 0x00, 0x02, 0x01, 0x05};
    write_refused(AZK_CRED_CA_CHAIN, der, sizeof(der), -EBADMSG, "cred.binary-content");
    char damaged[4096];
    snprintf(damaged, sizeof(damaged), "%.*s", (int)rlen, root);
    damaged[40] = '!';
    write_refused(AZK_CRED_CA_CHAIN, damaged, rlen, -EBADMSG, "pem.damaged");
    char quoted[4096];
    snprintf(quoted, sizeof(quoted), "note \"x\"\n%s", root);
    write_refused(AZK_CRED_CA_CHAIN, quoted, strlen(quoted), -EBADMSG, "cred.quote-character");
    char utf8[4096];
    snprintf(utf8, sizeof(utf8), "\xef\xbb\xbf%s", root); /* a byte-order mark */
    write_refused(AZK_CRED_CA_CHAIN, utf8, strlen(utf8), -EBADMSG, "cred.non-ascii");

    /* Type 1: intermediate before leaf, and a chain whose second cert is unrelated. */
    char rev[8192];
    snprintf(rev, sizeof(rev), "%s%s", inter, leaf);
    write_refused(AZK_CRED_CLIENT_CERT, rev, strlen(rev), -EBADMSG, "cred.chain-order");
    char unrelated[8192];
    snprintf(unrelated, sizeof(unrelated), "%s%s", leaf, root);
    write_refused(AZK_CRED_CLIENT_CERT, unrelated, strlen(unrelated), -EBADMSG, "cred.chain-order");

    write_refused(AZK_CRED_PRIVATE_KEY, leaf, slen, -EBADMSG, "cred.cert-as-key");
    char two[8192];
    snprintf(two, sizeof(two), "%s%s", key, key);
    write_refused(AZK_CRED_PRIVATE_KEY, two, strlen(two), -EBADMSG, "cred.several-blocks");
    write_refused(AZK_CRED_PRIVATE_KEY, "not a key", 9, -EBADMSG, "cred.no-private-key");
    write_refused(AZK_CRED_PRIVATE_KEY, root, rlen, -EBADMSG, "cred.cert-as-key");

    write_refused(AZK_CRED_PSK, "xyz1", 4, -EBADMSG, "cred.psk-not-hex");
    write_refused(AZK_CRED_PSK, "abc", 3, -EBADMSG, "cred.psk-odd-length");
    write_refused(AZK_CRED_IDENTITY, "a\tb", 3, -EBADMSG, "cred.identity-not-printable");
    free(root);
    free(chain);
    free(key);
    free(leaf);
    free(inter);
}

static void test_key_formats_and_passphrases(void **state)
{
    (void)state;
    size_t klen;
    char *key = pem("dev-1.key.pem", &klen);
    BIO *in = BIO_new_mem_buf(key, (int)klen);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    BIO_free(in);
    assert_non_null(pk);

    /* SEC1 "EC PRIVATE KEY" is accepted as is. */
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0, NULL, NULL), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    assert_non_null(strstr(p, "BEGIN EC PRIVATE KEY"));
    write_ok(30, AZK_CRED_PRIVATE_KEY, p, (size_t)n);
    BIO_free(b);

    /* Encrypted PKCS#8: refused without or with a wrong passphrase, stored decrypted. */
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, pk, EVP_aes_256_cbc(), NULL, 0, NULL,
                                                   (void *)"s3cret pass"), 1);
    n = BIO_get_mem_data(b, &p);
    assert_non_null(strstr(p, "ENCRYPTED PRIVATE KEY"));
    struct azk_diag d;
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 31, AZK_CRED_PRIVATE_KEY, p, (size_t)n, NULL, &d),
                     -EKEYREJECTED);
    assert_non_null(azk_diag_find(&d, "cred.key-encrypted"));
    struct azk_cred_write_opts wrong = {.passphrase = "nope"}, right = {.passphrase = "s3cret pass"};
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 31, AZK_CRED_PRIVATE_KEY, p, (size_t)n, &wrong, &d),
                     -EKEYREJECTED);
    assert_non_null(azk_diag_find(&d, "cred.bad-passphrase"));
    bool ex = true;
    assert_int_equal(azk_cred_exists(st, 31, AZK_CRED_PRIVATE_KEY, &ex), 0);
    assert_false(ex);
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 31, AZK_CRED_PRIVATE_KEY, p, (size_t)n, &right, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.key-decrypted"));
    BIO_free(b);
    size_t slen;
    char *stored = azk_test_read(azk_path(store_dir, "s/31/2-key.pem"), &slen);
    assert_non_null(strstr(stored, "-----BEGIN PRIVATE KEY-----"));
    assert_null(strstr(stored, "ENCRYPTED"));
    assert_int_not_equal(stored[slen - 1], '\n');
    assert_int_equal(azk_test_mode(azk_path(store_dir, "s/31/2-key.pem")), 0600);
    free(stored);

    /* Legacy OpenSSL encryption (Proc-Type header) is recognised too. */
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, pk, EVP_aes_128_cbc(), NULL, 0, NULL,
                                                          (void *)"legacy"), 1);
    n = BIO_get_mem_data(b, &p);
    assert_non_null(strstr(p, "Proc-Type: 4,ENCRYPTED"));
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 32, AZK_CRED_PRIVATE_KEY, p, (size_t)n, NULL, &d),
                     -EKEYREJECTED);
    struct azk_cred_write_opts legacy = {.passphrase = "legacy"};
    assert_int_equal(azk_cred_write_ex(st, 32, AZK_CRED_PRIVATE_KEY, p, (size_t)n, &legacy, NULL), 0);
    BIO_free(b);

    /* A passphrase for a plain key is ignored with a warning. */
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 33, AZK_CRED_PRIVATE_KEY, key, klen, &right, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.passphrase-unused"));
    EVP_PKEY_free(pk);

    /* PKCS#1 RSA keys. */
    size_t rklen;
    char *rk = pem("rsa-1.key.pem", &rklen);
    in = BIO_new_mem_buf(rk, (int)rklen);
    pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    BIO_free(in);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0, NULL, NULL), 1);
    n = BIO_get_mem_data(b, &p);
    assert_non_null(strstr(p, "BEGIN RSA PRIVATE KEY"));
    write_ok(34, AZK_CRED_PRIVATE_KEY, p, (size_t)n);
    struct azk_cred_info info;
    assert_int_equal(azk_cred_describe(st, 34, AZK_CRED_PRIVATE_KEY, &info, NULL), 0);
    assert_string_equal(info.key_type, "RSA 2048");
    BIO_free(b);
    EVP_PKEY_free(pk);
    free(rk);
    free(key);
}

static void test_warnings(void **state)
{
    (void)state;
    size_t clen, klen, sklen, rlen, olen, flen;
    char *chain = pem("dev-1.chain.pem", &clen), *key = pem("dev-1.key.pem", &klen);
    char *other_key = pem("ss-1.key.pem", &sklen), *root = pem("root.cert.pem", &rlen);
    char *old = pem("old-1.cert.pem", &olen), *future = pem("future-1.cert.pem", &flen);
    struct azk_diag d;

    /* Key that does not match the certificate in the same tag: on write, both orders. */
    write_ok(40, AZK_CRED_CLIENT_CERT, chain, clen);
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 40, AZK_CRED_PRIVATE_KEY, other_key, sklen, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.key-mismatch"));
    assert_non_null(strstr(azk_diag_find(&d, "cred.key-mismatch")->message, "dev-1"));
    /* ... and in describe (what list shows). */
    struct azk_cred_info info;
    azk_diag_init(&d);
    assert_int_equal(azk_cred_describe(st, 40, AZK_CRED_CLIENT_CERT, &info, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.key-mismatch"));
    /* The right key: no warning anywhere. */
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 40, AZK_CRED_PRIVATE_KEY, key, klen, NULL, &d), 0);
    assert_null(azk_diag_find(&d, "cred.key-mismatch"));
    azk_diag_init(&d);
    assert_int_equal(azk_cred_describe(st, 40, AZK_CRED_CLIENT_CERT, &info, &d), 0);
    assert_int_equal(d.count, 0);
    assert_int_equal(info.cert_count, 2);
    assert_string_equal(info.certs[0].subject_cn, "dev-1");
    assert_string_equal(info.certs[1].subject_cn, "Azkit Test Intermediate");
    assert_int_equal(strlen(info.certs[0].not_after), 20);

    /* Cert first, key already there (mismatching). */
    write_ok(41, AZK_CRED_PRIVATE_KEY, other_key, sklen);
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 41, AZK_CRED_CLIENT_CERT, chain, clen, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.key-mismatch"));

    /* Expired and not yet valid. */
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 42, AZK_CRED_CLIENT_CERT, old, olen, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.cert-expired"));
    assert_non_null(strstr(azk_diag_find(&d, "cred.cert-expired")->message, "2021-01-01"));
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 43, AZK_CRED_CLIENT_CERT, future, flen, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.cert-not-yet-valid"));

    /* A root written as the client certificate, a leaf written as a root CA. */
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 44, AZK_CRED_CLIENT_CERT, root, rlen, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.ca-as-client-cert"));
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 45, AZK_CRED_CA_CHAIN, chain, clen, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.leaf-as-ca"));
    azk_diag_init(&d);
    assert_int_equal(azk_cred_describe(st, 45, AZK_CRED_CA_CHAIN, &info, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.leaf-as-ca"));

    /* Retired Baltimore root, and three RSA roots together overflow one AT%CMNG write. */
    const char *g2 = azk_azure_root(AZK_ROOT_DIGICERT_G2)->pem;
    const char *ms = azk_azure_root(AZK_ROOT_MICROSOFT_RSA_2017)->pem;
    const char *bal = azk_azure_root(AZK_ROOT_BALTIMORE)->pem;
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 46, AZK_CRED_CA_CHAIN, bal, strlen(bal), NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.retired-root"));
    assert_non_null(strstr(azk_diag_find(&d, "cred.retired-root")->fix, "DigiCert Global Root G2"));
    assert_non_null(azk_diag_find(&d, "cred.cert-expired"));
    size_t big_len = strlen(g2) + strlen(ms) + strlen(bal);
    char *big = malloc(big_len + 1);
    snprintf(big, big_len + 1, "%s%s%s", g2, ms, bal);
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 47, AZK_CRED_CA_CHAIN, big, big_len, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.too-large-for-cmng"));
    /* G2 alone fits, and is not flagged in any way. */
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 48, AZK_CRED_CA_CHAIN, g2, strlen(g2), NULL, &d), 0);
    assert_int_equal(d.count, 0);
    free(big);
    free(chain);
    free(key);
    free(other_key);
    free(root);
    free(old);
    free(future);
}

static void test_cmng_limit_is_exact(void **state)
{
    (void)state;
    /* AT%CMNG=0,123,4,"<content>" : prefix 16 bytes + content + closing quote. */
    assert_int_equal(azk_cmng_command_length(123, 4, 100), strlen("AT%CMNG=0,123,4,\"") + 100 + 1);
    size_t fits = AZK_CMNG_MAX_COMMAND - strlen("AT%CMNG=0,123,4,\"") - 1;
    char *id = malloc(fits + 2);
    memset(id, 'a', fits + 1);
    struct azk_diag d;
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 123, AZK_CRED_IDENTITY, id, fits, NULL, &d), 0);
    assert_null(azk_diag_find(&d, "cred.too-large-for-cmng"));
    azk_diag_init(&d);
    assert_int_equal(azk_cred_write_ex(st, 123, AZK_CRED_IDENTITY, id, fits + 1, NULL, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.too-large-for-cmng"));
    free(id);
}

static int collect(azk_sec_tag_t tag, int type, void *user)
{
    char *out = user;
    char item[32];
    snprintf(item, sizeof(item), "%u/%d ", (unsigned)tag, type);
    strcat(out, item);
    return 0;
}

static int stop_early(azk_sec_tag_t tag, int type, void *user)
{
    (void)tag;
    (void)type;
    (*(int *)user)++;
    return 42;
}

static void test_list_order(void **state)
{
    (void)state;
    write_ok(100, AZK_CRED_PSK, "00", 2);
    write_ok(9, AZK_CRED_IDENTITY, "x", 1);
    write_ok(9, AZK_CRED_PSK, "01", 2);
    write_ok(10, AZK_CRED_PSK, "02", 2);
    /* Junk in the store directory is ignored. */
    mkdir(azk_path(store_dir, "s/notatag"), 0700);
    mkdir(azk_path(store_dir, "s/010"), 0700);
    char out[256] = "";
    assert_int_equal(azk_cred_list(st, collect, out), 0);
    assert_string_equal(out, "9/3 9/4 10/3 100/3 ");
    int calls = 0;
    assert_int_equal(azk_cred_list(st, stop_early, &calls), 42);
    assert_int_equal(calls, 1);
}

static void test_permissions(void **state)
{
    (void)state;
    mode_t old = umask(0);
    size_t klen;
    char *key = pem("dev-1.key.pem", &klen);
    write_ok(50, AZK_CRED_PRIVATE_KEY, key, klen);
    write_ok(50, AZK_CRED_PSK, "00", 2);
    umask(old);
    assert_int_equal(azk_test_mode(azk_path(store_dir, "s")), 0700);
    assert_int_equal(azk_test_mode(azk_path(store_dir, "s/50")), 0700);
    assert_int_equal(azk_test_mode(azk_path(store_dir, "s/50/2-key.pem")), 0600);
    assert_int_equal(azk_test_mode(azk_path(store_dir, "s/50/3-psk.txt")), 0600);
    /* A store directory others can read is tightened, with a warning. */
    chmod(azk_path(store_dir, "s"), 0755);
    struct azk_credstore *s2;
    struct azk_diag d;
    azk_diag_init(&d);
    assert_int_equal(azk_credstore_open_dir(azk_path(store_dir, "s"), &s2, &d), 0);
    assert_non_null(azk_diag_find(&d, "cred.store-permissions"));
    assert_int_equal(azk_test_mode(azk_path(store_dir, "s")), 0700);
    azk_credstore_close(s2);
    /* A fresh nested store: opening and reading create nothing; the first write creates it
     * 0700 all the way. */
    assert_int_equal(azk_credstore_open_dir(azk_path(store_dir, "a/b/c"), &s2, NULL), 0);
    bool ex = true;
    assert_int_equal(azk_cred_exists(s2, 1, AZK_CRED_PSK, &ex), 0);
    assert_false(ex);
    char out[64] = "";
    assert_int_equal(azk_cred_list(s2, collect, out), 0);
    assert_false(azk_test_exists(azk_path(store_dir, "a")));
    assert_int_equal(azk_cred_write(s2, 1, AZK_CRED_PSK, "00", 2), 0);
    assert_int_equal(azk_test_mode(azk_path(store_dir, "a")), 0700);
    assert_int_equal(azk_test_mode(azk_path(store_dir, "a/b/c")), 0700);
    azk_credstore_close(s2);
    /* A file where the store should be is refused with an explanation. */
    azk_test_write(azk_path(store_dir, "file"), "x", 1);
    azk_diag_init(&d);
    assert_int_equal(azk_credstore_open_dir(azk_path(store_dir, "file"), &s2, &d), -ENOTDIR);
    assert_non_null(azk_diag_find(&d, "cred.store-unusable"));
    free(key);
}

static void test_store_resolution(void **state)
{
    (void)state;
    char out[512];
    setenv("AZKIT_STORE", "/tmp/from-env", 1);
    setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    setenv("HOME", "/tmp/home", 1);
    assert_int_equal(azk_credstore_resolve_dir("/explicit", out, sizeof(out)), 0);
    assert_string_equal(out, "/explicit");
    assert_int_equal(azk_credstore_resolve_dir(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "/tmp/from-env");
    unsetenv("AZKIT_STORE");
    assert_int_equal(azk_credstore_resolve_dir(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "/tmp/xdg/azkit/credstore");
    unsetenv("XDG_DATA_HOME");
    assert_int_equal(azk_credstore_resolve_dir(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "/tmp/home/.local/share/azkit/credstore");
    unsetenv("HOME");
    assert_int_equal(azk_credstore_resolve_dir(NULL, out, sizeof(out)), -ENOENT);
    char tiny[8];
    assert_int_equal(azk_credstore_resolve_dir("/a/long/path", tiny, sizeof(tiny)), -ENAMETOOLONG);
}

/* ---- Another backend behind the same API: a modem-like one that never releases keys. ---- */

struct mem_entry {
    bool used;
    azk_sec_tag_t tag;
    int type;
    char data[8192];
    size_t len;
};
static struct mem_entry mem[16];

static struct mem_entry *mem_find(azk_sec_tag_t tag, int type)
{
    for (int i = 0; i < 16; i++)
        if (mem[i].used && mem[i].tag == tag && mem[i].type == type)
            return &mem[i];
    return NULL;
}

static int mem_write(void *ctx, azk_sec_tag_t tag, int type, const char *c, size_t len)
{
    (void)ctx;
    struct mem_entry *e = mem_find(tag, type);
    for (int i = 0; e == NULL && i < 16; i++)
        if (!mem[i].used)
            e = &mem[i];
    if (e == NULL || len > sizeof(e->data))
        return -ENOMEM;
    *e = (struct mem_entry){.used = true, .tag = tag, .type = type, .len = len};
    memcpy(e->data, c, len);
    return 0;
}

static int mem_read(void *ctx, azk_sec_tag_t tag, int type, void *buf, size_t *len)
{
    (void)ctx;
    struct mem_entry *e = mem_find(tag, type);
    if (e == NULL)
        return -ENOENT;
    if (type == AZK_CRED_PRIVATE_KEY)
        return -EACCES;
    if (e->len > *len) {
        *len = e->len;
        return -ENOMEM;
    }
    memcpy(buf, e->data, e->len);
    *len = e->len;
    return 0;
}

static int mem_remove(void *ctx, azk_sec_tag_t tag, int type)
{
    (void)ctx;
    struct mem_entry *e = mem_find(tag, type);
    if (e == NULL)
        return -ENOENT;
    e->used = false;
    return 0;
}

static int mem_list(void *ctx, azk_cred_list_cb cb, void *user)
{
    (void)ctx;
    for (int i = 0; i < 16; i++)
        if (mem[i].used) {
            int rc = cb(mem[i].tag, mem[i].type, user);
            if (rc)
                return rc;
        }
    return 0;
}

static int mem_digest(void *ctx, azk_sec_tag_t tag, int type, uint8_t out[32])
{
    (void)ctx;
    struct mem_entry *e = mem_find(tag, type);
    if (e == NULL)
        return -ENOENT;
    unsigned int n;
    EVP_Digest(e->data, e->len, out, &n, EVP_sha256(), NULL);
    return 0;
}

static void test_other_backend(void **state)
{
    (void)state;
    static const struct azk_cred_backend_ops ops = {
        .name = "modem-like", .write = mem_write, .read = mem_read, .remove = mem_remove,
        .list = mem_list, .digest = mem_digest,
    };
    struct azk_credstore *m;
    assert_int_equal(azk_credstore_open_backend(&ops, NULL, "test modem", &m), 0);
    assert_string_equal(azk_credstore_describe(m), "test modem");
    size_t clen, klen;
    char *chain = pem("dev-1.chain.pem", &clen), *key = pem("dev-1.key.pem", &klen);
    assert_int_equal(azk_cred_write(m, 16, AZK_CRED_CLIENT_CERT, chain, clen), 0);
    assert_int_equal(azk_cred_write(m, 16, AZK_CRED_PRIVATE_KEY, key, klen), 0);
    assert_int_equal(azk_cred_cmp(m, 16, AZK_CRED_PRIVATE_KEY, key, klen), 0);
    struct azk_cred_info info;
    assert_int_equal(azk_cred_describe(m, 16, AZK_CRED_PRIVATE_KEY, &info, NULL), 0);
    assert_int_equal(azk_cred_describe(m, 16, AZK_CRED_CLIENT_CERT, &info, NULL), 0);
    assert_int_equal(info.cert_count, 2);
    assert_int_equal(azk_cred_clear(m, 16), 0); /* no clear op: the front removes each type */
    bool ex = true;
    assert_int_equal(azk_cred_exists(m, 16, AZK_CRED_CLIENT_CERT, &ex), 0);
    assert_false(ex);
    azk_credstore_close(m);
    static const struct azk_cred_backend_ops broken = {.name = "broken", .write = mem_write};
    assert_int_equal(azk_credstore_open_backend(&broken, NULL, NULL, &m), -EINVAL);
    free(chain);
    free(key);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(azk_strerror(-EACCES), "access denied");
    assert_string_equal(azk_strerror(0), "success");
    assert_non_null(strstr(azk_strerror(-123456), "not known to azkit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_every_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_key_never_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_buffer_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections_keep_old_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_formats_and_passphrases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmng_limit_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_backend, setup, teardown),
        cmocka_unit_test(test_store_resolution),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

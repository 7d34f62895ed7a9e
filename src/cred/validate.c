/* What each credential type must hold, and the warnings about what it does hold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "azkit/cred_provision.h"
#include "common/ossl.h"
#include "cred/internal.h"

/* AT%CMNG quotes the content and has no escapes: a '"' ends it early, and nrfcredstore sends
 * ASCII only. Control characters other than LF and TAB have no place in PEM or hex either. */
static int check_modem_charset(int type, const char *c, size_t len, struct azk_diag *d)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)c[i];
        if (ch == '"') {
            azk_diag_add(d, AZK_SEV_ERROR, "cred.quote-character",
                         "Remove the '\"' character; AT%CMNG cannot carry it.",
                         "the %s contains a '\"' character (byte %zu), which would end the "
                         "AT%%CMNG content string early",
                         azk_cred_type_description(type), i + 1);
            return -EBADMSG;
        }
        if (ch >= 0x80 || (ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
            azk_diag_add(d, AZK_SEV_ERROR, "cred.non-ascii",
                         "Credentials are plain ASCII text; remove the stray character (often "
                         "a byte-order mark or a copy-paste artefact).",
                         "the %s contains a non-ASCII or control byte 0x%02X at byte %zu",
                         azk_cred_type_description(type), ch, i + 1);
            return -EBADMSG;
        }
    }
    return 0;
}

static void warn_outside_text(int type, const char *c, size_t len, struct azk_diag *d)
{
    struct azki_pem_block *b;
    size_t n;
    bool outside = false;
    if (azki_pem_parse(c, len, &b, &n, &outside, NULL) == 0)
        azki_pem_free(b, n);
    if (outside)
        azk_diag_add(d, AZK_SEV_WARNING, "cred.text-outside-pem",
                     "Keep only the -----BEGIN/-----END blocks (for example, drop the 'Bag "
                     "Attributes' lines 'openssl pkcs12' prints); the modem may refuse the rest "
                     "with CME ERROR 527.",
                     "the %s has text outside its PEM blocks; it is stored as given",
                     azk_cred_type_description(type));
}

static void warn_validity(X509 *x, size_t index, struct azk_diag *d)
{
    char cn[128], when[21];
    azki_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
    int v = azki_x509_validity(x);
    if (v > 0) {
        azki_asn1_time_iso(X509_get0_notAfter(x), when);
        azk_diag_add(d, AZK_SEV_WARNING, "cred.cert-expired",
                     "Replace it with a certificate that is valid now; TLS will refuse it.",
                     "certificate %zu ('%s') expired on %s", index + 1, cn, when);
    } else if (v < 0) {
        azki_asn1_time_iso(X509_get0_notBefore(x), when);
        azk_diag_add(d, AZK_SEV_WARNING, "cred.cert-not-yet-valid",
                     "Check the clock of the machine that issued it, or wait; a device whose "
                     "clock is behind will refuse it.",
                     "certificate %zu ('%s') is not valid until %s", index + 1, cn, when);
    }
}

static void warn_known_root(X509 *x, struct azk_diag *d)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
        return;
    azki_hex_upper(md, 32, hex);
    const struct azk_root_info *r = azk_azure_root_by_fingerprint(hex);
    if (r != NULL && r->retired)
        azk_diag_add(d, AZK_SEV_WARNING, "cred.retired-root",
                     "Azure's servers chain to DigiCert Global Root G2 now; provision it (and "
                     "Microsoft RSA Root Certificate Authority 2017 as backup): "
                     "azkit cred provision, or azkit cred write TAG ca with those roots.",
                     "'%s' is retired: " AZKI_ROOT_MIGRATION ", and this root expired %.10s; "
                     "a device trusting only it cannot connect",
                     r->name, r->not_after);
}

void azki_check_certs(int type, STACK_OF(X509) *certs, struct azk_diag *d)
{
    int n = sk_X509_num(certs);
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(certs, i);
        char cn[128];
        azki_x509_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
        warn_validity(x, (size_t)i, d);
        if (type == AZK_CRED_CA_CHAIN) {
            warn_known_root(x, d);
            if (!azki_x509_is_ca(x))
                azk_diag_add(d, AZK_SEV_WARNING, "cred.leaf-as-ca",
                             "Type 0 holds the root CA(s) that verify the server. A device "
                             "certificate belongs in type 1 (cert).",
                             "certificate %d ('%s') in the root CA credential is not a CA "
                             "certificate (it is a leaf)", i + 1, cn);
        }
    }
    if (type == AZK_CRED_CLIENT_CERT && n > 0) {
        X509 *leaf = sk_X509_value(certs, 0);
        if (azki_x509_is_ca(leaf)) {
            char cn[128];
            azki_x509_name_cn(X509_get_subject_name(leaf), cn, sizeof(cn));
            azk_diag_add(d, AZK_SEV_WARNING, "cred.ca-as-client-cert",
                         "Root CAs go in type 0 (ca): that is the list the modem trusts. Type 1 "
                         "is the device's own certificate, then its intermediates.",
                         "the client certificate credential starts with a CA certificate "
                         "('%s'), not a device certificate", cn);
        }
    }
}

void azki_check_size(azk_sec_tag_t tag, int type, size_t len, struct azk_diag *d)
{
    size_t cmd = azk_cmng_command_length(tag, type, len);
    if (cmd > AZK_CMNG_MAX_COMMAND)
        azk_diag_add(d, AZK_SEV_WARNING, "cred.too-large-for-cmng",
                     "Use an ECDSA P-256 certificate (much smaller than RSA), drop certificates "
                     "the device does not need, or split CAs over the primary and secondary tag.",
                     "the %s is %zu bytes: its AT%%CMNG write command would be %zu bytes, over "
                     "the nRF91's %d-byte limit",
                     azk_cred_type_description(type), len, cmd, AZK_CMNG_MAX_COMMAND);
}

static int validate_certs(int type, const char *c, size_t len, struct azki_validated *v,
                          struct azk_diag *d)
{
    int rc = azki_load_certs(c, len, &v->certs, d);
    if (rc != 0)
        return rc;
    int n = sk_X509_num(v->certs);
    if (type == AZK_CRED_CLIENT_CERT) {
        for (int i = 1; i < n; i++) {
            X509 *child = sk_X509_value(v->certs, i - 1), *parent = sk_X509_value(v->certs, i);
            if (X509_check_issued(parent, child) == X509_V_OK)
                continue;
            char ccn[128], pcn[128];
            azki_x509_name_cn(X509_get_subject_name(child), ccn, sizeof(ccn));
            azki_x509_name_cn(X509_get_subject_name(parent), pcn, sizeof(pcn));
            bool reversed = X509_check_issued(child, parent) == X509_V_OK;
            azk_diag_add(d, AZK_SEV_ERROR, "cred.chain-order",
                         "Put the device certificate first, then the CA that issued it, then "
                         "that CA's issuer: cat device.cert.pem intermediate.cert.pem > chain.pem",
                         reversed ? "the chain is in the wrong order: certificate %d ('%s') "
                                    "issued certificate %d ('%s'); the leaf must come first"
                                  : "certificate %d ('%s') did not issue certificate %d ('%s'): "
                                    "a client certificate credential is the leaf followed by "
                                    "its own intermediates, in order",
                         reversed ? i : i + 1, reversed ? ccn : pcn, reversed ? i + 1 : i,
                         reversed ? pcn : ccn);
            ERR_clear_error();
            return -EBADMSG;
        }
    }
    ERR_clear_error();
    return 0;
}

struct pass_ctx {
    const char *pass;
    bool asked;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    struct pass_ctx *p = u;
    p->asked = true;
    if (p->pass == NULL)
        return -1;
    size_t n = strlen(p->pass);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, p->pass, n);
    return (int)n;
}

static bool is_key_label(const char *l)
{
    return strcmp(l, "PRIVATE KEY") == 0 || strcmp(l, "EC PRIVATE KEY") == 0 ||
           strcmp(l, "RSA PRIVATE KEY") == 0 || strcmp(l, "ENCRYPTED PRIVATE KEY") == 0;
}

static int validate_key(const char *c, size_t len, const char *passphrase,
                        struct azki_validated *v, struct azk_diag *d)
{
    struct azki_pem_block *blocks;
    size_t count;
    int rc = azki_pem_parse(c, len, &blocks, &count, NULL, d);
    if (rc != 0)
        return rc;
    const char *fix_one = "Type 2 holds exactly one private key in PEM (PKCS#8 'PRIVATE KEY', "
                          "SEC1 'EC PRIVATE KEY' or PKCS#1 'RSA PRIVATE KEY').";
    if (count != 1 || !is_key_label(blocks[0].label)) {
        if (count == 0)
            azk_diag_add(d, AZK_SEV_ERROR, "cred.no-private-key", fix_one,
                         "no PEM private key found");
        else if (count > 1)
            azk_diag_add(d, AZK_SEV_ERROR, "cred.several-blocks", fix_one,
                         "the key credential holds %zu PEM blocks; it must hold one private key",
                         count);
        else if (strcmp(blocks[0].label, "CERTIFICATE") == 0)
            azk_diag_add(d, AZK_SEV_ERROR, "cred.cert-as-key",
                         "Certificates go in type 0 (root CAs) or type 1 (the device "
                         "certificate); type 2 is the device's private key.",
                         "this is a CERTIFICATE, not a private key");
        else
            azk_diag_add(d, AZK_SEV_ERROR, "cred.not-private-key", fix_one,
                         "the PEM block is a %s, not a private key", blocks[0].label);
        azki_pem_free(blocks, count);
        return -EBADMSG;
    }
    bool encrypted = strcmp(blocks[0].label, "ENCRYPTED PRIVATE KEY") == 0 || blocks[0].has_headers;
    azki_pem_free(blocks, count);

    if (encrypted && passphrase == NULL) {
        azk_diag_add(d, AZK_SEV_ERROR, "cred.key-encrypted",
                     "Give the passphrase with --passphrase (or --passphrase-file); azkit "
                     "decrypts the key and stores it unencrypted with mode 0600.",
                     "the private key is encrypted and no passphrase was given");
        return -EKEYREJECTED;
    }
    struct pass_ctx pc = {encrypted ? passphrase : NULL, false};
    BIO *bio = BIO_new_mem_buf(c, (int)len);
    if (bio == NULL)
        return -ENOMEM;
    ERR_clear_error();
    v->key = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &pc);
    BIO_free(bio);
    ERR_clear_error();
    if (v->key == NULL) {
        if (encrypted) {
            azk_diag_add(d, AZK_SEV_ERROR, "cred.bad-passphrase",
                         "Check the passphrase; the key file itself was not changed.",
                         "the passphrase does not decrypt the private key");
            return -EKEYREJECTED;
        }
        azk_diag_add(d, AZK_SEV_ERROR, "cred.bad-private-key", fix_one,
                     "the private key does not parse");
        return -EBADMSG;
    }
    if (!encrypted) {
        if (passphrase != NULL)
            azk_diag_add(d, AZK_SEV_WARNING, "cred.passphrase-unused", NULL,
                         "a passphrase was given but the key is not encrypted; it was ignored");
        return 0;
    }
    /* Store the decrypted key as unencrypted PKCS#8 in canonical form. */
    BIO *out = BIO_new(BIO_s_mem());
    if (out == NULL || PEM_write_bio_PrivateKey(out, v->key, NULL, NULL, 0, NULL, NULL) != 1) {
        BIO_free(out);
        return -ENOMEM;
    }
    char *p;
    long n = BIO_get_mem_data(out, &p);
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    v->replacement = OPENSSL_malloc((size_t)n + 1);
    if (v->replacement != NULL) {
        memcpy(v->replacement, p, (size_t)n);
        v->replacement[n] = '\0';
        v->replacement_len = (size_t)n;
    }
    OPENSSL_cleanse(p, (size_t)BIO_get_mem_data(out, &p));
    BIO_free(out);
    if (v->replacement == NULL)
        return -ENOMEM;
    azk_diag_add(d, AZK_SEV_INFO, "cred.key-decrypted", NULL,
                 "the encrypted private key was decrypted and is stored unencrypted (PKCS#8, "
                 "file mode 0600)");
    return 0;
}

static int validate_psk(const char *c, size_t len, struct azk_diag *d)
{
    for (size_t i = 0; i < len; i++) {
        char ch = c[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) {
            azk_diag_add(d, AZK_SEV_ERROR, "cred.psk-not-hex",
                         "Write the PSK as hex, e.g. 'nrf91test' is 6e7266393174657374 "
                         "(xxd -p FILE | tr -d '\\n').",
                         "the PSK is not a hex string (character %zu is '%c')", i + 1,
                         ch >= 0x20 && ch < 0x7f ? ch : '?');
            return -EBADMSG;
        }
    }
    if (len % 2 != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "cred.psk-odd-length",
                     "Each byte is two hex digits; check for a missing digit.",
                     "the PSK has %zu hex digits; it must have an even number", len);
        return -EBADMSG;
    }
    return 0;
}

static int validate_identity(const char *c, size_t len, struct azk_diag *d)
{
    for (size_t i = 0; i < len; i++) {
        if (c[i] < 0x20 || c[i] > 0x7e) {
            azk_diag_add(d, AZK_SEV_ERROR, "cred.identity-not-printable",
                         "A PSK identity is one line of printable ASCII text.",
                         "the PSK identity has a non-printable character at position %zu", i + 1);
            return -EBADMSG;
        }
    }
    return 0;
}

int azki_validate(int type, const char *content, size_t len, const char *passphrase,
                 struct azki_validated *v, struct azk_diag *d)
{
    memset(v, 0, sizeof(*v));
    int rc = check_modem_charset(type, content, len, d);
    if (rc != 0)
        return rc;
    switch (type) {
    case AZK_CRED_CA_CHAIN:
    case AZK_CRED_CLIENT_CERT:
        rc = validate_certs(type, content, len, v, d);
        if (rc == 0) {
            warn_outside_text(type, content, len, d);
            azki_check_certs(type, v->certs, d);
        }
        break;
    case AZK_CRED_PRIVATE_KEY:
        rc = validate_key(content, len, passphrase, v, d);
        if (rc == 0 && v->replacement == NULL)
            warn_outside_text(type, content, len, d);
        break;
    case AZK_CRED_PSK:
        rc = validate_psk(content, len, d);
        break;
    case AZK_CRED_IDENTITY:
        rc = validate_identity(content, len, d);
        break;
    default:
        rc = -EINVAL;
    }
    if (rc != 0)
        azki_validated_free(v);
    return rc;
}

void azki_validated_free(struct azki_validated *v)
{
    sk_X509_pop_free(v->certs, X509_free);
    EVP_PKEY_free(v->key);
    if (v->replacement != NULL)
        OPENSSL_clear_free(v->replacement, v->replacement_len + 1);
    memset(v, 0, sizeof(*v));
}

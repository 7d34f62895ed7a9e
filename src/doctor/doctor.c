/* The credential checks of azkit/doctor.h: what Azure will think of the tags a TLS socket uses.
 * Everything is read through the store's API; the private key only through the internal key
 * loader, to compare it with the certificate. */
#include "azkit/doctor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "azkit/azure_ids.h"
#include "azkit/cred_provision.h"
#include "common/fileio.h"
#include "common/ossl.h"
#include "cred/internal.h"
#include "cred/key_loader.h"

const char *azk_check_status_name(enum azk_check_status s)
{
    switch (s) {
    case AZK_CHECK_OK: return "ok";
    case AZK_CHECK_INFO: return "info";
    case AZK_CHECK_WARN: return "warning";
    case AZK_CHECK_FAIL: return "failed";
    case AZK_CHECK_SKIPPED: return "skipped";
    }
    return "?";
}

void azk_doctor_add(struct azk_doctor_report *r, const char *id, enum azk_check_status status,
                    const char *fix, const char *fmt, ...)
{
    if (r->count == AZK_DOCTOR_MAX_CHECKS)
        return;
    struct azk_check *c = &r->checks[r->count++];
    c->id = id;
    c->status = status;
    snprintf(c->fix, sizeof(c->fix), "%s", fix ? fix : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
}

enum azk_check_status azk_doctor_worst(const struct azk_doctor_report *r)
{
    enum azk_check_status w = AZK_CHECK_OK;
    for (size_t i = 0; i < r->count; i++)
        if (r->checks[i].status != AZK_CHECK_SKIPPED && r->checks[i].status > w)
            w = r->checks[i].status;
    return w;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* The host without ":port". */
static bool is_azure_host(const char *host)
{
    char h[256];
    snprintf(h, sizeof(h), "%s", host);
    char *colon = strchr(h, ':');
    if (colon)
        *colon = '\0';
    return ends_with(h, ".azure-devices.net") || ends_with(h, ".azure-devices-provisioning.net") ||
           ends_with(h, ".azure-devices.cn") || ends_with(h, ".azure-devices-provisioning.cn");
}

static STACK_OF(X509) *load(struct azk_credstore *s, azk_sec_tag_t tag, int type)
{
    STACK_OF(X509) *certs = NULL;
    return azki_store_load_certs(s, tag, type, &certs, NULL) == 0 ? certs : NULL;
}

struct roots_seen {
    bool g2, ms2017, baltimore;
    size_t count;
    char names[400];
    char sha256[16][65];
    size_t seen;
};

static void note_root(struct roots_seen *rs, X509 *x)
{
    struct azk_cert_summary s;
    azki_x509_summarize(x, &s);
    const struct azk_root_info *ri = azk_azure_root_by_fingerprint(s.sha256);
    if (ri == azk_azure_root(AZK_ROOT_DIGICERT_G2))
        rs->g2 = true;
    else if (ri == azk_azure_root(AZK_ROOT_MICROSOFT_RSA_2017))
        rs->ms2017 = true;
    else if (ri == azk_azure_root(AZK_ROOT_BALTIMORE))
        rs->baltimore = true;
    /* The same CA in two tags counts once. */
    for (size_t i = 0; i < rs->seen; i++)
        if (strcmp(rs->sha256[i], s.sha256) == 0)
            return;
    if (rs->seen < sizeof(rs->sha256) / sizeof(rs->sha256[0]))
        snprintf(rs->sha256[rs->seen++], sizeof(rs->sha256[0]), "%s", s.sha256);
    size_t used = strlen(rs->names);
    if (used + strlen(s.subject_cn) + 4 < sizeof(rs->names))
        snprintf(rs->names + used, sizeof(rs->names) - used, "%s'%s'", used ? ", " : "",
                 s.subject_cn[0] ? s.subject_cn : s.subject);
    rs->count++;
}

/* Which listed tag first holds a type 1. */
static int client_tag(const struct azk_doctor_opts *o, azk_sec_tag_t *tag)
{
    for (size_t i = 0; i < o->ntags; i++) {
        bool exists = false;
        if (azk_cred_exists(o->store, o->tags[i], AZK_CRED_CLIENT_CERT, &exists) == 0 && exists) {
            *tag = o->tags[i];
            return 0;
        }
    }
    return -ENOENT;
}

/* "10, 11" */
static void tag_list(const struct azk_doctor_opts *o, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < o->ntags; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%u", i ? ", " : "", (unsigned)o->tags[i]);
    }
}

static bool offered(const struct azk_doctor_opts *o, azk_sec_tag_t tag)
{
    for (size_t i = 0; i < o->ntags; i++)
        if (o->tags[i] == tag)
            return true;
    return false;
}

/* The first tag the socket does not offer that holds a client certificate. */
struct orphan_hunt {
    const struct azk_doctor_opts *o;
    azk_sec_tag_t tag;
    bool found;
};

static int orphan_cb(azk_sec_tag_t tag, int type, void *user)
{
    struct orphan_hunt *h = user;
    if (!h->found && type == AZK_CRED_CLIENT_CERT && !offered(h->o, tag)) {
        h->found = true;
        h->tag = tag;
    }
    return 0;
}

struct key_hunt {
    struct azk_credstore *store;
    X509 *leaf;
    const azk_sec_tag_t *tags;
    size_t ntags;
    azk_sec_tag_t found;
    bool hit;
};

static int hunt_cb(azk_sec_tag_t tag, int type, void *user)
{
    struct key_hunt *h = user;
    if (type != AZK_CRED_PRIVATE_KEY || h->hit)
        return 0;
    EVP_PKEY *k = NULL;
    if (azki_cred_load_private_key(h->store, tag, &k) == 0) {
        if (X509_check_private_key(h->leaf, k) == 1) {
            h->hit = true;
            h->found = tag;
        }
        EVP_PKEY_free(k);
    }
    ERR_clear_error();
    return 0;
}

static void check_roots(const struct azk_doctor_opts *o, struct azk_doctor_report *r)
{
    struct roots_seen rs = {0};
    for (size_t i = 0; i < o->ntags; i++) {
        STACK_OF(X509) *cas = load(o->store, o->tags[i], AZK_CRED_CA_CHAIN);
        for (int k = 0; cas && k < sk_X509_num(cas); k++)
            note_root(&rs, sk_X509_value(cas, k));
        sk_X509_pop_free(cas, X509_free);
    }
    if (rs.count == 0) {
        azk_doctor_add(r, "tags.ca", AZK_CHECK_FAIL,
                       "Write the server's root CA into one of the tags as type 0: `azkit cred "
                       "write TAG ca_chain ROOT.pem` (Azure: `azkit cred provision` adds "
                       "DigiCert Global Root G2 and Microsoft RSA Root Certificate Authority "
                       "2017).",
                       "none of the socket's tags holds a CA certificate (type 0): the device "
                       "cannot verify any server");
        return;
    }
    azk_doctor_add(r, "tags.ca", AZK_CHECK_OK, NULL, "the device trusts %zu CA certificate%s: %s",
                   rs.count, rs.count == 1 ? "" : "s", rs.names);
    if (o->host != NULL && !is_azure_host(o->host)) {
        azk_doctor_add(r, "tags.azure-root", AZK_CHECK_SKIPPED, NULL,
                       "%s is not an Azure host: whether its CA is trusted shows in the "
                       "connection test", o->host);
        return;
    }
    if (rs.g2) {
        azk_doctor_add(r, "tags.azure-root", rs.ms2017 ? AZK_CHECK_OK : AZK_CHECK_INFO,
                       rs.ms2017 ? NULL
                                 : "Also trust Microsoft RSA Root Certificate Authority 2017 "
                                   "(`azkit cred provision` writes both), Azure's documented "
                                   "backup root.",
                       "DigiCert Global Root G2 is trusted: Azure IoT Hub and DPS certificates "
                       "chain to it%s", rs.ms2017 ? " (and the Microsoft RSA 2017 backup)" : "");
    } else if (rs.baltimore) {
        azk_doctor_add(r, "tags.azure-root", AZK_CHECK_FAIL,
                       "Write DigiCert Global Root G2 as type 0 (`azkit cred provision --sec-tag "
                       "N ...` adds it); Baltimore can stay for old firmware but is useless.",
                       "the device trusts Baltimore CyberTrust Root but not DigiCert Global Root "
                       "G2: " AZKI_ROOT_MIGRATION ", and Baltimore expired on 2025-05-12, so "
                       "every TLS handshake with Azure fails");
    } else if (rs.ms2017) {
        azk_doctor_add(r, "tags.azure-root", AZK_CHECK_WARN,
                       "Write DigiCert Global Root G2 as type 0 as well.",
                       "only the backup root (Microsoft RSA Root Certificate Authority 2017) is "
                       "trusted, not DigiCert Global Root G2, which Azure IoT Hub and DPS use");
    } else if (o->host == NULL) {
        /* No host: a store for a local azkit-hub (or another server) is not wrong. */
        azk_doctor_add(r, "tags.azure-root", AZK_CHECK_INFO,
                       "For Azure, write DigiCert Global Root G2 as type 0 (`azkit cred "
                       "provision` adds it); give --hub or --id-scope to check for one host.",
                       "the device trusts %s and none of Azure's roots: right for a local "
                       "azkit-hub or another server, but Azure's servers could not be verified",
                       rs.names);
    } else {
        azk_doctor_add(r, "tags.azure-root", AZK_CHECK_FAIL,
                       "Write DigiCert Global Root G2 as type 0 (`azkit cred provision` adds "
                       "it).",
                       "none of Azure's roots is trusted (%s): Azure's servers cannot be "
                       "verified", rs.names);
    }
}

/* Whether the chain the device sends (type 1: leaf, then intermediates) reaches the CA an
 * enrollment is on. The CA may be an intermediate (partial chain); validity dates are checked
 * elsewhere. */
static void check_enrollment_ca(const struct azk_doctor_opts *o, STACK_OF(X509) *chain,
                                azk_sec_tag_t tag, struct azk_doctor_report *r)
{
    char *pem = NULL;
    size_t len = 0;
    STACK_OF(X509) *cas = NULL;
    int rc = azki_file_read_all(o->enrollment_ca_file, &pem, &len);
    if (rc == 0)
        rc = azki_load_certs(pem, len, &cas, NULL);
    free(pem);
    if (rc != 0 || sk_X509_num(cas) <= 0) {
        azk_doctor_add(r, "client.enrollment-ca", AZK_CHECK_FAIL,
                       "Give the PEM certificate of the CA the enrollment group is on.",
                       "cannot read a CA certificate from %s: %s", o->enrollment_ca_file,
                       azk_strerror(rc ? rc : -EBADMSG));
        sk_X509_pop_free(cas, X509_free);
        return;
    }
    struct azk_cert_summary ca;
    azki_x509_summarize(sk_X509_value(cas, 0), &ca);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    for (int i = 1; i < sk_X509_num(chain); i++)
        sk_X509_push(untrusted, sk_X509_value(chain, i));
    for (int i = 0; i < sk_X509_num(cas); i++)
        X509_STORE_add_cert(st, sk_X509_value(cas, i));
    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
    int ok = st && ctx && untrusted &&
             X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), untrusted) == 1 &&
             X509_verify_cert(ctx) == 1;
    int n = sk_X509_num(chain);
    if (ok) {
        azk_doctor_add(r, "client.enrollment-ca", AZK_CHECK_OK, NULL,
                       "the chain in sec_tag %u type 1 (%d certificate%s) reaches the enrollment "
                       "CA '%s'", (unsigned)tag, n, n == 1 ? "" : "s", ca.subject_cn);
    } else {
        struct azk_cert_summary last;
        azki_x509_summarize(sk_X509_value(chain, n - 1), &last);
        int err = ctx ? X509_STORE_CTX_get_error(ctx) : X509_V_ERR_UNSPECIFIED;
        char fix[AZK_DOCTOR_TEXT];
        snprintf(fix, sizeof(fix),
                 "Write the leaf followed by every intermediate up to '%s' as type 1 (`azkit "
                 "cred write %u client_cert CHAIN.pem`), or enroll the CA that issued this "
                 "chain.", ca.subject_cn, (unsigned)tag);
        azk_doctor_add(r, "client.enrollment-ca", AZK_CHECK_FAIL, fix,
                       "the chain in sec_tag %u type 1 (%d certificate%s, ending at '%s' issued "
                       "by '%s') does not reach the enrollment CA '%s' (%s): DPS refuses the "
                       "registration (401002)", (unsigned)tag, n, n == 1 ? "" : "s",
                       last.subject_cn, last.issuer_cn, ca.subject_cn,
                       X509_verify_cert_error_string(err));
    }
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    sk_X509_pop_free(cas, X509_free);
    ERR_clear_error();
}

/* Leaf, chain, key and id. */
static void check_client(const struct azk_doctor_opts *o, struct azk_doctor_report *r)
{
    azk_sec_tag_t tag;
    if (client_tag(o, &tag) != 0) {
        char offered[120];
        tag_list(o, offered, sizeof(offered));
        struct orphan_hunt h = {.o = o};
        azk_cred_list(o->store, orphan_cb, &h);
        if (h.found) {
            struct azk_cert_summary s;
            bool named = false;
            STACK_OF(X509) *other = load(o->store, h.tag, AZK_CRED_CLIENT_CERT);
            if (other != NULL && sk_X509_num(other) > 0) {
                azki_x509_summarize(sk_X509_value(other, 0), &s);
                named = true;
            }
            sk_X509_pop_free(other, X509_free);
            bool key = false;
            azk_cred_exists(o->store, h.tag, AZK_CRED_PRIVATE_KEY, &key);
            char fix[AZK_DOCTOR_TEXT];
            snprintf(fix, sizeof(fix),
                     "Make the socket offer sec_tag %u (NCS: CONFIG_MQTT_HELPER_SEC_TAG=%u; "
                     "before NCS 2.3 CONFIG_AZURE_IOT_HUB_SEC_TAG=%u), or write the "
                     "certificate and key into %s: `azkit cred provision --sec-tag %u --cert "
                     "CHAIN --key KEY`.", (unsigned)h.tag, (unsigned)h.tag, (unsigned)h.tag,
                     offered, (unsigned)o->tags[0]);
            azk_doctor_add(r, "client.cert", AZK_CHECK_FAIL, fix,
                           "none of the socket's tags (%s) holds a client certificate: sec_tag "
                           "%u holds '%s' (type 1)%s, but the socket never offers sec_tag %u",
                           offered, (unsigned)h.tag, named ? s.subject_cn : "?",
                           key ? " and its private key (type 2)" : "", (unsigned)h.tag);
            return;
        }
        azk_doctor_add(r, "client.cert", AZK_CHECK_FAIL,
                       "Write the device's certificate (then its intermediates) as type 1 into "
                       "the tag: `azkit cred provision --sec-tag N --cert CHAIN --key KEY`.",
                       "none of the socket's tags (%s) holds a client certificate (type 1), "
                       "and no other tag does: Azure X.509 devices authenticate with one",
                       offered);
        return;
    }
    STACK_OF(X509) *chain = load(o->store, tag, AZK_CRED_CLIENT_CERT);
    if (chain == NULL) {
        azk_doctor_add(r, "client.cert", AZK_CHECK_FAIL,
                       "Write it again with `azkit cred write` (it validates).",
                       "sec_tag %u type 1 does not parse as PEM certificates", (unsigned)tag);
        return;
    }
    X509 *leaf = sk_X509_value(chain, 0);
    struct azk_cert_summary s;
    azki_x509_summarize(leaf, &s);
    int n = sk_X509_num(chain);
    if (s.is_ca) {
        azk_doctor_add(r, "client.cert", AZK_CHECK_FAIL,
                       "Type 1 holds the device's own certificate first (CN = its id), then its "
                       "intermediates; CA certificates the device trusts go in type 0.",
                       "sec_tag %u type 1 starts with a CA certificate ('%s'): a root CA was "
                       "written as the client certificate", (unsigned)tag, s.subject_cn);
        sk_X509_pop_free(chain, X509_free);
        return;
    }
    azk_doctor_add(r, "client.cert", AZK_CHECK_OK, NULL,
                   "sec_tag %u type 1: '%s' issued by '%s'%s, %s, valid until %s",
                   (unsigned)tag, s.subject_cn, s.issuer_cn,
                   n > 1 ? " with its intermediate(s)" : "", s.key_type, s.not_after);

    /* Validity and usage. */
    if (s.validity != 0)
        azk_doctor_add(r, "client.validity", AZK_CHECK_FAIL,
                       "Issue a new device certificate (and check the device's clock).",
                       "the device certificate is %s (valid %s to %s)",
                       s.validity > 0 ? "expired" : "not valid yet", s.not_before, s.not_after);
    /* A warning: Microsoft documents no EKU requirement ("You can use any X.509 certificate
     * to authenticate a device with IoT Hub", learn.microsoft.com/azure/iot-hub/
     * authenticate-authorize-x509), and azkit-hub accepts such a device; strict TLS servers
     * and brokers check it. */
    if (s.has_eku && !s.client_auth)
        azk_doctor_add(r, "client.eku", AZK_CHECK_WARN,
                       "Issue the certificate with extendedKeyUsage clientAuth (`azkit pki "
                       "device` does) if the server checks it.",
                       "the device certificate's extended key usage does not include "
                       "clientAuth: Azure documents no such requirement, but TLS servers that "
                       "check the purpose refuse it as a client certificate");

    /* The chain: what DPS enrollment groups need. */
    if (s.self_signed)
        azk_doctor_add(r, "client.chain", AZK_CHECK_INFO, NULL,
                       "self-signed device certificate: it authenticates by thumbprint "
                       "(individual enrollment, or a hub device registered with its "
                       "thumbprint %s)", s.sha256);
    else if (n == 1)
        azk_doctor_add(r, "client.chain", AZK_CHECK_WARN,
                       "Write the leaf followed by its intermediate(s) as type 1 (the .chain.pem "
                       "of `azkit pki device`).",
                       "type 1 holds only the leaf (issued by '%s'): every intermediate "
                       "between the leaf and the enrolled CA must be sent, also for a DPS "
                       "enrollment group (or hub CA) on the root, or the device is refused "
                       "(401002 / CONNACK 5); only an individual enrollment of this leaf needs "
                       "none", s.issuer_cn);
    else
        azk_doctor_add(r, "client.chain", AZK_CHECK_OK, NULL,
                       "the device sends %d certificates (leaf + %d intermediate%s)", n, n - 1,
                       n == 2 ? "" : "s");

    if (o->enrollment_ca_file != NULL)
        check_enrollment_ca(o, chain, tag, r);

    /* The key: in the same tag, and matching. */
    EVP_PKEY *key = NULL;
    int krc = azki_cred_load_private_key(o->store, tag, &key);
    if (krc == 0 && X509_check_private_key(leaf, key) == 1) {
        azk_doctor_add(r, "client.key", AZK_CHECK_OK, NULL,
                       "sec_tag %u holds the private key of the device certificate",
                       (unsigned)tag);
    } else if (krc == 0) {
        azk_doctor_add(r, "client.key", AZK_CHECK_FAIL,
                       "Write the key that belongs to this certificate into the tag.",
                       "sec_tag %u holds a private key that does not belong to the device "
                       "certificate", (unsigned)tag);
    } else if (krc == -EACCES) {
        /* A modem: the key cannot be read, but whether it is there can be listed, and a key
         * made by azk_cred_keygen() has its public half remembered (cred_keygen.h). */
        bool exists = false;
        azk_cred_exists(o->store, tag, AZK_CRED_PRIVATE_KEY, &exists);
        EVP_PKEY *pub = NULL;
        int prc = exists ? azki_tag_public_key(o->store, tag, &pub) : -ENOENT;
        int same = prc == 0 ? EVP_PKEY_eq(X509_get0_pubkey(leaf), pub) : -1;
        EVP_PKEY_free(pub);
        if (same == 1)
            azk_doctor_add(r, "client.key", AZK_CHECK_OK, NULL,
                           "sec_tag %u holds the private key of the device certificate (the "
                           "modem keeps it; checked against the public key of its keygen CSR)",
                           (unsigned)tag);
        else if (prc == 0)
            azk_doctor_add(r, "client.key", AZK_CHECK_FAIL,
                           "Write the certificate issued for the CSR of this tag's key (azkit "
                           "pki sign-csr, then azkit cred write TAG cert DEVICE.chain.pem), or "
                           "generate a new key with azkit cred keygen TAG --force.",
                           "sec_tag %u holds a private key (made by keygen) that does not "
                           "belong to the device certificate", (unsigned)tag);
        else if (exists)
            azk_doctor_add(r, "client.key", AZK_CHECK_INFO, NULL,
                           "sec_tag %u holds a private key (the store does not release keys, so "
                           "whether it belongs to the certificate shows when the device "
                           "connects)", (unsigned)tag);
        else
            azk_doctor_add(r, "client.key", AZK_CHECK_FAIL,
                           "Write the device's private key into the certificate's tag (a TLS "
                           "socket takes both from one tag).",
                           "sec_tag %u has the device certificate but no private key (type 2)",
                           (unsigned)tag);
    } else {
        struct key_hunt h = {o->store, leaf, o->tags, o->ntags, 0, false};
        azk_cred_list(o->store, hunt_cb, &h);
        if (h.hit)
            azk_doctor_add(r, "client.key", AZK_CHECK_FAIL,
                           "Write the key into the certificate's tag, or name that tag first "
                           "(a TLS socket takes the certificate and the key from one tag).",
                           "the private key of the device certificate is in sec_tag %u, not in "
                           "sec_tag %u with the certificate: the TLS socket never offers it",
                           (unsigned)h.found, (unsigned)tag);
        else {
            /* The fix names the tag: the key must go where the certificate is. */
            char fix[160];
            snprintf(fix, sizeof(fix), "Write the device's private key into sec_tag %u: "
                     "`azkit cred write %u key KEY.pem`.", (unsigned)tag, (unsigned)tag);
            azk_doctor_add(r, "client.key", AZK_CHECK_FAIL, fix,
                           "sec_tag %u has the device certificate but no private key (type 2), "
                           "and no other tag holds it", (unsigned)tag);
        }
    }
    EVP_PKEY_free(key);
    ERR_clear_error();

    /* The id: the CN is what DPS and IoT Hub compare it with. */
    const char *what = o->id_is_registration ? "registration id" : "device id";
    struct azk_id_error ie;
    int valid = o->id_is_registration ? azk_registration_id_validate(azk_span_from_str(s.subject_cn), &ie)
                                      : azk_device_id_validate(azk_span_from_str(s.subject_cn), &ie);
    if (o->id != NULL && strcmp(o->id, s.subject_cn) != 0)
        azk_doctor_add(r, "client.id", AZK_CHECK_FAIL,
                       "Use the CN as the id, or issue a certificate whose CN is the id.",
                       "the device certificate's CN is '%s' but the %s is '%s': DPS refuses the "
                       "registration (401002) and IoT Hub the connection (CONNACK 5)",
                       s.subject_cn, what, o->id);
    else if (valid != 0)
        azk_doctor_add(r, "client.id", AZK_CHECK_WARN,
                       "Issue the certificate with a CN that is a valid id.",
                       "the device certificate's CN '%s' is not a valid %s", s.subject_cn,
                       what);
    else if (o->id != NULL)
        azk_doctor_add(r, "client.id", AZK_CHECK_OK, NULL,
                       "the device certificate's CN equals the %s '%s'", what, o->id);
    else
        azk_doctor_add(r, "client.id", AZK_CHECK_INFO, NULL,
                       "the %s must be the certificate's CN: '%s'", what, s.subject_cn);
    sk_X509_pop_free(chain, X509_free);
}

/* The write-time checks of every credential in the tags (expiry, type misuse, size, ...). */
static void check_each(const struct azk_doctor_opts *o, struct azk_doctor_report *r)
{
    for (size_t i = 0; i < o->ntags; i++) {
        for (int type = 0; type < AZK_CRED_TYPE_COUNT; type++) {
            struct azk_cred_info info;
            struct azk_diag d;
            azk_diag_init(&d);
            if (azk_cred_describe(o->store, o->tags[i], type, &info, &d) != 0)
                continue;
            for (size_t k = 0; k < d.count; k++) {
                const struct azk_finding *f = &d.items[k];
                /* Covered by the checks above, in Azure's terms. */
                if (strcmp(f->code, "cred.key-mismatch") == 0)
                    continue;
                azk_doctor_add(r, f->code,
                               f->severity == AZK_SEV_ERROR     ? AZK_CHECK_FAIL
                               : f->severity == AZK_SEV_WARNING ? AZK_CHECK_WARN
                                                                : AZK_CHECK_INFO,
                               f->fix, "sec_tag %u type %d: %s", (unsigned)o->tags[i], type,
                               f->message);
            }
        }
    }
}

/* No clock that reads earlier than this is right: azkit did not exist then (2025-12-01). */
#define CLOCK_FLOOR 1764547200

static void check_clock(const struct azk_doctor_opts *o, struct azk_doctor_report *r)
{
    int64_t now = o->now ? o->now : (int64_t)time(NULL);
    if (now >= CLOCK_FLOOR)
        return; /* plausible: nothing to say */
    time_t t = (time_t)now;
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    azk_doctor_add(r, "clock", AZK_CHECK_FAIL,
                   "Set the clock (`timedatectl set-ntp true`, or `date -s`); on a device, get "
                   "the time from the network (the nRF91 modem takes it from LTE) before TLS.",
                   "this machine's clock reads %s, before azkit existed: every certificate "
                   "check against it is wrong (new certificates look not yet valid)", when);
}

int azk_doctor_check_store(const struct azk_doctor_opts *o, struct azk_doctor_report *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (o == NULL || o->store == NULL || o->tags == NULL || o->ntags == 0 || o->ntags > 8)
        return -EINVAL;
    if (o->profile == AZK_DOCTOR_PROFILE_NRF9160 && o->ntags > 7) {
        char tags[120];
        tag_list(o, tags, sizeof(tags));
        azk_doctor_add(out, "tags.count", AZK_CHECK_FAIL,
                       "Use at most 7 tags (NCS's Azure library uses two).",
                       "%zu tags given (%s): an nRF9160 socket takes at most 7 "
                       "(NRF_SOCKET_TLS_MAX_SEC_TAG_LIST_SIZE), setsockopt(SO_SEC_TAG_LIST) "
                       "refuses more", o->ntags, tags);
    } else if (o->ntags > 2) {
        char tags[120];
        tag_list(o, tags, sizeof(tags));
        azk_doctor_add(out, "tags.count", AZK_CHECK_WARN,
                       "Keep the device's certificate, key and a root in the primary tag and at "
                       "most a second root in the secondary one.",
                       "%zu tags given (%s): NCS's azure_iot_hub library offers at most two, "
                       "CONFIG_MQTT_HELPER_SEC_TAG and CONFIG_MQTT_HELPER_SECONDARY_SEC_TAG (NCS "
                       "2.3 and later; before: CONFIG_AZURE_IOT_HUB_SEC_TAG and "
                       "CONFIG_AZURE_IOT_HUB_SECONDARY_SEC_TAG); credentials in the other tags "
                       "are never offered", o->ntags, tags);
    }
    check_clock(o, out);
    check_roots(o, out);
    check_client(o, out);
    check_each(o, out);
    return 0;
}

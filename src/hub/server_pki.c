/* azkit-hub's own PKI: root -> intermediate -> server certificate, and the service key. */
#include "hub/server_pki.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/fileio.h"
#include "common/ossl.h"
#include "hub/server_roots.h"
#include "pki/pki_internal.h"

#define STAGING_PREFIX ".pki-new-"
#define SERVER_NEW ".server-new"
#define SERVICE_KEY_BYTES 32
#define ENTRY_MAX 264
#define ENTRIES_MAX (AZK_PKI_SAN_MAX)

/* A list of SAN entries, "DNS:name" or "IP:address". */
struct san_list {
    char v[ENTRIES_MAX][ENTRY_MAX];
    const char *ptr[ENTRIES_MAX];
    size_t n;
};

static int join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool is_ip(const char *s)
{
    unsigned char b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Canonical form of an IP address so that "::0001" and "::1" are the same entry. */
static void ip_canon(const char *s, char *out, size_t len)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, s, b) == 1)
        inet_ntop(AF_INET, b, out, (socklen_t)len);
    else if (inet_pton(AF_INET6, s, b) == 1)
        inet_ntop(AF_INET6, b, out, (socklen_t)len);
    else
        snprintf(out, len, "%s", s);
}

static bool san_has(const struct san_list *l, const char *e)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], e) == 0)
            return true;
    return false;
}

/* Adds "DNS:x" / "IP:x" (x classified when `typed` is false), deduplicated. */
static int san_add(struct san_list *l, const char *value, bool typed)
{
    char e[ENTRY_MAX];
    if (typed && strncmp(value, "IP:", 3) == 0) {
        char c[INET6_ADDRSTRLEN];
        ip_canon(value + 3, c, sizeof(c));
        snprintf(e, sizeof(e), "IP:%s", c);
    } else if (typed) {
        snprintf(e, sizeof(e), "%s", value);
    } else {
        char host[ENTRY_MAX - 8];
        size_t n = strlen(value);
        if (n >= sizeof(host))
            return -EINVAL;
        /* "[::1]" -> "::1" */
        if (n > 2 && value[0] == '[' && value[n - 1] == ']') {
            memcpy(host, value + 1, n - 2);
            host[n - 2] = '\0';
        } else {
            memcpy(host, value, n + 1);
        }
        if (is_ip(host)) {
            char c[INET6_ADDRSTRLEN];
            ip_canon(host, c, sizeof(c));
            snprintf(e, sizeof(e), "IP:%s", c);
        } else {
            snprintf(e, sizeof(e), "DNS:%s", host);
        }
    }
    if (san_has(l, e))
        return 0;
    if (l->n >= ENTRIES_MAX)
        return -E2BIG;
    memcpy(l->v[l->n], e, sizeof(e));
    l->ptr[l->n] = l->v[l->n];
    l->n++;
    return 0;
}

/* Whether the certificate's subjectAltName covers the entry (the CN is never consulted). */
static bool cert_covers(X509 *x, const char *e)
{
    int r;
    if (strncmp(e, "IP:", 3) == 0)
        r = X509_check_ip_asc(x, e + 3, 0);
    else
        r = X509_check_host(x, e + 4, 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL);
    ERR_clear_error();
    return r == 1;
}

/* The certificate's SANs into `l` (appended). */
static void cert_sans(X509 *x, struct san_list *l)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        int type;
        const ASN1_STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &type);
        const unsigned char *data = ASN1_STRING_get0_data(s);
        int len = ASN1_STRING_length(s);
        char e[ENTRY_MAX];
        if (type == GEN_DNS && len > 0 && len < ENTRY_MAX - 5 &&
            memchr(data, '\0', (size_t)len) == NULL) {
            snprintf(e, sizeof(e), "DNS:%.*s", len, (const char *)data);
        } else if (type == GEN_IPADD && (len == 4 || len == 16)) {
            char ip[INET6_ADDRSTRLEN];
            inet_ntop(len == 4 ? AF_INET : AF_INET6, data, ip, sizeof(ip));
            snprintf(e, sizeof(e), "IP:%s", ip);
        } else {
            continue;
        }
        (void)san_add(l, e, true);
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
}

/* ---- files ----------------------------------------------------------------------------- */

static int rename_in(const char *dir, const char *from, const char *to)
{
    char a[1024], b[1024];
    if (join(a, sizeof(a), dir, from) != 0 || join(b, sizeof(b), dir, to) != 0)
        return -ENAMETOOLONG;
    return rename(a, b) == 0 ? 0 : -errno;
}

static void unlink_in(const char *dir, const char *name)
{
    char a[1024];
    if (join(a, sizeof(a), dir, name) == 0)
        unlink(a);
}

/* Removes a flat directory (staging leftovers of a crashed first start). */
static void rm_flat(const char *dir)
{
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlink_in(dir, de->d_name);
    closedir(dh);
    rmdir(dir);
}

static void clean_staging(const char *data)
{
    DIR *dh = opendir(data);
    if (dh == NULL)
        return;
    char victims[8][512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL && n < 8)
        if (strncmp(de->d_name, STAGING_PREFIX, strlen(STAGING_PREFIX)) == 0 &&
            join(victims[n], sizeof(victims[n]), data, de->d_name) == 0)
            n++;
    closedir(dh);
    for (size_t i = 0; i < n; i++)
        rm_flat(victims[i]);
}

/* Makes `path` exactly `mode` when it is looser; says so. */
static void fix_mode(const char *path, mode_t mode, struct azk_diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0 || (st.st_mode & 07777) == mode)
        return;
    if (chmod(path, mode) == 0)
        azk_diag_add(d, AZK_SEV_INFO, "hub.pki-mode-fixed", NULL, "%s was mode %04o; now %04o",
                     path, (unsigned)(st.st_mode & 07777), (unsigned)mode);
}

static int load_certs_file(const char *path, STACK_OF(X509) **out)
{
    char *buf;
    size_t len;
    int rc = azki_file_read_all(path, &buf, &len);
    if (rc != 0)
        return rc;
    rc = azki_load_certs(buf, len, out, NULL);
    free(buf);
    return rc;
}

/* ---- creation -------------------------------------------------------------------------- */

static const char *pki_error(const struct azk_diag *d)
{
    for (size_t i = 0; d != NULL && i < d->count; i++)
        if (d->items[i].severity == AZK_SEV_ERROR)
            return d->items[i].message;
    return "";
}

/* Issues dir/server-chain.pem + server.key.pem + server.pem under dir/intermediate.pem. */
static int issue_server(const char *dir, const struct san_list *sans, const char *cn,
                        enum azk_key_alg alg, size_t *chain_len, struct azk_diag *d)
{
    char ic[1024], ik[1024], prefix[1024], chain[1024];
    if (join(ic, sizeof(ic), dir, "intermediate.pem") != 0 ||
        join(ik, sizeof(ik), dir, "intermediate.key.pem") != 0 ||
        join(prefix, sizeof(prefix), dir, SERVER_NEW) != 0 ||
        join(chain, sizeof(chain), dir, SERVER_NEW ".chain.pem") != 0)
        return -ENAMETOOLONG;
    struct azk_pki_request req;
    memset(&req, 0, sizeof(req));
    req.kind = AZK_PKI_SERVER;
    req.common_name = cn;
    req.key_alg = alg;
    req.issuer_cert = ic;
    req.issuer_key = ik;
    req.out_prefix = prefix;
    req.force = true; /* leftovers of an interrupted reissue */
    req.san = sans->ptr;
    req.san_count = sans->n;
    struct azk_pki_result res;
    struct azk_diag sub;
    azk_diag_init(&sub);
    int rc = azk_pki_create(&req, &res, &sub);
    if (rc != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-server-failed",
                     "Check the --hostname values (DNS names or IP addresses).",
                     "cannot issue the hub's server certificate: %s", pki_error(&sub));
        return rc;
    }
    struct stat st;
    if (stat(chain, &st) != 0) {
        rc = -errno;
    } else if (st.st_size >= HUB_PKI_CHAIN_MAX) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-chain-too-big",
                     "Use fewer --hostname values (or shorter ones); devices such as the nRF91 "
                     "cannot take a larger chain.",
                     "the server chain would be %lld bytes; it must stay under %d",
                     (long long)st.st_size, HUB_PKI_CHAIN_MAX);
        rc = -EFBIG;
    }
    if (rc == 0) {
        *chain_len = (size_t)st.st_size;
        /* Key first: a crash in between leaves a key that does not match the chain, which the
         * next start detects and repairs by reissuing. */
        rc = rename_in(dir, SERVER_NEW ".key.pem", "server.key.pem");
        if (rc == 0)
            rc = rename_in(dir, SERVER_NEW ".chain.pem", "server-chain.pem");
        if (rc == 0)
            rc = rename_in(dir, SERVER_NEW ".cert.pem", "server.pem");
        if (rc == 0)
            rc = azki_fsync_dir(dir);
    }
    if (rc != 0) {
        unlink_in(dir, SERVER_NEW ".key.pem");
        unlink_in(dir, SERVER_NEW ".chain.pem");
        unlink_in(dir, SERVER_NEW ".cert.pem");
    }
    return rc;
}

static int make_service_key(const char *dir, struct azk_diag *d)
{
    unsigned char raw[SERVICE_KEY_BYTES];
    unsigned char b64[64];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    int n = EVP_EncodeBlock(b64, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    b64[n] = '\n';
    int rc = azki_atomic_write(dir, "service.key", b64, (size_t)n + 1, 0600, true, NULL, NULL);
    OPENSSL_cleanse(b64, sizeof(b64));
    if (rc != 0)
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-write-failed", NULL,
                     "cannot write %s/service.key: %s", dir, azk_strerror(rc));
    return rc;
}

/* Root and intermediate into `dir` (a fresh staging directory), named as in the layout.
 * `label` ("Current", "Legacy") names the root: "azkit-hub <label> Test Root <8 hex>" (the
 * random part keeps the subjects of two hubs' roots apart in one trust store). */
static int create_cas(const char *dir, const char *label, enum azk_key_alg alg,
                      struct azk_diag *d)
{
    char prefix[1024], ic[1024], ik[1024], cn[64], icn[64];
    unsigned char rnd[4];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -EIO;
    snprintf(cn, sizeof(cn), "azkit-hub %s Test Root %02X%02X%02X%02X", label, rnd[0], rnd[1],
             rnd[2], rnd[3]);
    snprintf(icn, sizeof(icn), "azkit-hub %s Test Intermediate", label);
    struct azk_pki_request req;
    memset(&req, 0, sizeof(req));
    req.kind = AZK_PKI_ROOT;
    req.common_name = cn;
    req.key_alg = alg;
    req.out_prefix = prefix;
    struct azk_pki_result res;
    struct azk_diag sub;
    azk_diag_init(&sub);
    int rc = join(prefix, sizeof(prefix), dir, "ca");
    if (rc == 0)
        rc = azk_pki_create(&req, &res, &sub);
    if (rc == 0)
        rc = rename_in(dir, "ca.cert.pem", "ca.pem");
    if (rc == 0) {
        memset(&req, 0, sizeof(req));
        req.kind = AZK_PKI_INTERMEDIATE;
        req.common_name = icn;
        req.key_alg = alg;
        req.out_prefix = prefix;
        req.issuer_cert = ic;
        req.issuer_key = ik;
        rc = join(prefix, sizeof(prefix), dir, "intermediate");
        if (rc == 0)
            rc = join(ic, sizeof(ic), dir, "ca.pem");
        if (rc == 0)
            rc = join(ik, sizeof(ik), dir, "ca.key.pem");
        if (rc == 0)
            rc = azk_pki_create(&req, &res, &sub);
    }
    if (rc == 0)
        rc = rename_in(dir, "intermediate.cert.pem", "intermediate.pem");
    if (rc == 0)
        unlink_in(dir, "intermediate.chain.pem");
    if (rc != 0)
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-create-failed",
                     "Check that the data directory is writable.",
                     "cannot create the hub's CA certificates: %s",
                     sub.count ? pki_error(&sub) : azk_strerror(rc));
    return rc;
}

static int create_all(const char *data, const char *pki_dir, const struct san_list *sans,
                      const char *cn, enum azk_key_alg alg, size_t *chain_len,
                      struct azk_diag *d)
{
    char staging[1024];
    if (join(staging, sizeof(staging), data, STAGING_PREFIX "XXXXXX") != 0)
        return -ENAMETOOLONG;
    if (mkdtemp(staging) == NULL) {
        int rc = -errno;
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-write-failed",
                     "Check that the data directory is writable.", "cannot create a directory in %s: %s",
                     data, azk_strerror(rc));
        return rc;
    }
    int rc = create_cas(staging, "Current", alg, d);
    if (rc == 0)
        rc = issue_server(staging, sans, cn, alg, chain_len, d);
    if (rc == 0)
        rc = make_service_key(staging, d);
    if (rc == 0 && rename(staging, pki_dir) != 0)
        rc = -errno;
    if (rc == 0)
        rc = azki_fsync_dir(data);
    if (rc != 0)
        rm_flat(staging);
    return rc;
}

/* ---- reuse ----------------------------------------------------------------------------- */

/* Why the server certificate must be reissued ("" when it is fine). Appends its SANs to `keep`
 * when it is readable. */
static void server_check(const char *dir, X509 *inter, const struct san_list *want,
                         struct san_list *keep, enum azk_key_alg *alg, char *why, size_t wlen)
{
    char chain[1024], key[1024];
    why[0] = '\0';
    STACK_OF(X509) *certs = NULL;
    EVP_PKEY *k = NULL;
    if (join(chain, sizeof(chain), dir, "server-chain.pem") != 0 ||
        join(key, sizeof(key), dir, "server.key.pem") != 0 ||
        load_certs_file(chain, &certs) != 0) {
        snprintf(why, wlen, "server-chain.pem is missing or damaged");
        goto out;
    }
    X509 *leaf = sk_X509_value(certs, 0);
    cert_sans(leaf, keep);
    EVP_PKEY *pub = X509_get0_pubkey(leaf);
    if (pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
        *alg = AZK_KEY_RSA_2048;
    if (sk_X509_num(certs) != 2 || X509_cmp(sk_X509_value(certs, 1), inter) != 0 ||
        X509_check_issued(inter, leaf) != X509_V_OK ||
        X509_verify(leaf, X509_get0_pubkey(inter)) != 1) {
        snprintf(why, wlen, "server-chain.pem is not the server certificate + intermediate.pem");
        goto out;
    }
    if (azki_pki_key_load(key, "server key", &k, NULL) != 0 || pub == NULL ||
        EVP_PKEY_eq(pub, k) != 1) {
        snprintf(why, wlen, "server.key.pem is missing or does not belong to the certificate");
        goto out;
    }
    time_t soon = time(NULL) + HUB_PKI_RENEW_SECONDS;
    if (X509_cmp_time(X509_get0_notAfter(leaf), &soon) <= 0) {
        char when[21];
        azki_asn1_time_iso(X509_get0_notAfter(leaf), when);
        snprintf(why, wlen, "it expires on %s", when);
        goto out;
    }
    if (X509_cmp_time(X509_get0_notBefore(leaf), NULL) > 0) {
        snprintf(why, wlen, "it is not valid yet (the clock went back?)");
        goto out;
    }
    for (size_t i = 0; i < want->n; i++) {
        if (!cert_covers(leaf, want->v[i])) {
            snprintf(why, wlen, "hostname '%s' is not in its subjectAltName",
                     strchr(want->v[i], ':') + 1);
            goto out;
        }
    }
out:
    EVP_PKEY_free(k);
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
}

static int load_service_key(const char *dir, struct hub_pki *p, struct azk_diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(p->service_key_path, &buf, &len);
    if (rc == -ENOENT) {
        azk_diag_add(d, AZK_SEV_INFO, "hub.pki-service-key-created", NULL,
                     "%s was missing; a new service key was made (old connection strings no "
                     "longer work)",
                     p->service_key_path);
        rc = make_service_key(dir, d);
        if (rc == 0)
            rc = azki_file_read_all(p->service_key_path, &buf, &len);
    }
    if (rc != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-service-key", NULL, "cannot read %s: %s",
                     p->service_key_path, azk_strerror(rc));
        return rc;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    unsigned char raw[64];
    int n = len == 44 ? EVP_DecodeBlock(raw, (const unsigned char *)buf, 44) : -1;
    OPENSSL_cleanse(raw, sizeof(raw));
    /* 44 base64 characters with one '=' of padding: 33 decoded bytes, the last is padding. */
    if (n != 33 || buf[43] != '=' || buf[42] == '=') {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-service-key",
                     "Remove the file to make a new key (existing connection strings stop "
                     "working).",
                     "%s does not hold a base64 32-byte key", p->service_key_path);
        OPENSSL_clear_free(buf, len);
        return -EBADMSG;
    }
    memcpy(p->service_key, buf, len + 1);
    OPENSSL_clear_free(buf, len);
    return 0;
}

/* What to remove when a root's CA files are damaged, and what devices then trust anew. */
static const char *damaged_fix(bool legacy)
{
    return legacy ? "Restore the file, or remove the pki/legacy directory to create a new legacy "
                    "root (devices must then trust the new root-legacy.pem)."
                  : "Restore the file, or remove the pki directory to create a new PKI "
                    "(devices must then trust the new ca.pem).";
}

/* Checks the CA files of `dir` (the current root's, or the legacy root's when `legacy`), fixes
 * key modes, and reissues its server certificate when needed (setting *chain_len and
 * *reissued). */
static int reuse(const char *dir, bool legacy, const struct san_list *want, const char *cn,
                 size_t *chain_len, bool *reissued, struct azk_diag *d)
{
    static const char *const needed[] = {"ca.pem", "ca.key.pem", "intermediate.pem",
                                         "intermediate.key.pem"};
    char path[1024];
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (join(path, sizeof(path), dir, needed[i]) != 0)
            return -ENAMETOOLONG;
        if (access(path, R_OK) != 0) {
            int rc = -errno;
            azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-damaged", damaged_fix(legacy), "%s: %s",
                         path, azk_strerror(rc));
            return rc == -ENOENT ? -EBADMSG : rc;
        }
    }
    static const char *const keys[] = {"ca.key.pem", "intermediate.key.pem", "server.key.pem",
                                       "service.key"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (join(path, sizeof(path), dir, keys[i]) == 0)
            fix_mode(path, 0600, d);
    STACK_OF(X509) *inter = NULL;
    int rc = join(path, sizeof(path), dir, "intermediate.pem");
    if (rc == 0 && (rc = load_certs_file(path, &inter)) != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-damaged", damaged_fix(legacy),
                     "%s does not hold a certificate", path);
        return -EBADMSG;
    }
    struct san_list *keep = calloc(1, sizeof(*keep));
    if (keep == NULL) {
        sk_X509_pop_free(inter, X509_free);
        return -ENOMEM;
    }
    enum azk_key_alg alg = AZK_KEY_EC_P256;
    char why[300];
    server_check(dir, sk_X509_value(inter, 0), want, keep, &alg, why, sizeof(why));
    sk_X509_pop_free(inter, X509_free);
    if (why[0] != '\0') {
        /* The new certificate keeps every name the old one had. */
        for (size_t i = 0; rc == 0 && i < want->n; i++)
            rc = san_add(keep, want->v[i], true);
        if (rc != 0)
            azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-chain-too-big", "Use fewer --hostname values.",
                         "too many hostnames (at most %d)", ENTRIES_MAX);
        if (rc == 0)
            rc = issue_server(dir, keep, cn, alg, chain_len, d);
        if (rc == 0) {
            *reissued = true;
            azk_diag_add(d, AZK_SEV_INFO, "hub.pki-reissued",
                         legacy ? "Nothing to do on devices: the root (root-legacy.pem) is "
                                  "unchanged."
                                : "Nothing to do on devices: the root (ca.pem) is unchanged.",
                         "reissued the server certificate (%s/server-chain.pem): %s", dir, why);
        }
    }
    free(keep);
    return rc;
}

/* ---- the legacy root ------------------------------------------------------------------ */

/* Size of a file into *len (when *len is still 0). */
static int file_size(const char *path, size_t *len)
{
    struct stat st;
    if (*len != 0)
        return 0;
    if (stat(path, &st) != 0)
        return -errno;
    *len = (size_t)st.st_size;
    return 0;
}

/* <pki>/legacy: created (in a staging directory, renamed into place) when missing, else
 * checked and its server certificate reissued like the current one's. */
static int legacy_init(const char *data, const struct san_list *want, const char *cn,
                       enum azk_key_alg alg, struct hub_pki *p, struct azk_diag *d)
{
    struct hub_pki_root *lr = &p->roots[HUB_ROOT_LEGACY];
    char dir[1024];
    if (join(dir, sizeof(dir), p->dir, "legacy") != 0)
        return -ENAMETOOLONG;
    struct stat st;
    if (stat(dir, &st) == 0) {
        fix_mode(dir, 0700, d);
        bool reissued = false;
        int rc = reuse(dir, true, want, cn, &lr->chain_len, &reissued, d);
        return rc != 0 ? rc : file_size(lr->chain_path, &lr->chain_len);
    }
    if (errno != ENOENT)
        return -errno;
    char staging[1024];
    if (join(staging, sizeof(staging), data, STAGING_PREFIX "XXXXXX") != 0)
        return -ENAMETOOLONG;
    if (mkdtemp(staging) == NULL) {
        int rc = -errno;
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-write-failed",
                     "Check that the data directory is writable.",
                     "cannot create a directory in %s: %s", data, azk_strerror(rc));
        return rc;
    }
    int rc = create_cas(staging, "Legacy", alg, d);
    if (rc == 0)
        rc = issue_server(staging, want, cn, alg, &lr->chain_len, d);
    if (rc == 0 && rename(staging, dir) != 0)
        rc = -errno;
    if (rc == 0)
        rc = azki_fsync_dir(p->dir);
    if (rc != 0) {
        rm_flat(staging);
        return rc;
    }
    azk_diag_add(d, AZK_SEV_INFO, "hub.pki-legacy-created", NULL,
                 "created the hub's legacy server root in %s (devices trust it with %s; the "
                 "current root, ca.pem, is unchanged)", dir, p->roots[HUB_ROOT_LEGACY].root_path);
    return 0;
}

/* ---- API ------------------------------------------------------------------------------- */

static int check_opts(const struct hub_pki_opts *o, struct san_list *want,
                      struct azk_diag *d)
{
    if (o->data_dir == NULL || o->data_dir[0] == '\0' || strlen(o->data_dir) > 400 ||
        (o->key_alg != AZK_KEY_EC_P256 && o->key_alg != AZK_KEY_RSA_2048) ||
        o->hostname_count > HUB_PKI_HOSTNAMES_MAX ||
        (o->hostname_count > 0 && o->hostnames == NULL)) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-bad-options", NULL,
                     "bad PKI options (data directory missing or longer than 400 bytes, unknown "
                     "key type, or more than %d hostnames)",
                     HUB_PKI_HOSTNAMES_MAX);
        return -EINVAL;
    }
    static const char *const defaults[] = {"localhost", "127.0.0.1", "::1"};
    for (size_t i = 0; i < 3; i++)
        (void)san_add(want, defaults[i], false);
    for (size_t i = 0; i < o->hostname_count; i++) {
        const char *h = o->hostnames[i];
        if (h == NULL || h[0] == '\0' || san_add(want, h, false) != 0) {
            azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-bad-hostname",
                         "Give a DNS name or an IP address.", "bad hostname '%.80s'",
                         h ? h : "(null)");
            return -EINVAL;
        }
    }
    struct azk_pki_request req;
    memset(&req, 0, sizeof(req));
    req.kind = AZK_PKI_SERVER;
    req.common_name = "localhost";
    req.san = want->ptr;
    req.san_count = want->n;
    struct azk_diag sub;
    azk_diag_init(&sub);
    if (azki_pki_san_check(&req, &sub) != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-bad-hostname",
                     "Give a DNS name (letters, digits, '-', '.') or an IP address.", "%s",
                     pki_error(&sub));
        return -EINVAL;
    }
    return 0;
}

int hub_pki_init(const struct hub_pki_opts *opts, struct hub_pki *p,
                     struct azk_diag *d)
{
    if (opts == NULL || p == NULL)
        return -EINVAL;
    memset(p, 0, sizeof(*p));
    struct san_list *want = calloc(1, sizeof(*want));
    if (want == NULL)
        return -ENOMEM;
    int rc = check_opts(opts, want, d);
    if (rc != 0)
        goto out;
    const char *data = opts->data_dir;
    /* Host for the connection string and CN: the first extra hostname, else localhost. */
    const char *first = want->n > 3 ? strchr(want->v[3], ':') + 1 : "localhost";
    snprintf(p->host, sizeof(p->host), "%s", first);
    const char *cn = strlen(first) <= 64 ? first : "localhost";
    if (join(p->dir, sizeof(p->dir), data, "pki") != 0 ||
        join(p->ca_path, sizeof(p->ca_path), p->dir, "ca.pem") != 0 ||
        join(p->chain_path, sizeof(p->chain_path), p->dir, "server-chain.pem") != 0 ||
        join(p->key_path, sizeof(p->key_path), p->dir, "server.key.pem") != 0 ||
        join(p->service_key_path, sizeof(p->service_key_path), p->dir, "service.key") != 0 ||
        hub_pki_root_paths(p) != 0) {
        rc = -ENAMETOOLONG;
        goto out;
    }
    rc = azki_mkdir_p(data, 0700);
    if (rc != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-data-dir", NULL,
                     "cannot create the data directory %s: %s", data, azk_strerror(rc));
        goto out;
    }
    fix_mode(data, 0700, d);
    clean_staging(data);
    struct stat st;
    if (stat(p->dir, &st) != 0 && errno == ENOENT) {
        rc = create_all(data, p->dir, want, cn, opts->key_alg, &p->chain_len, d);
        if (rc != 0)
            goto out;
        p->created = true;
        azk_diag_add(d, AZK_SEV_INFO, "hub.pki-created",
                     "Give devices and service clients this root to trust.",
                     "created the hub's PKI in %s; devices must trust %s", p->dir, p->ca_path);
    } else {
        fix_mode(p->dir, 0700, d);
        rc = reuse(p->dir, false, want, cn, &p->chain_len, &p->reissued, d);
        if (rc != 0)
            goto out;
    }
    rc = load_service_key(p->dir, p, d);
    if (rc == 0)
        rc = file_size(p->chain_path, &p->chain_len);
    p->roots[HUB_ROOT_CURRENT].chain_len = p->chain_len;
    if (rc == 0)
        rc = legacy_init(data, want, cn, opts->key_alg, p, d);
    if (rc == 0)
        rc = hub_pki_publish_roots(p, d);
    if (rc == 0 && p->roots[HUB_ROOT_LEGACY].chain_len >= HUB_PKI_CHAIN_MAX) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-chain-too-big",
                     "Remove legacy/server-chain.pem and legacy/server.key.pem and start with "
                     "fewer --hostname values.",
                     "%s is %zu bytes; it must stay under %d",
                     p->roots[HUB_ROOT_LEGACY].chain_path, p->roots[HUB_ROOT_LEGACY].chain_len,
                     HUB_PKI_CHAIN_MAX);
        rc = -EFBIG;
    }
    if (rc == 0 && p->chain_len >= HUB_PKI_CHAIN_MAX) {
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-chain-too-big",
                     "Remove server-chain.pem and server.key.pem and start with fewer "
                     "--hostname values.",
                     "%s is %zu bytes; it must stay under %d", p->chain_path, p->chain_len,
                     HUB_PKI_CHAIN_MAX);
        rc = -EFBIG;
    }
out:
    free(want);
    if (rc != 0)
        OPENSSL_cleanse(p->service_key, sizeof(p->service_key));
    return rc;
}

int hub_pki_connection_string(const struct hub_pki *p, const char *host, char *buf,
                                  size_t len)
{
    if (p == NULL || buf == NULL || len == 0)
        return -EINVAL;
    int n = snprintf(buf, len, "HostName=%s;SharedAccessKeyName=iothubowner;SharedAccessKey=%s",
                     host != NULL ? host : p->host, p->service_key);
    if (n < 0 || (size_t)n >= len) {
        OPENSSL_cleanse(buf, len);
        buf[0] = '\0';
        return -ENOSPC;
    }
    return n;
}

int hub_pki_print_connection_string(FILE *f, const struct hub_pki *p, const char *host)
{
    char buf[600];
    int n = hub_pki_connection_string(p, host, buf, sizeof(buf));
    if (n < 0)
        return n;
    int rc = fprintf(f, "%s\n", buf) < 0 ? -EIO : 0;
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* subjectAltName of server certificates: parse "DNS:x" / "IP:a.b.c.d" / "IP:::1" entries,
 * check them, and add the extension. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/pki_internal.h"

#define DNS_MAX 253

/* Splits one entry into its type and value; a bare value is an IP address when it parses. */
static void classify(const char *entry, bool *is_ip, const char **value)
{
    if (strncasecmp(entry, "DNS:", 4) == 0) {
        *is_ip = false;
        *value = entry + 4;
    } else if (strncasecmp(entry, "IP:", 3) == 0) {
        *is_ip = true;
        *value = entry + 3;
    } else {
        unsigned char buf[16];
        *is_ip = inet_pton(AF_INET, entry, buf) == 1 || inet_pton(AF_INET6, entry, buf) == 1;
        *value = entry;
    }
}

/* Binary form of an IP address: 4 or 16 bytes, 0 when it does not parse. */
static size_t ip_bytes(const char *s, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 16;
    return 0;
}

static bool dns_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DNS_MAX || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
        return false;
    const char *p = s;
    if (strncmp(p, "*.", 2) == 0)
        p += 2;
    size_t label = 0;
    for (; *p; p++) {
        char c = *p;
        if (c == '.') {
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok || ++label > 63)
            return false;
    }
    return true;
}

/* The entries to use: the request's, or the CN alone. */
static size_t entries(const struct azk_pki_request *req, const char *const **out)
{
    if (req->san_count > 0) {
        *out = req->san;
        return req->san_count;
    }
    *out = &req->common_name;
    return 1;
}

int azki_pki_san_check(const struct azk_pki_request *req, struct azk_diag *d)
{
    if (req->kind != AZK_PKI_SERVER) {
        if (req->san_count == 0)
            return 0;
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-san",
                     "Only server certificates carry subjectAltName entries.",
                     "a %s takes no subjectAltName", azki_pki_kind_name(req->kind));
        return -EINVAL;
    }
    if (req->san_count > AZK_PKI_SAN_MAX || (req->san_count > 0 && req->san == NULL)) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-san", "Give at most 64 names.",
                     "%zu subjectAltName entries requested; at most %d are allowed",
                     req->san_count, AZK_PKI_SAN_MAX);
        return -EINVAL;
    }
    const char *const *list;
    size_t n = entries(req, &list);
    for (size_t i = 0; i < n; i++) {
        const char *e = list[i];
        bool ip;
        const char *v;
        if (e == NULL) {
            azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-san", NULL, "subjectAltName entry %zu is NULL",
                         i);
            return -EINVAL;
        }
        classify(e, &ip, &v);
        unsigned char buf[16];
        if (ip && ip_bytes(v, buf) == 0) {
            azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-san",
                         "Write an IPv4 address as 192.0.2.10 and an IPv6 address as 2001:db8::1 "
                         "(no brackets, no port).",
                         "'%.80s' is not an IP address", v);
            return -EINVAL;
        }
        if (!ip && !dns_ok(v)) {
            azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-san",
                         "A DNS name has labels of letters, digits, '-' and '_' separated by dots "
                         "(a leading '*.' is allowed), at most 253 characters; prefix IP "
                         "addresses with IP:.",
                         "'%.80s' is not a valid DNS name", v);
            return -EINVAL;
        }
    }
    return 0;
}

static bool same_name(GENERAL_NAMES *names, int type, const void *data, size_t len)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        int t;
        const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &t);
        if (t != type || (size_t)ASN1_STRING_length(s) != len)
            continue;
        if (type == GEN_DNS ? strncasecmp((const char *)ASN1_STRING_get0_data(s), data, len) == 0
                            : memcmp(ASN1_STRING_get0_data(s), data, len) == 0)
            return true;
    }
    return false;
}

static int push_name(GENERAL_NAMES *names, int type, const void *data, size_t len)
{
    if (same_name(names, type, data, len))
        return 0;
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_STRING *s = ASN1_STRING_type_new(type == GEN_DNS ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);
    if (g == NULL || s == NULL || ASN1_STRING_set(s, data, (int)len) != 1) {
        GENERAL_NAME_free(g);
        ASN1_STRING_free(s);
        return -ENOMEM;
    }
    GENERAL_NAME_set0_value(g, type, s);
    if (!sk_GENERAL_NAME_push(names, g)) {
        GENERAL_NAME_free(g);
        return -ENOMEM;
    }
    return 0;
}

int azki_pki_san_add(X509 *x, const struct azk_pki_request *req)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (names == NULL)
        return -ENOMEM;
    const char *const *list;
    size_t n = entries(req, &list);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool ip;
        const char *v;
        classify(list[i], &ip, &v);
        unsigned char buf[16];
        size_t len = ip ? ip_bytes(v, buf) : strlen(v);
        if (ip && len == 0)
            rc = -EINVAL;
        else
            rc = push_name(names, ip ? GEN_IPADD : GEN_DNS, ip ? (const void *)buf : v, len);
    }
    if (rc == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1)
        rc = -EIO;
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    return rc;
}

/* azk_cred_provision(): an Azure device laid out in security tags in one call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "azkit/cred_provision.h"
#include "common/ossl.h"
#include "cred/internal.h"

/* Validates one input as `type` the way a write would; the findings name the input. */
static int check_input(int type, const struct azk_pem_input *in, const char *passphrase,
                       struct azki_validated *v, struct azk_diag *d)
{
    struct azk_diag local;
    azk_diag_init(&local);
    struct azki_canon canon;
    int rc = azki_canonicalize(in->data, in->len, &canon, &local);
    if (rc == 0) {
        rc = azki_validate(type, canon.data, canon.len, passphrase, v, &local);
        azki_canon_free(&canon);
    }
    if (rc != 0)
        for (size_t i = 0; i < local.count; i++)
            if (local.items[i].severity == AZK_SEV_ERROR)
                azk_diag_add(d, AZK_SEV_ERROR, local.items[i].code, local.items[i].fix,
                             "%s: %s", in->origin ? in->origin : "input", local.items[i].message);
    return rc;
}

/* Appends PEM text, separated by exactly one LF (no blank line: the result is what
 * `cat a.pem b.pem` gives, in canonical form). */
static int append_pem(char **buf, size_t *len, const char *pem, size_t n)
{
    while (n > 0 && (pem[n - 1] == '\n' || pem[n - 1] == '\r' || pem[n - 1] == ' '))
        n--;
    char *nb = realloc(*buf, *len + n + 2);
    if (nb == NULL)
        return -ENOMEM;
    if (*len > 0)
        nb[(*len)++] = '\n';
    memcpy(nb + *len, pem, n);
    *len += n;
    nb[*len] = '\0';
    *buf = nb;
    return 0;
}

/* Records a written credential; the size is what the store holds (canonical form). */
static void add_step(struct azk_credstore *store, struct azk_provision_report *r,
                     azk_sec_tag_t tag, int type, const char *what, const char *why)
{
    if (r == NULL || r->count >= AZK_PROVISION_MAX_STEPS)
        return;
    struct azk_cred_info info;
    size_t size = azk_cred_describe(store, tag, type, &info, NULL) == 0 ? info.size : 0;
    struct azk_provision_step *s = &r->steps[r->count++];
    s->tag = tag;
    s->type = type;
    s->size = size;
    snprintf(s->what, sizeof(s->what), "%s", what);
    snprintf(s->why, sizeof(s->why), "%s", why);
}

/* Writes one credential; the write's findings are kept except key-mismatch warnings, which
 * would only compare against what this run is about to replace (the pair was checked). */
static int write_one(struct azk_credstore *s, azk_sec_tag_t tag, int type, const char *data,
                     size_t len, const char *passphrase, struct azk_diag *d)
{
    struct azk_diag local;
    azk_diag_init(&local);
    struct azk_cred_write_opts o = {.passphrase = passphrase};
    int rc = azk_cred_write_ex(s, tag, (enum azk_cred_type)type, data, len, &o, &local);
    for (size_t i = 0; i < local.count; i++) {
        const struct azk_finding *f = &local.items[i];
        if (strcmp(f->code, "cred.key-mismatch") == 0)
            continue;
        azk_diag_add(d, f->severity, f->code, f->fix, "sec_tag %u type %d: %s", (unsigned)tag,
                     type, f->message);
    }
    return rc;
}

static void ca_names(const char *pem, size_t len, char *out, size_t outlen)
{
    struct azk_cert_summary sum[4];
    size_t n = 0;
    out[0] = '\0';
    if (azk_x509_summarize_pem(pem, len, sum, 4, &n, NULL) != 0)
        return;
    size_t used = 0;
    for (size_t i = 0; i < n && i < 4; i++)
        used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "%s%s",
                                 i ? " + " : "", sum[i].subject_cn);
}

AZK_API int azk_cred_provision(struct azk_credstore *store, const struct azk_provision_opts *o,
                               struct azk_provision_report *report, struct azk_diag *diag)
{
    if (report)
        memset(report, 0, sizeof(*report));
    int rc = azki_check_tag_type(o->sec_tag, 0, diag);
    if (rc == 0 && o->has_secondary)
        rc = azki_check_tag_type(o->secondary_sec_tag, 0, diag);
    if (rc != 0)
        return rc;
    if (o->has_secondary && o->secondary_sec_tag == o->sec_tag) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.same-tags", "Pick two different tags, e.g. 10 and 11.",
                     "the primary and secondary security tags are both %u", (unsigned)o->sec_tag);
        return -EINVAL;
    }
    if (o->cert.data == NULL || o->key.data == NULL) {
        azk_diag_add(diag, AZK_SEV_ERROR, "cred.provision-missing-input",
                     "Give --cert DEVICE_CHAIN.pem and --key DEVICE.key.pem.",
                     "provisioning needs the device certificate (chain) and its private key");
        return -EINVAL;
    }

    /* 1. Validate every input before writing anything. */
    struct azki_validated cert, key, ca;
    memset(&key, 0, sizeof(key));
    rc = check_input(AZK_CRED_CLIENT_CERT, &o->cert, NULL, &cert, diag);
    if (rc != 0)
        return rc;
    rc = check_input(AZK_CRED_PRIVATE_KEY, &o->key, o->passphrase, &key, diag);
    if (rc == 0) {
        X509 *leaf = sk_X509_value(cert.certs, 0);
        if (EVP_PKEY_eq(X509_get0_pubkey(leaf), key.key) != 1) {
            char cn[128];
            azki_x509_name_cn(X509_get_subject_name(leaf), cn, sizeof(cn));
            azk_diag_add(diag, AZK_SEV_ERROR, "cred.key-mismatch",
                         "Use the key file created together with this certificate.",
                         "%s does not belong to the certificate '%s' in %s",
                         o->key.origin ? o->key.origin : "the key", cn,
                         o->cert.origin ? o->cert.origin : "the certificate file");
            rc = -EKEYREJECTED;
        }
        ERR_clear_error();
    }
    for (size_t i = 0; rc == 0 && i < o->ca_count; i++) {
        rc = check_input(AZK_CRED_CA_CHAIN, &o->cas[i], NULL, &ca, diag);
        if (rc == 0)
            azki_validated_free(&ca);
    }
    azki_validated_free(&cert);
    azki_validated_free(&key);
    if (rc != 0)
        return rc;

    /* 2. Work out the CA credential of each tag. */
    char *ca1 = NULL, *ca2 = NULL;
    size_t ca1_len = 0, ca2_len = 0;
    const struct azk_root_info *g2 = azk_azure_root(AZK_ROOT_DIGICERT_G2);
    const struct azk_root_info *ms = azk_azure_root(AZK_ROOT_MICROSOFT_RSA_2017);
    if (o->ca_count == 0) {
        rc = append_pem(&ca1, &ca1_len, g2->pem, strlen(g2->pem));
        if (rc == 0)
            rc = append_pem(o->has_secondary ? &ca2 : &ca1, o->has_secondary ? &ca2_len : &ca1_len,
                            ms->pem, strlen(ms->pem));
    } else {
        rc = append_pem(&ca1, &ca1_len, o->cas[0].data, o->cas[0].len);
        for (size_t i = 1; rc == 0 && i < o->ca_count; i++)
            rc = append_pem(o->has_secondary ? &ca2 : &ca1, o->has_secondary ? &ca2_len : &ca1_len,
                            o->cas[i].data, o->cas[i].len);
        if (rc == 0 && o->has_secondary && ca2 == NULL)
            rc = append_pem(&ca2, &ca2_len, o->cas[0].data, o->cas[0].len);
    }

    /* 3. Write: CAs, then chain, then key, in each tag. */
    char names[160];
    const char *why_ca =
        o->ca_count > 0 ? "type 0 (root CA): the CA(s) you gave with --ca, which the device "
                          "trusts to verify the server it connects to"
        : o->has_secondary ? "type 0 (root CA): what the modem trusts to verify the server; "
                             "NCS offers both tags, so each tag holds one of Azure's roots"
                           : "type 0 (root CA): the roots the modem uses to verify Azure's "
                             "server (DigiCert Global Root G2 today, Microsoft RSA 2017 as "
                             "Microsoft's recommended backup)";
    const char *why_cert = "type 1 (client certificate): the device certificate, then its "
                           "intermediates, leaf first -- what the device sends in the TLS "
                           "handshake; DPS group enrollments need the intermediates";
    const char *why_key = "type 2 (client private key): proves the device owns the "
                          "certificate; never leaves the store";
    azk_sec_tag_t tags[2] = {o->sec_tag, o->secondary_sec_tag};
    for (int t = 0; rc == 0 && t < (o->has_secondary ? 2 : 1); t++) {
        const char *cadata = t == 0 ? ca1 : ca2;
        size_t calen = t == 0 ? ca1_len : ca2_len;
        ca_names(cadata, calen, names, sizeof(names));
        rc = write_one(store, tags[t], AZK_CRED_CA_CHAIN, cadata, calen, NULL, diag);
        if (rc == 0)
            add_step(store, report, tags[t], AZK_CRED_CA_CHAIN, names, why_ca);
        if (rc == 0)
            rc = write_one(store, tags[t], AZK_CRED_CLIENT_CERT, o->cert.data, o->cert.len, NULL,
                           diag);
        if (rc == 0) {
            ca_names(o->cert.data, o->cert.len, names, sizeof(names));
            add_step(store, report, tags[t], AZK_CRED_CLIENT_CERT, names, why_cert);
            rc = write_one(store, tags[t], AZK_CRED_PRIVATE_KEY, o->key.data, o->key.len,
                           o->passphrase, diag);
        }
        if (rc == 0)
            add_step(store, report, tags[t], AZK_CRED_PRIVATE_KEY,
                     o->key.origin ? o->key.origin : "device key", why_key);
    }
    free(ca1);
    free(ca2);
    return rc;
}

/* azk_pki_create(): check the request, then key, certificate, files. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "azkit/azure_ids.h"
#include "common/ossl.h"
#include "pki/pki_internal.h"

/* X.509 upper bound for a commonName (RFC 5280 ub-common-name). */
#define CN_MAX 64

const char *azki_pki_kind_name(enum azk_pki_kind kind)
{
    switch (kind) {
    case AZK_PKI_ROOT: return "root CA";
    case AZK_PKI_INTERMEDIATE: return "intermediate CA";
    case AZK_PKI_DEVICE: return "device certificate";
    case AZK_PKI_SELF_SIGNED: return "self-signed device certificate";
    case AZK_PKI_VERIFICATION: return "verification certificate";
    case AZK_PKI_SERVER: return "server certificate";
    }
    return "certificate";
}

static bool is_device(enum azk_pki_kind kind)
{
    return kind == AZK_PKI_DEVICE || kind == AZK_PKI_SELF_SIGNED;
}

static int check_name(const struct azk_pki_request *req, struct azk_diag *d)
{
    const char *cn = req->common_name;
    if (cn == NULL || cn[0] == '\0') {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.no-name", "Give the common name (CN).",
                     "a %s needs a common name", azki_pki_kind_name(req->kind));
        return -EINVAL;
    }
    char why[256];
    if (is_device(req->kind) && azk_device_id_check(cn, why, sizeof(why)) != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-device-id",
                     "Choose a device id that IoT Hub accepts; the CN must equal it.",
                     "'%.64s' is not a valid IoT Hub device id: %s", cn, why);
        return -EINVAL;
    }
    for (const char *p = cn; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-name", "Remove control characters.",
                         "the common name contains a control character");
            return -EINVAL;
        }
    }
    if (strlen(cn) > CN_MAX) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.cn-too-long",
                     "Use a name of at most 64 characters (DPS registration ids are at most "
                     "64 characters anyway).",
                     "'%.40s...' is %zu characters; an X.509 common name holds at most 64",
                     cn, strlen(cn));
        return -EINVAL;
    }
    if (is_device(req->kind) && azk_registration_id_check(cn, why, sizeof(why)) != 0)
        azk_diag_add(d, AZK_SEV_WARNING, "pki.not-registration-id",
                     "Use lowercase letters, digits and - . _ : if the device will enroll "
                     "through DPS, which requires CN = registration id.",
                     "'%s' is a valid IoT Hub device id but not a valid DPS registration id: "
                     "%s",
                     cn, why);
    return 0;
}

static int check_request(const struct azk_pki_request *req, struct azk_diag *d)
{
    if ((int)req->kind < (int)AZK_PKI_ROOT || (int)req->kind > (int)AZK_PKI_SERVER ||
        (req->key_alg != AZK_KEY_EC_P256 && req->key_alg != AZK_KEY_RSA_2048)) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-request", NULL, "unknown kind or key type");
        return -EINVAL;
    }
    if (req->kind == AZK_PKI_INTERMEDIATE && (req->path_len < -1 || req->path_len > 16)) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-path-len",
                     "Give 0 (no CA below), a small positive number, or -1 for no limit.",
                     "path length %d is out of range", req->path_len);
        return -EINVAL;
    }
    int rc = check_name(req, d);
    return rc != 0 ? rc : azki_pki_san_check(req, d);
}

static bool needs_issuer(enum azk_pki_kind kind)
{
    return kind == AZK_PKI_INTERMEDIATE || kind == AZK_PKI_DEVICE ||
           kind == AZK_PKI_VERIFICATION || kind == AZK_PKI_SERVER;
}

/* A request with a CSR: its public key, and the request with the CSR's CN. */
static int take_csr(const struct azk_pki_request *in, struct azk_pki_request *req,
                    char *cn, size_t cn_size, EVP_PKEY **pub, struct azk_diag *d)
{
    *req = *in;
    if (in->kind != AZK_PKI_DEVICE) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-request", NULL,
                     "a CSR can only be signed as a device certificate");
        return -EINVAL;
    }
    int rc = azki_pki_csr_load(in->csr_file, pub, cn, cn_size, d);
    if (rc != 0)
        return rc;
    if (in->common_name != NULL && strcmp(in->common_name, cn) != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.csr-cn",
                     "Leave the device id out: the certificate gets the CSR's CN, which is "
                     "the id the device was generated for.",
                     "the CSR is for CN '%s', not '%s'", cn, in->common_name);
        return -EINVAL;
    }
    req->common_name = cn;
    if (req->out_prefix == NULL)
        req->out_prefix = cn;
    return 0;
}

AZK_API int azk_pki_create(const struct azk_pki_request *in, struct azk_pki_result *res,
                           struct azk_diag *diag)
{
    if (in == NULL || res == NULL)
        return -EINVAL;
    memset(res, 0, sizeof(*res));
    struct azk_pki_request csr_req;
    char csr_cn[256];
    EVP_PKEY *key = NULL;
    const struct azk_pki_request *req = in;
    if (in->csr_file != NULL) {
        int crc = take_csr(in, &csr_req, csr_cn, sizeof(csr_cn), &key, diag);
        if (crc != 0) {
            EVP_PKEY_free(key);
            return crc;
        }
        req = &csr_req;
    }
    int rc = check_request(req, diag);
    time_t nb, na;
    struct azki_pki_outputs out;
    if (rc == 0)
        rc = azki_pki_validity(req, time(NULL), &nb, &na, diag);
    if (rc == 0)
        rc = azki_pki_outputs_plan(req, &out, diag);
    struct azki_pki_issuer iss;
    memset(&iss, 0, sizeof(iss));
    if (rc == 0 && needs_issuer(req->kind))
        rc = azki_pki_issuer_load(req, &iss, diag);
    if (rc != 0) {
        EVP_PKEY_free(key);
        return rc;
    }
    X509 *cert = NULL;
    if (key == NULL)
        rc = azki_pki_key_generate(req->key_alg, &key);
    if (rc == 0)
        rc = azki_pki_build(req, key, needs_issuer(req->kind) ? &iss : NULL, nb, na, &cert,
                           diag);
    if (rc == 0)
        rc = azki_pki_outputs_write(req, &out, cert, key, iss.chain, diag);
    if (rc == 0) {
        memcpy(res->cert_path, out.cert, sizeof(res->cert_path));
        memcpy(res->key_path, out.key, sizeof(res->key_path));
        memcpy(res->chain_path, out.chain, sizeof(res->chain_path));
        azki_x509_summarize(cert, &res->cert);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    azki_pki_issuer_free(&iss);
    return rc;
}

/* X509_V_ERR_* codes in words: what is wrong with which certificate, and the fix. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "common/ossl.h"
#include "pki/pki_internal.h"

static void cn_of(const X509_NAME *name, char *out, size_t len)
{
    azki_x509_name_cn(name, out, len);
    if (out[0] == '\0')
        snprintf(out, len, "(no CN)");
}

static void missing_issuer(int depth, X509 *cert, const char *cn, const char *icn,
                           struct azk_diag *d)
{
    if (depth == 0 && !azki_x509_is_ca(cert)) {
        char fix[AZK_DIAG_TEXT];
        snprintf(fix, sizeof(fix),
                 "Send leaf + intermediates (credential type 1 holds the chain, leaf first) or "
                 "pass the intermediate with --untrusted; if '%s' is the root, pass it with "
                 "--ca.",
                 icn);
        azk_diag_add(d, AZK_SEV_ERROR, "pki.missing-issuer", fix,
                     "cannot find the certificate that issued '%s' (issuer '%s'): the "
                     "intermediate is missing",
                     cn, icn);
        return;
    }
    azk_diag_add(d, AZK_SEV_ERROR, "pki.missing-root",
                 "Pass the root that issued the chain with --ca; it must be the root "
                 "uploaded to Azure.",
                 "cannot find the certificate that issued '%s' (issuer '%s') among the "
                 "trusted CAs: the root is missing or wrong",
                 cn, icn);
}

void azki_pki_explain(int err, int depth, X509 *cert, struct azk_diag *d)
{
    char cn[128] = "(unknown)", icn[128] = "(unknown)", when[21] = "";
    if (cert != NULL) {
        cn_of(X509_get_subject_name(cert), cn, sizeof(cn));
        cn_of(X509_get_issuer_name(cert), icn, sizeof(icn));
    }
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        missing_issuer(depth, cert, cn, icn, d);
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.self-signed-untrusted",
                     "A self-signed device certificate is checked by thumbprint, not by chain: "
                     "register its thumbprint in IoT Hub. To trust it here, pass it with --ca.",
                     "'%s' is self-signed and not among the trusted CAs", cn);
        break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.untrusted-root",
                     "Pass the root that signed the chain with --ca; it must be the root "
                     "uploaded to Azure.",
                     "the chain ends at the self-signed root '%s', which is not among the "
                     "trusted CAs (wrong root?)",
                     cn);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        if (cert != NULL)
            azki_asn1_time_iso(X509_get0_notAfter(cert), when);
        azk_diag_add(d, AZK_SEV_ERROR, "pki.expired",
                     depth == 0 ? "Issue a new certificate (azkit pki device ...)."
                                : "Create a new CA, upload it, and reissue what it signed.",
                     "'%s' expired on %s", cn, when);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        if (cert != NULL)
            azki_asn1_time_iso(X509_get0_notBefore(cert), when);
        azk_diag_add(d, AZK_SEV_ERROR, "pki.not-yet-valid",
                     "Check the clock (UTC), or reissue without --not-before; azkit backdates "
                     "notBefore by one hour by default.",
                     "'%s' is not valid until %s", cn, when);
        break;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-signature",
                     "Reissue it with the current CA, or trust the CA that really signed it.",
                     "the signature on '%s' does not verify with the key of '%s': a different "
                     "key with the same name signed it (was the CA recreated?)",
                     cn, icn);
        break;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.issuer-not-ca",
                     "Sign certificates only with a root or intermediate CA (azkit pki root / "
                     "intermediate).",
                     "'%s' issued a certificate in the chain but is not a CA (needs "
                     "basicConstraints CA:TRUE and keyCertSign)",
                     cn);
        break;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.path-length",
                     "Sign with a CA higher up, or recreate the CA with a larger --path-len.",
                     "the chain has more CAs below '%s' than its pathlen constraint allows", cn);
        break;
    case X509_V_ERR_INVALID_PURPOSE:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.wrong-purpose",
                     "Reissue it with 'azkit pki device' (extended key usage clientAuth).",
                     "'%s' may not be used for TLS client authentication (extended key usage "
                     "without clientAuth)",
                     cn);
        break;
    default:
        azk_diag_add(d, AZK_SEV_ERROR, "pki.verify-failed", NULL, "'%s' (chain depth %d): %s",
                     cn, depth, X509_verify_cert_error_string(err));
        break;
    }
}

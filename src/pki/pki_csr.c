/* Certificate signing requests for azk_pki_create() (csr_file): read, self-signature
 * verified, public key and CN taken. The private key is never needed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/fileio.h"
#include "common/ossl.h"
#include "pki/pki_internal.h"

static X509_REQ *parse(const char *buf, size_t len)
{
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    X509_REQ *req = b != NULL ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (req == NULL) { /* DER, as a modem's %KEYGEN decodes to */
        const unsigned char *p = (const unsigned char *)buf;
        req = d2i_X509_REQ(NULL, &p, (long)len);
    }
    ERR_clear_error();
    return req;
}

int azki_pki_csr_load(const char *path, EVP_PKEY **pub, char *cn, size_t cn_size,
                     struct azk_diag *d)
{
    *pub = NULL;
    char *buf;
    size_t len;
    int rc = azki_file_read_all(path, &buf, &len);
    if (rc != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.csr-unreadable",
                     "Give the CSR file that 'azkit cred keygen --out' wrote.",
                     "cannot read the CSR '%s': %s", path, azk_strerror(rc));
        return rc;
    }
    X509_REQ *req = parse(buf, len);
    free(buf);
    if (req == NULL) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.csr-unreadable",
                     "Give a PKCS#10 certificate signing request (PEM 'BEGIN CERTIFICATE "
                     "REQUEST', or DER).",
                     "'%s' is not a certificate signing request", path);
        return -EBADMSG;
    }
    EVP_PKEY *k = X509_REQ_get0_pubkey(req);
    if (k == NULL || X509_REQ_verify(req, k) != 1) {
        ERR_clear_error();
        X509_REQ_free(req);
        azk_diag_add(d, AZK_SEV_ERROR, "pki.csr-bad-signature",
                     "Generate the CSR again on the device (azkit cred keygen): a CSR is "
                     "signed by the private key it asks a certificate for, and this one's "
                     "signature does not match its public key (altered, or signed by another "
                     "key).",
                     "the signature of the CSR '%s' does not verify; nothing was issued", path);
        return -EBADMSG;
    }
    cn[0] = '\0';
    azki_x509_name_cn(X509_REQ_get_subject_name(req), cn, cn_size);
    if (cn[0] == '\0') {
        X509_REQ_free(req);
        azk_diag_add(d, AZK_SEV_ERROR, "pki.csr-no-cn",
                     "Generate the CSR with the device id as CN (azkit cred keygen TAG --cn "
                     "DEVICE_ID): DPS and IoT Hub take the device id from the certificate's "
                     "CN.",
                     "the CSR '%s' has no common name (CN); nothing was issued", path);
        return -EBADMSG;
    }
    *pub = X509_REQ_get_pubkey(req);
    X509_REQ_free(req);
    return *pub != NULL ? 0 : -ENOMEM;
}

/* Key pairs for the test PKI: generate, load an issuer key, serialise as PKCS#8 PEM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/fileio.h"
#include "pki/pki_internal.h"

int azki_pki_key_generate(enum azk_key_alg alg, EVP_PKEY **out)
{
    *out = NULL;
    EVP_PKEY *k = NULL;
    if (alg == AZK_KEY_EC_P256)
        k = EVP_EC_gen("P-256");
    else if (alg == AZK_KEY_RSA_2048)
        k = EVP_RSA_gen(2048);
    else
        return -EINVAL;
    ERR_clear_error();
    if (k == NULL)
        return -EIO;
    *out = k;
    return 0;
}

/* Never prompt on the terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

int azki_pki_key_load(const char *path, const char *what, EVP_PKEY **out, struct azk_diag *d)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(path, &text, &len);
    if (rc != 0) {
        if (rc == -ENOENT)
            azk_diag_add(d, AZK_SEV_ERROR, "pki.issuer-missing",
                         "Check the path, or create the CA first (azkit pki root / "
                         "azkit pki intermediate).",
                         "%s '%s' not found", what, path);
        return rc;
    }
    BIO *b = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    BIO_free(b);
    bool encrypted = strstr(text, "ENCRYPTED") != NULL;
    OPENSSL_clear_free(text, len);
    ERR_clear_error();
    if (k == NULL) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-key",
                     encrypted ? "Decrypt it first: openssl pkey -in KEY -out KEY.plain.pem"
                               : "Give the PEM private key that was written with the CA "
                                 "certificate (<prefix>.key.pem).",
                     "%s '%s' is not %s", what, path,
                     encrypted ? "usable: it is encrypted" : "a PEM private key");
        return -EBADMSG;
    }
    *out = k;
    return 0;
}

int azki_pki_key_pem(EVP_PKEY *k, char **pem, size_t *len)
{
    *pem = NULL;
    *len = 0;
    BIO *b = BIO_new(BIO_s_secmem());
    if (b == NULL)
        return -ENOMEM;
    int rc = -EIO;
    if (PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        char *copy = n > 0 ? OPENSSL_malloc((size_t)n) : NULL;
        if (copy != NULL) {
            memcpy(copy, p, (size_t)n);
            *pem = copy;
            *len = (size_t)n;
            rc = 0;
        } else {
            rc = -ENOMEM;
        }
    }
    BIO_free(b);
    ERR_clear_error();
    return rc;
}

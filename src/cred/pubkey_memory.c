/* The public keys of keys the store does not release (a modem's), remembered on this computer
 * by the digest the store lists for the private key (cred_keygen.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/fileio.h"
#include "cred/internal.h"
#include "cred/key_loader.h"

/* $XDG_DATA_HOME/azkit/nrf91/keys (or ~/.local/share/...), the directory of the DPS
 * assignment files a modem store keeps on this computer. */
static int memory_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, size, "%s/azkit/nrf91/keys", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, size, "%s/.local/share/azkit/nrf91/keys", home);
    else
        return -ENOENT;
    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

static int memory_path(const uint8_t digest[AZK_CRED_DIGEST_SIZE], char *out, size_t size)
{
    char dir[4000], hex[2 * AZK_CRED_DIGEST_SIZE + 1];
    int rc = memory_dir(dir, sizeof(dir));
    if (rc != 0)
        return rc;
    azk_digest_hex(digest, hex);
    int n = snprintf(out, size, "%s/%s.pub.pem", dir, hex);
    return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int azki_pubkey_remember(const uint8_t digest[AZK_CRED_DIGEST_SIZE], EVP_PKEY *pub)
{
    char dir[4000], path[4096];
    int rc = memory_dir(dir, sizeof(dir));
    if (rc == 0)
        rc = memory_path(digest, path, sizeof(path));
    if (rc == 0)
        rc = azki_mkdir_p(dir, 0700);
    if (rc != 0)
        return rc;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return -ENOMEM;
    char *data;
    rc = PEM_write_bio_PUBKEY(b, pub) == 1 ? 0 : -EIO;
    long n = BIO_get_mem_data(b, &data);
    if (rc == 0)
        rc = azki_atomic_write_path(path, data, (size_t)n, 0644, false);
    BIO_free(b);
    ERR_clear_error();
    return rc;
}

int azki_pubkey_recall(const uint8_t digest[AZK_CRED_DIGEST_SIZE], EVP_PKEY **out)
{
    char path[4096];
    int rc = memory_path(digest, path, sizeof(path));
    if (rc != 0)
        return -ENODATA;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -ENODATA;
    *out = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    return *out != NULL ? 0 : -EBADMSG;
}

int azki_tag_public_key(struct azk_credstore *s, azk_sec_tag_t tag, EVP_PKEY **out)
{
    *out = NULL;
    EVP_PKEY *priv = NULL;
    int rc = azki_cred_load_private_key(s, tag, &priv);
    if (rc == 0) {
        /* The public half only: serialise and parse it back, so the private part is gone. */
        unsigned char *der = NULL;
        int n = i2d_PUBKEY(priv, &der);
        EVP_PKEY_free(priv);
        const unsigned char *p = der;
        if (n > 0)
            *out = d2i_PUBKEY(NULL, &p, n);
        OPENSSL_free(der);
        ERR_clear_error();
        return *out != NULL ? 0 : -ENOMEM;
    }
    if (rc != -EACCES)
        return rc;
    uint8_t digest[AZK_CRED_DIGEST_SIZE];
    rc = azk_cred_digest(s, tag, AZK_CRED_PRIVATE_KEY, digest);
    if (rc != 0)
        return rc;
    return azki_pubkey_recall(digest, out);
}

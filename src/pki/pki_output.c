/* Output files of azk_pki_create(): names, the no-overwrite check, atomic writes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/fileio.h"
#include "pki/pki_internal.h"

static bool has_chain(enum azk_pki_kind kind)
{
    return kind == AZK_PKI_INTERMEDIATE || kind == AZK_PKI_DEVICE || kind == AZK_PKI_SERVER;
}

int azki_pki_outputs_plan(const struct azk_pki_request *req, struct azki_pki_outputs *o,
                         struct azk_diag *d)
{
    memset(o, 0, sizeof(*o));
    const char *p = req->out_prefix;
    if (p == NULL || p[0] == '\0' || p[strlen(p) - 1] == '/') {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-out",
                     "Give an output prefix such as 'certs/dev-1'; files are named "
                     "<prefix>.cert.pem, <prefix>.key.pem, <prefix>.chain.pem.",
                     "no output prefix given");
        return -EINVAL;
    }
    if (strlen(p) + sizeof(".chain.pem") > sizeof(o->chain)) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-out", "Use a shorter output prefix.",
                     "output prefix is too long");
        return -ENAMETOOLONG;
    }
    snprintf(o->cert, sizeof(o->cert), "%s.cert.pem", p);
    if (req->csr_file == NULL)
        snprintf(o->key, sizeof(o->key), "%s.key.pem", p);
    if (has_chain(req->kind))
        snprintf(o->chain, sizeof(o->chain), "%s.chain.pem", p);
    if (req->force)
        return 0;
    const char *all[] = {o->cert, o->key, o->chain};
    int rc = 0;
    for (size_t i = 0; i < 3; i++) {
        struct stat st;
        if (all[i][0] != '\0' && lstat(all[i], &st) == 0) {
            azk_diag_add(d, AZK_SEV_ERROR, "pki.exists",
                         "Pass --force to overwrite it, or choose another --out prefix.",
                         "'%s' already exists; nothing was written", all[i]);
            rc = -EEXIST;
        }
    }
    return rc;
}

static int pem_of_certs(X509 *first, STACK_OF(X509) *rest, char **buf, size_t *len, BIO **bio)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return -ENOMEM;
    int ok = PEM_write_bio_X509(b, first) == 1;
    for (int i = 0; ok && rest != NULL && i < sk_X509_num(rest); i++)
        ok = PEM_write_bio_X509(b, sk_X509_value(rest, i)) == 1;
    if (!ok) {
        BIO_free(b);
        ERR_clear_error();
        return -EIO;
    }
    long n = BIO_get_mem_data(b, buf);
    *len = (size_t)n;
    *bio = b;
    return 0;
}

static int ensure_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return 0;
    size_t n = (size_t)(slash - path);
    if (n >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, path, n);
    dir[n] = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    return azki_mkdir_p(dir, 0755);
}

static int write_certs(const char *path, X509 *first, STACK_OF(X509) *rest, bool exclusive)
{
    char *buf;
    size_t len;
    BIO *b;
    int rc = pem_of_certs(first, rest, &buf, &len, &b);
    if (rc != 0)
        return rc;
    rc = azki_atomic_write_path(path, buf, len, 0644, exclusive);
    BIO_free(b);
    return rc;
}

int azki_pki_outputs_write(const struct azk_pki_request *req, const struct azki_pki_outputs *o,
                          X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain,
                          struct azk_diag *d)
{
    bool exclusive = !req->force;
    const char *done[3];
    size_t ndone = 0;
    const char *failed = o->key;
    int rc = ensure_dir(o->cert);
    if (rc == 0 && o->key[0] != '\0') {
        char *pem;
        size_t len;
        rc = azki_pki_key_pem(key, &pem, &len);
        if (rc == 0) {
            rc = azki_atomic_write_path(o->key, pem, len, 0600, exclusive);
            OPENSSL_clear_free(pem, len);
        }
    }
    if (rc == 0) {
        if (o->key[0] != '\0')
            done[ndone++] = o->key;
        failed = o->cert;
        rc = write_certs(o->cert, cert, NULL, exclusive);
    }
    if (rc == 0 && o->chain[0] != '\0') {
        done[ndone++] = o->cert;
        failed = o->chain;
        rc = write_certs(o->chain, cert, chain, exclusive);
    }
    if (rc == 0)
        return 0;
    /* New files only: with force the old ones are already gone. */
    for (size_t i = 0; exclusive && i < ndone; i++)
        unlink(done[i]);
    azk_diag_add(d, AZK_SEV_ERROR, rc == -EEXIST ? "pki.exists" : "pki.write-failed",
                 rc == -EEXIST ? "Pass --force to overwrite it, or choose another --out prefix."
                               : "Check that the directory exists and is writable.",
                 "cannot write '%s': %s", failed, azk_strerror(rc));
    return rc;
}

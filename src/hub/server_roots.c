/* The hub's two server roots: names, and the root files devices are given. */
#include "hub/server_roots.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/fileio.h"
#include "hub/server_pki.h"

static const char *const names[HUB_ROOT_COUNT] = {
    [HUB_ROOT_LEGACY] = "legacy",
    [HUB_ROOT_CURRENT] = "current",
};

const char *hub_server_root_name(enum hub_server_root r)
{
    return (unsigned)r < HUB_ROOT_COUNT ? names[r] : "?";
}

int hub_server_root_parse(const char *s, enum hub_server_root *out)
{
    for (int i = 0; s != NULL && i < HUB_ROOT_COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum hub_server_root)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int hub_pki_root_paths(struct hub_pki *p)
{
    struct hub_pki_root *cur = &p->roots[HUB_ROOT_CURRENT], *leg = &p->roots[HUB_ROOT_LEGACY];
    if (path(cur->root_path, sizeof(cur->root_path), p->dir, "root-current.pem") != 0 ||
        path(cur->chain_path, sizeof(cur->chain_path), p->dir, "server-chain.pem") != 0 ||
        path(cur->key_path, sizeof(cur->key_path), p->dir, "server.key.pem") != 0 ||
        path(leg->root_path, sizeof(leg->root_path), p->dir, "root-legacy.pem") != 0 ||
        path(leg->chain_path, sizeof(leg->chain_path), p->dir, "legacy/server-chain.pem") != 0 ||
        path(leg->key_path, sizeof(leg->key_path), p->dir, "legacy/server.key.pem") != 0 ||
        path(p->bundle_path, sizeof(p->bundle_path), p->dir, "roots.pem") != 0)
        return -ENAMETOOLONG;
    return 0;
}

/* Writes `data` to `file` unless it already holds exactly that. */
static int write_if_changed(const char *file, const char *data, size_t len, struct azk_diag *d)
{
    char *old = NULL;
    size_t olen = 0;
    if (azki_file_read_all(file, &old, &olen) == 0 && olen == len && memcmp(old, data, len) == 0) {
        free(old);
        return 0;
    }
    free(old);
    int rc = azki_atomic_write_path(file, data, len, 0644, false);
    if (rc != 0)
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-write-failed",
                     "Check that the data directory is writable.", "cannot write %s: %s", file,
                     azk_strerror(rc));
    return rc;
}

static int read_root(const char *file, char **out, size_t *len, struct azk_diag *d)
{
    int rc = azki_file_read_all(file, out, len);
    if (rc != 0)
        azk_diag_add(d, AZK_SEV_ERROR, "hub.pki-damaged",
                     "Restore the file, or remove the pki directory to create a new PKI "
                     "(devices must then trust the new roots).",
                     "cannot read the root %s: %s", file, azk_strerror(rc));
    return rc;
}

int hub_pki_publish_roots(const struct hub_pki *p, struct azk_diag *d)
{
    char legacy_ca[700];
    if (path(legacy_ca, sizeof(legacy_ca), p->dir, "legacy/ca.pem") != 0)
        return -ENAMETOOLONG;
    char *cur = NULL, *leg = NULL, *both = NULL;
    size_t clen = 0, llen = 0;
    int rc = read_root(p->ca_path, &cur, &clen, d);
    if (rc == 0)
        rc = read_root(legacy_ca, &leg, &llen, d);
    if (rc == 0 && (both = malloc(clen + llen + 1)) == NULL)
        rc = -ENOMEM;
    if (rc == 0) {
        /* Each PEM ends with a newline (azk_pki_create writes them); add one if not. */
        size_t n = clen;
        memcpy(both, cur, clen);
        if (n > 0 && both[n - 1] != '\n')
            both[n++] = '\n';
        memcpy(both + n, leg, llen);
        n += llen;
        rc = write_if_changed(p->roots[HUB_ROOT_CURRENT].root_path, cur, clen, d);
        if (rc == 0)
            rc = write_if_changed(p->roots[HUB_ROOT_LEGACY].root_path, leg, llen, d);
        if (rc == 0)
            rc = write_if_changed(p->bundle_path, both, n, d);
    }
    free(cur);
    free(leg);
    free(both);
    return rc;
}

int hub_pki_root_subject(const char *file, char *out, size_t size)
{
    if (out == NULL || size == 0)
        return -EINVAL;
    out[0] = '\0';
    BIO *in = BIO_new_file(file, "r");
    X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    BIO_free(in);
    BIO *mem = x ? BIO_new(BIO_s_mem()) : NULL;
    int rc = -EBADMSG;
    if (mem != NULL &&
        X509_NAME_print_ex(mem, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(mem, out, (int)size - 1);
        out[n > 0 ? n : 0] = '\0';
        rc = n > 0 ? 0 : -EBADMSG;
    }
    BIO_free(mem);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

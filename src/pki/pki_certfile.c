/* Reading certificate files with findings that name the file. */
#include <errno.h>
#include <stdlib.h>

#include "common/fileio.h"
#include "common/ossl.h"
#include "pki/pki_internal.h"

int azki_pki_read_certs(const char *path, const char *what, const char *missing_code,
                       STACK_OF(X509) **out, struct azk_diag *d)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = azki_file_read_all(path, &text, &len);
    if (rc == -ENOENT) {
        azk_diag_add(d, AZK_SEV_ERROR, missing_code,
                     "Check the path; CA files made by azkit are named <prefix>.cert.pem.",
                     "%s '%s' not found", what, path);
        return rc;
    }
    if (rc != 0) {
        azk_diag_add(d, AZK_SEV_ERROR, "pki.unreadable", NULL, "cannot read %s '%s': %s", what,
                     path, azk_strerror(rc));
        return rc;
    }
    rc = azki_load_certs(text, len, out, d);
    free(text);
    if (rc == -EBADMSG)
        azk_diag_add(d, AZK_SEV_ERROR, "pki.bad-certificate-file",
                     "Give a PEM file of certificates (-----BEGIN CERTIFICATE-----).",
                     "%s '%s' does not hold usable certificates", what, path);
    return rc;
}

/* Canonical form, pinned: LF line endings, no NUL bytes, no trailing whitespace after the last
 * line -- the bytes nrfcredstore sends to the modem, and therefore the bytes the modem digests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cred/internal.h"

static bool is_trailing_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int azki_canonicalize(const void *buf, size_t len, struct azki_canon *out, struct azk_diag *d)
{
    memset(out, 0, sizeof(*out));
    const char *in = buf;
    while (len > 0 && in[len - 1] == '\0') {
        len--;
        out->had_trailing_nul = true;
    }
    if (len > 0 && memchr(in, '\0', len) != NULL) {
        azk_diag_add(d, AZK_SEV_ERROR, "cred.binary-content",
                     "Credentials are text. Convert a DER certificate with "
                     "'openssl x509 -inform der -in FILE -out FILE.pem' (a DER key: "
                     "'openssl pkey -inform der -in FILE -out FILE.pem').",
                     "the content contains a NUL byte before its end: it looks like binary "
                     "(DER) data, not PEM text");
        return -EBADMSG;
    }
    char *o = malloc(len + 1);
    if (o == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r') {
            out->had_crlf = true;
            if (i + 1 < len && in[i + 1] == '\n')
                i++;
            o[n++] = '\n';
        } else {
            o[n++] = in[i];
        }
    }
    while (n > 0 && is_trailing_space(o[n - 1]))
        n--;
    o[n] = '\0';
    if (n == 0) {
        free(o);
        azk_diag_add(d, AZK_SEV_ERROR, "cred.empty", "Give the file that holds the credential.",
                     "the content is empty (the modem refuses empty credentials)");
        return -EINVAL;
    }
    out->data = o;
    out->len = n;
    return 0;
}

void azki_canon_free(struct azki_canon *c)
{
    if (c->data != NULL) {
        /* May hold a private key. */
        OPENSSL_cleanse(c->data, c->len);
        free(c->data);
    }
    c->data = NULL;
    c->len = 0;
}

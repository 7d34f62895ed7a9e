/* Parsing of the modem's %KEYGEN answer (at_reply.h). Nordic's nRF91 AT command reference,
 * %KEYGEN set command: with <key_type> 2 and <response_content> 0 the response is
 *   %KEYGEN: "Base64Url(CSR_DER).Base64Url(cose_sign)"
 * -- the CSR in DER and a COSE signature over it, both base64url (RFC 4648 section 5, no
 * padding), separated by a dot. */
#include "cred/at_reply.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes n base64url characters (padding '=' allowed at the end). */
static int b64url_decode(const char *s, size_t n, unsigned char **out, size_t *out_len)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -EBADMSG;
    unsigned char *buf = malloc(n * 3 / 4 + 1);
    if (buf == NULL)
        return -ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(s[i]);
        if (v < 0) {
            free(buf);
            return -EBADMSG;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = buf;
    *out_len = o;
    return 0;
}

int azki_keygen_parse(const char *text, unsigned char **der, size_t *len)
{
    *der = NULL;
    *len = 0;
    const char *line = text;
    while (line != NULL && *line != '\0' && strncmp(line, "%KEYGEN:", 8) != 0) {
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    if (line == NULL || *line == '\0')
        return -ENOENT;
    const char *p = line + 8;
    while (*p == ' ')
        p++;
    if (*p != '"')
        return -EBADMSG;
    const char *csr = p + 1, *dot = csr;
    while (b64url_value(*dot) >= 0 || *dot == '=')
        dot++;
    if (*dot != '.' || dot == csr)
        return -EBADMSG;
    const char *cose = dot + 1, *end = cose;
    while (b64url_value(*end) >= 0 || *end == '=')
        end++;
    if (*end != '"' || end == cose)
        return -EBADMSG;
    for (p = end + 1; *p == ' ' || *p == '\r'; p++)
        ;
    if (*p != '\n' && *p != '\0')
        return -EBADMSG;
    int rc = b64url_decode(csr, (size_t)(dot - csr), der, len);
    if (rc == 0 && *len == 0) {
        free(*der);
        *der = NULL;
        rc = -EBADMSG;
    }
    return rc;
}

/* Shared access signatures for symmetric-key devices (azkit/sas_token.h), also used by
 * azkit-hub to sign and check tokens. */
#include "azkit/sas_token.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azkit/azure_hub.h"
#include "azkit/azure_ids.h"
#include "common/conn_string.h"
#include "common/pct_cstr.h"

int azk_sas_key_decode(const char *in, unsigned char *out, size_t out_size)
{
    size_t len = in != NULL ? strlen(in) : 0;
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > out_size + 2)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (!(isalnum((unsigned char)c) || c == '+' || c == '/' || (c == '=' && i >= len - 2)))
            return -EINVAL;
        if (c == '=' && i == len - 2 && in[len - 1] != '=')
            return -EINVAL;
    }
    /* EVP_DecodeBlock writes whole groups of three (padding included). */
    unsigned char tmp[AZK_SAS_KEY_BYTES_MAX * 2 + 3];
    if (len / 4 * 3 > sizeof(tmp))
        return -EINVAL;
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -EINVAL;
    n -= (in[len - 1] == '=') + (in[len - 2] == '=');
    if (n <= 0 || (size_t)n > out_size) {
        OPENSSL_cleanse(tmp, sizeof(tmp));
        return -EINVAL;
    }
    memcpy(out, tmp, (size_t)n);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return n;
}

/* base64(HMAC-SHA256(decoded key, msg)) into out (AZK_SAS_SIG_MAX bytes). */
static int hmac_b64(const char *key_b64, const void *msg, size_t len, char out[AZK_SAS_SIG_MAX])
{
    unsigned char key[AZK_SAS_KEY_BYTES_MAX * 2], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int klen = azk_sas_key_decode(key_b64, key, sizeof(key));
    if (klen <= 0)
        return -EINVAL;
    unsigned char *r = HMAC(EVP_sha256(), key, klen, msg, len, mac, &maclen);
    OPENSSL_cleanse(key, sizeof(key));
    if (r == NULL || maclen != 32)
        return -EINVAL;
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

int azk_sas_sign(const char *key_b64, const char *sr_encoded, int64_t se,
                 char sig[AZK_SAS_SIG_MAX])
{
    if (key_b64 == NULL || sr_encoded == NULL || sig == NULL)
        return -EINVAL;
    size_t srl = strlen(sr_encoded);
    char *msg = malloc(srl + 32);
    if (msg == NULL)
        return -ENOMEM;
    int mlen = snprintf(msg, srl + 32, "%s\n%" PRId64, sr_encoded, se);
    int rc = hmac_b64(key_b64, msg, (size_t)mlen, sig);
    free(msg);
    return rc;
}

int azk_sas_derive_key(const char *group_key_b64, const char *registration_id,
                       char out[AZK_SAS_KEY_B64_MAX])
{
    if (registration_id == NULL || out == NULL)
        return -EINVAL;
    return hmac_b64(group_key_b64, registration_id, strlen(registration_id), out);
}

int azk_sas_token(const char *key_b64, const char *sr, const char *skn, int64_t se, char *out,
                  size_t out_size)
{
    /* The longest resource: a host name, "/registrations/" or "/devices/", an id. */
    char sig[AZK_SAS_SIG_MAX], sr_enc[3 * 512 + 1], sig_enc[3 * AZK_SAS_SIG_MAX], skn_enc[3 * 64 + 1];
    if (sr == NULL || *sr == '\0' || strlen(sr) > 512 || (skn != NULL && strlen(skn) > 64) ||
        out == NULL)
        return -EINVAL;
    skn_enc[0] = '\0';
    if (azki_pct_encode_cstr(sr, sr_enc, sizeof(sr_enc)) != 0 ||
        (skn != NULL && azki_pct_encode_cstr(skn, skn_enc, sizeof(skn_enc)) != 0))
        return -EINVAL;
    int rc = azk_sas_sign(key_b64, sr_enc, se, sig);
    if (rc == 0)
        rc = azki_pct_encode_cstr(sig, sig_enc, sizeof(sig_enc));
    int n = rc == 0 ? snprintf(out, out_size, "SharedAccessSignature sr=%s&sig=%s&se=%" PRId64
                               "%s%s", sr_enc, sig_enc, se, skn_enc[0] ? "&skn=" : "", skn_enc)
                    : 0;
    OPENSSL_cleanse(sig, sizeof(sig));
    OPENSSL_cleanse(sig_enc, sizeof(sig_enc));
    if (rc != 0)
        return rc;
    if (n < 0 || (size_t)n >= out_size) {
        OPENSSL_cleanse(out, out_size);
        if (out_size)
            out[0] = '\0';
        return -ENOBUFS;
    }
    return n;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int azk_sas_connect_password(const char *key_b64, const char *key_name, uint32_t ttl_s,
                             bool dps, struct azk_mqtt_connect *m, char *buf, size_t size,
                             int64_t *expires_ms)
{
    if (m == NULL || buf == NULL || !m->has_username || m->client_id.len == 0)
        return -EINVAL;
    /* The username starts with the id scope (DPS) or the hub's host name, then '/'. */
    size_t head = 0;
    while (head < m->username.len && m->username.ptr[head] != '/')
        head++;
    if (head == 0 || head == m->username.len)
        return -EINVAL;
    char sr[512];
    int n = snprintf(sr, sizeof(sr), "%.*s/%s/%.*s", (int)head, m->username.ptr,
                     dps ? "registrations" : "devices", (int)m->client_id.len,
                     m->client_id.ptr);
    if (n < 0 || (size_t)n >= sizeof(sr))
        return -EINVAL;
    /* Rounded up to whole seconds: the token lives at least ttl_s. */
    int64_t se = (wall_ms() + (int64_t)(ttl_s ? ttl_s : AZK_SAS_TTL_DEFAULT) * 1000 + 999) / 1000;
    const char *skn = dps ? AZK_SAS_DPS_KEY_NAME : key_name && *key_name ? key_name : NULL;
    int len = azk_sas_token(key_b64, sr, skn, se, buf, size);
    if (len < 0)
        return len;
    m->password = (struct azk_span){buf, (size_t)len};
    m->has_password = true;
    if (expires_ms != NULL)
        *expires_ms = se * 1000;
    return 0;
}

uint64_t azk_sas_renew_in_ms(int64_t expires_ms)
{
    int64_t left = expires_ms - wall_ms();
    return left > 0 ? (uint64_t)left / 5u * 4u : 0;
}

/* ---- connection strings ------------------------------------------------------------------- */

int azki_conn_string_next(const char **p, struct azk_span *name, struct azk_span *value)
{
    for (;;) {
        const char *at = *p;
        if (*at == '\0')
            return 0;
        const char *end = strchr(at, ';');
        size_t len = end ? (size_t)(end - at) : strlen(at);
        *p = end ? end + 1 : at + len;
        while (len > 0 && isspace((unsigned char)*at)) {
            at++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)at[len - 1]))
            len--;
        if (len == 0)
            continue;
        const char *eq = memchr(at, '=', len);
        if (eq == NULL)
            return -EBADMSG;
        *name = (struct azk_span){at, (size_t)(eq - at)};
        *value = (struct azk_span){eq + 1, len - (size_t)(eq - at) - 1};
        return 1;
    }
}

static void say(char *why, size_t whylen, const char *text)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", text);
}

int azk_device_conn_string_parse(const char *s, struct azk_device_conn_string *out, char *why,
                                 size_t whylen)
{
    static const struct {
        const char *name;
        size_t off, cap;
    } parts[] = {
        {"HostName", offsetof(struct azk_device_conn_string, host), 256},
        {"DeviceId", offsetof(struct azk_device_conn_string, device_id), 129},
        {"SharedAccessKey", offsetof(struct azk_device_conn_string, key), AZK_SAS_KEY_B64_MAX},
        {"SharedAccessKeyName", offsetof(struct azk_device_conn_string, key_name), 65},
    };
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (s == NULL) {
        say(why, whylen, "no connection string");
        return -EINVAL;
    }
    struct azk_span name, value;
    int more;
    for (const char *p = s; (more = azki_conn_string_next(&p, &name, &value)) != 0;) {
        if (more < 0 || name.len == 0) {
            say(why, whylen, "a part of the connection string is not Name=value");
            return -EINVAL;
        }
        if (azk_span_eq_str(name, "ModuleId")) {
            say(why, whylen, "module identities (ModuleId) are not supported: use a device "
                "connection string");
            return -EINVAL;
        }
        if (azk_span_eq_str(name, "x509") && value.len == 4 &&
            strncasecmp(value.ptr, "true", 4) == 0) {
            say(why, whylen, "this connection string is for an X.509 device (x509=true): give "
                "the certificate's security tag (--sec-tag) with --hub and --device-id");
            return -EINVAL;
        }
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            if (!azk_span_eq_str(name, parts[i].name))
                continue;
            char *dst = (char *)out + parts[i].off;
            if (value.len >= parts[i].cap) {
                if (why != NULL)
                    snprintf(why, whylen, "%s in the connection string is too long (at most "
                             "%zu characters)", parts[i].name, parts[i].cap - 1);
                return -ENAMETOOLONG;
            }
            if (dst[0] != '\0') {
                if (why != NULL)
                    snprintf(why, whylen, "%s is in the connection string twice",
                             parts[i].name);
                return -EINVAL;
            }
            memcpy(dst, value.ptr, value.len);
            dst[value.len] = '\0';
        }
    }
    const char *missing = !out->host[0] ? "HostName" : !out->device_id[0] ? "DeviceId"
                        : !out->key[0] ? "SharedAccessKey" : NULL;
    if (missing != NULL) {
        if (why != NULL)
            snprintf(why, whylen, "the connection string has no %s (expected "
                     "'HostName=<hub>;DeviceId=<id>;SharedAccessKey=<base64 key>')", missing);
        return -EINVAL;
    }
    unsigned char k[AZK_SAS_KEY_BYTES_MAX];
    int kn = azk_sas_key_decode(out->key, k, sizeof(k));
    OPENSSL_cleanse(k, sizeof(k));
    if (kn <= 0) {
        say(why, whylen, "SharedAccessKey in the connection string is not a base64 key of at "
            "most 64 bytes");
        return -EINVAL;
    }
    if (azk_device_id_validate(azk_span_from_str(out->device_id), NULL) != 0) {
        say(why, whylen, "DeviceId in the connection string is not a valid device id");
        return -EINVAL;
    }
    return 0;
}

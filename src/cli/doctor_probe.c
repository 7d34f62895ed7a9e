/* The handshake probe of `azkit doctor` (--handshake, and before --register / --connect): name
 * resolution, TCP and a TLS handshake with the tags' credentials, reported stage by stage, with
 * the server's chain (subjects, size, where it ends) and, when the tags cannot verify it,
 * which of Azure's roots would. No MQTT: nothing is registered, no device is disconnected. */
#include "cli/doctor_probe.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "azkit/cred_provision.h"

#define PROBE_TIMEOUT_S 10

/* "host[:port]" into host and port (default 8883). */
static void split_host(const char *hp, char *host, size_t size, char *port, size_t psize)
{
    snprintf(host, size, "%s", hp);
    snprintf(port, psize, "8883");
    char *colon = strrchr(host, ':');
    if (colon != NULL) {
        *colon = '\0';
        snprintf(port, psize, "%s", colon + 1);
    }
}

/* Which of Azure's roots verifies `chain` (leaf first), or NULL. */
static const char *azure_root_for(STACK_OF(X509) *chain)
{
    for (int w = 0; w < AZK_ROOT_COUNT; w++) {
        const struct azk_root_info *ri = azk_azure_root((enum azk_azure_root)w);
        BIO *b = BIO_new_mem_buf(ri->pem, -1);
        X509 *root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        X509_STORE *st = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        STACK_OF(X509) *untrusted = sk_X509_new_null();
        for (int i = 1; i < sk_X509_num(chain); i++)
            sk_X509_push(untrusted, sk_X509_value(chain, i));
        bool ok = root && st && ctx && untrusted && X509_STORE_add_cert(st, root) == 1 &&
                  X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), untrusted) == 1 &&
                  X509_verify_cert(ctx) == 1;
        sk_X509_free(untrusted);
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(st);
        X509_free(root);
        ERR_clear_error();
        if (ok)
            return ri->name;
    }
    return NULL;
}

static void cn_of(const X509_NAME *n, char *out, size_t size)
{
    out[0] = '\0';
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    const X509_NAME_ENTRY *e = i >= 0 ? X509_NAME_get_entry(n, i) : NULL;
    const ASN1_STRING *s = e ? X509_NAME_ENTRY_get_data(e) : NULL;
    if (s != NULL)
        snprintf(out, size, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
}

/* The subjects (CN) of the CAs `tls` trusts -- the tags' type 0 certificates -- as
 * "'A', 'B'" into out; returns how many. */
static int trusted_names(SSL_CTX *tls, char *out, size_t size)
{
    out[0] = '\0';
    STACK_OF(X509) *certs = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(tls));
    int n = certs ? sk_X509_num(certs) : 0;
    for (int i = 0; i < n; i++) {
        char cn[128];
        cn_of(X509_get_subject_name(sk_X509_value(certs, i)), cn, sizeof(cn));
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s'%s'", i ? ", " : "", cn);
    }
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    return n;
}

/* Notes whether the server sent a CertificateRequest (TLS 1.2 and 1.3 alike: OpenSSL passes
 * the decrypted handshake messages). */
static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    (void)version;
    (void)ssl;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        ((const unsigned char *)buf)[0] == SSL3_MT_CERTIFICATE_REQUEST)
        *(bool *)arg = true;
}

void cli_doctor_probe(struct azk_doctor_report *r, SSL_CTX *tls, const char *hostport,
                      const char *connect_address, size_t chain_limit)
{
    char host[256], port[16];
    split_host(hostport, host, sizeof(host), port, sizeof(port));
    const char *target = connect_address ? connect_address : host;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(target, port, &hints, &res);
    if (g != 0) {
        azk_doctor_add(r, "online.dns", AZK_CHECK_FAIL,
                       "Check the host name and DNS: `getent hosts NAME`.",
                       "'%s' does not resolve: %s", target, gai_strerror(g));
        return;
    }
    char addr[NI_MAXHOST] = "?";
    getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
    azk_doctor_add(r, "online.dns", AZK_CHECK_OK, NULL, "%s%s resolves to %s", target,
                   connect_address ? " (--connect-address)" : "", addr);
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    struct timeval tv = {.tv_sec = PROBE_TIMEOUT_S};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    int crc = fd >= 0 ? connect(fd, res->ai_addr, res->ai_addrlen) : -1;
    int cerr = errno;
    freeaddrinfo(res);
    if (crc != 0) {
        azk_doctor_add(r, "online.tcp", AZK_CHECK_FAIL,
                       "Check the port (MQTT over TLS is 8883), that the server runs, and "
                       "firewalls (outbound 8883 is often blocked).",
                       "TCP to %s port %s failed: %s (errno %d)", addr, port, strerror(cerr),
                       -cerr);
        if (fd >= 0)
            close(fd);
        return;
    }
    azk_doctor_add(r, "online.tcp", AZK_CHECK_OK, NULL, "TCP connected to %s port %s", addr,
                   port);
    SSL *ssl = SSL_new(tls);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
    bool asked = false;
    SSL_set_msg_callback(ssl, msg_cb);
    SSL_set_msg_callback_arg(ssl, &asked);
    ERR_clear_error();
    int hs = SSL_connect(ssl);
    long v = SSL_get_verify_result(ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    int n = chain ? sk_X509_num(chain) : 0;
    char subjects[600] = "";
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        int len = i2d_X509(x, NULL);
        bytes += len > 0 ? (size_t)len : 0;
        char cn[128];
        cn_of(X509_get_subject_name(x), cn, sizeof(cn));
        size_t used = strlen(subjects);
        snprintf(subjects + used, sizeof(subjects) - used, "%s'%s'", i ? " < " : "", cn);
    }
    char top_issuer[128] = "";
    if (n > 0)
        cn_of(X509_get_issuer_name(sk_X509_value(chain, n - 1)), top_issuer, sizeof(top_issuer));
    if (n > 0)
        azk_doctor_add(r, "online.server-chain",
                       chain_limit && bytes > chain_limit ? AZK_CHECK_FAIL : AZK_CHECK_INFO,
                       chain_limit && bytes > chain_limit
                           ? "The server must send a shorter chain (ECDSA certificates, no "
                             "extra or cross-signed ones); the modem cannot take this one."
                           : NULL,
                       "%s sent %d certificate%s, %zu bytes (DER): %s, ending at a certificate "
                       "issued by '%s'%s", host, n, n == 1 ? "" : "s", bytes, subjects,
                       top_issuer,
                       chain_limit && bytes > chain_limit
                           ? " -- more than the profile's limit for a server chain"
                           : "");
    if (hs == 1 && v == X509_V_OK) {
        azk_doctor_add(r, "online.tls", AZK_CHECK_OK, NULL,
                       "TLS handshake with %s done (%s); the tags' CAs verify its certificate; "
                       "%s", host, SSL_get_version(ssl),
                       asked ? "the server asked for a client certificate and the device sent "
                               "its chain"
                             : "the server did not ask for a client certificate (an X.509 "
                               "device cannot authenticate there)");
    } else if (v != X509_V_OK) {
        const char *would = n > 0 ? azure_root_for(chain) : NULL;
        /* The root the chain needs: Azure's by name, else the issuer of the last certificate
         * sent (servers do not send their root). */
        bool no_root = v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                       v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                       v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN;
        const char *needed = would ? would : top_issuer[0] ? top_issuer : NULL;
        char held[400];
        int nheld = trusted_names(tls, held, sizeof(held));
        char fix[AZK_DOCTOR_TEXT];
        if (would)
            snprintf(fix, sizeof(fix), "Write %s as type 0 into a tag the socket uses (`azkit "
                     "cred provision` writes Azure's roots).", would);
        else if (needed && nheld > 0 && no_root)
            snprintf(fix, sizeof(fix), "Write the root '%s' as type 0 into a tag the socket "
                     "uses, beside the old one, so that the device connects before and after a "
                     "server's move (azkit-hub: <data>/pki/roots.pem holds both of its roots).",
                     needed);
        else if (needed)
            snprintf(fix, sizeof(fix), "Write the root '%s' as type 0 into a tag the socket "
                     "uses.", needed);
        else
            snprintf(fix, sizeof(fix), "Write the root of %s's certificate as type 0 into a "
                     "tag the socket uses.", host);
        char cause[AZK_DOCTOR_TEXT] = "";
        int w = 0; /* a long root list is cut short; the message still names the cause */
        if (needed && nheld > 0 && no_root)
            w = snprintf(cause, sizeof(cause), ": its chain ends at the root '%s', and the tags "
                     "trust only %s -- not the server's root, as after a server moves to a new "
                     "root (Azure: Baltimore CyberTrust Root to DigiCert Global Root G2)",
                     needed, held);
        else if (needed && no_root)
            w = snprintf(cause, sizeof(cause), ": its chain ends at the root '%s', which the "
                         "tags do not hold", needed);
        (void)w;
        azk_doctor_add(r, "online.tls", AZK_CHECK_FAIL, fix,
                       "the tags' CAs do not verify %s's certificate (%s)%s", host,
                       X509_verify_cert_error_string(v), cause);
    } else {
        unsigned long e = ERR_peek_last_error();
        const char *why = e ? ERR_reason_error_string(e) : NULL;
        azk_doctor_add(r, "online.tls", AZK_CHECK_FAIL,
                       "See the credential checks above (client.* : the certificate the device "
                       "sends).",
                       "the TLS handshake with %s failed: %s", host,
                       why ? why : "the server closed the connection");
    }
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
}

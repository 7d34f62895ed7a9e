/* Plain words for connection failures (port/explain.h). */
#include "port/explain.h"

#include "azkit/client_posix.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/ossl.h"
#include "common/root_migration.h"

const char *azk_connack_text(int code)
{
    switch (code) {
    case 1: return "the server does not speak MQTT 3.1.1";
    case 2: return "the client id was refused (it must be the device or registration id)";
    case 3: return "the server is unavailable (throttled or down)";
    case 4: return "bad user name or password";
    case 5: return "not authorized: the hub did not accept this device's certificate for this "
                   "device id (not registered, wrong thumbprint, CA not verified, disabled, or "
                   "certificate CN not equal to the device id)";
    default: return "refused with an unknown code";
    }
}

void azki_explain_resolve(const char *host, const char *gai_text, char *out, size_t size)
{
    snprintf(out, size, "the host name '%s' does not resolve (%s): check the name (DPS: "
             "global.azure-devices-provisioning.net; IoT Hub: the assignedHub DPS returned), "
             "DNS, or the network", host, gai_text);
}

void azki_explain_connect(const char *host, uint16_t port, int err, char *out, size_t size)
{
    switch (err) {
    case -ECONNREFUSED:
        snprintf(out, size, "nothing accepts connections on %s:%u (ECONNREFUSED, -111): the "
                 "host is right but no server listens on that port -- check the port (MQTT over "
                 "TLS is 8883) and that the server runs", host, port);
        break;
    case -ETIMEDOUT:
        snprintf(out, size, "no answer from %s:%u in time (ETIMEDOUT, -110): a firewall drops "
                 "the connection, the address is wrong, or the network is down (outbound 8883 "
                 "is often blocked: Azure also offers MQTT over WebSockets on 443)", host, port);
        break;
    case -ENETUNREACH:
    case -EHOSTUNREACH:
        snprintf(out, size, "%s:%u cannot be reached (%s): no route to it -- check the network "
                 "connection", host, port, strerror(-err));
        break;
    default:
        snprintf(out, size, "cannot connect to %s:%u: %s (%d)", host, port, strerror(-err), err);
    }
}

/* The CN of the last certificate the server sent (where its chain ends). */
static void chain_top(SSL *ssl, char *out, size_t size)
{
    out[0] = '\0';
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    int n = chain ? sk_X509_num(chain) : 0;
    if (n == 0)
        return;
    X509 *top = sk_X509_value(chain, n - 1);
    char subj[128], iss[128];
    azki_x509_name_cn(X509_get_subject_name(top), subj, sizeof(subj));
    azki_x509_name_cn(X509_get_issuer_name(top), iss, sizeof(iss));
    snprintf(out, size, "the server's chain ends at '%s', issued by '%s'", subj, iss);
}

void azki_explain_tls(SSL *ssl, const char *host, const char *trusted, char *out, size_t size)
{
    long v = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_last_error();
    char top[300];
    chain_top(ssl, top, sizeof(top));
    const char *tr = trusted && *trusted ? trusted : "(nothing)";
    if (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
        v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
        v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || v == X509_V_ERR_CERT_UNTRUSTED) {
        snprintf(out, size, "%s's certificate is not signed by a CA this device trusts: %s; the "
                 "device trusts %s. Put the root that signed it in a tag the socket uses as "
                 "type 0 (ca_chain) -- for Azure that is DigiCert Global Root G2: "
                 AZKI_ROOT_MIGRATION " (devices that only trust Baltimore CyberTrust Root fail "
                 "here)",
                 host, top[0] ? top : "no chain", tr);
    } else if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
        snprintf(out, size, "%s's certificate is not valid for the name '%s': connect with the "
                 "host name in its certificate (the assignedHub / DPS host, not an IP address)",
                 host, host);
    } else if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID) {
        snprintf(out, size, "%s's certificate is %s -- or this device's clock is wrong (a "
                 "modem without network time starts in 1970 or 2000)",
                 host, v == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "not valid yet");
    } else if (v != X509_V_OK) {
        snprintf(out, size, "%s's certificate was refused: %s", host,
                 X509_verify_cert_error_string(v));
    } else if (e != 0) {
        const char *r = ERR_reason_error_string(e);
        snprintf(out, size, "the TLS handshake with %s failed: %s%s", host, r ? r : "error",
                 ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_UNKNOWN_CA
                     ? " -- the server does not trust this device's certificate chain (send "
                       "the intermediates with the leaf: type 1 holds the leaf, then its "
                       "intermediates)"
                     : "");
    } else {
        snprintf(out, size, "the TLS handshake with %s failed (the server closed the "
                 "connection)", host);
    }
    ERR_clear_error();
}

/* Why a connection was lost, in words. Before the server said anything after the handshake,
 * the likely reason is the device's certificate (TLS 1.3 clients finish the handshake before
 * the server has checked it). */
void azki_explain_lost(size_t rx, int rc, bool sending, char *why, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    const char *alert = e ? ERR_reason_error_string(e) : NULL;
    if (rx == 0)
        snprintf(why, size, "the server closed the connection right after the TLS handshake%s%s%s: "
                 "servers do this when they refuse the device's certificate (not issued by a CA "
                 "they trust, or sent without its intermediates: type 1 = leaf, then "
                 "intermediates)", alert ? " (" : "", alert ? alert : "", alert ? ")" : "");
    else if (rc > 0)
        snprintf(why, size, "the server closed the connection");
    else
        snprintf(why, size, "the connection broke%s: %s", sending ? " while sending" : "",
                 strerror(-rc));
    ERR_clear_error();
}

int azki_tls_handshake_error(SSL *ssl, int ssl_error, bool io_failed)
{
    unsigned long oe = ERR_peek_error();
    bool io = io_failed || ssl_error == SSL_ERROR_SYSCALL ||
              (ERR_GET_LIB(oe) == ERR_LIB_SSL &&
               ERR_GET_REASON(oe) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    return io && SSL_get_verify_result(ssl) == X509_V_OK ? -ECONNRESET : -ECONNABORTED;
}

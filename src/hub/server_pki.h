/* azkit-hub's own PKI: built like Azure's chain on first start, reused afterwards.
 *
 * Layout under <data>/pki/ (directory 0700, keys 0600):
 *   ca.pem                the root CA; what devices (and service clients) must trust
 *   ca.key.pem            its key
 *   intermediate.pem      the intermediate CA that signs the server certificate
 *   intermediate.key.pem  its key
 *   server.pem            the server certificate alone
 *   server-chain.pem      server certificate + intermediate: what the hub sends (< 4096 bytes)
 *   server.key.pem        the server key
 *   service.key           32 random bytes, base64: the iothubowner SharedAccessKey
 *   legacy/               a second root with its own intermediate and server certificate, laid
 *                         out like the files above (ca.pem, ..., server.key.pem): the "legacy"
 *                         server root; the files above are the "current" one
 *   root-current.pem      the current root (the same certificate as ca.pem)
 *   root-legacy.pem       the legacy root (legacy/ca.pem)
 *   roots.pem             both roots: what a device trusts to ride through a switch
 *
 * The hub serves its MQTT listener under either root (`serve --server-root`, `azkit-hub
 * server-root set`), as Azure moved from Baltimore CyberTrust Root to DigiCert Global Root G2.
 * A data directory made before the legacy root existed keeps its root as the current one;
 * legacy/ is created on the next start. The root-*.pem files are rewritten at every start.
 *
 * The server certificate's subjectAltName holds localhost, 127.0.0.1, ::1 and every extra
 * hostname (DNS names or IP addresses). On a later start the files are reused; the server
 * certificate (only) is reissued under the same intermediate when a requested hostname is
 * missing from its SANs, when it does not match its key or the intermediate, or when it
 * expires within 30 days -- the reissued certificate keeps the SANs of the old one.
 */
#ifndef AZK_HUB_SERVER_PKI_H
#define AZK_HUB_SERVER_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "azkit/diag.h"
#include "azkit/pki.h"
#include "hub/server_roots.h"

/* Largest server chain (certificate + intermediate, PEM) the hub accepts to send. */
#define HUB_PKI_CHAIN_MAX 4096
/* The server certificate is reissued when it expires within this many seconds. */
#define HUB_PKI_RENEW_SECONDS (30 * 86400)
/* Extra hostnames at most. */
#define HUB_PKI_HOSTNAMES_MAX 32

struct hub_pki_opts {
    const char *data_dir;              /* required; created 0700 when missing */
    const char *const *hostnames;      /* extra names or IP addresses (IPv6 may be bracketed) */
    size_t hostname_count;             /* at most HUB_PKI_HOSTNAMES_MAX */
    enum azk_key_alg key_alg;          /* for a new PKI: AZK_KEY_EC_P256 (default) or RSA-2048;
                                          a reissued server key keeps the existing key's type */
};

struct hub_pki {
    char dir[512];              /* <data>/pki */
    char ca_path[600];          /* ca.pem */
    char chain_path[600];       /* server-chain.pem */
    char key_path[600];         /* server.key.pem */
    char service_key_path[600]; /* service.key */
    char service_key[64];       /* base64 of the 32-byte service key (44 characters) */
    char host[256];             /* default HostName: the first extra hostname, else "localhost" */
    size_t chain_len;           /* bytes of server-chain.pem */
    bool created;               /* this start created the whole PKI */
    bool reissued;              /* this start reissued the server certificate */
    /* The two roots: [HUB_ROOT_CURRENT] is ca.pem / server-chain.pem / server.key.pem above,
     * [HUB_ROOT_LEGACY] the files under legacy/. */
    struct hub_pki_root {
        char root_path[600];    /* root-legacy.pem / root-current.pem */
        char chain_path[600];   /* the server chain served under this root */
        char key_path[600];     /* its key */
        size_t chain_len;
    } roots[HUB_ROOT_COUNT];
    char bundle_path[600];      /* roots.pem: both roots */
};

/* Creates or loads the PKI, both roots, and writes the root-*.pem and roots.pem files.
 * Findings: info "hub.pki-created" / "hub.pki-legacy-created" / "hub.pki-reissued" (with the
 * reason, e.g. the hostname that was missing) / "hub.pki-mode-fixed"; errors name the file and
 * the fix. Returns 0, -EINVAL (bad options or hostname), -EBADMSG (a damaged CA file: the
 * finding says to remove <data>/pki, which makes a new root devices must trust again), -EFBIG
 * (server chain would exceed HUB_PKI_CHAIN_MAX), -EACCES, -EIO, -ENOMEM. */
int hub_pki_init(const struct hub_pki_opts *opts, struct hub_pki *out,
                     struct azk_diag *d);

/* "HostName=<host>;SharedAccessKeyName=iothubowner;SharedAccessKey=<key>" into buf; host NULL
 * means p->host. Returns the length, or -ENOSPC when it does not fit (buf then holds ""). */
int hub_pki_connection_string(const struct hub_pki *p, const char *host, char *buf,
                                  size_t len);

/* Prints that connection string and a newline on `f`. Returns 0 or -ENOSPC / -EIO. */
int hub_pki_print_connection_string(FILE *f, const struct hub_pki *p, const char *host);

#endif

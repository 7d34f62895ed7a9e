/* The floor of a mutual-TLS connect with Debian's OpenSSL 3: N full handshakes between an
 * OpenSSL server and client in one thread over memory BIOs (no sockets, no hub, no MQTT),
 * with the hub's settings: ECDSA P-256 server chain, client certificate required and verified
 * against a CA file, X25519, no resumption. Prints the server's CPU per handshake (thread
 * CPU time spent in the server's SSL calls only), median of R rounds, twice, in alternating
 * rounds: the server in OpenSSL's default library context, and in the hub's TLS library
 * context (src/common/tls_libctx.c, compiled in).
 *
 *   tls_floor SERVER_CHAIN SERVER_KEY CLIENT_CHAIN CLIENT_KEY CA_FILE [1.2|1.3] [N] [R]
 *
 * Built and run by bench/hub/tls-floor. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/tls_libctx.h"

static double now_cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "tls_floor: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static SSL_CTX *ctx_new(OSSL_LIB_CTX *lib, int server, const char *chain, const char *key,
                        const char *ca, int v)
{
    SSL_CTX *c = SSL_CTX_new_ex(lib, NULL, server ? TLS_server_method() : TLS_client_method());
    /* The key is read in the default context, as the hub does (src/hub/tls.c). */
    BIO *kb = BIO_new_file(key, "r");
    EVP_PKEY *k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    BIO_free(kb);
    if (!c || !k || SSL_CTX_use_certificate_chain_file(c, chain) != 1 ||
        SSL_CTX_use_PrivateKey(c, k) != 1 || SSL_CTX_load_verify_locations(c, ca, NULL) != 1)
        die("cannot load the certificates");
    EVP_PKEY_free(k);
    SSL_CTX_set_min_proto_version(c, v);
    SSL_CTX_set_max_proto_version(c, v);
    /* X25519 is chosen; P-256 names the certificates' curve (TLS 1.2 needs it listed). */
    SSL_CTX_set1_groups_list(c, "X25519:P-256");
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(c, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                 : SSL_VERIFY_NONE, NULL);
    return c;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One round: n handshakes against server context sc; the server's CPU per handshake. */
static double round_us(SSL_CTX *sc, SSL_CTX *cc, int n)
{
    double server_us = 0;
    for (int i = 0; i < n; i++) {
        SSL *s = SSL_new(sc), *c = SSL_new(cc);
        BIO *sb = NULL, *cb = NULL;
        if (!s || !c || BIO_new_bio_pair(&sb, 0, &cb, 0) != 1)
            die("out of memory");
        SSL_set_bio(s, sb, sb);
        SSL_set_bio(c, cb, cb);
        SSL_set_accept_state(s);
        SSL_set_connect_state(c);
        int sdone = 0, cdone = 0;
        for (int step = 0; step < 100 && !(sdone && cdone); step++) {
            if (!cdone) {
                int rc = SSL_do_handshake(c);
                if (rc == 1)
                    cdone = 1;
                else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
                    die("client handshake failed");
            }
            if (!sdone) {
                double t0 = now_cpu_us();
                int rc = SSL_do_handshake(s);
                server_us += now_cpu_us() - t0;
                if (rc == 1)
                    sdone = 1;
                else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
                    die("server handshake failed");
            }
        }
        if (!sdone || !cdone)
            die("handshake did not finish");
        double t0 = now_cpu_us();
        SSL_free(s); /* the server's teardown is part of its cost */
        server_us += now_cpu_us() - t0;
        SSL_free(c);
    }
    return server_us / n;
}

int main(int argc, char **argv)
{
    if (argc < 6)
        die("usage: tls_floor SERVER_CHAIN SERVER_KEY CLIENT_CHAIN CLIENT_KEY CA [1.2|1.3] [N] [R]");
    int v = argc > 6 && strcmp(argv[6], "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    int n = argc > 7 ? atoi(argv[7]) : 300, rounds = argc > 8 ? atoi(argv[8]) : 5;
    OSSL_LIB_CTX *hub_lib = azki_tls_libctx();
    if (hub_lib == NULL)
        die("cannot make the hub's TLS library context");
    SSL_CTX *sc[2] = {ctx_new(NULL, 1, argv[1], argv[2], argv[5], v),
                      ctx_new(hub_lib, 1, argv[1], argv[2], argv[5], v)};
    SSL_CTX *cc = ctx_new(NULL, 0, argv[3], argv[4], argv[5], v);
    const char *names[2] = {"OpenSSL's default library context", "the hub's TLS library context"};
    double med[2][64];
    if (rounds > 64)
        rounds = 64;
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            int which = (r % 2 == 0) ? k : 1 - k; /* alternate which goes first */
            med[which][r] = round_us(sc[which], cc, n);
        }
    for (int k = 0; k < 2; k++) {
        qsort(med[k], (size_t)rounds, sizeof(med[k][0]), cmp);
        printf("TLS %s, %s: server CPU per mutual-TLS handshake %.0f us (median of %d rounds of "
               "%d; min %.0f, max %.0f)\n",
               v == TLS1_3_VERSION ? "1.3" : "1.2", names[k], med[k][rounds / 2], rounds, n,
               med[k][0], med[k][rounds - 1]);
    }
    printf("TLS %s: hub context / default context = %.2fx\n", v == TLS1_3_VERSION ? "1.3" : "1.2",
           med[1][rounds / 2] / med[0][rounds / 2]);
    SSL_CTX_free(sc[0]);
    SSL_CTX_free(sc[1]);
    SSL_CTX_free(cc);
    return 0;
}

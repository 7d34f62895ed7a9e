/* Test harness for azkit-hub: a real daemon (the azkit-hub binary) on free loopback ports with
 * a fresh data dir, and a small blocking MQTT-over-TLS device client built on the core codec
 * and OpenSSL. */
#ifndef AZK_TEST_HUB_HARNESS_H
#define AZK_TEST_HUB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include <cjson/cJSON.h>

#include "azkit/mqtt.h"
#include "azkit/pki.h"
#include "hub/store/store.h"

struct test_hub {
    char dir[512];        /* scratch directory (data dir is dir/data) */
    char data[600];
    char ca[700];         /* the CA devices trust */
    char log[600];        /* the daemon's stderr */
    char conn_str[512];
    int mqtt_port, service_port;
    pid_t pid;
};

/* Registry setup before start (through the real store, in-process). */
void test_hub_init(struct test_hub *h);
void test_hub_add_self_signed(struct test_hub *h, const char *id, const char *thumb1,
                              const char *thumb2, bool enabled);
void test_hub_add_ca_device(struct test_hub *h, const char *id, bool enabled);
/* A device with symmetric keys (base64; key2 may be NULL). */
void test_hub_add_sas_device(struct test_hub *h, const char *id, const char *key1,
                             const char *key2, bool enabled);
void test_hub_add_verified_ca(struct test_hub *h, const char *name, const char *pem_file,
                              bool verified);
/* Starts `azkit-hub serve` with extra args (NULL-terminated list, may be NULL). */
void test_hub_start(struct test_hub *h, const char *const *extra);
/* Starts it again on the ports it had (after test_hub_kill9/test_hub_stop), so that devices
 * reconnect to the same address. */
void test_hub_restart(struct test_hub *h, const char *const *extra);
/* SIGTERM, waits, checks a clean exit. */
void test_hub_stop(struct test_hub *h);
void test_hub_cleanup(struct test_hub *h);
/* Whether the daemon's log contains `text`. */
bool test_hub_log_contains(const struct test_hub *h, const char *text);
/* Telemetry committed to the hub's database (daemon stopped). */
size_t test_hub_telemetry(struct test_hub *h, struct hub_telemetry **out);

/* A device connection. */
struct test_dev {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    uint8_t buf[65536];
    size_t have;
    struct azk_mqtt_packet pkt; /* last packet read */
    uint8_t pkt_bytes[65536];
};

/* TLS to the hub's MQTT port; `chain`/`key` (may be NULL: no client certificate);
 * tls_version TLS1_2_VERSION or TLS1_3_VERSION. Returns 0 or -1 (handshake failed). */
int test_dev_tls(struct test_dev *d, const struct test_hub *h, const char *chain,
                 const char *key, int tls_version, SSL_SESSION *resume);
/* The same to another of the hub's ports (the service API's: MQTT over WebSockets). */
int test_dev_tls_at(struct test_dev *d, const struct test_hub *h, int port, const char *chain,
                    const char *key, int tls_version, SSL_SESSION *resume);
/* The TLS server name (SNI) the next test_dev_tls() calls send: "localhost" by default, NULL
 * for none (a device that connects by address). The server certificate is checked for this
 * name (or localhost). */
void test_dev_set_sni(const char *name);

/* CONNECT with `username` (NULL: "<host>/<id>/?api-version=2021-04-12") and returns the
 * CONNACK code, or -1 when the hub closed the connection instead. */
int test_dev_connect(struct test_dev *d, const char *client_id, const char *username,
                     bool clean, uint16_t keepalive, bool *session_present);
void test_dev_send(struct test_dev *d, const void *data, size_t len);
void test_dev_publish(struct test_dev *d, const char *topic, const char *payload, int qos,
                      uint16_t packet_id);
void test_dev_subscribe(struct test_dev *d, uint16_t packet_id, const char *const *filters,
                        size_t n, uint8_t qos);
/* Reads the next packet (within timeout_ms). Returns 1, 0 on timeout, -1 when closed. */
int test_dev_read(struct test_dev *d, int timeout_ms);
void test_dev_close(struct test_dev *d);

/* Full device connection: TLS + CONNECT; returns the CONNACK code or -1. */
int test_dev_open(struct test_dev *d, const struct test_hub *h, const char *id,
                  const char *chain, const char *key, int tls_version);



/* Thumbprint of the first certificate in a PEM file: uppercase hex of its DER's digest
 * (EVP_sha1() or EVP_sha256()). */
void test_hub_thumbprint(const char *cert_file, const EVP_MD *md, char *out);

/* "DIR/NAME.EXT.pem" (test_hub_make_cert's file names) in one of 8 rotating buffers. */
const char *test_pem_path(const char *dir, const char *name, const char *ext);

/* Creates DIR/OUT.cert.pem and DIR/OUT.key.pem (azk_pki_create of `kind` with CN `cn`), signed
 * by DIR/ISSUER.{cert,key}.pem unless `issuer` is NULL; `nb`/`na` (may be NULL) bound its
 * validity. Fails the test on error. */
void test_hub_make_cert(const char *dir, enum azk_pki_kind kind, const char *cn, const char *out,
                        const char *issuer, const char *nb, const char *na);

/* Runs an admin command (`azkit-hub --ready-file F --json ARGS...`) and returns its JSON
 * output (fails the test unless it exits `want_status`). NULL-terminated args. */
cJSON *test_hub_admin(const struct test_hub *h, int want_status, ...);

/* Makes a self-signed device certificate `id` in `pki_dir` (azkit pki self-signed), writes its
 * cert/key paths (700 bytes each) and registers it in the hub as selfSigned with the
 * thumbprint of `md` (EVP_sha1() or EVP_sha256()). Call before test_hub_start(). */
void test_hub_self_signed_device(struct test_hub *h, const char *pki_dir, const char *id,
                                 const EVP_MD *md, char cert[700], char key[700]);

/* A string member of the ready file `serve` wrote (id_scope, dps_host, ...) into out; fails
 * the test when it is missing. */
void test_hub_ready_str(const struct test_hub *h, const char *name, char *out, size_t size);

/* Stops the hub (asserting a clean exit: no crash along the way), removes its files and the
 * scratch directory `scratch` (may be NULL). */
void test_hub_finish(struct test_hub *h, const char *scratch);

/* A new scratch directory `scratch`, a hub with the self-signed device `id` registered (its
 * files' paths in cert and key), started with no extra arguments. */
void test_hub_start_with_device(struct test_hub *h, char scratch[512], const char *id,
                                char cert[700], char key[700]);

/* Encodes a PUBLISH into buf (fails the test when it does not fit); returns its length. */
size_t test_mqtt_publish_bytes(uint8_t *buf, size_t cap, const char *topic, const char *payload,
                               int qos, uint16_t packet_id);

/* kill -9 the daemon (no clean shutdown). */
void test_hub_kill9(struct test_hub *h);
#endif

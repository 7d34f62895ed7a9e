#include "hub_harness.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "support/test_util.h"

/* ---- registry setup through the real store ------------------------------------------------ */

static void done_flag(void *ctx, int rc)
{
    assert_int_equal(rc, 0);
    (*(int *)ctx)++;
}

static void with_store(struct test_hub *h, void (*fn)(struct hub_store *, void *), void *arg)
{
    struct event_base *base = event_base_new();
    struct hub_store *st = NULL;
    struct hub_store_config cfg = {.data_dir = h->data};
    assert_int_equal(hub_store_open(&cfg, base, &st, NULL), 0);
    fn(st, arg);
    hub_store_close(st);
    event_base_free(base);
}

void test_hub_init(struct test_hub *h)
{
    memset(h, 0, sizeof(*h));
    azk_test_mkdtemp(h->dir);
    snprintf(h->data, sizeof(h->data), "%s/data", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/hub.log", h->dir);
}

struct dev_args {
    const char *id, *t1, *t2; /* thumbprints, or (sas) base64 keys */
    bool enabled;
    enum hub_auth_type auth;
};

static void add_device(struct hub_store *st, void *arg)
{
    struct dev_args *a = arg;
    struct hub_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.device_id, sizeof(d.device_id), "%s", a->id);
    d.auth = a->auth;
    if (a->auth == HUB_AUTH_SAS) {
        snprintf(d.primary_key, sizeof(d.primary_key), "%s", a->t1 ? a->t1 : "");
        snprintf(d.secondary_key, sizeof(d.secondary_key), "%s", a->t2 ? a->t2 : "");
    } else {
        if (a->t1)
            snprintf(d.primary_thumbprint, sizeof(d.primary_thumbprint), "%s", a->t1);
        if (a->t2)
            snprintf(d.secondary_thumbprint, sizeof(d.secondary_thumbprint), "%s", a->t2);
    }
    d.status = a->enabled ? HUB_DEVICE_ENABLED : HUB_DEVICE_DISABLED;
    int n = 0;
    assert_int_equal(hub_store_device_create(st, &d, NULL, done_flag, &n), 0);
}

void test_hub_add_self_signed(struct test_hub *h, const char *id, const char *thumb1,
                              const char *thumb2, bool enabled)
{
    struct dev_args a = {id, thumb1, thumb2, enabled, HUB_AUTH_SELF_SIGNED};
    with_store(h, add_device, &a);
}

void test_hub_add_sas_device(struct test_hub *h, const char *id, const char *key1,
                             const char *key2, bool enabled)
{
    struct dev_args a = {id, key1, key2, enabled, HUB_AUTH_SAS};
    with_store(h, add_device, &a);
}

void test_hub_add_ca_device(struct test_hub *h, const char *id, bool enabled)
{
    struct dev_args a = {id, NULL, NULL, enabled, HUB_AUTH_CA};
    with_store(h, add_device, &a);
}

struct ca_args {
    const char *name, *file;
    bool verified;
};

static void add_ca(struct hub_store *st, void *arg)
{
    struct ca_args *a = arg;
    struct hub_ca ca;
    memset(&ca, 0, sizeof(ca));
    snprintf(ca.name, sizeof(ca.name), "%s", a->name);
    ca.pem = azk_test_read(a->file, NULL);
    ca.verified = a->verified;
    int n = 0;
    assert_int_equal(hub_store_ca_put(st, &ca, NULL, NULL, done_flag, &n), 0);
    free(ca.pem);
}

void test_hub_add_verified_ca(struct test_hub *h, const char *name, const char *pem_file,
                              bool verified)
{
    struct ca_args a = {name, pem_file, verified};
    with_store(h, add_ca, &a);
}

struct tel_args {
    struct hub_telemetry *recs;
    size_t n;
};

/* Every stored record, a page of 1000 at a time. */
static void read_tel(struct hub_store *st, void *arg)
{
    struct tel_args *a = arg;
    uint64_t after = 0;
    for (;;) {
        struct hub_telemetry *page = NULL;
        size_t n = 0;
        assert_int_equal(hub_store_telemetry_read(st, after, NULL, 1000, &page, &n), 0);
        if (n == 0) {
            free(page);
            return;
        }
        struct hub_telemetry *all = realloc(a->recs, (a->n + n) * sizeof(*all));
        assert_non_null(all);
        memcpy(all + a->n, page, n * sizeof(*all));
        a->recs = all;
        a->n += n;
        after = page[n - 1].seq;
        free(page); /* the records' heap parts now belong to a->recs */
    }
}

size_t test_hub_telemetry(struct test_hub *h, struct hub_telemetry **out)
{
    struct tel_args a = {NULL, 0};
    with_store(h, read_tel, &a);
    *out = a.recs;
    return a.n;
}

/* ---- the daemon ----------------------------------------------------------------------------- */

void test_hub_start(struct test_hub *h, const char *const *extra)
{
    char ready[700];
    snprintf(ready, sizeof(ready), "%s/ready.json", h->dir);
    unlink(ready);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 2);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        /* --amqp-port 0: hubs of parallel tests must not race for 5671. */
        const char *argv[34] = {AZKIT_HUB_BIN, "serve", "--data", h->data, "--mqtt-port", "0",
                                "--service-port", "0", "--amqp-port", "0", "--ready-file", ready,
                                "--log-level", "debug"};
        int n = 14;
        for (int i = 0; extra && extra[i] && n < 33; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        execv(AZKIT_HUB_BIN, (char *const *)argv);
        _exit(127);
    }
    h->pid = pid;
    for (int i = 0; i < 300; i++) { /* up to 30 s: the first start makes a PKI */
        if (azk_test_exists(ready))
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            char *log = azk_test_read(h->log, NULL);
            fail_msg("azkit-hub exited before it was ready:\n%s", log);
        }
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    char *text = azk_test_read(ready, NULL);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    h->mqtt_port = cJSON_GetObjectItem(j, "mqtt_port")->valueint;
    h->service_port = cJSON_GetObjectItem(j, "service_port")->valueint;
    snprintf(h->ca, sizeof(h->ca), "%s", cJSON_GetObjectItem(j, "ca")->valuestring);
    snprintf(h->conn_str, sizeof(h->conn_str), "%s",
             cJSON_GetObjectItem(j, "connection_string")->valuestring);
    cJSON_Delete(j);
    free(text);
}

void test_hub_restart(struct test_hub *h, const char *const *extra)
{
    char mqtt[16], svc[16];
    snprintf(mqtt, sizeof(mqtt), "%d", h->mqtt_port);
    snprintf(svc, sizeof(svc), "%d", h->service_port);
    /* The later --mqtt-port/--service-port win over test_hub_start's "0". */
    const char *args[24] = {"--mqtt-port", mqtt, "--service-port", svc};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    test_hub_start(h, args);
}

void test_hub_stop(struct test_hub *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGTERM);
    int st = 0;
    assert_int_equal(waitpid(h->pid, &st, 0), h->pid);
    h->pid = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *log = azk_test_read(h->log, NULL);
        fail_msg("azkit-hub did not stop cleanly (status %d):\n%s", st, log);
    }
}

void test_hub_cleanup(struct test_hub *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
    }
    azk_test_rmrf(h->dir);
}

bool test_hub_log_contains(const struct test_hub *h, const char *text)
{
    char *log = azk_test_read(h->log, NULL);
    bool found = strstr(log, text) != NULL;
    free(log);
    return found;
}

/* ---- a device ----------------------------------------------------------------------------- */

/* The TLS server name (SNI) devices send; NULL sends none. */
static const char *dev_sni = "localhost";

void test_dev_set_sni(const char *name)
{
    dev_sni = name;
}

int test_dev_tls(struct test_dev *d, const struct test_hub *h, const char *chain,
                 const char *key, int tls_version, SSL_SESSION *resume)
{
    return test_dev_tls_at(d, h, h->mqtt_port, chain, key, tls_version, resume);
}

int test_dev_tls_at(struct test_dev *d, const struct test_hub *h, int port, const char *chain,
                    const char *key, int tls_version, SSL_SESSION *resume)
{
    memset(d, 0, sizeof(*d));
    d->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    d->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(d->ctx, tls_version);
    SSL_CTX_set_max_proto_version(d->ctx, tls_version);
    assert_int_equal(SSL_CTX_load_verify_locations(d->ctx, h->ca, NULL), 1);
    SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER, NULL);
    if (chain) {
        assert_int_equal(SSL_CTX_use_certificate_chain_file(d->ctx, chain), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(d->ctx, key, SSL_FILETYPE_PEM), 1);
    }
    d->ssl = SSL_new(d->ctx);
    if (dev_sni != NULL)
        SSL_set_tlsext_host_name(d->ssl, dev_sni);
    /* The server certificate names every served hub: check the one asked for. */
    SSL_set1_host(d->ssl, dev_sni ? dev_sni : "localhost");
    if (resume)
        SSL_set_session(d->ssl, resume);
    SSL_set_fd(d->ssl, d->fd);
    if (SSL_connect(d->ssl) != 1) {
        ERR_print_errors_fp(stderr);
        return -1;
    }
    return 0;
}

void test_dev_send(struct test_dev *d, const void *data, size_t len)
{
    assert_int_equal(SSL_write(d->ssl, data, (int)len), (int)len);
}

int test_dev_read(struct test_dev *d, int timeout_ms)
{
    struct azk_mqtt_decoder_config cfg = {0};
    cfg.role = AZK_MQTT_ROLE_CLIENT;
    cfg.max_packet_size = sizeof(d->pkt_bytes);
    cfg.allow_wildcards_in_publish_topic = true;
    for (;;) {
        if (d->have >= 2) {
            size_t total = 0;
            enum azk_mqtt_reason why;
            int rc = azk_mqtt_decode(&cfg, d->buf, d->have, &d->pkt, &total, &why);
            if (rc == 0) {
                /* Keep the packet bytes stable for the caller, then drop them. */
                memcpy(d->pkt_bytes, d->buf, total);
                azk_mqtt_decode(&cfg, d->pkt_bytes, total, &d->pkt, &total, &why);
                memmove(d->buf, d->buf + total, d->have - total);
                d->have -= total;
                return 1;
            }
            if (rc != -EAGAIN)
                fail_msg("hub sent a malformed packet: %s", azk_mqtt_reason_str(why));
        }
        if (SSL_pending(d->ssl) == 0) {
            struct pollfd p = {d->fd, POLLIN, 0};
            int r = poll(&p, 1, timeout_ms);
            if (r == 0)
                return 0;
        }
        int n = SSL_read(d->ssl, d->buf + d->have, (int)(sizeof(d->buf) - d->have));
        if (n <= 0)
            return -1;
        d->have += (size_t)n;
    }
}

int test_dev_connect(struct test_dev *d, const char *client_id, const char *username,
                     bool clean, uint16_t keepalive, bool *session_present)
{
    char user[512];
    if (username == NULL) {
        snprintf(user, sizeof(user), "localhost/%s/?api-version=2021-04-12", client_id);
        username = user;
    }
    struct azk_mqtt_connect c;
    memset(&c, 0, sizeof(c));
    c.client_id = azk_span_from_str(client_id);
    c.has_username = true;
    c.username = azk_span_from_str(username);
    c.clean_session = clean;
    c.keep_alive = keepalive;
    uint8_t out[1024];
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_connect(&c, out, sizeof(out), &n), 0);
    test_dev_send(d, out, n);
    int r = test_dev_read(d, 5000);
    if (r != 1)
        return -1;
    assert_int_equal(d->pkt.type, AZK_MQTT_CONNACK);
    if (session_present)
        *session_present = d->pkt.u.connack.session_present;
    return d->pkt.u.connack.return_code;
}

size_t test_mqtt_publish_bytes(uint8_t *buf, size_t cap, const char *topic, const char *payload,
                               int qos, uint16_t packet_id)
{
    struct azk_mqtt_publish p;
    memset(&p, 0, sizeof(p));
    p.topic = azk_span_from_str(topic);
    p.payload = azk_span_from_str(payload);
    p.qos = (uint8_t)qos;
    p.packet_id = packet_id;
    size_t n = 0;
    assert_int_equal(azk_mqtt_encode_publish(&p, buf, cap, &n), 0);
    return n;
}

void test_dev_publish(struct test_dev *d, const char *topic, const char *payload, int qos,
                      uint16_t packet_id)
{
    uint8_t out[8192];
    test_dev_send(d, out, test_mqtt_publish_bytes(out, sizeof(out), topic, payload, qos, packet_id));
}

void test_hub_finish(struct test_hub *h, const char *scratch)
{
    test_hub_stop(h);
    test_hub_cleanup(h);
    if (scratch != NULL)
        azk_test_rmrf(scratch);
}

void test_hub_start_with_device(struct test_hub *h, char scratch[512], const char *id,
                                char cert[700], char key[700])
{
    azk_test_mkdtemp(scratch);
    test_hub_init(h);
    test_hub_self_signed_device(h, scratch, id, EVP_sha256(), cert, key);
    test_hub_start(h, NULL);
}

void test_dev_subscribe(struct test_dev *d, uint16_t packet_id, const char *const *filters,
                        size_t n, uint8_t qos)
{
    struct azk_mqtt_subscription subs[8];
    for (size_t i = 0; i < n; i++) {
        subs[i].filter = azk_span_from_str(filters[i]);
        subs[i].qos = qos;
    }
    uint8_t out[2048];
    size_t len = 0;
    assert_int_equal(azk_mqtt_encode_subscribe(packet_id, subs, n, out, sizeof(out), &len), 0);
    test_dev_send(d, out, len);
}

void test_dev_close(struct test_dev *d)
{
    if (d->ssl) {
        SSL_shutdown(d->ssl);
        SSL_free(d->ssl);
    }
    if (d->ctx)
        SSL_CTX_free(d->ctx);
    if (d->fd > 0)
        close(d->fd);
    memset(d, 0, sizeof(*d));
}

int test_dev_open(struct test_dev *d, const struct test_hub *h, const char *id,
                  const char *chain, const char *key, int tls_version)
{
    if (test_dev_tls(d, h, chain, key, tls_version, NULL) != 0)
        return -2;
    return test_dev_connect(d, id, NULL, true, 60, NULL);
}

void test_hub_kill9(struct test_hub *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
}

void test_hub_thumbprint(const char *cert_file, const EVP_MD *md, char *out)
{
    FILE *f = fopen(cert_file, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(x, md, d, &n);
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02X", d[i]);
    X509_free(x);
}

cJSON *test_hub_admin(const struct test_hub *h, int want_status, ...)
{
    char ready[700];
    snprintf(ready, sizeof(ready), "%s/ready.json", h->dir);
    const char *argv[40] = {"--ready-file", ready, "--json"};
    int n = 3;
    va_list ap;
    va_start(ap, want_status);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 39)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct azk_run r;
    azk_run_bin(&r, AZKIT_HUB_BIN, NULL, argv);
    if (r.status != want_status)
        fail_msg("azkit-hub %s %s: exit %d (wanted %d)\n%s\n%s", argv[3], n > 4 ? argv[4] : "",
                 r.status, want_status, r.out, r.err);
    cJSON *j = cJSON_Parse(r.out);
    azk_run_free(&r);
    return j;
}

const char *test_pem_path(const char *dir, const char *name, const char *ext)
{
    static char bufs[8][700];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 700, "%s/%s.%s.pem", dir, name, ext);
    return b;
}

void test_hub_make_cert(const char *dir, enum azk_pki_kind kind, const char *cn, const char *out,
                        const char *issuer, const char *nb, const char *na)
{
    char o[1024], ic[1024], ik[1024];
    snprintf(o, sizeof(o), "%s/%s", dir, out);
    struct azk_pki_request r = {0};
    r.kind = kind;
    r.common_name = cn;
    r.out_prefix = o;
    r.not_before = nb;
    r.not_after = na;
    if (issuer != NULL) {
        snprintf(ic, sizeof(ic), "%s/%s.cert.pem", dir, issuer);
        snprintf(ik, sizeof(ik), "%s/%s.key.pem", dir, issuer);
        r.issuer_cert = ic;
        r.issuer_key = ik;
    }
    struct azk_pki_result res;
    struct azk_diag d;
    azk_diag_init(&d);
    int rc = azk_pki_create(&r, &res, &d);
    if (rc != 0)
        fail_msg("create %s: %d %s", cn, rc, d.count ? d.items[0].message : "");
}

void test_hub_self_signed_device(struct test_hub *h, const char *pki_dir, const char *id,
                                 const EVP_MD *md, char cert[700], char key[700])
{
    char prefix[600], hex[2 * EVP_MAX_MD_SIZE + 1];
    snprintf(prefix, sizeof(prefix), "%s/%s", pki_dir, id);
    AZK_MUST("pki", "self-signed", id, "--out", prefix);
    snprintf(cert, 700, "%s.cert.pem", prefix);
    snprintf(key, 700, "%s.key.pem", prefix);
    test_hub_thumbprint(cert, md, hex);
    test_hub_add_self_signed(h, id, hex, NULL, true);
}

void test_hub_ready_str(const struct test_hub *h, const char *name, char *out, size_t size)
{
    char ready[700];
    snprintf(ready, sizeof(ready), "%s/ready.json", h->dir);
    char *text = azk_test_read(ready, NULL);
    cJSON *j = cJSON_Parse(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!cJSON_IsString(v))
        fail_msg("the ready file has no string \"%s\": %s", name, text);
    snprintf(out, size, "%s", v->valuestring);
    cJSON_Delete(j);
    free(text);
}

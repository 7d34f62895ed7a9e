/* The hub process: PKI, store, TLS, listeners, signals, and what it prints at start. */
#include "hub/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "azkit/pki.h"
#include "hub/amqp/amqp.h"
#include "hub/amqp/eh_addr.h"
#include "hub/service/sas.h"
#include "common/fileio.h"
#include "hub/mqtt/conn.h"
#include "hub/log.h"
#include "hub/mem_trim.h"
#include "hub/iothub/methods.h"
#include "hub/server_pki.h"
#include "hub/service/service.h"
#include "hub/store/store.h"
#include "hub/tls.h"

/* The accept queue of the listeners: as deep as the kernel allows (it caps the value at
 * net.core.somaxconn), so that connections wait there while the hub is busy (accept pacing). */
#define HUB_LISTEN_BACKLOG 65535

int64_t hub_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void print_findings(const struct azk_diag *dg)
{
    for (size_t i = 0; i < dg->count; i++) {
        const struct azk_finding *f = &dg->items[i];
        hub_log(f->severity == AZK_SEV_ERROR ? HUB_LOG_ERROR
                : f->severity == AZK_SEV_WARNING ? HUB_LOG_WARN
                                                  : HUB_LOG_INFO,
                "%s%s%s", f->message, f->fix[0] ? " -- fix: " : "", f->fix);
    }
}

/* The listener accepts while fewer than --max-handshakes connections are being admitted (TLS
 * handshake, then CONNECT) and file descriptors are left. Paused, new connections wait in the
 * kernel's accept queue: a storm is served in arrival order at the speed the hub can go,
 * instead of starting every handshake at once and timing out the ones it already paid for. */
static void update_listening(struct hub_daemon *d)
{
    if (d->mqtt_listener == NULL)
        return;
    bool busy = d->admitting >= d->cfg.max_admitting;
    if (busy && !d->paused_busy) {
        d->busy_pauses++;
        if (d->busy_since_ms == 0) {
            d->busy_since_ms = hub_now_ms();
            hub_log(HUB_LOG_WARN, "busy: %zu connections in the TLS handshake or awaiting "
                    "CONNECT (--max-handshakes %u); new connections wait in the kernel's "
                    "accept queue until one is done", d->admitting, d->cfg.max_admitting);
        }
    }
    d->paused_busy = busy;
    if (busy || d->paused_no_fds)
        evconnlistener_disable(d->mqtt_listener);
    else
        evconnlistener_enable(d->mqtt_listener);
}

void hub_daemon_admitted(struct hub_daemon *d)
{
    d->admitting--;
    if (d->busy_since_ms != 0 && d->admitting == 0) {
        hub_log(HUB_LOG_INFO, "no longer busy: %llu connections accepted in %.1f s, accepting "
                "paused %llu times (connections waited in the kernel's accept queue)",
                (unsigned long long)d->busy_accepted,
                (double)(hub_now_ms() - d->busy_since_ms) / 1000.0,
                (unsigned long long)d->busy_pauses);
        d->busy_since_ms = 0;
        d->busy_pauses = 0;
        d->busy_accepted = 0;
    }
    if (d->paused_busy)
        update_listening(d);
}

void hub_peer_text(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, size, "%s:%d", host, ntohs(in->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, size, "[%s]:%d", host, ntohs(in6->sin6_port));
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l;
    (void)salen;
    struct hub_daemon *d = arg;
    /* An answer (CONNACK, PUBACK) written while an earlier one is not yet ACKed would wait for
     * the device's delayed ACK (40 ms) under Nagle's algorithm. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char peer[80];
    hub_peer_text(sa, peer, sizeof(peer));
    evutil_make_socket_nonblocking(fd);
    hub_conn_accept(d, fd, peer);
    if (d->busy_since_ms != 0)
        d->busy_accepted++;
    /* Disabling the listener inside its callback stops libevent's accept loop. */
    if (d->admitting >= d->cfg.max_admitting)
        update_listening(d);
}

static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hub_daemon *d = arg;
    d->paused_no_fds = false;
    update_listening(d);
}

/* accept() failed, typically out of file descriptors: pause the listener for a second
 * instead of spinning on it (and filling the log). */
static void accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    struct hub_daemon *d = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct rlimit rl = {0, 0};
    getrlimit(RLIMIT_NOFILE, &rl);
    hub_log(HUB_LOG_WARN, "accept failed: %s (%zu connections open, open files limit %llu%s); "
            "not accepting connections for 1 s", evutil_socket_error_to_string(err),
            d->open_conns, (unsigned long long)rl.rlim_cur,
            err == EMFILE || err == ENFILE ? ": raise `ulimit -n` (hard limit) for more devices"
                                           : "");
    d->paused_no_fds = true;
    update_listening(d);
    struct timeval tv = {1, 0};
    event_base_once(d->base, -1, EV_TIMEOUT, resume_accepting, d, &tv);
}

/* One file descriptor per connection: raise the soft limit to the hard one, and say what it
 * allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    hub_log(HUB_LOG_INFO, "open files limit %llu: about that many devices can be connected at "
            "once (raise the hard limit, `ulimit -Hn`, for more)", (unsigned long long)rl.rlim_cur);
}

int hub_listen_bind(struct event_base *base, const char *addr, int port, evconnlistener_cb cb,
                    void *arg, struct evconnlistener **out)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    /* The address alone (libevent refuses port 0 in "addr:port"); the port is set below. */
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0)
        return -EINVAL;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    *out = evconnlistener_new_bind(base, cb, arg,
                                   LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                   HUB_LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
    if (*out == NULL)
        return -errno ? -errno : -EADDRINUSE;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    getsockname(evconnlistener_get_fd(*out), (struct sockaddr *)&bound, &blen);
    return bound.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&bound)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
}

/* The MQTT listener: bound, with accept pacing's error callback. */
static int listen_on(struct hub_daemon *d, const char *addr, int port,
                     evconnlistener_cb cb, void *arg, struct evconnlistener **out)
{
    int rc = hub_listen_bind(d->base, addr, port, cb, arg, out);
    if (rc >= 0)
        evconnlistener_set_error_cb(*out, accept_error);
    return rc;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct hub_daemon *d = arg;
    hub_log(HUB_LOG_INFO, "received %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopexit(d->base, NULL);
}

/* The served hubs as a JSON array of host names (into buf). */
static void hubs_json(const struct hub_daemon *d, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->hub_count && off < size; i++) {
        int n = snprintf(buf + off, size - off, "%s\"%s\"", i ? "," : "", d->hubs[i].hostname);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

/* The Event Hubs-compatible connection string of the primary hub: over TLS on the AMQP port
 * (emulator false; the SDK then needs customEndpointAddress amqps://host:port unless the port
 * is 5671), or the SDKs' emulator form on the plain port (emulator true). */
static void eventhubs_connection_string(const struct hub_daemon *d, bool emulator, char *out,
                                        size_t size)
{
    char entity[HUB_EH_NAME_MAX + 1], port[16] = "";
    hub_eh_entity_of_host(d->hubs[0].hostname, entity, sizeof(entity));
    if (emulator && d->eventhubs_port != 5672)
        snprintf(port, sizeof(port), ":%d", d->eventhubs_port);
    snprintf(out, size, "Endpoint=sb://%s%s/;SharedAccessKeyName=%s;SharedAccessKey=%s;"
             "EntityPath=%s%s", emulator ? "localhost" : d->hubs[0].hostname, port,
             HUB_SAS_POLICY_HUB, d->service_key, entity,
             emulator ? ";UseDevelopmentEmulator=true" : "");
}

static void write_ready_file(const struct hub_daemon *d, const struct hub_pki *pki)
{
    if (d->cfg.ready_file == NULL)
        return;
    char conn[512] = "", hubs[2400], eh[512] = "", ehemu[512] = "";
    hub_pki_connection_string(pki, d->hubs[0].hostname, conn, sizeof(conn));
    if (d->amqp_port)
        eventhubs_connection_string(d, false, eh, sizeof(eh));
    if (d->eventhubs_port)
        eventhubs_connection_string(d, true, ehemu, sizeof(ehemu));
    hubs_json(d, hubs, sizeof(hubs));
    char text[6144];
    int n = snprintf(text, sizeof(text),
                     "{\"mqtt_port\":%d,\"service_port\":%d,\"amqp_port\":%d,"
                     "\"hostname\":\"%s\",\"ca\":\"%s\","
                     "\"server_root\":\"%s\",\"root_legacy\":\"%s\",\"root_current\":\"%s\","
                     "\"roots_bundle\":\"%s\","
                     "\"data\":\"%s\",\"connection_string\":\"%s\",\"id_scope\":\"%s\","
                     "\"dps_host\":\"%s\",\"hubs\":[%s],\"eventhubs_port\":%d,"
                     "\"partitions\":%u,\"eventhubs_connection_string\":\"%s\","
                     "\"eventhubs_emulator_connection_string\":\"%s\"}\n",
                     d->mqtt_port, d->service_port, d->amqp_port, d->hubs[0].hostname,
                     pki->ca_path,
                     hub_server_root_name(d->server_root), d->root_files[HUB_ROOT_LEGACY].root,
                     d->root_files[HUB_ROOT_CURRENT].root, d->roots_bundle,
                     d->cfg.data_dir, conn, d->dps.id_scope, d->dps.host, hubs,
                     d->eventhubs_port, d->cfg.partitions, eh, ehemu);
    /* The connection string holds the service key: the file is 0600 like the key. */
    if (n > 0 && (size_t)n < sizeof(text))
        azki_atomic_write_path(d->cfg.ready_file, text, (size_t)n, 0600, false);
}

void hub_daemon_set_server_root(struct hub_daemon *d, enum hub_server_root root)
{
    enum hub_server_root was = d->server_root;
    d->server_root = root;
    d->tls = d->tls_roots[root];
    d->server_root_since_ms = hub_now_ms();
    hub_log(HUB_LOG_INFO, "server root: %s%s%s; new MQTT handshakes get the chain ending at "
            "%s (%s); the %zu open connections keep theirs", hub_server_root_name(root),
            was == root ? " (unchanged)" : ", was ", was == root ? "" : hub_server_root_name(was),
            d->root_files[root].subject, d->root_files[root].root, d->open_conns);
}

int hub_daemon_start(struct hub_daemon *d, const struct hub_config *cfg)
{
    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    d->started_ms = hub_now_ms();
    hub_log_set_level(cfg->log_level);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    /* The server certificate names every hub: the --hostname values, then the linked hubs. */
    const char *names[HUB_MAX_HOSTNAMES + HUB_LINKED_MAX];
    size_t nnames = 0;
    for (size_t i = 0; i < cfg->hostname_count; i++)
        names[nnames++] = cfg->hostnames[i];
    for (size_t i = 0; i < cfg->linked_count; i++)
        names[nnames++] = cfg->linked_hubs[i];
    struct azk_diag dg;
    azk_diag_init(&dg);
    struct hub_pki pki;
    struct hub_pki_opts po = {
        .data_dir = cfg->data_dir,
        .hostnames = names,
        .hostname_count = nnames,
        .key_alg = cfg->server_key_rsa ? AZK_KEY_RSA_2048 : AZK_KEY_EC_P256,
    };
    int rc = hub_pki_init(&po, &pki, &dg);
    print_findings(&dg);
    if (rc != 0) {
        hub_log(HUB_LOG_ERROR, "cannot set up the hub's PKI in %s: %s", cfg->data_dir,
                azk_strerror(rc));
        return rc;
    }

    rc = hub_eh_groups_load(&d->eh_groups, cfg->data_dir);
    if (rc != 0) {
        hub_log(HUB_LOG_ERROR, "cannot read the consumer groups in %s: %s -- fix: correct or "
                "remove the file (a JSON array of names)", d->eh_groups.path, azk_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < cfg->consumer_group_count; i++) {
        int grc = hub_eh_groups_add(&d->eh_groups, cfg->consumer_groups[i], false);
        if (grc != 0 && grc != -EEXIST) {
            hub_log(HUB_LOG_ERROR, "--consumer-group %s: %s", cfg->consumer_groups[i],
                    grc == -ENOSPC ? "too many consumer groups" : azk_strerror(grc));
            return grc;
        }
    }

    /* The changelist: an fd's watch changes of one loop turn reach epoll once, at its end,
     * so a write started and finished in the same turn costs no epoll_ctl (conn.c). The hub
     * never dup()s a socket, the case the changelist gets wrong. */
    struct event_config *ecfg = event_config_new();
    if (ecfg == NULL)
        return -ENOMEM;
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    d->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (d->base == NULL)
        return -ENOMEM;
    /* The primary hub is the first --hostname (else localhost), then the linked hubs. */
    for (size_t i = 0; i <= cfg->linked_count; i++) {
        const char *name = i > 0                   ? cfg->linked_hubs[i - 1]
                           : cfg->hostname_count ? cfg->hostnames[0]
                                                 : "localhost";
        azk_diag_init(&dg);
        rc = hub_iothub_open(&d->hubs[i], d, name, i == 0, cfg->data_dir, &dg);
        print_findings(&dg);
        if (rc != 0) {
            hub_log(HUB_LOG_ERROR, "cannot open the state of IoT hub %s: %s", name,
                    azk_strerror(rc));
            return rc;
        }
        d->hub_count++;
    }
    d->dps_store = d->hubs[0].store;

    for (int r = 0; r < HUB_ROOT_COUNT; r++) {
        azk_diag_init(&dg);
        struct hub_tls_opts to = {pki.roots[r].chain_path, pki.roots[r].key_path, cfg->tls_max};
        rc = hub_tls_ctx_new(&to, &d->tls_roots[r], &dg);
        print_findings(&dg);
        if (rc != 0)
            return rc;
        snprintf(d->root_files[r].root, sizeof(d->root_files[r].root), "%s",
                 pki.roots[r].root_path);
        hub_pki_root_subject(pki.roots[r].root_path, d->root_files[r].subject,
                             sizeof(d->root_files[r].subject));
    }
    snprintf(d->roots_bundle, sizeof(d->roots_bundle), "%s", pki.bundle_path);
    d->server_root = cfg->server_root;
    d->tls = d->tls_roots[d->server_root];
    d->server_root_since_ms = hub_now_ms();

    rc = listen_on(d, cfg->listen, cfg->mqtt_port, accept_cb, d, &d->mqtt_listener);
    if (rc < 0) {
        hub_log(HUB_LOG_ERROR, "cannot listen for MQTT on %s:%d: %s -- fix: pick another "
                "--mqtt-port, or stop what uses it", cfg->listen, cfg->mqtt_port,
                strerror(-rc));
        return rc;
    }
    d->mqtt_port = rc;
    rc = hub_dps_start(d);
    if (rc != 0)
        return rc;

    snprintf(d->service_key, sizeof(d->service_key), "%s", pki.service_key);
    rc = hub_service_start(d, &pki, &d->service);
    if (rc < 0)
        return rc;

    rc = hub_amqp_start(d, &d->amqp);
    if (rc < 0 && cfg->amqp_port_given) {
        hub_log(HUB_LOG_ERROR, "cannot listen for AMQP on %s:%d: %s -- fix: pick another "
                "--amqp-port, or stop what uses it", cfg->listen, cfg->amqp_port, strerror(-rc));
        return rc;
    }
    if (rc < 0)
        hub_log(HUB_LOG_WARN, "AMQP not served: cannot listen on %s:%d (%s); service SDKs "
                "cannot send C2D messages -- fix: --amqp-port N (0 = any free port)",
                cfg->listen, cfg->amqp_port, strerror(-rc));

    d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
    d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
    event_add(d->sig_int, NULL);
    event_add(d->sig_term, NULL);
    if (hub_mem_trim_start(d) != 0)
        return -ENOMEM;

    const char *primary = d->hubs[0].hostname;
    char conn[512] = "";
    hub_pki_connection_string(&pki, primary, conn, sizeof(conn));
    printf("azkit-hub %s\n", azk_version());
    printf("  devices trust:    %s\n", pki.ca_path);
    printf("  server root:      %s (MQTT; `azkit-hub server-root set legacy|current` switches)\n"
           "                    legacy %s, current %s (= ca.pem), both %s\n",
           hub_server_root_name(d->server_root), pki.roots[HUB_ROOT_LEGACY].root_path,
           pki.roots[HUB_ROOT_CURRENT].root_path, pki.bundle_path);
    printf("  MQTT (IoT Hub):   %s:%d  (devices use HostName=%s%s)\n", cfg->listen, d->mqtt_port,
           primary, d->mqtt_port == 8883 ? "" : " with the port");
    for (size_t i = 1; i < d->hub_count; i++)
        printf("  linked IoT hub:   %s (same listeners; told apart by TLS SNI and the "
               "username's host)\n", d->hubs[i].hostname);
    printf("  DPS (MQTT):       id scope %s, devices use host %s (same listener)\n",
           d->dps.id_scope, d->dps.host);
    if (d->service_port)
        printf("  service API:      https://%s:%d\n", primary, d->service_port);
    if (d->amqp_port)
        printf("  AMQP (service):   amqps://%s:%d  (C2D send, feedback; service SDKs use "
               "HostName=%s%s)\n", primary, d->amqp_port, primary,
               d->amqp_port == 5671 ? "" : " with the port");
    printf("  connection string (service): %s\n", conn);
    if (d->amqp_port) {
        char eh[512];
        eventhubs_connection_string(d, false, eh, sizeof(eh));
        printf("  Event Hubs-compatible endpoint: %u partitions, %zu consumer group%s "
               "(`azkit-hub consumer-group list`)\n"
               "    connection string: %s\n", cfg->partitions, d->eh_groups.n + 1,
               d->eh_groups.n ? "s" : "", eh);
        if (d->amqp_port != 5671)
            printf("    (with customEndpointAddress amqps://%s:%d)\n", primary, d->amqp_port);
    }
    if (d->eventhubs_port) {
        char eh[512];
        eventhubs_connection_string(d, true, eh, sizeof(eh));
        printf("    emulator form (plain AMQP, 127.0.0.1:%d): %s\n", d->eventhubs_port, eh);
    }
    printf("  data:             %s\n", cfg->data_dir);
    fflush(stdout);
    write_ready_file(d, &pki);
    hub_log(HUB_LOG_INFO, "listening: MQTT %s:%d, service API port %d, %zu IoT hub%s",
            cfg->listen, d->mqtt_port, d->service_port, d->hub_count,
            d->hub_count == 1 ? "" : "s");
    return 0;
}

int hub_daemon_run(struct hub_daemon *d)
{
    return event_base_dispatch(d->base) < 0 ? -EIO : 0;
}

void hub_daemon_stop(struct hub_daemon *d)
{
    if (d->mqtt_listener)
        evconnlistener_free(d->mqtt_listener);
    d->mqtt_listener = NULL;
    hub_amqp_stop(d->amqp);
    d->amqp = NULL;
    hub_methods_shutdown(d);
    hub_service_stop(d->service);
    /* Close every connection -- devices, DPS clients, and those still in the TLS handshake
     * or waiting for CONNECT -- and let the loop flush and free them. */
    hub_dps_close_all(d);
    hub_conn_close_all(d);
    if (d->base) {
        struct timeval tv = {0, 200000};
        event_base_loopexit(d->base, &tv);
        event_base_dispatch(d->base);
    }
    for (size_t i = d->hub_count; i-- > 0;)
        hub_iothub_close(&d->hubs[i]);
    d->dps_store = NULL;
    hub_dps_stop(d); /* after the stores: their last completions may touch DPS operations */
    if (d->dns)
        evdns_base_free(d->dns, 0); /* after DPS: its webhook calls cancel their lookups */
    hub_mem_trim_stop(d);
    if (d->sig_int)
        event_free(d->sig_int);
    if (d->sig_term)
        event_free(d->sig_term);
    for (int r = 0; r < HUB_ROOT_COUNT; r++)
        SSL_CTX_free(d->tls_roots[r]);
    d->tls = NULL;
    OPENSSL_cleanse(d->service_key, sizeof(d->service_key));
    if (d->base)
        event_base_free(d->base);
    hub_log(HUB_LOG_INFO, "stopped");
}

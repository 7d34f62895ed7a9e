/* The IoT hubs of the process: open/close, lookup by name, and which hub a client means. */
#include "hub/iothub/iothub.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/store/store.h"

const char *hub_iothub_name_problem(const char *name)
{
    size_t n = strlen(name), label = 0;
    bool all_digits_or_dots = true;
    if (n == 0 || n > HUB_IOTHUB_NAME_MAX)
        return "a hub name is 1 to 253 characters";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch == '.') {
            if (label == 0)
                return "a hub name has no empty labels (no leading, trailing or double dots)";
            label = 0;
            continue;
        }
        if (!isalnum(ch) && ch != '-')
            return "a hub name is a DNS name: letters, digits, '-' and '.'";
        if (!isdigit(ch))
            all_digits_or_dots = false;
        if (++label > 63)
            return "a DNS label is at most 63 characters";
    }
    if (label == 0)
        return "a hub name has no empty labels (no leading, trailing or double dots)";
    if (all_digits_or_dots)
        return "a linked hub needs a DNS name, not an IP address: devices tell hubs apart by "
               "the name they send in TLS (SNI), and an IP address is never sent there";
    return NULL;
}

/* A C2D message expired in a device's queue: feedback "Expired" when it asked for it. */
static void on_c2d_expired(void *ctx, const char *device_id, const struct hub_c2d_msg *m)
{
    hub_c2d_feedback(ctx, device_id, m->message_id, hub_c2d_props_ack(m->properties),
                     HUB_FEEDBACK_EXPIRED);
}

int hub_iothub_open(struct hub_iothub *h, struct hub_daemon *d, const char *hostname,
                    bool primary, const char *data_dir, struct azk_diag *diag)
{
    memset(h, 0, sizeof(*h));
    h->d = d;
    h->primary = primary;
    snprintf(h->hostname, sizeof(h->hostname), "%s", hostname);
    hub_devmap_init(&h->conns);
    char dir[PATH_MAX];
    if (primary) {
        snprintf(dir, sizeof(dir), "%s", data_dir);
    } else {
        /* <data>/hubs/<host>: lowercase, so a name's case never makes a second registry. */
        char lower[HUB_IOTHUB_NAME_MAX + 1];
        size_t i = 0;
        for (; hostname[i] && i < HUB_IOTHUB_NAME_MAX; i++)
            lower[i] = (char)tolower((unsigned char)hostname[i]);
        lower[i] = '\0';
        int n = snprintf(dir, sizeof(dir), "%s/hubs", data_dir);
        if (n < 0 || (size_t)n >= sizeof(dir))
            return -ENAMETOOLONG;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return -errno;
        n = snprintf(dir, sizeof(dir), "%s/hubs/%s", data_dir, lower);
        if (n < 0 || (size_t)n >= sizeof(dir))
            return -ENAMETOOLONG;
    }
    struct hub_store_config sc = {.data_dir = dir,
                                  .sync_process_only = d->cfg.durability_process,
                                  .partitions = d->cfg.partitions,
                                  .telemetry_max = d->cfg.telemetry_retention};
    int rc = hub_store_open(&sc, d->base, &h->store, diag);
    if (rc == 0)
        hub_store_set_c2d_expired_listener(h->store, on_c2d_expired, h);
    return rc;
}

size_t hub_iothub_sas_hosts(const struct hub_iothub *h, const char **hosts)
{
    size_t n = 0;
    hosts[n++] = h->hostname;
    if (h->primary) {
        for (size_t i = 0; i < h->d->cfg.hostname_count; i++)
            hosts[n++] = h->d->cfg.hostnames[i];
        hosts[n++] = "localhost";
        hosts[n++] = "127.0.0.1";
        hosts[n++] = "::1";
    }
    return n;
}

void hub_iothub_close(struct hub_iothub *h)
{
    if (h->d == NULL)
        return;
    hub_store_close(h->store);
    h->store = NULL;
    hub_devmap_free(&h->conns);
    hub_feedback_clear(&h->feedback);
    hub_c2d_http_locks_free(h);
    hub_x509_cas_clear(&h->verified_cas);
    h->verified_cas_loaded = false;
    h->d = NULL;
}

const struct hub_x509_cas *hub_iothub_verified_cas(struct hub_iothub *h)
{
    uint64_t gen = hub_store_ca_generation(h->store);
    if (h->verified_cas_loaded && h->verified_cas_generation == gen)
        return &h->verified_cas;
    struct hub_ca *cas = NULL;
    size_t n = 0;
    if (hub_store_ca_list(h->store, &cas, &n) != 0)
        return NULL;
    const char **pems = calloc(n ? n : 1, sizeof(*pems));
    size_t verified = 0;
    for (size_t i = 0; pems != NULL && i < n; i++)
        if (cas[i].verified)
            pems[verified++] = cas[i].pem;
    int rc = pems != NULL ? hub_x509_cas_load(&h->verified_cas, pems, verified) : -ENOMEM;
    free(pems);
    for (size_t i = 0; i < n; i++)
        hub_ca_clear(&cas[i]);
    free(cas);
    h->verified_cas_loaded = rc == 0;
    h->verified_cas_generation = gen;
    return rc == 0 ? &h->verified_cas : NULL;
}

struct hub_iothub *hub_iothub_find(struct hub_daemon *d, const char *host, size_t len)
{
    if (host == NULL)
        return NULL;
    const char *colon = memchr(host, ':', len);
    /* "[::1]:443" or "::1" never names a hub (hub names are DNS names). */
    if (len > 0 && host[0] == '[')
        return NULL;
    if (colon != NULL)
        len = (size_t)(colon - host);
    for (size_t i = 0; i < d->hub_count; i++) {
        struct hub_iothub *h = &d->hubs[i];
        if (strlen(h->hostname) == len && strncasecmp(h->hostname, host, len) == 0)
            return h;
    }
    return NULL;
}

struct hub_iothub *hub_iothub_select(struct hub_daemon *d, const char *tls_name,
                                     const char *request_name, size_t request_len, char *why,
                                     size_t whylen)
{
    struct hub_iothub *by_tls =
        tls_name != NULL ? hub_iothub_find(d, tls_name, strlen(tls_name)) : NULL;
    struct hub_iothub *by_req =
        request_name != NULL ? hub_iothub_find(d, request_name, request_len) : NULL;
    if (by_tls != NULL && by_req != NULL && by_tls != by_req) {
        snprintf(why, whylen, "the TLS server name (SNI) is '%s' but the request names '%s': "
                 "use one hub's host name for both", by_tls->hostname, by_req->hostname);
        return NULL;
    }
    if (by_tls != NULL)
        return by_tls;
    if (by_req != NULL)
        return by_req;
    return &d->hubs[0];
}

void hub_iothub_kick(struct hub_iothub *h, const char *device_id, const char *why)
{
    struct hub_conn *c = hub_devmap_get(&h->conns, device_id);
    if (c != NULL && hub_conn_alive(c))
        hub_conn_close(c, false, "%s", why);
}

/* The admin commands of azkit-hub (one file per command group, cmd_*.c) and what they share
 * (admin_common.c): the global options, finding the running hub, one request with its errors
 * reported, printing results. Every command returns a CLI_EXIT_* status (cliutil.h). */
#ifndef AZK_HUB_ADMIN_H
#define AZK_HUB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "hub/admin/admin_client.h"

/* Options every command takes anywhere on its command line (main.c reads them). */
struct hub_admin_opts {
    const char *data;       /* --data DIR: the hub's data directory */
    const char *ready_file; /* --ready-file F: what `serve --ready-file F` wrote */
    const char *host;       /* --host H: where the service API listens */
    const char *iot_hub;    /* --hub HOST: which served IoT hub (default the primary) */
    long service_port;      /* --service-port N, or -1 */
};
extern struct hub_admin_opts hub_admin_opts;

/* The command groups. argv[0] is the group name, argv[1] its command. */
int hub_admin_device(int argc, char **argv);
int hub_admin_ca(int argc, char **argv);
int hub_admin_dps_ca(int argc, char **argv);
int hub_admin_enroll(int argc, char **argv);
int hub_admin_registration(int argc, char **argv);
int hub_admin_twin(int argc, char **argv);
int hub_admin_method(int argc, char **argv);
int hub_admin_c2d(int argc, char **argv);
int hub_admin_fault(int argc, char **argv);
int hub_admin_consumer_group(int argc, char **argv); /* cmd_consumer_group.c */
int hub_admin_telemetry(int argc, char **argv);
int hub_admin_server_root(int argc, char **argv);
int hub_admin_fota(int argc, char **argv);

/* The start every group shares: no command, or --help. Returns the exit status to return at
 * once, or -1 to go on. */
int hub_admin_prologue(int argc, char **argv, const char *usage, const char *group);

/* Finds the running hub from the global options (ready file, <data>/service.json, the service
 * key in <data>/pki). 0, or the failure's exit status after reporting it. */
int hub_admin_resolve(struct hub_admin_target *t);

/* One request and its answer. */
struct hub_admin_call {
    struct hub_admin_target t;
    struct hub_http_response r;
    cJSON *json; /* parsed body (or NULL) */
};

/* Makes a request; on a transport failure or an HTTP status >= 300 reports it and returns
 * CLI_EXIT_FAIL, else 0 with c->json parsed. */
int hub_admin_do(struct hub_admin_call *c, const char *method, const char *path,
                 const struct hub_admin_header *h, size_t nh, const char *body, size_t blen);
/* Frees the answer. */
void hub_admin_call_done(struct hub_admin_call *c);
/* Prints {"<key>": c->json} with --json (else c->json itself), frees the call; CLI_EXIT_OK. */
int hub_admin_print(struct hub_admin_call *c, const char *key);

/* `s` percent-encoded for a URL path segment into out ("" when it does not fit). */
void hub_admin_pct(const char *s, char *out, size_t size);
/* The string member `k` of `o`, or NULL. */
const char *hub_admin_jstr(const cJSON *o, const char *k);
/* A JSON file parsed, or NULL. */
cJSON *hub_admin_read_json(const char *path);
/* A PEM file's text (free it), or NULL with *rc_out the error. */
char *hub_admin_read_pem(const char *file, int *rc_out);

#endif

/* `azkit run --fota-dir DIR --fw-version V`: the FOTA state machine (azkit/fota.h) driven
 * from the run's client events and loop turns, with the FOTA directory and the HTTPS range
 * download of azkit/fota_posix.h. */
#ifndef AZK_CLI_RUN_FOTA_H
#define AZK_CLI_RUN_FOTA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "azkit/client.h"
#include "azkit/fota.h"
#include "azkit/fota_posix.h"
#include "azkit/twin_sync.h"

struct run_fota {
    bool on;                      /* --fota-dir given */
    bool json;                    /* --json output */
    void (*out)(cJSON *o);        /* writes one JSON event line */
    struct azk_fota f;
    struct azk_fota_dir dir;
    struct azk_fota_http http;
    char running[AZK_FOTA_VERSION_SIZE];
    char rid[16];                 /* the report awaiting its answer ("" = none) */
    bool restart;                 /* the new image is in place: restart */
    uint8_t frag[AZK_FOTA_FRAGMENT_MAX];
    /* The fragment being fetched, on a thread of its own so that the client's loop (MQTT
     * keepalive, twin, methods) never waits for the image server: `fetching` is set by the
     * loop when it starts the thread, `fetched` by the thread when the fragment is staged;
     * the loop then joins it and hands the result to the state machine. Nothing else of the
     * fetch is touched by the loop meanwhile. */
    pthread_t worker;
    bool fetching;
    atomic_bool fetched;
    unsigned job_gen, fetch_gen;  /* new jobs seen; the job the fetch was for */
    struct {
        char host[256];  /* copies: the action's strings live in the state machine */
        char path[1024];
        uint64_t start, end;
        int rc;
        size_t len;
        uint64_t total;
        char why[400];
    } job;
};

/* Opens the FOTA directory (rolls back a failing new image) and starts the state machine.
 * 0, or a negative errno with a message on stderr. */
int run_fota_open(struct run_fota *rf, const char *dir, const char *fw_version, SSL_CTX *tls,
                  const char *connect_address, const char *trusted, bool json,
                  void (*out)(cJSON *o));

/* --fota-stall-timeout: a fragment not received within `seconds` (connection included) is a
 * failed fetch, fetched again from its start. Call after run_fota_open. */
void run_fota_set_timeout(struct run_fota *rf, unsigned seconds);

/* Every client event; `u` the twin sync's update for this event (NULL when none). */
void run_fota_event(struct run_fota *rf, const struct azk_client_event *ev,
                    const struct azk_twin_sync_update *u);

/* One loop turn: reports, at most one fragment, verify, apply. Returns the wake time as
 * on_turn does (now: more to do), or -1 to stop the client for the restart. */
int64_t run_fota_turn(struct run_fota *rf, struct azk_client *c, uint64_t now);

/* A firmware job runs (downloading, applying, rebooting): the run must not end yet. */
bool run_fota_busy(const struct run_fota *rf);

/* After the client stopped: re-executes this `azkit run` command line when a restart is due
 * (returns only when that failed, with a negative errno). 0 when no restart is due. */
int run_fota_restart(struct run_fota *rf);

void run_fota_close(struct run_fota *rf);

#endif

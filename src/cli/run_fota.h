/* `azkit run --fota-dir DIR --fw-version V`: the FOTA state machine (azkit/fota.h) driven
 * from the run's client events and loop turns, with the FOTA directory and the HTTPS range
 * download of azkit/fota_posix.h. */
#ifndef AZK_CLI_RUN_FOTA_H
#define AZK_CLI_RUN_FOTA_H

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
};

/* Opens the FOTA directory (rolls back a failing new image) and starts the state machine.
 * 0, or a negative errno with a message on stderr. */
int run_fota_open(struct run_fota *rf, const char *dir, const char *fw_version, SSL_CTX *tls,
                  const char *connect_address, const char *trusted, bool json,
                  void (*out)(cJSON *o));

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

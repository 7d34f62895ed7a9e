/* Tests' handle on the nRF91 modem simulator: `azkit modem-sim` started through the command
 * users run, on its own pseudo-terminal. */
#ifndef AZK_MODEM_SIM_UTIL_H
#define AZK_MODEM_SIM_UTIL_H

#include <sys/types.h>

struct azk_sim {
    pid_t pid;       /* 0 when not running */
    char spec[700];  /* "nrf91:/dev/pts/N", for --store */
    char log[600];   /* every command it received, one a line (--log) */
};

/* Starts the simulator with the NULL-terminated `extra` arguments (or NULL), its ready file and
 * log in `dir`, and waits until it is ready; fails the test if it does not start. The simulator
 * dies with the test process. */
void azk_sim_start(struct azk_sim *s, const char *dir, const char *const *extra);
/* Stops it (SIGTERM) and reaps it; nothing when it is not running. */
void azk_sim_stop(struct azk_sim *s);

#endif

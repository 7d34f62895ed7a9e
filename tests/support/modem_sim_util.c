/* Starting and stopping the modem simulator for tests (modem_sim_util.h). */
#include "support/modem_sim_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/test_util.h"

void azk_sim_start(struct azk_sim *s, const char *dir, const char *const *extra)
{
    char ready[600];
    snprintf(ready, sizeof(ready), "%s/sim.ready", dir);
    unlink(ready);
    snprintf(s->log, sizeof(s->log), "%s/sim.log", dir);
    unlink(s->log);
    const char *argv[40] = {"azkit", "modem-sim", "--ready-file", ready, "--log", s->log};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* Never outlive the test, and never hold ctest's output pipe. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(AZKIT_BIN, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500 && !azk_test_exists(ready); i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            fail_msg("azkit modem-sim exited before it was ready");
        }
        usleep(20000);
    }
    char *path = azk_test_read(ready, NULL);
    path[strcspn(path, "\n")] = '\0';
    snprintf(s->spec, sizeof(s->spec), "nrf91:%s", path);
    free(path);
}

void azk_sim_stop(struct azk_sim *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* FOTA in `azkit run` (run_fota.h). */
#include "cli/run_fota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azkit/twin_sync.h"

static void say(struct run_fota *rf, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct run_fota *rf, const char *what, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (rf->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "fota");
        cJSON_AddStringToObject(o, "step", what);
        cJSON_AddStringToObject(o, "text", text);
        cJSON_AddStringToObject(o, "status", azk_fota_status_str(azk_fota_status(&rf->f)));
        uint64_t done, total;
        if (azk_fota_progress(&rf->f, &done, &total)) {
            cJSON_AddNumberToObject(o, "downloaded", (double)done);
            cJSON_AddNumberToObject(o, "total", (double)total);
        }
        rf->out(o);
    } else {
        printf("fota: %s\n", text);
        fflush(stdout);
    }
}

int run_fota_open(struct run_fota *rf, const char *dir, const char *fw_version, SSL_CTX *tls,
                  const char *connect_address, const char *trusted, bool json,
                  void (*out)(cJSON *o))
{
    bool rolled_back;
    rf->json = json;
    rf->out = out;
    int rc = azk_fota_dir_open(&rf->dir, dir, fw_version, rf->running, &rolled_back);
    if (rc < 0) {
        fprintf(stderr, "azkit run: cannot use the FOTA directory %s: %s\n", dir,
                azk_strerror(rc));
        return rc;
    }
    azk_fota_http_init(&rf->http, tls, connect_address);
    rf->http.trusted = trusted;
    rc = azk_fota_init(&rf->f, rf->running, &rf->dir.store);
    if (rc < 0)
        return rc;
    rf->on = true;
    say(rf, "boot", "running firmware %s%s%s", rf->running,
        rolled_back ? " (the new image failed to boot: the previous one was put back)" : "",
        rc == 1 ? "; resuming the interrupted download" : "");
    return 0;
}

void run_fota_event(struct run_fota *rf, const struct azk_client_event *ev,
                    const struct azk_twin_sync_update *u)
{
    if (!rf->on)
        return;
    if (rf->rid[0] && ev->kind == AZK_CLIENT_EV_TWIN && azk_span_eq_str(ev->rid, rf->rid)) {
        rf->rid[0] = '\0';
        azk_fota_report_result(&rf->f, ev->status >= 200 && ev->status < 300);
    } else if (rf->rid[0] && (ev->kind == AZK_CLIENT_EV_DISCONNECTED ||
                              ev->kind == AZK_CLIENT_EV_FAILED)) {
        rf->rid[0] = '\0';
        azk_fota_report_result(&rf->f, false);
    }
    if (u == NULL)
        return;
    int rc = u->kind == AZK_TWIN_SYNC_FULL ? azk_fota_twin(&rf->f, ev->payload)
                                           : azk_fota_desired(&rf->f, u->desired);
    if (rc == 1) {
        rf->job_gen++; /* a fragment still being fetched is for the old job: dropped */
        say(rf, "start", "new job: downloading");
    }
    else if (rc < 0)
        say(rf, "ignored", "the desired firmware object is not usable: %s", azk_strerror(rc));
}

/* The fetch thread: one fragment into the staging file; nothing here touches the state
 * machine or the output. */
static void *fetch_main(void *arg)
{
    struct run_fota *rf = arg;
    rf->job.why[0] = '\0';
    rf->job.len = 0;
    rf->job.total = 0;
    int rc = azk_fota_http_get(&rf->http, rf->job.host, rf->job.path, rf->job.start,
                               rf->job.end, rf->frag, &rf->job.len, &rf->job.total, rf->job.why,
                               sizeof(rf->job.why));
    if (rc == 0)
        rc = azk_fota_dir_stage(&rf->dir, rf->job.start, rf->frag, rf->job.len);
    rf->job.rc = rc;
    atomic_store(&rf->fetched, true);
    return NULL;
}

/* Starts fetching the action's fragment on the thread; false when it was done here instead
 * (a path too long for the copy: failed at once; the thread could not start: fetched here,
 * blocking, as a last resort), ready for fetch_finish(rf, false). */
static bool fetch_start(struct run_fota *rf, const struct azk_fota_action *a)
{
    if (snprintf(rf->job.host, sizeof(rf->job.host), "%s", a->host) >= (int)sizeof(rf->job.host) ||
        snprintf(rf->job.path, sizeof(rf->job.path), "%s", a->path) >= (int)sizeof(rf->job.path)) {
        rf->job.rc = -ENAMETOOLONG;
        snprintf(rf->job.why, sizeof(rf->job.why), "the image's host or path is too long");
        atomic_store(&rf->fetched, true);
        rf->fetching = true;
        rf->fetch_gen = rf->job_gen;
        return false;
    }
    rf->job.start = a->start;
    rf->job.end = a->end;
    rf->fetch_gen = rf->job_gen;
    atomic_store(&rf->fetched, false);
    if (pthread_create(&rf->worker, NULL, fetch_main, rf) != 0) {
        fetch_main(rf);
        rf->fetching = true;
        return false;
    }
    rf->fetching = true;
    return true;
}

/* The fetch is done: joins the thread and hands the result to the state machine (unless a new
 * job came meanwhile: then the state machine asks for its own first fragment). */
static void fetch_finish(struct run_fota *rf, bool joinable)
{
    if (joinable)
        pthread_join(rf->worker, NULL);
    rf->fetching = false;
    if (rf->fetch_gen != rf->job_gen)
        return;
    if (rf->job.rc < 0) {
        say(rf, "fetch-failed", "bytes %llu-%llu of %s/%s: %s",
            (unsigned long long)rf->job.start, (unsigned long long)rf->job.end, rf->job.host,
            rf->job.path, rf->job.why[0] ? rf->job.why : azk_strerror(rf->job.rc));
        azk_fota_fetch_result(&rf->f, rf->job.rc, 0, 0);
        return;
    }
    azk_fota_fetch_result(&rf->f, 0, rf->job.len, rf->job.total);
    if (rf->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "fota-fragment");
        cJSON_AddNumberToObject(o, "start", (double)rf->job.start);
        cJSON_AddNumberToObject(o, "length", (double)rf->job.len);
        cJSON_AddNumberToObject(o, "total", (double)rf->job.total);
        rf->out(o);
    }
}

/* How often the loop looks at a fetch in progress (it sleeps in poll otherwise). */
#define FETCH_POLL_MS 20

int64_t run_fota_turn(struct run_fota *rf, struct azk_client *c, uint64_t now)
{
    static char buf[AZK_FOTA_REPORT_MAX];
    struct azk_fota_action a;
    int rc;
    if (!rf->on)
        return 0;
    bool threaded = true;
    if (rf->fetching) {
        if (!atomic_load(&rf->fetched))
            return (int64_t)(now + FETCH_POLL_MS);
        fetch_finish(rf, threaded);
    }
    for (int step = 0; step < 8; step++) {
        bool connected = azk_client_state(c) == AZK_CLIENT_CONNECTED;
        azk_fota_next(&rf->f, connected, buf, sizeof(buf), &a);
        switch (a.kind) {
        case AZK_FOTA_ACT_NONE:
            return 0;
        case AZK_FOTA_ACT_REPORT:
            rc = azk_client_twin_report(c, a.report, rf->rid, sizeof(rf->rid));
            if (rc < 0) {
                rf->rid[0] = '\0';
                azk_fota_report_result(&rf->f, false);
                return (int64_t)now + 100; /* output full: a little later */
            }
            say(rf, "report", "reported %.*s", (int)a.report.len, a.report.ptr);
            break;
        case AZK_FOTA_ACT_FETCH:
            threaded = fetch_start(rf, &a);
            if (!threaded)
                fetch_finish(rf, false);
            return (int64_t)(now + (threaded ? FETCH_POLL_MS : 0));
        case AZK_FOTA_ACT_VERIFY:
            rc = azk_fota_dir_verify(&rf->dir, a.size, a.sha256);
            say(rf, "verify", "image %s (%llu bytes%s): %s", a.version,
                (unsigned long long)a.size, a.sha256 ? ", SHA-256" : "",
                rc == 0 ? "verified" : azk_strerror(rc));
            azk_fota_verify_result(&rf->f, rc);
            break;
        case AZK_FOTA_ACT_APPLY:
            rc = azk_fota_dir_apply(&rf->dir, a.version);
            say(rf, "apply", "image %s %s", a.version,
                rc == 0 ? "swapped in" : azk_strerror(rc));
            azk_fota_apply_result(&rf->f, rc);
            break;
        case AZK_FOTA_ACT_RESTART:
            say(rf, "restart", "restarting into firmware %s", a.version);
            rf->restart = true;
            return -1;
        }
    }
    return (int64_t)now;
}

bool run_fota_busy(const struct run_fota *rf)
{
    return rf->on && azk_fota_progress(&rf->f, NULL, NULL);
}

/* The command line of this process, as it was started (getopt may have permuted argv). */
static char **own_argv(void)
{
    static char text[65536];
    static char *argv[256];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = 0, r;
    if (fd < 0)
        return NULL;
    while (n < (ssize_t)sizeof(text) - 1 &&
           (r = read(fd, text + n, sizeof(text) - 1 - (size_t)n)) > 0)
        n += r;
    close(fd);
    text[n] = '\0';
    int argc = 0;
    for (ssize_t i = 0; i < n && argc < 255; i += (ssize_t)strlen(text + i) + 1)
        argv[argc++] = text + i;
    argv[argc] = NULL;
    return argc > 0 ? argv : NULL;
}

int run_fota_restart(struct run_fota *rf)
{
    if (!rf->on || !rf->restart)
        return 0;
    char **argv = own_argv();
    run_fota_close(rf);
    fflush(stdout);
    fflush(stderr);
    if (argv != NULL)
        execv("/proc/self/exe", argv);
    int rc = -errno;
    fprintf(stderr, "azkit run: cannot restart (re-execute azkit run): %s\n", azk_strerror(rc));
    return rc;
}

void run_fota_set_timeout(struct run_fota *rf, unsigned seconds)
{
    rf->http.timeout_ms = seconds * 1000u;
}

void run_fota_close(struct run_fota *rf)
{
    if (!rf->on)
        return;
    if (rf->fetching) /* bounded by the fetch's timeout */
        pthread_join(rf->worker, NULL);
    rf->fetching = false;
    azk_fota_http_close(&rf->http);
}

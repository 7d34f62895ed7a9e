/* GET /azkit/telemetry?after=SEQ&device=ID&max=N&wait=S: the stored device-to-cloud messages.
 * With wait > 0 and nothing newer than `after`, the request is held until telemetry commits
 * (the store's listener) or the wait expires: the follow mode of `azkit-hub telemetry`.
 *
 * The loop thread never reads SQLite: every read is a job for one reader thread (started with
 * the service, joined when it stops), which calls hub_store_telemetry_read() and queues the
 * result; a pipe watched by an event on the loop wakes the loop, where the JSON answer is built
 * and sent. Each held request (a waiter) has at most one job in flight; a commit or the end of
 * the wait that arrives meanwhile is remembered (dirty / expired) and acted on when the job
 * comes back, so no wake-up is lost and a waiter is never freed under a job.
 *
 * A request whose client went away stays valid: libevent 2.1 detaches it from the dying
 * connection (evhttp_connection_incoming_fail) and frees it when it is answered, so a waiter
 * always answers exactly once (on its timer at the latest). At shutdown every waiter gets a
 * last forced read, the thread drains its queue and is joined, and the results are answered
 * before evhttp_free() (which would free the requests). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "hub/daemon.h"
#include "hub/log.h"
#include "hub/service/svc_common.h"

#define TELEMETRY_MAX_DEFAULT 100
#define TELEMETRY_MAX_LIMIT 1000
#define TELEMETRY_WAIT_MAX 60

struct tel;

/* One held request (wait > 0) or one being read (wait = 0). Loop thread only. */
struct waiter {
    struct waiter *next;
    struct tel *t;
    struct evhttp_request *req;
    struct event *timer;    /* NULL when wait = 0 */
    struct job *job;        /* the read in flight, or NULL */
    struct hub_store *store; /* the store of the request's IoT hub */
    bool dirty;             /* a commit arrived while a read was in flight */
    bool expired;           /* the wait ended (or the service stops): answer what is there */
    uint64_t after;
    size_t max;
    bool has_device;
    char device[HUB_DEVICE_ID_MAX + 1];
};

/* One read for the reader thread. The parameters are copied; the results are written by the
 * thread and read on the loop after the job came back through the done queue. */
struct job {
    struct job *next;
    struct waiter *w;       /* owner; only touched on the loop */
    bool force;             /* answer even when there is nothing */
    struct hub_store *store; /* read on the thread (a store's reads are thread-safe) */
    uint64_t after;
    size_t max;
    bool has_device;
    char device[HUB_DEVICE_ID_MAX + 1];
    int rc;
    struct hub_telemetry *arr;
    size_t n;
    uint64_t hub_last;
};

/* The service's telemetry state (svc_telemetry_slot). */
struct tel {
    struct hub_daemon *d;
    struct waiter *waiters;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *todo, **todo_tail; /* for the thread (under mu) */
    struct job *done, **done_tail; /* for the loop (under mu) */
    bool stopping;                 /* under mu: drain `todo`, then exit */
    bool thread_started;
    pthread_t thread;
    int pipe_fd[2];
    struct event *pipe_ev;
};

static bool valid_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t extra;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

static cJSON *json_or_empty(const char *text)
{
    cJSON *j = text && *text ? cJSON_Parse(text) : NULL;
    return j ? j : cJSON_CreateObject();
}

static cJSON *record_json(const struct hub_telemetry *t)
{
    cJSON *o = cJSON_CreateObject();
    char when[40];
    cJSON_AddNumberToObject(o, "seq", (double)t->seq);
    cJSON_AddStringToObject(o, "deviceId", t->device_id);
    svc_time_iso(t->enqueued_ms, when);
    cJSON_AddStringToObject(o, "enqueuedTime", when);
    cJSON_AddStringToObject(o, "messageType", t->msg_type[0] ? t->msg_type : "Telemetry");
    if (valid_utf8(t->payload, t->payload_len)) {
        char *s = malloc(t->payload_len + 1);
        if (s != NULL) {
            memcpy(s, t->payload, t->payload_len);
            s[t->payload_len] = '\0';
            cJSON_AddStringToObject(o, "payload", s);
            free(s);
        }
        cJSON_AddStringToObject(o, "encoding", "utf-8");
    } else {
        size_t cap = 4 * ((t->payload_len + 2) / 3) + 1;
        char *s = malloc(cap);
        if (s != NULL) {
            EVP_EncodeBlock((unsigned char *)s, t->payload, (int)t->payload_len);
            cJSON_AddStringToObject(o, "payload", s);
            free(s);
        }
        cJSON_AddStringToObject(o, "encoding", "base64");
    }
    cJSON_AddNumberToObject(o, "size", (double)t->payload_len);
    cJSON_AddItemToObject(o, "properties", json_or_empty(t->app_props));
    cJSON_AddItemToObject(o, "systemProperties", json_or_empty(t->sys_props));
    return o;
}

/* Sends the answer for a finished read. */
static void answer(struct waiter *w, struct job *j)
{
    if (j->rc != 0) {
        svc_reply_store_error(w->req, j->rc, "telemetry");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *recs = cJSON_AddArrayToObject(o, "records");
    uint64_t last = j->after;
    for (size_t i = 0; i < j->n; i++) {
        cJSON_AddItemToArray(recs, record_json(&j->arr[i]));
        last = j->arr[i].seq;
    }
    cJSON_AddNumberToObject(o, "lastSeq", (double)last);
    cJSON_AddNumberToObject(o, "hubLastSeq", (double)j->hub_last);
    svc_reply_json(w->req, 200, o, NULL);
}

static void job_free(struct job *j)
{
    if (j != NULL)
        hub_telemetry_free_array(j->arr, j->n);
    free(j);
}

/* ---- the reader thread -------------------------------------------------------------------- */

static void *reader_main(void *arg)
{
    struct tel *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->todo == NULL && !t->stopping)
            pthread_cond_wait(&t->cv, &t->mu);
        struct job *j = t->todo;
        if (j == NULL)
            break; /* stopping and drained */
        t->todo = j->next;
        if (t->todo == NULL)
            t->todo_tail = &t->todo;
        pthread_mutex_unlock(&t->mu);

        j->next = NULL;
        j->rc = hub_store_telemetry_read(j->store, j->after, j->has_device ? j->device : NULL,
                                         j->max, &j->arr, &j->n);
        if (j->rc != 0) {
            j->arr = NULL;
            j->n = 0;
        }
        j->hub_last = hub_store_telemetry_last_seq(j->store);

        pthread_mutex_lock(&t->mu);
        bool was_empty = t->done == NULL;
        *t->done_tail = j;
        t->done_tail = &j->next;
        if (was_empty) {
            /* One byte per empty -> non-empty transition; the loop takes the whole queue.
             * A full pipe (EAGAIN) already holds a wake-up. */
            char b = 1;
            ssize_t wr;
            do
                wr = write(t->pipe_fd[1], &b, 1);
            while (wr < 0 && errno == EINTR);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* Queues a read for `w` (which has none in flight). False when out of memory. */
static bool submit(struct waiter *w, bool force)
{
    struct tel *t = w->t;
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return false;
    j->w = w;
    j->force = force;
    j->store = w->store;
    j->after = w->after;
    j->max = w->max;
    j->has_device = w->has_device;
    memcpy(j->device, w->device, sizeof(j->device));
    w->job = j;
    w->dirty = false;
    pthread_mutex_lock(&t->mu);
    *t->todo_tail = j;
    t->todo_tail = &j->next;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return true;
}

/* ---- waiters (loop thread) ---------------------------------------------------------------- */

static void unlink_waiter(struct waiter *w)
{
    for (struct waiter **pp = &w->t->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    if (w->timer != NULL)
        event_free(w->timer);
    free(w);
}

/* Submits a read, or answers 500 and drops the waiter when that is impossible. */
static void submit_or_fail(struct waiter *w, bool force)
{
    if (!submit(w, force)) {
        svc_reply_store_error(w->req, -ENOMEM, "telemetry");
        unlink_waiter(w);
    }
}

/* A read came back. */
static void job_done(struct job *j)
{
    struct waiter *w = j->w;
    w->job = NULL;
    if (j->rc != 0 || j->n > 0 || j->force || w->expired) {
        answer(w, j);
        job_free(j);
        unlink_waiter(w);
        return;
    }
    job_free(j);
    if (w->dirty) /* telemetry committed while reading: look again */
        submit_or_fail(w, false);
    /* else: held until the next commit or the timer */
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct tel *t = arg;
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&t->mu);
    struct job *list = t->done;
    t->done = NULL;
    t->done_tail = &t->done;
    pthread_mutex_unlock(&t->mu);
    while (list != NULL) {
        struct job *next = list->next;
        job_done(list);
        list = next;
    }
}

static void wait_expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct waiter *w = arg;
    w->expired = true;
    if (w->job == NULL)
        submit_or_fail(w, true);
    /* else answered when the read in flight comes back */
}

static struct tel *tel_of(struct hub_service *s)
{
    return *(struct tel **)svc_telemetry_slot(s);
}

int svc_telemetry_init(struct hub_service *s, struct hub_daemon *d)
{
    struct tel *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->d = d;
    t->todo_tail = &t->todo;
    t->done_tail = &t->done;
    t->pipe_fd[0] = t->pipe_fd[1] = -1;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    *svc_telemetry_slot(s) = t;
    if (pipe(t->pipe_fd) != 0 || fcntl(t->pipe_fd[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(t->pipe_fd[1], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(t->pipe_fd[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(t->pipe_fd[1], F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;
        hub_log(HUB_LOG_ERROR, "service API: telemetry reader: pipe: %s", strerror(e));
        return -e;
    }
    t->pipe_ev = event_new(d->base, t->pipe_fd[0], EV_READ | EV_PERSIST, on_pipe, t);
    if (t->pipe_ev == NULL || event_add(t->pipe_ev, NULL) != 0)
        return -ENOMEM;
    int rc = pthread_create(&t->thread, NULL, reader_main, t);
    if (rc != 0) {
        hub_log(HUB_LOG_ERROR, "service API: cannot start the telemetry reader: %s",
                strerror(rc));
        return -rc;
    }
    t->thread_started = true;
    return 0;
}

void svc_telemetry_shutdown(struct hub_service *s)
{
    struct tel *t = tel_of(s);
    if (t == NULL)
        return;
    /* Every waiter gets a last read (forced), done by the thread before it exits. */
    if (t->thread_started) {
        for (struct waiter *w = t->waiters; w != NULL; w = w->next) {
            w->expired = true;
            if (w->job == NULL && !submit(w, true))
                break; /* out of memory: answered 503 below */
        }
        pthread_mutex_lock(&t->mu);
        t->stopping = true;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->thread, NULL);
        t->thread_started = false;
    }
    /* Answer what came back; jobs never run (no thread) are dropped. */
    if (t->pipe_fd[0] >= 0)
        on_pipe(t->pipe_fd[0], EV_READ, t);
    while (t->todo != NULL) {
        struct job *j = t->todo;
        t->todo = j->next;
        j->w->job = NULL;
        job_free(j);
    }
    t->todo_tail = &t->todo;
    while (t->waiters != NULL) {
        struct waiter *w = t->waiters;
        svc_reply_error(w->req, 503, "ServiceUnavailable", "azkit-hub is stopping.");
        unlink_waiter(w);
    }
    if (t->pipe_ev != NULL)
        event_free(t->pipe_ev);
    for (int i = 0; i < 2; i++)
        if (t->pipe_fd[i] >= 0)
            close(t->pipe_fd[i]);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    *svc_telemetry_slot(s) = NULL;
}

void svc_telemetry_committed(struct hub_service *s, struct hub_iothub *h, uint64_t last_seq)
{
    struct tel *t = tel_of(s);
    struct waiter *w = t ? t->waiters : NULL;
    while (w != NULL) {
        struct waiter *next = w->next;
        if (w->store == h->store && last_seq > w->after) {
            if (w->job != NULL)
                w->dirty = true;
            else
                submit_or_fail(w, false);
        }
        w = next;
    }
}

static bool parse_num(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

void svc_telemetry(struct svc_req *r)
{
    if (r->nseg != 2) {
        svc_reply_error(r->req, 404, "NotFound", "No such endpoint.");
        return;
    }
    if (r->method != SVC_GET) {
        svc_reply_error(r->req, 405, "MethodNotAllowed", "Use GET /azkit/telemetry.");
        return;
    }
    char buf[HUB_DEVICE_ID_MAX + 1], device[HUB_DEVICE_ID_MAX + 1];
    uint64_t after = 0, max = TELEMETRY_MAX_DEFAULT, wait = 0;
    if ((svc_query(r, "after", buf, sizeof(buf)) && !parse_num(buf, UINT64_MAX / 2, &after)) ||
        (svc_query(r, "max", buf, sizeof(buf)) &&
         (!parse_num(buf, TELEMETRY_MAX_LIMIT, &max) || max == 0)) ||
        (svc_query(r, "wait", buf, sizeof(buf)) && !parse_num(buf, TELEMETRY_WAIT_MAX, &wait))) {
        svc_reply_error(r->req, 400, "ArgumentInvalid",
                        "after must be a sequence number, max 1..%d, wait 0..%d seconds.",
                        TELEMETRY_MAX_LIMIT, TELEMETRY_WAIT_MAX);
        return;
    }
    bool has_device = svc_query(r, "device", device, sizeof(device)) && device[0] != '\0';
    struct tel *t = tel_of(r->s);
    struct waiter *w = calloc(1, sizeof(*w));
    if (t == NULL || w == NULL ||
        (wait > 0 && (w->timer = evtimer_new(r->d->base, wait_expired, w)) == NULL)) {
        free(w);
        svc_reply_store_error(r->req, -ENOMEM, "telemetry");
        return;
    }
    w->t = t;
    w->req = r->req;
    w->store = r->hub->store;
    w->after = after;
    w->max = (size_t)max;
    w->has_device = has_device;
    if (has_device)
        snprintf(w->device, sizeof(w->device), "%s", device);
    w->next = t->waiters;
    t->waiters = w;
    if (w->timer != NULL) {
        struct timeval tv = {(time_t)wait, 0};
        evtimer_add(w->timer, &tv);
    }
    /* wait = 0: answer whatever the read finds; else only when it finds something (or the
     * wait ends). */
    submit_or_fail(w, wait == 0);
}

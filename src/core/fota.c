/* FOTA as azure_fota does it, sans I/O (azkit/fota.h). */
#include <errno.h>
#include <string.h>

#include "azkit/fota.h"

#define F(f) (&(f)->_internal)

static bool copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* Reports status s; what is reported is kept apart from the status, which azure_fota also
 * changes without a report (a job that is not new, an image that is not an update). */
static void report(struct azk_fota *f, enum azk_fota_status s)
{
    F(f)->status = s;
    F(f)->reporting = s;
    F(f)->report_pending = true;
}

/* The job is over (failed or not started): nothing saved any more. */
static void end_job(struct azk_fota *f, enum azk_fota_status s)
{
    F(f)->s.status = AZK_FOTA_CURRENT;
    F(f)->busy = AZK_FOTA_ACT_NONE;
    F(f)->store->save(F(f)->store, &F(f)->s);
    report(f, s);
}

static int save(struct azk_fota *f)
{
    if (F(f)->store->save(F(f)->store, &F(f)->s) == 0)
        return 0;
    end_job(f, AZK_FOTA_ERROR);
    return -EIO;
}

int azk_fota_init(struct azk_fota *f, const char *running, struct azk_fota_store *store)
{
    if (f == NULL || running == NULL || store == NULL || store->load == NULL ||
        store->save == NULL)
        return -EINVAL;
    memset(f, 0, sizeof(*f));
    F(f)->store = store;
    F(f)->status = AZK_FOTA_CURRENT;
    if (running[0] == '\0' || !copy_str(F(f)->running, sizeof(F(f)->running), running))
        return -EINVAL;
    if (store->load(store, &F(f)->s) != 0)
        memset(&F(f)->s, 0, sizeof(F(f)->s));
    if (F(f)->s.status != AZK_FOTA_DOWNLOADING) {
        /* applying/rebooting: the reported twin says what happened (reconciled on GET) */
        if (F(f)->s.status != AZK_FOTA_CURRENT) {
            F(f)->s.status = AZK_FOTA_CURRENT;
            store->save(store, &F(f)->s);
        }
        return 0;
    }
    /* azkit: a download that a restart interrupted goes on from its last fragment */
    F(f)->has_job = true;
    memcpy(F(f)->reported_job_id, F(f)->s.job.job_id, sizeof(F(f)->reported_job_id));
    F(f)->reported_job_id[sizeof(F(f)->reported_job_id) - 1] = '\0';
    F(f)->tenths = F(f)->s.total ? (uint8_t)(F(f)->s.offset * 10 / F(f)->s.total) : 0;
    report(f, AZK_FOTA_DOWNLOADING);
    return 1;
}

static bool job_running(const struct azk_fota *f)
{
    return F(f)->s.status != AZK_FOTA_CURRENT;
}

static bool is_new_job(const struct azk_fota *f, const struct azk_fota_desired *d)
{
    size_t n = strlen(F(f)->reported_job_id);
    return n == 0 || strncmp(F(f)->reported_job_id, d->job_id, n) != 0;
}

static int start(struct azk_fota *f, struct azk_span json)
{
    struct azk_fota_desired d;
    int rc = azk_fota_desired_parse(json, &d);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (!is_new_job(f, &d) || strcmp(d.version, F(f)->running) == 0) {
        F(f)->status = AZK_FOTA_CURRENT; /* as azure_fota: no report */
        return 0;
    }
    memset(&F(f)->s, 0, sizeof(F(f)->s));
    F(f)->s.status = AZK_FOTA_DOWNLOADING;
    F(f)->s.job = d;
    memcpy(F(f)->s.previous, F(f)->running, sizeof(F(f)->s.previous));
    F(f)->has_job = true;
    F(f)->retries = 0;
    F(f)->tenths = 0;
    F(f)->busy = AZK_FOTA_ACT_NONE;
    if (save(f) < 0)
        return -EIO;
    if (d.job_id[0] != '\0')
        memcpy(F(f)->reported_job_id, d.job_id, sizeof(d.job_id));
    report(f, AZK_FOTA_DOWNLOADING);
    return 1;
}

int azk_fota_desired(struct azk_fota *f, struct azk_span desired)
{
    if (f == NULL || (desired.ptr == NULL && desired.len != 0))
        return -EINVAL;
    if (job_running(f))
        return 0; /* as azure_fota: ignored while downloading (azkit: until the restart) */
    return start(f, desired);
}

/* reported_status_process() of azure_fota ("rebooting": azkit, like "applying"). */
static void reconcile(struct azk_fota *f, const struct azk_fota_reported *r)
{
    const char *run = F(f)->running;
    switch (r->status) {
    case AZK_FOTA_CURRENT:
        if (strcmp(run, r->current) != 0)
            report(f, AZK_FOTA_CURRENT);
        else
            F(f)->status = AZK_FOTA_CURRENT;
        break;
    case AZK_FOTA_APPLYING:
    case AZK_FOTA_REBOOTING:
        if (strcmp(run, r->pending) != 0 && strcmp(run, r->current) == 0)
            report(f, AZK_FOTA_ROLLEDBACK);
        else
            report(f, AZK_FOTA_CURRENT);
        break;
    case AZK_FOTA_DOWNLOADING:
        report(f, AZK_FOTA_ERROR); /* not downloading now: that download failed */
        break;
    case AZK_FOTA_ERROR:
        F(f)->status = AZK_FOTA_ERROR;
        break;
    default:
        report(f, AZK_FOTA_CURRENT);
        break;
    }
}

int azk_fota_twin(struct azk_fota *f, struct azk_span doc)
{
    struct azk_fota_reported r;
    if (f == NULL || (doc.ptr == NULL && doc.len != 0))
        return -EINVAL;
    if (job_running(f))
        return 0;
    if (azk_fota_reported_parse(doc, &r) == 0) {
        if (!r.has_firmware) {
            report(f, F(f)->status);
        } else if (r.has_status && r.has_current) {
            if (r.has_job_id)
                memcpy(F(f)->reported_job_id, r.job_id, sizeof(r.job_id));
            if (!r.has_pending)
                report(f, F(f)->status);
            else
                reconcile(f, &r);
        } else if (r.has_job_id) {
            memcpy(F(f)->reported_job_id, r.job_id, sizeof(r.job_id));
        }
    }
    return start(f, doc);
}

static uint32_t fragment(const struct azk_fota *f)
{
    uint32_t n = F(f)->s.job.fragment_size;
    return n ? n : AZK_FOTA_DEFAULT_FRAGMENT;
}

static int build_report(struct azk_fota *f, char *buf, size_t size, struct azk_fota_action *a)
{
    const struct azk_fota_saved *s = &F(f)->s;
    struct azk_fota_report rep = {
        .status = F(f)->reporting,
        .current = F(f)->running,
        .pending = F(f)->has_job ? s->job.version : NULL,
        .job_id = F(f)->has_job ? s->job.job_id : NULL,
        .has_progress = F(f)->reporting == AZK_FOTA_DOWNLOADING,
        .downloaded = s->offset,
        .total = s->total,
    };
    size_t len;
    int rc = azk_fota_report_build(&rep, buf, size, &len);
    if (rc < 0)
        return rc;
    a->kind = AZK_FOTA_ACT_REPORT;
    a->report = (struct azk_span){buf, len};
    F(f)->report_pending = false;
    F(f)->report_inflight = true;
    return 0;
}

/* The work of the job's phase, once its report (if it must come first) was accepted. */
static void work(struct azk_fota *f, struct azk_fota_action *a)
{
    struct azk_fota_saved *s = &F(f)->s;
    bool reported = !F(f)->report_pending && !F(f)->report_inflight;
    a->version = s->job.version;
    if (s->status == AZK_FOTA_DOWNLOADING && (s->total == 0 || s->offset < s->total)) {
        a->kind = AZK_FOTA_ACT_FETCH;
        a->host = s->job.host;
        a->path = s->job.path;
        a->start = s->offset;
        a->end = s->offset + fragment(f) - 1;
        if (s->total && a->end >= s->total)
            a->end = s->total - 1;
    } else if (s->status == AZK_FOTA_DOWNLOADING) {
        a->kind = AZK_FOTA_ACT_VERIFY;
        a->size = s->total;
        a->sha256 = s->job.has_sha256 ? s->job.sha256 : NULL;
    } else if (s->status == AZK_FOTA_APPLYING && reported) {
        a->kind = AZK_FOTA_ACT_APPLY;
    } else if (s->status == AZK_FOTA_REBOOTING && reported) {
        a->kind = AZK_FOTA_ACT_RESTART;
        return;
    } else {
        return;
    }
    F(f)->busy = a->kind;
}

int azk_fota_next(struct azk_fota *f, bool connected, char *buf, size_t buf_size,
                  struct azk_fota_action *a)
{
    if (f == NULL || a == NULL)
        return -EINVAL;
    memset(a, 0, sizeof(*a));
    if (F(f)->report_pending && !F(f)->report_inflight && connected)
        return build_report(f, buf, buf_size, a);
    if (job_running(f) && F(f)->busy == AZK_FOTA_ACT_NONE)
        work(f, a);
    return 0;
}

int azk_fota_report_result(struct azk_fota *f, bool accepted)
{
    if (f == NULL || !F(f)->report_inflight)
        return -EINVAL;
    F(f)->report_inflight = false;
    if (!accepted)
        F(f)->report_pending = true;
    return 0;
}

static bool transient(int err)
{
    switch (-err) {
    case ECONNRESET: case ECONNABORTED: case ECONNREFUSED: case ETIMEDOUT: case EPIPE:
    case ENOTCONN: case EAGAIN: case ENETUNREACH: case EHOSTUNREACH:
        return true;
    default:
        return false;
    }
}

int azk_fota_fetch_result(struct azk_fota *f, int err, uint64_t len, uint64_t total)
{
    struct azk_fota_saved *s;
    if (f == NULL || F(f)->busy != AZK_FOTA_ACT_FETCH)
        return -EINVAL;
    s = &F(f)->s;
    F(f)->busy = AZK_FOTA_ACT_NONE;
    if (err < 0) {
        if (!transient(err) || ++F(f)->retries > AZK_FOTA_FETCH_RETRIES)
            end_job(f, AZK_FOTA_ERROR);
        return 0;
    }
    uint64_t want = fragment(f);
    if (total > s->offset && total - s->offset < want)
        want = total - s->offset;
    if (total == 0 || total <= s->offset || (s->total && total != s->total) ||
        (s->job.has_size && total != s->job.size) || len != want) {
        end_job(f, AZK_FOTA_ERROR);
        return -EMSGSIZE;
    }
    F(f)->retries = 0;
    s->total = total;
    s->offset += len;
    if (save(f) < 0)
        return -EIO;
    uint8_t tenths = (uint8_t)(s->offset * 10 / total);
    if (tenths > F(f)->tenths && s->offset < total) {
        F(f)->tenths = tenths;
        report(f, AZK_FOTA_DOWNLOADING);
    }
    return 0;
}

int azk_fota_verify_result(struct azk_fota *f, int err)
{
    if (f == NULL || F(f)->busy != AZK_FOTA_ACT_VERIFY)
        return -EINVAL;
    F(f)->busy = AZK_FOTA_ACT_NONE;
    if (err < 0) {
        end_job(f, AZK_FOTA_ERROR);
        return 0;
    }
    F(f)->s.status = AZK_FOTA_APPLYING;
    report(f, AZK_FOTA_APPLYING);
    return save(f) < 0 ? -EIO : 0;
}

int azk_fota_apply_result(struct azk_fota *f, int err)
{
    if (f == NULL || F(f)->busy != AZK_FOTA_ACT_APPLY)
        return -EINVAL;
    F(f)->busy = AZK_FOTA_ACT_NONE;
    if (err < 0) {
        end_job(f, AZK_FOTA_ERROR);
        return 0;
    }
    F(f)->s.status = AZK_FOTA_REBOOTING;
    report(f, AZK_FOTA_REBOOTING);
    return save(f) < 0 ? -EIO : 0;
}

enum azk_fota_status azk_fota_status(const struct azk_fota *f)
{
    return F(f)->status;
}

const char *azk_fota_running(const struct azk_fota *f)
{
    return F(f)->running;
}

bool azk_fota_progress(const struct azk_fota *f, uint64_t *done, uint64_t *total)
{
    if (done)
        *done = F(f)->s.offset;
    if (total)
        *total = F(f)->s.total;
    return job_running(f);
}

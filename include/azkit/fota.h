/**
 * @file fota.h
 * @brief Firmware over the air through the device twin, as the nRF Connect SDK's azure_fota
 *        does, as a sans-I/O state machine of the portable core (no heap, no I/O): it is fed
 *        twin messages and the results of the work it asks for, and says what to do next.
 *
 * Call sequence (azkit/twin_sync.h delivers the twin messages in order):
 *
 *   azk_fota_init(&f, running_version, store)     at start (resumes a saved download)
 *   azk_fota_twin(&f, get_answer)                 the full twin (GET): reconcile, then desired
 *   azk_fota_desired(&f, patch)                   a desired patch
 *   loop: azk_fota_next(&f, connected, buf, size, &a) and do a.kind:
 *     AZK_FOTA_ACT_REPORT   send a.report as a reported patch; azk_fota_report_result()
 *     AZK_FOTA_ACT_FETCH    GET a.host/a.path with `Range: bytes=a.start-a.end`; write what
 *                           came at a.start of the staging area (dropping anything stored
 *                           at or after a.start), make it durable; azk_fota_fetch_result()
 *     AZK_FOTA_ACT_VERIFY   check the staged image (a.size bytes; SHA-256 a.sha256 unless
 *                           NULL); azk_fota_verify_result()
 *     AZK_FOTA_ACT_APPLY    make the staged image the one to boot; azk_fota_apply_result()
 *     AZK_FOTA_ACT_RESTART  restart (the new image runs; azk_fota_init() again there)
 *     AZK_FOTA_ACT_NONE     nothing now (waiting for a result or the connection)
 *
 * What azure_fota does, and azkit too (subsys/net/lib/azure_fota/azure_fota.c):
 * - the full twin is reconciled first: reported.firmware.jobId is remembered; with
 *   fwUpdateStatus and currentFwVersion present: no pendingFwVersion -> report; "current" ->
 *   report only when currentFwVersion is not the running version; "applying" -> "current"
 *   when the running version is the pending one, "rolledback" when it is the reported
 *   current one, else "current"; "downloading" -> "error"; "error" -> no report; anything
 *   else -> "current". No reported firmware object at all -> report "current".
 * - a desired job is new when no jobId was reported or the reported jobId is not a prefix of
 *   the desired one (azure_fota compares strlen(reported) characters); an image is an update
 *   when fwVersion differs from the running version. Otherwise: status "current", no report.
 * - messages that come while a download is running are ignored.
 * - "downloading" is reported when a download starts, "applying" when it finished, "error"
 *   when it failed. Reports carry pendingFwVersion and jobId while a job with a jobId exists.
 *
 * Where azkit differs on purpose:
 * - a download is resumed after a dropped connection (from the last complete fragment, up to
 *   AZK_FOTA_FETCH_RETRIES consecutive attempts) and after a restart (the saved state, see
 *   struct azk_fota_store); azure_fota reports the stale "downloading" as "error".
 * - progress: "downloading" is reported again at each further tenth of the image, with the
 *   azkit members fwDownloadedBytes and fwTotalBytes (azkit/fota_payload.h).
 * - after "applying" is accepted by the hub the image is applied, then "rebooting" is
 *   reported (azure_fota defines the string but never sends it), then the restart; a
 *   reported "rebooting" is reconciled like "applying". Each step waits for the hub to
 *   accept the report before it goes on, so a restart never leaves a stale status.
 * - messages are also ignored after the download until the restart (the image is applied).
 * - an image must have the size of Content-Range (and fwSize, fwSha256 when given): a
 *   mismatch is "error" and the running image is kept.
 * - a desired object without jobId has no job id (azure_fota keeps the previous one).
 *
 * Errors are negative errno values, listed with each function.
 */
#ifndef AZKIT_FOTA_H
#define AZKIT_FOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/fota_payload.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AZK_FOTA_FETCH_RETRIES 3        /**< consecutive failed fetches before "error" */
#define AZK_FOTA_DEFAULT_FRAGMENT 2048  /**< the fragment size when fwFragmentSize is 0 */
#define AZK_FOTA_REPORT_MAX 1280        /**< a buffer this size holds every report */

/** What is saved across restarts (a download in progress, or an image being applied). */
struct azk_fota_saved {
    enum azk_fota_status status;        /**< DOWNLOADING, APPLYING, REBOOTING; CURRENT: none */
    struct azk_fota_desired job;        /**< the job */
    char previous[AZK_FOTA_VERSION_SIZE]; /**< the version that ran when the job started */
    uint64_t offset;                    /**< bytes staged (a fragment boundary) */
    uint64_t total;                     /**< the image size (Content-Range; 0: not known) */
};

/**
 * Where the state is saved, so firmware can keep it in flash. Both calls come from the
 * caller's thread, from inside the azk_fota_* functions.
 */
struct azk_fota_store {
    /**
     * @brief Reads the saved state.
     * @return 0; -ENOENT when nothing is saved; -EIO (or another negative errno) when it cannot
     *         be read (azk_fota_init() then starts without a job).
     */
    int (*load)(struct azk_fota_store *st, struct azk_fota_saved *out);
    /**
     * @brief Saves the state durably (a crash afterwards finds it; a crash during the call
     *        finds this state or the previous one, never a mix).
     * @return 0; a negative errno when it could not be saved.
     */
    int (*save)(struct azk_fota_store *st, const struct azk_fota_saved *s);
};

/** What to do next. Strings and spans stay valid until the next azk_fota_* call. */
enum azk_fota_action_kind {
    AZK_FOTA_ACT_NONE = 0,
    AZK_FOTA_ACT_REPORT,
    AZK_FOTA_ACT_FETCH,
    AZK_FOTA_ACT_VERIFY,
    AZK_FOTA_ACT_APPLY,
    AZK_FOTA_ACT_RESTART,
};

/** One action (see the call sequence above). */
struct azk_fota_action {
    enum azk_fota_action_kind kind;
    struct azk_span report;     /**< REPORT: the reported patch (in the caller's buffer) */
    const char *host;           /**< FETCH: host[:port] */
    const char *path;           /**< FETCH: the path, without a leading '/' as azure_fota */
    uint64_t start, end;        /**< FETCH: the byte range, inclusive */
    uint64_t size;              /**< VERIFY: the image size */
    const uint8_t *sha256;      /**< VERIFY: the expected digest, or NULL */
    const char *version;        /**< VERIFY, APPLY, RESTART: the new version */
};

/** The state machine. Members are internal. */
struct azk_fota {
    struct {
        struct azk_fota_store *store;
        struct azk_fota_saved s;               /* the job (s.status: the job's phase) */
        enum azk_fota_status status;           /* azure_fota's current_status */
        enum azk_fota_status reporting;        /* what the pending report says */
        char running[AZK_FOTA_VERSION_SIZE];
        char reported_job_id[AZK_FOTA_JOB_ID_SIZE];
        bool has_job;                          /* s.job is the job reports name */
        bool report_pending, report_inflight;
        enum azk_fota_action_kind busy;        /* FETCH, VERIFY, APPLY handed out */
        uint8_t retries;
        uint8_t tenths;                        /* progress reported so far */
    } _internal;
};

/**
 * @brief Starts the state machine; resumes a saved download (a saved "applying" or
 *        "rebooting" is cleared: the reported twin reconciles it, as in azure_fota).
 * @param f       The state (not NULL).
 * @param running The running firmware version (1..63 characters).
 * @param store   Where the state is saved (not NULL).
 * @return 1 when a download resumes; 0 otherwise; -EINVAL for a NULL argument or a bad
 *         version. A store that cannot be read counts as empty.
 */
AZK_API int azk_fota_init(struct azk_fota *f, const char *running, struct azk_fota_store *store);

/**
 * @brief Processes the full twin (a GET answer): reconciles the reported firmware object,
 *        then acts on the desired one (as azk_fota_desired()).
 * @param f   The state.
 * @param doc The document {"desired":...,"reported":...}.
 * @return 1 when a download started; 0 when there was nothing to start (no firmware object,
 *         not a new job, not an update, or a job is running: ignored); -EBADMSG,
 *         -ENAMETOOLONG, -E2BIG as azk_fota_desired_parse() for a bad firmware object
 *         (nothing started); -EIO when the state could not be saved ("error" is reported);
 *         -EINVAL for a NULL argument.
 */
AZK_API int azk_fota_twin(struct azk_fota *f, struct azk_span doc);

/**
 * @brief Processes a desired patch (or the desired section).
 * @param f       The state.
 * @param desired The patch.
 * @return As azk_fota_twin().
 */
AZK_API int azk_fota_desired(struct azk_fota *f, struct azk_span desired);

/**
 * @brief What to do now.
 * @param f         The state.
 * @param connected The device is connected to the hub (reports wait for it).
 * @param buf       Where a report is built (AZK_FOTA_REPORT_MAX bytes are always enough).
 * @param buf_size  Its size.
 * @param a         Receives the action (not NULL).
 * @return 0; -ENOBUFS when a report does not fit buf (a.kind is NONE); -EINVAL for a NULL
 *         argument.
 */
AZK_API int azk_fota_next(struct azk_fota *f, bool connected, char *buf, size_t buf_size,
                          struct azk_fota_action *a);

/**
 * @brief The REPORT handed out was accepted by the hub (a 2xx answer), or not (not sent, a
 *        refusal, or the connection was lost before the answer): then it is sent again.
 * @return 0; -EINVAL when no report was handed out.
 */
AZK_API int azk_fota_report_result(struct azk_fota *f, bool accepted);

/**
 * @brief The result of the FETCH handed out.
 * @param f     The state.
 * @param err   0; or why it failed: a lost connection (-ECONNRESET, -ECONNABORTED,
 *              -ECONNREFUSED, -ETIMEDOUT, -EPIPE, -ENOTCONN, -EAGAIN, -ENETUNREACH,
 *              -EHOSTUNREACH) is tried again from the same fragment; anything else
 *              (-ENOENT for 404, -ERANGE for 416, -EBADMSG for no Content-Range, ...) ends the
 *              download with "error".
 * @param len   Bytes written at a.start (err 0): the whole range, or the image's tail.
 * @param total The image size from Content-Range (err 0).
 * @return 0; -EINVAL when no fetch was handed out; -EMSGSIZE when len or total does not fit
 *         the job (the download ends with "error"); -EIO when the state could not be saved.
 */
AZK_API int azk_fota_fetch_result(struct azk_fota *f, int err, uint64_t len, uint64_t total);

/**
 * @brief The result of VERIFY: 0, or a negative errno ("error"; the running image is kept).
 * @return 0; -EINVAL when no verify was handed out.
 */
AZK_API int azk_fota_verify_result(struct azk_fota *f, int err);

/**
 * @brief The result of APPLY: 0, or a negative errno ("error").
 * @return 0; -EINVAL when no apply was handed out.
 */
AZK_API int azk_fota_apply_result(struct azk_fota *f, int err);

/** @brief The status reported (or to be reported). */
AZK_API enum azk_fota_status azk_fota_status(const struct azk_fota *f);

/** @brief The running version given to azk_fota_init(). */
AZK_API const char *azk_fota_running(const struct azk_fota *f);

/**
 * @brief Progress of the job.
 * @param f     The state.
 * @param done  Receives the bytes staged (may be NULL).
 * @param total Receives the image size, 0 when not known (may be NULL).
 * @return true while a job runs (downloading, applying or rebooting).
 */
AZK_API bool azk_fota_progress(const struct azk_fota *f, uint64_t *done, uint64_t *total);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file fota_payload.h
 * @brief The device twin's `firmware` objects of the nRF Connect SDK's azure_fota: the desired
 *        object that names an image, and the reported object that tells its progress. Part of
 *        the portable core: no heap; the strings are decoded into fixed arrays inside the
 *        structs. Separately linkable: a device that does not update links none of it.
 *
 * Desired (at the twin root or under `desired`, as azure_fota looks for it):
 *
 *   {"firmware":{"fwVersion":"<V>" or <integer>, "jobId":"<uuid>",
 *                "fwLocation":{"host":"<host>[:<port>]","path":"<path>","protocol":"https:"},
 *                "fwFragmentSize":<n>, "fwSize":<bytes>, "fwSha256":"<64 hex>"}}
 *
 * `fwLocation.protocol` is ignored (azure_fota ignores it too: TLS is a build choice there and
 * always on here). `fwSize` and `fwSha256` are azkit extensions, both optional: when present
 * the image must have exactly that size and SHA-256 digest. Limits are azure_fota's buffer
 * sizes (Kconfig CONFIG_AZURE_FOTA_VERSION_MAX_LEN = 64, CONFIG_AZURE_FOTA_JOB_ID_MAX_LEN = 40,
 * both including the terminating NUL, so at most 63 and 39 characters, as azure_fota.c checks
 * `strlen() >= sizeof(buffer)`).
 *
 * Reported:
 *
 *   {"firmware":{"fwUpdateStatus":"<s>","currentFwVersion":"<v>"}}                 (no job)
 *   {"firmware":{"fwUpdateStatus":"<s>","currentFwVersion":"<v>",
 *                "pendingFwVersion":"<new>","jobId":"<id>"}}                         (a job)
 *
 * with, while downloading, the azkit extension `"fwDownloadedBytes":<n>` and, once the size
 * is known, `"fwTotalBytes":<n>` (azure_fota never reports progress).
 */
#ifndef AZKIT_FOTA_PAYLOAD_H
#define AZKIT_FOTA_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AZK_FOTA_VERSION_SIZE 64   /**< version buffer: 63 characters and the NUL */
#define AZK_FOTA_JOB_ID_SIZE 40    /**< job id buffer: 39 characters and the NUL */
#define AZK_FOTA_HOST_SIZE 128     /**< host[:port] buffer */
#define AZK_FOTA_PATH_SIZE 256     /**< path buffer */
#define AZK_FOTA_FRAGMENT_MAX 65536 /**< largest fwFragmentSize accepted */

/** The status strings of azure_fota, in its order. */
enum azk_fota_status {
    AZK_FOTA_CURRENT = 0, /**< "current" */
    AZK_FOTA_DOWNLOADING, /**< "downloading" */
    AZK_FOTA_APPLYING,    /**< "applying" */
    AZK_FOTA_REBOOTING,   /**< "rebooting" */
    AZK_FOTA_ERROR,       /**< "error" */
    AZK_FOTA_ROLLEDBACK,  /**< "rolledback" */
    AZK_FOTA_INVALID,     /**< anything else (a reported status azkit does not know) */
};

/** A desired `firmware` object, decoded (all strings NUL-terminated). */
struct azk_fota_desired {
    char version[AZK_FOTA_VERSION_SIZE]; /**< fwVersion (a number is written in decimal) */
    char job_id[AZK_FOTA_JOB_ID_SIZE];   /**< jobId ("" when absent) */
    char host[AZK_FOTA_HOST_SIZE];       /**< fwLocation.host, ":port" kept */
    char path[AZK_FOTA_PATH_SIZE];       /**< fwLocation.path */
    uint32_t fragment_size;              /**< fwFragmentSize (0: the driver's default) */
    bool has_size;                       /**< fwSize was given */
    uint64_t size;                       /**< fwSize */
    bool has_sha256;                     /**< fwSha256 was given */
    uint8_t sha256[32];                  /**< fwSha256, as bytes */
};

/** The reported `firmware` object of a twin document, decoded. */
struct azk_fota_reported {
    bool has_firmware;                   /**< reported.firmware exists */
    bool has_status, has_current, has_pending, has_job_id; /**< which members exist */
    enum azk_fota_status status;         /**< fwUpdateStatus */
    char current[AZK_FOTA_VERSION_SIZE]; /**< currentFwVersion */
    char pending[AZK_FOTA_VERSION_SIZE]; /**< pendingFwVersion */
    char job_id[AZK_FOTA_JOB_ID_SIZE];   /**< jobId */
};

/** What a report says. */
struct azk_fota_report {
    enum azk_fota_status status; /**< fwUpdateStatus (not AZK_FOTA_INVALID) */
    const char *current;         /**< currentFwVersion (not NULL) */
    const char *pending;         /**< pendingFwVersion; with job_id, written only when job_id is
                                      not NULL and not "" (as azure_fota) */
    const char *job_id;          /**< jobId (NULL or "": the no-job form) */
    bool has_progress;           /**< write fwDownloadedBytes (and fwTotalBytes when total > 0) */
    uint64_t downloaded;         /**< bytes downloaded so far */
    uint64_t total;              /**< the image size (0: not known yet) */
};

/**
 * @brief Decodes the desired `firmware` object of a message (a desired patch, the desired
 *        section, or a whole twin document with `desired`).
 * @param json The message.
 * @param d    Receives the object (not NULL; cleared first).
 * @return 0; -ENOENT when the message has no `firmware` object (not a FOTA message: ignore it);
 *         -EBADMSG when the message is not a JSON object, or the `firmware` object lacks
 *         fwVersion, fwLocation.host, fwLocation.path or fwFragmentSize, or a member has the
 *         wrong type (fwVersion a number with a fraction, fwFragmentSize outside
 *         0..AZK_FOTA_FRAGMENT_MAX, fwSize negative, fwSha256 not 64 hex digits, a string with
 *         a NUL); -ENAMETOOLONG when a string does not fit its buffer; -E2BIG when nested
 *         deeper than AZK_JSON_MAX_DEPTH; -EINVAL for a NULL argument.
 */
AZK_API int azk_fota_desired_parse(struct azk_span json, struct azk_fota_desired *d);

/**
 * @brief Decodes `reported.firmware` of a twin document (the answer to a twin GET).
 * @param doc The document `{"desired":{...},"reported":{...}}`.
 * @param r   Receives what was found (not NULL; cleared first). Members that are not strings,
 *            or too long for their buffer, count as absent (has_... false).
 * @return 0 (also when reported has no firmware: has_firmware is then false); -ENOENT when
 *         the document has no `reported` object; -EBADMSG when it is not a JSON object;
 *         -E2BIG when nested too deep; -EINVAL for a NULL argument.
 */
AZK_API int azk_fota_reported_parse(struct azk_span doc, struct azk_fota_reported *r);

/**
 * @brief Builds a reported patch.
 * @param rep      What to report.
 * @param buf      Output (may be NULL when buf_size is 0). No NUL is written.
 * @param buf_size Its size.
 * @param out_len  Receives the length, or the size needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS when buf is too small; -EINVAL for a NULL argument, an invalid status,
 *         or a string that is not UTF-8.
 */
AZK_API int azk_fota_report_build(const struct azk_fota_report *rep, char *buf, size_t buf_size,
                                  size_t *out_len);

/**
 * @brief The status string ("current", ...).
 * @param s A status.
 * @return The string; "invalid" for AZK_FOTA_INVALID and values outside the enum.
 */
AZK_API const char *azk_fota_status_str(enum azk_fota_status s);

/**
 * @brief The status named by a string (exact, case-sensitive match).
 * @param s The string (NULL gives AZK_FOTA_INVALID).
 * @return The status, or AZK_FOTA_INVALID.
 */
AZK_API enum azk_fota_status azk_fota_status_from_str(const char *s);

#ifdef __cplusplus
}
#endif
#endif

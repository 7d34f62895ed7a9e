/**
 * @file fota_posix.h
 * @brief The Linux side of FOTA (azkit/fota.h): an HTTPS range download whose TLS trust comes
 *        from a security tag (as CONFIG_AZURE_FOTA_SEC_TAG on the nRF91), and a FOTA
 *        directory that keeps the saved state, the staged image and the running image.
 *
 * The FOTA directory (0700):
 *
 *   state          the saved state (struct azk_fota_saved as JSON; written to a temporary file,
 *                  fsynced, renamed, the directory fsynced: a crash finds the old or the new)
 *   staging        the image being downloaded (0600; fsynced after every fragment)
 *   image          the running image ("the firmware"; absent until the first update)
 *   image.version  its version (absent: the version given to azk_fota_dir_open())
 *   image.prev, image.prev.version   the image before the last update (for a rollback)
 *   fail-boot      rehearsal marker: the next first boot of a new image fails, so the
 *                  previous image is put back (a rollback; the marker is removed)
 *
 * Applying an image: the new version is written (temp + fsync + rename) as
 * staging.version; the running image and its version are hard-linked as image.prev; then
 * `staging` is renamed over `image` (the atomic swap) and `staging.version` over
 * `image.version`, and the directory is fsynced. A crash between the two renames leaves the
 * new image with the old version: after the restart that reads as a rollback.
 */
#ifndef AZKIT_FOTA_POSIX_H
#define AZKIT_FOTA_POSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "azkit/common.h"
#include "azkit/fota.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A FOTA directory; `store` is the azk_fota_store to give azk_fota_init(). */
struct azk_fota_dir {
    struct azk_fota_store store; /**< the saved-state interface (state file) */
    char path[512];              /**< the directory */
};

/**
 * @brief Opens (creates) a FOTA directory and "boots": when the saved state says a new image
 *        was just swapped in (status rebooting) and the fail-boot marker exists, the previous
 *        image is put back first.
 * @param d         The directory object (not NULL).
 * @param path      The directory (created 0700 when missing).
 * @param fallback  The version of the firmware when the directory holds no image yet.
 * @param running   Receives the running version (AZK_FOTA_VERSION_SIZE bytes).
 * @param rolled_back Receives whether the boot rolled back (may be NULL).
 * @return 0; -ENAMETOOLONG; -EINVAL (bad arguments, a version file that is empty or too long);
 *         a negative errno of the file system.
 */
AZK_API int azk_fota_dir_open(struct azk_fota_dir *d, const char *path, const char *fallback,
                              char running[AZK_FOTA_VERSION_SIZE], bool *rolled_back);

/**
 * @brief Writes a fragment at `start` of the staged image, dropping what was staged at or
 *        after it, and makes it durable (fsync).
 * @return 0 or a negative errno.
 */
AZK_API int azk_fota_dir_stage(struct azk_fota_dir *d, uint64_t start, const void *data,
                               size_t len);

/**
 * @brief Checks the staged image: exactly `size` bytes, and the SHA-256 digest when given.
 * @param sha256 The expected digest (32 bytes) or NULL.
 * @return 0; -EMSGSIZE (size); -EBADMSG (digest); -ENOENT (nothing staged); -EIO.
 */
AZK_API int azk_fota_dir_verify(struct azk_fota_dir *d, uint64_t size, const uint8_t *sha256);

/**
 * @brief Swaps the staged image in as the running one, version `version` (see the file head).
 * @return 0 or a negative errno (the running image is unchanged unless the swap rename ran).
 */
AZK_API int azk_fota_dir_apply(struct azk_fota_dir *d, const char *version);

/** A keep-alive HTTPS connection for range requests. Members are internal. */
struct azk_fota_http {
    SSL_CTX *ctx;                /**< trust (a security tag's CA certificate; not freed) */
    const char *connect_address; /**< connect here instead of resolving the host (or NULL) */
    const char *trusted;         /**< what ctx trusts, for explanations (or NULL) */
    uint32_t timeout_ms;         /**< per request, connection included (0 = 15000) */
    struct {
        int fd;
        SSL *ssl;
        char host[AZK_FOTA_HOST_SIZE];
    } _internal;
};

/** @brief Prepares a connection object (no connection yet). */
AZK_API void azk_fota_http_init(struct azk_fota_http *h, SSL_CTX *ctx,
                                const char *connect_address);

/**
 * @brief GET https://host/path with `Range: bytes=start-end`, on the open connection when it
 *        is to the same host (keep-alive), else a new one (SNI and name check: host without
 *        its port; port 443 unless host says otherwise).
 * @param h       The connection.
 * @param host    host[:port].
 * @param path    The path (a leading '/' is added unless there is one).
 * @param start   First byte.
 * @param end     Last byte (inclusive; end >= start).
 * @param buf     Receives the body (end - start + 1 bytes at most are accepted).
 * @param len     Receives the body's length.
 * @param total   Receives the image size from `Content-Range: bytes a-b/total`.
 * @param why     Receives a sentence on failure (may be NULL).
 * @param whylen  Its size.
 * @return 0 (a 206 whose Content-Range starts at start and ends at or before end);
 *         -ENOENT (404); -ERANGE (416); -EBADMSG (not 206, no or a wrong Content-Range, a
 *         malformed answer); -EPROTO (another status); a connection error (-ECONNRESET when
 *         it broke mid-answer, -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNABORTED for a
 *         refused certificate). The connection is closed after every failure.
 */
AZK_API int azk_fota_http_get(struct azk_fota_http *h, const char *host, const char *path,
                              uint64_t start, uint64_t end, uint8_t *buf, size_t *len,
                              uint64_t *total, char *why, size_t whylen);

/** @brief Closes the connection (the object may be used again). */
AZK_API void azk_fota_http_close(struct azk_fota_http *h);

/** The parsed head of an HTTP/1.1 answer (azk_fota_http_parse_head()). */
struct azk_fota_http_head {
    int status;               /**< the status code */
    bool has_length;          /**< Content-Length was given */
    uint64_t length;          /**< Content-Length */
    bool has_range;           /**< a valid `Content-Range: bytes a-b/total` was given */
    uint64_t first, last, total; /**< its numbers (first <= last < total) */
    bool close;               /**< `Connection: close` (or HTTP/1.0 without keep-alive) */
    bool chunked;             /**< `Transfer-Encoding` other than identity */
};

/**
 * @brief Parses the head of an HTTP/1.x answer (status line and header fields, up to and
 *        including the empty line).
 * @param head The bytes (not NUL-terminated).
 * @param len  Their number.
 * @param out  Receives the result (not NULL).
 * @return The head's length (bytes up to and including CRLF CRLF); 0 when the head is not
 *         complete yet; -EBADMSG when it is malformed (status line, a field without ':',
 *         a bad number, a second Content-Length that differs).
 */
AZK_API long azk_fota_http_parse_head(const char *head, size_t len,
                                      struct azk_fota_http_head *out);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file cred_backend.h
 * @brief The interface a credential storage backend implements.
 *
 * The store front (cred.h) does everything that is the same for every backend: tag and type
 * checks, canonical form, validation, warnings, refusing to read private keys back. A backend
 * only moves canonical bytes: a directory on disk, or an nRF91 modem over AT%CMNG. A backend
 * for a device whose keys cannot be read back (the modem) returns -EACCES from `read` for
 * type 2 and implements `digest` from the modem's own list output.
 *
 * All functions return 0 or a negative errno value.
 */
#ifndef AZKIT_CRED_BACKEND_H
#define AZKIT_CRED_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/cred.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Operations of a backend. `digest` and `clear` may be NULL; the front then derives them. */
struct azk_cred_backend_ops {
    /** Human-readable kind, e.g. "directory" or "nrf91". */
    const char *name;
    /** Store @p len canonical bytes atomically, replacing any previous content. */
    int (*write)(void *ctx, azk_sec_tag_t tag, int type, const char *content, size_t len);
    /** Read into @p buf; *len in: capacity, out: size (or size needed with -ENOMEM).
     *  -ENOENT when absent. May return -EACCES for type 2. */
    int (*read)(void *ctx, azk_sec_tag_t tag, int type, void *buf, size_t *len);
    /** Remove one credential; -ENOENT when absent. */
    int (*remove)(void *ctx, azk_sec_tag_t tag, int type);
    /** Remove every credential of a tag; absent tag is not an error. May be NULL. */
    int (*clear)(void *ctx, azk_sec_tag_t tag);
    /** Call @p cb for each credential in ascending (tag, type) order. */
    int (*list)(void *ctx, azk_cred_list_cb cb, void *user);
    /** SHA-256 of the stored content. May be NULL (the front reads and hashes). */
    int (*digest)(void *ctx, azk_sec_tag_t tag, int type, uint8_t out[AZK_CRED_DIGEST_SIZE]);
    /** Release @p ctx. May be NULL. */
    void (*close)(void *ctx);
    /** The reason the last operation failed, in words (a modem's refusal), or NULL. May be
     *  NULL. */
    const char *(*why)(void *ctx);
    /** The device's firmware revision (a modem's AT+CGMR), or NULL. May be NULL. */
    const char *(*firmware)(void *ctx);
    /** Generate a P-256 key pair inside the device, kept in @p tag as type 2, and return a
     *  certificate signing request for it with subject CN=@p common_name: DER in *csr_der
     *  (heap, free()), its size in *csr_len. May be NULL: the front then generates the key
     *  with OpenSSL and stores it with `write` (cred_keygen.h). -EALREADY when the device
     *  refuses because the tag holds a key; other errors as `write`. */
    int (*keygen)(void *ctx, azk_sec_tag_t tag, const char *common_name,
                  unsigned char **csr_der, size_t *csr_len);
};

/**
 * @brief Open a store on a caller-supplied backend.
 * @param ops  Operations; must stay valid until the store is closed.
 * @param ctx  The backend's state, passed to every operation; ops->close releases it.
 * @param description Shown by azk_credstore_describe(); copied.
 * @param out  Receives the store.
 * @return 0; -EINVAL when a required operation is missing; -ENOMEM.
 */
AZK_API int azk_credstore_open_backend(const struct azk_cred_backend_ops *ops, void *ctx,
                                       const char *description, struct azk_credstore **out);

#ifdef __cplusplus
}
#endif
#endif

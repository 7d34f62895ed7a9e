/**
 * @file assignment_file.h
 * @brief The DPS assignment store (azk_assignment_store, azkit/client.h) in a file, so that a
 *        Linux device registers with DPS once and reconnects to its hub at the next start.
 *
 * The file holds one assignment: the id scope, the registration id and the client
 * certificate's thumbprint it was given for, and the hub and device id DPS assigned. load()
 * answers -ENOENT unless all three keys match (a new certificate means a new registration).
 *
 * Durability argument: save() writes the whole record to FILE.tmp, fsync()s it, rename()s it
 * over FILE and fsync()s the directory, so after a crash FILE is the old record or the new one,
 * never a mix; a record that does not parse (a truncated file, a different format) counts as
 * none, which costs one DPS registration, never a wrong hub. forget() unlinks FILE.
 */
#ifndef AZKIT_ASSIGNMENT_FILE_H
#define AZKIT_ASSIGNMENT_FILE_H

#include <stddef.h>

#include "azkit/client.h"
#include "azkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What the file holds. */
struct azk_assignment_record {
    char id_scope[AZK_CLIENT_SCOPE_MAX + 1];
    char registration_id[AZK_CLIENT_ID_MAX + 1];
    char thumbprint[65];                   /**< SHA-256 of the client certificate, hex */
    char hub[AZK_CLIENT_HOST_MAX + 7];      /**< "host[:port]" */
    char device_id[AZK_CLIENT_ID_MAX + 1];
};

struct azk_assignment_file;

/**
 * @brief A store over `path` for the device whose client certificate has `thumbprint`.
 * @param path       The file (created by the first save, 0600).
 * @param thumbprint The client certificate's SHA-256 thumbprint (hex; azk_tls_tags_info).
 * @param out        Receives the store; free with azk_assignment_file_close().
 * @return 0; -EINVAL for a missing argument; -ENOMEM.
 */
AZK_API int azk_assignment_file_open(const char *path, const char *thumbprint,
                                     struct azk_assignment_file **out);

/** @brief The interface to give the client (azk_client_config.assignment). */
AZK_API struct azk_assignment_store *azk_assignment_file_store(struct azk_assignment_file *f);

/** @brief Frees it (the file stays). NULL is ignored. */
AZK_API void azk_assignment_file_close(struct azk_assignment_file *f);

/**
 * @brief Reads the record in `path` (for `azkit dps show`).
 * @return 0; -ENOENT when there is none; -EBADMSG when the file does not hold a record;
 *         another negative errno from reading.
 */
AZK_API int azk_assignment_file_read(const char *path, struct azk_assignment_record *rec);

/** @brief Removes the record in `path` (`azkit dps reset`): 0, -ENOENT, or a negative errno. */
AZK_API int azk_assignment_file_remove(const char *path);

#ifdef __cplusplus
}
#endif
#endif

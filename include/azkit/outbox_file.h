/**
 * @file outbox_file.h
 * @brief An outbox (azkit/outbox.h) in a file: accepted QoS 1 telemetry survives a crash of the
 *        process (kill -9) and of the machine, and is sent after the restart.
 *
 * Format: an append-only log of records, each `magic, kind (put/remove), id, property bag
 * length, payload length, property bag, payload, CRC-32` (little-endian). Opening replays the
 * log: puts add a message, removes forget one; the replay stops at the first record that is
 * short, has a bad magic or length, or fails its CRC, and the file is cut there.
 *
 * Durability argument:
 *  - put() returns 0 only after the whole record was written and fsync()ed: a message the
 *    client accepted is on disk before the caller is told so. A crash during put leaves a
 *    record that is short or fails its CRC; it is the last record (appends are sequential),
 *    so the replay cuts it and the message counts as not accepted, which is what the caller
 *    was told (put had not returned 0).
 *  - remove() appends its record without fsync(): after a process crash the record is in the
 *    page cache and survives; after a power loss it may be lost, and the message is sent once
 *    more -- a duplicate, which at-least-once allows, never a loss.
 *  - When the log has grown to more than twice what it holds (and past 1 MiB), it is rewritten:
 *    the live records into FILE.tmp, fsync(), rename() over FILE, fsync() of the directory. A
 *    crash before the rename leaves the old log (FILE.tmp is removed at the next open), after it
 *    the new one; both hold every message not yet acknowledged.
 *  - One process at a time: the file is locked (flock) while open; a second opener gets -EBUSY.
 */
#ifndef AZKIT_OUTBOX_FILE_H
#define AZKIT_OUTBOX_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/common.h"
#include "azkit/outbox.h"

#ifdef __cplusplus
extern "C" {
#endif

struct azk_outbox_file;

/** What opening found. */
struct azk_outbox_file_info {
    size_t messages;     /**< messages kept from an earlier run (sent first) */
    size_t torn_bytes;   /**< bytes of an unfinished record cut from the end (a crash) */
};

/**
 * @brief Opens (creating it 0600 when missing) the outbox file `path`.
 * @param path      The file.
 * @param max_bytes How much message data (property bags + payloads + 12 bytes each) it may hold
 *                  before put() answers -ENOSPC (0 = 16 MiB).
 * @param out       Receives the outbox; close with azk_outbox_file_close().
 * @param info      Receives what was found (may be NULL).
 * @return 0; -EBUSY when another process has it open; -ENOMEM; another negative errno from
 *         open/read/write (the file is not touched beyond cutting a torn last record).
 */
AZK_API int azk_outbox_file_open(const char *path, size_t max_bytes,
                                 struct azk_outbox_file **out, struct azk_outbox_file_info *info);

/** @brief The interface to give the client (azk_client_config.outbox); valid until close. */
AZK_API struct azk_outbox *azk_outbox_file_outbox(struct azk_outbox_file *f);

/** @brief How many messages it holds (accepted, not yet acknowledged). */
AZK_API size_t azk_outbox_file_count(const struct azk_outbox_file *f);

/** @brief Closes it (what it holds stays in the file). NULL is ignored. */
AZK_API void azk_outbox_file_close(struct azk_outbox_file *f);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file outbox.h
 * @brief Where the device client keeps QoS 1 telemetry until IoT Hub acknowledged it.
 *
 * The client (azkit/client.h) puts every QoS 1 message it accepts into an outbox and removes it
 * only when its PUBACK came, so an accepted message is delivered at least once: messages still
 * in the outbox when a connection is lost are sent again (with DUP) on the next one.
 *
 * The outbox is an interface of three functions so that where messages live is the
 * application's choice: RAM (azk_outbox_mem below, in the core: caller-provided memory, no
 * heap), a file that survives a crash (azkit/outbox_file.h on Linux), or flash on a device.
 *
 * Contract of an implementation:
 *
 *   put     keeps a message at the tail and gives it an id greater than every id it holds
 *           (ids are never reused while the outbox holds older ones; 0 is never an id). Full:
 *           -ENOSPC and nothing is evicted. Once put returns 0 the message is the outbox's
 *           (a persistent outbox has made it durable by then).
 *   next    the oldest message whose id is greater than `after` (after = 0: the oldest).
 *           Its spans stay valid until the next call on the outbox.
 *   remove  forgets one message (any position: acknowledgements may come out of order).
 *
 * All calls come from the client's thread; the client never calls them from two threads.
 */
#ifndef AZKIT_OUTBOX_H
#define AZKIT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One message in an outbox. */
struct azk_outbox_msg {
    uint32_t id;                /**< the outbox's id (1 ...) */
    struct azk_span props;      /**< the encoded property bag (may be empty) */
    struct azk_span payload;    /**< the message */
};

/** The interface. Embed it as the first member of an implementation's struct. */
struct azk_outbox {
    /**
     * @brief Keeps a message.
     * @param ob      The outbox.
     * @param props   The property bag (copied).
     * @param payload The message (copied).
     * @param id      Receives its id.
     * @return 0; -ENOSPC when full (try again after acknowledgements); -EMSGSIZE when it can
     *         never fit; -EIO when storage failed (the message was not kept).
     */
    int (*put)(struct azk_outbox *ob, struct azk_span props, struct azk_span payload,
               uint32_t *id);
    /**
     * @brief The oldest message with an id greater than `after`.
     * @param ob    The outbox.
     * @param after 0 for the oldest, else an id.
     * @param m     Receives the message (spans valid until the next call on the outbox).
     * @return 0; -ENOENT when there is none.
     */
    int (*next)(struct azk_outbox *ob, uint32_t after, struct azk_outbox_msg *m);
    /**
     * @brief Forgets message `id` (it was acknowledged).
     * @return 0; -ENOENT when the outbox does not hold it; -EIO when storage failed (the
     *         message may be sent again after a restart: a duplicate, never a loss).
     */
    int (*remove)(struct azk_outbox *ob, uint32_t id);
};

/** An outbox in caller-provided memory (no heap). Members are internal. */
struct azk_outbox_mem {
    struct azk_outbox ob; /**< the interface: pass &m->ob to the client */
    struct {
        uint8_t *buf;
        size_t size, head, used; /* records live in [head, used), or [head, wrap) and [0, used) */
        size_t wrap;             /* 0, or where the older run ends once records went to 0 */
        uint32_t last_id;
        uint32_t count;
    } _internal;
};

/**
 * @brief Prepares an outbox in `buf`.
 * @param m    The outbox (not NULL).
 * @param buf  Its memory (not NULL); each message takes 12 bytes plus its property bag and
 *             payload, rounded up to 4.
 * @param size Its size (at least 16).
 * @return 0; -EINVAL for a missing buffer or one smaller than 16 bytes.
 */
AZK_API int azk_outbox_mem_init(struct azk_outbox_mem *m, void *buf, size_t size);

/** @brief How many messages the memory outbox holds. */
AZK_API uint32_t azk_outbox_mem_count(const struct azk_outbox_mem *m);

#ifdef __cplusplus
}
#endif
#endif

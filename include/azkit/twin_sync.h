/**
 * @file twin_sync.h
 * @brief Keeps a device's desired properties in step with the hub's twin, across reconnects:
 *        the full twin after every (re)connection, patches applied in `$version` order, older
 *        ones ignored, a gap answered with a new GET, a patch that overtakes the GET answer
 *        reconciled. Part of the core (no heap); it drives an azk_client (azkit/client.h).
 *
 * Call sequence, from the client's event callback (the client allows its send functions
 * there):
 *
 *   azk_twin_sync_init(&s)                 once
 *   azk_twin_sync_event(&s, client, ev, &u)  for every event; when it returns 1, apply `u`
 *
 * On AZK_CLIENT_EV_CONNECTED it asks for the full twin (GET). A GET answer gives the whole
 * desired section (AZK_TWIN_SYNC_FULL: replace what the device has, then `version` is the
 * twin's). A desired patch gives AZK_TWIN_SYNC_PATCH when its $version is the next one; a
 * patch with a version already seen is ignored; one that skips versions (a patch was missed)
 * makes it ask for the full twin again. Patches that come while a GET is outstanding are not
 * applied: the GET answer decides, and when such a patch is newer than the answer, the twin is
 * asked for again. A GET answered 429 or 5xx is asked again; one that could not be sent (the
 * output was full) on the next event.
 */
#ifndef AZKIT_TWIN_SYNC_H
#define AZKIT_TWIN_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "azkit/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What to apply. */
enum azk_twin_sync_kind {
    AZK_TWIN_SYNC_FULL = 1, /**< the whole desired section (replace) */
    AZK_TWIN_SYNC_PATCH,    /**< a patch on top of what was applied */
};

/** An update to apply (spans valid during the event callback only). */
struct azk_twin_sync_update {
    enum azk_twin_sync_kind kind;
    struct azk_span desired;  /**< the desired object (FULL) or the patch (PATCH), with $version */
    int64_t version;          /**< its $version */
};

/** The state. Members are internal. */
struct azk_twin_sync {
    struct {
        int64_t version;     /* the desired $version applied (0 = none yet) */
        int64_t held;        /* the newest patch version seen while the GET was out */
        bool get_pending;    /* a GET is outstanding (rid) */
        bool retry;          /* the GET could not be sent: again on the next event */
        char rid[16];
    } _internal;
};

/** @brief Prepares the state (nothing applied yet). */
AZK_API void azk_twin_sync_init(struct azk_twin_sync *s);

/**
 * @brief Feeds one client event.
 * @param s  The state.
 * @param c  The client (a GET is sent through it).
 * @param ev The event.
 * @param u  Receives what to apply when the return value is 1.
 * @return 1: apply `u`; 0: nothing to apply (the event was not about desired properties, was
 *         older than what was applied, or a GET was asked for instead); a negative errno when
 *         a GET could not be sent (-ENOBUFS: the output is full; it is asked again on the next
 *         event) or the answer did not parse (-EBADMSG).
 */
AZK_API int azk_twin_sync_event(struct azk_twin_sync *s, struct azk_client *c,
                                const struct azk_client_event *ev, struct azk_twin_sync_update *u);

/** @brief The desired $version applied so far (0 = none). */
AZK_API int64_t azk_twin_sync_version(const struct azk_twin_sync *s);

#ifdef __cplusplus
}
#endif
#endif

/* C2D delivery feedback of one IoT hub: the records back-ends read from
 * /messages/serviceBound/feedback (AMQP), queued as devices complete messages that asked for
 * it ("iothub-ack"). In memory: a restart loses records not yet read. Loop thread only. */
#ifndef AZK_HUB_FEEDBACK_H
#define AZK_HUB_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "hub/iothub/c2d_props.h"
#include "hub/iothub/identity.h"

#define HUB_FEEDBACK_MAX 10000  /* records kept; beyond it the oldest is dropped (logged) */
#define HUB_FEEDBACK_BATCH 64   /* records per feedback message at most */

/* Azure's statusCode values. */
enum hub_feedback_status {
    HUB_FEEDBACK_SUCCESS = 0,
    HUB_FEEDBACK_EXPIRED,
    HUB_FEEDBACK_DELIVERY_COUNT_EXCEEDED,
    HUB_FEEDBACK_REJECTED,
    HUB_FEEDBACK_PURGED,
};

struct hub_feedback_rec {
    struct hub_feedback_rec *next;
    char original_message_id[HUB_C2D_ID_MAX + 1];
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char device_generation_id[HUB_GENERATION_ID_MAX + 1];
    enum hub_feedback_status status;
    int64_t at_ms; /* when the outcome happened (enqueuedTimeUtc) */
};

struct hub_feedback {
    struct hub_feedback_rec *head, *tail;
    size_t count;
};

/* Whether a message with ack mode `ack` asks for a record of `status`. */
int hub_feedback_wanted(enum hub_c2d_ack ack, enum hub_feedback_status status);

/* Appends a record (copied). Returns 0 or -ENOMEM. */
int hub_feedback_push(struct hub_feedback *f, const struct hub_feedback_rec *r);

/* Takes up to `max` of the oldest records off the queue and returns them as Azure's JSON array
 * (heap, free()); NULL when the queue is empty or on allocation failure (nothing taken then).
 * `*taken` receives the list of records taken (free with hub_feedback_free_list), so they can
 * be put back if the reader does not accept them. */
char *hub_feedback_take_json(struct hub_feedback *f, size_t max, struct hub_feedback_rec **taken);

/* Puts records taken earlier back at the head of the queue, in their order. */
void hub_feedback_requeue(struct hub_feedback *f, struct hub_feedback_rec *list);

void hub_feedback_free_list(struct hub_feedback_rec *list);

/* Frees every queued record. */
void hub_feedback_clear(struct hub_feedback *f);

/* Azure's statusCode text ("Success", ...). */
const char *hub_feedback_status_name(enum hub_feedback_status s);

#endif

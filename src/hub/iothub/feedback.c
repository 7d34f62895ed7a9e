/* C2D feedback records: see feedback.h. */
#include "hub/iothub/feedback.h"

#include <errno.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "hub/log.h"
#include "hub/service/svc_common.h"

static const char *const STATUS[] = {"Success", "Expired", "DeliveryCountExceeded", "Rejected",
                                     "Purged"};

const char *hub_feedback_status_name(enum hub_feedback_status s)
{
    return (unsigned)s < sizeof(STATUS) / sizeof(STATUS[0]) ? STATUS[s] : "?";
}

int hub_feedback_wanted(enum hub_c2d_ack ack, enum hub_feedback_status status)
{
    if (ack == HUB_C2D_ACK_FULL)
        return 1;
    if (status == HUB_FEEDBACK_SUCCESS)
        return ack == HUB_C2D_ACK_POSITIVE;
    return ack == HUB_C2D_ACK_NEGATIVE;
}

int hub_feedback_push(struct hub_feedback *f, const struct hub_feedback_rec *r)
{
    struct hub_feedback_rec *n = malloc(sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    *n = *r;
    n->next = NULL;
    if (f->tail)
        f->tail->next = n;
    else
        f->head = n;
    f->tail = n;
    f->count++;
    if (f->count > HUB_FEEDBACK_MAX) {
        struct hub_feedback_rec *old = f->head;
        f->head = old->next;
        f->count--;
        hub_log(HUB_LOG_WARN, "C2D feedback: more than %d records unread; dropped the oldest "
                "(message %s of device '%s')", HUB_FEEDBACK_MAX, old->original_message_id,
                old->device_id);
        free(old);
    }
    return 0;
}

char *hub_feedback_take_json(struct hub_feedback *f, size_t max, struct hub_feedback_rec **taken)
{
    *taken = NULL;
    if (f->head == NULL || max == 0)
        return NULL;
    cJSON *a = cJSON_CreateArray();
    if (a == NULL)
        return NULL;
    struct hub_feedback_rec *r = f->head;
    size_t n = 0;
    for (; r != NULL && n < max; r = r->next, n++) {
        cJSON *o = cJSON_CreateObject();
        char t[40];
        svc_time_iso(r->at_ms, t);
        if (o == NULL || !cJSON_AddItemToArray(a, o) ||
            !cJSON_AddStringToObject(o, "originalMessageId", r->original_message_id) ||
            !cJSON_AddStringToObject(o, "deviceId", r->device_id) ||
            !cJSON_AddStringToObject(o, "deviceGenerationId", r->device_generation_id) ||
            !cJSON_AddStringToObject(o, "description", hub_feedback_status_name(r->status)) ||
            !cJSON_AddStringToObject(o, "statusCode", hub_feedback_status_name(r->status)) ||
            !cJSON_AddStringToObject(o, "enqueuedTimeUtc", t)) {
            cJSON_Delete(a);
            return NULL;
        }
    }
    char *text = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    if (text == NULL)
        return NULL;
    /* Detach the first n records. */
    struct hub_feedback_rec *first = f->head, *last = first;
    for (size_t i = 1; i < n; i++)
        last = last->next;
    f->head = last->next;
    if (f->head == NULL)
        f->tail = NULL;
    last->next = NULL;
    f->count -= n;
    *taken = first;
    return text;
}

void hub_feedback_requeue(struct hub_feedback *f, struct hub_feedback_rec *list)
{
    if (list == NULL)
        return;
    struct hub_feedback_rec *last = list;
    size_t n = 1;
    for (; last->next != NULL; last = last->next)
        n++;
    last->next = f->head;
    f->head = list;
    if (f->tail == NULL)
        f->tail = last;
    f->count += n;
}

void hub_feedback_free_list(struct hub_feedback_rec *list)
{
    while (list != NULL) {
        struct hub_feedback_rec *n = list->next;
        free(list);
        list = n;
    }
}

void hub_feedback_clear(struct hub_feedback *f)
{
    hub_feedback_free_list(f->head);
    f->head = f->tail = NULL;
    f->count = 0;
}

/* PUBACKs in the order the PUBLISHes arrived, each only once its message is done. */
#include <stdlib.h>

#include <event2/event.h>

#include "hub/mqtt/conn.h"
#include "hub/daemon.h"

struct hub_puback *hub_puback_reserve(struct hub_conn *c, uint16_t packet_id)
{
    struct hub_puback *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->packet_id = packet_id;
    if (c->acks_tail)
        c->acks_tail->next = p;
    else
        c->acks_head = p;
    c->acks_tail = p;
    return p;
}

static void flush(struct hub_conn *c);

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void flush(struct hub_conn *c)
{
    int64_t now = hub_now_ms();
    while (c->acks_head && c->acks_head->ready) {
        struct hub_puback *p = c->acks_head;
        if (p->ready_at_ms > now) {
            if (c->ack_timer == NULL)
                c->ack_timer = evtimer_new(c->d->base, timer_cb, c);
            if (c->ack_timer != NULL) {
                int64_t ms = p->ready_at_ms - now;
                struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
                evtimer_add(c->ack_timer, &tv);
            }
            return;
        }
        uint8_t ack[4];
        size_t n = 0;
        azk_mqtt_encode_ack(AZK_MQTT_PUBACK, p->packet_id, ack, sizeof(ack), &n);
        hub_conn_send(c, ack, n);
        c->acks_head = p->next;
        if (c->acks_head == NULL)
            c->acks_tail = NULL;
        free(p);
    }
}

void hub_puback_ready(struct hub_conn *c, struct hub_puback *p)
{
    p->ready = true;
    /* Fault injection: every PUBACK is delayed by the delay in force when it became ready; as
     * they still leave in arrival order, a shorter later delay never overtakes. */
    p->ready_at_ms = hub_now_ms() + (int64_t)c->d->faults.puback_delay_ms;
    flush(c);
}

void hub_puback_free_all(struct hub_conn *c)
{
    while (c->acks_head) {
        struct hub_puback *p = c->acks_head;
        c->acks_head = p->next;
        free(p);
    }
    c->acks_tail = NULL;
    if (c->ack_timer) {
        event_free(c->ack_timer);
        c->ack_timer = NULL;
    }
}

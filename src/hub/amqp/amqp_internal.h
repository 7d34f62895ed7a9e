/* Inside the AMQP endpoint: one connection (amqp_conn.c: TLS bytes <-> Proton driver) and the
 * handling of its Proton events (amqp_links.c: links, CBS, C2D, feedback). */
#ifndef AZK_HUB_AMQP_INTERNAL_H
#define AZK_HUB_AMQP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <proton/connection_driver.h>

#include "hub/amqp/amqp.h"

struct bufferevent;
struct event;
struct evconnlistener;
struct amqp_pending;

struct amqp_conn {
    struct hub_amqp *a;
    struct amqp_conn *next, *prev;
    struct bufferevent *bev;
    struct event *tick;          /* Proton's next deadline (idle timeout, heartbeats) */
    pn_connection_driver_t drv;
    char peer[80];
    bool finishing;              /* the driver is done: free once the output is flushed */
    /* Authorisation by CBS put-token: which hub, until when. */
    struct hub_iothub *hub;
    int64_t auth_expiry_s;       /* 0: no valid token put yet */
    char auth_policy[64];
    struct amqp_pending *pending; /* C2D messages waiting for the store (see amqp_links.c) */
};

struct hub_amqp {
    struct hub_daemon *d;
    struct evconnlistener *listener;
    struct amqp_conn conns;      /* list head */
    /* Feedback was queued: offer it from the loop, never from inside the store call or the
     * connection that queued it (hub_amqp_feedback_ready). */
    struct event *offer;
};

/* Runs the driver: handles its events, writes its output; frees the connection when done.
 * Returns false when the connection was freed. */
bool amqp_conn_pump(struct amqp_conn *c);

/* One Proton event of connection c (amqp_links.c). */
void amqp_handle_event(struct amqp_conn *c, pn_event_t *e);

/* The connection goes away: detach pending store completions (amqp_links.c). */
void amqp_conn_forget_pending(struct amqp_conn *c);

/* Sends queued feedback on c's feedback links with credit (amqp_links.c). */
void amqp_conn_offer_feedback(struct amqp_conn *c);

/* The SASL server of every connection: offers ANONYMOUS and MSSBCBS and accepts either
 * (authorisation is by CBS token after the connection opens, as on Azure). */
void amqp_sasl_setup(pn_transport_t *t);

#endif

/* Inside the AMQP endpoint: one connection (amqp_conn.c: TLS bytes <-> Proton driver) and the
 * handling of its Proton events (amqp_links.c: links, CBS, C2D, feedback). */
#ifndef AZK_HUB_AMQP_INTERNAL_H
#define AZK_HUB_AMQP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <proton/connection_driver.h>
#include <proton/message.h>

#include "hub/amqp/amqp.h"

struct bufferevent;
struct event;
struct evconnlistener;
struct amqp_pending;
struct eh_recv;

struct amqp_conn {
    struct hub_amqp *a;
    struct amqp_conn *next, *prev;
    struct bufferevent *bev;
    struct event *tick;          /* Proton's next deadline (idle timeout, heartbeats) */
    pn_connection_driver_t drv;
    char peer[80];
    bool finishing;              /* the driver is done: free once the output is flushed */
    bool ending;                 /* hub_amqp_conn_end: closed from the loop */
    /* Authorisation by CBS put-token: which hub, until when. */
    struct hub_iothub *hub;
    int64_t auth_expiry_s;       /* 0: no valid token put yet */
    char auth_policy[64];
    struct amqp_pending *pending; /* C2D messages waiting for the store (see amqp_links.c) */
    struct eh_recv *eh_recvs;    /* the state of its partition receivers (eh_links.c) */
};

struct hub_amqp {
    struct hub_daemon *d;
    struct evconnlistener *listener;
    struct amqp_conn conns;      /* list head */
    /* Feedback was queued: offer it from the loop, never from inside the store call or the
     * connection that queued it (hub_amqp_feedback_ready). */
    struct event *offer;
    struct event *tel_offer;     /* telemetry was stored: offer it to partition receivers */
    struct evconnlistener *plain; /* --eventhubs-port: plain AMQP on loopback */
};

/* What a link of a connection is (its local role and node), kept in the link's record. */
enum amqp_link_kind {
    LINK_OTHER = 0,
    LINK_CBS_IN,      /* put-token requests from the peer */
    LINK_CBS_OUT,     /* their responses */
    LINK_C2D,         /* C2D messages from the peer */
    LINK_FEEDBACK,    /* feedback to the peer */
    LINK_EH_MGMT_IN,  /* Event Hubs $management requests (eh_links.c) */
    LINK_EH_MGMT_OUT, /* their responses */
    LINK_EH_RECV,     /* telemetry of one partition to the peer (eh_links.c) */
};
enum amqp_link_kind amqp_link_kind(pn_link_t *l);
void amqp_link_set_kind(pn_link_t *l, enum amqp_link_kind k);

/* Whether c holds a CBS token that has not expired. */
bool amqp_authorised(const struct amqp_conn *c);

/* Opens and at once closes link l with an AMQP error condition (a refused attach). */
void amqp_refuse_link(pn_link_t *l, const char *condition, const char *text);

/* Sends `m` on sender link l (pre-settled when `settled`); returns the delivery or NULL. */
pn_delivery_t *amqp_send_message(pn_link_t *l, pn_message_t *m, bool settled);

/* ---- Event Hubs-compatible endpoint (eh_links.c) ---- */

/* A link to `addr` that is not one of IoT Hub's service nodes: attaches it when it is an
 * Event Hubs node of c's hub ($management, a partition of a consumer group), refuses it
 * otherwise (amqp:not-found, amqp:unauthorized-access). */
void eh_link_open(struct amqp_conn *c, pn_link_t *l, const char *addr);

/* A request on a $management link: answered on the peer's reply link. */
void eh_on_management(struct amqp_conn *c, pn_message_t *m);

/* Sends stored telemetry on c's partition receivers, as far as their credit goes. */
void eh_conn_offer_telemetry(struct amqp_conn *c);

/* Link l of c goes away: frees its receiver state (no-op for other links). */
void eh_link_final(struct amqp_conn *c, pn_link_t *l);

/* The connection goes away: frees the state of every receiver (Proton sends no final events
 * when a driver is destroyed). */
void eh_conn_free(struct amqp_conn *c);

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

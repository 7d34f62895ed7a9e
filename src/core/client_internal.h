/* Internal interface of the device client (client.c: lifecycle, transport, timers, packets;
 * client_dps.c: the DPS phase; client_api.c: what the application sends). */
#ifndef AZK_CORE_CLIENT_INTERNAL_H
#define AZK_CORE_CLIENT_INTERNAL_H

#include "azkit/client.h"

#define CL(c) (&(c)->_internal)

/* Appends an encoded packet to the output (via the encoder's -ENOBUFS protocol). */
int azki_client_out_reserve(struct azk_client *c, uint8_t **at, size_t *room);
void azki_client_out_commit(struct azk_client *c, size_t n);
/* PUBLISH of `topic` with `payload` at QoS 0/1 (packet id allocated for QoS 1; `dup` marks a
 * message sent again). */
int azki_client_publish(struct azk_client *c, struct azk_span topic, struct azk_span payload,
                       int qos, bool dup, uint16_t *packet_id);
/* Sends what the outbox holds while the connection and the in-flight window allow. */
void azki_client_pump(struct azk_client *c);
/* A PUBACK: forgets the in-flight message, removes it from the outbox, reports it. */
void azki_client_puback(struct azk_client *c, uint16_t packet_id);
/* The connection is gone: what was in flight is sent again (outbox) or reported failed. */
void azki_client_inflight_lost(struct azk_client *c, int err, struct azk_span text);
/* PUBACK of a QoS 1 PUBLISH (queued for later when the output is full). */
void azki_client_ack(struct azk_client *c, const struct azk_mqtt_publish *p);
/* A fresh decimal $rid into buf (NUL-terminated). */
int azki_client_rid(struct azk_client *c, char *buf, size_t size, size_t *len);

/* Reports an event (fills kind; the rest is the caller's). */
void azki_client_emit(struct azk_client *c, struct azk_client_event *ev);
/* Stops for good with a reason (and asks for the transport to close). */
void azki_client_fail(struct azk_client *c, enum azk_client_failure f, int code, int err,
                     struct azk_span text);
/* A failure on the way to or at the hub: retried after a backoff wait (AZK_CLIENT_EV_RETRYING;
 * closes the transport if it is up), or final (azki_client_fail) when `refusal` and the policy
 * says stop, or retries are exhausted or off. */
void azki_client_setback(struct azk_client *c, enum azk_client_failure f, int code, int err,
                        struct azk_span text, bool refusal);
/* Queues DISCONNECT and asks the driver to close the transport. */
void azki_client_close_transport(struct azk_client *c);

/* "name[:port]" with a DNS-like name and a port 1..65535: 0 or -EINVAL. */
int azki_client_host_valid(const char *h);

/* DPS phase (client_dps.c). */
int azki_client_dps_connect_fields(struct azk_client *c, char *user, size_t size, size_t *len);
void azki_client_dps_subscribed(struct azk_client *c);
void azki_client_dps_publish(struct azk_client *c, const struct azk_mqtt_publish *p);
void azki_client_dps_wake(struct azk_client *c);
/* At start: the kept assignment, if any, replaces DPS. */
void azki_client_dps_stored(struct azk_client *c);
/* CONNACK 5 at the assigned hub: true when handled (retried, or DPS asked again). */
bool azki_client_dps_refused(struct azk_client *c);

#endif

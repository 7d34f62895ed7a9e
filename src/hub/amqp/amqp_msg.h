/* What the hub reads out of the AMQP messages it receives (decoded by Proton): CBS put-token
 * requests and cloud-to-device messages. Pure functions of a pn_message_t: no I/O, no state,
 * so bad inputs are unit-tested and fuzzed (tests/fuzz/fuzz_hub_amqp_msg.c). */
#ifndef AZK_HUB_AMQP_MSG_H
#define AZK_HUB_AMQP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <proton/message.h>

#include "hub/amqp/amqp_addr.h"
#include "hub/iothub/c2d_props.h"
#include "hub/iothub/identity.h"
#include "hub/service/sas.h"

#define HUB_AMQP_ID_TEXT_MAX 128 /* a message or correlation id as text */

/* Decodes a received message (Proton's decoder, which must not be given 0 bytes).
 * Returns 0 or -EINVAL (empty or not an AMQP message). */
int hub_amqp_decode(pn_message_t *m, const char *bytes, size_t size);

/* A put-token request on "$cbs" (application properties operation, type, name; the token is
 * the body, an AMQP string). */
struct hub_amqp_cbs_req {
    char message_id[HUB_AMQP_ID_TEXT_MAX + 1]; /* the response's correlation id */
    char reply_to[256];
    char type[64];                     /* "servicebus.windows.net:sastoken" */
    char name[HUB_SAS_SR_MAX + 1];     /* the audience */
    char token[HUB_SAS_TOKEN_MAX + 1];
};

/* Reads a put-token request. Returns 0, or -EINVAL with `*why` (static text) naming what is
 * wrong (message_id and reply_to are filled first, so a refusal can be answered): not a put-token, a missing or non-string field, a token that is not an AMQP string,
 * a field too long. */
int hub_amqp_cbs_request(pn_message_t *m, struct hub_amqp_cbs_req *out, const char **why);

/* A message id or correlation id as IoT Hub shows it (string as is; uuid as 8-4-4-4-12
 * lowercase hex; ulong in decimal; binary as its bytes when they are printable). Returns the
 * length (0: absent), or -EINVAL (a type IoT Hub does not take, or longer than `size` - 1). */
int hub_amqp_id_text(pn_atom_t id, char *out, size_t size);

/* A C2D message from the back-end, ready for the device's queue. */
struct hub_amqp_c2d {
    char device_id[HUB_DEVICE_ID_MAX + 1];
    char message_id[HUB_C2D_ID_MAX + 1];      /* generated (uuid) when the message has none */
    enum hub_c2d_ack ack;
    int64_t expiry_ms;                        /* absolute; 0 = none */
    const char *body;                         /* into the message's body (valid while it is) */
    size_t body_len;
    char props[2 * HUB_C2D_BAG_MAX + 2];      /* the stored bag (c2d_props.h) */
};

/* Why a C2D message is refused: the AMQP error condition the delivery is rejected with, and a
 * description. */
struct hub_amqp_refusal {
    const char *condition;  /* e.g. "com.microsoft:argument-error" */
    char description[200];
};

#define HUB_C2D_PAYLOAD_MAX (64 * 1024) /* Azure's C2D message size limit */

/*
 * Maps a C2D message: `to` (the device), message id, correlation id, user id, content type and
 * encoding, absolute expiry time, application property "iothub-ack", the other application
 * properties (string, boolean and integer values, as text), and the body (a data section or
 * an AMQP string). `now_ms` is the time against which the expiry is checked.
 * Returns 0, or -EINVAL with `ref` filled (the condition and a description naming the field).
 */
int hub_amqp_c2d_from_message(pn_message_t *m, int64_t now_ms, struct hub_amqp_c2d *out,
                              struct hub_amqp_refusal *ref);

#endif

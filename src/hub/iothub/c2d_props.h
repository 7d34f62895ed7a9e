/* The property bag of a cloud-to-device message, as it is stored and goes into the device's
 * topic (devices/{id}/messages/devicebound/{bag}): URL-encoded key=value pairs joined with '&'.
 * Shared by every way a C2D message is queued (the /azkit REST path, AMQP). */
#ifndef AZK_HUB_C2D_PROPS_H
#define AZK_HUB_C2D_PROPS_H

#include <stdbool.h>
#include <stddef.h>

#define HUB_C2D_BAG_MAX 4096

/* One half of the bag (application or system properties). Start zeroed. */
struct hub_c2d_bag {
    char buf[HUB_C2D_BAG_MAX];
    size_t len;
    bool overflow; /* a pair did not fit: the bag must be refused */
};

/* Appends key=value, both URL-encoded; sets b->overflow when it does not fit. */
void hub_c2d_bag_add(struct hub_c2d_bag *b, const char *key, const char *value);

/* The whole bag (application properties, then system ones) into `out` (NUL-terminated), checked
 * against what the hub can deliver to `device_id` (HUB_C2D_TOPIC_MAX).
 * Returns 0, -EOVERFLOW (a bag overflowed, or out_size is too small), -E2BIG (the device's topic
 * would be too long). */
int hub_c2d_props_join(const struct hub_c2d_bag *app, const struct hub_c2d_bag *sys,
                       const char *device_id, char *out, size_t out_size);

/* Feedback a C2D message asks for (application property "iothub-ack"). */
enum hub_c2d_ack {
    HUB_C2D_ACK_NONE = 0,
    HUB_C2D_ACK_POSITIVE, /* Success only */
    HUB_C2D_ACK_NEGATIVE, /* Expired, DeliveryCountExceeded, Rejected only */
    HUB_C2D_ACK_FULL,     /* both */
};

/* Parses "none", "positive", "negative", "full" (exact, as Azure's SDKs send them).
 * Returns 0 or -EINVAL. */
int hub_c2d_ack_parse(const char *s, enum hub_c2d_ack *out);

/* The text of an ack mode ("none", ...). */
const char *hub_c2d_ack_name(enum hub_c2d_ack a);

/* The ack mode stored in a bag (its "iothub-ack" pair); NONE when absent or unknown. */
enum hub_c2d_ack hub_c2d_props_ack(const char *props);

/* A random (version 4) UUID, lowercase, e.g. for a message id nobody gave. */
void hub_uuid4(char out[37]);

#endif

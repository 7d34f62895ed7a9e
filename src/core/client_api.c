/* What the application sends through a connected client: telemetry, twin requests and method
 * answers. Each goes into the output buffer at once or not at all (-ENOBUFS). */
#include <errno.h>
#include <string.h>

#include "azkit/azure_hub.h"
#include "client_internal.h"

#define TOPIC_MAX 1024

static bool connected(const struct azk_client *c)
{
    return CL(c)->state == AZK_CLIENT_CONNECTED && CL(c)->transport_up && !CL(c)->closing;
}

int azk_client_send_telemetry(struct azk_client *c, struct azk_span props,
                              struct azk_span payload, int qos, uint16_t *packet_id)
{
    if (c == NULL || (qos != 0 && qos != 1) || (props.len > 0 && props.ptr == NULL) ||
        (payload.len > 0 && payload.ptr == NULL))
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char topic[TOPIC_MAX];
    size_t n = 0;
    int rc = azk_hub_telemetry_topic(azk_span_from_str(CL(c)->device_id), NULL, 0, topic,
                                     sizeof(topic), &n, NULL);
    if (rc != 0)
        return rc == -ENOBUFS ? -EINVAL : rc;
    if (props.len > sizeof(topic) - n)
        return -EINVAL;
    if (props.len > 0)
        memcpy(topic + n, props.ptr, props.len);
    return azki_client_publish(c, (struct azk_span){topic, n + props.len}, payload, qos,
                              packet_id);
}

static int copy_rid(const char *rid, size_t len, char *out, size_t size)
{
    if (out == NULL)
        return 0;
    if (size <= len)
        return -EINVAL;
    memcpy(out, rid, len + 1);
    return 0;
}

int azk_client_twin_get(struct azk_client *c, char *rid_out, size_t rid_size)
{
    if (c == NULL)
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char rid[16], topic[64];
    size_t rl = 0, n = 0;
    int rc = azki_client_rid(c, rid, sizeof(rid), &rl);
    if (rc == 0)
        rc = azk_hub_twin_get_topic((struct azk_span){rid, rl}, topic, sizeof(topic), &n);
    if (rc == 0)
        rc = copy_rid(rid, rl, rid_out, rid_size);
    if (rc == 0)
        rc = azki_client_publish(c, (struct azk_span){topic, n}, (struct azk_span){0}, 0, NULL);
    return rc;
}

int azk_client_twin_report(struct azk_client *c, struct azk_span json, char *rid_out,
                           size_t rid_size)
{
    if (c == NULL || json.len == 0 || json.ptr == NULL)
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char rid[16], topic[80];
    size_t rl = 0, n = 0;
    int rc = azki_client_rid(c, rid, sizeof(rid), &rl);
    if (rc == 0)
        rc = azk_hub_twin_patch_topic((struct azk_span){rid, rl}, topic, sizeof(topic), &n);
    if (rc == 0)
        rc = copy_rid(rid, rl, rid_out, rid_size);
    if (rc == 0)
        rc = azki_client_publish(c, (struct azk_span){topic, n}, json, 0, NULL);
    return rc;
}

int azk_client_method_respond(struct azk_client *c, struct azk_span rid, int status,
                              struct azk_span json)
{
    if (c == NULL || rid.len == 0 || rid.ptr == NULL)
        return -EINVAL;
    if (!connected(c))
        return -ENOTCONN;
    char topic[TOPIC_MAX];
    size_t n = 0;
    int rc = azk_hub_method_response_topic(status, rid, topic, sizeof(topic), &n);
    if (rc != 0)
        return rc == -ENOBUFS ? -EINVAL : rc;
    struct azk_span body = json.len ? json : azk_span_from_str("null");
    return azki_client_publish(c, (struct azk_span){topic, n}, body, 0, NULL);
}

/* C2D property bags: see c2d_props.h. */
#include "hub/iothub/c2d_props.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "azkit/azure_hub.h"
#include "hub/iothub/identity.h"

void hub_c2d_bag_add(struct hub_c2d_bag *b, const char *key, const char *value)
{
    char kenc[1024], venc[3 * 1024];
    size_t kl = 0, vl = 0;
    if (azk_pct_encode(azk_span_from_str(key), kenc, sizeof(kenc), &kl) != 0 ||
        azk_pct_encode(azk_span_from_str(value), venc, sizeof(venc), &vl) != 0 ||
        b->len + kl + vl + 2 >= sizeof(b->buf)) {
        b->overflow = true;
        return;
    }
    if (b->len)
        b->buf[b->len++] = '&';
    memcpy(b->buf + b->len, kenc, kl);
    b->len += kl;
    b->buf[b->len++] = '=';
    memcpy(b->buf + b->len, venc, vl);
    b->len += vl;
    b->buf[b->len] = '\0';
}

int hub_c2d_props_join(const struct hub_c2d_bag *app, const struct hub_c2d_bag *sys,
                       const char *device_id, char *out, size_t out_size)
{
    if (app->overflow || sys->overflow)
        return -EOVERFLOW;
    int n = snprintf(out, out_size, "%.*s%s%.*s", (int)app->len, app->buf,
                     app->len && sys->len ? "&" : "", (int)sys->len, sys->buf);
    if (n < 0 || (size_t)n >= out_size)
        return -EOVERFLOW;
    /* The whole delivery topic must fit what the hub sends: refuse here rather than accept a
     * message that could never be delivered. */
    if (strlen("devices/") + strlen(device_id) + strlen("/messages/devicebound/") + (size_t)n >
        HUB_C2D_TOPIC_MAX)
        return -E2BIG;
    return 0;
}

static const char *const ACK_NAMES[] = {"none", "positive", "negative", "full"};

int hub_c2d_ack_parse(const char *s, enum hub_c2d_ack *out)
{
    for (size_t i = 0; s != NULL && i < sizeof(ACK_NAMES) / sizeof(ACK_NAMES[0]); i++)
        if (strcmp(s, ACK_NAMES[i]) == 0) {
            *out = (enum hub_c2d_ack)i;
            return 0;
        }
    return -EINVAL;
}

const char *hub_c2d_ack_name(enum hub_c2d_ack a)
{
    return (unsigned)a < sizeof(ACK_NAMES) / sizeof(ACK_NAMES[0]) ? ACK_NAMES[a] : "?";
}

enum hub_c2d_ack hub_c2d_props_ack(const char *props)
{
    static const char key[] = "iothub-ack=";
    for (const char *p = props; p != NULL && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, sizeof(key) - 1) != 0)
            continue;
        char v[16];
        size_t n = strcspn(p + sizeof(key) - 1, "&");
        enum hub_c2d_ack a = HUB_C2D_ACK_NONE;
        if (n < sizeof(v)) {
            memcpy(v, p + sizeof(key) - 1, n);
            v[n] = '\0';
            hub_c2d_ack_parse(v, &a);
        }
        return a;
    }
    return HUB_C2D_ACK_NONE;
}

void hub_uuid4(char out[37])
{
    unsigned char b[16];
    RAND_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

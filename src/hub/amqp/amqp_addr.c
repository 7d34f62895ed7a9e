/* AMQP addresses of the service side: see amqp_addr.h. */
#include "hub/amqp/amqp_addr.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "azkit/azure_hub.h"

/* Skips "scheme://" when present. */
static const char *skip_scheme(const char *s)
{
    const char *p = strstr(s, "://");
    if (p == NULL)
        return s;
    for (const char *q = s; q < p; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
            return s;
    return p + 3;
}

enum hub_amqp_node hub_amqp_node_of(const char *address)
{
    if (address == NULL)
        return HUB_AMQP_NODE_UNKNOWN;
    const char *p = address;
    if (strncasecmp(p, "amqps://", 8) == 0) {
        /* amqps://host[:port]/path: the path is what names the node. */
        p = strchr(p + 8, '/');
        if (p == NULL)
            return HUB_AMQP_NODE_UNKNOWN;
    }
    if (strcmp(p, "$cbs") == 0)
        return HUB_AMQP_NODE_CBS;
    if (strcasecmp(p, "/messages/devicebound") == 0)
        return HUB_AMQP_NODE_DEVICEBOUND;
    if (strcasecmp(p, "/messages/servicebound/feedback") == 0)
        return HUB_AMQP_NODE_FEEDBACK;
    return HUB_AMQP_NODE_UNKNOWN;
}

int hub_amqp_device_of_to(const char *to, char *id, size_t id_size)
{
    static const char head[] = "/devices/", tail[] = "/messages/devicebound";
    if (to == NULL || id_size == 0 || strncmp(to, head, sizeof(head) - 1) != 0)
        return -EINVAL;
    const char *s = to + sizeof(head) - 1;
    const char *e = strchr(s, '/');
    if (e == NULL || e == s || strcasecmp(e, tail) != 0)
        return -EINVAL;
    size_t n = 0;
    int rc = azk_pct_decode((struct azk_span){s, (size_t)(e - s)}, id, id_size - 1, &n);
    if (rc != 0)
        return rc == -ENOBUFS ? -ENAMETOOLONG : -EINVAL;
    id[n] = '\0';
    /* An encoded NUL would cut the id short. */
    if (n == 0 || strlen(id) != n)
        return -EINVAL;
    return 0;
}

bool hub_amqp_audience_in_scope(const char *sr, const char *audience_in)
{
    if (sr == NULL || audience_in == NULL)
        return false;
    /* SDKs pass the token's sr as they encoded it ("host%3A5671"); sr itself is decoded. */
    char audience[1024];
    size_t an = 0;
    if (azk_pct_decode(azk_span_from_str(audience_in), audience, sizeof(audience) - 1, &an) != 0)
        return false;
    audience[an] = '\0';
    if (strlen(audience) != an)
        return false;
    sr = skip_scheme(sr);
    const char *aud = skip_scheme(audience);
    size_t sl = strlen(sr);
    while (sl > 0 && sr[sl - 1] == '/')
        sl--;
    if (sl == 0)
        return false;
    size_t sh = strcspn(sr, "/"), ah = strcspn(aud, "/");
    if (sh > sl)
        sh = sl;
    if (sh != ah || strncasecmp(sr, aud, sh) != 0)
        return false;
    /* Host equal; the path of sr must be the aud's path or a prefix of it at a '/'. */
    size_t rest = sl - sh;
    if (strncmp(sr + sh, aud + ah, rest) != 0)
        return false;
    char next = aud[ah + rest];
    return next == '\0' || next == '/';
}

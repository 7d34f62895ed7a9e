/* The WebSocket opening handshake, server side; see ws_handshake.h. */
#include "hub/ws/ws_handshake.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; /* RFC 6455 1.3 */

/* Whether the comma-separated header value holds `token` (optional whitespace around items). */
static bool has_token(const char *value, const char *token, bool nocase)
{
    size_t tl = strlen(token);
    for (const char *p = value; p != NULL && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m == tl && (nocase ? strncasecmp(p, token, tl) : strncmp(p, token, tl)) == 0)
            return true;
        p += n;
    }
    return false;
}

enum ws_path { WS_PATH_NONE, WS_PATH_IOTHUB, WS_PATH_SERVICEBUS };

/* Which WebSocket path (the '$' may come percent-encoded). */
static enum ws_path ws_path(const char *path)
{
    if (path == NULL)
        return WS_PATH_NONE;
    if (strcmp(path, HUB_WS_PATH) == 0 || strcasecmp(path, "/%24iothub/websocket") == 0)
        return WS_PATH_IOTHUB;
    if (strcmp(path, HUB_WS_PATH_SERVICEBUS) == 0 ||
        strcasecmp(path, "/%24servicebus/websocket") == 0)
        return WS_PATH_SERVICEBUS;
    return WS_PATH_NONE;
}

bool hub_ws_is_upgrade(const struct hub_ws_request *r)
{
    return ws_path(r->path) != WS_PATH_NONE || has_token(r->upgrade, "websocket", true);
}

/* A Sec-WebSocket-Key is the base64 of 16 bytes (RFC 6455 4.1): 24 characters, "==" at the
 * end. */
static bool key_ok(const char *key)
{
    if (key == NULL || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return false;
    unsigned char raw[24];
    return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

const char *hub_ws_proto_name(enum hub_ws_proto proto)
{
    return proto == HUB_WS_AMQP ? HUB_WS_SUBPROTOCOL_AMQP : HUB_WS_SUBPROTOCOL;
}

int hub_ws_check(const struct hub_ws_request *r, char accept[HUB_WS_ACCEPT_SIZE],
                 enum hub_ws_proto *proto, const char **why)
{
    accept[0] = '\0';
    enum ws_path where = ws_path(r->path);
    if (where == WS_PATH_NONE) {
        *why = "WebSockets are served only on " HUB_WS_PATH " (MQTT, AMQP) and "
               HUB_WS_PATH_SERVICEBUS " (AMQP: the Event Hubs-compatible endpoint)";
        return 404;
    }
    if (!r->is_get) {
        *why = "a WebSocket handshake must be a GET";
        return 400;
    }
    if (!has_token(r->upgrade, "websocket", true) || !has_token(r->connection, "upgrade", true)) {
        *why = "not a WebSocket handshake (Upgrade: websocket and Connection: Upgrade needed)";
        return 400;
    }
    if (r->version == NULL || strcmp(r->version, "13") != 0) {
        *why = "unsupported Sec-WebSocket-Version (13 is served)";
        return 426;
    }
    if (!key_ok(r->key)) {
        *why = "missing or malformed Sec-WebSocket-Key (the base64 of 16 bytes)";
        return 400;
    }
    if (where == WS_PATH_IOTHUB && has_token(r->protocol, HUB_WS_SUBPROTOCOL, false)) {
        *proto = HUB_WS_MQTT;
    } else if (has_token(r->protocol, HUB_WS_SUBPROTOCOL_AMQP, false)) {
        *proto = HUB_WS_AMQP;
    } else if (where == WS_PATH_SERVICEBUS) {
        *why = "the WebSocket subprotocol on " HUB_WS_PATH_SERVICEBUS
               " must be 'AMQPWSB10' (Sec-WebSocket-Protocol)";
        return 400;
    } else {
        *why = "the WebSocket subprotocol must be 'mqtt' or 'AMQPWSB10' (Sec-WebSocket-Protocol)";
        return 400;
    }
    unsigned char in[24 + sizeof(ws_guid)], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    memcpy(in, r->key, 24);
    memcpy(in + 24, ws_guid, sizeof(ws_guid) - 1);
    if (EVP_Digest(in, 24 + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
        mdlen != 20) {
        *why = "cannot compute Sec-WebSocket-Accept";
        return 500;
    }
    EVP_EncodeBlock((unsigned char *)accept, md, 20);
    return 0;
}

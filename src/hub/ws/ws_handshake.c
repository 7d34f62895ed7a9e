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

static bool is_ws_path(const char *path)
{
    return path != NULL && (strcmp(path, HUB_WS_PATH) == 0 ||
                            strcasecmp(path, "/%24iothub/websocket") == 0);
}

bool hub_ws_is_upgrade(const struct hub_ws_request *r)
{
    return is_ws_path(r->path) || has_token(r->upgrade, "websocket", true);
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
    if (!is_ws_path(r->path)) {
        *why = "WebSockets are served only on " HUB_WS_PATH;
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
    if (has_token(r->protocol, HUB_WS_SUBPROTOCOL, false)) {
        *proto = HUB_WS_MQTT;
    } else if (has_token(r->protocol, HUB_WS_SUBPROTOCOL_AMQP, false)) {
        *proto = HUB_WS_AMQP;
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

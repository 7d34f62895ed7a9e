/* libFuzzer target: what the hub's AMQP endpoint reads beyond Proton's framing
 * (src/hub/amqp/amqp_msg.c, amqp_addr.c). The input is decoded as an AMQP message (Proton), then
 * read as a CBS put-token request and as a C2D message; the same bytes as text go through the
 * node-address, `to` and audience parsers. Any input is refused with a reason or gives results
 * within their bounds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <proton/message.h>

#include "hub/amqp/amqp_addr.h"
#include "hub/amqp/amqp_msg.h"
#include "fuzz_util.h"

static void text_parsers(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    REQUIRE(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    enum hub_amqp_node n = hub_amqp_node_of(s);
    REQUIRE(n >= HUB_AMQP_NODE_UNKNOWN && n <= HUB_AMQP_NODE_FEEDBACK);
    char id[HUB_DEVICE_ID_MAX + 1];
    int rc = hub_amqp_device_of_to(s, id, sizeof(id));
    REQUIRE(rc == 0 || rc == -EINVAL || rc == -ENAMETOOLONG);
    if (rc == 0)
        REQUIRE(id[0] != '\0' && strlen(id) <= HUB_DEVICE_ID_MAX);
    /* The first line is the token's resource, the rest the audience. */
    char *nl = strchr(s, '\n');
    if (nl != NULL) {
        *nl = '\0';
        bool in = hub_amqp_audience_in_scope(s, nl + 1);
        REQUIRE(!in || s[0] != '\0');
    }
    enum hub_c2d_ack a = hub_c2d_props_ack(s);
    REQUIRE(a >= HUB_C2D_ACK_NONE && a <= HUB_C2D_ACK_FULL);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    text_parsers(data, size);
    pn_message_t *m = pn_message();
    REQUIRE(m != NULL);
    if (hub_amqp_decode(m, (const char *)data, size) == 0) {
        struct hub_amqp_cbs_req req;
        const char *why = NULL;
        int rc = hub_amqp_cbs_request(m, &req, &why);
        REQUIRE(rc == 0 || (rc == -EINVAL && why != NULL && why[0] != '\0'));
        if (rc == 0)
            REQUIRE(req.name[0] != '\0' && strlen(req.token) <= HUB_SAS_TOKEN_MAX);
        struct hub_amqp_c2d *c = malloc(sizeof(*c));
        REQUIRE(c != NULL);
        struct hub_amqp_refusal ref;
        rc = hub_amqp_c2d_from_message(m, 1700000000000, c, &ref);
        if (rc == 0) {
            REQUIRE(c->device_id[0] != '\0' && c->message_id[0] != '\0');
            REQUIRE(c->body_len <= HUB_C2D_PAYLOAD_MAX);
            REQUIRE(strlen(c->props) < sizeof(c->props));
        } else {
            REQUIRE(rc == -EINVAL && ref.condition != NULL && ref.description[0] != '\0');
        }
        free(c);
    }
    pn_message_free(m);
    return 0;
}

/* libFuzzer target: the Event Hubs-compatible endpoint's receiver filter and address parsers
 * (src/hub/amqp/eh_addr.c). An input whose first byte is 0x01 is an address, any other a
 * selector filter. Either parses into values in range or fails with a reason. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/amqp/eh_addr.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    REQUIRE(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    if (size > 0 && data[0] == 1) {
        struct hub_eh_address a;
        enum hub_eh_node n = hub_eh_address_parse(text + 1, &a);
        if (n == HUB_EH_NODE_PARTITION) {
            REQUIRE(a.partition >= 0 && a.partition <= 9999);
            REQUIRE(a.entity[0] && a.consumer_group[0]);
            REQUIRE(strlen(a.consumer_group) <= HUB_EH_NAME_MAX);
        }
        REQUIRE(strlen(a.entity) <= HUB_EH_NAME_MAX);
    } else {
        struct hub_eh_position pos;
        const char *why = NULL;
        int rc = hub_eh_filter_parse(text, &pos, &why);
        if (rc != 0)
            REQUIRE(rc == -EINVAL && why != NULL && why[0] != '\0');
        else
            REQUIRE(pos.from <= HUB_EH_FROM_LATEST);
    }
    free(text);
    return 0;
}

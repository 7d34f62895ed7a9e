/* The Event Hubs-compatible endpoint's AMQP addresses and receiver filters, as the Event Hubs
 * SDKs write them (@azure/event-hubs eventhubConnectionConfig / eventPosition). Pure string
 * functions: no Proton, no state; fuzzed by tests/fuzz/fuzz_hub_eh_filter.c. */
#ifndef AZK_HUB_EH_ADDR_H
#define AZK_HUB_EH_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUB_EH_NAME_MAX 63 /* an entity path (hub name) or a consumer group */

enum hub_eh_node {
    HUB_EH_NODE_NONE = 0,
    HUB_EH_NODE_MANAGEMENT, /* "<entity>/$management" (or "$management") */
    HUB_EH_NODE_PARTITION,  /* "<entity>/ConsumerGroups/<cg>/Partitions/<id>" */
};

struct hub_eh_address {
    char entity[HUB_EH_NAME_MAX + 1];         /* "" for a bare "$management" */
    char consumer_group[HUB_EH_NAME_MAX + 1]; /* PARTITION only */
    int partition;                            /* PARTITION only, >= 0 */
};

/* The Event Hubs entity path (EntityPath) of the IoT hub named `hostname`: its first DNS label
 * ("myhub.azure-devices.net" -> "myhub", "localhost" -> "localhost"), cut to `size` - 1. */
void hub_eh_entity_of_host(const char *hostname, char *out, size_t size);

/* Parses an address (optionally "amqps://host[:port]/", "amqp://..." or "sb://..." first;
 * the words "ConsumerGroups" and "Partitions" in any case). Returns the node, or NONE for
 * NULL, another shape, a name too long, or a partition id that is not a decimal number
 * 0..9999. */
enum hub_eh_node hub_eh_address_parse(const char *address, struct hub_eh_address *out);

/* Where a receiver starts, from its "apache.org:selector-filter:string" filter. */
enum hub_eh_from {
    HUB_EH_FROM_OFFSET = 0, /* after (or at) the offset `value`; earliest is offset > -1 */
    HUB_EH_FROM_SEQNO,      /* after (or at) the sequence number `value` */
    HUB_EH_FROM_TIME,       /* enqueued after `value` (ms since the epoch) */
    HUB_EH_FROM_LATEST,     /* offset "@latest": only messages stored from now on */
};

struct hub_eh_position {
    enum hub_eh_from from;
    bool inclusive; /* ">=" */
    int64_t value;
};

/*
 * Parses a selector filter of exactly these forms (spaces around the operator optional):
 *   amqp.annotation.x-opt-offset >[=] '<int or @latest>'
 *   amqp.annotation.x-opt-sequence-number >[=] '<int>'
 *   amqp.annotation.x-opt-enqueued-time >[=] '<ms since the epoch>'
 * (integers: optional '-', decimal digits, within int64). Returns 0, or -EINVAL with `*why`
 * (static text) for anything else, including NULL.
 */
int hub_eh_filter_parse(const char *filter, struct hub_eh_position *out, const char **why);

#endif

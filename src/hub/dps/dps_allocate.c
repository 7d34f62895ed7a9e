/* DPS allocation and reprovisioning decisions (see dps_allocate.h). */
#include "hub/dps/dps_allocate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t dps_alloc_hash(const char *registration_id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = registration_id ? registration_id : ""; *p; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z') /* registration ids are case-insensitive */
            c = (char)(c - 'A' + 'a');
        h ^= (unsigned char)c;
        h *= 1099511628211ULL;
    }
    return h;
}

static bool linked(const struct dps_alloc_input *in, const char *hub)
{
    for (size_t i = 0; i < in->n_linked; i++)
        if (in->linked_hubs[i] && strcasecmp(in->linked_hubs[i], hub) == 0)
            return true;
    return false;
}

static int put(char out[DPS_HOST_MAX + 1], const char *hub)
{
    snprintf(out, DPS_HOST_MAX + 1, "%s", hub);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

int dps_allocate(const struct dps_alloc_input *in, char out[DPS_HOST_MAX + 1], char *why,
                 size_t whylen)
{
    out[0] = '\0';
    if (why && whylen)
        why[0] = '\0';
    if (!in || !in->enrollment)
        return -EINVAL;
    const struct dps_common *c = in->enrollment;
    if (in->n_linked == 0) {
        snprintf(why, whylen, "the provisioning service has no linked IoT hub");
        return -ENOENT;
    }
    if (c->allocation == DPS_ALLOC_STATIC) {
        const char *hub = c->iot_hub_host_name[0] ? c->iot_hub_host_name
                          : c->n_iot_hubs == 1    ? c->iot_hubs[0]
                          : in->n_linked == 1     ? in->linked_hubs[0]
                                                  : NULL;
        if (!hub) {
            snprintf(why, whylen,
                     "static allocation needs iotHubHostName (or one hub in iotHubs): %zu hubs "
                     "are linked",
                     in->n_linked);
            return -ENOENT;
        }
        if (!linked(in, hub)) {
            snprintf(why, whylen, "the static hub '%s' is not a linked IoT hub", hub);
            return -ENOENT;
        }
        return put(out, hub);
    }
    /* hashed / geoLatency */
    const char *cand[DPS_HUBS_MAX + 64];
    size_t n = 0;
    if (c->n_iot_hubs) {
        for (size_t i = 0; i < c->n_iot_hubs; i++)
            if (linked(in, c->iot_hubs[i]))
                cand[n++] = c->iot_hubs[i];
    } else if (c->iot_hub_host_name[0] && linked(in, c->iot_hub_host_name)) {
        cand[n++] = c->iot_hub_host_name;
    } else {
        for (size_t i = 0; i < in->n_linked && n < sizeof cand / sizeof cand[0]; i++)
            if (in->linked_hubs[i] && in->linked_hubs[i][0])
                cand[n++] = in->linked_hubs[i];
    }
    if (n == 0) {
        snprintf(why, whylen, "none of the enrollment's iotHubs is a linked IoT hub");
        return -ENOENT;
    }
    qsort(cand, n, sizeof cand[0], cmp_str);
    return put(out, cand[dps_alloc_hash(in->registration_id) % n]);
}

void dps_reprovision_decide(const struct dps_registration *prev, const char *allocated,
                            const struct dps_reprovision_policy *policy,
                            struct dps_reprovision_decision *out)
{
    memset(out, 0, sizeof *out);
    const char *now = allocated ? allocated : "";
    bool had = prev && prev->status == DPS_REG_ASSIGNED && prev->assigned_hub[0];
    if (!had) {
        snprintf(out->hub, sizeof out->hub, "%s", now);
        out->create_device = true;
        out->initial_twin = true;
        out->substatus = DPS_SUB_INITIAL_ASSIGNMENT;
        return;
    }
    if (strcasecmp(prev->assigned_hub, now) == 0 || !policy->update_hub_assignment) {
        snprintf(out->hub, sizeof out->hub, "%s", prev->assigned_hub);
        out->create_device = true; /* recreate when someone deleted it; else the same device */
        out->substatus =
            prev->substatus != DPS_SUB_NONE ? prev->substatus : DPS_SUB_INITIAL_ASSIGNMENT;
        return;
    }
    snprintf(out->hub, sizeof out->hub, "%s", now);
    snprintf(out->previous_hub, sizeof out->previous_hub, "%s", prev->assigned_hub);
    out->moved = true;
    out->create_device = true;
    if (policy->migrate_device_data) {
        out->migrate_twin = true;
        out->substatus = DPS_SUB_DEVICE_DATA_MIGRATED;
    } else {
        out->initial_twin = true;
        out->substatus = DPS_SUB_DEVICE_DATA_RESET;
    }
}

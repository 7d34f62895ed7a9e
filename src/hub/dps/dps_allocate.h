/*
 * DPS allocation: which linked IoT hub a registration goes to, and what happens when a device
 * registers again after its enrollment's hub changed. Pure functions.
 *
 * Linked hubs: one azkit-hub process can host several hub host names (the DPS instance is
 * linked to all of them).
 *  - static: the enrollment's iotHubHostName; else its single iotHubs entry; else the only
 *    linked hub. The hub must be linked.
 *  - hashed / geoLatency: a stable hash (FNV-1a 64) of the registration id over the
 *    enrollment's iotHubs that are linked (all linked hubs when iotHubs is empty), taken in
 *    sorted order so the list's order does not matter.
 */
#ifndef AZK_HUB_DPS_ALLOCATE_H
#define AZK_HUB_DPS_ALLOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/dps/dps_model.h"

struct dps_alloc_input {
    const char *registration_id;
    const struct dps_common *enrollment;   /* the matched enrollment's or group's fields */
    const char *const *linked_hubs;        /* hub host names this process serves */
    size_t n_linked;
};

/* Picks the hub into out (DPS_HOST_MAX + 1 bytes). Returns 0, or -ENOENT when no linked hub
 * fits (why says which), -EINVAL for bad input. */
int dps_allocate(const struct dps_alloc_input *in, char out[DPS_HOST_MAX + 1], char *why,
                 size_t whylen);

/* The stable hash used by hashed allocation. */
uint64_t dps_alloc_hash(const char *registration_id);

struct dps_reprovision_decision {
    char hub[DPS_HOST_MAX + 1];          /* where the device is (to be) assigned */
    bool moved;                          /* a different hub than before */
    char previous_hub[DPS_HOST_MAX + 1]; /* with `moved`: the hub the device leaves */
    bool create_device;                  /* create/refresh the device in `hub` */
    bool migrate_twin;                   /* carry the twin from the previous hub */
    bool initial_twin;                   /* (re)apply the enrollment's initial twin */
    enum dps_reg_substatus substatus;
};

/*
 * Decides a (re)registration. `prev` is the registration record (NULL or not assigned: first
 * registration), `allocated` the hub dps_allocate() picked now.
 *  - first:                        allocated, initialAssignment, create + initial twin
 *  - same hub as before:           stays, substatus kept, device kept (same device returned)
 *  - hub changed, updateHubAssignment false:      stays on the previous hub
 *  - hub changed, update true, migrate true:      moves, deviceDataMigrated, twin carried
 *  - hub changed, update true, migrate false:     moves, deviceDataReset, initial twin
 * A device that moves is removed from the previous hub, as DPS documents it ("If the device is
 * changing IoT hubs, the device registration with the initial IoT hub will be removed",
 * learn.microsoft.com/azure/iot-dps/how-to-reprovision).
 */
void dps_reprovision_decide(const struct dps_registration *prev, const char *allocated,
                            const struct dps_reprovision_policy *policy,
                            struct dps_reprovision_decision *out);

#endif

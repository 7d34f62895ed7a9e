/* Persistent MQTT sessions, kept in the device's registry entry (session.h). */
#include "hub/mqtt/session.h"

#include "hub/mqtt/conn.h"
#include "hub/iothub/iothub.h"
#include "hub/store/store.h"

/* The subscriptions a device session can hold. */
#define SESSION_SUBS (HUB_SUB_C2D | HUB_SUB_TWIN_RES | HUB_SUB_TWIN_DESIRED | HUB_SUB_METHODS)

bool hub_session_open(struct hub_conn *c)
{
    struct hub_store *st = c->hub->store;
    if (c->clean_session) {
        hub_store_device_set_session(st, c->device_id, false, 0);
        return false;
    }
    struct hub_device dev;
    bool present = hub_store_device_get(st, c->device_id, &dev) == 0 && dev.has_session;
    c->subs = present ? dev.session_subs & SESSION_SUBS : 0;
    hub_store_device_set_session(st, c->device_id, true, c->subs);
    return present;
}

void hub_session_save(struct hub_conn *c)
{
    if (!c->clean_session)
        hub_store_device_set_session(c->hub->store, c->device_id, true, c->subs & SESSION_SUBS);
}

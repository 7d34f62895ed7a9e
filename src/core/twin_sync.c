/* Desired properties in step with the twin (azkit/twin_sync.h): GET after every connection,
 * patches by $version, a GET again on a gap or when a patch overtook the GET answer. */
#include <errno.h>
#include <string.h>

#include "azkit/azure_payloads.h"
#include "azkit/twin_sync.h"

#define S(s) (&(s)->_internal)

void azk_twin_sync_init(struct azk_twin_sync *s)
{
    memset(s, 0, sizeof(*s));
}

int64_t azk_twin_sync_version(const struct azk_twin_sync *s)
{
    return S(s)->version;
}

/* Asks for the full twin; the answer is matched by its rid. A GET that cannot be sent now
 * (the output is full) is asked for again on the next event. */
static int get(struct azk_twin_sync *s, struct azk_client *c)
{
    int rc = azk_client_twin_get(c, S(s)->rid, sizeof(S(s)->rid));
    S(s)->get_pending = rc == 0;
    S(s)->retry = rc != 0;
    S(s)->held = 0;
    return rc;
}

static int on_answer(struct azk_twin_sync *s, struct azk_client *c,
                     const struct azk_client_event *ev, struct azk_twin_sync_update *u)
{
    S(s)->get_pending = false;
    if (ev->status == 429 || ev->status >= 500)
        return get(s, c) < 0 ? -ENOBUFS : 0; /* throttled or busy: ask again */
    struct azk_twin_document d;
    if (ev->status != 200 || azk_twin_document_parse(ev->payload, &d) != 0 ||
        d.desired.ptr == NULL || !d.has_desired_version)
        return -EBADMSG;
    int64_t held = S(s)->held;
    int rc = 0;
    if (d.desired_version > S(s)->version || S(s)->version == 0) {
        S(s)->version = d.desired_version;
        *u = (struct azk_twin_sync_update){AZK_TWIN_SYNC_FULL, d.desired, d.desired_version};
        rc = 1;
    }
    if (held > d.desired_version)
        get(s, c); /* a patch came after this snapshot was taken: the newer one */
    return rc;
}

int azk_twin_sync_event(struct azk_twin_sync *s, struct azk_client *c,
                        const struct azk_client_event *ev, struct azk_twin_sync_update *u)
{
    switch (ev->kind) {
    case AZK_CLIENT_EV_CONNECTED:
        /* Whatever changed while the device was away: the full twin. */
        return get(s, c) < 0 ? -ENOBUFS : 0;
    case AZK_CLIENT_EV_DISCONNECTED:
        S(s)->get_pending = false; /* its answer will not come: asked again on CONNECTED */
        S(s)->retry = false;
        return 0;
    case AZK_CLIENT_EV_TWIN:
        if (!S(s)->get_pending || !azk_span_eq_str(ev->rid, S(s)->rid))
            return 0; /* a PATCH answer, or a GET of the application's */
        return on_answer(s, c, ev, u);
    case AZK_CLIENT_EV_DESIRED: {
        int64_t v = ev->version;
        if (S(s)->get_pending) {
            /* The GET answer decides; a patch newer than it makes another GET. */
            if (v > S(s)->held)
                S(s)->held = v;
            return 0;
        }
        if (v <= S(s)->version)
            return 0; /* seen, or older than what was applied */
        if (S(s)->version != 0 && v != S(s)->version + 1)
            return get(s, c) < 0 ? -ENOBUFS : 0; /* a gap: a patch was missed */
        struct azk_twin_desired_patch p;
        if (azk_twin_desired_patch_parse(ev->payload, &p) != 0)
            return -EBADMSG;
        S(s)->version = v;
        *u = (struct azk_twin_sync_update){AZK_TWIN_SYNC_PATCH, p.patch, v};
        return 1;
    }
    default:
        if (S(s)->retry && azk_client_state(c) == AZK_CLIENT_CONNECTED)
            return get(s, c) < 0 ? -ENOBUFS : 0;
        return 0;
    }
}

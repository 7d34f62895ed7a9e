/* POST /azkit/faults: fault injection (dropped connections, delays, refusals) -- a placeholder
 * until the daemon grows the hooks; answers 501. */
#include <event2/http.h>

#include "hub/svc_common.h"

void svc_faults(struct svc_req *r)
{
    if (r->nseg != 2 || r->method != SVC_POST) {
        svc_reply_error(r->req, r->nseg != 2 ? 404 : 405,
                        r->nseg != 2 ? "NotFound" : "MethodNotAllowed", "Use POST /azkit/faults.");
        return;
    }
    svc_reply_error(r->req, 501, "NotImplemented", "Fault injection is not implemented yet.");
}

/* The doctor's ranked summary (azk_doctor_ranked in azkit/doctor.h). */
#include <stdbool.h>
#include <string.h>

#include "azkit/doctor.h"

/* Check ids (or id prefixes ending in '.') in the order a device meets the problems. */
static const char *const stage_order[] = {
    "clock",
    "tags.count",
    "online.dns",
    "online.tcp",
    "tags.azure-root",
    "tags.ca",
    "client.cert",
    "client.key",
    "client.validity",
    "cred.",
    "chain.",
    "client.enrollment-ca",
    "client.chain",
    "client.id",
    "client.eku",
    "online.server-chain",
    "online.tls",
    "connect.",
    "connect",
};

static size_t stage(const char *id)
{
    size_t n = sizeof(stage_order) / sizeof(stage_order[0]);
    for (size_t i = 0; i < n; i++) {
        const char *p = stage_order[i];
        size_t len = strlen(p);
        if (p[len - 1] == '.' ? strncmp(id, p, len) == 0 : strcmp(id, p) == 0)
            return i;
    }
    return n / 2; /* an id added later: among the credential checks */
}

/* An observed connection result: the effect of the causes the other checks name. */
static bool symptom(const char *id)
{
    return strcmp(id, "online.tls") == 0 || strncmp(id, "connect", 7) == 0;
}

size_t azk_doctor_ranked(const struct azk_doctor_report *r, size_t *out, size_t max)
{
    size_t idx[AZK_DOCTOR_MAX_CHECKS], n = 0;
    if (r == NULL || out == NULL)
        return 0;
    /* Failures that are causes, then warnings (a warned leaf-only chain explains a refused
     * registration), then the failed connection results. */
    for (int pass = 0; pass < 3; pass++) {
        size_t first = n;
        for (size_t i = 0; i < r->count && n < AZK_DOCTOR_MAX_CHECKS; i++) {
            const struct azk_check *c = &r->checks[i];
            bool take = pass == 0   ? c->status == AZK_CHECK_FAIL && !symptom(c->id)
                        : pass == 1 ? c->status == AZK_CHECK_WARN
                                    : c->status == AZK_CHECK_FAIL && symptom(c->id);
            if (take)
                idx[n++] = i;
        }
        /* Stable insertion sort by stage: equal stages keep the report's order. */
        for (size_t a = first + 1; a < n; a++) {
            size_t v = idx[a], b = a;
            while (b > first && stage(r->checks[idx[b - 1]].id) > stage(r->checks[v].id)) {
                idx[b] = idx[b - 1];
                b--;
            }
            idx[b] = v;
        }
    }
    if (n > max)
        n = max; /* the first `max` in rank order */
    memcpy(out, idx, n * sizeof(*out));
    return n;
}

/* Finding lists: bounded, never allocate, safe to pass NULL. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "azkit/diag.h"

AZK_API void azk_diag_init(struct azk_diag *d)
{
    memset(d, 0, sizeof(*d));
}

AZK_API void azk_diag_add(struct azk_diag *d, enum azk_severity sev, const char *code,
                          const char *fix, const char *fmt, ...)
{
    if (d == NULL)
        return;
    if (d->count >= AZK_DIAG_MAX) {
        d->dropped++;
        return;
    }
    struct azk_finding *f = &d->items[d->count++];
    f->severity = sev;
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
}

AZK_API int azk_diag_has(const struct azk_diag *d, enum azk_severity sev)
{
    if (d == NULL)
        return 0;
    for (size_t i = 0; i < d->count; i++)
        if (d->items[i].severity >= sev)
            return 1;
    return 0;
}

AZK_API const struct azk_finding *azk_diag_find(const struct azk_diag *d, const char *code)
{
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].code, code) == 0)
            return &d->items[i];
    return NULL;
}

AZK_API const char *azk_severity_name(enum azk_severity sev)
{
    switch (sev) {
    case AZK_SEV_INFO: return "info";
    case AZK_SEV_WARNING: return "warning";
    case AZK_SEV_ERROR: return "error";
    }
    return "unknown";
}

/* Footprint program: the optional FOTA part (azkit/fota.h, azkit/fota_payload.h) on its own,
 * driven as a firmware drives it: a twin GET answer, desired patches, every action and result.
 * The device client does not link it; bench/footprint/run reports it on a line of its own. */
#include <stddef.h>
#include <stdint.h>

#include "azkit/fota.h"

static volatile char msg[256];
static volatile size_t msg_len;
static volatile int result;
static volatile size_t sink;
static struct azk_fota fota;
static struct azk_fota_saved saved;
static char report[AZK_FOTA_REPORT_MAX];

static int load(struct azk_fota_store *st, struct azk_fota_saved *out)
{
    (void)st;
    *out = saved;
    return result;
}

static int save(struct azk_fota_store *st, const struct azk_fota_saved *s)
{
    (void)st;
    saved = *s;
    return result;
}

static struct azk_fota_store store = {load, save};

int main(void)
{
    struct azk_span in = {(const char *)msg, msg_len};
    struct azk_fota_action a;
    azk_fota_init(&fota, "1.0.0", &store);
    azk_fota_twin(&fota, in);
    azk_fota_desired(&fota, in);
    for (;;) {
        azk_fota_next(&fota, result != 0, report, sizeof(report), &a);
        sink += a.kind + a.start + a.report.len;
        switch (a.kind) {
        case AZK_FOTA_ACT_REPORT: azk_fota_report_result(&fota, result == 0); break;
        case AZK_FOTA_ACT_FETCH: azk_fota_fetch_result(&fota, result, a.end, msg_len); break;
        case AZK_FOTA_ACT_VERIFY: azk_fota_verify_result(&fota, result); break;
        case AZK_FOTA_ACT_APPLY: azk_fota_apply_result(&fota, result); break;
        case AZK_FOTA_ACT_RESTART: return 0;
        default: break;
        }
        sink += azk_fota_status(&fota);
    }
}

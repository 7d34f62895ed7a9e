/* libFuzzer target: the desired and reported `firmware` objects of azure_fota
 * (azkit/fota_payload.h) and the FOTA state machine fed with them (azkit/fota.h). A parsed
 * desired object is written back as a report (its strings must survive the writer) and the
 * reports the state machine builds must parse as reported objects again. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "azkit/fota.h"
#include "azkit/json.h"
#include "fuzz_util.h"

static int no_load(struct azk_fota_store *st, struct azk_fota_saved *out)
{
    (void)st;
    (void)out;
    return -ENOENT;
}

static int no_save(struct azk_fota_store *st, const struct azk_fota_saved *s)
{
    (void)st;
    (void)s;
    return 0;
}

/* A report must be a twin patch whose firmware object reads back (want: its status, or
 * AZK_FOTA_INVALID for any valid one). */
static void check_report(struct azk_span rep, enum azk_fota_status want)
{
    char doc[AZK_FOTA_REPORT_MAX + 16];
    struct azk_fota_reported r;
    REQUIRE(rep.len <= AZK_FOTA_REPORT_MAX);
    memcpy(doc, "{\"reported\":", 12);
    memcpy(doc + 12, rep.ptr, rep.len);
    doc[12 + rep.len] = '}';
    REQUIRE(azk_fota_reported_parse((struct azk_span){doc, rep.len + 13}, &r) == 0);
    REQUIRE(r.has_firmware && r.has_status && r.has_current && r.status != AZK_FOTA_INVALID);
    REQUIRE(want == AZK_FOTA_INVALID || r.status == want);
}

static void desired(struct azk_span in)
{
    struct azk_fota_desired d;
    char buf[AZK_FOTA_REPORT_MAX];
    size_t len;
    int rc = azk_fota_desired_parse(in, &d);
    REQUIRE(rc == 0 || rc == -ENOENT || rc == -EBADMSG || rc == -ENAMETOOLONG || rc == -E2BIG);
    if (rc != 0)
        return;
    REQUIRE(strlen(d.version) < sizeof(d.version) && strlen(d.job_id) < sizeof(d.job_id));
    REQUIRE(d.fragment_size <= AZK_FOTA_FRAGMENT_MAX);
    struct azk_fota_report rep = {.status = AZK_FOTA_APPLYING, .current = d.version,
                                  .pending = d.version, .job_id = d.job_id};
    REQUIRE(azk_fota_report_build(&rep, buf, sizeof(buf), &len) == 0);
    check_report((struct azk_span){buf, len}, AZK_FOTA_APPLYING);
}

static void machine(struct azk_span in)
{
    struct azk_fota_store st = {no_load, no_save};
    struct azk_fota f;
    struct azk_fota_action a;
    char buf[AZK_FOTA_REPORT_MAX];
    REQUIRE(azk_fota_init(&f, "1.0.0", &st) == 0);
    azk_fota_twin(&f, in);
    azk_fota_desired(&f, in);
    for (int i = 0; i < 8; i++) {
        REQUIRE(azk_fota_next(&f, true, buf, sizeof(buf), &a) == 0);
        switch (a.kind) {
        case AZK_FOTA_ACT_REPORT:
            check_report(a.report, AZK_FOTA_INVALID);
            azk_fota_report_result(&f, true);
            break;
        case AZK_FOTA_ACT_FETCH:
            REQUIRE(a.end >= a.start && a.host && a.path);
            azk_fota_fetch_result(&f, 0, a.end - a.start + 1, a.end + 1);
            break;
        case AZK_FOTA_ACT_VERIFY:
            azk_fota_verify_result(&f, 0);
            break;
        case AZK_FOTA_ACT_APPLY:
            azk_fota_apply_result(&f, 0);
            break;
        default:
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct azk_span in = {size ? (const char *)data : NULL, size};
    struct azk_fota_reported r;
    int rc = azk_fota_reported_parse(in, &r);
    REQUIRE(rc == 0 || rc == -ENOENT || rc == -EBADMSG || rc == -E2BIG);
    desired(in);
    machine(in);
    return 0;
}

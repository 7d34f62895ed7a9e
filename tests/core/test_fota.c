/* The FOTA state machine (azkit/fota.h): azure_fota's decisions and reconciliation, the
 * fragment ranges, resumption after a lost connection and after a restart. */
#include <errno.h>
#include <stdint.h>

#include "azkit/fota.h"
#include "core_test.h"

struct mem_store {
    struct azk_fota_store st;
    struct azk_fota_saved saved;
    bool has, fail;
    int saves;
};

static int mem_load(struct azk_fota_store *st, struct azk_fota_saved *out)
{
    struct mem_store *m = (struct mem_store *)st;
    if (!m->has)
        return -ENOENT;
    *out = m->saved;
    return 0;
}

static int mem_save(struct azk_fota_store *st, const struct azk_fota_saved *s)
{
    struct mem_store *m = (struct mem_store *)st;
    if (m->fail)
        return -EIO;
    m->saved = *s;
    m->has = true;
    m->saves++;
    return 0;
}

static void store_init(struct mem_store *m)
{
    memset(m, 0, sizeof(*m));
    m->st.load = mem_load;
    m->st.save = mem_save;
}

#define JOB "ca186d4b-4171-4209-a49d-700c35567d1d"
#define DESIRED(ver, job)                                                                       \
    "{\"firmware\":{\"fwVersion\":\"" ver "\",\"jobId\":\"" job "\",\"fwLocation\":"            \
    "{\"host\":\"fw.example:8443\",\"path\":\"images/app.bin\"},\"fwFragmentSize\":1000}}"

static char buf[AZK_FOTA_REPORT_MAX];

/* The next action; a REPORT is accepted at once and its text returned in `rep`. */
static enum azk_fota_action_kind next(struct azk_fota *f, struct azk_fota_action *a,
                                      char *rep)
{
    if (azk_fota_next(f, true, buf, sizeof(buf), a) != 0)
        return (enum azk_fota_action_kind)-1;
    if (a->kind == AZK_FOTA_ACT_REPORT) {
        if (rep) {
            memcpy(rep, a->report.ptr, a->report.len);
            rep[a->report.len] = '\0';
        }
        azk_fota_report_result(f, true);
    }
    return a->kind;
}

static void test_first_boot_reports_current(void)
{
    struct mem_store m;
    struct azk_fota f;
    struct azk_fota_action a;
    char rep[512];
    store_init(&m);
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    CHECK_INT(azk_fota_next(&f, true, buf, sizeof(buf), &a), 0);
    CHECK_INT(a.kind, AZK_FOTA_ACT_NONE);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT("{\"desired\":{\"$version\":1},\"reported\":"
                                             "{\"$version\":1}}")), 0);
    /* no report while disconnected */
    CHECK_INT(azk_fota_next(&f, false, buf, sizeof(buf), &a), 0);
    CHECK_INT(a.kind, AZK_FOTA_ACT_NONE);
    CHECK_INT(next(&f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK_STR(rep, "{\"firmware\":{\"fwUpdateStatus\":\"current\",\"currentFwVersion\":\"1\"}}");
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_NONE);
    /* a correct "current" needs no report; a wrong current version does */
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT("{\"reported\":{\"firmware\":{\"fwUpdateStatus\":"
                                             "\"current\",\"currentFwVersion\":\"1\","
                                             "\"pendingFwVersion\":\"\"}}}")), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_NONE);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT("{\"reported\":{\"firmware\":{\"fwUpdateStatus\":"
                                             "\"current\",\"currentFwVersion\":\"0\","
                                             "\"pendingFwVersion\":\"\"}}}")), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    /* a report that was not accepted is sent again */
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT("{\"reported\":{}}")), 0);
    CHECK_INT(azk_fota_next(&f, true, buf, sizeof(buf), &a), 0);
    CHECK_INT(a.kind, AZK_FOTA_ACT_REPORT);
    CHECK_INT(azk_fota_report_result(&f, false), 0);
    CHECK_INT(azk_fota_report_result(&f, false), -EINVAL);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(azk_fota_next(&f, true, buf, 10, &a), 0);
    CHECK_INT(a.kind, AZK_FOTA_ACT_NONE);
}

/* Runs a 2500-byte download of fragments of 1000 through to RESTART. */
static void download(struct azk_fota *f, struct mem_store *m)
{
    struct azk_fota_action a;
    char rep[512];
    CHECK_INT(azk_fota_desired(f, AZK_SPAN_LIT(DESIRED("2", JOB))), 1);
    CHECK_INT(next(f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK_STR(rep, "{\"firmware\":{\"fwUpdateStatus\":\"downloading\",\"currentFwVersion\":"
                   "\"1\",\"pendingFwVersion\":\"2\",\"jobId\":\"" JOB "\","
                   "\"fwDownloadedBytes\":0}}");
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK_STR(a.host, "fw.example:8443");
    CHECK_STR(a.path, "images/app.bin");
    CHECK(a.start == 0 && a.end == 999);
    /* a message during the download is ignored; nothing is handed out twice */
    CHECK_INT(azk_fota_desired(f, AZK_SPAN_LIT(DESIRED("3", "other"))), 0);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_NONE);
    CHECK_INT(azk_fota_fetch_result(f, 0, 1000, 2500), 0);
    CHECK(m->saved.offset == 1000 && m->saved.total == 2500);
    CHECK_INT(next(f, &a, rep), AZK_FOTA_ACT_REPORT); /* 4/10 */
    CHECK(strstr(rep, "\"fwDownloadedBytes\":1000,\"fwTotalBytes\":2500") != NULL);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK(a.start == 1000 && a.end == 1999);
    /* a lost connection: the same fragment again */
    CHECK_INT(azk_fota_fetch_result(f, -ECONNRESET, 0, 0), 0);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK(a.start == 1000 && a.end == 1999);
    CHECK_INT(azk_fota_fetch_result(f, 0, 1000, 2500), 0);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK(a.start == 2000 && a.end == 2499);
    CHECK_INT(azk_fota_fetch_result(f, 0, 500, 2500), 0);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_VERIFY);
    CHECK(a.size == 2500 && a.sha256 == NULL);
    CHECK_INT(azk_fota_verify_result(f, 0), 0);
    CHECK_INT(m->saved.status, AZK_FOTA_APPLYING);
    /* the image is applied only once "applying" was accepted */
    CHECK_INT(azk_fota_next(f, true, buf, sizeof(buf), &a), 0);
    CHECK_INT(a.kind, AZK_FOTA_ACT_REPORT);
    CHECK(strstr(a.report.ptr, "\"applying\"") != NULL);
    CHECK_INT(azk_fota_next(f, true, buf, sizeof(buf), &a), 0);
    CHECK_INT(a.kind, AZK_FOTA_ACT_NONE);
    CHECK_INT(azk_fota_report_result(f, true), 0);
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_APPLY);
    CHECK_STR(a.version, "2");
    CHECK_INT(azk_fota_apply_result(f, 0), 0);
    CHECK_INT(next(f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK_STR(rep, "{\"firmware\":{\"fwUpdateStatus\":\"rebooting\",\"currentFwVersion\":"
                   "\"1\",\"pendingFwVersion\":\"2\",\"jobId\":\"" JOB "\"}}");
    CHECK_INT(next(f, &a, NULL), AZK_FOTA_ACT_RESTART);
    CHECK_INT(m->saved.status, AZK_FOTA_REBOOTING);
}

#define AFTER_REBOOT                                                                            \
    "{\"desired\":" DESIRED("2", JOB) ",\"reported\":{\"firmware\":{\"fwUpdateStatus\":"        \
    "\"rebooting\",\"currentFwVersion\":\"1\",\"pendingFwVersion\":\"2\",\"jobId\":\"" JOB "\"}}}"

static void test_update_and_reconcile(void)
{
    struct mem_store m;
    struct azk_fota f;
    struct azk_fota_action a;
    char rep[512];
    store_init(&m);
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    download(&f, &m);
    if (azk_t_failures)
        return;
    /* the new image runs: "current" 2, and the same job in desired is not started again */
    CHECK_INT(azk_fota_init(&f, "2", &m.st), 0);
    CHECK_INT(m.saved.status, AZK_FOTA_CURRENT);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT(AFTER_REBOOT)), 0);
    CHECK_INT(next(&f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK_STR(rep, "{\"firmware\":{\"fwUpdateStatus\":\"current\",\"currentFwVersion\":\"2\"}}");
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_NONE);
    /* the same job sent again: ignored */
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("3", JOB))), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_NONE);
    /* a new job with the running version: ignored */
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "job-2"))), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_NONE);
    CHECK_INT(azk_fota_status(&f), AZK_FOTA_CURRENT);
}

static void test_rollback_and_stale(void)
{
    struct mem_store m;
    struct azk_fota f;
    struct azk_fota_action a;
    char rep[512];
    store_init(&m);
    /* the old image runs after the swap: rolledback */
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT(AFTER_REBOOT)), 0);
    CHECK_INT(next(&f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK_STR(rep, "{\"firmware\":{\"fwUpdateStatus\":\"rolledback\",\"currentFwVersion\":"
                   "\"1\"}}");
    /* neither version runs: "current" (changed by other means) */
    CHECK_INT(azk_fota_init(&f, "9", &m.st), 0);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT(AFTER_REBOOT)), 0);
    CHECK_INT(next(&f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK(strstr(rep, "\"current\"") != NULL);
    /* a stale "downloading" without a saved download: error; "error" stays quiet */
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT("{\"reported\":{\"firmware\":{\"fwUpdateStatus\":"
                                             "\"downloading\",\"currentFwVersion\":\"1\","
                                             "\"pendingFwVersion\":\"2\",\"jobId\":\"j\"}}}")), 0);
    CHECK_INT(next(&f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK(strstr(rep, "\"error\"") != NULL);
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT("{\"reported\":{\"firmware\":{\"fwUpdateStatus\":"
                                             "\"error\",\"currentFwVersion\":\"1\","
                                             "\"pendingFwVersion\":\"2\",\"jobId\":\"j\"}}}")), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_NONE);
    CHECK_INT(azk_fota_status(&f), AZK_FOTA_ERROR);
    /* the reported jobId was remembered: that job is not new, a prefix of it neither */
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "j"))), 0);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "jx"))), 0);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "k"))), 1);
}

static void test_resume_after_restart(void)
{
    struct mem_store m;
    struct azk_fota f;
    struct azk_fota_action a;
    store_init(&m);
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", JOB))), 1);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK_INT(azk_fota_fetch_result(&f, 0, 1000, 2500), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    /* killed here: the restart goes on from byte 1000; the full twin is ignored meanwhile */
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 1);
    CHECK_INT(azk_fota_twin(&f, AZK_SPAN_LIT(AFTER_REBOOT)), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK(a.start == 1000 && a.end == 1999);
    CHECK(azk_fota_progress(&f, NULL, NULL));
}

static void test_download_errors(void)
{
    struct mem_store m;
    struct azk_fota f;
    struct azk_fota_action a;
    char rep[512];
    store_init(&m);
    CHECK_INT(azk_fota_init(&f, "1", &m.st), 0);
    /* retries end in "error" */
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "a"))), 1);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    for (int i = 0; i <= AZK_FOTA_FETCH_RETRIES; i++) {
        CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
        CHECK_INT(azk_fota_fetch_result(&f, -ETIMEDOUT, 0, 0), 0);
    }
    CHECK_INT(next(&f, &a, rep), AZK_FOTA_ACT_REPORT);
    CHECK_STR(rep, "{\"firmware\":{\"fwUpdateStatus\":\"error\",\"currentFwVersion\":\"1\","
                   "\"pendingFwVersion\":\"2\",\"jobId\":\"a\"}}");
    CHECK_INT(m.saved.status, AZK_FOTA_CURRENT);
    CHECK(!azk_fota_progress(&f, NULL, NULL));
    /* 404 at once; a short fragment; a size other than fwSize; a bad image */
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "b"))), 1);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK_INT(azk_fota_fetch_result(&f, -ENOENT, 0, 0), 0);
    CHECK_INT(azk_fota_status(&f), AZK_FOTA_ERROR);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "c"))), 1);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK_INT(azk_fota_fetch_result(&f, 0, 999, 2500), -EMSGSIZE);
    CHECK_INT(azk_fota_status(&f), AZK_FOTA_ERROR);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(
        "{\"firmware\":{\"fwVersion\":2,\"jobId\":\"d\",\"fwLocation\":{\"host\":\"h\","
        "\"path\":\"p\"},\"fwFragmentSize\":0,\"fwSize\":10}}")), 1);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK(a.start == 0 && a.end == AZK_FOTA_DEFAULT_FRAGMENT - 1);
    CHECK_INT(azk_fota_fetch_result(&f, 0, 11, 11), -EMSGSIZE);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "e"))), 1);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_REPORT);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_FETCH);
    CHECK_INT(azk_fota_fetch_result(&f, 0, 10, 10), 0);
    CHECK_INT(next(&f, &a, NULL), AZK_FOTA_ACT_VERIFY);
    CHECK_INT(azk_fota_verify_result(&f, -EBADMSG), 0);
    CHECK_INT(azk_fota_status(&f), AZK_FOTA_ERROR);
    CHECK_INT(azk_fota_verify_result(&f, 0), -EINVAL);
    CHECK_INT(azk_fota_fetch_result(&f, 0, 1, 1), -EINVAL);
    CHECK_INT(azk_fota_apply_result(&f, 0), -EINVAL);
    /* bad desired objects start nothing */
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT("{\"firmware\":{}}")), -EBADMSG);
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT("{\"x\":1}")), 0);
    /* a store that cannot save: "error", nothing starts */
    m.fail = true;
    CHECK_INT(azk_fota_desired(&f, AZK_SPAN_LIT(DESIRED("2", "f"))), -EIO);
    CHECK_INT(azk_fota_status(&f), AZK_FOTA_ERROR);
    CHECK(!azk_fota_progress(&f, NULL, NULL));
    CHECK_INT(azk_fota_init(&f, "", &m.st), -EINVAL);
}

int main(void)
{
    RUN_TEST(test_first_boot_reports_current);
    RUN_TEST(test_update_and_reconcile);
    RUN_TEST(test_rollback_and_stale);
    RUN_TEST(test_resume_after_restart);
    RUN_TEST(test_download_errors);
    TEST_MAIN_END();
}

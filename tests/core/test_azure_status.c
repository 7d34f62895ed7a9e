/* The status table. */
#include "azkit/azure_status.h"
#include "core_test.h"

static void test_connack(void)
{
    for (uint32_t c = 0; c <= 5; c++) {
        const struct azk_status_info *i = azk_status_lookup(AZK_STATUS_CONNACK, c);
        CHECK(i != NULL && i->summary[0] && i->fix[0]);
    }
    CHECK(azk_status_lookup(AZK_STATUS_CONNACK, 6) == NULL);
    CHECK(strstr(azk_status_lookup(AZK_STATUS_CONNACK, 5)->summary, "Not authorized") != NULL);
    CHECK(strstr(azk_status_lookup(AZK_STATUS_CONNACK, 1)->summary, "3.1.1") != NULL);
}

static void test_topic_statuses(void)
{
    static const uint32_t hub[] = {200, 202, 204, 400, 401, 403, 404, 409, 412, 413, 429, 500,
                                   503, 504};
    for (size_t k = 0; k < sizeof(hub) / sizeof(hub[0]); k++) {
        const struct azk_status_info *i = azk_status_lookup(AZK_STATUS_HUB, hub[k]);
        CHECK(i != NULL && i->summary[0] && i->fix[0]);
    }
    static const uint32_t dps[] = {200, 202, 400, 401, 403, 404, 409, 412, 429, 500, 503};
    for (size_t k = 0; k < sizeof(dps) / sizeof(dps[0]); k++) {
        const struct azk_status_info *i = azk_status_lookup(AZK_STATUS_DPS, dps[k]);
        CHECK(i != NULL && i->summary[0] && i->fix[0]);
    }
    CHECK(strstr(azk_status_lookup(AZK_STATUS_DPS, 202)->fix, "retry-after") != NULL);
    CHECK(strstr(azk_status_lookup(AZK_STATUS_HUB, 429)->summary, "Throttled") != NULL);
    CHECK(azk_status_lookup(AZK_STATUS_HUB, 299) == NULL);
    CHECK(azk_status_lookup((enum azk_status_kind)99, 200) == NULL);
}

static void test_error_codes(void)
{
    const struct azk_status_info *i = azk_status_lookup(AZK_STATUS_DPS_ERROR, 401002);
    CHECK(i != NULL && strstr(i->summary, "Invalid certificate") != NULL);
    i = azk_status_lookup(AZK_STATUS_DPS_ERROR, 400207);
    CHECK(i != NULL && strstr(i->summary, "Custom allocation") != NULL);
    /* unknown 6-digit code → its HTTP class */
    CHECK(azk_status_lookup(AZK_STATUS_DPS_ERROR, 429001) == azk_status_lookup(AZK_STATUS_DPS, 429));
    CHECK(azk_status_lookup(AZK_STATUS_DPS_ERROR, 404999) == azk_status_lookup(AZK_STATUS_DPS, 404));
    CHECK(azk_status_lookup(AZK_STATUS_DPS_ERROR, 999999) == NULL);
    CHECK(azk_status_lookup(AZK_STATUS_DPS_ERROR, 401) == NULL);
    i = azk_status_lookup(AZK_STATUS_HUB_ERROR, 404104);
    CHECK(i != NULL && strstr(i->summary, "DeviceConnectionClosedRemotely") != NULL);
    i = azk_status_lookup(AZK_STATUS_HUB_ERROR, 400027);
    CHECK(i != NULL && strstr(i->summary, "ConnectionForcefullyClosedOnNewConnection") != NULL);
    static const uint32_t hub[] = {400004, 401003, 403002, 404001, 404103, 409001, 412001,
                                   413001, 429001, 500001, 503003, 504101};
    for (size_t k = 0; k < sizeof(hub) / sizeof(hub[0]); k++) {
        i = azk_status_lookup(AZK_STATUS_HUB_ERROR, hub[k]);
        CHECK(i != NULL && i->summary[0] && i->fix[0]);
    }
    CHECK(azk_status_lookup(AZK_STATUS_HUB_ERROR, 500123) == azk_status_lookup(AZK_STATUS_HUB, 500));
}

int main(void)
{
    RUN_TEST(test_connack);
    RUN_TEST(test_topic_statuses);
    RUN_TEST(test_error_codes);
    TEST_MAIN_END();
}

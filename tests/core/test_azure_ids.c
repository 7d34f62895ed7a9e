/* Device id and registration id rules, and the printf-free explanations. */
#include <errno.h>

#include "azkit/azure_ids.h"
#include "core_test.h"

static const char device_allowed_specials[] = "-:.+%_#*?!(),=@;$'";

static int allowed_device(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr(device_allowed_specials, c) != NULL);
}

static void test_device_id_every_byte(void)
{
    for (int c = 0; c < 256; c++) {
        char id[3] = {'a', (char)c, 'b'};
        struct azk_id_error e;
        int rc = azk_device_id_validate((struct azk_span){id, 3}, &e);
        if (allowed_device(c)) {
            CHECK_INT(rc, 0);
            CHECK_INT(e.problem, AZK_ID_OK);
        } else {
            CHECK_INT(rc, -EINVAL);
            CHECK_INT(e.problem, AZK_ID_BAD_CHAR);
            CHECK_INT(e.index, 1);
            CHECK_INT(e.byte, c);
            CHECK_STR(e.rule, AZK_DEVICE_ID_RULE);
        }
    }
    CHECK_INT(azk_device_id_validate(AZK_SPAN_LIT("Dev:1.+%_#*?!(),=@;$'"), NULL), 0);
}

static void test_device_id_lengths(void)
{
    char id[130];
    memset(id, 'A', sizeof(id));
    struct azk_id_error e;
    CHECK_INT(azk_device_id_validate((struct azk_span){id, 128}, &e), 0);
    CHECK_INT(azk_device_id_validate((struct azk_span){id, 129}, &e), -EINVAL);
    CHECK_INT(e.problem, AZK_ID_TOO_LONG);
    CHECK_INT(e.index, 129);
    CHECK_INT(azk_device_id_validate((struct azk_span){id, 0}, &e), -EINVAL);
    CHECK_INT(e.problem, AZK_ID_EMPTY);
    CHECK_INT(azk_device_id_validate((struct azk_span){NULL, 0}, NULL), -EINVAL);
}

static void test_registration_ids(void)
{
    struct azk_id_error e;
    CHECK_INT(azk_registration_id_validate(AZK_SPAN_LIT("dev-1.a_b:c"), &e), 0);
    char id[65];
    memset(id, 'a', sizeof(id));
    CHECK_INT(azk_registration_id_validate((struct azk_span){id, 64}, &e), 0);
    CHECK_INT(azk_registration_id_validate((struct azk_span){id, 65}, &e), -EINVAL);
    CHECK_INT(e.problem, AZK_ID_TOO_LONG);
    CHECK_INT(azk_registration_id_validate(AZK_SPAN_LIT("Dev-1"), &e), -EINVAL);
    CHECK_INT(e.index, 0);
    CHECK_INT(e.byte, 'D');
    CHECK_STR(e.rule, AZK_REGISTRATION_ID_RULE);
    for (int c = 0; c < 256; c++) {
        char s[2] = {'x', (char)c};
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                 c == '_' || c == ':';
        CHECK_INT(azk_registration_id_validate((struct azk_span){s, 2}, NULL), ok ? 0 : -EINVAL);
    }
}

static void test_messages(void)
{
    char why[256];
    CHECK_INT(azk_device_id_check("dev/1", why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "'/' at position 4 is not allowed; " AZK_DEVICE_ID_RULE);
    CHECK_INT(azk_device_id_check("x y", why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "a space at position 2 is not allowed; " AZK_DEVICE_ID_RULE);
    CHECK_INT(azk_device_id_check("a\tb", why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "byte 0x09 at position 2 is not allowed; " AZK_DEVICE_ID_RULE);
    CHECK_INT(azk_device_id_check("d\xc3\xa9v", why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "byte 0xC3 at position 2 is not allowed; " AZK_DEVICE_ID_RULE);
    CHECK_INT(azk_device_id_check("", why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "the id is empty; " AZK_DEVICE_ID_RULE);
    CHECK_INT(azk_device_id_check(NULL, why, sizeof(why)), -EINVAL);
    char long_id[200];
    memset(long_id, 'a', 199);
    long_id[199] = '\0';
    CHECK_INT(azk_device_id_check(long_id, why, sizeof(why)), -EINVAL);
    CHECK_STR(why, "the id is 199 characters long; " AZK_DEVICE_ID_RULE);
    CHECK_INT(azk_device_id_check("ok-1", why, sizeof(why)), 0);
    CHECK_STR(why, "");
    CHECK_INT(azk_device_id_check("x y", NULL, 0), -EINVAL);
    CHECK_INT(azk_registration_id_check("Dev-1", why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "lowercase") != NULL);
    CHECK(strstr(why, "'D' at position 1") != NULL);
}

static void test_format_truncates(void)
{
    struct azk_id_error e;
    azk_device_id_validate(AZK_SPAN_LIT("dev/1"), &e);
    char full[256];
    size_t n = azk_id_error_format(&e, full, sizeof(full));
    CHECK_INT(n, strlen(full));
    for (size_t size = 0; size <= n + 1; size++) {
        char buf[300];
        memset(buf, 0x5A, sizeof(buf));
        CHECK_INT(azk_id_error_format(&e, buf, size), n);
        if (size) {
            CHECK_INT(strlen(buf), size - 1 < n ? size - 1 : n);
            CHECK(memcmp(buf, full, strlen(buf)) == 0);
        }
        for (size_t i = size; i < sizeof(buf); i++)
            CHECK_INT((unsigned char)buf[i], 0x5A);
    }
    CHECK_INT(azk_id_error_format(&e, NULL, 0), n);
    struct azk_id_error ok = {AZK_ID_OK, AZK_DEVICE_ID_RULE, 0, 0};
    CHECK_INT(azk_id_error_format(&ok, full, sizeof(full)), strlen("the id is valid"));
}

int main(void)
{
    RUN_TEST(test_device_id_every_byte);
    RUN_TEST(test_device_id_lengths);
    RUN_TEST(test_registration_ids);
    RUN_TEST(test_messages);
    RUN_TEST(test_format_truncates);
    TEST_MAIN_END();
}

/* Percent-encoding, property bags and request ids. */
#include "azure_test_util.h"
#include "core_test.h"

struct bag_ctx {
    const struct azk_prop *props;
    size_t count;
};

static int build_bag(const void *c, char *buf, size_t size, size_t *len)
{
    const struct bag_ctx *b = c;
    return azk_prop_bag_build(b->props, b->count, buf, size, len);
}

#define P(k, v) {AZK_SPAN_LIT(k), AZK_SPAN_LIT(v), true}
#define PNULL(k) {AZK_SPAN_LIT(k), {NULL, 0}, false}

static void test_bag_forms(void)
{
    /* learn.microsoft.com iot-mqtt-connect-to-iot-hub: null → key, empty → key=, value. */
    struct azk_prop props[] = {PNULL("prop1"), P("prop2", ""), P("prop3", "a string")};
    struct bag_ctx c = {props, 3};
    CHECK(check_build(build_bag, &c, "prop1&prop2=&prop3=a%20string"));
    struct azk_prop sys[] = {P("$.mid", "abc"), P("$.ct", "application/json"),
                             P("$.ce", "utf-8"), P("temp", "21")};
    struct bag_ctx c2 = {sys, 4};
    CHECK(check_build(build_bag, &c2, "%24.mid=abc&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21"));
    struct bag_ctx c3 = {NULL, 0};
    CHECK(check_build(build_bag, &c3, ""));
    struct azk_prop bad[] = {P("", "x")};
    size_t len;
    char buf[16];
    CHECK_INT(azk_prop_bag_build(bad, 1, buf, sizeof(buf), &len), -EINVAL);
}

static void test_iterate(void)
{
    struct azk_prop_iter it;
    struct azk_prop p;
    azk_prop_iter_init(&it, AZK_SPAN_LIT("prop1&prop2=&&prop3=a%20string&"));
    CHECK_INT(azk_prop_next(&it, &p), 0);
    CHECK_MEM_STR(p.key.ptr, p.key.len, "prop1");
    CHECK(!p.has_value && p.value.len == 0);
    CHECK_INT(azk_prop_next(&it, &p), 0);
    CHECK_MEM_STR(p.key.ptr, p.key.len, "prop2");
    CHECK(p.has_value && p.value.len == 0);
    CHECK_INT(azk_prop_next(&it, &p), 0);
    CHECK_MEM_STR(p.value.ptr, p.value.len, "a%20string");
    CHECK_INT(azk_prop_next(&it, &p), -ENOENT);
    CHECK_INT(azk_prop_next(&it, &p), -ENOENT);

    /* decoded, with a too-small buffer first (the iterator waits) */
    char k[8], v[32];
    azk_prop_iter_init(&it, AZK_SPAN_LIT("%24.to=%2Fdevices%2Fd&x=1"));
    CHECK_INT(azk_prop_next_decoded(&it, k, 2, v, sizeof(v), &p), -ENOBUFS);
    CHECK_INT(p.key.len, 4);
    CHECK_INT(p.value.len, 10);
    CHECK_INT(azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p), 0);
    CHECK_MEM_STR(p.key.ptr, p.key.len, "$.to");
    CHECK_MEM_STR(p.value.ptr, p.value.len, "/devices/d");
    CHECK_INT(azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p), 0);
    CHECK_MEM_STR(p.key.ptr, p.key.len, "x");
    CHECK_INT(azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p), -ENOENT);

    /* bad escape and empty key: reported, then skipped */
    azk_prop_iter_init(&it, AZK_SPAN_LIT("a=%zz&=b&c"));
    CHECK_INT(azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p), -EBADMSG);
    CHECK_INT(azk_prop_next(&it, &p), -EBADMSG);
    CHECK_INT(azk_prop_next(&it, &p), 0);
    CHECK_MEM_STR(p.key.ptr, p.key.len, "c");
}

static void test_find_and_equals(void)
{
    struct azk_prop p;
    struct azk_span bag = AZK_SPAN_LIT("$.mid=79eadb01&%24.ct=application%2Fjson&iothub-ack=full");
    CHECK_INT(azk_prop_find(bag, AZK_PROP_MESSAGE_ID, &p), 0);
    CHECK_MEM_STR(p.value.ptr, p.value.len, "79eadb01");
    CHECK_INT(azk_prop_find(bag, AZK_PROP_CONTENT_TYPE, &p), 0);
    CHECK_MEM_STR(p.value.ptr, p.value.len, "application%2Fjson");
    CHECK_INT(azk_prop_find(bag, AZK_PROP_ACK, NULL), 0);
    CHECK_INT(azk_prop_find(bag, AZK_PROP_TO, NULL), -ENOENT);
    CHECK(azk_pct_equals(AZK_SPAN_LIT("%24.mid"), "$.mid"));
    CHECK(azk_pct_equals(AZK_SPAN_LIT("%24%2emid"), "$.mid"));
    CHECK(!azk_pct_equals(AZK_SPAN_LIT("%24.mi"), "$.mid"));
    CHECK(!azk_pct_equals(AZK_SPAN_LIT("%24.midd"), "$.mid"));
    CHECK(!azk_pct_equals(AZK_SPAN_LIT("%2"), "%2"));
}

static void test_pct_every_byte(void)
{
    char in[256], enc[800], dec[256];
    for (int i = 0; i < 256; i++)
        in[i] = (char)i;
    size_t elen, dlen;
    CHECK_INT(azk_pct_encode((struct azk_span){in, 256}, enc, sizeof(enc), &elen), 0);
    CHECK_INT(elen, 66 + 190 * 3);
    for (size_t i = 0; i < elen; i++)
        CHECK(enc[i] != '+' && enc[i] != '#' && enc[i] != '&' && enc[i] != '=' && enc[i] != '/');
    CHECK_INT(azk_pct_decode((struct azk_span){enc, elen}, dec, sizeof(dec), &dlen), 0);
    CHECK_INT(dlen, 256);
    CHECK(memcmp(in, dec, 256) == 0);
    /* in place */
    CHECK_INT(azk_pct_decode((struct azk_span){enc, elen}, enc, sizeof(enc), &dlen), 0);
    CHECK(memcmp(in, enc, 256) == 0);
    CHECK_INT(azk_pct_decode(AZK_SPAN_LIT("a+b%2B"), dec, sizeof(dec), &dlen), 0);
    CHECK_MEM_STR(dec, dlen, "a+b+");
    CHECK_INT(azk_pct_decode(AZK_SPAN_LIT("%4"), dec, sizeof(dec), &dlen), -EBADMSG);
    CHECK_INT(azk_pct_decode(AZK_SPAN_LIT("%G0"), dec, sizeof(dec), &dlen), -EBADMSG);
    CHECK_INT(azk_pct_decode(AZK_SPAN_LIT("abc"), dec, 2, &dlen), -ENOBUFS);
    CHECK_INT(dlen, 3);
}

static void test_rid(void)
{
    uint32_t counter = 0;
    char buf[16];
    size_t len;
    CHECK_INT(azk_rid_next(&counter, AZK_RID_DECIMAL, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "1");
    CHECK_INT(azk_rid_next(&counter, AZK_RID_DECIMAL, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "2");
    counter = 254;
    CHECK_INT(azk_rid_next(&counter, AZK_RID_HEX, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "ff");
    counter = 0xFFFFFFFEu;
    memset(buf, GUARD_BYTE, sizeof(buf));
    CHECK_INT(azk_rid_next(&counter, AZK_RID_DECIMAL, buf, 9, &len), -ENOBUFS);
    CHECK_INT(len, 10);
    CHECK_INT(counter, 0xFFFFFFFEu);
    CHECK(guard_ok(buf, 0, sizeof(buf)));
    CHECK_INT(azk_rid_next(&counter, AZK_RID_DECIMAL, buf, 10, &len), 0);
    CHECK_MEM_STR(buf, len, "4294967295");
    CHECK_INT(azk_rid_next(&counter, AZK_RID_HEX, buf, sizeof(buf), &len), 0);
    CHECK_MEM_STR(buf, len, "1"); /* wraps past 0 */
    CHECK_INT(azk_rid_next(&counter, (enum azk_rid_format)7, buf, sizeof(buf), &len), -EINVAL);
    CHECK(azk_rid_is_valid(AZK_SPAN_LIT("e7173b7b-0e54-4aa0-9d20-aeb1b89e6c7d")));
    CHECK(!azk_rid_is_valid(AZK_SPAN_LIT("")));
    CHECK(!azk_rid_is_valid(AZK_SPAN_LIT("a&b")));
    CHECK(!azk_rid_is_valid(AZK_SPAN_LIT("a b")));
    CHECK(!azk_rid_is_valid(AZK_SPAN_LIT("a/?b")));
}

int main(void)
{
    RUN_TEST(test_bag_forms);
    RUN_TEST(test_iterate);
    RUN_TEST(test_find_and_equals);
    RUN_TEST(test_pct_every_byte);
    RUN_TEST(test_rid);
    TEST_MAIN_END();
}

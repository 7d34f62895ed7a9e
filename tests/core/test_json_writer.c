/* JSON writer: structure, escaping, int64 limits, raw passthrough, buffer too small (guard
 * region), misuse, and randomised writer -> reader round trips. */
#include <errno.h>
#include <stdint.h>

#include "azkit/json.h"
#include "core_test.h"

#define GUARD 32

static void test_basic(void)
{
    char buf[256];
    struct azk_json_writer w;
    size_t len;

    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("a")), 0);
    CHECK_INT(azk_json_writer_begin_array(&w), 0);
    CHECK_INT(azk_json_writer_int64(&w, 1), 0);
    CHECK_INT(azk_json_writer_bool(&w, true), 0);
    CHECK_INT(azk_json_writer_bool(&w, false), 0);
    CHECK_INT(azk_json_writer_null(&w), 0);
    CHECK_INT(azk_json_writer_string(&w, AZK_SPAN_LIT("x")), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_end_object(&w), 0);
    CHECK_INT(azk_json_writer_begin_array(&w), 0);
    CHECK_INT(azk_json_writer_end_array(&w), 0);
    CHECK_INT(azk_json_writer_end_array(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("b")), 0);
    CHECK_INT(azk_json_writer_string(&w, AZK_SPAN_LIT("")), 0);
    CHECK_INT(azk_json_writer_end_object(&w), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), 0);
    CHECK_MEM_STR(buf, len, "{\"a\":[1,true,false,null,\"x\",{},[]],\"b\":\"\"}");
    CHECK_INT(azk_json_writer_needed(&w), len);
    CHECK_INT(azk_json_writer_remaining(&w), sizeof(buf) - len);
    CHECK_INT(azk_json_validate((struct azk_span){buf, len}, NULL, NULL), 0);

    /* scalars at top level */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_string(&w, AZK_SPAN_LIT("top")), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), 0);
    CHECK_MEM_STR(buf, len, "\"top\"");
}

static void test_escaping(void)
{
    static const char in[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    static const char want[] = "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f \xC3\xA9\xE2\x82\xAC"
                               "\xF0\x9F\x98\x80\"";
    char buf[128], dec[128];
    struct azk_json_writer w;
    struct azk_json_reader r;
    size_t len, dlen;

    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_string(&w, (struct azk_span){in, sizeof(in) - 1}), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), 0);
    CHECK_MEM_STR(buf, len, want);
    /* and back */
    CHECK_INT(azk_json_reader_init(&r, (struct azk_span){buf, len}), 0);
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(azk_json_token_unescape(&r.token, dec, sizeof(dec), &dlen), 0);
    CHECK_INT(dlen, sizeof(in) - 1);
    CHECK(memcmp(dec, in, dlen) == 0);

    /* NUL bytes inside a span are escaped too */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, (struct azk_span){"k\0\"", 3}), 0);
    CHECK_INT(azk_json_writer_string(&w, (struct azk_span){"\0", 1}), 0);
    CHECK_INT(azk_json_writer_end_object(&w), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), 0);
    CHECK_MEM_STR(buf, len, "{\"k\\u0000\\\"\":\"\\u0000\"}");
}

static void test_invalid_utf8(void)
{
    static const char *const bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "a\x80",
                                      "\xE2\x82", "\xFF"};
    char buf[64];
    struct azk_json_writer w;
    size_t i, len;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
        CHECK_INT(azk_json_writer_begin_array(&w), 0);
        CHECK_INT(azk_json_writer_string(&w, azk_span_from_str(bad[i])), -EBADMSG);
        CHECK_INT(azk_json_writer_needed(&w), 1); /* nothing written */
        CHECK_INT(azk_json_writer_end_array(&w), -EBADMSG); /* sticky */
        CHECK_INT(azk_json_writer_finish(&w, &len), -EBADMSG);
        CHECK_INT(len, 0);
        CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
        CHECK_INT(azk_json_writer_begin_object(&w), 0);
        CHECK_INT(azk_json_writer_property_name(&w, azk_span_from_str(bad[i])), -EBADMSG);
    }
}

static void test_int64(void)
{
    static const struct {
        int64_t v;
        const char *s;
    } cases[] = {
        {0, "0"}, {-1, "-1"}, {401002, "401002"}, {INT32_MAX, "2147483647"},
        {INT32_MIN, "-2147483648"}, {(int64_t)INT32_MAX + 1, "2147483648"},
        {INT64_MAX, "9223372036854775807"}, {INT64_MIN, "-9223372036854775808"},
        {INT64_MIN + 1, "-9223372036854775807"},
        /* Every limb boundary of the 16-bit long division (core_num.c). */
        {9, "9"}, {10, "10"}, {65535, "65535"}, {65536, "65536"}, {655360, "655360"},
        {(int64_t)UINT32_MAX, "4294967295"}, {(int64_t)UINT32_MAX + 1, "4294967296"},
        {281474976710655, "281474976710655"}, {281474976710656, "281474976710656"},
        {999999999999999999, "999999999999999999"},
        {1000000000000000000, "1000000000000000000"}, {-1000000000, "-1000000000"},
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        struct azk_json_writer w;
        size_t len;
        int64_t back;
        CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
        CHECK_INT(azk_json_writer_int64(&w, cases[i].v), 0);
        CHECK_INT(azk_json_writer_finish(&w, &len), 0);
        CHECK_MEM_STR(buf, len, cases[i].s);
        CHECK_INT(azk_json_number_to_int64((struct azk_span){buf, len}, &back), 0);
        CHECK(back == cases[i].v);
    }
}

static void test_raw(void)
{
    char buf[128];
    struct azk_json_writer w;
    size_t len;

    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("payload")), 0);
    CHECK_INT(azk_json_writer_raw(&w, AZK_SPAN_LIT(" \n{\"any\" : [1, \"x\"]}\t ")), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("n")), 0);
    CHECK_INT(azk_json_writer_raw(&w, AZK_SPAN_LIT("-1.5e3")), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("s")), 0);
    CHECK_INT(azk_json_writer_raw(&w, AZK_SPAN_LIT("\"q\"")), 0);
    CHECK_INT(azk_json_writer_end_object(&w), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), 0);
    CHECK_MEM_STR(buf, len, "{\"payload\":{\"any\" : [1, \"x\"]},\"n\":-1.5e3,\"s\":\"q\"}");

    /* invalid raw JSON: nothing written, sticky -EBADMSG */
    static const char *const bad[] = {"", " ", "{", "[1,]", "1 2", "{\"a\":01}", "'x'"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
        CHECK_INT(azk_json_writer_begin_array(&w), 0);
        CHECK_INT(azk_json_writer_raw(&w, azk_span_from_str(bad[i])), -EBADMSG);
        CHECK_INT(azk_json_writer_needed(&w), 1);
        CHECK_INT(azk_json_writer_finish(&w, &len), -EBADMSG);
    }

    /* raw nesting counts from the current depth */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    for (int i = 0; i < AZK_JSON_MAX_DEPTH - 2; i++)
        CHECK_INT(azk_json_writer_begin_array(&w), 0);
    CHECK_INT(azk_json_writer_raw(&w, AZK_SPAN_LIT("[[1]]")), 0);
    CHECK_INT(azk_json_writer_raw(&w, AZK_SPAN_LIT("[[[1]]]")), -E2BIG);
}

static void test_misuse(void)
{
    char buf[64];
    struct azk_json_writer w;
    size_t len;

    /* value in an object without a name */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_int64(&w, 1), -EINVAL);
    CHECK_INT(azk_json_writer_end_object(&w), -EINVAL);
    CHECK_INT(azk_json_writer_finish(&w, &len), -EINVAL);

    /* name in an array, name at top level, two names in a row, end with a pending name */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("a")), -EINVAL);
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_array(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("a")), -EINVAL);
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("a")), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("b")), -EINVAL);
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("a")), 0);
    CHECK_INT(azk_json_writer_end_object(&w), -EINVAL);

    /* mismatched ends */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_object(&w), 0);
    CHECK_INT(azk_json_writer_end_array(&w), -EINVAL);
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_begin_array(&w), 0);
    CHECK_INT(azk_json_writer_end_object(&w), -EINVAL);
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_end_array(&w), -EINVAL);

    /* a second top-level value */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_null(&w), 0);
    CHECK_INT(azk_json_writer_null(&w), -EINVAL);

    /* incomplete documents */
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), -EINVAL);
    CHECK_INT(azk_json_writer_begin_array(&w), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), -EINVAL);

    /* arguments */
    CHECK_INT(azk_json_writer_init(NULL, buf, 1), -EINVAL);
    CHECK_INT(azk_json_writer_init(&w, NULL, 1), -EINVAL);
    CHECK_INT(azk_json_writer_begin_object(NULL), -EINVAL);
    CHECK_INT(azk_json_writer_int64(NULL, 1), -EINVAL);
    CHECK_INT(azk_json_writer_finish(&w, NULL), -EINVAL);
    CHECK_INT(azk_json_writer_needed(NULL), 0);
    CHECK_INT(azk_json_writer_remaining(NULL), 0);
}

static void test_depth(void)
{
    char buf[2 * AZK_JSON_MAX_DEPTH + 8];
    struct azk_json_writer w;
    size_t len;
    int i;
    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    for (i = 0; i < AZK_JSON_MAX_DEPTH; i++) {
        if (i % 2) {
            CHECK_INT(azk_json_writer_begin_object(&w), 0);
            CHECK_INT(azk_json_writer_property_name(&w, AZK_SPAN_LIT("")), 0);
        } else {
            CHECK_INT(azk_json_writer_begin_array(&w), 0);
        }
    }
    CHECK_INT(azk_json_writer_begin_array(&w), -E2BIG);
    CHECK_INT(azk_json_writer_finish(&w, &len), -E2BIG);

    CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
    for (i = 0; i < AZK_JSON_MAX_DEPTH; i++)
        CHECK_INT(azk_json_writer_begin_array(&w), 0);
    for (i = 0; i < AZK_JSON_MAX_DEPTH; i++)
        CHECK_INT(azk_json_writer_end_array(&w), 0);
    CHECK_INT(azk_json_writer_finish(&w, &len), 0);
    CHECK_INT(len, 2 * AZK_JSON_MAX_DEPTH);
    CHECK_INT(azk_json_validate((struct azk_span){buf, len}, NULL, NULL), 0);
}

/* Writes a fixed document into a buffer of buf_size followed by a guard region. */
static int write_doc(char *buf, size_t buf_size, size_t *len)
{
    struct azk_json_writer w;
    int rc = azk_json_writer_init(&w, buf_size ? buf : NULL, buf_size);
    if (rc)
        return rc;
    azk_json_writer_begin_object(&w);
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("registrationId"));
    azk_json_writer_string(&w, AZK_SPAN_LIT("my\"Registration\nId"));
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("n"));
    azk_json_writer_int64(&w, INT64_MIN);
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("payload"));
    azk_json_writer_raw(&w, AZK_SPAN_LIT("{\"any\":\"custom allocation data\"}"));
    azk_json_writer_property_name(&w, AZK_SPAN_LIT("l"));
    azk_json_writer_begin_array(&w);
    azk_json_writer_bool(&w, true);
    azk_json_writer_null(&w);
    azk_json_writer_end_array(&w);
    azk_json_writer_end_object(&w);
    if (buf_size == 0 && azk_json_writer_remaining(&w) != 0)
        return -999;
    return azk_json_writer_finish(&w, len);
}

static void test_too_small(void)
{
    char full[256], buf[256 + GUARD];
    size_t need, len, k, g;

    CHECK_INT(write_doc(full, sizeof(full), &need), 0);
    CHECK_MEM_STR(full, need,
                  "{\"registrationId\":\"my\\\"Registration\\nId\",\"n\":-9223372036854775808,"
                  "\"payload\":{\"any\":\"custom allocation data\"},\"l\":[true,null]}");
    for (k = 0; k < need; k++) {
        memset(buf, 0x5A, sizeof(buf));
        len = 0;
        CHECK_INT(write_doc(buf, k, &len), -ENOBUFS);
        CHECK_INT(len, need);
        CHECK(memcmp(buf, full, k) == 0); /* what fits is the true prefix */
        for (g = k; g < k + GUARD; g++)
            CHECK_INT((unsigned char)buf[g], 0x5A);
    }
    memset(buf, 0x5A, sizeof(buf));
    CHECK_INT(write_doc(buf, need, &len), 0);
    CHECK_INT(len, need);
    CHECK_INT((unsigned char)buf[need], 0x5A);
}

/* Random documents: write, validate, read back token by token and compare. */
struct tok {
    enum azk_json_token_kind kind;
    int64_t num;
    char str[16];
    size_t str_len;
};

static size_t gen(struct azk_json_writer *w, struct tok *toks, size_t cap, size_t n, int depth)
{
    uint32_t pick = azk_t_rand() % (depth >= 6 ? 5u : 7u);
    if (n + 20 >= cap)
        pick = 0;
    switch (pick) {
    case 0:
        toks[n].kind = AZK_JSON_NUMBER;
        toks[n].num = (int64_t)(((uint64_t)azk_t_rand() << 32) | azk_t_rand());
        azk_json_writer_int64(w, toks[n].num);
        return n + 1;
    case 1:
    case 2: {
        size_t i, len = azk_t_rand() % sizeof(toks[n].str);
        toks[n].kind = AZK_JSON_STRING;
        for (i = 0; i < len; i++)
            toks[n].str[i] = (char)(azk_t_rand() % 0x80); /* ASCII incl. controls */
        toks[n].str_len = len;
        azk_json_writer_string(w, (struct azk_span){toks[n].str, len});
        return n + 1;
    }
    case 3:
        toks[n].kind = azk_t_rand() % 2 ? AZK_JSON_TRUE : AZK_JSON_FALSE;
        azk_json_writer_bool(w, toks[n].kind == AZK_JSON_TRUE);
        return n + 1;
    case 4:
        toks[n].kind = AZK_JSON_NULL;
        azk_json_writer_null(w);
        return n + 1;
    case 5: {
        uint32_t i, m = azk_t_rand() % 4;
        toks[n++].kind = AZK_JSON_BEGIN_ARRAY;
        azk_json_writer_begin_array(w);
        for (i = 0; i < m && n + 20 < cap; i++)
            n = gen(w, toks, cap, n, depth + 1);
        toks[n++].kind = AZK_JSON_END_ARRAY;
        azk_json_writer_end_array(w);
        return n;
    }
    default: {
        uint32_t i, m = azk_t_rand() % 4;
        toks[n++].kind = AZK_JSON_BEGIN_OBJECT;
        azk_json_writer_begin_object(w);
        for (i = 0; i < m && n + 20 < cap; i++) {
            toks[n].kind = AZK_JSON_PROPERTY_NAME;
            toks[n].str_len = (size_t)snprintf(toks[n].str, sizeof(toks[n].str), "k%u\"\\", i);
            azk_json_writer_property_name(w, (struct azk_span){toks[n].str, toks[n].str_len});
            n = gen(w, toks, cap, n + 1, depth + 1);
        }
        toks[n++].kind = AZK_JSON_END_OBJECT;
        azk_json_writer_end_object(w);
        return n;
    }
    }
}

static void test_random_round_trip(void)
{
    static char buf[8192];
    static struct tok toks[256];
    int iter;
    for (iter = 0; iter < 2000; iter++) {
        struct azk_json_writer w;
        struct azk_json_reader r;
        size_t n, len, i;
        CHECK_INT(azk_json_writer_init(&w, buf, sizeof(buf)), 0);
        n = gen(&w, toks, sizeof(toks) / sizeof(toks[0]), 0, 0);
        CHECK_INT(azk_json_writer_finish(&w, &len), 0);
        CHECK_INT(azk_json_reader_init(&r, (struct azk_span){buf, len}), 0);
        for (i = 0; i < n; i++) {
            CHECK_INT(azk_json_reader_next(&r), 1);
            CHECK_INT(r.token.kind, toks[i].kind);
            if (toks[i].kind == AZK_JSON_NUMBER) {
                int64_t v;
                CHECK_INT(azk_json_token_get_int64(&r.token, &v), 0);
                CHECK(v == toks[i].num);
            } else if (toks[i].kind == AZK_JSON_STRING ||
                       toks[i].kind == AZK_JSON_PROPERTY_NAME) {
                char dec[16];
                size_t dlen;
                CHECK_INT(azk_json_token_unescape(&r.token, dec, sizeof(dec), &dlen), 0);
                CHECK_INT(dlen, toks[i].str_len);
                CHECK(memcmp(dec, toks[i].str, dlen) == 0);
                if (!memchr(toks[i].str, 0, toks[i].str_len)) {
                    char z[17];
                    memcpy(z, toks[i].str, dlen);
                    z[dlen] = 0;
                    CHECK(azk_json_token_eq_str(&r.token, z));
                }
            }
        }
        CHECK_INT(azk_json_reader_next(&r), 0);
        /* the same document through raw passthrough is byte-identical */
        {
            static char copy[8192];
            size_t clen;
            CHECK_INT(azk_json_writer_init(&w, copy, sizeof(copy)), 0);
            CHECK_INT(azk_json_writer_raw(&w, (struct azk_span){buf, len}), 0);
            CHECK_INT(azk_json_writer_finish(&w, &clen), 0);
            CHECK(clen == len && memcmp(copy, buf, len) == 0);
        }
    }
}

int main(void)
{
    RUN_TEST(test_basic);
    RUN_TEST(test_escaping);
    RUN_TEST(test_invalid_utf8);
    RUN_TEST(test_int64);
    RUN_TEST(test_raw);
    RUN_TEST(test_misuse);
    RUN_TEST(test_depth);
    RUN_TEST(test_too_small);
    RUN_TEST(test_random_round_trip);
    TEST_MAIN_END();
}

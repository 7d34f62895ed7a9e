/* JSON reader: tokens, strictness (each malformed input with its own reason and offset),
 * helpers (unescape, compare, int64, skip, find). */
#include <errno.h>
#include <stdint.h>

#include "azkit/json.h"
#include "core_test.h"

/* Runs the reader over a heap copy of exactly len bytes (no NUL after it, so ASan catches any
 * read past the end) and returns the final code of next(). */
static int read_all(const char *s, size_t len, enum azk_json_error *reason, size_t *offset,
                    int *tokens)
{
    struct azk_json_reader r;
    char *copy = malloc(len ? len : 1);
    int rc, n = 0;
    memcpy(copy, s, len);
    rc = azk_json_reader_init(&r, (struct azk_span){copy, len});
    if (rc == 0) {
        while ((rc = azk_json_reader_next(&r)) > 0)
            n++;
    }
    *reason = r.error;
    *offset = r.error_offset;
    if (tokens)
        *tokens = n;
    /* errors are sticky, end is stable */
    if (azk_json_reader_next(&r) != rc)
        rc = 12345;
    free(copy);
    return rc;
}

static void test_tokens(void)
{
    static const char doc[] =
        " {\"a\" : [1, -2.5e3, true, false, null, \"x\\ny\"], \"b\":{}, \"c\":[]} ";
    static const enum azk_json_token_kind kinds[] = {
        AZK_JSON_BEGIN_OBJECT, AZK_JSON_PROPERTY_NAME, AZK_JSON_BEGIN_ARRAY, AZK_JSON_NUMBER,
        AZK_JSON_NUMBER, AZK_JSON_TRUE, AZK_JSON_FALSE, AZK_JSON_NULL, AZK_JSON_STRING,
        AZK_JSON_END_ARRAY, AZK_JSON_PROPERTY_NAME, AZK_JSON_BEGIN_OBJECT, AZK_JSON_END_OBJECT,
        AZK_JSON_PROPERTY_NAME, AZK_JSON_BEGIN_ARRAY, AZK_JSON_END_ARRAY, AZK_JSON_END_OBJECT,
    };
    struct azk_json_reader r;
    size_t i;

    CHECK_INT(azk_json_reader_init(&r, AZK_SPAN_LIT(doc)), 0);
    CHECK_INT(r.token.kind, AZK_JSON_NONE);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        CHECK_INT(azk_json_reader_next(&r), 1);
        CHECK_INT(r.token.kind, kinds[i]);
        if (i == 0)
            CHECK_INT(r.token.offset, 1);
        if (i == 1) {
            CHECK_MEM_STR(r.token.slice.ptr, r.token.slice.len, "a");
            CHECK_INT(r.token.offset, 2);
            CHECK(!r.token.has_escapes);
        }
        if (i == 4)
            CHECK_MEM_STR(r.token.slice.ptr, r.token.slice.len, "-2.5e3");
        if (i == 5)
            CHECK_MEM_STR(r.token.slice.ptr, r.token.slice.len, "true");
        if (i == 8) {
            CHECK_MEM_STR(r.token.slice.ptr, r.token.slice.len, "x\\ny");
            CHECK(r.token.has_escapes);
            CHECK(azk_json_token_eq_str(&r.token, "x\ny"));
        }
    }
    CHECK_INT(azk_json_reader_next(&r), 0);
    CHECK_INT(r.token.kind, AZK_JSON_NONE);
    CHECK_INT(azk_json_reader_next(&r), 0);
    CHECK_INT(r.error, AZK_JSON_OK);
}

static void test_scalars_at_top_level(void)
{
    static const char *const ok[] = {"0", "-0", "1", "123", "-1.5", "1e5", "1E+5", "2.5e-3",
                                     "true", "false", "null", "\"\"", " \"x\" ", "[]",
                                     "{}", "\t\r\n[ ]\n", "\"\\u0000\"", "\"\\/\""};
    size_t i;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        enum azk_json_error e;
        size_t off;
        int n;
        int rc = read_all(ok[i], strlen(ok[i]), &e, &off, &n);
        if (rc != 0)
            fprintf(stderr, "input %s\n", ok[i]);
        CHECK_INT(rc, 0);
        CHECK(n >= 1);
        CHECK_INT(azk_json_validate(azk_span_from_str(ok[i]), &e, &off), 0);
        CHECK_INT(e, AZK_JSON_OK);
    }
}

struct bad_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    enum azk_json_error reason;
    size_t offset;
};

static const struct bad_case bad[] = {
    {"", 0, AZK_JSON_ERR_EMPTY, 0},
    {"   ", 0, AZK_JSON_ERR_EMPTY, 3},
    {"{", 0, AZK_JSON_ERR_TRUNCATED, 1},
    {"[1,", 0, AZK_JSON_ERR_TRUNCATED, 3},
    {"[1", 0, AZK_JSON_ERR_TRUNCATED, 2},
    {"{\"a\"", 0, AZK_JSON_ERR_TRUNCATED, 4},
    {"{\"a\":", 0, AZK_JSON_ERR_TRUNCATED, 5},
    {"\"abc", 0, AZK_JSON_ERR_TRUNCATED, 4},
    {"\"ab\\", 0, AZK_JSON_ERR_TRUNCATED, 4},
    {"\"\\u12", 0, AZK_JSON_ERR_TRUNCATED, 5},
    {"\"\\ud83d", 0, AZK_JSON_ERR_TRUNCATED, 7},
    {"\"\\ud83d\\", 0, AZK_JSON_ERR_TRUNCATED, 8},
    {"\"\\ud83d\\u", 0, AZK_JSON_ERR_TRUNCATED, 9},
    {"tru", 0, AZK_JSON_ERR_TRUNCATED, 3},
    {"1.", 0, AZK_JSON_ERR_TRUNCATED, 2},
    {"-", 0, AZK_JSON_ERR_TRUNCATED, 1},
    {"1e", 0, AZK_JSON_ERR_TRUNCATED, 2},
    {"\"\xE2\x82", 0, AZK_JSON_ERR_TRUNCATED, 3},
    {"[1,]", 0, AZK_JSON_ERR_TRAILING_COMMA, 3},
    {"{\"a\":1,}", 0, AZK_JSON_ERR_TRAILING_COMMA, 7},
    {"[1, ]", 0, AZK_JSON_ERR_TRAILING_COMMA, 4},
    {"{\"a\" 1}", 0, AZK_JSON_ERR_EXPECTED_COLON, 5},
    {"{1:2}", 0, AZK_JSON_ERR_EXPECTED_NAME, 1},
    {"{'a':2}", 0, AZK_JSON_ERR_EXPECTED_NAME, 1},
    {"{\"a\":1,2}", 0, AZK_JSON_ERR_EXPECTED_NAME, 7},
    {"[1}", 0, AZK_JSON_ERR_MISMATCHED_BRACKET, 2},
    {"{\"a\":1]", 0, AZK_JSON_ERR_MISMATCHED_BRACKET, 6},
    {"[}", 0, AZK_JSON_ERR_MISMATCHED_BRACKET, 1},
    {"{]", 0, AZK_JSON_ERR_MISMATCHED_BRACKET, 1},
    {"1 2", 0, AZK_JSON_ERR_TRAILING_DATA, 2},
    {"{} x", 0, AZK_JSON_ERR_TRAILING_DATA, 3},
    {"{}}", 0, AZK_JSON_ERR_TRAILING_DATA, 2},
    {"[],", 0, AZK_JSON_ERR_TRAILING_DATA, 2},
    {"1\0", 2, AZK_JSON_ERR_TRAILING_DATA, 1},
    {"trux", 0, AZK_JSON_ERR_BAD_LITERAL, 0},
    {"True", 0, AZK_JSON_ERR_BAD_LITERAL, 0},
    {"nullx", 0, AZK_JSON_ERR_BAD_LITERAL, 0},
    {"[nul]", 0, AZK_JSON_ERR_BAD_LITERAL, 1},
    {"NaN", 0, AZK_JSON_ERR_BAD_LITERAL, 0},
    {"01", 0, AZK_JSON_ERR_LEADING_ZERO, 0},
    {"-01", 0, AZK_JSON_ERR_LEADING_ZERO, 0},
    {"[00]", 0, AZK_JSON_ERR_LEADING_ZERO, 1},
    {"[1.]", 0, AZK_JSON_ERR_BAD_NUMBER, 3},
    {"[-]", 0, AZK_JSON_ERR_BAD_NUMBER, 2},
    {"+1", 0, AZK_JSON_ERR_BAD_NUMBER, 0},
    {".5", 0, AZK_JSON_ERR_BAD_NUMBER, 0},
    {"[1e+]", 0, AZK_JSON_ERR_BAD_NUMBER, 4},
    {"1x", 0, AZK_JSON_ERR_BAD_NUMBER, 1},
    {"0x10", 0, AZK_JSON_ERR_BAD_NUMBER, 1},
    {"1.5.3", 0, AZK_JSON_ERR_BAD_NUMBER, 3},
    {"-Infinity", 0, AZK_JSON_ERR_BAD_NUMBER, 1},
    {"\"\\x\"", 0, AZK_JSON_ERR_BAD_ESCAPE, 1},
    {"\"\\U0041\"", 0, AZK_JSON_ERR_BAD_ESCAPE, 1},
    {"\"\\u12G4\"", 0, AZK_JSON_ERR_BAD_ESCAPE, 5},
    {"\"\\ud83d\\ude0\"", 0, AZK_JSON_ERR_BAD_ESCAPE, 12},
    {"\"\\ud800\"", 0, AZK_JSON_ERR_BAD_SURROGATE, 1},
    {"\"\\udc00\"", 0, AZK_JSON_ERR_BAD_SURROGATE, 1},
    {"\"\\udfff\\ud800\"", 0, AZK_JSON_ERR_BAD_SURROGATE, 1},
    {"\"\\ud800\\u0041\"", 0, AZK_JSON_ERR_BAD_SURROGATE, 1},
    {"\"\\ud800\\n\"", 0, AZK_JSON_ERR_BAD_SURROGATE, 1},
    {"\"x\\ud800\\ud800\"", 0, AZK_JSON_ERR_BAD_SURROGATE, 2},
    {"\"a\tb\"", 0, AZK_JSON_ERR_CONTROL_CHAR, 2},
    {"\"a\nb\"", 0, AZK_JSON_ERR_CONTROL_CHAR, 2},
    {"\"\x01\"", 0, AZK_JSON_ERR_CONTROL_CHAR, 1},
    {"\"\x1f\"", 0, AZK_JSON_ERR_CONTROL_CHAR, 1},
    {"\"\0\"", 3, AZK_JSON_ERR_CONTROL_CHAR, 1},
    {"\"\xC0\xAF\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},           /* overlong '/' */
    {"\"\xE0\x80\xAF\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},       /* overlong, 3 bytes */
    {"\"\xF0\x80\x80\xAF\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},   /* overlong, 4 bytes */
    {"\"\xED\xA0\x80\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},       /* encoded surrogate */
    {"\"\xF4\x90\x80\x80\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},   /* above U+10FFFF */
    {"\"ab\x80\"", 0, AZK_JSON_ERR_BAD_UTF8, 3},             /* lone continuation */
    {"\"\xE2\x82\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},           /* cut short by the quote */
    {"\"\xFF\"", 0, AZK_JSON_ERR_BAD_UTF8, 1},
    {"\"\xF8\x88\x80\x80\x80\"", 0, AZK_JSON_ERR_BAD_UTF8, 1}, /* 5-byte form */
    {"'a'", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 0},
    {"[1 2]", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 3},
    {"/* c */ 1", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 0},
    {"{\"a\":1 // c\n}", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 7},
    {"{\"a\":}", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 5},
    {":", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 0},
    {"\xC3\xA9", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 0},
    {"\xEF\xBB\xBF{}", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 0}, /* no BOM */
    {"[,1]", 0, AZK_JSON_ERR_UNEXPECTED_CHAR, 1},
};

static void test_malformed(void)
{
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].in);
        enum azk_json_error e = AZK_JSON_OK;
        size_t off = 99;
        int rc = read_all(bad[i].in, len, &e, &off, NULL);
        if (rc != -EBADMSG || e != bad[i].reason || off != bad[i].offset)
            fprintf(stderr, "case %zu (%s): rc %d reason %d (%s) offset %zu\n", i, bad[i].in, rc,
                    (int)e, azk_json_error_str(e), off);
        CHECK_INT(rc, -EBADMSG);
        CHECK_INT(e, bad[i].reason);
        CHECK_INT(off, bad[i].offset);
        CHECK_INT(azk_json_validate((struct azk_span){bad[i].in, len}, &e, &off), -EBADMSG);
        CHECK_INT(e, bad[i].reason);
        CHECK_INT(off, bad[i].offset);
        CHECK(strcmp(azk_json_error_str(e), "unknown JSON error") != 0);
    }
}

static void test_utf8_valid(void)
{
    /* 2, 3 and 4-byte forms at their limits pass through */
    static const char s[] = "\"\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 "
                            "\xEF\xBF\xBF \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF \xC3\xA9\xE2\x82\xAC"
                            "\xF0\x9F\x98\x80\x7F\"";
    CHECK_INT(azk_json_validate(AZK_SPAN_LIT(s), NULL, NULL), 0);
}

static void test_depth(void)
{
    char buf[2 * AZK_JSON_MAX_DEPTH + 4];
    enum azk_json_error e;
    size_t off, i;
    int n;

    for (i = 0; i < AZK_JSON_MAX_DEPTH; i++) {
        buf[i] = '[';
        buf[2 * AZK_JSON_MAX_DEPTH - 1 - i] = ']';
    }
    CHECK_INT(read_all(buf, 2 * AZK_JSON_MAX_DEPTH, &e, &off, &n), 0);
    CHECK_INT(n, 2 * AZK_JSON_MAX_DEPTH);
    memset(buf, '[', AZK_JSON_MAX_DEPTH + 1);
    CHECK_INT(read_all(buf, AZK_JSON_MAX_DEPTH + 1, &e, &off, NULL), -E2BIG);
    CHECK_INT(e, AZK_JSON_ERR_DEPTH);
    CHECK_INT(off, AZK_JSON_MAX_DEPTH);
    CHECK_INT(azk_json_validate((struct azk_span){buf, AZK_JSON_MAX_DEPTH + 1}, &e, &off),
              -E2BIG);
}

static void test_depth_mixed(void)
{
    /* object/array alternation keeps its type at every level (bit stack across bytes) */
    char buf[16 * AZK_JSON_MAX_DEPTH];
    size_t len = 0, i;
    for (i = 0; i < AZK_JSON_MAX_DEPTH; i++) {
        if (i % 3 == 0) {
            memcpy(buf + len, "{\"k\":", 5);
            len += 5;
        } else {
            buf[len++] = '[';
        }
    }
    buf[len++] = '1';
    for (i = AZK_JSON_MAX_DEPTH; i-- > 0;)
        buf[len++] = i % 3 == 0 ? '}' : ']';
    CHECK_INT(azk_json_validate((struct azk_span){buf, len}, NULL, NULL), 0);
    /* swap one closing bracket: detected as mismatched */
    buf[len - 2] = buf[len - 2] == '}' ? ']' : '}';
    CHECK_INT(azk_json_validate((struct azk_span){buf, len}, NULL, NULL), -EBADMSG);
}

static void test_unescape(void)
{
    static const char doc[] = "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC"
                              "\\ud83d\\ude00\\u0000z\"";
    static const char want[] = "a\"b\\c/d\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\0z";
    struct azk_json_reader r;
    char out[64 + 16];
    size_t len, need, k;

    CHECK_INT(azk_json_reader_init(&r, AZK_SPAN_LIT(doc)), 0);
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(r.token.kind, AZK_JSON_STRING);
    CHECK_INT(azk_json_token_unescape(&r.token, out, sizeof(out), &len), 0);
    CHECK_INT(len, sizeof(want) - 1);
    CHECK(memcmp(out, want, len) == 0);
    need = len;
    /* every smaller buffer: -ENOBUFS, size needed, nothing written past the end */
    for (k = 0; k < need; k++) {
        memset(out, 0xA5, sizeof(out));
        CHECK_INT(azk_json_token_unescape(&r.token, k ? out : NULL, k, &len), -ENOBUFS);
        CHECK_INT(len, need);
        for (size_t g = k; g < sizeof(out); g++)
            CHECK_INT((unsigned char)out[g], 0xA5);
    }
    CHECK(!azk_json_token_eq_str(&r.token, "a\"b")); /* shorter (stops at the \0) */
    CHECK_INT(azk_json_token_unescape(NULL, out, sizeof(out), &len), -EINVAL);
    CHECK_INT(azk_json_string_unescape(AZK_SPAN_LIT("bad\\q"), out, sizeof(out), &len),
              -EBADMSG);
    CHECK_INT(azk_json_string_unescape(AZK_SPAN_LIT("\\ud800x"), out, sizeof(out), &len),
              -EBADMSG);
    CHECK_INT(azk_json_string_unescape(AZK_SPAN_LIT("\\u00"), out, sizeof(out), &len),
              -EBADMSG);
    CHECK_INT(azk_json_string_unescape(AZK_SPAN_LIT(""), NULL, 0, &len), 0);
    CHECK_INT(len, 0);
    /* a number token is not a string */
    CHECK_INT(azk_json_reader_init(&r, AZK_SPAN_LIT("12")), 0);
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(azk_json_token_unescape(&r.token, out, sizeof(out), &len), -EINVAL);
    CHECK(!azk_json_token_eq_str(&r.token, "12"));
}

static void test_eq_str(void)
{
    CHECK(azk_json_string_eq_str(AZK_SPAN_LIT("abc"), "abc"));
    CHECK(azk_json_string_eq_str(AZK_SPAN_LIT("a\\u0062c"), "abc"));
    CHECK(azk_json_string_eq_str(AZK_SPAN_LIT("\\u00e9"), "\xC3\xA9"));
    CHECK(azk_json_string_eq_str(AZK_SPAN_LIT("\\ud83d\\ude00"), "\xF0\x9F\x98\x80"));
    CHECK(azk_json_string_eq_str(AZK_SPAN_LIT(""), ""));
    CHECK(!azk_json_string_eq_str(AZK_SPAN_LIT("abc"), "ab"));
    CHECK(!azk_json_string_eq_str(AZK_SPAN_LIT("ab"), "abc"));
    CHECK(!azk_json_string_eq_str(AZK_SPAN_LIT("a\\u0062"), "aB"));
    CHECK(!azk_json_string_eq_str(AZK_SPAN_LIT("a\\"), "a\\"));
    CHECK(!azk_json_string_eq_str(AZK_SPAN_LIT("abc"), NULL));
    CHECK(!azk_json_token_eq_str(NULL, "x"));
}

static void test_int64(void)
{
    static const struct {
        const char *text;
        int rc;
        int64_t v;
    } cases[] = {
        {"0", 0, 0},
        {"-0", 0, 0},
        {"7", 0, 7},
        {"-42", 0, -42},
        {"401002", 0, 401002},
        {"2147483648", 0, 2147483648LL},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", -ERANGE, 0},
        {"-9223372036854775809", -ERANGE, 0},
        {"18446744073709551616", -ERANGE, 0},
        {"99999999999999999999999999", -ERANGE, 0},
        {"1.0", -EDOM, 0},
        {"1e2", -EDOM, 0},
        {"-1E-2", -EDOM, 0},
        {"1e400", -EDOM, 0},
        {"", -EBADMSG, 0},
        {"01", -EBADMSG, 0},
        {"1 ", -EBADMSG, 0},
        {"-", -EBADMSG, 0},
        {"abc", -EBADMSG, 0},
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = 12345;
        int rc = azk_json_number_to_int64(azk_span_from_str(cases[i].text), &v);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %s\n", cases[i].text);
        CHECK_INT(rc, cases[i].rc);
        CHECK(v == (rc == 0 ? cases[i].v : 12345));
        if (cases[i].rc != -EBADMSG) {
            struct azk_json_reader r;
            CHECK_INT(azk_json_reader_init(&r, azk_span_from_str(cases[i].text)), 0);
            CHECK_INT(azk_json_reader_next(&r), 1);
            CHECK_INT(azk_json_token_get_int64(&r.token, &v), cases[i].rc);
        }
    }
    {
        struct azk_json_reader r;
        int64_t v;
        CHECK_INT(azk_json_reader_init(&r, AZK_SPAN_LIT("\"1\"")), 0);
        CHECK_INT(azk_json_reader_next(&r), 1);
        CHECK_INT(azk_json_token_get_int64(&r.token, &v), -EINVAL);
    }
}

static void test_skip(void)
{
    static const char doc[] =
        "{\"x509\":{},\"a\":{\"b\":[1,{\"c\":null}],\"d\":\"e\"}, \"n\": -1.5 ,\"s\":\"q\\\"\","
        "\"last\":[[],[[]]]}";
    struct azk_json_reader r;
    struct azk_span raw;

    CHECK_INT(azk_json_reader_init(&r, AZK_SPAN_LIT(doc)), 0);
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(azk_json_reader_next(&r), 1); /* "x509" */
    CHECK_INT(azk_json_reader_skip(&r, &raw), 0);
    CHECK_MEM_STR(raw.ptr, raw.len, "{}");
    CHECK_INT(r.token.kind, AZK_JSON_END_OBJECT);
    CHECK_INT(azk_json_reader_next(&r), 1); /* "a" */
    CHECK_INT(azk_json_reader_skip(&r, &raw), 0);
    CHECK_MEM_STR(raw.ptr, raw.len, "{\"b\":[1,{\"c\":null}],\"d\":\"e\"}");
    CHECK_INT(azk_json_reader_next(&r), 1); /* "n" */
    CHECK(azk_json_token_eq_str(&r.token, "n"));
    CHECK_INT(azk_json_reader_skip(&r, &raw), 0);
    CHECK_MEM_STR(raw.ptr, raw.len, "-1.5");
    CHECK_INT(azk_json_reader_next(&r), 1); /* "s" */
    CHECK_INT(azk_json_reader_skip(&r, &raw), 0);
    CHECK_MEM_STR(raw.ptr, raw.len, "\"q\\\"\"");
    CHECK_INT(azk_json_reader_next(&r), 1); /* "last" */
    CHECK_INT(azk_json_reader_next(&r), 1); /* [ */
    CHECK_INT(azk_json_reader_skip(&r, &raw), 0);
    CHECK_MEM_STR(raw.ptr, raw.len, "[[],[[]]]");
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(r.token.kind, AZK_JSON_END_OBJECT);
    CHECK_INT(azk_json_reader_skip(&r, &raw), 0); /* an end token: nothing */
    CHECK_INT(raw.len, 0);
    CHECK_INT(azk_json_reader_next(&r), 0);

    /* skipping into malformed input reports the error */
    CHECK_INT(azk_json_reader_init(&r, AZK_SPAN_LIT("{\"a\":[1,2,}")), 0);
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(azk_json_reader_next(&r), 1);
    CHECK_INT(azk_json_reader_skip(&r, &raw), -EBADMSG);
    CHECK_INT(r.error, AZK_JSON_ERR_UNEXPECTED_CHAR);
    CHECK_INT(r.error_offset, 10);
}

static void test_object_find(void)
{
    static const char obj[] = " {\"telemetrySendFrequency\":\"5m\",\"route\":null,"
                              "\"nested\":{\"$version\":1},\"$version\":8} ";
    struct azk_span v;
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT(obj), "$version", &v), 0);
    CHECK_MEM_STR(v.ptr, v.len, "8");
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT(obj), "telemetrySendFrequency", &v), 0);
    CHECK_MEM_STR(v.ptr, v.len, "\"5m\"");
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT(obj), "route", &v), 0);
    CHECK_MEM_STR(v.ptr, v.len, "null");
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT(obj), "nested", &v), 0);
    CHECK_MEM_STR(v.ptr, v.len, "{\"$version\":1}");
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT(obj), "missing", &v), -ENOENT);
    CHECK(v.ptr == NULL);
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT("{\"a\\u0062\":2}"), "ab", &v), 0);
    CHECK_MEM_STR(v.ptr, v.len, "2");
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT("[1]"), "a", &v), -EBADMSG);
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT("{\"a\":1} x"), "a", &v), -EBADMSG);
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT("{\"a\":1,\"b\":tru}"), "a", &v), -EBADMSG);
    CHECK_INT(azk_json_object_find(AZK_SPAN_LIT("{}"), NULL, &v), -EINVAL);
}

static void test_args(void)
{
    struct azk_json_reader r;
    CHECK_INT(azk_json_reader_init(NULL, AZK_SPAN_LIT("1")), -EINVAL);
    CHECK_INT(azk_json_reader_init(&r, (struct azk_span){NULL, 3}), -EINVAL);
    CHECK_INT(azk_json_reader_next(NULL), -EINVAL);
    CHECK_INT(azk_json_reader_skip(NULL, NULL), -EINVAL);
    CHECK_INT(azk_json_validate((struct azk_span){NULL, 0}, NULL, NULL), -EBADMSG);
    CHECK_INT(azk_json_validate((struct azk_span){NULL, 1}, NULL, NULL), -EINVAL);
}

int main(void)
{
    RUN_TEST(test_tokens);
    RUN_TEST(test_scalars_at_top_level);
    RUN_TEST(test_malformed);
    RUN_TEST(test_utf8_valid);
    RUN_TEST(test_depth);
    RUN_TEST(test_depth_mixed);
    RUN_TEST(test_unescape);
    RUN_TEST(test_eq_str);
    RUN_TEST(test_int64);
    RUN_TEST(test_skip);
    RUN_TEST(test_object_find);
    RUN_TEST(test_args);
    TEST_MAIN_END();
}

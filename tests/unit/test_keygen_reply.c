/* The %KEYGEN answer parser of the nRF91 backend (src/cred/keygen_reply.c):
 * `%KEYGEN: "<base64url CSR DER>.<base64url COSE>"` among the kept information lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cred/at_reply.h"

static void test_decodes_csr_part(void **state)
{
    (void)state;
    unsigned char *der = NULL;
    size_t len = 0;
    /* "MIIB" = 30 82 01; "-_8" = fb ff (base64url alphabet, no padding). */
    assert_int_equal(azki_keygen_parse("+CEREG: 1\n%KEYGEN: \"MIIB-_8.0oRDoQEm\"\n", &der, &len),
                     0);
    assert_int_equal(len, 5);
    const unsigned char want[] = {0x30, 0x82, 0x01, 0xfb, 0xff};
    assert_memory_equal(der, want, 5);
    free(der);
    /* Padding is tolerated. */
    assert_int_equal(azki_keygen_parse("%KEYGEN: \"MA==.AA\"\n", &der, &len), 0);
    assert_int_equal(len, 1);
    free(der);
}

static void test_refuses_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "%KEYGEN: \"MIIB\"\n",        /* no COSE part */
        "%KEYGEN: \"MIIB.\"\n",       /* empty COSE part */
        "%KEYGEN: \".AAAA\"\n",       /* empty CSR part */
        "%KEYGEN: \"MI+B.AAAA\"\n",   /* '+' is base64, not base64url */
        "%KEYGEN: \"MIIB.AAAA\n",     /* no closing quote */
        "%KEYGEN: MIIB.AAAA\n",       /* no quotes */
        "%KEYGEN: \"MIIB.AAAA\",1\n", /* something after the string */
        "%KEYGEN: \"M.AAAA\"\n",      /* 1 character cannot be base64 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char *der = (unsigned char *)"x";
        size_t len = 7;
        assert_int_equal(azki_keygen_parse(bad[i], &der, &len), -EBADMSG);
        assert_null(der);
        assert_int_equal(len, 0);
    }
    unsigned char *der;
    size_t len;
    assert_int_equal(azki_keygen_parse("%CMNG: 1,2,\"AB\"\n", &der, &len), -ENOENT);
    assert_int_equal(azki_keygen_parse("", &der, &len), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_csr_part),
        cmocka_unit_test(test_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

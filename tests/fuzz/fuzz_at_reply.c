/* libFuzzer target: what an nRF91 modem (or anything on the serial line) sends back to an AT
 * command, through the nRF91 backend's reply parser (src/cred/at_reply.h): logical lines with
 * quoted CR/LF, final results, echoes and unsolicited result codes, then the %CMNG list,
 * +CFUN, +CGMR and %KEYGEN parsers on what it kept. The first byte sets the chunk size, so the same
 * reply also arrives split at every kind of boundary, as reads from a UART do. */
#include <stdlib.h>
#include <string.h>

#include "cred/at_reply.h"
#include "fuzz_util.h"

static void check_kept(const struct azki_at_reply *r)
{
    if (r->buf == NULL) {
        REQUIRE(r->len == 0);
        return;
    }
    REQUIRE(r->buf[r->len] == '\0');
    struct azki_cmng_item items[16];
    size_t n = azki_cmng_parse_list(r->buf, items, 16);
    REQUIRE(n <= 16);
    for (size_t i = 0; i < n; i++) {
        REQUIRE(items[i].type >= 0 && items[i].type <= 255);
        REQUIRE(items[i].tag <= 4294967295ul);
        REQUIRE(!items[i].has_sha || strlen(items[i].sha) == 64);
    }
    char fw[8];
    if (azki_at_plain_line(r->buf, fw, sizeof(fw)))
        REQUIRE(strlen(fw) < sizeof(fw));
    int fun = azki_at_cfun(r->buf);
    REQUIRE(fun >= -1 && fun <= 255);
    unsigned char *der = NULL;
    size_t der_len = 99;
    int krc = azki_keygen_parse(r->buf, &der, &der_len);
    REQUIRE(krc != 0 ? der == NULL && der_len == 0 : der != NULL && der_len > 0 &&
                                                          der_len <= r->len);
    free(der);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    struct azki_at_reply *r = malloc(sizeof(*r));
    if (r == NULL)
        return 0;
    azki_at_reply_init(r);
    int rc = 0;
    while (left > 0 && rc == 0) {
        size_t n = left < chunk ? left : chunk, used = 0;
        rc = azki_at_reply_feed(r, p, n, &used);
        REQUIRE(used <= n);
        REQUIRE(rc != 0 || used == n);
        p += used;
        left -= used;
    }
    REQUIRE(rc >= 0);
    REQUIRE(r->done == (rc == 1));
    if (r->done)
        REQUIRE(r->result <= 0);
    check_kept(r);
    azki_at_reply_free(r);
    azki_at_reply_free(r); /* freeing twice is harmless */
    free(r);

    /* The list parser on the raw bytes as one text. */
    char *text = malloc(size);
    if (text != NULL) {
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        struct azki_cmng_item items[4];
        REQUIRE(azki_cmng_parse_list(text, items, 4) <= 4);
        unsigned char *der = NULL;
        size_t der_len = 0;
        if (azki_keygen_parse(text, &der, &der_len) == 0)
            REQUIRE(der != NULL && der_len < size);
        free(der);
        free(text);
    }
    return 0;
}

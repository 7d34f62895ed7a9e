/* libFuzzer target: property-bag iteration, decoding, lookup, and encode → decode identity. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *bag = malloc(size ? size : 1);
    if (!bag)
        return 0;
    memcpy(bag, data, size);
    struct azk_span s = {bag, size};

    struct azk_prop_iter it;
    struct azk_prop p;
    char k[32], v[32];
    int rc;
    azk_prop_iter_init(&it, s);
    size_t guard = 0;
    while ((rc = azk_prop_next_decoded(&it, k, sizeof(k), v, sizeof(v), &p)) != -ENOENT) {
        check(++guard <= size + 1);
        if (rc == -ENOBUFS) {
            check(p.key.len > sizeof(k) || p.value.len > sizeof(v));
            azk_prop_next(&it, &p); /* skip it */
        } else if (rc == 0) {
            check(p.key.len <= sizeof(k) && p.value.len <= sizeof(v) && p.key.len > 0);
        }
    }
    azk_prop_find(s, "$.mid", &p);

    /* encode → decode is the identity; the encoding has no MQTT-special bytes */
    size_t elen;
    rc = azk_pct_encode(s, NULL, 0, &elen);
    check(rc == (size ? -ENOBUFS : 0));
    char *enc = malloc(elen ? elen : 1), *dec = malloc(size ? size : 1);
    if (enc && dec) {
        check(azk_pct_encode(s, enc, elen, &elen) == 0);
        for (size_t i = 0; i < elen; i++)
            check(enc[i] != '+' && enc[i] != '#' && enc[i] != '&' && enc[i] != '/' && enc[i] != 0);
        size_t dlen;
        check(azk_pct_decode((struct azk_span){enc, elen}, dec, size, &dlen) == 0);
        check(dlen == size && memcmp(dec, bag, size) == 0);
        /* one property with this value survives bag build → find → decode */
        struct azk_prop one = {AZK_SPAN_LIT("k"), s, true};
        size_t blen;
        char *b = malloc(elen + 2);
        if (b && azk_prop_bag_build(&one, 1, b, elen + 2, &blen) == 0) {
            check(azk_prop_find((struct azk_span){b, blen}, "k", &p) == 0);
            check(azk_pct_decode(p.value, dec, size, &dlen) == 0 && dlen == size &&
                  memcmp(dec, bag, size) == 0);
        }
        free(b);
    }
    free(enc);
    free(dec);
    /* in-place decode of the raw input must stay inside it */
    size_t n;
    azk_pct_decode(s, bag, size, &n);
    free(bag);
    return 0;
}

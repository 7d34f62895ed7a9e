/* libFuzzer target: PEM splitting and certificate summaries (`cred list`, `pki show`). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/ossl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct azki_pem_block *blocks;
    size_t count;
    bool outside;
    if (azki_pem_parse((const char *)data, size, &blocks, &count, &outside, NULL) == 0)
        azki_pem_free(blocks, count);
    struct azk_cert_summary s[4];
    size_t n;
    azk_x509_summarize_pem((const char *)data, size, s, 4, &n, NULL);
    return 0;
}

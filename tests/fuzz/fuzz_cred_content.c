/* libFuzzer target: credential content as `azkit cred write` receives it from a file.
 * The first byte picks the credential type (0-4); the rest goes through canonicalisation and
 * validation, which must never crash, leak or read out of bounds, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>

#include "cred/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int type = data[0] % AZK_CRED_TYPE_COUNT;
    struct azk_diag d;
    azk_diag_init(&d);
    struct azki_canon canon;
    if (azki_canonicalize(data + 1, size - 1, &canon, &d) != 0)
        return 0;
    struct azki_validated v;
    const char *pass = (data[0] & 0x80) ? "fuzz" : NULL;
    if (azki_validate(type, canon.data, canon.len, pass, &v, &d) == 0) {
        azki_check_size(10, type, canon.len, &d);
        azki_validated_free(&v);
    }
    azki_canon_free(&canon);
    return 0;
}

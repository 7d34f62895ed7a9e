/* What every libFuzzer target here shares: the entry point's prototype and REQUIRE, a check
 * that crashes (so libFuzzer records the input) when an invariant fails. */
#ifndef AZK_FUZZ_UTIL_H
#define AZK_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                              \
    do {                                                                                        \
        if (!(c))                                                                               \
            __builtin_trap();                                                                   \
    } while (0)

#endif

/* A dependency-free test harness for the portable core. The core's unit tests use it instead of
 * cmocka so they cross-compile with nothing but gcc-arm-linux-gnueabihf and run under
 * qemu-arm as 32-bit code (see tests/core/CMakeLists.txt and scripts/test). */
#ifndef AZK_CORE_TEST_H
#define AZK_CORE_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int azk_t_failures;
static const char *azk_t_current;

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, azk_t_current,  \
                    #cond);                                                                     \
            azk_t_failures++;                                                                   \
            return;                                                                             \
        }                                                                                       \
    } while (0)

#define CHECK_INT(a, b)                                                                         \
    do {                                                                                        \
        long long azk_a_ = (long long)(a), azk_b_ = (long long)(b);                             \
        if (azk_a_ != azk_b_) {                                                                 \
            fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,  \
                    azk_t_current, #a, azk_a_, #b, azk_b_);                                     \
            azk_t_failures++;                                                                   \
            return;                                                                             \
        }                                                                                       \
    } while (0)

/* Compares `len` bytes at `ptr` with a NUL-terminated expected string. */
#define CHECK_MEM_STR(ptr, len, expected)                                                       \
    do {                                                                                        \
        const char *azk_e_ = (expected);                                                        \
        size_t azk_l_ = (size_t)(len);                                                          \
        if (azk_l_ != strlen(azk_e_) || memcmp((ptr), azk_e_, azk_l_) != 0) {                   \
            fprintf(stderr, "%s:%d: %s: got \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__,    \
                    azk_t_current, (int)azk_l_, (const char *)(ptr), azk_e_);                   \
            azk_t_failures++;                                                                   \
            return;                                                                             \
        }                                                                                       \
    } while (0)

#define CHECK_STR(a, b) CHECK_MEM_STR((a), strlen(a), (b))

#define RUN_TEST(fn)                                                                            \
    do {                                                                                        \
        int azk_before_ = azk_t_failures;                                                       \
        azk_t_current = #fn;                                                                    \
        fn();                                                                                   \
        printf("%s %s\n", azk_t_failures == azk_before_ ? "ok  " : "FAIL", #fn);                 \
    } while (0)

#define TEST_MAIN_END()                                                                         \
    do {                                                                                        \
        printf("%s: %d failure(s), sizeof(size_t)=%zu\n", __FILE__, azk_t_failures,             \
               sizeof(size_t));                                                                 \
        return azk_t_failures ? 1 : 0;                                                          \
    } while (0)

/* Deterministic PRNG for randomised round trips (xorshift32; same sequence on every target). */
static uint32_t azk_t_rand_state = 2463534242u;
static inline uint32_t azk_t_rand(void)
{
    uint32_t x = azk_t_rand_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return azk_t_rand_state = x;
}

#endif

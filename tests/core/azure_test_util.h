/* Shared by tests/core/test_azure_*.c: builder checks with a guard region. */
#ifndef AZK_AZURE_TEST_UTIL_H
#define AZK_AZURE_TEST_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azkit/azure_dps.h"
#include "azkit/azure_hub.h"

#define GUARD 32
#define GUARD_BYTE 0xA5

typedef int (*build_fn)(const void *ctx, char *buf, size_t size, size_t *len);

static inline bool guard_ok(const char *mem, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if ((unsigned char)mem[i] != GUARD_BYTE)
            return false;
    return true;
}

/* Runs `fn` with every buffer size from 0 to len(expected) + GUARD: too small gives -ENOBUFS
 * with the size needed and nothing written past the size given; big enough gives exactly
 * `expected` and nothing written past it. */
static inline bool check_build(build_fn fn, const void *ctx, const char *expected)
{
    size_t n = strlen(expected);
    char *mem = malloc(n + 2 * GUARD);
    bool ok = mem != NULL;
    size_t len = 0;
    if (ok && (fn(ctx, NULL, 0, &len) != (n ? -ENOBUFS : 0) || len != n)) {
        fprintf(stderr, "  NULL/0 probe: len %zu, expected %zu\n", len, n);
        ok = false;
    }
    for (size_t size = 0; ok && size <= n + GUARD; size++) {
        memset(mem, GUARD_BYTE, n + 2 * GUARD);
        len = 99999;
        int rc = fn(ctx, mem, size, &len);
        if (size < n) {
            ok = rc == -ENOBUFS && len == n && guard_ok(mem, size, n + 2 * GUARD);
        } else {
            ok = rc == 0 && len == n && memcmp(mem, expected, n) == 0 &&
                 guard_ok(mem, n, n + 2 * GUARD);
        }
        if (!ok)
            fprintf(stderr, "  size %zu: rc %d len %zu, got \"%.*s\" expected \"%s\"\n", size, rc,
                    len, (int)(len < size ? len : size), mem, expected);
    }
    free(mem);
    return ok;
}

/* Builds into a static buffer for round trips. */
static char rt_buf[4096];
static inline struct azk_span built(build_fn fn, const void *ctx)
{
    size_t len = 0;
    struct azk_span s = {NULL, 0};
    if (fn(ctx, rt_buf, sizeof(rt_buf), &len) == 0) {
        s.ptr = rt_buf;
        s.len = len;
    }
    return s;
}

#endif

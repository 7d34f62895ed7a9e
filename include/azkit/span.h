/**
 * @file span.h
 * @brief Non-owning views of bytes, used by the portable core.
 *
 * The core (MQTT codec, Azure protocol, JSON) never allocates: inputs are spans into caller
 * memory and outputs are written into caller buffers. A span does not need to be
 * NUL-terminated.
 */
#ifndef AZKIT_SPAN_H
#define AZKIT_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A read-only view of `len` bytes at `ptr`. `ptr` may be NULL only when `len` is 0. */
struct azk_span {
    const char *ptr;
    size_t len;
};

/** A span over a string literal (compile-time length, no strlen). */
#define AZK_SPAN_LIT(s) ((struct azk_span){(s), sizeof(s) - 1})

/** @brief A span over a NUL-terminated string (NULL gives the empty span). */
static inline struct azk_span azk_span_from_str(const char *s)
{
    struct azk_span sp = {s, s ? strlen(s) : 0};
    return sp;
}

/** @brief Byte-wise equality. */
static inline bool azk_span_eq(struct azk_span a, struct azk_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/** @brief Equality with a NUL-terminated string. */
static inline bool azk_span_eq_str(struct azk_span a, const char *s)
{
    return azk_span_eq(a, azk_span_from_str(s));
}

#ifdef __cplusplus
}
#endif
#endif

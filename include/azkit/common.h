/**
 * @file common.h
 * @brief Conventions shared by every azkit API: export macro, error codes, version.
 *
 * Errors: every function that can fail returns 0 (or a non-negative count) on success and a
 * negative errno value on failure (-EINVAL, -ENOENT, -EACCES, ...), the convention nRF91 and
 * Zephyr users already read. azk_strerror() turns one into text. Functions that need to say
 * more than a code (why a certificate was refused, what to do about it) also fill a
 * struct azk_diag (see diag.h).
 */
#ifndef AZKIT_COMMON_H
#define AZKIT_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AZK_API __attribute__((visibility("default")))
#else
#define AZK_API
#endif

/**
 * @brief Text for an azkit return code.
 * @param err A value returned by an azkit function: 0 or a negative errno value. A positive
 *            errno value is accepted too.
 * @return A static, NUL-terminated string; never NULL. Every code the library returns has its
 *         own text; any other code gives "error code not known to azkit (`azkit errno N`
 *         explains it)".
 */
AZK_API const char *azk_strerror(int err);

/** @brief The library version, e.g. "0.1.0". */
AZK_API const char *azk_version(void);

#ifdef __cplusplus
}
#endif
#endif

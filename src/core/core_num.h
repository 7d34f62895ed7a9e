/* Number conversions for the core, shared by every module that prints or parses a number.
 * No 64-bit division: on a Cortex-M33 `uint64_t / 10` pulls in __aeabi_uldivmod (~800 bytes
 * of flash), so formatting divides 16-bit limbs with 32-bit divisions (the CPU's UDIV) and
 * parsing checks overflow against a compile-time constant. */
#ifndef AZK_CORE_NUM_H
#define AZK_CORE_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "azkit/span.h"

/* Longest decimal form of an int64_t: "-9223372036854775808". */
#define AZKI_DEC_MAX 20

/* Writes `v` in decimal into out (no NUL); returns the number of characters. */
size_t azki_u64_to_dec(uint64_t v, char out[AZKI_DEC_MAX]);
/* Same for a signed value (with a leading '-'). */
size_t azki_i64_to_dec(int64_t v, char out[AZKI_DEC_MAX]);

/* Parses 1..20 decimal digits (nothing else) into *out, refusing values above `max`.
 * Returns 0, or -EBADMSG for an empty span, a non-digit, or a value over `max`. */
int azki_dec_to_u64(struct azk_span s, uint64_t max, uint64_t *out);

/* The value (0-15) of the hexadecimal digit `c`, either case, or -1 when it is not one. */
int azki_hex_digit(char c);

#endif

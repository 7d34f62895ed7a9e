/**
 * @file azure_ids.h
 * @brief Azure's rules for IoT Hub device ids and DPS registration ids (portable core).
 *
 * The validators report *why* an id is refused without printf: a reason code, the rule as a
 * static string, and the offending index and byte. azk_id_error_format() turns that into one
 * line of text for a log or a CLI. Every topic and username builder of azure_hub.h and
 * azure_dps.h runs these checks first.
 */
#ifndef AZKIT_AZURE_IDS_H
#define AZKIT_AZURE_IDS_H

#include <stddef.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest IoT Hub device (and module) id. */
#define AZK_DEVICE_ID_MAX 128
/** Longest DPS registration id. */
#define AZK_REGISTRATION_ID_MAX 64

/** The characters besides ASCII letters and digits that a device id may contain. */
#define AZK_DEVICE_ID_SPECIALS "-:.+%_#*?!(),=@;$'"

/** The rule for device ids, as a sentence (also in azk_id_error::rule). */
#define AZK_DEVICE_ID_RULE                                                                    \
    "device ids are 1 to 128 ASCII letters, digits and - : . + % _ # * ? ! ( ) , = @ ; $ '"
/** The rule for DPS registration ids, as a sentence (also in azk_id_error::rule). */
#define AZK_REGISTRATION_ID_RULE                                                              \
    "DPS registration ids are 1 to 64 lowercase letters, digits and - . _ :"

/** What is wrong with an id. */
enum azk_id_problem {
    AZK_ID_OK = 0,    /**< Nothing: the id is valid. */
    AZK_ID_EMPTY,     /**< The id is empty (or NULL). */
    AZK_ID_TOO_LONG,  /**< The id is longer than the maximum; `index` holds its length. */
    AZK_ID_BAD_CHAR,  /**< `byte` at 0-based `index` is not allowed. */
};

/** Why an id was refused. All pointers are static strings (never NULL after a check). */
struct azk_id_error {
    enum azk_id_problem problem; /**< The reason code. */
    const char *rule;            /**< The rule that was broken (AZK_*_ID_RULE). */
    size_t index;                /**< Offending 0-based index (BAD_CHAR) or the length (TOO_LONG). */
    unsigned char byte;          /**< The offending byte (BAD_CHAR), else 0. */
};

/**
 * @brief Checks an IoT Hub device id (also used for module ids): case-sensitive, 1..128 ASCII
 *        letters, digits and `- : . + % _ # * ? ! ( ) , = @ ; $ '`.
 * @param id  The id (need not be NUL-terminated).
 * @param err Filled with the reason (AZK_ID_OK on success); may be NULL.
 * @return 0 if valid, -EINVAL if not.
 */
AZK_API int azk_device_id_validate(struct azk_span id, struct azk_id_error *err);

/**
 * @brief Checks a DPS registration id: 1..64 lowercase ASCII letters, digits and `- . _ :`.
 * @param id  The id (need not be NUL-terminated).
 * @param err Filled with the reason (AZK_ID_OK on success); may be NULL.
 * @return 0 if valid, -EINVAL if not.
 */
AZK_API int azk_registration_id_validate(struct azk_span id, struct azk_id_error *err);

/**
 * @brief Writes a one-line explanation of an id error, e.g.
 *        "'/' at position 4 is not allowed; device ids are 1 to 128 ...". Positions in the
 *        text are 1-based.
 * @param err  A result of azk_device_id_validate() or azk_registration_id_validate().
 * @param buf  Destination; always NUL-terminated when `size` > 0 (truncated if too small).
 * @param size Size of `buf` in bytes; 0 writes nothing.
 * @return The length of the full message (excluding the NUL), like strlcpy: a result >= size
 *         means it was truncated.
 */
AZK_API size_t azk_id_error_format(const struct azk_id_error *err, char *buf, size_t size);

/**
 * @brief Device id check for NUL-terminated strings with the explanation as text.
 * @param id      NUL-terminated id; NULL counts as empty.
 * @param why     Receives the explanation (azk_id_error_format), "" when valid; may be NULL.
 * @param why_len Size of `why`.
 * @return 0 if valid, -EINVAL if not.
 */
AZK_API int azk_device_id_check(const char *id, char *why, size_t why_len);

/**
 * @brief Registration id check for NUL-terminated strings with the explanation as text.
 * @param id      NUL-terminated id; NULL counts as empty.
 * @param why     Receives the explanation, "" when valid; may be NULL.
 * @param why_len Size of `why`.
 * @return 0 if valid, -EINVAL if not.
 */
AZK_API int azk_registration_id_check(const char *id, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif
#endif

/**
 * @file json.h
 * @brief Zero-allocation JSON (RFC 8259) reader and writer of the portable core.
 *
 * The reader is a pull tokenizer over a span: each azk_json_reader_next() call validates and
 * returns one token whose text is a span into the input. The writer appends to a caller
 * buffer. Neither allocates, uses floating point or keeps static state.
 *
 * Strictness of the reader (what the hub relies on):
 * - the input is exactly one JSON value with only whitespace (space, tab, CR, LF) around it;
 * - no trailing commas, comments, single quotes, leading zeros, NaN/Infinity, or `+` signs;
 * - strings: only the escapes of RFC 8259 (`\" \\ \/ \b \f \n \r \t \uXXXX`); a `\u` high
 *   surrogate must be followed by a `\u` low surrogate and a low surrogate never stands alone;
 *   raw bytes below 0x20 are rejected; **UTF-8 is validated** (no overlong forms, no encoded
 *   surrogates, nothing above U+10FFFF, no truncated sequences), so every string token decodes
 *   to valid UTF-8 (`\u0000` is allowed and decodes to a NUL byte);
 * - nesting depth is limited to AZK_JSON_MAX_DEPTH, tracked in a bit stack inside the reader.
 *
 * Errors are negative errno values: -EBADMSG for malformed JSON and -E2BIG for nesting deeper
 * than AZK_JSON_MAX_DEPTH; the reader also records a precise enum azk_json_error and the byte
 * offset where the problem was found.
 */
#ifndef AZKIT_JSON_H
#define AZKIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Deepest nesting of objects and arrays the reader and writer accept (a top-level object is
 * depth 1). A compile-time constant because it sizes the bit stacks inside struct
 * azk_json_reader and struct azk_json_writer; the library and its users must agree on it.
 */
#define AZK_JSON_MAX_DEPTH 64

/** Kind of a JSON token. */
enum azk_json_token_kind {
    AZK_JSON_NONE = 0,          /**< No token yet (after init) or the end of the input. */
    AZK_JSON_BEGIN_OBJECT,      /**< `{` */
    AZK_JSON_END_OBJECT,        /**< `}` */
    AZK_JSON_BEGIN_ARRAY,       /**< `[` */
    AZK_JSON_END_ARRAY,         /**< `]` */
    AZK_JSON_PROPERTY_NAME,     /**< A member name (the `:` after it is consumed too). */
    AZK_JSON_STRING,            /**< A string value. */
    AZK_JSON_NUMBER,            /**< A number (its grammar is validated; not converted). */
    AZK_JSON_TRUE,              /**< `true` */
    AZK_JSON_FALSE,             /**< `false` */
    AZK_JSON_NULL,              /**< `null` */
};

/** Why the reader rejected its input (see azk_json_error_str()). */
enum azk_json_error {
    AZK_JSON_OK = 0,                /**< No error. */
    AZK_JSON_ERR_EMPTY,             /**< The input holds no value (empty or only whitespace). */
    AZK_JSON_ERR_TRUNCATED,         /**< The input ends inside a value. */
    AZK_JSON_ERR_UNEXPECTED_CHAR,   /**< A byte that cannot appear here (e.g. `'`, `:`, `}`). */
    AZK_JSON_ERR_EXPECTED_NAME,     /**< An object member does not start with a string name. */
    AZK_JSON_ERR_EXPECTED_COLON,    /**< A member name is not followed by `:`. */
    AZK_JSON_ERR_TRAILING_COMMA,    /**< `,` directly before `}` or `]`. */
    AZK_JSON_ERR_MISMATCHED_BRACKET,/**< `]` closing an object or `}` closing an array. */
    AZK_JSON_ERR_TRAILING_DATA,     /**< Something other than whitespace after the value. */
    AZK_JSON_ERR_BAD_LITERAL,       /**< Not `true`, `false` or `null` (e.g. `True`, `nul`). */
    AZK_JSON_ERR_BAD_NUMBER,        /**< Bad number syntax (`-`, `1.`, `.5`, `1e`, `+1`). */
    AZK_JSON_ERR_LEADING_ZERO,      /**< A number with a leading zero (`01`, `-00`). */
    AZK_JSON_ERR_BAD_ESCAPE,        /**< Unknown escape (`\x`) or bad hex digits in `\u`. */
    AZK_JSON_ERR_BAD_SURROGATE,     /**< Unpaired or misordered `\uD800`-`\uDFFF` escape. */
    AZK_JSON_ERR_CONTROL_CHAR,      /**< A raw byte below 0x20 inside a string. */
    AZK_JSON_ERR_BAD_UTF8,          /**< Invalid UTF-8 inside a string. */
    AZK_JSON_ERR_DEPTH,             /**< Nesting deeper than AZK_JSON_MAX_DEPTH. */
};

/** One token. All spans point into the reader's input. */
struct azk_json_token {
    enum azk_json_token_kind kind; /**< What the token is. */
    /**
     * The token's text. Strings and property names: the raw bytes between the quotes, escapes
     * NOT decoded (see has_escapes, azk_json_token_unescape(), azk_json_token_eq_str()).
     * Numbers and literals: their text. Brackets: the one bracket byte.
     */
    struct azk_span slice;
    bool has_escapes; /**< A string or name whose slice contains at least one `\` escape. */
    size_t offset;    /**< Byte offset of the token's first byte (the `"` of a string). */
};

/** A pull reader. Initialise with azk_json_reader_init(); members starting `_` are private. */
struct azk_json_reader {
    struct azk_json_token token; /**< The current token (valid after next() returned 1). */
    enum azk_json_error error;   /**< Why reading failed (AZK_JSON_OK until it does). */
    size_t error_offset;         /**< Byte offset of the error in the input. */
    struct azk_span _in;
    size_t _pos;
    uint16_t _depth;
    uint8_t _state;
    uint8_t _stack[(AZK_JSON_MAX_DEPTH + 7) / 8];
};

/**
 * @brief Starts reading a JSON document.
 * @param r    The reader to initialise (not NULL).
 * @param json The whole document. It must stay valid and unchanged while the reader and its
 *             tokens are used. `json.ptr` may be NULL only when `json.len` is 0.
 * @return 0, or -EINVAL when r is NULL or json has a NULL pointer with a non-zero length.
 */
AZK_API int azk_json_reader_init(struct azk_json_reader *r, struct azk_span json);

/**
 * @brief Reads the next token into r->token.
 * @param r An initialised reader.
 * @return 1 when a token was read; 0 when the document is complete (the single value has been
 *         read and only whitespace follows it; r->token.kind is then AZK_JSON_NONE);
 *         -EBADMSG for malformed input, -E2BIG for nesting deeper than AZK_JSON_MAX_DEPTH
 *         (r->error and r->error_offset say what and where); -EINVAL when r is NULL.
 *         Errors are sticky: later calls return the same error.
 */
AZK_API int azk_json_reader_next(struct azk_json_reader *r);

/**
 * @brief Skips the value that starts at the current token.
 *
 * Current token a property name: reads its value (the whole subtree for an object or array).
 * Current token a begin-object/array: reads up to and including the matching end token.
 * Any other current token: nothing is read. Afterwards r->token is the value's last token.
 *
 * @param r   An initialised reader.
 * @param raw Optional (may be NULL): receives the value's complete text, a span into the input
 *            (quotes included for a string, brackets for a container). Empty when the current
 *            token was an end token or none.
 * @return 0, or the error of azk_json_reader_next() (-EBADMSG, -E2BIG), or -EINVAL for a NULL
 *         reader or a document that ended before the value (cannot happen for valid input).
 */
AZK_API int azk_json_reader_skip(struct azk_json_reader *r, struct azk_span *raw);

/**
 * @brief Checks that a span is exactly one valid JSON value (surrounding whitespace allowed).
 * @param json   The text.
 * @param reason Optional: receives the precise reason (AZK_JSON_OK when valid).
 * @param offset Optional: receives the byte offset of the error (0 when valid).
 * @return 0 when valid, -EBADMSG when malformed, -E2BIG when nested too deep, -EINVAL for a
 *         NULL pointer with a non-zero length.
 */
AZK_API int azk_json_validate(struct azk_span json, enum azk_json_error *reason, size_t *offset);

/**
 * @brief Compares a string or property-name token with a NUL-terminated string, decoding the
 *        token's escapes (so `"a\u0062"` equals "ab").
 * @param t A token from the reader. Tokens of any other kind never compare equal.
 * @param s The text to compare with (UTF-8; NULL never compares equal).
 * @return true when the decoded token equals s byte for byte.
 */
AZK_API bool azk_json_token_eq_str(const struct azk_json_token *t, const char *s);

/**
 * @brief Same as azk_json_token_eq_str() for the raw contents of a JSON string (the bytes
 *        between the quotes, e.g. a string field returned by the payload parsers).
 * @param raw Escaped string contents, as found in valid JSON. A malformed escape compares
 *            unequal.
 * @param s   The text to compare with (NULL never compares equal).
 * @return true when the decoded text equals s.
 */
AZK_API bool azk_json_string_eq_str(struct azk_span raw, const char *s);

/**
 * @brief Decodes a string or property-name token (escapes resolved, `\u` to UTF-8).
 * @param t        A string or property-name token.
 * @param buf      Output buffer (may be NULL when buf_size is 0). No NUL terminator is written.
 * @param buf_size Size of buf.
 * @param out_len  Receives the decoded length, or the length needed on -ENOBUFS (not NULL).
 * @return 0; -ENOBUFS when buf is too small (nothing beyond buf_size is written; the contents
 *         of buf are unspecified); -EINVAL for a NULL argument or a token that is not a string
 *         or property name; -EBADMSG for a malformed escape (not possible for reader tokens).
 */
AZK_API int azk_json_token_unescape(const struct azk_json_token *t, char *buf, size_t buf_size,
                                    size_t *out_len);

/**
 * @brief Same as azk_json_token_unescape() for the raw contents of a JSON string.
 * @param raw      Escaped string contents (the bytes between the quotes).
 * @param buf      Output buffer (may be NULL when buf_size is 0). No NUL terminator is written.
 * @param buf_size Size of buf.
 * @param out_len  Receives the decoded length, or the length needed on -ENOBUFS (not NULL).
 * @return 0, -ENOBUFS, -EINVAL (NULL argument), -EBADMSG (malformed escape or surrogate).
 */
AZK_API int azk_json_string_unescape(struct azk_span raw, char *buf, size_t buf_size,
                                     size_t *out_len);

/**
 * @brief Converts a number token to int64_t (no floating point involved).
 * @param t   A token; must be AZK_JSON_NUMBER.
 * @param out Receives the value (not NULL); unchanged on error.
 * @return 0; -EDOM when the number has a fraction or exponent (even `1.0` or `1e2`); -ERANGE
 *         when it is outside [INT64_MIN, INT64_MAX]; -EINVAL for a NULL argument or a token
 *         that is not a number.
 */
AZK_API int azk_json_token_get_int64(const struct azk_json_token *t, int64_t *out);

/**
 * @brief Converts the text of a JSON number (e.g. a raw value span) to int64_t.
 * @param text The number's text, without surrounding whitespace.
 * @param out  Receives the value (not NULL); unchanged on error.
 * @return 0; -EDOM for a fraction or exponent; -ERANGE when out of range; -EBADMSG when text
 *         is not a JSON number; -EINVAL for a NULL out.
 */
AZK_API int azk_json_number_to_int64(struct azk_span text, int64_t *out);

/**
 * @brief Finds a member of a JSON object by name (top level of that object only).
 *
 * The whole object is validated, also after the member is found.
 *
 * @param object    A JSON object (whitespace around it allowed).
 * @param name      Member name to look for (compared after decoding escapes; not NULL).
 * @param raw_value Optional: receives the member's value text, a span into object. When the
 *                  name occurs more than once the first occurrence is reported.
 * @return 0 when found; -ENOENT when the object has no such member; -EBADMSG when object is
 *         not valid JSON or not an object; -E2BIG when nested too deep; -EINVAL for a NULL name.
 */
AZK_API int azk_json_object_find(struct azk_span object, const char *name,
                                 struct azk_span *raw_value);

/** @brief Short English text for a reader error reason; never NULL. */
AZK_API const char *azk_json_error_str(enum azk_json_error err);

/**
 * A writer into a caller buffer. Initialise with azk_json_writer_init(); members are private.
 *
 * Commas and colons are inserted automatically and the structure is checked (a value inside
 * an object needs a property name first, ends must match begins, only one top-level value).
 * Running out of space is not an error of the individual calls: the writer stops storing
 * bytes (never writing past buf_size) but keeps counting, and azk_json_writer_finish()
 * returns -ENOBUFS with the total size needed. Any other error is sticky: the call that hits
 * it returns it, later calls do nothing and return it, and finish() returns it.
 */
struct azk_json_writer {
    char *_buf;
    size_t _size;
    size_t _len;
    int _err;
    uint16_t _depth;
    uint8_t _flags;
    uint8_t _stack[(AZK_JSON_MAX_DEPTH + 7) / 8];
};

/**
 * @brief Starts writing into a buffer.
 * @param w        The writer (not NULL).
 * @param buf      The output buffer; may be NULL when buf_size is 0 (to measure the size).
 * @param buf_size Size of buf in bytes. No NUL terminator is ever written.
 * @return 0, or -EINVAL for a NULL writer or a NULL buf with a non-zero buf_size.
 */
AZK_API int azk_json_writer_init(struct azk_json_writer *w, char *buf, size_t buf_size);

/**
 * @brief Writes `{`. @param w The writer.
 * @return 0; -EINVAL when a value is not allowed here (object member without a name, second
 *         top-level value); -E2BIG beyond AZK_JSON_MAX_DEPTH; or an earlier sticky error.
 */
AZK_API int azk_json_writer_begin_object(struct azk_json_writer *w);

/**
 * @brief Writes `}`. @param w The writer.
 * @return 0; -EINVAL when the innermost open container is not an object or a name awaits its
 *         value; or an earlier sticky error.
 */
AZK_API int azk_json_writer_end_object(struct azk_json_writer *w);

/** @brief Writes `[`. @param w The writer. @return As azk_json_writer_begin_object(). */
AZK_API int azk_json_writer_begin_array(struct azk_json_writer *w);

/**
 * @brief Writes `]`. @param w The writer.
 * @return 0; -EINVAL when the innermost open container is not an array; or a sticky error.
 */
AZK_API int azk_json_writer_end_array(struct azk_json_writer *w);

/**
 * @brief Writes a member name and its `:` (escaped like a string).
 * @param w    The writer; the innermost open container must be an object awaiting a name.
 * @param name The name as UTF-8 text (not escaped).
 * @return 0; -EINVAL when not inside an object, a name awaits its value, or name has a NULL
 *         ptr with a non-zero len; -EBADMSG when name is not valid UTF-8; or an earlier sticky
 *         error.
 */
AZK_API int azk_json_writer_property_name(struct azk_json_writer *w, struct azk_span name);

/**
 * @brief Writes a string value, escaping `"`, `\` and bytes below 0x20 (`\b \f \n \r \t`, the
 *        others as `\u00XX`). Valid UTF-8 is copied unchanged.
 * @param w     The writer.
 * @param value UTF-8 text (not escaped).
 * @return 0; -EINVAL when a value is not allowed here or value has a NULL ptr with a non-zero
 *         len; -EBADMSG when value is not valid UTF-8 (nothing is written); or an earlier
 *         sticky error.
 */
AZK_API int azk_json_writer_string(struct azk_json_writer *w, struct azk_span value);

/**
 * @brief Writes an integer. @param w The writer. @param value Any int64_t value.
 * @return 0; -EINVAL when a value is not allowed here; or an earlier sticky error.
 */
AZK_API int azk_json_writer_int64(struct azk_json_writer *w, int64_t value);

/**
 * @brief Writes `true` or `false`. @param w The writer. @param value The value.
 * @return As azk_json_writer_int64().
 */
AZK_API int azk_json_writer_bool(struct azk_json_writer *w, bool value);

/** @brief Writes `null`. @param w The writer. @return As azk_json_writer_int64(). */
AZK_API int azk_json_writer_null(struct azk_json_writer *w);

/**
 * @brief Writes a complete JSON value given as text (e.g. a method or DPS custom payload).
 *
 * The text is validated with the reader first; whitespace around it is dropped, whitespace
 * inside is kept. Its nesting counts from the current depth, so the total stays within
 * AZK_JSON_MAX_DEPTH.
 *
 * @param w    The writer.
 * @param json One JSON value.
 * @return 0; -EINVAL when a value is not allowed here; -EBADMSG when json is not one valid
 *         JSON value (nothing is written; the error is sticky); -E2BIG when nested too deep;
 *         or an earlier sticky error.
 */
AZK_API int azk_json_writer_raw(struct azk_json_writer *w, struct azk_span json);

/**
 * @brief Bytes still free in the buffer (0 once the writer overflowed).
 * @param w The writer (NULL gives 0).
 * @return The free space.
 */
AZK_API size_t azk_json_writer_remaining(const struct azk_json_writer *w);

/**
 * @brief Total bytes the output needs so far (equals the bytes written unless overflowed).
 * @param w The writer (NULL gives 0).
 * @return The size needed.
 */
AZK_API size_t azk_json_writer_needed(const struct azk_json_writer *w);

/**
 * @brief Ends writing: checks the document is complete and reports its length.
 * @param w       The writer.
 * @param out_len Receives the length written, or on -ENOBUFS the total size needed (not NULL).
 * @return 0; -ENOBUFS when the buffer was too small; -EINVAL when no value was written or a
 *         container is still open; or the first sticky error.
 */
AZK_API int azk_json_writer_finish(struct azk_json_writer *w, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif

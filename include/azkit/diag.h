/**
 * @file diag.h
 * @brief Structured findings: what went wrong (or looks wrong), in words, with the fix.
 *
 * A struct azk_diag collects findings from one operation. Each finding has a severity, a
 * stable machine-readable code (for scripts and --json output, e.g. "cred.crlf-normalised"),
 * a message that names the thing, and a fix. Findings never contain secret material.
 */
#ifndef AZKIT_DIAG_H
#define AZKIT_DIAG_H

#include <stddef.h>

#include "azkit/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Severity of a finding. */
enum azk_severity {
    AZK_SEV_INFO = 0,    /**< Worth knowing; nothing is wrong. */
    AZK_SEV_WARNING = 1, /**< The operation went ahead but the result will probably cause trouble. */
    AZK_SEV_ERROR = 2,   /**< The operation was refused; nothing was changed. */
};

#define AZK_DIAG_MAX 16   /**< Findings kept per operation; more are counted in `dropped`. */
#define AZK_DIAG_TEXT 320 /**< Size of each text field, including the NUL. */

/** One finding. */
struct azk_finding {
    enum azk_severity severity;
    const char *code;             /**< Stable identifier, static storage, e.g. "cred.key-mismatch". */
    char message[AZK_DIAG_TEXT];  /**< What is wrong, naming the credential or certificate. */
    char fix[AZK_DIAG_TEXT];      /**< What to do about it; may be empty. */
};

/** A list of findings. Initialise with azk_diag_init() before passing it to an API. */
struct azk_diag {
    size_t count;   /**< Findings stored in `items`. */
    size_t dropped; /**< Findings that did not fit. */
    struct azk_finding items[AZK_DIAG_MAX];
};

/**
 * @brief Empty a finding list.
 * @param d The list; must not be NULL.
 */
AZK_API void azk_diag_init(struct azk_diag *d);

/**
 * @brief Add a finding. Texts longer than AZK_DIAG_TEXT-1 bytes are truncated.
 * @param d     The list; NULL is accepted and ignored (callers that do not want findings).
 * @param sev   Severity.
 * @param code  Stable code, static storage.
 * @param fix   Fix text, or NULL for none.
 * @param fmt   printf-style message.
 */
AZK_API void azk_diag_add(struct azk_diag *d, enum azk_severity sev, const char *code,
                          const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/**
 * @brief Whether the list holds at least one finding of severity @p sev or worse.
 * @param d The list, or NULL (gives 0).
 * @param sev Minimum severity.
 * @return 1 if such a finding exists, else 0.
 */
AZK_API int azk_diag_has(const struct azk_diag *d, enum azk_severity sev);

/**
 * @brief Find the first finding with a given code.
 * @return The finding, or NULL when none has that code (or @p d is NULL).
 */
AZK_API const struct azk_finding *azk_diag_find(const struct azk_diag *d, const char *code);

/** @brief "info", "warning" or "error". */
AZK_API const char *azk_severity_name(enum azk_severity sev);

#ifdef __cplusplus
}
#endif
#endif

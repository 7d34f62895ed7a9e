/*
 * Comparing a command example in the docs with what the command really prints. Values that
 * differ from run to run (dates, hex thumbprints and serials, base64, the scratch directory)
 * are masked on both sides; everything else must be equal. In the docs, a line that is only
 * "..." stands for any number of lines, a line or JSON string ending in (or holding) "..." is
 * abbreviated there, a JSON object with a "..." key shows only some of its members, and a
 * JSON array element {"...": "..."} stands for the remaining elements.
 */
#ifndef AZK_DOC_COMPARE_H
#define AZK_DOC_COMPARE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* `s` with dates, timestamps, hex runs of 16+ digits and base64 runs masked (malloc'd). */
char *azk_doc_mask(const char *s);

/* Whether the real text matches the documented lines. With `excerpt`, the documented lines
 * may be any contiguous part of the real text; otherwise all of it. On a mismatch, `why`
 * (size `n`) names the first documented line that did not match. */
bool azk_doc_text_matches(const char *doc, const char *real, bool excerpt, char *why, size_t n);

/* Whether the real JSON value has the documented shape and values (see above). The size of
 * a type 1 credential (a certificate chain) may differ by a few bytes: ECDSA signatures and
 * serial numbers vary in length. */
bool azk_doc_json_matches(const cJSON *doc, const cJSON *real, char *why, size_t n);

#endif

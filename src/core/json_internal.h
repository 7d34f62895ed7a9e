/* Helpers shared by the JSON reader, writer and payload code of the core (not public API). */
#ifndef AZK_CORE_JSON_INTERNAL_H
#define AZK_CORE_JSON_INTERNAL_H

#include <stddef.h>

#include "azkit/json.h"

/* Length (2..4) of the valid UTF-8 sequence starting with p[0] >= 0x80 within n bytes; 0 when
 * invalid (bad lead byte, bad continuation, overlong, surrogate, above U+10FFFF); -1 when the
 * n bytes end before the sequence does although its prefix is valid. */
int azki_json__utf8_seq(const unsigned char *p, size_t n);

/* Trims JSON whitespace (space, tab, CR, LF) on both sides. */
void azki_json__trim(const char **p, size_t *n);

/* Starts reading `body`, whose first token must open an object. 0, -EBADMSG or the reader's
 * error. (Shared by the DPS and twin payload parsers.) */
int azki_json__open_object(struct azk_json_reader *r, struct azk_span body);
/* After the top-level object: only whitespace may follow. 0, -EBADMSG or the reader's error. */
int azki_json__close_document(struct azk_json_reader *r);

#endif

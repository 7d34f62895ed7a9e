/* The AT reply parser of the nRF91 backend (backend_nrf91.c), apart from the serial line so
 * that it can be fuzzed (tests/fuzz/fuzz_at_reply.c). Internal to libazkit.
 *
 * A reply is read as logical lines: CR or LF ends a line except inside double quotes (a
 * %CMNG read carries the PEM's line ends inside its quotes). It ends at the final result
 * `OK`, `ERROR` or `+CME ERROR: <n>`; every other line (information lines, an echo of the
 * command, unsolicited result codes such as `+CEREG: 1`) is kept, each followed by '\n'. */
#ifndef AZK_CRED_AT_REPLY_H
#define AZK_CRED_AT_REPLY_H

#include <stdbool.h>
#include <stddef.h>

struct azki_at_reply {
    char *buf;  /* the information lines (heap, NUL-terminated), or NULL */
    size_t len; /* bytes in buf */
    bool done;  /* a final result arrived */
    int result; /* when done: 0 OK, -EIO ERROR, else the errno of the CME code */
    int cme;    /* the +CME ERROR code, or -1 */
    /* parser state */
    size_t cap, ll;
    bool quoted, partial;
    char line[8192];
};

/* Starts an empty reply. */
void azki_at_reply_init(struct azki_at_reply *r);

/* Feeds received bytes. *used (may be NULL) receives how many were consumed: everything, or up
 * to and including the line end of the final result. Returns 1 when the reply is complete, 0
 * when more is needed, -ENOMEM. */
int azki_at_reply_feed(struct azki_at_reply *r, const char *p, size_t n, size_t *used);

/* Frees the information lines. */
void azki_at_reply_free(struct azki_at_reply *r);

/* One `%CMNG: <sec_tag>,<type>[,"<sha>"]` line of a list reply. */
struct azki_cmng_item {
    unsigned long tag;
    int type;
    bool has_sha; /* the line had a 64-hex-digit SHA-256 */
    char sha[65];
};

/* Parses the %CMNG list lines of `text` (lines ending '\n'); other lines are skipped, as are
 * malformed ones (a tag above 4294967295, a type above 255). Returns how many were stored in
 * `items` (at most `max`). */
size_t azki_cmng_parse_list(const char *text, struct azki_cmng_item *items, size_t max);

/* The first information line of `text` that is not an unsolicited result code or an echo
 * (does not start with '+', '%' or "AT"), copied into out (cut to fit); false when none. For
 * AT+CGMR, which answers with the bare firmware name. */
bool azki_at_plain_line(const char *text, char *out, size_t size);

/* The functional mode from a `+CFUN: <fun>` line of `text`; -1 when none. */
int azki_at_cfun(const char *text);

/* The CSR of a `%KEYGEN: "<base64url(CSR DER)>.<base64url(COSE signature)>"` line of `text`
 * (Nordic's nRF91 AT command reference, %KEYGEN set command, <key_type> 2 with
 * <response_content> 0). The DER goes to *der (heap, free()), its size to *len; the COSE part
 * must be present and base64url but is not interpreted. Returns 0, -ENOENT (no %KEYGEN line),
 * -EBADMSG (malformed), -ENOMEM. */
int azki_keygen_parse(const char *text, unsigned char **der, size_t *len);

#endif

/**
 * @file cred.h
 * @brief Credential store addressed by security tag and credential type, as the nRF91 modem
 *        keeps credentials. The API mirrors nRF Connect SDK's modem_key_mgmt.
 *
 * A credential is identified by (sec_tag, type). Types use the modem's numbers (AT%CMNG):
 * 0 root CA certificate(s), 1 client certificate (optionally followed by its intermediates),
 * 2 client private key, 3 PSK (hex), 4 PSK identity. A TLS connection names a list of tags; only
 * the credentials in those tags are ever offered or trusted.
 *
 * Content is stored in canonical form: LF line endings, no NUL bytes, no trailing whitespace
 * after the last line -- exactly what nrfcredstore sends to the modem. azk_cred_digest() is the
 * SHA-256 of that form, which is what the modem's `AT%CMNG=1` list shows.
 *
 * Private keys (type 2) never come back out: azk_cred_read() refuses them with -EACCES, as the
 * modem does. The TLS layer reaches them through an internal loader that hands over a key
 * object, not bytes.
 *
 * The store sits on a backend (cred_backend.h): a directory on disk (the default) or a real
 * nRF91 over AT%CMNG (cred_nrf91.h), behind the same API.
 *
 * Thread safety: a struct azk_credstore may be used by one thread at a time. Several processes
 * may use the same directory store at once; every write is atomic.
 */
#ifndef AZKIT_CRED_H
#define AZKIT_CRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azkit/common.h"
#include "azkit/diag.h"
#include "azkit/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Security tag. Valid tags are 0..AZK_SEC_TAG_MAX; larger values are reserved by the modem. */
typedef uint32_t azk_sec_tag_t;

#define AZK_SEC_TAG_MAX 2147483647u /**< Highest tag an application may use. */
#define AZK_CRED_DIGEST_SIZE 32     /**< SHA-256 digest size in bytes. */
/** Longest `AT%CMNG=0,<tag>,<type>,"<content>"` command an nRF91 accepts in one write. */
#define AZK_CMNG_MAX_COMMAND 4096

/** Credential types, numbered as the modem numbers them. */
enum azk_cred_type {
    AZK_CRED_CA_CHAIN = 0,   /**< Root CA certificate(s) the device trusts (PEM). */
    AZK_CRED_CLIENT_CERT = 1,/**< Device certificate, then its intermediates, leaf first (PEM). */
    AZK_CRED_PRIVATE_KEY = 2,/**< Device private key (PEM: PKCS#8, SEC1 or PKCS#1). Write-only. */
    AZK_CRED_PSK = 3,        /**< Pre-shared key as a hex string. */
    AZK_CRED_IDENTITY = 4,   /**< PSK identity, printable text. */
};
#define AZK_CRED_TYPE_COUNT 5

/** An open credential store. Opaque. */
struct azk_credstore;

/* ---- Types and tags ------------------------------------------------------------------ */

/**
 * @brief Parse a credential type as the CLI accepts it.
 * @param text A number ("0".."4"), a short name ("ca", "cert", "key", "psk", "identity") or an
 *             nrfcredstore name ("ROOT_CA_CERT", "CLIENT_CERT", "CLIENT_KEY", "PSK",
 *             "PSK_IDENTITY"; also "PSK_ID"). Names are case-insensitive.
 * @param out  Receives the type.
 * @return 0, or -EINVAL if @p text names no type.
 */
AZK_API int azk_cred_type_parse(const char *text, enum azk_cred_type *out);

/** @brief Short name of a type ("ca", "cert", "key", "psk", "identity"), or "unknown". */
AZK_API const char *azk_cred_type_short_name(int type);
/** @brief nrfcredstore name of a type ("ROOT_CA_CERT", ...), or "UNKNOWN". */
AZK_API const char *azk_cred_type_nrf_name(int type);
/** @brief Human description of a type ("root CA certificate(s)", ...). */
AZK_API const char *azk_cred_type_description(int type);

/**
 * @brief Parse a security tag.
 * @param text Decimal digits only.
 * @param out  Receives the tag.
 * @param diag Optional: receives an explanation when the tag is refused.
 * @return 0; -EINVAL for text that is not a number; -ERANGE for a tag above AZK_SEC_TAG_MAX
 *         (reserved by the modem), with the explanation in @p diag.
 */
AZK_API int azk_sec_tag_parse(const char *text, azk_sec_tag_t *out, struct azk_diag *diag);

/* ---- Opening a store ----------------------------------------------------------------- */

/**
 * @brief Work out which directory the directory store uses.
 *
 * Order: @p explicit_dir, else $AZKIT_STORE, else ${XDG_DATA_HOME:-$HOME/.local/share}/azkit/credstore.
 * @param explicit_dir A directory given by the user (--store), or NULL.
 * @param out     Receives the path, NUL-terminated.
 * @param out_len Size of @p out.
 * @return 0; -ENAMETOOLONG when the path does not fit; -ENOENT when neither XDG_DATA_HOME nor
 *         HOME is set and nothing else names a directory.
 */
AZK_API int azk_credstore_resolve_dir(const char *explicit_dir, char *out, size_t out_len);

/**
 * @brief Open a credential store in a directory. The directory (and its parents) is created,
 *        mode 0700, by the first write; opening and reading create nothing.
 * @param dir  The directory; NULL resolves it with azk_credstore_resolve_dir().
 * @param out  Receives the store; close it with azk_credstore_close().
 * @param diag Optional: warnings (for example a store directory others could read, which is
 *             tightened to 0700) and the reason for a failure.
 * @return 0; -ENOTDIR when the path is not a directory; -ENOMEM; -EACCES or another -errno
 *         from the file system, explained in @p diag.
 */
AZK_API int azk_credstore_open_dir(const char *dir, struct azk_credstore **out,
                                   struct azk_diag *diag);

/** @brief Close a store. NULL is accepted. */
AZK_API void azk_credstore_close(struct azk_credstore *store);

/** @brief A short description of where the store lives, e.g. "directory /home/u/.local/...". */
AZK_API const char *azk_credstore_describe(const struct azk_credstore *store);

/**
 * @brief Why the store's last operation failed, in words, when its backend can tell more than
 *        the error code (an nRF91 modem: "the modem is online (+CFUN: 1) ...", or the
 *        +CME ERROR it answered).
 * @param store An open store.
 * @return The reason (valid until the next operation on the store), or NULL.
 */
AZK_API const char *azk_credstore_why(const struct azk_credstore *store);

/**
 * @brief The firmware revision of the device behind the store (an nRF91 modem's AT+CGMR,
 *        e.g. "mfw_nrf9160_1.3.5"), which decides what the modem's answers contain.
 * @param store An open store.
 * @return The revision (valid while the store is open), or NULL (a directory store).
 */
AZK_API const char *azk_credstore_firmware(const struct azk_credstore *store);

/* ---- The modem_key_mgmt-style operations --------------------------------------------- */

/** Options for azk_cred_write_ex(). Zero-initialise, then set what you need. */
struct azk_cred_write_opts {
    /** Passphrase for an encrypted private key (type 2). The key is decrypted and stored
     *  unencrypted (file mode 0600). Ignored, with a warning, for unencrypted keys. */
    const char *passphrase;
};

/**
 * @brief Write a credential, replacing any credential with the same (tag, type).
 *
 * The content is canonicalised (CRLF or CR to LF, trailing NULs and trailing whitespace
 * removed; a warning says so when it mattered) and validated for its type. On any failure
 * nothing is written and the credential previously stored, if any, is untouched. The write is
 * atomic and durable: after a crash the store holds the old or the new credential, never a
 * mixture or an empty one.
 *
 * Warnings (the write still happens): key does not match the certificate in the same tag;
 * certificate expired or not yet valid; CA certificate written as type 1 or a leaf as type 0;
 * a retired Azure root (Baltimore CyberTrust Root); content too large for one AT%CMNG write.
 *
 * @param store  Open store.
 * @param tag    0..AZK_SEC_TAG_MAX.
 * @param type   One of enum azk_cred_type.
 * @param buf    The content (PEM text, hex PSK or identity). Need not be NUL-terminated.
 * @param len    Bytes in @p buf; a trailing NUL included by sizeof() is tolerated.
 * @param opts   Options, or NULL.
 * @param diag   Optional: warnings, and the reason and fix on failure.
 * @return 0; -EINVAL for a bad tag, type or empty content; -ERANGE for a reserved tag;
 *         -EBADMSG for content that is not valid for the type; -EKEYREJECTED for an encrypted
 *         key without a passphrase or with a wrong one; -ENOMEM; -EIO or another -errno from
 *         the backend.
 */
AZK_API int azk_cred_write_ex(struct azk_credstore *store, azk_sec_tag_t tag,
                              enum azk_cred_type type, const void *buf, size_t len,
                              const struct azk_cred_write_opts *opts, struct azk_diag *diag);

/** @brief azk_cred_write_ex() without options or findings (modem_key_mgmt_write()). */
AZK_API int azk_cred_write(struct azk_credstore *store, azk_sec_tag_t tag,
                           enum azk_cred_type type, const void *buf, size_t len);

/**
 * @brief Read a credential (modem_key_mgmt_read()). The content is not NUL-terminated.
 * @param buf  Receives the canonical content.
 * @param len  In: size of @p buf. Out: bytes written, or the size needed on -ENOMEM.
 * @return 0; -EACCES for a private key ("private keys cannot be read back"); -ENOENT when no
 *         such credential exists; -ENOMEM when @p buf is too small (*len set to the size
 *         needed); -EINVAL or -ERANGE for a bad tag or type; -EIO.
 */
AZK_API int azk_cred_read(struct azk_credstore *store, azk_sec_tag_t tag,
                          enum azk_cred_type type, void *buf, size_t *len);

/**
 * @brief Delete one credential (modem_key_mgmt_delete()).
 * @return 0; -ENOENT when it does not exist; -EINVAL/-ERANGE; -EIO.
 */
AZK_API int azk_cred_delete(struct azk_credstore *store, azk_sec_tag_t tag,
                            enum azk_cred_type type);

/**
 * @brief Delete every credential in a tag (modem_key_mgmt_clear()).
 * @return 0 (also when the tag held nothing); -EINVAL/-ERANGE; -EIO.
 */
AZK_API int azk_cred_clear(struct azk_credstore *store, azk_sec_tag_t tag);

/**
 * @brief Whether a credential exists (modem_key_mgmt_exists()).
 * @param exists Receives the answer.
 * @return 0; -EINVAL/-ERANGE; -EIO.
 */
AZK_API int azk_cred_exists(struct azk_credstore *store, azk_sec_tag_t tag,
                            enum azk_cred_type type, bool *exists);

/**
 * @brief Compare a stored credential with @p buf (modem_key_mgmt_cmp()).
 *
 * Both sides are compared in canonical form, so a CRLF file or a sizeof()-length buffer
 * matches what was written from it. Works for private keys too (by digest), without reading
 * them back.
 * @return 0 if equal; 1 if different; -ENOENT when no such credential exists; -EINVAL/-ERANGE;
 *         -ENOMEM; -EIO.
 */
AZK_API int azk_cred_cmp(struct azk_credstore *store, azk_sec_tag_t tag,
                         enum azk_cred_type type, const void *buf, size_t len);

/**
 * @brief SHA-256 of the stored canonical content (modem_key_mgmt_digest()), as `AT%CMNG=1`
 *        reports it.
 * @param out Receives AZK_CRED_DIGEST_SIZE bytes.
 * @return 0; -ENOENT; -EINVAL/-ERANGE; -EIO.
 */
AZK_API int azk_cred_digest(struct azk_credstore *store, azk_sec_tag_t tag,
                            enum azk_cred_type type, uint8_t out[AZK_CRED_DIGEST_SIZE]);

/** Callback for azk_cred_list(): return 0 to go on, non-zero to stop (returned by the list). */
typedef int (*azk_cred_list_cb)(azk_sec_tag_t tag, int type, void *user);

/**
 * @brief Call @p cb for every stored credential, in ascending (tag, type) order
 *        (modem_key_mgmt_list()).
 * @return 0; the callback's non-zero value if it stopped the walk; -EIO.
 */
AZK_API int azk_cred_list(struct azk_credstore *store, azk_cred_list_cb cb, void *user);

/* ---- Describing and checking --------------------------------------------------------- */

#define AZK_CRED_MAX_CERTS 8 /**< Certificates described per credential. */

/** What azk_cred_describe() finds out about one stored credential. */
struct azk_cred_info {
    azk_sec_tag_t tag;
    int type;
    size_t size;                                 /**< Bytes of canonical content. */
    uint8_t digest[AZK_CRED_DIGEST_SIZE];        /**< SHA-256 of the canonical content. */
    size_t cert_count;                           /**< Certificates found (types 0 and 1). */
    struct azk_cert_summary certs[AZK_CRED_MAX_CERTS];
    char key_type[32];                           /**< For type 2: "EC P-256", "RSA 2048", ... */
    bool no_digest; /**< The store lists it without a digest (a modem type azkit does not
                         write, on firmware that lists no SHA-256 for it); digest is zero. */
    int key_match;  /**< Types 1 and 2: an enum azk_key_match, whether the client certificate
                         and the private key of the tag belong together (checked with the
                         key's public half; on a modem the one remembered by
                         azk_cred_keygen()). 0 (unknown) for other types. */
};

/** Whether a tag's client certificate and private key belong together (azk_cred_info). */
enum azk_key_match {
    AZK_KEY_MATCH_UNKNOWN = 0, /**< Cannot tell: a key the store does not release, whose
                                    public key is not remembered (not made by keygen here). */
    AZK_KEY_MATCH_YES = 1,     /**< The certificate's public key is the key's. */
    AZK_KEY_MATCH_NO = 2,      /**< They do not belong together. */
    AZK_KEY_MATCH_NO_KEY = 3,  /**< The tag has a certificate but no key. */
    AZK_KEY_MATCH_NO_CERT = 4, /**< The tag has a key but no client certificate. */
};

/**
 * @brief Describe a stored credential and re-run the write-time checks on it (for `list`).
 *
 * The private key is never copied out; for type 2 only its algorithm is reported, and whether
 * it matches the certificate in the same tag is checked through the internal key loader (a
 * modem never releases a key: there the digest is all there is). A type the store lists that
 * azkit does not write (a modem's types 5 and up) is described by tag, type and digest only.
 * @param info Receives the description.
 * @param diag Optional: the same warnings a write gives (key mismatch, expiry, type misuse,
 *             size, retired roots).
 * @return 0; -ENOENT; -EINVAL (a negative type)/-ERANGE; -EIO.
 */
AZK_API int azk_cred_describe(struct azk_credstore *store, azk_sec_tag_t tag, int type,
                              struct azk_cred_info *info, struct azk_diag *diag);

/**
 * @brief Length of the AT%CMNG write command that would store @p content_len bytes.
 * @return strlen("AT%CMNG=0,<tag>,<type>,\"") + content_len + 1 (the closing quote).
 */
AZK_API size_t azk_cmng_command_length(azk_sec_tag_t tag, int type, size_t content_len);

/**
 * @brief Format a digest as uppercase hex, as the modem prints it.
 * @param digest AZK_CRED_DIGEST_SIZE bytes.
 * @param out    At least 2*AZK_CRED_DIGEST_SIZE+1 bytes.
 */
AZK_API void azk_digest_hex(const uint8_t digest[AZK_CRED_DIGEST_SIZE],
                            char out[2 * AZK_CRED_DIGEST_SIZE + 1]);

#ifdef __cplusplus
}
#endif
#endif

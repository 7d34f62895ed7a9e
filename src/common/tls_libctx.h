/* The OpenSSL library context for TLS contexts that parse certificates in bulk: azkit-hub's
 * servers (src/hub/tls.c; the client certificates libssl parses belong to it too) and the
 * clients of `azkit fleet` (the server chains). Not the device client's azk_tls_ctx_from_tags():
 * that context is handed to applications, which may load into it what this one leaves out.
 *
 * It is OpenSSL 3.0's default provider, loaded into a private library context, behind a thin
 * provider that passes every operation through unchanged except two lists it shortens:
 * - decoders: only those from DER SubjectPublicKeyInfo (12 of the default's 40: one per key
 *   type a certificate can carry);
 * - ciphers: only those of Azure IoT Hub's TLS suites (hub/tls.h; 9 of 124).
 * Why: OpenSSL 3.0 decodes every certificate's public key through OSSL_DECODER_CTX_new_for_pkey,
 * which walks every key manager and every decoder of the context, and each walk first copies
 * every algorithm the context holds (libssl fetches every cipher it knows of, and OpenSSL makes
 * every algorithm of an operation at its first fetch). With the full lists that cost more than
 * an ECDSA verify, twice per connect. Digests, signatures, key managers, key exchange, KDFs,
 * MACs and random numbers are the default provider's own, so a certificate is parsed and checked
 * exactly as before. Callgrind, per CA-signed connect in the hub: 7.6 M -> 6.2 M instructions;
 * per device of `azkit fleet --hub`: 11.8 M -> 10.7 M.
 *
 * It lists no private-key decoders: keys are read and made in OpenSSL's default context (a key
 * is exported into this one once, when it first signs). */
#ifndef AZK_COMMON_TLS_LIBCTX_H
#define AZK_COMMON_TLS_LIBCTX_H

#include <openssl/crypto.h>

/* The context, made on the first call (thread-safe) and kept for the life of the process, so
 * that what was made in it (SSL_CTXs, peer certificates, keys) may be freed later in any order.
 * Returns NULL when OpenSSL cannot load its default provider or allocate the context (then
 * nothing is kept, and every later call returns NULL too). */
OSSL_LIB_CTX *azki_tls_libctx(void);

#endif

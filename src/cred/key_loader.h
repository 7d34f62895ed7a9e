/* The one way a private key leaves the credential store: as an OpenSSL key object for the TLS
 * layer, never as bytes. Internal to libazkit. */
#ifndef AZK_CRED_KEY_LOADER_H
#define AZK_CRED_KEY_LOADER_H

#include <openssl/evp.h>

#include "azkit/cred.h"

/* Loads the private key (type 2) of `tag`. Returns 0 with *out set (free with EVP_PKEY_free),
 * -ENOENT when the tag has no key, -EACCES when the backend cannot release keys (a modem does
 * TLS itself), -EBADMSG when the stored key does not parse, -ENOMEM. */
int azki_cred_load_private_key(struct azk_credstore *store, azk_sec_tag_t tag, EVP_PKEY **out);

#endif

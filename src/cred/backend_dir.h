/* The directory backend: <store>/<tag>/<type file>, directories 0700, files 0600. */
#ifndef AZK_CRED_BACKEND_DIR_H
#define AZK_CRED_BACKEND_DIR_H

#include "azkit/cred.h"
#include "common/fileio.h"

/* File name of a type inside a tag directory ("0-ca.pem", "1-cert.pem", "2-key.pem",
 * "3-psk.txt", "4-identity.txt"). */
const char *azki_dir_type_file(int type);

/* Test hook: stop every following write at a step, as a crash would. Only for a store opened
 * with azk_credstore_open_dir(). */
void azki_credstore_dir_set_fault_hook(struct azk_credstore *store, azki_fault_hook hook,
                                      void *user);

#endif

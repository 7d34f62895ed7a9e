/* The key generation of azkit-modem-sim's %KEYGEN (sim_keygen.c), apart from the simulated
 * modem's state (modem_sim.c). */
#ifndef AZK_MODEM_SIM_KEYGEN_H
#define AZK_MODEM_SIM_KEYGEN_H

#include <stddef.h>

/* Generates a P-256 key pair and a CSR for it with subject `subject` (an attribute string
 * such as "CN=dev-1"; only CN is used; NULL or "" for an empty subject). On success 0 with
 * *key_pem (the private key, PKCS#8 PEM: what the modem keeps in the tag; free with
 * sim_keygen_free) and *answer (the text inside the quotes of the %KEYGEN: answer,
 * "base64url(CSR DER).base64url(COSE_Sign1)"; free()). -1 on failure. */
int sim_keygen(const char *subject, char **key_pem, size_t *key_len, char **answer);

/* Cleanses and frees a key from sim_keygen(). */
void sim_keygen_free(char *key_pem, size_t key_len);

#endif

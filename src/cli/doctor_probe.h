/* The handshake probe of `azkit doctor`: DNS, TCP and TLS with the tags' credentials, reported
 * as checks ("online.dns", "online.tcp", "online.server-chain", "online.tls"). No MQTT. */
#ifndef AZK_CLI_DOCTOR_PROBE_H
#define AZK_CLI_DOCTOR_PROBE_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "azkit/doctor.h"

/* Probes `hostport` ("host[:port]", default port 8883; connects to `connect_address` when not
 * NULL) with `tls`; adds its checks to `r`. `chain_limit` > 0: the server chain's DER size
 * above it is a warning. */
void cli_doctor_probe(struct azk_doctor_report *r, SSL_CTX *tls, const char *hostport,
                      const char *connect_address, size_t chain_limit);

#endif

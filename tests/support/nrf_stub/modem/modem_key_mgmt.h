/* A stand-in for nRF Connect SDK's <modem/modem_key_mgmt.h>, with the same names and types,
 * that records what a generated azkit header asks the modem to store. Test use only. */
#ifndef AZK_TEST_STUB_MODEM_KEY_MGMT_H
#define AZK_TEST_STUB_MODEM_KEY_MGMT_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t nrf_sec_tag_t;

enum modem_key_mgmt_cred_type {
    MODEM_KEY_MGMT_CRED_TYPE_CA_CHAIN,
    MODEM_KEY_MGMT_CRED_TYPE_PUBLIC_CERT,
    MODEM_KEY_MGMT_CRED_TYPE_PRIVATE_CERT,
    MODEM_KEY_MGMT_CRED_TYPE_PSK,
    MODEM_KEY_MGMT_CRED_TYPE_IDENTITY,
};

int modem_key_mgmt_write(nrf_sec_tag_t sec_tag, enum modem_key_mgmt_cred_type cred_type,
                         const void *buf, size_t len);
int modem_key_mgmt_cmp(nrf_sec_tag_t sec_tag, enum modem_key_mgmt_cred_type cred_type,
                       const void *buf, size_t len);

#endif

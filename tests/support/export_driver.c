/* Compiled by test_cli_cred_export against a header from `azkit cred export --c`: runs the
 * generated provisioning function on the stub modem and prints each write as
 * "<tag> <type> <len> <strlen>" followed by the content on its own line, then "END <rc>". */
#include <stdio.h>
#include <string.h>

#include <modem/modem_key_mgmt.h>

#include AZK_EXPORTED_HEADER

static int cmp_calls;

int modem_key_mgmt_cmp(nrf_sec_tag_t sec_tag, enum modem_key_mgmt_cred_type cred_type,
                       const void *buf, size_t len)
{
    (void)sec_tag;
    (void)cred_type;
    (void)buf;
    (void)len;
    cmp_calls++;
    return 1; /* mismatch: the modem is empty */
}

int modem_key_mgmt_write(nrf_sec_tag_t sec_tag, enum modem_key_mgmt_cred_type cred_type,
                         const void *buf, size_t len)
{
    printf("%u %d %zu %zu\n%.*s\n", (unsigned)sec_tag, (int)cred_type, len,
           strlen((const char *)buf), (int)len, (const char *)buf);
    return 0;
}

int main(void)
{
    int rc = AZK_PROVISION_FN();
    printf("END %d cmp=%d\n", rc, cmp_calls);
    return rc;
}

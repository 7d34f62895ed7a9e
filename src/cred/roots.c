/* Azure's public roots, as committed under data/roots (see data/roots/README.md). */
#include <ctype.h>
#include <stddef.h>
#include <strings.h>

#include "azkit/cred_provision.h"
#include "cred/roots_data.h"

static const struct azk_root_info roots[AZK_ROOT_COUNT] = {
    [AZK_ROOT_DIGICERT_G2] = {
        .name = "DigiCert Global Root G2",
        .file = "digicert-global-root-g2.pem",
        .pem = AZKI_ROOT_DIGICERT_G2_PEM,
        .not_after = "2038-01-15T12:00:00Z",
        .sha256 = "CB3CCBB76031E5E0138F8DD39A23F9DE47FFC35E43C1144CEA27D46A5AB1CB5F",
        .retired = false,
    },
    [AZK_ROOT_MICROSOFT_RSA_2017] = {
        .name = "Microsoft RSA Root Certificate Authority 2017",
        .file = "microsoft-rsa-root-ca-2017.pem",
        .pem = AZKI_ROOT_MICROSOFT_RSA_2017_PEM,
        .not_after = "2042-07-18T23:00:23Z",
        .sha256 = "C741F70F4B2A8D88BF2E71C14122EF53EF10EBA0CFA5E64CFA20F418853073E0",
        .retired = false,
    },
    [AZK_ROOT_BALTIMORE] = {
        .name = "Baltimore CyberTrust Root",
        .file = "baltimore-cybertrust-root.pem",
        .pem = AZKI_ROOT_BALTIMORE_PEM,
        .not_after = "2025-05-12T23:59:00Z",
        .sha256 = "16AF57A9F676B0AB126095AA5EBADEF22AB31119D644AC95CD4B93DBF3F26AEB",
        .retired = true,
    },
};

AZK_API const struct azk_root_info *azk_azure_root(enum azk_azure_root which)
{
    if ((unsigned)which >= AZK_ROOT_COUNT)
        return NULL;
    return &roots[which];
}

AZK_API const struct azk_root_info *azk_azure_root_by_fingerprint(const char *sha256_hex)
{
    if (sha256_hex == NULL)
        return NULL;
    for (size_t i = 0; i < AZK_ROOT_COUNT; i++)
        if (strcasecmp(roots[i].sha256, sha256_hex) == 0)
            return &roots[i];
    return NULL;
}

/* Built against an installed azkit through pkg-config by the install_pkgconfig test. */
#include <azkit/azkit.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    enum azk_cred_type t;
    if (azk_cred_type_parse("CLIENT_KEY", &t) != 0 || t != AZK_CRED_PRIVATE_KEY)
        return 1;
    const struct azk_root_info *g2 = azk_azure_root(AZK_ROOT_DIGICERT_G2);
    if (g2 == NULL || strcmp(g2->name, "DigiCert Global Root G2") != 0)
        return 1;
    printf("azkit %s ok\n", azk_version());
    return 0;
}

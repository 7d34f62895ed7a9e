/*
 * A device whose key was generated inside the store (`azkit cred keygen`, here a directory
 * store, the rehearsal of the modem flow) registers through DPS against the real azkit-hub:
 * keygen -> pki sign-csr by the intermediate of an enrollment group -> cred write -> `azkit
 * run` registers (registration id = the CSR's CN) and sends. No private key file exists
 * outside the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "azkit/pki.h"
#include "hub_harness.h"
#include "support/test_util.h"

static struct test_hub hub;
static char g_dir[512];
static char g_scope[32], g_dps[300];

static void must(const char *const *argv)
{
    struct azk_run r;
    azk_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("azkit %s %s: %s\n%s", argv[2], argv[3], r.out, r.err);
    azk_run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    setenv("XDG_DATA_HOME", "/nonexistent-azkit-test", 1);
    azk_test_mkdtemp(g_dir);
    test_hub_make_cert(g_dir, AZK_PKI_ROOT, "KG Root", "root", NULL, NULL, NULL);
    test_hub_make_cert(g_dir, AZK_PKI_INTERMEDIATE, "KG Intermediate", "inter", "root", NULL,
                       NULL);
    test_hub_init(&hub);
    test_hub_start(&hub, NULL);
    test_hub_ready_str(&hub, "id_scope", g_scope, sizeof(g_scope));
    test_hub_ready_str(&hub, "dps_host", g_dps, sizeof(g_dps));
    cJSON_Delete(test_hub_admin(&hub, 0, "enroll", "group", "kg-group", "--cert",
                                test_pem_path(g_dir, "inter", "cert"), NULL));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_hub_finish(&hub, g_dir);
    return 0;
}

static void test_keygen_device_registers(void **state)
{
    (void)state;
    char st[600], csr[600], inter[600], out[600], chain[600];
    snprintf(st, sizeof(st), "%s/store", g_dir);
    snprintf(csr, sizeof(csr), "%s/kg-dps-1.csr.pem", g_dir);
    snprintf(inter, sizeof(inter), "%s/inter", g_dir);
    snprintf(out, sizeof(out), "%s/kg-dps-1", g_dir);
    snprintf(chain, sizeof(chain), "%s/kg-dps-1.chain.pem", g_dir);
    const char *keygen[] = {"--store", st, "cred", "keygen", "10", "--cn", "kg-dps-1",
                            "--out", csr, NULL};
    must(keygen);
    const char *sign[] = {"--store", st, "pki", "sign-csr", csr, "--ca", inter, "--out", out,
                          NULL};
    must(sign);
    assert_false(azk_test_exists(test_pem_path(g_dir, "kg-dps-1", "key")));
    const char *wcert[] = {"--store", st, "cred", "write", "10", "cert", chain, NULL};
    must(wcert);
    const char *wca[] = {"--store", st, "cred", "write", "10", "ca", hub.ca, NULL};
    must(wca);

    const char *run[] = {"--store", st, "--json", "run", "--id-scope", g_scope, "--dps-host",
                         g_dps, "--count", "1", "--interval", "50", NULL};
    struct azk_run r;
    azk_run(&r, NULL, run);
    if (r.status != 0)
        fail_msg("azkit run: %s\n%s", r.out, r.err);
    assert_non_null(strstr(r.out, "\"registered\""));
    assert_non_null(strstr(r.out, "\"deviceId\":\"kg-dps-1\""));
    azk_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_device_registers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* libFuzzer target: DPS symmetric-key attestation (src/hub/dps/dps_symkey.c) on any CONNECT
 * password a device can send, against an individual symmetric-key enrollment, an X.509 one and
 * a symmetric-key group. Every input is matched or refused with a reason and DPS's 401002 (the
 * disabled case aside), never crashes, and the answer is stable; the key checker takes any
 * text without crashing. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/dps/dps_symkey.h"
#include "fuzz_util.h"

static const char key1[] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
static const char key2[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    static struct dps_enrollment enr[2];
    static struct dps_group grp[1];
    snprintf(enr[0].registration_id, sizeof enr[0].registration_id, "dev1");
    enr[0].attestation = DPS_ATTEST_SYMMETRIC_KEY;
    snprintf(enr[0].keys.primary, sizeof enr[0].keys.primary, "%s", key1);
    snprintf(enr[0].keys.secondary, sizeof enr[0].keys.secondary, "%s", key2);
    snprintf(enr[1].registration_id, sizeof enr[1].registration_id, "x509dev");
    snprintf(grp[0].group_id, sizeof grp[0].group_id, "g1");
    grp[0].attestation = DPS_ATTEST_SYMMETRIC_KEY;
    snprintf(grp[0].keys.primary, sizeof grp[0].keys.primary, "%s", key2);
    snprintf(grp[0].keys.secondary, sizeof grp[0].keys.secondary, "%s", key1);

    static const char *const ids[] = {"dev1", "x509dev", "member-1"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct dps_match_input in = {
            .registration_id = ids[i],
            .enrollments = enr,
            .n_enrollments = 2,
            .groups = grp,
            .n_groups = 1,
            .now = (time_t)1700000000,
            .sas_token = text,
            .id_scope = "0ne00000001",
        };
        struct dps_match_result a, b;
        dps_match_symkey(&in, &a);
        dps_match_symkey(&in, &b);
        REQUIRE(a.kind == b.kind && a.reason == b.reason);
        REQUIRE(a.attestation == DPS_ATTEST_SYMMETRIC_KEY);
        REQUIRE(strlen(a.message) < sizeof a.message && a.message[0] != '\0');
        if (a.kind == DPS_MATCH_REFUSED)
            REQUIRE(a.reason != DPS_REFUSE_NONE &&
                    a.error_code == (a.reason == DPS_REFUSE_DISABLED ? 0 : DPS_ERR_UNAUTHORIZED));
        else
            REQUIRE(a.index != SIZE_MAX);
    }
    char err[128];
    int rc = dps_symkey_check(text, "key", err, sizeof err);
    REQUIRE(rc == 0 || rc == -EINVAL);
    char dk[DPS_SYMKEY_MAX + 1];
    if (rc == 0)
        REQUIRE(dps_symkey_derive(text, "dev1", dk) == 0 && strlen(dk) == 44);
    free(text);
    return 0;
}

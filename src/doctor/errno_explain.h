/* Error numbers in the two numberings an azkit user meets, and what they usually mean in an
 * Azure IoT Hub / DPS connection over TLS with X.509 credentials in security tags.
 *
 * The same name has different numbers on an nRF91 and on Linux: NCS builds with newlib or
 * picolibc, whose numbering Zephyr's minimal libc copies (zephyr lib/libc/minimal/include/
 * errno.h; nrfxlib's nrf_errno.h is aligned with it by BUILD_ASSERTs), so -116 is ETIMEDOUT on
 * the device and ESTALE on Linux, -110 ESHUTDOWN on the device and ETIMEDOUT on Linux, -113
 * ECONNABORTED on the device and EHOSTUNREACH on Linux. The numbers below are checked by
 * tests/unit/test_errno.c against glibc (strerrorname_np) and against newlib's sys/errno.h.
 * Internal to azkit (the doctor and the CLI); not part of the public API. */
#ifndef AZK_DOCTOR_ERRNO_EXPLAIN_H
#define AZK_DOCTOR_ERRNO_EXPLAIN_H

#include <stddef.h>

#define AZKI_ERRNO_CAUSES 4

/* One likely cause in this context, and how to check it (a command or a place to look). */
struct azki_errno_cause {
    const char *cause;
    const char *check;
};

struct azki_errno_info {
    const char *name;  /* "ECONNREFUSED" */
    int nrf91;         /* the number on an nRF91 (NCS: newlib/picolibc/Zephyr), 0: none */
    int linux_no;      /* the number on Linux (x86, ARM, RISC-V: asm-generic), 0: none */
    const char *meaning;
    /* On an nRF91 with NCS (azure_iot_hub, mqtt_helper, modem_key_mgmt, nrf_modem sockets):
     * the likely causes, most likely first; unused entries have cause == NULL. */
    struct azki_errno_cause nrf91_causes[AZKI_ERRNO_CAUSES];
    /* On Linux (azkit run, the POSIX port, other Linux clients). */
    struct azki_errno_cause linux_causes[AZKI_ERRNO_CAUSES];
};

/* The whole table; *n receives its length. */
const struct azki_errno_info *azki_errno_table(size_t *n);

/* By name ("ECONNREFUSED", case-insensitive; "econnrefused" too), or NULL. */
const struct azki_errno_info *azki_errno_by_name(const char *name);

/* By number (the sign is ignored) in the nRF91 or the Linux numbering, or NULL. */
const struct azki_errno_info *azki_errno_by_nrf91(int number);
const struct azki_errno_info *azki_errno_by_linux(int number);

#endif

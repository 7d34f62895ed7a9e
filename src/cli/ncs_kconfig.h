/* The nRF Connect SDK configuration (prj.conf lines) that goes with credentials laid out in
 * security tags: which Kconfig options name the tags, DPS and the device id, in each generation
 * of NCS's Azure IoT Hub library. Printed by `azkit cred provision` and `cred export`. */
#ifndef AZK_CLI_NCS_KCONFIG_H
#define AZK_CLI_NCS_KCONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* The library's three generations (docs/guide.md, "The NCS configuration"). */
enum cli_ncs_gen {
    CLI_NCS_G1 = 1, /* NCS 1.4 .. 2.0: its own MQTT code, one tag */
    CLI_NCS_G2 = 2, /* NCS 2.1 .. 2.2: Azure SDK for Embedded C, tag options in the library */
    CLI_NCS_G3 = 3, /* NCS 2.3 and later: mqtt_helper holds the tag options */
};

struct cli_ncs_kconfig {
    enum cli_ncs_gen gen;
    unsigned primary_tag;
    long secondary_tag;     /* -1: none */
    const char *device_id;  /* the client certificate's CN, or NULL when not known */
    const char *id_scope;   /* the DPS id scope, or NULL (a placeholder is printed) */
    bool firmware_writes;   /* the firmware writes the tags itself (cred export): key mgmt on */
};

/* Parses an NCS version ("2.6.1", "v2.2", "1.9") or a generation ("g1".."g3"); NULL or
 * "current" is the current generation. Returns 0, or -EINVAL for text that is neither. */
int cli_ncs_gen_parse(const char *text, enum cli_ncs_gen *out);

/* The block: comment lines (with the sources) and CONFIG_ lines, each line ending in '\n'. */
void cli_ncs_kconfig_print(FILE *f, const struct cli_ncs_kconfig *k);

/* {"ncs":"2.3 and later","prj_conf":["CONFIG_...", ...],"notes":[...]} */
cJSON *cli_ncs_kconfig_json(const struct cli_ncs_kconfig *k);

#endif

/* prj.conf lines for credentials in security tags (ncs_kconfig.h).
 *
 * Sources: the option names of each generation from sdk-nrf -- G3 `subsys/net/lib/mqtt_helper/
 * Kconfig` (CONFIG_MQTT_HELPER_SEC_TAG, _SECONDARY_SEC_TAG, since the MQTT code moved out in
 * nrfconnect/sdk-nrf PR #9884, NCS 2.3) and `subsys/net/lib/azure_iot_hub/Kconfig`; G2
 * `azure_iot_hub_mqtt.c` (CONFIG_AZURE_IOT_HUB_SEC_TAG, _SECONDARY_SEC_TAG; PR #8220, NCS 2.1);
 * G1 the library's Kconfig (one CONFIG_AZURE_IOT_HUB_SEC_TAG, DEVICE_ID_MAX_LEN 30);
 * CONFIG_MODEM_KEY_MGMT from `lib/modem_key_mgmt/Kconfig`. The NCS release of each generation
 * is inferred from the PRs' dates. With DPS the library uses the device id as the registration
 * id (include/net/azure_iot_hub.h, struct azure_iot_hub_config). */
#include "cli/ncs_kconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_ncs_gen_parse(const char *text, enum cli_ncs_gen *out)
{
    if (text == NULL || strcasecmp(text, "current") == 0) {
        *out = CLI_NCS_G3;
        return 0;
    }
    if ((text[0] == 'g' || text[0] == 'G') && text[1] >= '1' && text[1] <= '3' && !text[2]) {
        *out = (enum cli_ncs_gen)(text[1] - '0');
        return 0;
    }
    const char *p = text[0] == 'v' || text[0] == 'V' ? text + 1 : text;
    char *end;
    long major = strtol(p, &end, 10);
    if (end == p || (*end != '.' && *end != '\0') || major < 1 || major > 99)
        return -EINVAL;
    long minor = 0;
    if (*end == '.') {
        const char *q = end + 1;
        minor = strtol(q, &end, 10);
        if (end == q || (*end != '.' && *end != '\0') || minor < 0)
            return -EINVAL;
        if (*end == '.') { /* a patch number: digits only */
            q = end + 1;
            strtol(q, &end, 10);
            if (end == q || *end != '\0')
                return -EINVAL;
        }
    }
    if (major == 1 && minor < 4)
        return -EINVAL; /* no Azure IoT Hub library before NCS 1.4 */
    *out = major >= 3 || (major == 2 && minor >= 3) ? CLI_NCS_G3
           : major == 2 && minor >= 1               ? CLI_NCS_G2
                                                    : CLI_NCS_G1;
    return 0;
}

static const char *gen_text(enum cli_ncs_gen g)
{
    return g == CLI_NCS_G3 ? "2.3 and later" : g == CLI_NCS_G2 ? "2.1 to 2.2" : "1.4 to 2.0";
}

/* Calls emit(line, is_note) for each line of the block. */
static void each_line(const struct cli_ncs_kconfig *k,
                      void (*emit)(void *ctx, const char *line, bool note), void *ctx)
{
    char l[256];
    const char *tag_opt = k->gen == CLI_NCS_G3 ? "CONFIG_MQTT_HELPER_SEC_TAG"
                                               : "CONFIG_AZURE_IOT_HUB_SEC_TAG";
    const char *sec_opt = k->gen == CLI_NCS_G3 ? "CONFIG_MQTT_HELPER_SECONDARY_SEC_TAG"
                                               : "CONFIG_AZURE_IOT_HUB_SECONDARY_SEC_TAG";
    emit(ctx, "CONFIG_AZURE_IOT_HUB=y", false);
    snprintf(l, sizeof(l), "%s=%u", tag_opt, k->primary_tag);
    emit(ctx, l, false);
    if (k->secondary_tag >= 0 && k->gen == CLI_NCS_G1) {
        snprintf(l, sizeof(l), "NCS %s names one tag only: sec_tag %ld is never offered; "
                 "provision into one tag (no --secondary-sec-tag)", gen_text(k->gen),
                 k->secondary_tag);
        emit(ctx, l, true);
    } else if (k->secondary_tag >= 0) {
        snprintf(l, sizeof(l), "%s=%ld", sec_opt, k->secondary_tag);
        emit(ctx, l, false);
    } else if (k->gen != CLI_NCS_G1) {
        snprintf(l, sizeof(l), "%s is not needed (-1, its default: no secondary tag)", sec_opt);
        emit(ctx, l, true);
    }
    emit(ctx, "CONFIG_AZURE_IOT_HUB_DPS=y", false);
    snprintf(l, sizeof(l), "CONFIG_AZURE_IOT_HUB_DPS_ID_SCOPE=\"%s\"",
             k->id_scope ? k->id_scope : "<your DPS id scope>");
    emit(ctx, l, false);
    snprintf(l, sizeof(l), "CONFIG_AZURE_IOT_HUB_DEVICE_ID=\"%s\"",
             k->device_id && *k->device_id ? k->device_id : "<the certificate's CN>");
    emit(ctx, l, false);
    emit(ctx, "with DPS the device id is also the registration id: it must equal the client "
              "certificate's CN, or DPS refuses the registration (401002)", true);
    if (k->gen == CLI_NCS_G1 && k->device_id && strlen(k->device_id) > 30) {
        snprintf(l, sizeof(l), "NCS %s allows device ids of 30 characters "
                 "(CONFIG_AZURE_IOT_HUB_DEVICE_ID_MAX_LEN); '%s' has %zu",
                 gen_text(k->gen), k->device_id, strlen(k->device_id));
        emit(ctx, l, true);
    }
    if (k->firmware_writes)
        emit(ctx, "CONFIG_MODEM_KEY_MGMT=y", false);
}

static void print_line(void *ctx, const char *line, bool note)
{
    fprintf(ctx, "%s%s\n", note ? "# " : "", line);
}

void cli_ncs_kconfig_print(FILE *f, const struct cli_ncs_kconfig *k)
{
    fprintf(f, "# prj.conf for nRF Connect SDK %s (Azure IoT Hub library; `--ncs VERSION` for "
               "another release):\n", gen_text(k->gen));
    each_line(k, print_line, f);
}

struct json_ctx {
    cJSON *lines, *notes;
};

static void json_line(void *ctx, const char *line, bool note)
{
    struct json_ctx *j = ctx;
    cJSON_AddItemToArray(note ? j->notes : j->lines, cJSON_CreateString(line));
}

cJSON *cli_ncs_kconfig_json(const struct cli_ncs_kconfig *k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ncs", gen_text(k->gen));
    struct json_ctx j = {cJSON_AddArrayToObject(o, "prj_conf"), cJSON_AddArrayToObject(o, "notes")};
    each_line(k, json_line, &j);
    return o;
}

/* One sentence about Azure's root-CA migration, for every message that mentions it (the store's
 * warnings, the doctor, the drivers' TLS explanations). */
#ifndef AZK_COMMON_ROOT_MIGRATION_H
#define AZK_COMMON_ROOT_MIGRATION_H

/* Azure's move from Baltimore CyberTrust Root to DigiCert Global Root G2, in Microsoft's dates
 * (https://learn.microsoft.com/azure/iot-hub/migrate-tls-certificate: IoT Hub by region from
 * 2023-02-15, DPS from 2024-01-15; "As of September 30, 2024, the migration is complete for all
 * IoT Hub, IoT Central, and Device Provisioning Service resources"). The one sentence every
 * message uses; docs/guide.md §1 and §15 give the same dates. */
#define AZKI_ROOT_MIGRATION                                                                    \
    "Azure moved IoT Hub (from February 2023) and DPS (from 2024-01-15) to DigiCert Global "  \
    "Root G2, complete for all resources on 2024-09-30"

#endif

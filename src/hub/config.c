/* Defaults of `azkit-hub serve`. */
#include "hub/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hub_config_defaults(struct hub_config *c)
{
    memset(c, 0, sizeof(*c));
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(c->data_dir, sizeof(c->data_dir), "%s/azkit/hub", xdg);
    else
        snprintf(c->data_dir, sizeof(c->data_dir), "%s/.local/share/azkit/hub",
                 home && *home ? home : ".");
    c->listen = "127.0.0.1";
    c->mqtt_port = 8883;
    c->service_port = 443;
    c->amqp_port = 5671;
    c->amqp_idle_timeout_s = 240;
    c->partitions = 4;
    c->eventhubs_port = 5672;
    c->tls_max = 13;
    c->server_root = HUB_ROOT_DEFAULT;
    c->log_level = HUB_LOG_INFO;
    c->max_telemetry_packet = 256 * 1024;
    c->max_method_response = 128 * 1024;
    c->connect_timeout_ms = 10000;
    c->max_admitting = 256;
    c->dps_retry_after_s = 3;
    c->dps_assign_delay_s = 0;
    c->dps_webhook_timeout_s = 10;
}

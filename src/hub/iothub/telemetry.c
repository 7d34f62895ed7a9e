/* Device-to-cloud messages into the store, PUBACK after commit. */
#include "hub/iothub/telemetry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "azkit/azure_hub.h"
#include "hub/mqtt/conn.h"
#include "hub/daemon.h"
#include "hub/log.h"

/* `$.xx` system property keys and the names Azure gives them. */
static const struct {
    const char *key, *name;
} sys_names[] = {
    {"$.mid", "message-id"},       {"$.cid", "correlation-id"},
    {"$.ct", "content-type"},      {"$.ce", "content-encoding"},
    {"$.uid", "user-id"},          {"$.to", "to"},
    {"$.exp", "absolute-expiry-time"}, {"$.ctime", "iothub-creation-time-utc"},
    {"$.ifid", "iothub-interface-id"}, {"$.on", "output-name"},
};

static const char *system_name(const char *key)
{
    for (size_t i = 0; i < sizeof(sys_names) / sizeof(sys_names[0]); i++)
        if (strcmp(key, sys_names[i].key) == 0)
            return sys_names[i].name;
    if (strncmp(key, "$.", 2) == 0 || strncmp(key, "iothub-", 7) == 0)
        return key;
    return NULL;
}

/* The property bag as two JSON objects: application properties and system properties (under
 * Azure's names). 0, -EMSGSIZE (a key or value too long), -EBADMSG, -ENOMEM. */
static int props_to_objects(struct azk_span bag, cJSON **app_out, cJSON **sys_out)
{
    cJSON *app = cJSON_CreateObject(), *sys = cJSON_CreateObject();
    int rc = app && sys ? 0 : -ENOMEM;
    struct azk_prop_iter it;
    azk_prop_iter_init(&it, bag);
    char key[512], value[4096];
    while (rc == 0) {
        struct azk_prop prop;
        int r = azk_prop_next_decoded(&it, key, sizeof(key) - 1, value, sizeof(value) - 1,
                                      &prop);
        if (r == -ENOENT)
            break;
        if (r != 0) {
            rc = r == -ENOBUFS ? -EMSGSIZE : -EBADMSG;
            break;
        }
        key[prop.key.len] = '\0';
        value[prop.value.len] = '\0';
        const char *sname = system_name(key);
        cJSON *target = sname ? sys : app;
        const char *name = sname ? sname : key;
        cJSON_DeleteItemFromObjectCaseSensitive(target, name);
        if (!(prop.has_value ? cJSON_AddStringToObject(target, name, value)
                             : cJSON_AddNullToObject(target, name)))
            rc = -ENOMEM;
    }
    if (rc != 0) {
        cJSON_Delete(app);
        cJSON_Delete(sys);
        return rc;
    }
    *app_out = app;
    *sys_out = sys;
    return 0;
}

/* Prints both objects and frees them: 0 or -ENOMEM (nothing returned). */
static int print_objects(cJSON *app, cJSON *sys, char **app_json, char **sys_json)
{
    *app_json = cJSON_PrintUnformatted(app);
    *sys_json = cJSON_PrintUnformatted(sys);
    cJSON_Delete(app);
    cJSON_Delete(sys);
    if (*app_json && *sys_json)
        return 0;
    free(*app_json);
    free(*sys_json);
    *app_json = *sys_json = NULL;
    return -ENOMEM;
}

int hub_props_to_json(struct azk_span bag, char **app_json, char **sys_json)
{
    *app_json = *sys_json = NULL;
    cJSON *app, *sys;
    int rc = props_to_objects(bag, &app, &sys);
    return rc != 0 ? rc : print_objects(app, sys, app_json, sys_json);
}

struct puback_ctx {
    struct hub_conn *c;
    struct hub_puback *slot; /* QoS 1 only */
    size_t bytes;            /* counted in c->pending_bytes until committed */
};

static void committed(void *arg, int rc)
{
    struct puback_ctx *p = arg;
    p->c->pending_bytes -= p->bytes;
    if (p->c->read_paused && p->c->pending_bytes < HUB_CONN_PENDING_LOW && hub_conn_alive(p->c))
        hub_conn_resume_read(p->c);
    if (rc == 0 && hub_conn_alive(p->c) && p->slot)
        hub_puback_ready(p->c, p->slot);
    else if (rc != 0 && hub_conn_alive(p->c))
        /* Never acknowledge what was not stored: the device will resend it. */
        hub_conn_close(p->c, false, "telemetry could not be stored (%d)", rc);
    hub_conn_unref(p->c);
    free(p);
}

/* The system properties IoT Hub adds to every device-to-cloud message. */
static int add_sys(cJSON *sys, const char *device_id, bool will, bool retain)
{
    cJSON_DeleteItemFromObjectCaseSensitive(sys, "iothub-connection-device-id");
    bool ok = cJSON_AddStringToObject(sys, "iothub-connection-device-id", device_id) &&
              cJSON_AddStringToObject(sys, "iothub-connection-auth-method", "x509") &&
              (!will || cJSON_AddStringToObject(sys, "iothub-MessageType", "Will")) &&
              (!retain || cJSON_AddStringToObject(sys, "mqtt-retain", "true"));
    return ok ? 0 : -ENOMEM;
}

static int store_record(struct hub_conn *c, struct azk_span props, struct azk_span payload,
                        bool will, bool retain, hub_store_done_fn done, void *ctx)
{
    struct hub_telemetry rec;
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.device_id, sizeof(rec.device_id), "%s", c->device_id);
    rec.payload = (void *)payload.ptr;
    rec.payload_len = payload.len;
    /* One JSON tree per message, printed once (parsing the printed system properties again
     * to add the hub's own cost a seventh of a message's CPU). */
    cJSON *app, *sys;
    int rc = props_to_objects(props, &app, &sys);
    if (rc == 0) {
        rc = add_sys(sys, c->device_id, will, retain);
        if (rc != 0) {
            cJSON_Delete(app);
            cJSON_Delete(sys);
        } else {
            rc = print_objects(app, sys, &rec.app_props, &rec.sys_props);
        }
    }
    if (rc == 0) {
        snprintf(rec.msg_type, sizeof(rec.msg_type), "%s", will ? "Will" : "Telemetry");
        rc = hub_store_telemetry_append(c->hub->store, &rec, NULL, done, ctx);
    }
    free(rec.app_props);
    free(rec.sys_props);
    return rc;
}

int hub_telemetry_publish(struct hub_conn *c, struct azk_span props, struct azk_span payload,
                          int qos, uint16_t packet_id, bool retain)
{
    /* Every message is tracked until committed (QoS 1 for its PUBACK, all for back-pressure). */
    struct puback_ctx *p = calloc(1, sizeof(*p));
    if (p == NULL || (qos == 1 && (p->slot = hub_puback_reserve(c, packet_id)) == NULL)) {
        free(p);
        return -ENOMEM;
    }
    p->c = c;
    p->bytes = payload.len + props.len + 256;
    hub_conn_ref(c);
    int rc = store_record(c, props, payload, false, retain, committed, p);
    if (rc != 0) {
        hub_conn_unref(c);
        free(p);
        return rc;
    }
    c->pending_bytes += p->bytes;
    if (!c->read_paused && c->pending_bytes > HUB_CONN_PENDING_HIGH) {
        c->read_paused = true;
        bufferevent_disable(c->bev, EV_READ);
        hub_log(HUB_LOG_DEBUG, "device '%s': reading paused, %zu bytes of telemetry waiting for "
                "the disk", c->device_id, c->pending_bytes);
    }
    return 0;
}

void hub_telemetry_store_will(struct hub_conn *c)
{
    /* The Will topic must be the device's telemetry topic; its property bag is kept. */
    struct azk_hub_topic t;
    struct azk_span topic = {c->will_topic, strlen(c->will_topic)};
    struct azk_span props = {NULL, 0};
    if (azk_hub_parse_device_topic(topic, azk_span_from_str(c->device_id), &t) == 0 &&
        t.kind == AZK_HUB_TOPIC_TELEMETRY)
        props = t.properties;
    struct azk_span payload = {c->will_payload, c->will_payload_len};
    if (store_record(c, props, payload, true, c->will_retain, NULL, NULL) != 0)
        hub_log(HUB_LOG_WARN, "device '%s': the Will message could not be stored",
                c->device_id);
}

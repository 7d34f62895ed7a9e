/* Status and error codes of IoT Hub and DPS → explanation + likely fix. Sources: MQTT 3.1.1
 * §3.2.2.3; learn.microsoft.com/azure/iot/iot-mqtt-connect-to-iot-hub; learn.microsoft.com/
 * rest/api/iothub/common-error-codes; learn.microsoft.com/azure/iot-hub/troubleshoot-error-codes;
 * learn.microsoft.com/azure/iot-dps/how-to-troubleshoot-dps; azure-sdk-for-c provisioning tests
 * (401002 "Invalid certificate", 400207 custom allocation). */
#include "azkit/azure_status.h"

#include <stddef.h>

struct entry {
    uint32_t code;
    struct azk_status_info info;
};

#define E(c, s, f) {c, {s, f}}

static const struct entry connack[] = {
    E(0, "Connection accepted.", "Nothing to fix."),
    E(1, "The server does not accept this MQTT protocol version; Azure accepts only MQTT 3.1.1.",
      "Connect with MQTT 3.1.1 (protocol name \"MQTT\", level 4)."),
    E(2, "The client id was rejected.",
      "Use the device id (IoT Hub, or deviceId/moduleId) or the registration id (DPS) as the "
      "MQTT client id, the same id as in the username."),
    E(3, "The service is temporarily unavailable.",
      "Retry later with exponential backoff and jitter."),
    E(4, "Bad username or password: the username or the SAS token is malformed.",
      "Check the username format ({host}/{deviceId}/?api-version=2021-04-12 for IoT Hub, "
      "{idScope}/registrations/{registrationId}/api-version=2019-03-31 for DPS); with X.509 "
      "send no password; with SAS check sr, sig and se."),
    E(5, "Not authorized: the hub refused the identity (unknown or disabled device, expired or "
         "wrong SAS token, or a certificate that does not match the device).",
      "Check that the device exists and is enabled; for X.509 that the TLS client certificate "
      "was sent, its thumbprint matches the device (selfSigned) or its chain reaches a verified "
      "CA and CN = device id (certificateAuthority); for SAS that the key and expiry are right."),
};

static const struct entry hub[] = {
    E(200, "OK: the request succeeded (twin GET returns the document).", "Nothing to fix."),
    E(202, "Accepted: the request was accepted.", "Nothing to fix."),
    E(204, "No content: the reported-properties patch was accepted ($version is the new "
           "reported version).",
      "Nothing to fix."),
    E(400, "Bad request: the request or its body is malformed (e.g. the reported patch is not "
           "a JSON object).",
      "Send a valid JSON object; check the topic and its $rid."),
    E(401, "Unauthorized: the credentials are not (or no longer) valid.",
      "Reconnect with a fresh SAS token or a valid certificate."),
    E(403, "Forbidden: a quota was exceeded (e.g. daily message quota) or the operation is not "
           "allowed for this hub tier.",
      "Wait for the quota to reset or upgrade the hub; check the tier supports twins/methods."),
    E(404, "Not found: the device, module or method does not exist (a device answering a "
           "method call uses 404 for an unknown method).",
      "Check the device id and the method name."),
    E(408, "Timeout: the device did not answer in time.",
      "Make sure the device is connected and subscribed, and answers promptly."),
    E(409, "Conflict with the current state of the resource.",
      "Read the current state and retry."),
    E(412, "Precondition failed: the ETag or version does not match.",
      "Read the twin again and retry with the current ETag/version."),
    E(413, "Too large: the message or twin section exceeds the limit (D2C 256 KB, C2D 64 KB, "
           "method payload 128 KB, desired/reported 32 KB each).",
      "Send less data per message or patch."),
    E(429, "Throttled: too many requests for this hub's tier and units.",
      "Back off and retry later; reduce the request rate or add units."),
    E(500, "Internal server error.", "Retry with exponential backoff."),
    E(503, "Service unavailable.", "Retry with exponential backoff."),
    E(504, "Gateway timeout: the operation (e.g. a direct method call) timed out.",
      "Check that the device is online and answers within the method timeout."),
};

static const struct entry dps[] = {
    E(200, "Done: the registration finished; the body's status says how (assigned, failed or "
           "disabled).",
      "Read registrationState: on assigned connect to assignedHub as deviceId; on failed see "
      "errorCode/errorMessage; on disabled enable the enrollment."),
    E(202, "Accepted: assignment is in progress.",
      "Poll with the operation-status topic after retry-after seconds, using operationId."),
    E(400, "Bad request: the register request or its payload is malformed.",
      "Send {\"registrationId\":\"<id>\"} (or an empty payload) with a valid $rid."),
    E(401, "Unauthorized: attestation failed (the certificate matches no enrollment, the chain "
           "up to the enrollment group's CA is missing, or the SAS token is wrong or expired).",
      "Check CN = registration id, send the full chain (leaf + intermediates) for group "
      "enrollments, and that the CA is uploaded and verified."),
    E(403, "Forbidden: the request is not allowed (e.g. a quota of the DPS instance).",
      "Check the DPS instance's limits and the enrollment."),
    E(404, "Not found: no enrollment matches, the ID scope is wrong, or the operation id is "
           "unknown.",
      "Check the ID scope, create an individual or group enrollment, and poll with the "
      "operationId of the 202 response."),
    E(405, "Method not allowed: the request is missing the enrollment or registration id.",
      "Check the topic and the registration id."),
    E(409, "Conflict with the current state of the DPS instance.",
      "Retry; check for duplicate enrollments or concurrent registrations."),
    E(412, "Precondition failed: the ETag does not match the enrollment's.",
      "Read the enrollment again and retry with its current ETag."),
    E(415, "Unsupported media type: the payload format is not supported.", "Send JSON."),
    E(429, "Throttled: too many registrations or polls for this DPS instance.",
      "Wait retry-after seconds, then retry with exponential backoff and jitter."),
    E(500, "Internal server error.",
      "Retry with backoff; a previously assigned device can connect to its hub meanwhile."),
    E(503, "Service unavailable.", "Retry with exponential backoff."),
};

static const struct entry hub_err[] = {
    E(400004, "Bad format: the request body could not be parsed or validated.",
      "Send a valid JSON body."),
    E(400027, "ConnectionForcefullyClosedOnNewConnection: another client connected with the same "
              "identity, so the hub closed this connection.",
      "Give every client its own device id; stop duplicate instances."),
    E(400103, "InvalidContentEncodingOrType: $.ct / $.ce are not valid.",
      "Use $.ct=application%2Fjson and $.ce=utf-8 (or leave them out)."),
    E(401002, "IoT Hub unauthorized access.", "Check the credentials and their permissions."),
    E(401003, "IoTHubUnauthorized: the token is expired or does not apply to this resource, or "
              "the certificate thumbprint does not match the device.",
      "Renew the SAS token before it expires (reconnect), or register the certificate's "
      "thumbprint / CA."),
    E(403002, "IoTHubQuotaExceeded: the daily message quota is used up.",
      "Wait for the daily reset or add units / upgrade the tier."),
    E(403004, "DeviceMaximumQueueDepthExceeded: the device has 50 pending C2D messages.",
      "Let the device receive and complete its C2D messages."),
    E(403006, "DeviceMaximumActiveFileUploadLimitExceeded: too many concurrent file uploads.",
      "Complete or abandon file uploads before starting new ones."),
    E(403010, "The operation is not valid for this IoT Hub tier.",
      "Upgrade the hub (basic tiers have no twins, methods or C2D)."),
    E(404001, "DeviceNotFound: the device is not registered in the hub.",
      "Create the device (or provision it through DPS) and check the id."),
    E(404103, "DeviceNotOnline: the device is not connected or not subscribed to methods.",
      "Connect the device and subscribe to $iothub/methods/POST/#."),
    E(404104, "DeviceConnectionClosedRemotely: the device closed the connection, or missed its "
              "keep-alive (the hub waits min(1.5 x keepalive, 1767 s)).",
      "Use a keep-alive of at most 1177 s and send PINGREQ in time; check the network."),
    E(409001, "DeviceAlreadyExists.", "Use another id or update the existing device."),
    E(409002, "LinkCreationConflict: several connections for the same device.",
      "Keep one connection per device."),
    E(412001, "The ETag in the request does not match the resource's.",
      "Read the resource again and retry with its ETag."),
    E(412002, "DeviceMessageLockLost: the C2D message lock expired before completion.",
      "Complete C2D messages (PUBACK) promptly."),
    E(413001, "The message exceeds the maximum size (D2C 256 KB).", "Send smaller messages."),
    E(429001, "ThrottlingException: the hub's operation rate limit was exceeded.",
      "Back off and retry; spread the load or add units."),
    E(500001, "Internal server error.", "Retry with exponential backoff."),
    E(503003, "PartitionNotFound: a transient service condition.",
      "Retry with exponential backoff."),
    E(504101, "GatewayTimeout: the device did not answer the method call in time.",
      "Answer direct methods within the timeout; check the device is online."),
};

static const struct entry dps_err[] = {
    E(400207, "Custom allocation failed: the allocation webhook returned an error.",
      "Check the Azure Function / webhook of the custom allocation policy and its logs."),
    E(400209, "Custom allocation failed: the allocation webhook refused the request "
              "(e.g. 401).",
      "Check the webhook URL and its key in the enrollment's custom allocation settings."),
    E(401002, "Invalid certificate: DPS could not match the device certificate (or its chain) "
              "to an enrollment, or the certificate is not valid.",
      "Send the full chain (leaf + intermediates) up to the group's verified CA, check "
      "CN = registration id and the certificate's validity dates."),
};

#define FIND(table, code) find(table, sizeof(table) / sizeof(table[0]), code)

static const struct azk_status_info *find(const struct entry *t, size_t n, uint32_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return &t[i].info;
    return NULL;
}

const struct azk_status_info *azk_status_lookup(enum azk_status_kind kind, uint32_t code)
{
    const struct azk_status_info *r;
    switch (kind) {
    case AZK_STATUS_CONNACK:
        return FIND(connack, code);
    case AZK_STATUS_HUB:
        return FIND(hub, code);
    case AZK_STATUS_DPS:
        return FIND(dps, code);
    case AZK_STATUS_HUB_ERROR:
        r = FIND(hub_err, code);
        return r || code < 100000 || code > 999999 ? r : FIND(hub, code / 1000);
    case AZK_STATUS_DPS_ERROR:
        r = FIND(dps_err, code);
        return r || code < 100000 || code > 999999 ? r : FIND(dps, code / 1000);
    }
    return NULL;
}

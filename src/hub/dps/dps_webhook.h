/* DPS custom allocation: the webhook call ("Understand custom allocation policies with Azure IoT
 * Hub Device Provisioning Service", Microsoft Learn).
 *
 * DPS POSTs an AllocationRequest to the enrollment's customAllocationDefinition.webhookUrl:
 *   {"individualEnrollment"|"enrollmentGroup": {the enrollment, as the service API shows it},
 *    "deviceRuntimeContext": {"registrationId", "currentIotHubHostName"?, "currentDeviceId"?,
 *                             "x509": {"clientCertificate": {certificate info}}, "payload"?},
 *    "linkedHubs": [every hub this process serves]}
 * and takes from a 200 answer the AllocationResponse: "iotHubHostName" (required; one of the
 * linked hubs), "initialTwin" (optional: replaces the enrollment's and any migration) and
 * "payload" (optional: returned to the device in registrationState.payload).
 *
 * The call runs on the loop (libevent's HTTP client; https verified against the system's CAs
 * and --dps-webhook-ca, with the URL's host name checked); it is bounded by
 * --dps-webhook-timeout. Failures, as the device sees them: 400209 when the webhook refused the
 * call (401, 403), 400207 for anything else (no answer in time, another status, an answer that
 * is not an AllocationResponse, a hub that is not linked).
 */
#ifndef AZK_HUB_DPS_WEBHOOK_H
#define AZK_HUB_DPS_WEBHOOK_H

#include "hub/dps/dps_model.h"

struct dps_op;
struct dps_webhook_call;

#define DPS_ERR_WEBHOOK_FAILED 400207  /* the allocation webhook returned an error */
#define DPS_ERR_WEBHOOK_REFUSED 400209 /* the allocation webhook refused the request */

/* What the webhook decided. */
struct dps_webhook_result {
    int error_code;                      /* 0, DPS_ERR_WEBHOOK_FAILED or _REFUSED */
    char message[256];                   /* why, when error_code != 0 */
    char iot_hub[DPS_HOST_MAX + 1];      /* the hub to assign */
    char *initial_twin;                  /* JSON object text, or NULL */
    char *payload;                       /* JSON value text, or NULL */
};

typedef void (*dps_webhook_done_fn)(struct dps_op *op, struct dps_webhook_result *r);

/* Calls the webhook of op's enrollment; `done` runs on the loop exactly once (also when the
 * call cannot start), then `r`'s heap fields are freed by the caller with
 * dps_webhook_result_clear(). `prev_hub`/`prev_device` (may be NULL): the current assignment.
 * Returns 0, or -ENOMEM (done not called). */
int dps_webhook_call(struct dps_op *op, const char *prev_hub, const char *prev_device,
                     dps_webhook_done_fn done);

void dps_webhook_result_clear(struct dps_webhook_result *r);

/* The operation goes away while its call runs (the hub stops): the call is dropped and its
 * `done` never runs. */
void dps_webhook_cancel(struct dps_webhook_call *c);

#endif

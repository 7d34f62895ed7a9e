/* A DPS device over raw MQTT for the hub tests: open (CONNECT with the DPS username and
 * SUBSCRIBE), register and poll until the operation ends, honouring retry-after. */
#ifndef AZK_TEST_DPS_UTIL_H
#define AZK_TEST_DPS_UTIL_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "hub_harness.h"

/* TLS with `send` (a chain or cert file, NULL: no certificate) and `key`, CONNECT as `reg_id`
 * with the Embedded C SDK's username under `scope`, SUBSCRIBE $dps/registrations/res/# (QoS 1,
 * granted 1). Fails the test on any error. */
void test_dps_open(struct test_dev *d, const struct test_hub *h, const char *scope,
                   const char *reg_id, const char *send, const char *key, bool clean);

/* Reads the next PUBLISH, checks its topic and returns its parsed body. */
cJSON *test_dps_expect(struct test_dev *d, const char *topic);

/* Registers ($rid=`rid`, `body` may be "") and polls until the answer is final (200 or an
 * error), waiting retry-after between polls. Returns the final body; *status (may be NULL)
 * gets the status of the final topic (200, 401, ...). */
cJSON *test_dps_register(struct test_dev *d, const char *rid, const char *body, int *status);

/* A string member (fails the test when missing). */
const char *test_json_str(const cJSON *o, const char *name);

#endif

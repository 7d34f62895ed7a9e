#!/usr/bin/env node
// The SDK side of the AMQP interop test (ctest node_interop_amqp); started by run-hub.js as
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node amqp-scenarios.js c2d|refusals '<json config>'
// Config: {hub, readyFile, mqttPort, amqpPort, serviceConnectionString, deviceId, cert, key}.
//
// azure-iothub's Client speaks AMQP to amqps://<HostName> (port 5671 unless HostName carries
// one): the test gives it HostName=localhost:<amqp port>, which the SDK keeps in the URI and in
// the token's resource (sr). The device is the official device SDK over MQTT.
'use strict';

const { adminOf, withTimeout } = require('./scenario-util');

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');

const { Client: DeviceClient } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const iothub = require('azure-iothub');
const { Message } = require('azure-iot-common');

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3] || '{}');
const t0 = Date.now();
function step(msg) {
  console.log(`[amqp ${mode} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

const admin = adminOf(cfg);


// The service connection string pointed at the AMQP port.
function amqpConnectionString(cs = cfg.serviceConnectionString) {
  return cs.replace(/HostName=([^;:]+)(:\d+)?;/, `HostName=$1:${cfg.amqpPort};`);
}
const part = (cs, k) => (cs.match(new RegExp(`${k}=([^;]+)`)) || [])[1];

// A service token made as the SDKs make it: sig = HMAC-SHA256(key, urlencode(sr) + "\n" + se).
function sasToken(sr, key, se, skn = 'iothubowner') {
  const esr = encodeURIComponent(sr);
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(`${esr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${esr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=${skn}`;
}

function deviceClient(id) {
  const client = DeviceClient.fromConnectionString(`HostName=localhost:${cfg.mqttPort};DeviceId=${id};x509=true`, Mqtt);
  client.setOptions({ cert: fs.readFileSync(cfg.cert, 'utf8'), key: fs.readFileSync(cfg.key, 'utf8') });
  return client;
}

// C2D with Client.send() to a connected device, and its feedback.
async function c2dScenario() {
  const id = cfg.deviceId;
  const device = deviceClient(id);
  step(`device ${id} opens (MQTT)`);
  await withTimeout('device open', 10000, device.open());
  const deviceGot = [];
  let deviceArrived = () => {};
  device.on('message', (msg) => { deviceGot.push(msg); deviceArrived(); });
  const got = new Promise((resolve) => { deviceArrived = () => resolve(deviceGot[0]); });

  const cs = amqpConnectionString();
  step(`service Client.fromConnectionString(HostName=${part(cs, 'HostName')}): open (CBS put-token)`);
  const service = iothub.Client.fromConnectionString(cs);
  await withTimeout('service open', 10000, service.open());
  const feedback = await withTimeout('getFeedbackReceiver', 10000, new Promise((resolve, reject) =>
    service.getFeedbackReceiver((err, receiver) => (err ? reject(err) : resolve(receiver)))));
  const records = [];
  let recordArrived = () => {};
  feedback.on('message', (msg) => {
    step(`feedback message: content-type ${msg.contentType} data ${msg.data}`);
    assert.strictEqual(msg.contentType, 'application/vnd.microsoft.iothub.feedback.json');
    records.push(...JSON.parse(msg.data.toString()));
    feedback.complete(msg, () => {});
    recordArrived();
  });

  const m = new Message('hello over AMQP');
  m.messageId = `amqp-c2d-${id}`;
  m.correlationId = 'corr-1';
  m.ack = 'full';
  m.properties.add('color', 'blue');
  m.properties.add('n', '1');
  step('Client.send() with messageId, correlationId, ack full, properties color=blue n=1');
  const sent = await withTimeout('send', 10000, service.send(id, m));
  step(`send: ${sent.constructor.name}`);

  const r = await withTimeout('the device gets the message', 10000, got);
  step(`device got data=${JSON.stringify(r.data.toString())} messageId=${r.messageId} ` +
       `correlationId=${r.correlationId} properties=${JSON.stringify(r.properties.propertyList)}`);
  assert.strictEqual(r.data.toString(), 'hello over AMQP');
  assert.strictEqual(r.messageId, `amqp-c2d-${id}`);
  assert.strictEqual(r.correlationId, 'corr-1');
  assert.strictEqual(r.properties.getValue('color'), 'blue');
  assert.strictEqual(r.properties.getValue('n'), '1');
  // Over MQTT the ack mode reaches the device as the property iothub-ack (as on Azure).
  assert.strictEqual(r.properties.getValue('iothub-ack'), 'full');
  // The device SDK acknowledges it over MQTT (PUBACK): the hub queues a Success record.
  await withTimeout('complete', 10000, device.complete(r));

  await withTimeout('the Success feedback record', 10000, new Promise((resolve) => {
    recordArrived = () => { if (records.length) resolve(); };
    recordArrived();
  }));
  const dev = admin('device', 'show', id).device;
  assert.deepStrictEqual(Object.keys(records[0]).sort(),
                         ['description', 'deviceGenerationId', 'deviceId', 'enqueuedTimeUtc',
                          'originalMessageId', 'statusCode']);
  assert.strictEqual(records[0].originalMessageId, `amqp-c2d-${id}`);
  assert.strictEqual(records[0].deviceId, id);
  assert.strictEqual(records[0].deviceGenerationId, dev.generationId);
  assert.strictEqual(records[0].statusCode, 'Success');
  assert.ok(!Number.isNaN(Date.parse(records[0].enqueuedTimeUtc)));

  step('a message without ack gives no feedback record');
  const quiet = new Message('no ack');
  quiet.messageId = 'amqp-no-ack';
  await withTimeout('send (no ack)', 10000, service.send(id, quiet));
  // The next message with ack full is the witness that nothing came in between.
  const witness = new Message('witness');
  witness.messageId = 'amqp-witness';
  witness.ack = 'positive';
  await withTimeout('send (witness)', 10000, service.send(id, witness));
  await withTimeout('the witness record', 10000, new Promise((resolve) => {
    recordArrived = () => { if (records.length >= 2) resolve(); };
    recordArrived();
  }));
  assert.deepStrictEqual(records.map((x) => x.originalMessageId), [`amqp-c2d-${id}`, 'amqp-witness']);
  assert.deepStrictEqual(deviceGot.map((x) => x.messageId), [`amqp-c2d-${id}`, 'amqp-no-ack', 'amqp-witness']);

  await withTimeout('device close', 10000, device.close());

  step('the device is offline: two messages expire in its queue (ack negative, ack positive)');
  const expiring = new Message('expires');
  expiring.messageId = 'amqp-expiring';
  expiring.ack = 'negative';
  const until = Date.now() + 1000;
  expiring.expiryTimeUtc = until; // ms since the epoch: rhea writes it as the AMQP timestamp
  await withTimeout('send (expiring)', 10000, service.send(id, expiring));
  const quietExpiry = new Message('expires quietly');
  quietExpiry.messageId = 'amqp-expiring-positive';
  quietExpiry.ack = 'positive';
  quietExpiry.expiryTimeUtc = until;
  await withTimeout('send (expiring, ack positive)', 10000, service.send(id, quietExpiry));
  while (Date.now() <= until + 100) await new Promise((r) => setTimeout(r, 100));
  // The queue drops expired messages when it is next used: the next message.
  step('past their expiry, the next message to the device drops them: one Expired record');
  await withTimeout('send (after expiry)', 10000, service.send(id, new Message('later')));
  await withTimeout('the Expired record', 10000, new Promise((resolve) => {
    recordArrived = () => { if (records.length >= 3) resolve(); };
    recordArrived();
  }));
  assert.strictEqual(records.length, 3);
  assert.strictEqual(records[2].originalMessageId, 'amqp-expiring');
  assert.strictEqual(records[2].statusCode, 'Expired');
  assert.strictEqual(records[2].description, 'Expired');
  await withTimeout('service close', 10000, service.close());
}

// What the hub refuses, with Azure's AMQP errors as the SDK maps them.
async function refusalsScenario() {
  const cs = amqpConnectionString();
  const service = iothub.Client.fromConnectionString(cs);
  await withTimeout('service open', 10000, service.open());

  step('send to an unknown device: DeviceNotFoundError (amqp:not-found)');
  await assert.rejects(withTimeout('send unknown', 10000, service.send('no-such-device', new Message('x'))), (err) => {
    step(`  ${err.constructor.name}: ${err.message} (${err.amqpError && err.amqpError.condition})`);
    return err.constructor.name === 'DeviceNotFoundError' && err.amqpError.condition === 'amqp:not-found';
  });

  const id = cfg.deviceId; // registered, never connected: its queue fills up
  step(`50 messages fill the queue of ${id}; the 51st: DeviceMaximumQueueDepthExceededError`);
  for (let i = 0; i < 50; i++) await withTimeout(`send ${i}`, 10000, service.send(id, new Message(`m${i}`)));
  await assert.rejects(withTimeout('send 51st', 10000, service.send(id, new Message('one too many'))), (err) => {
    step(`  ${err.constructor.name}: ${err.message} (${err.amqpError && err.amqpError.condition})`);
    return err.constructor.name === 'DeviceMaximumQueueDepthExceededError' &&
           err.amqpError.condition === 'amqp:resource-limit-exceeded';
  });
  await withTimeout('service close', 10000, service.close());

  const host = part(cs, 'HostName');
  const key = part(cs, 'SharedAccessKey');
  const now = Math.floor(Date.now() / 1000);
  // The SDK reports a refused put-token as the send's error with amqpError = UnauthorizedError
  // whose message is the CBS status-description.
  const refused = async (what, client, why) => {
    step(`${what}: refused`);
    await assert.rejects(withTimeout(what, 10000, client.send(id, new Message('x'))), (err) => {
      const cause = err.amqpError || {};
      step(`  ${err.constructor.name}: ${err.message}; ${cause.constructor.name}: ${cause.message}`);
      return cause.constructor.name === 'UnauthorizedError' && why.test(cause.message);
    });
  };
  await refused('a wrong key', iothub.Client.fromConnectionString(
    cs.replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.alloc(32, 9).toString('base64')}`)), /bad signature/);
  await refused('an expired token', iothub.Client.fromSharedAccessSignature(sasToken(host, key, now - 60)), /expired/);
  await refused('an unknown policy', iothub.Client.fromSharedAccessSignature(
    sasToken(host, key, now + 3600, 'nosuchpolicy')), /policy/);
  // DPS's policy name, signed with the same key, has no rights on IoT Hub endpoints.
  await refused('the DPS policy', iothub.Client.fromSharedAccessSignature(
    sasToken(host, key, now + 3600, 'provisioningserviceowner')), /rights|scope/);
  step('a valid token from the same key works');
  const ok = iothub.Client.fromSharedAccessSignature(sasToken(host, key, now + 3600));
  await assert.rejects(withTimeout('send unknown (valid token)', 10000, ok.send('no-such-device', new Message('x'))),
                       (err) => err.constructor.name === 'DeviceNotFoundError');
  await withTimeout('close', 10000, ok.close());
}

const scenarios = { c2d: c2dScenario, refusals: refusalsScenario };
if (!scenarios[mode]) {
  console.error(`usage: amqp-scenarios.js ${Object.keys(scenarios).join('|')} '<json config>'`);
  process.exit(2);
}
scenarios[mode]().then(() => process.exit(0), (err) => {
  console.error(`[amqp ${mode}] FAIL: ${err && err.stack || err}`);
  process.exit(1);
});

#!/usr/bin/env node
// MQTT over WebSockets with Microsoft's Node SDKs, unchanged: azure-iot-device-mqtt's `MqttWs`
// and azure-iot-provisioning-device-mqtt's `MqttWs` against azkit-hub. Both SDKs build
// wss://<host>:443/$iothub/websocket themselves (port 443 hard-coded, as Azure serves it), so
// the devices here name the hub by its bare host name ("localhost") and reach the service API's
// port, which run-hub.js puts on 443 (as for the service SDKs).
//
//   node ws-scenarios.js sas|x509|dps '<json config>'   (run by run-hub.js --suite ws)
//
// sas:  a device created with the registry's defaults, by its connection string: a wrong key is
//       refused (CONNACK 5: UnauthorizedError), then telemetry, twin GET/PATCH, a desired patch,
//       a direct method and C2D; the SDK renews its 8 s token (reconnecting) and still sends.
// x509: a self-signed device with its certificate on the TLS connection of the WebSocket.
// dps:  registration over WebSockets with X.509 and with SymmetricKeySecurityClient (individual
//       and group, a wrong key refused), each followed by a connection to the assigned hub over
//       WebSockets.
'use strict';

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const { execFileSync } = require('child_process');

const { Client: DeviceClient, Message } = require('azure-iot-device');
const { MqttWs } = require('azure-iot-device-mqtt');
const iothub = require('azure-iothub');
const { invokeWhenSubscribed } = require('./scenario-util');
const { ProvisioningServiceClient } = require('azure-iot-provisioning-service');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { MqttWs: ProvMqttWs } = require('azure-iot-provisioning-device-mqtt');
const { X509Security } = require('azure-iot-security-x509');
const { SymmetricKeySecurityClient } = require('azure-iot-security-symmetric-key');

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3] || '{}');
const t0 = Date.now();
function step(msg) {
  console.log(`[ws ${mode} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function admin(...args) {
  return JSON.parse(execFileSync(cfg.hub, [...args, '--ready-file', cfg.readyFile, '--json'],
                                 { encoding: 'utf8', timeout: 30000 }));
}

function waitFor(what, ms, register) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout (${ms} ms) waiting for ${what}`)), ms);
    register((v) => { clearTimeout(t); resolve(v); });
  });
}

function withTimeout(what, ms, promise) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timeout (${ms} ms): ${what}`)), ms); }),
  ]);
}

const describe = (err) => `${err && err.constructor && err.constructor.name}: ${err && err.message}`;

// Sends one message and checks the hub stored exactly it.
async function sendAndCheck(client, id, body, hubArgs = []) {
  const before = admin('telemetry', ...hubArgs, '--device', id).lastSeq;
  const msg = new Message(body);
  msg.properties.add('transport', 'MqttWs');
  await withTimeout('sendEvent', 10000, client.sendEvent(msg));
  const tel = admin('telemetry', ...hubArgs, '--device', id, '--after', String(before));
  step(`telemetry of ${id}: ${JSON.stringify(tel.records.map((r) => ({ payload: r.payload, properties: r.properties })))}`);
  assert.strictEqual(tel.records.length, 1, 'one telemetry record');
  assert.strictEqual(tel.records[0].payload, body);
  assert.strictEqual(tel.records[0].properties.transport, 'MqttWs');
}

function wsClient(cs) {
  const client = DeviceClient.fromConnectionString(cs, MqttWs);
  client.on('error', (err) => { console.error(`device client error: ${err && err.stack || err}`); });
  return client;
}


async function sasScenario() {
  const id = 'node-ws-sas-1';
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const service = iothub.Client.fromConnectionString(cfg.serviceConnectionString);
  step(`Registry.create({deviceId: ${id}}) with the defaults`);
  const dev = (await registry.create({ deviceId: id })).responseBody;
  assert.strictEqual(dev.authentication.type, 'sas');
  const key = dev.authentication.symmetricKey.primaryKey;
  const cs = (k) => `HostName=localhost;DeviceId=${id};SharedAccessKey=${k}`;

  step('a wrong key over MqttWs -> UnauthorizedError (CONNACK 5)');
  const bad = wsClient(cs(Buffer.alloc(32, 7).toString('base64')));
  await assert.rejects(withTimeout('open (wrong key)', 10000, bad.open()), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'UnauthorizedError';
  });

  const client = wsClient(cs(key));
  // Tokens valid for 8 s, renewed 4 s before they expire: the SDK reconnects (a new WebSocket)
  // with a new one before the hub closes the connection at the expiry.
  client.setOptions({ tokenRenewal: { tokenValidTimeInSeconds: 8, tokenRenewalMarginInSeconds: 4 } });
  step(`open ${cs('<key>')} over MqttWs (wss://localhost:443/$iothub/websocket)`);
  await withTimeout('open', 10000, client.open());
  assert.strictEqual((await registry.get(id)).responseBody.connectionState, 'Connected');

  step('telemetry');
  await sendAndCheck(client, id, JSON.stringify({ ws: 1, auth: 'sas' }));

  step('twin GET and reported PATCH');
  const twin = await withTimeout('getTwin', 10000, client.getTwin());
  assert.strictEqual(typeof twin.properties.desired.$version, 'number');
  await withTimeout('reported.update', 10000, new Promise((resolve, reject) =>
    twin.properties.reported.update({ transport: 'MqttWs', n: 1 }, (e) => (e ? reject(e) : resolve()))));
  const st = (await registry.getTwin(id)).responseBody;
  assert.strictEqual(st.properties.reported.transport, 'MqttWs');
  assert.strictEqual(st.properties.reported.n, 1);

  step('desired patch from Registry.updateTwin reaches the device');
  await withTimeout('enable desired updates', 10000, new Promise((resolve, reject) =>
    twin.enableTwinDesiredPropertiesUpdates((err) => (err ? reject(err) : resolve()))));
  const patch = waitFor('the desired patch', 10000, (done) =>
    twin.on('properties.desired', (delta) => { if (delta.wsInterval === 17) done(JSON.parse(JSON.stringify(delta))); }));
  await registry.updateTwin(id, { properties: { desired: { wsInterval: 17 } } }, '*');
  const d = await patch;
  step(`  device got ${JSON.stringify(d)}`);
  assert.strictEqual(typeof d.$version, 'number');

  step('direct method');
  client.onDeviceMethod('wsPing', (req, res) => res.send(200, { pong: req.payload }, () => {}));
  const inv = await invokeWhenSubscribed(service, id, { methodName: 'wsPing', payload: { n: 3 }, responseTimeoutInSeconds: 10 });
  assert.strictEqual(inv.result.status, 200);
  assert.deepStrictEqual(inv.result.payload, { pong: { n: 3 } });

  step('C2D');
  const c2d = waitFor('C2D', 10000, (done) => client.once('message', done));
  admin('c2d', 'send', id, 'to a WebSocket device');
  const m = await c2d;
  assert.strictEqual(m.data.toString(), 'to a WebSocket device');
  await client.complete(m);

  step('past two token lifetimes: the SDK renewed its token over a new WebSocket and still works');
  await sleep(12000);
  await sendAndCheck(client, id, JSON.stringify({ ws: 2, renewed: true }));
  await withTimeout('close', 10000, client.close());
}

async function x509Scenario() {
  const id = cfg.deviceId;
  const client = wsClient(`HostName=localhost;DeviceId=${id};x509=true`);
  client.setOptions({ cert: fs.readFileSync(cfg.cert, 'utf8'), key: fs.readFileSync(cfg.key, 'utf8') });
  step(`open ${id} (X.509 ${cfg.cert}) over MqttWs`);
  await withTimeout('open', 10000, client.open());
  await sendAndCheck(client, id, JSON.stringify({ ws: 1, auth: 'x509' }));
  const twin = await withTimeout('getTwin', 10000, client.getTwin());
  assert.strictEqual(typeof twin.properties.reported.$version, 'number');
  await withTimeout('close', 10000, client.close());

  step('the same device without its certificate is refused');
  const none = wsClient(`HostName=localhost;DeviceId=${id};SharedAccessKey=${Buffer.alloc(32, 1).toString('base64')}`);
  await assert.rejects(withTimeout('open (no certificate)', 10000, none.open()), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'UnauthorizedError';
  });
}

// --- DPS over WebSockets ---

const hostOf = (assignedHub) => assignedHub.replace(/:\d+$/, '');

function registerWs(registrationId, security) {
  // provisioningHost 'localhost': the SDK connects to wss://localhost:443/$iothub/websocket.
  const client = ProvisioningDeviceClient.create('localhost', cfg.idScope, new ProvMqttWs(), security);
  step(`register ${registrationId} over ProvMqttWs (idScope ${cfg.idScope})`);
  return withTimeout(`register ${registrationId}`, 30000, client.register());
}

function checkAssigned(result, registrationId) {
  step(`  result: ${JSON.stringify(result)}`);
  assert.strictEqual(result.status, 'assigned');
  assert.strictEqual(result.registrationId, registrationId);
  assert.strictEqual(result.deviceId, registrationId);
}

// The assigned device connects over MqttWs to the assigned hub's host name and sends one message.
async function useAssigned(result, auth) {
  const host = hostOf(result.assignedHub);
  const client = wsClient(`HostName=${host};DeviceId=${result.deviceId};${auth.key ? `SharedAccessKey=${auth.key}` : 'x509=true'}`);
  if (!auth.key) client.setOptions({ cert: auth.cert, key: auth.pkey });
  await withTimeout('open', 10000, client.open());
  await sendAndCheck(client, result.deviceId, JSON.stringify({ provisioned: result.deviceId }), ['--hub', host]);
  await withTimeout('close', 10000, client.close());
}

async function dpsScenario() {
  const svc = ProvisioningServiceClient.fromConnectionString(cfg.dpsConnectionString);

  const xid = 'node-ws-dps-x509';
  const cert = fs.readFileSync(cfg.dpsCert, 'utf8');
  const pkey = fs.readFileSync(cfg.dpsKey, 'utf8');
  step(`individual enrollment ${xid} (x509)`);
  await svc.createOrUpdateIndividualEnrollment({
    registrationId: xid,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: cert } } } },
    provisioningStatus: 'enabled',
  });
  const xr = await registerWs(xid, new X509Security(xid, { cert, key: pkey }));
  checkAssigned(xr, xid);
  await useAssigned(xr, { cert, pkey });

  const sid = 'node-ws-dps-sym';
  step(`individual enrollment ${sid} (symmetricKey)`);
  const en = (await svc.createOrUpdateIndividualEnrollment({
    registrationId: sid, attestation: { type: 'symmetricKey' }, provisioningStatus: 'enabled',
  })).responseBody;
  const key = en.attestation.symmetricKey.primaryKey;
  const sr = await registerWs(sid, new SymmetricKeySecurityClient(sid, key));
  checkAssigned(sr, sid);
  await useAssigned(sr, { key });

  step('a wrong key over ProvMqttWs -> UnauthorizedError');
  await assert.rejects(registerWs(sid, new SymmetricKeySecurityClient(sid, crypto.randomBytes(32).toString('base64'))),
    (err) => { step(`  ${describe(err)}`); return err.constructor.name === 'UnauthorizedError'; });

  const gid = 'node-ws-dps-group';
  const groupKey = crypto.randomBytes(64).toString('base64');
  step(`enrollment group ${gid} (symmetricKey)`);
  await svc.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: gid,
    attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: groupKey, secondaryKey: crypto.randomBytes(64).toString('base64') } },
    provisioningStatus: 'enabled',
  });
  const member = 'node-ws-dps-member';
  const derived = crypto.createHmac('SHA256', Buffer.from(groupKey, 'base64')).update(member, 'utf8').digest('base64');
  const gr = await registerWs(member, new SymmetricKeySecurityClient(member, derived));
  checkAssigned(gr, member);
  await useAssigned(gr, { key: derived });
}

const scenarios = { sas: sasScenario, x509: x509Scenario, dps: dpsScenario };
if (!scenarios[mode]) {
  console.error(`usage: ws-scenarios.js ${Object.keys(scenarios).join('|')} '<json config>'`);
  process.exit(2);
}
scenarios[mode]().then(() => process.exit(0), (err) => {
  console.error(`[ws ${mode}] FAIL: ${err && err.stack || err}`);
  if (err && err.responseBody) console.error(`response body: ${err.responseBody}`);
  process.exit(1);
});

#!/usr/bin/env node
// The provisioning side of the Node.js interop test; started by run-hub.js --suite dps as
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node dps-scenarios.js service|register|group|negative|linked|certforms|custom|symkey '<json>'
// Config: {hub, readyFile, mqttPort, idScope, dpsHost, serviceConnectionString,
//          dpsConnectionString, hubs, linkedHub, pki, deviceId}; hubs = the ready file's "hubs"
//          (the primary first), linkedHub = the --linked-hub name the 'linked' scenario uses;
//          the PKI files are <pki>/<id>.cert.pem, .key.pem, .chain.pem (CA-signed devices),
//          root.*, inter.*.
//
// The hub serves a linked hub besides the primary (run-hub.js: --linked-hub hub-b.azkit.test),
// so DPS's hashed allocation may put any device on either: the scenarios talk to the hub named
// in assignedHub (registryFor, admin --hub).
//
// SDKs: azure-iot-provisioning-service (enrollments over HTTPS on port 443, policy
// provisioningserviceowner), azure-iot-provisioning-device + azure-iot-provisioning-device-mqtt +
// azure-iot-security-x509 or azure-iot-security-symmetric-key (registration over MQTT on the
// hub's listener), then azure-iot-device(-mqtt) on the assigned hub. The admin CLI is only used
// to read telemetry.
'use strict';

const { adminOf, withTimeout } = require('./scenario-util');

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const { ProvisioningServiceClient } = require('azure-iot-provisioning-service');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt: ProvMqtt } = require('azure-iot-provisioning-device-mqtt');
const { X509Security } = require('azure-iot-security-x509');
const { SymmetricKeySecurityClient } = require('azure-iot-security-symmetric-key');
const { Client: DeviceClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const iothub = require('azure-iothub');

// Test hub names (*.azkit.test: the linked hub hub-b.azkit.test) resolve to 127.0.0.1, where the
// hub listens; everything else resolves as usual. The SDKs must connect by that name, not by
// 127.0.0.1: it is the TLS SNI (mqtt.js and https.request set servername only for names) and, for
// the service SDK, the Host header and the SAS token's sr -- how the hub tells its hubs apart.
// `.test` is reserved (RFC 2606) and never resolves, and /etc/hosts belongs to the machine (the
// private network namespace shares the file system). net and tls read require('dns').lookup at
// connect time (net: `options.lookup || dns.lookup`), so replacing that one property reaches
// mqtt.js and https.request without touching the SDKs. Node 20 asks with {all: true} (happy
// eyeballs), older code paths without: both forms are answered.
function resolveTestHostsToLoopback() {
  const dns = require('dns');
  const systemLookup = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    if (typeof options === 'function') { callback = options; options = {}; }
    if (typeof hostname !== 'string' || !/\.azkit\.test\.?$/i.test(hostname)) {
      return systemLookup.call(dns, hostname, options, callback);
    }
    const all = typeof options === 'object' && options !== null && options.all;
    process.nextTick(() => (all ? callback(null, [{ address: '127.0.0.1', family: 4 }])
                                : callback(null, '127.0.0.1', 4)));
  };
}
resolveTestHostsToLoopback();

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3] || '{}');
const t0 = Date.now();
function step(msg) {
  console.log(`[dps ${mode} ${cfg.deviceId || ''} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}
const pem = (name) => fs.readFileSync(path.join(cfg.pki, name), 'utf8');

const admin = adminOf(cfg);


const describe = (err) => `${err && err.constructor && err.constructor.name} (name ${err && err.name}): ` +
  `${err && err.message}${err && err.result ? ' result=' + JSON.stringify(err.result) : ''}` +
  `${err && err.responseBody ? ' responseBody=' + err.responseBody : ''}`;

function serviceClient() {
  return ProvisioningServiceClient.fromConnectionString(cfg.dpsConnectionString);
}

// 'host:port' (assignedHub with the emulator's port) -> 'host'.
const hostOf = (assignedHub) => assignedHub.replace(/:\d+$/, '');

// azure-iothub Registry for one of the served hubs: the service connection string with its
// HostName replaced (the same key signs every hub's tokens; the token's sr names the hub).
function registryFor(host) {
  return iothub.Registry.fromConnectionString(
    cfg.serviceConnectionString.replace(/HostName=[^;]*/, `HostName=${host}`));
}

// Registry.get and getTwin of a device the hub `host` must not have: DeviceNotFoundError (404).
async function expectNotInHub(host, deviceId) {
  const registry = registryFor(host);
  for (const op of ['get', 'getTwin']) {
    step(`Registry(${host}).${op}(${deviceId}) -> DeviceNotFoundError (404)`);
    await assert.rejects(registry[op](deviceId), (err) => {
      step(`  ${describe(err)}`);
      assert.strictEqual(err.constructor.name, 'DeviceNotFoundError',
                         `${host} must not have ${deviceId}: ${op} gave ${describe(err)}`);
      assert.strictEqual(err.response && err.response.statusCode, 404, `${op}: HTTP status`);
      return true;
    }, `${host} must not have ${deviceId}, but Registry.${op} succeeded`);
  }
}

// Registers with the provisioning device SDK (X.509): the certificate PEM may be a chain (leaf
// first), as the SDK sends whatever cert holds.
function provisioningClient(registrationId, certFile, keyFile) {
  const security = new X509Security(registrationId, { cert: pem(certFile), key: pem(keyFile) });
  // 'localhost:<port>': the SDK connects to mqtts://<provisioningHost>.
  return ProvisioningDeviceClient.create(`localhost:${cfg.mqttPort}`, cfg.idScope, new ProvMqtt(), security);
}

async function register(registrationId, certFile, keyFile) {
  const client = provisioningClient(registrationId, certFile, keyFile);
  step(`register ${registrationId} (provisioningHost localhost:${cfg.mqttPort}, idScope ${cfg.idScope}, cert ${certFile})`);
  return withTimeout(`register ${registrationId}`, 30000, client.register());
}

// Opens the assigned hub the way the SDK samples do, sends one message, checks that hub (admin
// --hub) stored it.
async function sendViaAssignedHub(result, certFile, keyFile) {
  const hubArgs = ['--hub', hostOf(result.assignedHub), '--device', result.deviceId];
  const cs = `HostName=${result.assignedHub};DeviceId=${result.deviceId};x509=true`;
  step(`device client on the assigned hub: ${cs}`);
  const client = DeviceClient.fromConnectionString(cs, Mqtt);
  client.setOptions({ cert: pem(certFile), key: pem(keyFile) });
  client.on('error', (err) => { console.error(`device client error: ${err && err.stack || err}`); });
  await withTimeout('open', 10000, client.open());
  const before = admin('telemetry', ...hubArgs).lastSeq;
  const body = JSON.stringify({ provisioned: result.deviceId, via: result.assignedHub });
  const msg = new Message(body);
  msg.properties.add('source', 'dps');
  await withTimeout('sendEvent', 10000, client.sendEvent(msg));
  await withTimeout('close', 10000, client.close());
  const tel = admin('telemetry', ...hubArgs, '--after', String(before));
  step(`telemetry: ${JSON.stringify(tel.records.map((r) => ({ payload: r.payload, properties: r.properties })))}`);
  assert.strictEqual(tel.records.length, 1, `one telemetry record in ${hostOf(result.assignedHub)}`);
  assert.strictEqual(tel.records[0].payload, body);
  assert.strictEqual(tel.records[0].properties.source, 'dps');
}

function checkAssigned(result, registrationId, deviceId) {
  step(`register result: ${JSON.stringify(result)}`);
  assert.strictEqual(result.status, 'assigned');
  assert.strictEqual(result.registrationId, registrationId);
  assert.strictEqual(result.deviceId, deviceId);
  // Emulator extension: ':port' because the MQTT port is not 8883.
  assert.match(result.assignedHub, new RegExp(`:${cfg.mqttPort}$`), 'assignedHub carries the MQTT port');
  assert.ok(cfg.hubs.includes(hostOf(result.assignedHub)),
            `assignedHub ${result.assignedHub} is one of the served hubs ${JSON.stringify(cfg.hubs)}`);
  assert.ok(result.createdDateTimeUtc && result.lastUpdatedDateTimeUtc && result.etag);
}

// (1) Enrollment CRUD with azure-iot-provisioning-service.
async function serviceScenario() {
  const svc = serviceClient();
  const id = cfg.deviceId;
  const certPem = pem(`${id}.cert.pem`);

  // --- individual enrollment ---
  step(`createOrUpdateIndividualEnrollment ${id} (x509 clientCertificates, disabled)`);
  const created = (await svc.createOrUpdateIndividualEnrollment({
    registrationId: id,
    deviceId: `${id}-dev`,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: certPem } } } },
    provisioningStatus: 'disabled',
    initialTwin: { tags: { origin: 'node-crud' }, properties: { desired: { interval: 5 } } },
  })).responseBody;
  step(`  created: etag=${created.etag} status=${created.provisioningStatus}`);
  assert.strictEqual(created.registrationId, id);
  assert.strictEqual(created.deviceId, `${id}-dev`);
  assert.strictEqual(created.provisioningStatus, 'disabled');
  assert.ok(created.etag, 'etag');
  assert.ok(created.createdDateTimeUtc && created.lastUpdatedDateTimeUtc);
  const info = created.attestation.x509.clientCertificates.primary.info;
  assert.ok(info && info.sha1Thumbprint && info.subjectName, 'certificate info');
  step(`  certificate info: ${JSON.stringify(info)}`);

  step('getIndividualEnrollment');
  const got = (await svc.getIndividualEnrollment(id)).responseBody;
  assert.strictEqual(got.registrationId, id);
  assert.strictEqual(got.etag, created.etag);
  assert.deepStrictEqual(got.initialTwin.tags, { origin: 'node-crud' });

  step('getIndividualEnrollmentAttestationMechanism');
  const am = (await svc.getIndividualEnrollmentAttestationMechanism(id)).responseBody;
  assert.strictEqual(am.type, 'x509');
  assert.ok(am.x509 && am.x509.clientCertificates && am.x509.clientCertificates.primary,
    `attestation mechanism: ${JSON.stringify(am)}`);

  step('update: provisioningStatus enabled, PUT the returned object (etag -> If-Match)');
  got.provisioningStatus = 'enabled';
  const updated = (await svc.createOrUpdateIndividualEnrollment(got)).responseBody;
  assert.strictEqual(updated.provisioningStatus, 'enabled');
  assert.notStrictEqual(updated.etag, created.etag, 'etag changes on update');
  step(`  updated: etag=${updated.etag}`);

  step('update with the stale etag -> InvalidEtagError (412)');
  await assert.rejects(svc.createOrUpdateIndividualEnrollment({ ...got, etag: created.etag }), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'InvalidEtagError' && err.response.statusCode === 412;
  });

  step('createIndividualEnrollmentQuery({query: "*"})');
  const q = (await svc.createIndividualEnrollmentQuery({ query: '*' }).next()).responseBody;
  assert.ok(Array.isArray(q) && q.some((e) => e.registrationId === id), 'the query lists the enrollment');

  step('deleteIndividualEnrollment with the stale etag -> InvalidEtagError (412)');
  await assert.rejects(svc.deleteIndividualEnrollment(id, created.etag),
    (err) => err.constructor.name === 'InvalidEtagError');
  step('deleteIndividualEnrollment(enrollment) (its etag)');
  await svc.deleteIndividualEnrollment(updated);
  step('getIndividualEnrollment after delete -> 404');
  await assert.rejects(svc.getIndividualEnrollment(id), (err) => {
    step(`  ${describe(err)}`);
    return err.response && err.response.statusCode === 404 && /404201/.test(err.responseBody);
  });

  // --- enrollment group (the sample's pattern: create disabled, update with the etag) ---
  const gid = 'node-dps-crud-group';
  step(`createOrUpdateEnrollmentGroup ${gid} (x509 signingCertificates = root, disabled)`);
  const g = (await svc.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: gid,
    attestation: { type: 'x509', x509: { signingCertificates: { primary: { certificate: pem('root.cert.pem') } } } },
    provisioningStatus: 'disabled',
    reprovisionPolicy: { updateHubAssignment: true, migrateDeviceData: true },
  })).responseBody;
  step(`  created: etag=${g.etag} status=${g.provisioningStatus}`);
  assert.strictEqual(g.enrollmentGroupId, gid);
  assert.strictEqual(g.provisioningStatus, 'disabled');
  assert.ok(g.etag);
  assert.ok(g.attestation.x509.signingCertificates.primary.info.sha256Thumbprint, 'signing certificate info');
  g.provisioningStatus = 'enabled';
  step('createOrUpdateEnrollmentGroup(returned group, enabled)');
  const g2 = (await svc.createOrUpdateEnrollmentGroup(g)).responseBody;
  assert.strictEqual(g2.provisioningStatus, 'enabled');
  assert.notStrictEqual(g2.etag, g.etag);
  step('getEnrollmentGroup');
  const g3 = (await svc.getEnrollmentGroup(gid)).responseBody;
  assert.strictEqual(g3.provisioningStatus, 'enabled');
  assert.strictEqual(g3.etag, g2.etag);
  step('getEnrollmentGroupAttestationMechanism');
  const gam = (await svc.getEnrollmentGroupAttestationMechanism(gid)).responseBody;
  assert.strictEqual(gam.type, 'x509');
  assert.ok(gam.x509 && gam.x509.signingCertificates, `attestation mechanism: ${JSON.stringify(gam)}`);
  step('createEnrollmentGroupQuery({query: "*"})');
  const gq = (await svc.createEnrollmentGroupQuery({ query: '*' }).next()).responseBody;
  assert.ok(gq.some((e) => e.enrollmentGroupId === gid));
  step('update with the stale etag -> InvalidEtagError (412)');
  await assert.rejects(svc.createOrUpdateEnrollmentGroup({ ...g3, etag: g.etag }),
    (err) => err.constructor.name === 'InvalidEtagError');
  step('deleteEnrollmentGroup(id, etag)');
  await svc.deleteEnrollmentGroup(gid, g3.etag);
  await assert.rejects(svc.getEnrollmentGroup(gid), (err) => err.response && err.response.statusCode === 404);
  await assert.rejects(svc.deleteEnrollmentGroup(gid), (err) => err.response && err.response.statusCode === 404);

  // --- authorisation ---
  step('provisioning service client with a wrong key -> UnauthorizedError');
  const wrongKey = Buffer.alloc(32, 9).toString('base64');
  const bad = ProvisioningServiceClient.fromConnectionString(
    cfg.dpsConnectionString.replace(/SharedAccessKey=[^;]*/, `SharedAccessKey=${wrongKey}`));
  await assert.rejects(bad.getEnrollmentGroup('any'), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'UnauthorizedError';
  });
  step('the iothubowner connection string also works for DPS');
  const viaHubPolicy = ProvisioningServiceClient.fromConnectionString(cfg.serviceConnectionString);
  const q2 = (await viaHubPolicy.createEnrollmentGroupQuery({ query: '*' }).next()).responseBody;
  assert.ok(Array.isArray(q2));
  step('provisioningserviceowner has no rights on the hub: azure-iothub Registry -> UnauthorizedError');
  const reg = iothub.Registry.fromConnectionString(cfg.dpsConnectionString);
  await assert.rejects(reg.list(), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'UnauthorizedError';
  });
}

// (2a) Individual enrollment (self-signed leaf): service SDK creates it, device SDK registers,
// the device connects to the assigned hub.
async function registerScenario() {
  const svc = serviceClient();
  const id = cfg.deviceId;
  const deviceId = `${id}-dev`;
  step(`createOrUpdateIndividualEnrollment ${id} -> deviceId ${deviceId}, initialTwin`);
  await svc.createOrUpdateIndividualEnrollment({
    registrationId: id,
    deviceId,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: pem(`${id}.cert.pem`) } } } },
    provisioningStatus: 'enabled',
    initialTwin: { tags: { provisionedBy: 'node' }, properties: { desired: { interval: 11 } } },
  });

  const result = await register(id, `${id}.cert.pem`, `${id}.key.pem`);
  checkAssigned(result, id, deviceId);
  assert.strictEqual(result.substatus, 'initialAssignment');

  step('getDeviceRegistrationState');
  const rs = (await svc.getDeviceRegistrationState(id)).responseBody;
  step(`  ${JSON.stringify(rs)}`);
  assert.strictEqual(rs.status, 'assigned');
  assert.strictEqual(rs.deviceId, deviceId);
  // assignedHub carries ':<port>' (emulator extension) for the device and the service API alike.
  assert.strictEqual(rs.assignedHub, result.assignedHub,
                     'the service API and the device see the same assignedHub');
  const en = (await svc.getIndividualEnrollment(id)).responseBody;
  assert.ok(en.registrationState && en.registrationState.status === 'assigned', 'enrollment.registrationState');

  step(`the registry of the assigned hub (${hostOf(result.assignedHub)}) has the device (selfSigned) with the initial twin`);
  const registry = registryFor(hostOf(result.assignedHub));
  const dev = (await registry.get(deviceId)).responseBody;
  assert.strictEqual(dev.authentication.type, 'selfSigned');
  const twin = (await registry.getTwin(deviceId)).responseBody;
  assert.deepStrictEqual(twin.tags, { provisionedBy: 'node' });
  assert.strictEqual(twin.properties.desired.interval, 11);

  await sendViaAssignedHub(result, `${id}.cert.pem`, `${id}.key.pem`);

  step('register again -> the same device');
  const again = await register(id, `${id}.cert.pem`, `${id}.key.pem`);
  assert.strictEqual(again.deviceId, deviceId);
  assert.strictEqual(again.assignedHub, result.assignedHub);

  step('disable the enrollment: register fails (status disabled)');
  en.provisioningStatus = 'disabled';
  await svc.createOrUpdateIndividualEnrollment(en);
  await assert.rejects(register(id, `${id}.cert.pem`, `${id}.key.pem`), (err) => {
    step(`  ${describe(err)}`);
    // The SDK's polling state machine knows no 'disabled' status: SyntaxError, as against Azure.
    return err.constructor.name === 'SyntaxError' && /disabled/.test(err.message) &&
      err.result && err.result.status === 'disabled';
  });
}

// (2b) Enrollment group on the intermediate: the device sends leaf + intermediate (the chain
// file); (3b) a device that sends only its leaf is refused.
async function groupScenario() {
  const svc = serviceClient();
  const id = cfg.deviceId;
  const gid = 'node-dps-inter-group';
  step(`createOrUpdateEnrollmentGroup ${gid} (signingCertificates = the intermediate)`);
  const g = (await svc.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: gid,
    attestation: { type: 'x509', x509: { signingCertificates: { primary: { certificate: pem('inter.cert.pem') } } } },
    provisioningStatus: 'enabled',
    initialTwin: { tags: { group: gid } },
  })).responseBody;
  assert.ok(g.etag);

  const result = await register(id, `${id}.chain.pem`, `${id}.key.pem`);
  checkAssigned(result, id, id);

  step(`createEnrollmentGroupDeviceRegistrationStateQuery(${gid})`);
  const regs = (await svc.createEnrollmentGroupDeviceRegistrationStateQuery({ query: '*' }, gid).next()).responseBody;
  step(`  ${JSON.stringify(regs.map((r) => ({ registrationId: r.registrationId, status: r.status })))}`);
  assert.ok(regs.some((r) => r.registrationId === id && r.status === 'assigned'));
  const registry = registryFor(hostOf(result.assignedHub));
  const twin = (await registry.getTwin(id)).responseBody;
  assert.deepStrictEqual(twin.tags, { group: gid });

  await sendViaAssignedHub(result, `${id}.chain.pem`, `${id}.key.pem`);

  // The same PKI, a second device, but it sends only its leaf: DPS cannot build the chain to
  // the intermediate the group holds.
  const leafOnly = 'node-dps-grp-2';
  step(`${leafOnly} sends its leaf only (cert.pem, no intermediate) -> refused`);
  await assert.rejects(register(leafOnly, `${leafOnly}.cert.pem`, `${leafOnly}.key.pem`), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'UnauthorizedError' &&
      (/401002|unauthori/i.test(err.message) || (err.result && err.result.errorCode === 401002));
  });
  step(`${leafOnly} with its chain -> assigned`);
  const r2 = await register(leafOnly, `${leafOnly}.chain.pem`, `${leafOnly}.key.pem`);
  checkAssigned(r2, leafOnly, leafOnly);
}

// (3a) A device with no enrollment at all.
async function negativeScenario() {
  const id = cfg.deviceId;
  step(`${id}: no enrollment -> register fails with UnauthorizedError / 401002`);
  let caught = null;
  await assert.rejects(register(id, `${id}.cert.pem`, `${id}.key.pem`), (err) => {
    caught = err;
    step(`  ${describe(err)}`);
    return true;
  });
  assert.strictEqual(caught.constructor.name, 'UnauthorizedError', 'error class');
  assert.ok(/401002|unauthori/i.test(caught.message) || (caught.result && caught.result.errorCode === 401002),
            'the error mentions 401002 / unauthorized');
  if (caught.result) assert.strictEqual(caught.result.errorCode, 401002, 'result.errorCode');

  step('getDeviceRegistrationState for it -> 404');
  await assert.rejects(serviceClient().getDeviceRegistrationState(id),
    (err) => err.response && err.response.statusCode === 404);
  step('a wrong id scope -> refused');
  const security = new X509Security(id, { cert: pem(`${id}.cert.pem`), key: pem(`${id}.key.pem`) });
  const wrong = ProvisioningDeviceClient.create(`localhost:${cfg.mqttPort}`, '0ne00000000', new ProvMqtt(), security);
  await assert.rejects(withTimeout('register (wrong scope)', 30000, wrong.register()), (err) => {
    step(`  ${describe(err)}`);
    return !/^timeout/.test(err.message);
  });
}

// (4) Linked hubs: an individual enrollment statically allocated to the linked hub
// (cfg.linkedHub): the device registers and connects there, only that hub's registry has it;
// then the enrollment moves to the primary hub with reprovisionPolicy {updateHubAssignment,
// migrateDeviceData}: registering again moves the device, its twin comes along, the linked hub
// forgets it.
async function linkedScenario() {
  const svc = serviceClient();
  const id = cfg.deviceId;
  const deviceId = id;
  const primary = cfg.hubs[0];
  const linked = cfg.linkedHub;
  assert.ok(linked && linked !== primary && cfg.hubs.includes(linked),
            `the hub serves ${linked} besides ${primary}: hubs ${JSON.stringify(cfg.hubs)}`);
  const cert = `${id}.cert.pem`;
  const key = `${id}.key.pem`;

  step(`createOrUpdateIndividualEnrollment ${id}: allocationPolicy static, iotHubHostName ${linked}`);
  const en = (await svc.createOrUpdateIndividualEnrollment({
    registrationId: id,
    deviceId,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: pem(cert) } } } },
    provisioningStatus: 'enabled',
    allocationPolicy: 'static',
    iotHubHostName: linked,
    initialTwin: { tags: { provisionedBy: 'node-linked' }, properties: { desired: { interval: 7 } } },
  })).responseBody;
  step(`  created: allocationPolicy=${en.allocationPolicy} iotHubHostName=${en.iotHubHostName} ` +
       `reprovisionPolicy=${JSON.stringify(en.reprovisionPolicy)}`);
  assert.strictEqual(en.allocationPolicy, 'static', 'enrollment.allocationPolicy');
  assert.strictEqual(en.iotHubHostName, linked, 'enrollment.iotHubHostName');

  const first = await register(id, cert, key);
  checkAssigned(first, id, deviceId);
  assert.strictEqual(first.assignedHub, `${linked}:${cfg.mqttPort}`, 'assigned to the linked hub');
  assert.strictEqual(first.substatus, 'initialAssignment');

  // HostName=<linked>:<port>: the device SDK sends the linked hub's name as SNI and in the
  // MQTT username.
  await sendViaAssignedHub(first, cert, key);

  const regLinked = registryFor(linked);
  const regPrimary = registryFor(primary);
  step(`Registry(${linked}).get(${deviceId}) -> the device`);
  const dev = (await regLinked.get(deviceId)).responseBody;
  assert.strictEqual(dev.deviceId, deviceId);
  assert.strictEqual(dev.authentication.type, 'selfSigned');
  await expectNotInHub(primary, deviceId);

  step(`Registry(${linked}).getTwin + twin.update: desired.location = "${linked}"`);
  const twin = (await regLinked.getTwin(deviceId)).responseBody;
  assert.deepStrictEqual(twin.tags, { provisionedBy: 'node-linked' }, 'the initial twin\'s tags');
  assert.strictEqual(twin.properties.desired.interval, 7, 'the initial twin\'s desired.interval');
  // Twin.update resolves to {result: the twin, message} (not {responseBody}, as Registry does).
  const updated = (await twin.update({ properties: { desired: { location: linked } } })).result;
  assert.strictEqual(updated.properties.desired.location, linked, 'desired.location after update');

  step(`update the enrollment: iotHubHostName ${primary}, reprovisionPolicy {updateHubAssignment, migrateDeviceData}`);
  const cur = (await svc.getIndividualEnrollment(id)).responseBody;
  cur.iotHubHostName = primary;
  cur.reprovisionPolicy = { updateHubAssignment: true, migrateDeviceData: true };
  const en2 = (await svc.createOrUpdateIndividualEnrollment(cur)).responseBody;
  assert.strictEqual(en2.iotHubHostName, primary, 'enrollment.iotHubHostName after update');
  assert.deepStrictEqual(en2.reprovisionPolicy, { updateHubAssignment: true, migrateDeviceData: true },
                         'enrollment.reprovisionPolicy after update');

  step('register again -> moved to the primary hub, device data migrated');
  const second = await register(id, cert, key);
  checkAssigned(second, id, deviceId);
  assert.strictEqual(second.assignedHub, `${primary}:${cfg.mqttPort}`, 'reassigned to the primary hub');
  assert.strictEqual(second.substatus, 'deviceDataMigrated', 'registrationState.substatus');
  const rs = (await svc.getDeviceRegistrationState(id)).responseBody;
  step(`getDeviceRegistrationState: ${JSON.stringify(rs)}`);
  assert.strictEqual(rs.assignedHub, second.assignedHub, 'the service API sees the new assignedHub');
  assert.strictEqual(rs.substatus, 'deviceDataMigrated', 'the service API sees the substatus');

  step(`Registry(${primary}).getTwin(${deviceId}) -> the twin set on ${linked}`);
  const moved = (await regPrimary.getTwin(deviceId)).responseBody;
  step(`  tags=${JSON.stringify(moved.tags)} desired=${JSON.stringify(moved.properties.desired)}`);
  assert.strictEqual(moved.properties.desired.location, linked, 'desired.location migrated');
  assert.strictEqual(moved.properties.desired.interval, 7, 'desired.interval migrated');
  assert.deepStrictEqual(moved.tags, { provisionedBy: 'node-linked' }, 'tags migrated');
  await expectNotInHub(linked, deviceId);

  // The device now works on the primary hub.
  await sendViaAssignedHub(second, cert, key);
}

// (5) Certificates in the three forms Azure accepts: PEM, the base64 of the PEM text (what this
// SDK's own tests send) and the base64 of the DER (what the .NET SDK sends), in individual
// enrollments and a group; each device then registers. Something else is refused with 400.
const b64Pem = (file) => Buffer.from(pem(file), 'utf8').toString('base64');
const b64Der = (file) => pem(file).replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

async function certFormsScenario() {
  const svc = serviceClient();
  const forms = [['pem', pem], ['base64(PEM)', b64Pem], ['base64(DER)', b64Der]];
  for (let i = 0; i < forms.length; i++) {
    const [name, encode] = forms[i];
    const id = `node-dps-form-${i + 1}`;
    step(`createOrUpdateIndividualEnrollment ${id}: clientCertificates.primary as ${name}`);
    const en = (await svc.createOrUpdateIndividualEnrollment({
      registrationId: id,
      attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: encode(`${id}.cert.pem`) } } } },
      provisioningStatus: 'enabled',
    })).responseBody;
    const info = en.attestation.x509.clientCertificates.primary.info;
    step(`  info: ${JSON.stringify(info)}`);
    assert.match(info.sha256Thumbprint, /^[0-9A-F]{64}$/, 'the certificate info Azure returns');
    checkAssigned(await register(id, `${id}.cert.pem`, `${id}.key.pem`), id, id);
  }
  const gid = 'node-dps-form-group';
  step(`createOrUpdateEnrollmentGroup ${gid}: signingCertificates.primary = base64(DER) of root 2`);
  await svc.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: gid,
    attestation: { type: 'x509', x509: { signingCertificates: { primary: { certificate: b64Der('root2.cert.pem') } } } },
    provisioningStatus: 'enabled',
  });
  checkAssigned(await register('node-dps-form-grp', 'node-dps-form-grp.cert.pem', 'node-dps-form-grp.key.pem'),
                'node-dps-form-grp', 'node-dps-form-grp');
  step('a certificate that is none of the three forms -> 400');
  await assert.rejects(svc.createOrUpdateIndividualEnrollment({
    registrationId: 'node-dps-form-bad',
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: 'bm90IGEgY2VydGlmaWNhdGU=' } } } },
  }), (err) => {
    step(`  ${describe(err)}`);
    return err.response && err.response.statusCode === 400 && /base64 of the DER/.test(err.responseBody || err.message);
  });
}

// (6) Custom allocation: a webhook (a small HTTP server here) picks the linked hub, sets the
// initial twin and returns a payload the device receives; a webhook that answers 500, refuses
// (401), names a hub DPS is not linked to, or does not answer in time fails the registration.
// Then over https: a webhook whose certificate chains to the CA the hub was given
// (--dps-webhook-ca) allocates; one with an untrusted certificate, or with a certificate for
// another name, fails the registration (400207) without being called.
async function customScenario() {
  const http = require('http');
  const https = require('https');
  const svc = serviceClient();
  const id = cfg.deviceId;
  const seen = [];
  let mode = 'ok';
  const handler = (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ url: req.url, body: JSON.parse(body) });
      if (mode === 'slow') return; // never answers
      if (mode === '500') { res.writeHead(500); res.end('boom'); return; }
      if (mode === '401') { res.writeHead(401); res.end(); return; }
      const hub = mode === 'unlinked' ? 'not-linked.azkit.test' : cfg.linkedHub;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ iotHubHostName: hub,
                               initialTwin: { tags: { allocatedBy: 'webhook' }, properties: { desired: { mode: 'eco' } } },
                               payload: { greeting: `hello ${id}`, echo: seen[seen.length - 1].body.deviceRuntimeContext.payload } }));
    });
  };
  const listen = async (server) => {
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return server;
  };
  const enroll = (webhookUrl) => svc.createOrUpdateIndividualEnrollment({
    registrationId: id,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: pem(`${id}.cert.pem`) } } } },
    provisioningStatus: 'enabled',
    allocationPolicy: 'custom',
    customAllocationDefinition: { webhookUrl, apiVersion: '2021-10-01' },
  });
  const server = await listen(http.createServer(handler));
  // A host name, looked up by the hub without blocking its loop (/etc/hosts).
  const url = `http://localhost:${server.address().port}/api/allocate?code=secret`;
  const tlsServers = [];
  try {
    step(`createOrUpdateIndividualEnrollment ${id}: allocationPolicy custom, webhook ${url}`);
    await enroll(url);
    const got = (await svc.getIndividualEnrollment(id)).responseBody;
    assert.strictEqual(got.allocationPolicy, 'custom');
    assert.strictEqual(got.customAllocationDefinition.webhookUrl, url);

    const client = provisioningClient(id, `${id}.cert.pem`, `${id}.key.pem`);
    client.setProvisioningPayload({ model: 'thermostat-2' });
    step('register with payload {model: "thermostat-2"}');
    const result = await withTimeout('register', 30000, client.register());
    checkAssigned(result, id, id);
    assert.strictEqual(hostOf(result.assignedHub), cfg.linkedHub, 'the hub the webhook chose');
    assert.deepStrictEqual(result.payload, { greeting: `hello ${id}`, echo: { model: 'thermostat-2' } },
                           'the webhook\'s payload reaches the device');
    const call = seen[0];
    step(`the webhook got ${call.url}: ${JSON.stringify(call.body).slice(0, 300)}...`);
    assert.strictEqual(call.url, '/api/allocate?code=secret');
    assert.strictEqual(call.body.individualEnrollment.registrationId, id);
    assert.strictEqual(call.body.deviceRuntimeContext.registrationId, id);
    assert.deepStrictEqual(call.body.deviceRuntimeContext.payload, { model: 'thermostat-2' });
    assert.match(call.body.deviceRuntimeContext.x509.clientCertificate.sha256Thumbprint, /^[0-9A-F]{64}$/);
    assert.deepStrictEqual([...call.body.linkedHubs].sort(), [...cfg.hubs].sort());
    const twin = (await registryFor(cfg.linkedHub).getTwin(id)).responseBody;
    assert.deepStrictEqual(twin.tags, { allocatedBy: 'webhook' });
    assert.strictEqual(twin.properties.desired.mode, 'eco');

    for (const [m, code] of [['500', 400207], ['401', 400209], ['unlinked', 400207], ['slow', 400207]]) {
      mode = m;
      step(`webhook ${m} -> registration fails with ${code}`);
      const n = seen.length;
      await assert.rejects(register(id, `${id}.cert.pem`, `${id}.key.pem`), (err) => {
        step(`  ${describe(err)}`);
        const r = err.result || {};
        const rs = r.registrationState || r;
        return rs.errorCode === code || new RegExp(String(code)).test(err.message);
      });
      assert.strictEqual(seen.length, n + 1, 'the webhook was called');
      if (m === '500') // right after the assignment (a failed one leaves no current hub)
        assert.strictEqual(seen[n].body.deviceRuntimeContext.currentIotHubHostName, cfg.linkedHub,
                           'the webhook is told where the device is now');
    }

    mode = 'ok';
    for (const [certName, expectOk] of [['webhook-ok', true], ['webhook-untrusted', false],
                                        ['webhook-othername', false]]) {
      const tls = await listen(https.createServer({ cert: pem(`${certName}.cert.pem`),
                                                    key: pem(`${certName}.key.pem`) }, handler));
      tlsServers.push(tls);
      const turl = `https://127.0.0.1:${tls.address().port}/api/allocate`;
      step(`https webhook with the certificate ${certName}: ${turl} -> ${expectOk ? 'allocates' : '400207, not called'}`);
      await enroll(turl);
      const n = seen.length;
      if (expectOk) {
        const r = await withTimeout('register', 30000,
                                    register(id, `${id}.cert.pem`, `${id}.key.pem`));
        checkAssigned(r, id, id);
        assert.strictEqual(hostOf(r.assignedHub), cfg.linkedHub, 'the hub the https webhook chose');
        assert.strictEqual(seen.length, n + 1, 'the https webhook was called');
      } else {
        await assert.rejects(register(id, `${id}.cert.pem`, `${id}.key.pem`), (err) => {
          step(`  ${describe(err)}`);
          const r = err.result || {};
          const rs = r.registrationState || r;
          return rs.errorCode === 400207 &&
                 /TLS certificate was not accepted: (self-signed certificate|IP address mismatch)/.test(rs.errorMessage);
        });
        assert.strictEqual(seen.length, n, 'a webhook the hub cannot verify gets no request');
      }
    }
  } finally {
    server.close();
    for (const t of tlsServers) t.close();
  }
}

// (6) Symmetric-key attestation: an individual enrollment whose keys the service generates,
// and an enrollment group whose members' keys are derived from the group key as Microsoft's
// sample does (provisioning/device/samples/register_symkey_group.js); each device registers with
// SymmetricKeySecurityClient over MQTT, then connects to the assigned hub with
// Client.fromConnectionString(HostName=..;DeviceId=..;SharedAccessKey=<its key>) and sends one
// message. A wrong key is refused (UnauthorizedError, 401002).
function computeDerivedSymmetricKey(groupKey, registrationId) {
  return crypto.createHmac('SHA256', Buffer.from(groupKey, 'base64'))
    .update(registrationId, 'utf8')
    .digest('base64');
}

function registerWithKey(registrationId, key) {
  const security = new SymmetricKeySecurityClient(registrationId, key);
  const client = ProvisioningDeviceClient.create(`localhost:${cfg.mqttPort}`, cfg.idScope, new ProvMqtt(), security);
  step(`register ${registrationId} (symmetric key, provisioningHost localhost:${cfg.mqttPort})`);
  return withTimeout(`register ${registrationId}`, 30000, client.register());
}

async function sendWithKey(result, key) {
  const hubArgs = ['--hub', hostOf(result.assignedHub), '--device', result.deviceId];
  const cs = `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${key}`;
  step(`device client on the assigned hub: HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=...`);
  const client = DeviceClient.fromConnectionString(cs, Mqtt);
  client.on('error', (err) => { console.error(`device client error: ${err && err.stack || err}`); });
  await withTimeout('open', 10000, client.open());
  const before = admin('telemetry', ...hubArgs).lastSeq;
  const body = JSON.stringify({ provisioned: result.deviceId, attestation: 'symmetricKey' });
  await withTimeout('sendEvent', 10000, client.sendEvent(new Message(body)));
  await withTimeout('close', 10000, client.close());
  const tel = admin('telemetry', ...hubArgs, '--after', String(before));
  assert.strictEqual(tel.records.length, 1, `one telemetry record in ${hostOf(result.assignedHub)}`);
  assert.strictEqual(tel.records[0].payload, body);
}

async function expectSasDevice(result, key) {
  const dev = (await registryFor(hostOf(result.assignedHub)).get(result.deviceId)).responseBody;
  step(`  the hub's device: authentication.type ${dev.authentication.type}`);
  assert.strictEqual(dev.authentication.type, 'sas');
  assert.ok([dev.authentication.symmetricKey.primaryKey, dev.authentication.symmetricKey.secondaryKey].includes(key),
            'the device has the key it registered with');
}

async function symkeyScenario() {
  const svc = serviceClient();
  const id = cfg.deviceId;

  step(`createOrUpdateIndividualEnrollment ${id} (symmetricKey, keys generated by the service)`);
  const en = (await svc.createOrUpdateIndividualEnrollment({
    registrationId: id,
    attestation: { type: 'symmetricKey' },
    provisioningStatus: 'enabled',
  })).responseBody;
  assert.strictEqual(en.attestation.type, 'symmetricKey');
  const key = en.attestation.symmetricKey.primaryKey;
  assert.strictEqual(Buffer.from(key, 'base64').length, 64, 'a generated key is 64 bytes');
  assert.strictEqual(Buffer.from(en.attestation.symmetricKey.secondaryKey, 'base64').length, 64);
  const am = (await svc.getIndividualEnrollmentAttestationMechanism(id)).responseBody;
  assert.strictEqual(am.type, 'symmetricKey');
  assert.strictEqual(am.symmetricKey.primaryKey, key);

  const result = await registerWithKey(id, key);
  checkAssigned(result, id, id);
  await expectSasDevice(result, key);
  await sendWithKey(result, key);
  step('the secondary key registers too');
  const again = await registerWithKey(id, en.attestation.symmetricKey.secondaryKey);
  assert.strictEqual(again.deviceId, id);

  step('a wrong key -> UnauthorizedError (401002)');
  await assert.rejects(registerWithKey(id, crypto.randomBytes(32).toString('base64')), (err) => {
    step(`  ${describe(err)}`);
    return err.constructor.name === 'UnauthorizedError';
  });

  const gid = 'node-dps-sym-group';
  const groupKey = crypto.randomBytes(64).toString('base64');
  step(`createOrUpdateEnrollmentGroup ${gid} (symmetricKey, keys given)`);
  const g = (await svc.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: gid,
    attestation: { type: 'symmetricKey', symmetricKey: { primaryKey: groupKey, secondaryKey: crypto.randomBytes(64).toString('base64') } },
    provisioningStatus: 'enabled',
    initialTwin: { tags: { group: gid } },
  })).responseBody;
  assert.strictEqual(g.attestation.symmetricKey.primaryKey, groupKey);
  const member = `${id}-member`;
  const derived = computeDerivedSymmetricKey(groupKey, member);
  const gr = await registerWithKey(member, derived);
  checkAssigned(gr, member, member);
  await expectSasDevice(gr, derived);
  const twin = (await registryFor(hostOf(gr.assignedHub)).getTwin(member)).responseBody;
  assert.deepStrictEqual(twin.tags, { group: gid });
  await sendWithKey(gr, derived);
  step('the group key itself is not a member\'s key -> UnauthorizedError');
  await assert.rejects(registerWithKey(`${id}-other`, groupKey),
    (err) => err.constructor.name === 'UnauthorizedError');
}

const scenarios = { service: serviceScenario, register: registerScenario, group: groupScenario,
                    negative: negativeScenario, linked: linkedScenario, certforms: certFormsScenario,
                    custom: customScenario, symkey: symkeyScenario };
if (!scenarios[mode]) {
  console.error(`usage: dps-scenarios.js ${Object.keys(scenarios).join('|')} '<json config>'`);
  process.exit(2);
}
scenarios[mode]().then(() => process.exit(0), (err) => {
  console.error(`[dps ${mode} ${cfg.deviceId || ''}] FAIL: ${err && err.stack || err}`);
  if (err && err.responseBody) console.error(`response body: ${err.responseBody}`);
  if (err && err.result) console.error(`result: ${JSON.stringify(err.result)}`);
  process.exit(1);
});

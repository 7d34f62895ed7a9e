#!/usr/bin/env node
// The SDK side of the Node.js interop test; started by run-hub.js as
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node sdk-scenarios.js device|registry '<json config>'
// Config: {hub, readyFile, mqttPort, serviceConnectionString, deviceId, cert, key}.
//
// Only the official SDKs are used to talk to the hub, apart from the azkit-hub admin CLI where
// the service SDK cannot be used:
// - C2D: here C2D messages are sent with `azkit-hub c2d send`
//   (POST /azkit/devices/{id}/messages/devicebound); azure-iothub's Client.send() over AMQP is
//   the node_interop_amqp test (amqp-scenarios.js).
// - Telemetry: there is no Event Hubs endpoint; `azkit-hub telemetry --json` reads what arrived.
'use strict';

const { adminOf, withTimeout, invokeWhenSubscribed } = require('./scenario-util');

const assert = require('assert');
const fs = require('fs');
const { execFileSync } = require('child_process');

const { Client: DeviceClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const iothub = require('azure-iothub');

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3] || '{}');
const t0 = Date.now();
function step(msg) {
  console.log(`[${mode} ${cfg.deviceId || ''} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const admin = adminOf(cfg);

// Resolves with the first value for which pred() returns true, or rejects after ms.
function waitFor(what, ms, register) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout (${ms} ms) waiting for ${what}`)), ms);
    register((v) => { clearTimeout(t); resolve(v); });
  });
}


function deviceClient(id, certFile, keyFile) {
  // x509=true: X509AuthenticationProvider; HostName with a port gives mqtts://localhost:PORT and
  // the username "localhost:PORT/<id>/?api-version=...".
  const cs = `HostName=localhost:${cfg.mqttPort};DeviceId=${id};x509=true`;
  const client = DeviceClient.fromConnectionString(cs, Mqtt);
  client.setOptions({ cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') });
  client.on('error', (err) => { console.error(`device client error: ${err && err.stack || err}`); });
  return client;
}


async function deviceScenario() {
  const id = cfg.deviceId;
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const service = iothub.Client.fromConnectionString(cfg.serviceConnectionString);
  const client = deviceClient(id, cfg.cert, cfg.key);

  step(`open (mqtts://localhost:${cfg.mqttPort}, X.509 ${cfg.cert})`);
  await withTimeout('open', 10000, client.open());

  const dev = (await registry.get(id)).responseBody;
  step(`Registry.get: connectionState=${dev.connectionState} auth=${dev.authentication.type}`);
  assert.strictEqual(dev.connectionState, 'Connected');

  // --- telemetry with properties ---
  const before = admin('telemetry', '--device', id).lastSeq;
  const msg = new Message(JSON.stringify({ t: 21.5, from: id }));
  msg.properties.add('alert', 'high');
  msg.properties.add('sensor', 'temp 1');
  msg.messageId = `mid-${id}`;
  msg.contentType = 'application/json';
  msg.contentEncoding = 'utf-8';
  step('sendEvent with properties alert=high, "sensor=temp 1", messageId, contentType');
  await withTimeout('sendEvent', 10000, client.sendEvent(msg));
  const tel = admin('telemetry', '--device', id, '--after', String(before));
  step(`telemetry --json: ${JSON.stringify(tel.records)}`);
  assert.strictEqual(tel.records.length, 1, 'one telemetry record');
  const rec = tel.records[0];
  assert.strictEqual(rec.deviceId, id);
  assert.deepStrictEqual(JSON.parse(rec.payload), { t: 21.5, from: id });
  assert.strictEqual(rec.properties.alert, 'high');
  assert.strictEqual(rec.properties.sensor, 'temp 1');
  assert.strictEqual(rec.systemProperties['message-id'], `mid-${id}`);
  assert.strictEqual(rec.systemProperties['content-type'], 'application/json');

  // --- twin: get, report, desired ---
  step('getTwin');
  const twin = await withTimeout('getTwin', 10000, client.getTwin());
  assert.ok(twin.properties.desired, 'twin has desired properties');
  assert.strictEqual(typeof twin.properties.desired.$version, 'number');
  assert.strictEqual(typeof twin.properties.reported.$version, 'number');
  step(`twin desired $version=${twin.properties.desired.$version} reported $version=${twin.properties.reported.$version}`);

  step('twin.properties.reported.update({firmware, telemetryInterval, nested})');
  const reported = { firmware: '1.2.3', telemetryInterval: 30, nested: { a: 1, b: 'x' } };
  await withTimeout('reported.update', 10000, new Promise((resolve, reject) =>
    twin.properties.reported.update(reported, (err) => (err ? reject(err) : resolve()))));
  const st = (await registry.getTwin(id)).responseBody;
  step(`Registry.getTwin: reported=${JSON.stringify(st.properties.reported)}`);
  assert.strictEqual(st.properties.reported.firmware, '1.2.3');
  assert.strictEqual(st.properties.reported.telemetryInterval, 30);
  assert.deepStrictEqual(st.properties.reported.nested, { a: 1, b: 'x' });

  // Subscribe first (the listener's own subscription is fire-and-forget), then listen.
  await withTimeout('enable desired updates', 10000, new Promise((resolve, reject) =>
    twin.enableTwinDesiredPropertiesUpdates((err) => (err ? reject(err) : resolve()))));
  const deltas = [];
  const waiters = [];
  // The first call gives twin.properties.desired itself (a live object the SDK keeps merging
  // into), the later ones the patches the hub sent: keep copies.
  twin.on('properties.desired', (delta) => {
    deltas.push(JSON.parse(JSON.stringify(delta)));
    for (const w of waiters.splice(0)) w();
  });
  const nextDelta = (pred, what) => waitFor(what, 10000, (done) => {
    const check = () => { const d = deltas.find(pred); if (d) done(d); else waiters.push(check); };
    check();
  });

  step('Registry.updateTwin(desired {interval: 42, mode: "fast"}, etag "*")');
  const upd = (await registry.updateTwin(id, { tags: { site: 'lab' }, properties: { desired: { interval: 42, mode: 'fast' } } }, '*')).responseBody;
  assert.strictEqual(upd.properties.desired.interval, 42);
  assert.deepStrictEqual(upd.tags, { site: 'lab' });
  const d1 = await nextDelta((d) => d.interval === 42, 'the desired patch from Registry.updateTwin');
  step(`device got desired patch ${JSON.stringify(d1)}`);
  assert.strictEqual(d1.mode, 'fast');
  assert.strictEqual(typeof d1.$version, 'number');
  assert.strictEqual(twin.properties.desired.interval, 42);

  step('azkit-hub twin set-desired {"mode":null,"threshold":7}');
  admin('twin', 'set-desired', id, '{"mode":null,"threshold":7}');
  const d2 = await nextDelta((d) => d.threshold === 7, 'the desired patch from the admin CLI');
  step(`device got desired patch ${JSON.stringify(d2)}`);
  assert.strictEqual(d2.mode, null);
  assert.ok(d2.$version > d1.$version, 'desired $version grows');
  assert.strictEqual(twin.properties.desired.mode, undefined, 'null removed the key');
  assert.strictEqual(twin.properties.desired.interval, 42);

  // The twin GET after updates sees everything.
  const twin2 = await withTimeout('getTwin (again)', 10000, client.getTwin());
  assert.strictEqual(twin2.properties.desired.threshold, 7);
  assert.strictEqual(twin2.properties.reported.firmware, '1.2.3');

  // --- direct method ---
  step('onDeviceMethod("reboot"); Client.invokeDeviceMethod over REST (port 443)');
  let methodRequest = null;
  client.onDeviceMethod('reboot', (request, response) => {
    methodRequest = { name: request.methodName, payload: request.payload };
    response.send(201, { rebooting: true, delay: request.payload && request.payload.delay }, (err) => {
      if (err) console.error(`method response send failed: ${err}`);
    });
  });
  const inv = await invokeWhenSubscribed(service, id,
    { methodName: 'reboot', payload: { delay: 5 }, responseTimeoutInSeconds: 10 });
  step(`invokeDeviceMethod result ${JSON.stringify(inv.result)}`);
  assert.deepStrictEqual(methodRequest, { name: 'reboot', payload: { delay: 5 } });
  assert.strictEqual(inv.result.status, 201);
  assert.deepStrictEqual(inv.result.payload, { rebooting: true, delay: 5 });

  // A method without a handler: the SDK does not answer, so the call times out (504).
  step('invokeDeviceMethod("nohandler", 5 s timeout) -> GatewayTimeout');
  const tInv = Date.now();
  await assert.rejects(service.invokeDeviceMethod(id, { methodName: 'nohandler', payload: null, responseTimeoutInSeconds: 5 }),
    (err) => {
      step(`  ${err.constructor.name}: ${err.message}`);
      return err.constructor.name === 'GatewayTimeoutError';
    });
  assert.ok(Date.now() - tInv >= 4000, 'the hub waited for the timeout');

  // --- cloud to device (via the admin CLI; Client.send() over AMQP: amqp-scenarios.js) ---
  step('client.on("message"); azkit-hub c2d send --property color=blue --message-id');
  const c2d = waitFor('the C2D message', 10000, (done) => client.on('message', done));
  const sent = admin('c2d', 'send', id, `hello ${id}`, '--property', 'color=blue', '--property', 'n=1',
                     '--message-id', `c2d-${id}`);
  assert.strictEqual(sent.messageId, `c2d-${id}`);
  const m = await c2d;
  step(`device got C2D data=${JSON.stringify(m.data.toString())} messageId=${m.messageId} ` +
       `props=${JSON.stringify(m.properties.propertyList)}`);
  assert.strictEqual(m.data.toString(), `hello ${id}`);
  assert.strictEqual(m.messageId, `c2d-${id}`);
  assert.strictEqual(m.properties.getValue('color'), 'blue');
  assert.strictEqual(m.properties.getValue('n'), '1');
  await withTimeout('complete', 10000, client.complete(m));
  step('complete: ok');

  // --- across a reconnect: the hub drops the connection, the SDK reconnects with
  // CleanSession=0 and its persistent session keeps the twin, method and C2D subscriptions ---
  step('KillTcp fault: the hub drops the connection; the SDK reconnects on its own');
  const stateBefore = (await registry.get(id)).responseBody.connectionStateUpdatedTime;
  const kill = new Message('fault');
  kill.properties.add('AzIoTHub_FaultOperationType', 'KillTcp');
  kill.properties.add('AzIoTHub_FaultOperationCloseReason', 'reconnect test');
  kill.properties.add('AzIoTHub_FaultOperationDelayInSecs', '1'); // after the PUBACK
  await withTimeout('sendEvent (fault)', 10000, client.sendEvent(kill));
  for (let i = 0; ; i++) {
    const d = (await registry.get(id)).responseBody;
    if (d.connectionState === 'Connected' && d.connectionStateUpdatedTime !== stateBefore) break;
    assert.ok(i < 300, 'the device SDK reconnected within 30 s');
    await sleep(100);
  }
  step('reconnected: getTwin, desired patch, method and C2D work again');
  const twin3 = await withTimeout('getTwin after reconnect', 10000, client.getTwin());
  assert.strictEqual(twin3.properties.desired.threshold, 7);
  admin('twin', 'set-desired', id, '{"afterReconnect":true}');
  await nextDelta((d) => d.afterReconnect === true, 'a desired patch after the reconnect');
  methodRequest = null;
  const inv2 = await invokeWhenSubscribed(service, id,
    { methodName: 'reboot', payload: { delay: 1 }, responseTimeoutInSeconds: 10 });
  assert.strictEqual(inv2.result.status, 201);
  assert.deepStrictEqual(methodRequest, { name: 'reboot', payload: { delay: 1 } });
  const c2dAgain = waitFor('a C2D message after the reconnect', 10000, (done) => client.once('message', done));
  admin('c2d', 'send', id, 'after reconnect');
  const m2 = await c2dAgain;
  assert.strictEqual(m2.data.toString(), 'after reconnect');
  await withTimeout('complete', 10000, client.complete(m2));

  step('close');
  await withTimeout('close', 10000, client.close());
  // The hub notices the disconnect.
  for (let i = 0; ; i++) {
    const d = (await registry.get(id)).responseBody;
    if (d.connectionState === 'Disconnected') break;
    assert.ok(i < 50, 'connectionState goes back to Disconnected');
    await sleep(100);
  }
}

async function registryScenario() {
  const id = cfg.deviceId;
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const thumb = execFileSync('openssl', ['x509', '-in', cfg.cert, '-noout', '-fingerprint', '-sha1'],
                             { encoding: 'utf8' }).split('=')[1].trim();

  step(`Registry.create ${id} (selfSigned, SHA-1 thumbprint ${thumb})`);
  const created = (await registry.create({ deviceId: id, status: 'enabled',
    authentication: { x509Thumbprint: { primaryThumbprint: thumb.replace(/:/g, ''), secondaryThumbprint: null } } })).responseBody;
  assert.strictEqual(created.deviceId, id);
  assert.strictEqual(created.authentication.type, 'selfSigned');
  assert.strictEqual(created.authentication.x509Thumbprint.primaryThumbprint, thumb.replace(/:/g, '').toUpperCase());
  assert.strictEqual(created.status, 'enabled');
  assert.ok(created.etag);

  step('Registry.create again -> DeviceAlreadyExistsError');
  await assert.rejects(registry.create({ deviceId: id, authentication: { type: 'certificateAuthority' } }),
    (err) => err.constructor.name === 'DeviceAlreadyExistsError');

  step('Registry.get');
  const got = (await registry.get(id)).responseBody;
  assert.strictEqual(got.deviceId, id);
  assert.strictEqual(got.connectionState, 'Disconnected');

  step('Registry.list');
  const list = (await registry.list()).responseBody;
  assert.ok(list.some((d) => d.deviceId === id), 'list holds the device');

  // The device the SDK registered connects with its certificate.
  step('device client (registered by Registry.create) opens, sends, closes');
  const client = deviceClient(id, cfg.cert, cfg.key);
  await withTimeout('open', 10000, client.open());
  await withTimeout('sendEvent', 10000, client.sendEvent(new Message('registered-by-sdk')));
  await withTimeout('close', 10000, client.close());
  const tel = admin('telemetry', '--device', id);
  assert.ok(tel.records.some((r) => r.payload === 'registered-by-sdk'));

  step('Registry.update: status disabled');
  const upd = (await registry.update({ deviceId: id, status: 'disabled', authentication: got.authentication })).responseBody;
  assert.strictEqual(upd.status, 'disabled');
  assert.strictEqual((await registry.get(id)).responseBody.status, 'disabled');

  step('disabled device: open is refused');
  const client2 = deviceClient(id, cfg.cert, cfg.key);
  await assert.rejects(withTimeout('open (disabled)', 10000, client2.open()), (err) => {
    step(`  ${err.constructor.name}: ${err.message}`);
    return true;
  });
  await client2.close().catch(() => {});

  step('Registry.getTwin / updateTwin (tags) on the disabled device');
  const tw = (await registry.getTwin(id)).responseBody;
  assert.strictEqual(tw.deviceId, id);
  const tw2 = (await registry.updateTwin(id, { tags: { floor: 3 } }, tw.etag)).responseBody;
  assert.deepStrictEqual(tw2.tags, { floor: 3 });
  // The SDK maps 412 PreconditionFailed to InvalidEtagError.
  step('Registry.updateTwin with a stale etag -> InvalidEtagError (412)');
  await assert.rejects(registry.updateTwin(id, { tags: { floor: 4 } }, tw.etag),
    (err) => err.constructor.name === 'InvalidEtagError');

  step('Registry.delete');
  await registry.delete(id);
  step('Registry.get after delete -> DeviceNotFoundError');
  await assert.rejects(registry.get(id), (err) => err.constructor.name === 'DeviceNotFoundError');
  await assert.rejects(registry.delete(id), (err) => err.constructor.name === 'DeviceNotFoundError');

  step('Registry with a wrong SharedAccessKey -> UnauthorizedError');
  const wrongKey = Buffer.alloc(32, 7).toString('base64');
  const badCs = cfg.serviceConnectionString.replace(/SharedAccessKey=[^;]*/, `SharedAccessKey=${wrongKey}`);
  assert.notStrictEqual(badCs, cfg.serviceConnectionString);
  const bad = iothub.Registry.fromConnectionString(badCs);
  await assert.rejects(bad.get('node-ss-1'), (err) => {
    step(`  ${err.constructor.name} (name ${err.name}): ${err.message}`);
    return err.constructor.name === 'UnauthorizedError';
  });
  step('Client.invokeDeviceMethod with a wrong key -> UnauthorizedError');
  const badSvc = iothub.Client.fromConnectionString(badCs);
  await assert.rejects(badSvc.invokeDeviceMethod('node-ss-1', { methodName: 'x', payload: null, responseTimeoutInSeconds: 5 }),
    (err) => err.constructor.name === 'UnauthorizedError');
}

// Device twin queries through the SDK's Registry.createQuery(): POST /devices/query with
// x-ms-max-item-count, the x-ms-continuation of each page sent back by Query.next*, and the
// twins and raw rows the SDK hands out. Runs after the device scenarios of node-ss-1 and
// node-ca-1, whose reported properties it also finds.
async function queryScenario() {
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const ids = ['node-q-1', 'node-q-2', 'node-q-3', 'node-q-4', 'node-q-5'];
  step(`Registry.create ${ids.join(', ')}; updateTwin tags {floor, n}`);
  for (const [i, id] of ids.entries()) {
    await registry.create({ deviceId: id, authentication: { type: 'certificateAuthority' } });
    const tw = (await registry.getTwin(id)).responseBody;
    await registry.updateTwin(id, { tags: { floor: i % 2 ? 'even' : 'odd', n: i + 1,
                                            'site-name': `site ${i < 2 ? "A's" : 'B'}` } },
                              tw.etag);
  }

  // Every page through nextAsTwin: pages of 2, in device id order, until hasMoreResults is false.
  step("createQuery(\"SELECT * FROM devices WHERE STARTSWITH(deviceId, 'node-q-')\", 2).nextAsTwin() until hasMoreResults is false");
  const q = registry.createQuery("SELECT * FROM devices WHERE STARTSWITH(deviceId, 'node-q-')", 2);
  const pages = [];
  while (q.hasMoreResults) {
    const res = await q.nextAsTwin();
    assert.strictEqual(res.message.headers['x-ms-item-type'], 'twin');
    pages.push(res.result.map((t) => t.deviceId));
    for (const t of res.result) {
      assert.ok(t instanceof iothub.Twin, 'nextAsTwin gives Twin objects');
      assert.strictEqual(t.tags.n, ids.indexOf(t.deviceId) + 1);
      assert.ok(t.properties.desired && t.properties.reported, 'whole twins');
    }
    assert.ok(pages.length <= 5, 'paging ends');
  }
  step(`  pages ${JSON.stringify(pages)}`);
  assert.deepStrictEqual(pages, [['node-q-1', 'node-q-2'], ['node-q-3', 'node-q-4'], ['node-q-5']]);

  // A Twin from a query is bound to the registry: its get() and update() work.
  step('a Twin from nextAsTwin: get(), update({tags}) then the query sees the change');
  const first = (await registry.createQuery("SELECT * FROM devices WHERE deviceId = 'node-q-3'")
    .nextAsTwin()).result;
  assert.strictEqual(first.length, 1);
  const fresh = (await first[0].get()).result;
  await fresh.update({ tags: { floor: 'roof' } });
  const roof = (await registry.createQuery("SELECT deviceId FROM devices WHERE tags.floor = 'roof'")
    .next()).result;
  assert.deepStrictEqual(roof, [{ deviceId: 'node-q-3' }]);

  // Projections through next(): raw rows, quoted strings with escapes, bracketed names.
  step('next(): projection with IN, a quoted string with an escaped quote, tags[\'site-name\']');
  const proj = await registry.createQuery(
    "SELECT deviceId, tags.n AS n, tags['site-name'] AS site FROM devices " +
    "WHERE tags['site-name'] = 'site A\\'s' AND tags.n IN [1, 2, 3]").next();
  assert.strictEqual(proj.message.headers['x-ms-item-type'], 'raw');
  assert.deepStrictEqual(proj.result, [{ deviceId: 'node-q-1', n: 1, site: "site A's" },
                                       { deviceId: 'node-q-2', n: 2, site: "site A's" }]);

  // Reported properties written by the device SDK in the device scenarios.
  step('next(): devices with reported firmware 1.2.3 (the device scenarios reported it)');
  const rep = (await registry.createQuery(
    "SELECT deviceId, properties.reported.nested.b AS b FROM devices " +
    "WHERE properties.reported.firmware = '1.2.3' AND properties.reported.telemetryInterval >= 30")
    .next()).result;
  assert.deepStrictEqual(rep, [{ deviceId: 'node-ca-1', b: 'x' }, { deviceId: 'node-ss-1', b: 'x' }]);

  // COUNT and GROUP BY through next(), paged.
  step('next(): SELECT COUNT() AS n; GROUP BY tags.floor in pages of 1');
  const count = await registry.createQuery(
    "SELECT COUNT() AS n FROM devices WHERE STARTSWITH(deviceId, 'node-q-')").next();
  assert.deepStrictEqual(count.result, [{ n: 5 }]);
  const gq = registry.createQuery(
    'SELECT tags.floor AS floor, COUNT() AS n FROM devices WHERE IS_DEFINED(tags.floor) ' +
    'GROUP BY tags.floor', 1);
  const groups = [];
  while (gq.hasMoreResults) {
    // next() without arguments (the promise form) restarts at the first page: unlike
    // nextAsTwin() it does not fall back to the query's own continuationToken.
    groups.push(...(await gq.next(gq.continuationToken)).result);
    assert.ok(groups.length <= 4, 'paging ends');
  }
  step(`  groups ${JSON.stringify(groups)}`);
  assert.deepStrictEqual(groups, [{ floor: 'odd', n: 2 }, { floor: 'even', n: 2 },
                                  { floor: 'roof', n: 1 }]);
  const byState = (await registry.createQuery(
    'SELECT connectionState, COUNT() AS n FROM devices GROUP BY connectionState').next()).result;
  const total = byState.reduce((a, r) => a + r.n, 0);
  assert.strictEqual(total, (await registry.list()).responseBody.length);

  // A syntax error is 400 with Azure's error body: the SDK rejects with ArgumentError.
  step('a query with a syntax error -> ArgumentError (400) naming the position');
  await assert.rejects(registry.createQuery('SELECT * FROM devices WHERE deviceId = = 1').next(),
    (err) => {
      step(`  ${err.constructor.name}: ${err.message}`);
      return err.constructor.name === 'ArgumentError' && /at character 40/.test(err.responseBody);
    });

  step('a wrong SharedAccessKey -> UnauthorizedError');
  const wrongKey = Buffer.alloc(32, 9).toString('base64');
  const bad = iothub.Registry.fromConnectionString(
    cfg.serviceConnectionString.replace(/SharedAccessKey=[^;]*/, `SharedAccessKey=${wrongKey}`));
  await assert.rejects(bad.createQuery('SELECT * FROM devices').next(),
    (err) => err.constructor.name === 'UnauthorizedError');

  for (const id of ids) await registry.delete(id);
}

// A device created with the registry's defaults (symmetric keys generated by the hub) connects
// with its device connection string: telemetry, twin, desired patch, method, C2D; a wrong key and
// a disabled device are refused; the SDK's token renewal keeps it connected across expiries.
async function sasScenario() {
  const id = 'node-sas-1';
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const service = iothub.Client.fromConnectionString(cfg.serviceConnectionString);
  step(`Registry.create({deviceId: ${id}}) with the defaults`);
  const dev = (await registry.create({ deviceId: id })).responseBody;
  assert.strictEqual(dev.authentication.type, 'sas');
  const key = dev.authentication.symmetricKey.primaryKey;
  assert.strictEqual(Buffer.from(key, 'base64').length, 32, 'a generated 256-bit key');
  assert.notStrictEqual(dev.authentication.symmetricKey.secondaryKey, key);
  const cs = (k) => `HostName=localhost:${cfg.mqttPort};DeviceId=${id};SharedAccessKey=${k}`;

  step('a wrong key is refused');
  const bad = DeviceClient.fromConnectionString(cs(Buffer.alloc(32, 7).toString('base64')), Mqtt);
  await assert.rejects(withTimeout('open (wrong key)', 10000, bad.open()), (err) => {
    step(`  ${err.constructor.name}: ${err.message}`);
    return !/^timeout/.test(err.message);
  });

  const client = DeviceClient.fromConnectionString(cs(key), Mqtt);
  // Tokens valid for 8 s, renewed 4 s before they expire: the SDK reconnects with a new one.
  client.setOptions({ tokenRenewal: { tokenValidTimeInSeconds: 8, tokenRenewalMarginInSeconds: 4 } });
  client.on('error', (err) => { console.error(`device client error: ${err && err.stack || err}`); });
  step(`open with the device connection string (${cs('<key>')})`);
  await withTimeout('open', 10000, client.open());
  assert.strictEqual((await registry.get(id)).responseBody.connectionState, 'Connected');

  const before = admin('telemetry', '--device', id).lastSeq;
  await withTimeout('sendEvent', 10000, client.sendEvent(new Message('{"sas":1}')));
  const tel = admin('telemetry', '--device', id, '--after', String(before));
  assert.strictEqual(tel.records.length, 1);
  const twin = await withTimeout('getTwin', 10000, client.getTwin());
  await new Promise((resolve, reject) => twin.properties.reported.update({ auth: 'sas' }, (e) => (e ? reject(e) : resolve())));
  assert.strictEqual((await registry.getTwin(id)).responseBody.properties.reported.auth, 'sas');
  client.onDeviceMethod('ping', (req, res) => res.send(200, { pong: true }, () => {}));
  const inv = await invokeWhenSubscribed(service, id, { methodName: 'ping', payload: null, responseTimeoutInSeconds: 10 });
  assert.deepStrictEqual(inv.result.payload, { pong: true });
  const c2d = waitFor('C2D', 10000, (done) => client.once('message', done));
  admin('c2d', 'send', id, 'to a sas device');
  const m = await c2d;
  assert.strictEqual(m.data.toString(), 'to a sas device');
  await client.complete(m);

  step('past two token lifetimes: the SDK renewed its token and still works');
  await sleep(12000);
  const before2 = admin('telemetry', '--device', id).lastSeq;
  await withTimeout('sendEvent after renewal', 10000, client.sendEvent(new Message('{"renewed":1}')));
  assert.strictEqual(admin('telemetry', '--device', id, '--after', String(before2)).records.length, 1);
  await withTimeout('close', 10000, client.close());

  step('a disabled device is refused');
  const cur = (await registry.get(id)).responseBody;
  cur.status = 'disabled';
  await registry.update(cur);
  const off = DeviceClient.fromConnectionString(cs(key), Mqtt);
  await assert.rejects(withTimeout('open (disabled)', 10000, off.open()), (err) => !/^timeout/.test(err.message));
}

// Bulk registry operations (POST /devices) as Registry.addDevices/updateDevices/removeDevices
// send them, with a mix of valid and invalid entries: each entry succeeds or fails on its own.
async function bulkScenario() {
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const bodyOf = (err) => JSON.parse(err.responseBody || (err.response && err.response.body) || '{}');
  step('addDevices([bulk-1, bulk-2 disabled])');
  const r1 = (await registry.addDevices([{ deviceId: 'bulk-1' }, { deviceId: 'bulk-2', status: 'disabled' }])).responseBody;
  assert.deepStrictEqual(r1, { isSuccessful: true, errors: [], warnings: [] });
  assert.strictEqual((await registry.get('bulk-2')).responseBody.status, 'disabled');
  assert.strictEqual((await registry.get('bulk-1')).responseBody.authentication.type, 'sas');

  step('addDevices([bulk-3, bulk-1 (exists)]) -> 400, bulk-3 created, bulk-1 DeviceAlreadyExists');
  await assert.rejects(registry.addDevices([{ deviceId: 'bulk-3' }, { deviceId: 'bulk-1' }]), (err) => {
    const b = bodyOf(err);
    step(`  ${JSON.stringify(b)}`);
    return b.isSuccessful === false && b.errors.length === 1 && b.errors[0].deviceId === 'bulk-1' &&
      b.errors[0].errorCode === 'DeviceAlreadyExists';
  });
  assert.strictEqual((await registry.get('bulk-3')).responseBody.deviceId, 'bulk-3');

  step('updateDevices([bulk-1 disabled], force)');
  const r3 = (await registry.updateDevices([{ deviceId: 'bulk-1', status: 'disabled' }], true)).responseBody;
  assert.strictEqual(r3.isSuccessful, true);
  assert.strictEqual((await registry.get('bulk-1')).responseBody.status, 'disabled');

  step('removeDevices([bulk-1, bulk-2, bulk-3, never-was], force) -> never-was DeviceNotFound, the rest gone');
  await assert.rejects(registry.removeDevices([{ deviceId: 'bulk-1' }, { deviceId: 'bulk-2' },
                                               { deviceId: 'bulk-3' }, { deviceId: 'never-was' }], true), (err) => {
    const b = bodyOf(err);
    step(`  ${JSON.stringify(b)}`);
    return b.errors.length === 1 && b.errors[0].deviceId === 'never-was' && b.errors[0].errorCode === 'DeviceNotFound';
  });
  for (const id of ['bulk-1', 'bulk-2', 'bulk-3'])
    await assert.rejects(registry.get(id), (err) => err.constructor.name === 'DeviceNotFoundError');

  step('an IoT Edge device gets its deviceScope; a child keeps it, with parentScopes');
  const edge = (await registry.create({ deviceId: 'edge-1', capabilities: { iotEdge: true } })).responseBody;
  assert.strictEqual(edge.deviceScope, `ms-azure-iot-edge://edge-1-${edge.generationId}`);
  const child = (await registry.create({ deviceId: 'leaf-1', deviceScope: edge.deviceScope })).responseBody;
  assert.strictEqual(child.deviceScope, edge.deviceScope);
  assert.deepStrictEqual(child.parentScopes, [edge.deviceScope]);
  const again = (await registry.get('leaf-1')).responseBody;
  assert.strictEqual(again.deviceScope, edge.deviceScope, 'kept by the registry');
}

// The device HTTPS API for C2D (azure-iot-device-http's Http transport, which polls
// GET /devices/{id}/messages/devicebound every second on port 443) with the back-end on AMQP
// (azure-iothub Client.send, getFeedbackReceiver): reject -> Rejected feedback, complete ->
// Success, abandon -> delivered again; then, with raw requests, a stale lock token (412) and a
// message abandoned until its delivery count runs out (DeliveryCountExceeded feedback).
// Receives over raw HTTPS until a message comes; returns its lock token.
async function next0(base, call) {
  for (let i = 0; i < 100; i++) {
    const r = await call('GET', base);
    if (r.status === 200) return r.headers.etag.replace(/"/g, '');
    await sleep(100);
  }
  throw new Error('no message');
}

async function httpC2dScenario() {
  const { Http } = require('azure-iot-device-http');
  const crypto = require('crypto');
  const https = require('https');
  const id = 'node-http-1';
  const registry = iothub.Registry.fromConnectionString(cfg.serviceConnectionString);
  const key = (await registry.create({ deviceId: id })).responseBody.authentication.symmetricKey.primaryKey;
  const amqpCs = cfg.serviceConnectionString.replace(/HostName=([^;:]+)(:\d+)?;/, `HostName=$1:${cfg.amqpPort};`);
  const service = iothub.Client.fromConnectionString(amqpCs);
  await withTimeout('service open', 10000, service.open());
  const feedback = await withTimeout('getFeedbackReceiver', 10000, new Promise((resolve, reject) =>
    service.getFeedbackReceiver((err, receiver) => (err ? reject(err) : resolve(receiver)))));
  const records = [];
  feedback.on('message', (msg) => {
    records.push(...JSON.parse(msg.data.toString()));
    feedback.complete(msg, () => {});
  });
  const recordFor = (mid) => withTimeout(`a feedback record for ${mid}`, 20000, (async () => {
    for (;;) {
      const r = records.find((x) => x.originalMessageId === mid);
      if (r) return r;
      await sleep(50);
    }
  })());
  const send = async (mid, ack, props = {}) => {
    const m = new Message(`payload of ${mid}`);
    m.messageId = mid;
    m.ack = ack;
    m.correlationId = `corr-${mid}`;
    for (const [k, v] of Object.entries(props)) m.properties.add(k, v);
    await withTimeout(`send ${mid}`, 10000, service.send(id, m));
  };

  step('device opens with the Http transport (SAS, HostName=localhost: port 443)');
  const device = DeviceClient.fromConnectionString(`HostName=localhost;DeviceId=${id};SharedAccessKey=${key}`, Http);
  const got = [];
  device.on('message', (msg) => got.push(msg));
  await withTimeout('device open', 10000, device.open());
  const next = (mid) => withTimeout(`the device receives ${mid}`, 20000, (async () => {
    for (;;) {
      const i = got.findIndex((m) => m.messageId === mid);
      if (i >= 0) return got.splice(i, 1)[0];
      await sleep(50);
    }
  })());

  await send('http-reject', 'full', { color: 'red' });
  const m1 = await next('http-reject');
  assert.strictEqual(m1.data.toString(), 'payload of http-reject');
  assert.strictEqual(m1.correlationId, 'corr-http-reject');
  assert.strictEqual(m1.properties.getValue('iothub-app-color') || m1.properties.getValue('color'), 'red');
  assert.ok(m1.lockToken, 'the ETag is the lock token');
  step(`received http-reject (lock token ${m1.lockToken}); reject`);
  await withTimeout('reject', 10000, device.reject(m1));
  assert.strictEqual((await recordFor('http-reject')).statusCode, 'Rejected');
  step('feedback: Rejected');

  await send('http-abandon', 'full');
  const m2 = await next('http-abandon');
  step('received http-abandon; abandon: it comes again');
  await withTimeout('abandon', 10000, device.abandon(m2));
  const m2again = await next('http-abandon');
  assert.notStrictEqual(m2again.lockToken, m2.lockToken, 'a new lock for a new delivery');
  await withTimeout('complete', 10000, device.complete(m2again));
  assert.strictEqual((await recordFor('http-abandon')).statusCode, 'Success');
  step('delivered again, completed; feedback: Success');
  await device.close();

  // Raw requests with the device's token, as the transport sends them.
  const se = Math.floor(Date.now() / 1000) + 600;
  const sr = encodeURIComponent(`localhost/devices/${id}`);
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(`${sr}\n${se}`).digest('base64');
  const token = `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}`;
  const call = (method, path, auth = token) => new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port: 443, method, path: `${path}${path.includes('?') ? '&' : '?'}api-version=2021-04-12`,
                                headers: { Authorization: auth } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
  const base = `/devices/${id}/messages/devicebound`;
  assert.strictEqual((await call('GET', base)).status, 204, 'nothing queued: 204');
  const wrong = token.replace(/sig=[^&]+/, 'sig=AAAA');
  assert.strictEqual((await call('GET', base, wrong)).status, 401, 'a bad signature: 401');
  assert.strictEqual((await call('DELETE', `${base}/00000000-0000-4000-8000-000000000000`)).status, 412,
                     'a lock token never given: 412');

  step(`http-dead: abandoned ${10} times, then dead-lettered with DeliveryCountExceeded`);
  await send('http-dead', 'negative');
  for (let i = 1; i <= 10; i++) {
    const r = await call('GET', base);
    assert.strictEqual(r.status, 200, `delivery ${i}`);
    assert.strictEqual(r.headers['iothub-messageid'], 'http-dead');
    assert.strictEqual(r.headers['iothub-deliverycount'], String(i));
    const lock = r.headers.etag.replace(/"/g, '');
    assert.strictEqual((await call('POST', `${base}/${lock}/abandon`)).status, 204);
    assert.strictEqual((await call('POST', `${base}/${lock}/abandon`)).status, 412, 'settled once only');
  }
  assert.strictEqual((await call('GET', base)).status, 204, 'dead-lettered after 10 deliveries');
  assert.strictEqual((await recordFor('http-dead')).statusCode, 'DeliveryCountExceeded');
  step('feedback: DeliveryCountExceeded');

  step('purge (DELETE /devices/{id}/commands, a service token): Purged feedback where asked');
  await send('purge-full', 'full');
  await send('purge-none', 'none');
  const locked = await call('GET', base); // a lock held when the queue is purged is lost
  assert.strictEqual(locked.status, 200);
  const skey = cfg.serviceConnectionString.match(/SharedAccessKey=([^;]+)/)[1];
  const ssig = crypto.createHmac('sha256', Buffer.from(skey, 'base64')).update(`localhost\n${se}`).digest('base64');
  const stoken = `SharedAccessSignature sr=localhost&sig=${encodeURIComponent(ssig)}&se=${se}&skn=iothubowner`;
  assert.strictEqual((await call('DELETE', `/devices/${id}/commands`)).status, 401, 'a device token cannot purge');
  const purge = await call('DELETE', `/devices/${id}/commands`, stoken);
  assert.strictEqual(purge.status, 200);
  assert.deepStrictEqual(JSON.parse(purge.body), { totalMessagesPurged: 2, deviceId: id, moduleId: null });
  assert.strictEqual((await recordFor('purge-full')).statusCode, 'Purged');
  assert.strictEqual((await call('GET', base)).status, 204, 'nothing left');
  assert.strictEqual((await call('DELETE', `${base}/${locked.headers.etag.replace(/"/g, '')}`)).status, 412,
                     'the purged message\'s lock is gone');
  await sleep(500); // the witness below is the last record: nothing for purge-none came before it
  await send('witness', 'full');
  const w = await next0(base, call);
  assert.strictEqual((await call('DELETE', `${base}/${w}`)).status, 204);
  await recordFor('witness');
  assert.ok(!records.some((x) => x.originalMessageId === 'purge-none'), 'ack none: no record');
  await service.close();
}

const scenarios = { device: deviceScenario, registry: registryScenario, query: queryScenario,
                    sas: sasScenario, bulk: bulkScenario, 'http-c2d': httpC2dScenario };
if (!scenarios[mode]) {
  console.error(`usage: sdk-scenarios.js ${Object.keys(scenarios).join('|')} '<json config>'`);
  process.exit(2);
}
scenarios[mode]().then(() => process.exit(0), (err) => {
  console.error(`[${mode} ${cfg.deviceId || ''}] FAIL: ${err && err.stack || err}`);
  if (err && err.responseBody) console.error(`response body: ${err.responseBody}`);
  process.exit(1);
});

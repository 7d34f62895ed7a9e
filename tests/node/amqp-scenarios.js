#!/usr/bin/env node
// The SDK side of the AMQP interop test (ctest node_interop_amqp); started by run-hub.js as
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node amqp-scenarios.js c2d|c2d-ws|refusals|raw|ws-refusals '<json config>'
// Config: {hub, readyFile, mqttPort, amqpPort, serviceConnectionString, deviceId, cert, key}.
//
// azure-iothub's Client speaks AMQP to amqps://<HostName> (port 5671 unless HostName carries
// one): the test gives it HostName=localhost:<amqp port>, which the SDK keeps in the URI and in
// the token's resource (sr). The device is the official device SDK over MQTT.
// c2d-ws (run by run-hub.js --suite ws, where the service API is on 443): the same C2D and
// feedback with the AmqpWs transport, which always reaches wss://<HostName>:443/$iothub/websocket
// (subprotocol AMQPWSB10): the service connection string as it is. ws-refusals: handshakes the
// hub refuses on that path.
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

// C2D with Client.send() to a connected device, and its feedback (over AMQP, or with `overWs`
// over AMQP over WebSockets).
async function c2dScenario(overWs = false) {
  const id = cfg.deviceId;
  const device = deviceClient(id);
  step(`device ${id} opens (MQTT)`);
  await withTimeout('device open', 10000, device.open());
  const deviceGot = [];
  let deviceArrived = () => {};
  device.on('message', (msg) => { deviceGot.push(msg); deviceArrived(); });
  const got = new Promise((resolve) => { deviceArrived = () => resolve(deviceGot[0]); });

  const cs = overWs ? cfg.serviceConnectionString : amqpConnectionString();
  step(`service Client.fromConnectionString(HostName=${part(cs, 'HostName')}` +
       `${overWs ? ', AmqpWs' : ''}): open (CBS put-token)`);
  const service = overWs ? iothub.Client.fromConnectionString(cs, iothub.AmqpWs)
                         : iothub.Client.fromConnectionString(cs);
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

  if (cfg.amqpIdleTimeout) {
    // The hub runs with --amqp-idle-timeout (seconds): the service connection, idle for 2.5
    // times as long, must still send (the SDK's empty frames keep it; a connection the hub
    // closed for idleness fails the send or the feedback receiver).
    const ms = cfg.amqpIdleTimeout * 2500;
    step(`idle for ${ms / 1000} s (hub --amqp-idle-timeout ${cfg.amqpIdleTimeout})`);
    await new Promise((r) => setTimeout(r, ms));
  }
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

// The endpoint below the SDK, with rhea (the AMQP library azure-iothub uses, from the same
// pinned install): SASL mechanisms, links to unknown nodes and before a token, malformed
// put-token requests, bad C2D messages, oversize messages, and a token that expires while the
// connection stays open.
const rhea = require('rhea');

function rawConnect(extra = {}) {
  const container = rhea.create_container();
  return new Promise((resolve, reject) => {
    const conn = container.connect({ host: 'localhost', port: cfg.amqpPort, transport: 'tls',
                                     servername: 'localhost', reconnect: false, ...extra });
    conn.once('connection_open', () => resolve(conn));
    conn.once('connection_error', (ctx) => reject(ctx.error || ctx.connection.error || new Error('connection_error')));
    conn.once('disconnected', (ctx) => reject(ctx.error || new Error('disconnected')));
  });
}

// Resolves with the link once it can be used (a sender: credit; a receiver: attached and not
// closed), rejects with the AMQP error the hub closed it with.
function rawLink(conn, kind, address) {
  return new Promise((resolve, reject) => {
    const link = kind === 'sender' ? conn.open_sender({ target: { address } })
                                   : conn.open_receiver({ source: { address }, autoaccept: true });
    link.once(`${kind}_error`, (ctx) => reject(ctx[kind].error));
    if (kind === 'sender') link.once('sendable', () => resolve(link));
    else link.once('receiver_open', () => setImmediate(() => (link.is_closed() ? null : resolve(link))));
  });
}

// Sends one message; resolves with 'accepted' or the rejection's error.
function rawSend(sender, msg) {
  return new Promise((resolve) => {
    const d = sender.send(msg);
    const done = (ctx, outcome) => { if (ctx.delivery === d) resolve(outcome || ctx.delivery.remote_state.error); };
    sender.on('accepted', (ctx) => done(ctx, 'accepted'));
    sender.on('rejected', (ctx) => done(ctx));
  });
}

async function rawScenario() {
  const cs = cfg.serviceConnectionString;
  const host = `localhost:${cfg.amqpPort}`;
  const key = part(cs, 'SharedAccessKey');

  step('SASL: MSSBCBS and ANONYMOUS are accepted, PLAIN is not offered');
  const mss = await rawConnect({ sasl_mechanisms: { MSSBCBS: { start: (cb) => cb(null, Buffer.alloc(0)) } } });
  mss.close();
  const anon = await rawConnect({ username: 'anonymous' });
  anon.close();
  await assert.rejects(rawConnect({ username: 'u', password: 'p' }), (err) => {
    step(`  PLAIN: ${err.description || err.message || err}`);
    return /No suitable mechanism; server supports MSSBCBS,ANONYMOUS/.test(String(err.description || err.message || err));
  });

  const conn = await rawConnect();
  step('a link to a node that does not exist: amqp:not-found');
  await assert.rejects(rawLink(conn, 'sender', '/messages/events'), (e) => {
    step(`  ${e.condition}: ${e.description}`);
    return e.condition === 'amqp:not-found' && /\/messages\/events/.test(e.description);
  });
  await assert.rejects(rawLink(conn, 'receiver', '/messages/serviceBound/filenotifications'),
                       (e) => e.condition === 'amqp:not-found');
  step('C2D and feedback links before a token: amqp:unauthorized-access');
  await assert.rejects(rawLink(conn, 'sender', '/messages/devicebound'), (e) => e.condition === 'amqp:unauthorized-access');
  await assert.rejects(rawLink(conn, 'receiver', '/messages/serviceBound/feedback'), (e) => e.condition === 'amqp:unauthorized-access');

  const cbsOut = await rawLink(conn, 'sender', '$cbs');
  const cbsIn = await rawLink(conn, 'receiver', '$cbs');
  let n = 0;
  const putToken = (props, body) => new Promise((resolve) => {
    const id = `put-${++n}`;
    const onMsg = (ctx) => {
      if (ctx.message.correlation_id !== id) return;
      cbsIn.removeListener('message', onMsg);
      resolve(ctx.message.application_properties);
    };
    cbsIn.on('message', onMsg);
    cbsOut.send({ message_id: id, reply_to: 'cbs', application_properties: props, body });
  });
  const now = () => Math.floor(Date.now() / 1000);
  const good = { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: host };
  const check = async (what, props, body, code, why) => {
    const r = await putToken(props, body);
    step(`put-token ${what}: ${r['status-code']} ${r['status-description']}`);
    assert.strictEqual(r['status-code'], code);
    assert.match(r['status-description'], why);
  };
  await check('of type jwt', { ...good, type: 'jwt' }, 'x', 400, /sastoken/);
  await check('without a name', { operation: 'put-token', type: good.type }, sasToken(host, key, now() + 60), 400, /name/);
  await check('with a binary body', good, rhea.message.data_section(Buffer.from('x')), 400, /body/);
  await check('for an audience its sr does not cover', { ...good, name: 'other.example' },
              sasToken(host, key, now() + 60), 401, /audience/);
  await check('that is not a SharedAccessSignature', good, 'Bearer xyz', 401, /malformed/);

  const until = now() + 2;
  await check('valid for 2 s', good, sasToken(host, key, until), 200, /OK/);
  const c2d = await rawLink(conn, 'sender', '/messages/devicebound');
  const id = cfg.deviceId;
  const msg = (extra) => ({ to: `/devices/${id}/messages/devicebound`, body: rhea.message.data_section(Buffer.from('x')), ...extra });
  const refusedWith = async (what, m, condition, why) => {
    const e = await rawSend(c2d, m);
    step(`${what}: ${e === 'accepted' ? e : `${e.condition}: ${e.description}`}`);
    assert.strictEqual(e.condition, condition);
    assert.match(e.description, why);
  };
  await refusedWith('a "to" of another shape', msg({ to: `/devices/${id}/messages/events` }), 'com.microsoft:argument-error', /devicebound/);
  await refusedWith('no "to"', msg({ to: undefined }), 'com.microsoft:argument-error', /none/);
  await refusedWith('iothub-ack "always"', msg({ application_properties: { 'iothub-ack': 'always' } }),
                    'com.microsoft:argument-error', /iothub-ack/);
  await refusedWith('a list-valued application property', msg({ application_properties: { a: [1, 2] } }),
                    'com.microsoft:argument-error', /'a'/);
  await refusedWith('a 64 KiB + 1 body', msg({ body: rhea.message.data_section(Buffer.alloc(65537)) }),
                    'amqp:link:message-size-exceeded', /65537/);
  assert.strictEqual(await rawSend(c2d, msg({ message_id: 'raw-ok' })), 'accepted');

  step('past the token\'s expiry the connection stays, its messages are refused; a new token renews');
  while (now() <= until) await new Promise((r) => setTimeout(r, 100));
  await refusedWith('after expiry', msg(), 'amqp:unauthorized-access', /expired/);
  await check('renewed', good, sasToken(host, key, now() + 60), 200, /OK/);
  assert.strictEqual(await rawSend(c2d, msg({ message_id: 'raw-renewed' })), 'accepted');

  step('a message over 1 MB closes the link: amqp:link:message-size-exceeded');
  const closed = new Promise((resolve) => c2d.once('sender_error', (ctx) => resolve(ctx.sender.error)));
  c2d.send(msg({ body: rhea.message.data_section(Buffer.alloc(1100 * 1024)) }));
  const e = await withTimeout('the link closed', 10000, closed);
  step(`  ${e.condition}: ${e.description}`);
  assert.strictEqual(e.condition, 'amqp:link:message-size-exceeded');
  conn.close();
}

// WebSocket handshakes on /$iothub/websocket that the hub refuses (HTTP 400, nothing served):
// a subprotocol that is neither AMQPWSB10 nor mqtt (near misses included), and none.
async function wsRefusalsScenario() {
  const https = require('https');
  const host = part(cfg.serviceConnectionString, 'HostName');
  const refused = (protocols) => new Promise((resolve, reject) => {
    const headers = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13',
                      'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64') };
    if (protocols.length) headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
    const req = https.request({ host, port: 443, path: '/$iothub/websocket', headers });
    req.on('upgrade', (res, socket) => { socket.destroy(); reject(new Error(`${protocols}: upgraded`)); });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
  for (const p of [['AMQPWSB09'], ['amqpwsb10'], ['AMQP'], []]) {
    const r = await withTimeout(`handshake ${p}`, 10000, refused(p));
    step(`subprotocol ${JSON.stringify(p)}: HTTP ${r.status} ${r.body}`);
    assert.strictEqual(r.status, 400);
    assert.match(r.body, /subprotocol must be 'mqtt' or 'AMQPWSB10'/);
  }
  step('the service SDK still works after the refusals (AmqpWs open and close)');
  const service = iothub.Client.fromConnectionString(cfg.serviceConnectionString, iothub.AmqpWs);
  await withTimeout('service open', 10000, service.open());
  await withTimeout('service close', 10000, service.close());
}

const scenarios = { c2d: () => c2dScenario(false), 'c2d-ws': () => c2dScenario(true),
                    refusals: refusalsScenario, raw: rawScenario, 'ws-refusals': wsRefusalsScenario };
if (!scenarios[mode]) {
  console.error(`usage: amqp-scenarios.js ${Object.keys(scenarios).join('|')} '<json config>'`);
  process.exit(2);
}
scenarios[mode]().then(() => process.exit(0), (err) => {
  console.error(`[amqp ${mode}] FAIL: ${err && err.stack || err}`);
  process.exit(1);
});

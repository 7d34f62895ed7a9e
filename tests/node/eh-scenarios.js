#!/usr/bin/env node
// The SDK side of the Event Hubs interop test (ctest node_interop_eventhubs); started by
// run-hub.js as
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node eh-scenarios.js eventhubs '<json config>'
// Config: {hub, readyFile, hubLog, mqttPort, amqpPort, ehConnectionString, ehEmulatorConnectionString, devices:
// [{id, cert, key}], hostname}.
//
// Devices send telemetry with the official device SDK over MQTT; @azure/event-hubs'
// EventHubConsumerClient reads it from azkit-hub's Event Hubs-compatible endpoint, with the
// emulator connection string (UseDevelopmentEmulator=true: plain AMQP on loopback) and with the
// TLS one plus customEndpointAddress. No timing thresholds: every wait is for a count, bounded
// only by a generous timeout that names what did not arrive.
'use strict';

const { adminOf, withTimeout } = require('./scenario-util');

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');

const { Client: DeviceClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { EventHubConsumerClient, earliestEventPosition, latestEventPosition } = require('@azure/event-hubs');
const { AzureSASCredential } = require('@azure/core-auth');

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3] || '{}');
const t0 = Date.now();
function step(msg) {
  console.log(`[eventhubs ${mode} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

const admin = adminOf(cfg);
const part = (cs, k) => (cs.match(new RegExp(`${k}=([^;]+)`)) || [])[1];
const tlsOptions = { customEndpointAddress: `amqps://${cfg.hostname}:${cfg.amqpPort}`,
                     retryOptions: { maxRetries: 0, timeoutInMs: 20000 } };
const emuOptions = { retryOptions: { maxRetries: 0, timeoutInMs: 20000 } };

function deviceClient(d) {
  const client = DeviceClient.fromConnectionString(`HostName=localhost:${cfg.mqttPort};DeviceId=${d.id};x509=true`, Mqtt);
  client.setOptions({ cert: fs.readFileSync(d.cert, 'utf8'), key: fs.readFileSync(d.key, 'utf8') });
  return client;
}

// Sends `n` messages from each device (awaiting each PUBACK: stored); returns what was sent.
async function sendFromDevices(devices, n, tag) {
  const sent = [];
  for (const d of devices) {
    const client = deviceClient(d);
    await withTimeout(`device ${d.id} open`, 15000, client.open());
    for (let i = 0; i < n; i++) {
      const m = new Message(JSON.stringify({ tag, device: d.id, i }));
      m.messageId = `${tag}-${d.id}-${i}`;
      m.correlationId = `corr-${tag}-${i}`;
      m.contentType = 'application/json';
      m.contentEncoding = 'utf-8';
      m.properties.add('tag', tag);
      m.properties.add('index', String(i));
      await withTimeout(`send ${m.messageId}`, 15000, client.sendEvent(m));
      sent.push({ device: d.id, messageId: m.messageId, tag, i });
    }
    await client.close();
  }
  return sent;
}

// Subscribes to every partition from `position` until `count` events arrived; returns them.
// With `expectNoMore`, also waits for a later marker batch (`after`) to make sure nothing else
// arrived in between (no timing: the marker is the next thing the reader must see).
async function readEvents(client, position, count, what, after) {
  const got = [];
  let done;
  const finished = new Promise((resolve, reject) => { done = { resolve, reject }; });
  const sub = client.subscribe({
    processEvents: async (events, ctx) => {
      for (const e of events) got.push({ ...e, partitionId: ctx.partitionId });
      if (got.length >= count) done.resolve();
    },
    processError: async (err) => { done.reject(err); },
  }, { startPosition: position, maxBatchSize: 50, maxWaitTimeInSeconds: 1 });
  try {
    if (after) await after();
    await withTimeout(`${what}: ${count} events (got ${got.length})`, 60000, finished);
  } finally {
    await sub.close();
  }
  return got;
}

function checkEvent(e) {
  assert.strictEqual(typeof e.sequenceNumber, 'number', 'x-opt-sequence-number');
  assert.match(String(e.offset), /^\d+$/, 'x-opt-offset');
  assert.ok(e.enqueuedTimeUtc instanceof Date && !isNaN(e.enqueuedTimeUtc), 'x-opt-enqueued-time');
  const sp = e.systemProperties || {};
  assert.ok(sp['iothub-connection-device-id'], 'iothub-connection-device-id');
  assert.ok('iothub-connection-auth-method' in sp, 'iothub-connection-auth-method');
  assert.ok(sp['iothub-enqueuedtime'], 'iothub-enqueuedtime');
  assert.strictEqual(sp['iothub-message-source'], 'Telemetry');
  assert.strictEqual(e.contentType, 'application/json');
  assert.strictEqual(sp['content_encoding'] || sp.contentEncoding || e.getRawAmqpMessage().properties.contentEncoding, 'utf-8');
  assert.ok(e.messageId && e.correlationId);
  assert.strictEqual(e.properties.tag, e.body.tag, 'application property tag');
  assert.strictEqual(e.properties.index, String(e.body.i), 'application property index');
  assert.strictEqual(e.body.device, sp['iothub-connection-device-id']);
}

// How many partition receivers the hub has attached so far (its log, at debug level).
function receiversAttached() {
  const log = fs.readFileSync(cfg.hubLog, 'utf8');
  return (log.match(/Event Hubs receiver on partition/g) || []).length;
}

function sasToken(sr, key, se) {
  const esr = encodeURIComponent(sr);
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(`${esr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${esr}&sig=${encodeURIComponent(sig)}&se=${se}&skn=iothubowner`;
}

async function refused(what, client) {
  let err = null;
  try {
    await withTimeout(what, 30000, client.getPartitionIds());
  } catch (e) {
    err = e;
  } finally {
    await client.close().catch(() => {});
  }
  assert.ok(err, `${what}: expected a refusal`);
  step(`${what}: refused (${err.code || err.name}: ${String(err.message).slice(0, 120)})`);
  return err;
}

async function eventhubsScenario() {
  const emuCs = cfg.ehEmulatorConnectionString, tlsCs = cfg.ehConnectionString;
  assert.match(emuCs, /UseDevelopmentEmulator=true/);
  const hubName = part(tlsCs, 'EntityPath');

  step('devices send 5 messages each (MQTT, device SDK)');
  const sent = await sendFromDevices(cfg.devices, 5, 'first');

  const emu = new EventHubConsumerClient('$Default', emuCs, emuOptions);
  const props = await emu.getEventHubProperties();
  step(`getEventHubProperties: ${JSON.stringify(props)}`);
  assert.strictEqual(props.name, hubName);
  assert.deepStrictEqual(props.partitionIds, ['0', '1', '2', '3']);
  assert.deepStrictEqual(await emu.getPartitionIds(), ['0', '1', '2', '3']);
  let total = 0;
  for (const id of props.partitionIds) {
    const pp = await emu.getPartitionProperties(id);
    step(`partition ${id}: ${JSON.stringify(pp)}`);
    assert.strictEqual(pp.partitionId, id);
    if (!pp.isEmpty) {
      assert.strictEqual(pp.beginningSequenceNumber, 0);
      total += pp.lastEnqueuedSequenceNumber + 1;
    }
  }
  assert.strictEqual(total, sent.length, 'partition properties count every message');

  step('read from the earliest position (emulator connection string)');
  const all = await readEvents(emu, earliestEventPosition, sent.length, 'earliest');
  assert.strictEqual(all.length, sent.length);
  all.forEach(checkEvent);
  assert.deepStrictEqual(all.map((e) => e.messageId).sort(), sent.map((s) => s.messageId).sort());
  // A device's messages are in one partition, in order, numbered from 0.
  for (const d of cfg.devices) {
    const mine = all.filter((e) => e.body.device === d.id);
    assert.strictEqual(new Set(mine.map((e) => e.partitionId)).size, 1);
    assert.deepStrictEqual(mine.map((e) => e.body.i), [0, 1, 2, 3, 4]);
  }

  step('from a sequence number and from an enqueued time (TLS + customEndpointAddress)');
  const tls = new EventHubConsumerClient('$Default', tlsCs, tlsOptions);
  const dev0 = all.filter((e) => e.body.device === cfg.devices[0].id);
  const p0 = dev0[0].partitionId;
  const inPart = all.filter((e) => e.partitionId === p0);
  const fromSeq = await readEvents(tls, { [p0]: { sequenceNumber: dev0[1].sequenceNumber } },
                                   inPart.filter((e) => e.sequenceNumber > dev0[1].sequenceNumber).length,
                                   'after a sequence number');
  assert.ok(fromSeq.every((e) => e.sequenceNumber > dev0[1].sequenceNumber));
  const incl = await readEvents(tls, { [p0]: { sequenceNumber: dev0[1].sequenceNumber, isInclusive: true } },
                                1, 'at a sequence number');
  assert.strictEqual(incl[0].sequenceNumber, dev0[1].sequenceNumber);
  const fromTime = await readEvents(tls, { [p0]: { enqueuedOn: dev0[2].enqueuedTimeUtc } },
                                    inPart.filter((e) => e.enqueuedTimeUtc > dev0[2].enqueuedTimeUtc).length,
                                    'after an enqueued time');
  assert.ok(fromTime.every((e) => e.enqueuedTimeUtc > dev0[2].enqueuedTimeUtc));
  const fromOffset = await readEvents(tls, { [p0]: { offset: dev0[3].offset } },
                                      inPart.filter((e) => Number(e.offset) > Number(dev0[3].offset)).length,
                                      'after an offset');
  assert.ok(fromOffset.every((e) => Number(e.offset) > Number(dev0[3].offset)));

  step('latest: new messages arrive live');
  const attachedBefore = receiversAttached();
  const live = await readEvents(tls, latestEventPosition, 2 * cfg.devices.length, 'live',
                                async () => {
                                  // Sent once the hub has attached the 4 new receivers.
                                  await withTimeout('4 receivers attached', 30000, (async () => {
                                    while (receiversAttached() < attachedBefore + 4)
                                      await new Promise((r) => setTimeout(r, 100));
                                  })());
                                  await sendFromDevices(cfg.devices, 2, 'live');
                                });
  assert.ok(live.every((e) => e.body.tag === 'live'), 'latest returns only new messages');
  live.forEach(checkEvent);

  // The hub runs with --amqp-idle-timeout (cfg.amqpIdleTimeout, seconds): a receiver idle for
  // 2.5 times as long stays attached (the SDK's empty frames keep its connection, the hub's
  // keep the SDK's) and a message sent after the silence arrives live. A connection the hub
  // closed for idleness would end in processError, which fails the read.
  const idleMs = cfg.amqpIdleTimeout * 2500;
  step(`idle: a live receiver silent for ${idleMs / 1000} s (hub --amqp-idle-timeout ${cfg.amqpIdleTimeout}), then a message`);
  const attachedIdle = receiversAttached();
  const afterIdle = await readEvents(tls, latestEventPosition, cfg.devices.length, 'after idle',
                                     async () => {
                                       await withTimeout('4 receivers attached', 30000, (async () => {
                                         while (receiversAttached() < attachedIdle + 4)
                                           await new Promise((r) => setTimeout(r, 100));
                                       })());
                                       await new Promise((r) => setTimeout(r, idleMs));
                                       await sendFromDevices(cfg.devices, 1, 'after-idle');
                                     });
  assert.ok(afterIdle.every((e) => e.body.tag === 'after-idle'));
  assert.doesNotMatch(fs.readFileSync(cfg.hubLog, 'utf8'), /resource-limit-exceeded/,
                      'the hub closed a connection for idleness');

  step('a second consumer group reads everything independently');
  const other = new EventHubConsumerClient('analytics', emuCs, emuOptions);
  const again = await readEvents(other, earliestEventPosition, sent.length + live.length + afterIdle.length, 'group analytics');
  assert.strictEqual(again.length, sent.length + live.length + afterIdle.length);
  await other.close();

  step('a consumer group created at run time (azkit-hub consumer-group create) reads too');
  admin('consumer-group', 'create', 'reports');
  const groups = admin('consumer-group', 'list').consumerGroups.map((g) => g.name);
  assert.deepStrictEqual(groups, ['$Default', 'analytics', 'reports']);
  assert.throws(() => admin('consumer-group', 'create', 'reports'), /already exists/);
  assert.throws(() => admin('consumer-group', 'create', 'bad/name'), /consumer group name|ArgumentInvalid/);
  assert.throws(() => admin('consumer-group', 'delete', '$Default'), /cannot be deleted/);
  const reports = new EventHubConsumerClient('reports', tlsCs, tlsOptions);
  const fromReports = await readEvents(reports, earliestEventPosition, sent.length + live.length + afterIdle.length, 'group reports');
  assert.strictEqual(fromReports.length, sent.length + live.length + afterIdle.length);
  await reports.close();
  admin('consumer-group', 'delete', 'reports');
  assert.throws(() => admin('consumer-group', 'delete', 'reports'), /does not exist/);

  step('refusals');
  const unknown = new EventHubConsumerClient('reports', emuCs, emuOptions); // deleted above
  let err = null;
  try {
    await readEvents(unknown, earliestEventPosition, 1, 'unknown consumer group');
  } catch (e) { err = e; }
  await unknown.close();
  assert.ok(err && /does not exist|not-found|could not be found/i.test(`${err.code} ${err.message}`),
            `unknown consumer group: ${err}`);
  step(`unknown consumer group refused: ${err.code}`);
  await assert.rejects(emu.getPartitionProperties('9'), /partition|not|exist/i);

  const key = part(tlsCs, 'SharedAccessKey');
  const wrongKey = Buffer.alloc(32, 7).toString('base64');
  await refused('a wrong key', new EventHubConsumerClient('$Default',
    emuCs.replace(`SharedAccessKey=${key}`, `SharedAccessKey=${wrongKey}`), emuOptions));
  const expired = sasToken(`sb://${cfg.hostname}/${hubName}`, key, Math.floor(Date.now() / 1000) - 60);
  await refused('an expired token', new EventHubConsumerClient('$Default', cfg.hostname, hubName,
    new AzureSASCredential(expired), tlsOptions));
  // The same token, valid, is accepted (the refusal above is the expiry, not the form).
  const valid = sasToken(`sb://${cfg.hostname}/${hubName}`, key, Math.floor(Date.now() / 1000) + 600);
  const ok = new EventHubConsumerClient('$Default', cfg.hostname, hubName, new AzureSASCredential(valid), tlsOptions);
  assert.deepStrictEqual(await ok.getPartitionIds(), ['0', '1', '2', '3']);
  await ok.close();

  // Retention (the hub keeps cfg.retention messages, in segments of a seventh of it that it
  // drops whole): a live reader keeps up through many segment moves and misses nothing, then
  // each partition starts at its oldest kept message and holds one unbroken run.
  const keep = cfg.retention, seg = Math.ceil(keep / 7), n = 2 * keep;
  step(`retention: ${n} messages into a hub keeping ${keep} (segments of ${seg}), a live reader meanwhile`);
  const attachedFlood = receiversAttached();
  const flood = (await readEvents(tls, latestEventPosition, n, 'live through retention',
                                  async () => {
                                    await withTimeout('4 receivers attached', 30000, (async () => {
                                      while (receiversAttached() < attachedFlood + 4)
                                        await new Promise((r) => setTimeout(r, 100));
                                    })());
                                    await sendFromDevices([cfg.devices[0]], n, 'flood');
                                  })).filter((e) => e.body.tag === 'flood');
  assert.deepStrictEqual(flood.map((e) => e.body.i), [...Array(n).keys()], 'every message, in order');
  for (let k = 1; k < n; k++)
    assert.strictEqual(flood[k].sequenceNumber, flood[k - 1].sequenceNumber + 1);
  const floodPart = flood[0].partitionId;
  const kept = {};
  let keptTotal = 0;
  for (const id of props.partitionIds) {
    const pp = await emu.getPartitionProperties(id);
    if (pp.isEmpty) continue;
    kept[id] = pp;
    keptTotal += pp.lastEnqueuedSequenceNumber - pp.beginningSequenceNumber + 1;
  }
  step(`kept: ${keptTotal} messages; partition ${floodPart} from ${kept[floodPart].beginningSequenceNumber} to ${kept[floodPart].lastEnqueuedSequenceNumber}`);
  assert.ok(keptTotal >= keep && keptTotal <= keep + seg, `kept ${keptTotal}, not ${keep}..${keep + seg}`);
  assert.ok(kept[floodPart].beginningSequenceNumber > 0, 'the oldest messages were dropped');
  assert.strictEqual(kept[floodPart].lastEnqueuedSequenceNumber, flood[n - 1].sequenceNumber);
  const fromStart = await readEvents(emu, earliestEventPosition, keptTotal, 'earliest after retention');
  assert.strictEqual(fromStart.length, keptTotal);
  for (const id of Object.keys(kept)) {
    const seqs = fromStart.filter((e) => e.partitionId === id).map((e) => e.sequenceNumber);
    const want = [];
    for (let q = kept[id].beginningSequenceNumber; q <= kept[id].lastEnqueuedSequenceNumber; q++) want.push(q);
    assert.deepStrictEqual(seqs, want, `partition ${id}: one run from its beginning`);
  }

  await tls.close();
  await emu.close();
}

// eh-ws (run by run-hub.js --suite ws, where the service API is on 443): the Event Hubs
// connection string as `serve` prints it, with webSocketOptions: the SDK reaches
// wss://localhost:443/$servicebus/websocket (subprotocol AMQPWSB10) instead of amqps:5671.
async function ehWsScenario() {
  const WebSocket = require('ws');
  const sent = await sendFromDevices(cfg.devices, 3, 'over-ws');
  const client = new EventHubConsumerClient('$Default', cfg.ehConnectionString,
                                            { webSocketOptions: { webSocket: WebSocket },
                                              retryOptions: { maxRetries: 0, timeoutInMs: 20000 } });
  step(`getPartitionIds over WebSockets: ${JSON.stringify(await client.getPartitionIds())}`);
  // The other WebSocket scenarios' devices sent telemetry too: read until every one of ours came.
  const want = new Set(sent.map((s) => s.messageId));
  const got = [];
  let done;
  const finished = new Promise((resolve, reject) => { done = { resolve, reject }; });
  const sub = client.subscribe({
    processEvents: async (events) => {
      for (const e of events) if (want.has(e.messageId)) got.push(e);
      if (got.length >= want.size) done.resolve();
    },
    processError: async (err) => { done.reject(err); },
  }, { startPosition: earliestEventPosition, maxBatchSize: 50, maxWaitTimeInSeconds: 1 });
  try {
    await withTimeout(`over WebSockets: ${want.size} events (got ${got.length})`, 60000, finished);
  } finally {
    await sub.close();
  }
  assert.deepStrictEqual(got.map((e) => e.messageId).sort(), [...want].sort());
  got.forEach(checkEvent);
  step(`${got.length} events read over WebSockets, annotations and properties as over AMQP`);
  await client.close();
}

const scenarios = { eventhubs: eventhubsScenario, 'eh-ws': ehWsScenario };
(async () => {
  if (!scenarios[mode]) throw new Error(`unknown scenario ${mode}`);
  await scenarios[mode]();
  step('passed');
  process.exit(0);
})().catch((e) => {
  console.error(`[eventhubs ${mode}] FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});

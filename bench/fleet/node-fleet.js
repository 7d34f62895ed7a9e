#!/usr/bin/env node
// The anchor of bench/fleet/run: N simulated X.509 devices in one Node.js process with
// Microsoft's official Azure IoT device SDKs -- azure-iot-provisioning-device(-mqtt) +
// azure-iot-security-x509 to register through DPS, then azure-iot-device(-mqtt) on the
// assigned hub -- each sending M telemetry messages (QoS 1, the MQTT transport's default) and
// waiting for each send's completion (the PUBACK). What `azkit fleet` does in C.
//
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node node-fleet.js --pki DIR --id-scope S --dps-host H:P
//       [--count N] [--prefix node-] [--messages M] [--interval MS] [--rate R] [--timeout S] [--cold]
//
// Device i is <prefix><i>; its files are DIR/<id>.chain.pem (leaf + intermediate, sent to both
// DPS and the hub) and DIR/<id>.key.pem, made beforehand (`azkit pki device`). Devices start at
// R per second (0: all at once), like `azkit fleet --rate`. A device sends its first message as
// soon as it is connected, the next ones `interval` ms after the previous send started (as azkit
// does), each after the previous one completed. When every device is done (or failed) all
// clients are closed and one JSON line is printed, with the fields `azkit fleet --json` prints:
// {devices, registered, connected, failed, sent, acked, elapsedMs, allConnectedMs, allAckedMs,
//  firstError}. Times are from the first device's start (after the SDKs were loaded and the
// certificates read). Exit status 0 when no device failed, else 1.
//
// The SDKs are loaded from tests/node/node_modules (tests/node/install-deps installs them).
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const sdk = createRequire(path.join(__dirname, '..', '..', 'tests', 'node', 'package.json'));
const { ProvisioningDeviceClient } = sdk('azure-iot-provisioning-device');
const { Mqtt: ProvMqtt } = sdk('azure-iot-provisioning-device-mqtt');
const { X509Security } = sdk('azure-iot-security-x509');
const { Client: DeviceClient, Message } = sdk('azure-iot-device');
const { Mqtt } = sdk('azure-iot-device-mqtt');

function parseArgs(argv) {
  const o = { count: 200, prefix: 'node-', messages: 5, interval: 200, rate: 100, timeoutMs: 120000 };
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`${name} needs a whole number`);
    return n;
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--pki') { o.pki = v; i++; }
    else if (a === '--id-scope') { o.idScope = v; i++; }
    else if (a === '--dps-host') { o.dpsHost = v; i++; }
    else if (a === '--prefix') { o.prefix = v; i++; }
    else if (a === '--count') { o.count = num(v, a); i++; }
    else if (a === '--messages') { o.messages = num(v, a); i++; }
    else if (a === '--interval') { o.interval = num(v, a); i++; }
    else if (a === '--rate') { o.rate = num(v, a); i++; }
    else if (a === '--cold') o.cold = true;
    else if (a === '--timeout') { o.timeoutMs = num(v, a) * 1000; i++; }
    else usage(`unknown argument ${a}`);
  }
  if (!o.pki || !o.idScope || !o.dpsHost || o.count < 1) usage('--pki, --id-scope, --dps-host and --count >= 1 are required');
  return o;
}
function usage(why) {
  console.error(`node-fleet: ${why}\nusage: node node-fleet.js --pki DIR --id-scope S --dps-host H:P ` +
                '[--count N] [--prefix P] [--messages M] [--interval MS] [--rate R] [--timeout S] [--cold]');
  process.exit(2);
}

const o = parseArgs(process.argv);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const describe = (err) => `${err && err.constructor && err.constructor.name}: ${err && err.message}` +
  `${err && err.result ? ' result=' + JSON.stringify(err.result) : ''}`;

// Everything a device needs is read before the clock starts (as azkit issues its certificates
// before its clock starts).
const devices = [];
for (let i = 0; i < o.count; i++) {
  const id = `${o.prefix}${i}`;
  devices.push({
    id,
    cert: fs.readFileSync(path.join(o.pki, `${id}.chain.pem`), 'utf8'),
    key: fs.readFileSync(path.join(o.pki, `${id}.key.pem`), 'utf8'),
  });
}

const st = { devices: o.count, registered: 0, connected: 0, failed: 0, sent: 0, acked: 0,
             elapsedMs: 0, allConnectedMs: null, allAckedMs: null, firstError: null };
const clients = [];
let t0 = 0;
let lastConnected = 0;
let finished = 0;

async function runDevice(d) {
  const security = new X509Security(d.id, { cert: d.cert, key: d.key });
  const prov = ProvisioningDeviceClient.create(o.dpsHost, o.idScope, new ProvMqtt(), security);
  const result = await prov.register();
  if (result.status !== 'assigned') throw new Error(`registration status ${result.status}`);
  st.registered++;
  const client = DeviceClient.fromConnectionString(
    `HostName=${result.assignedHub};DeviceId=${result.deviceId};x509=true`, Mqtt);
  client.setOptions({ cert: d.cert, key: d.key });
  let failure = null;
  client.on('error', (err) => { failure = failure || err; });
  clients.push(client);
  await client.open();
  st.connected++;
  lastConnected = Date.now();
  for (let n = 1; n <= o.messages; n++) {
    if (failure) throw failure;
    const started = Date.now();
    const msg = new Message(JSON.stringify({ device: d.id, n }));
    st.sent++;
    await client.sendEvent(msg); // resolves on the PUBACK (QoS 1)
    st.acked++;
    if (n < o.messages) await sleep(started + (o.interval || 1000) - Date.now());
  }
}

async function main() {
  // The device SDK puts the OS release in its user agent (azure-iot-common's
  // getAgentPlatformString -> getos), which on Debian runs `lsb_release -a` in a child process
  // and caches the answer only once one has finished: devices that connect at the same time
  // each spawn one. A long-running simulator pays that once, so it is paid here before the
  // clock starts.
  // (--cold: not paid beforehand.)
  if (!o.cold) await new Promise((resolve) => sdk('azure-iot-common').getAgentPlatformString(resolve));
  t0 = Date.now();
  const runs = devices.map(async (d, i) => {
    if (o.rate > 0) await sleep(t0 + (i * 1000) / o.rate - Date.now());
    try {
      await runDevice(d);
    } catch (err) {
      st.failed++;
      if (!st.firstError) st.firstError = `${d.id}: ${describe(err)}`;
    }
    finished++;
  });
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), o.timeoutMs); });
  const outcome = await Promise.race([Promise.all(runs).then(() => 'done'), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    // Devices still running count as failed.
    st.failed += o.count - finished;
    st.firstError = st.firstError ||
      `timeout after ${o.timeoutMs / 1000} s (${o.count - finished} devices still running)`;
  }
  if (st.connected === o.count) st.allConnectedMs = lastConnected - t0;
  if (st.acked === o.count * o.messages) st.allAckedMs = Date.now() - t0;
  // Clean DISCONNECTs (bounded: a hung connection must not hang the report).
  await Promise.race([Promise.all(clients.map((c) => c.close().catch(() => {}))), sleep(10000)]);
  st.elapsedMs = Date.now() - t0;
  console.log(JSON.stringify(st));
  process.exit(st.failed === 0 && outcome === 'done' ? 0 : 1);
}

main().catch((err) => { console.error(`node-fleet: ${err && err.stack || err}`); process.exit(1); });

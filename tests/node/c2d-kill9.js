#!/usr/bin/env node
// Counting C2D across kills: a back-end sends numbered cloud-to-device messages with
// azure-iothub's Client.send() over AMQP (stock settings) while azkit-hub is killed with SIGKILL
// and restarted three times on the same ports and data directory; the device is `azkit run`,
// which reconnects by itself and prints every C2D message it gets.
//
//   node c2d-kill9.js --hub PATH/azkit-hub --azkit PATH/azkit [--count N] [--kills K]
//
// A send whose promise resolved was accepted by the hub (the AMQP disposition comes after the
// message is committed to the device's queue), so it must reach the device: loss 0. Messages
// the device got twice (a delivery whose completion died with the hub) are counted.
//
// The sender runs in a child process (`--send`): azure-iothub 1.16.6 may throw from its AMQP
// layer when the connection vanishes (seen: RangeError in an uncaught callback), which ends the
// process; the runner then starts a new sender from the next number, as a supervised back-end
// would be restarted. Only resolved sends are counted, so a send lost with its process only
// costs a number, never a false "delivered".
'use strict';

const { spawn } = require('child_process');
const { sleep, stepper, parseArgs, lines, until, KilledHub, runMain } = require('./kill9-util');

const step = stepper('c2d-kill9');

// ---- the sender (child process) -------------------------------------------------------------
async function send(connectionString, deviceId, from, to) {
  const { Client } = require('azure-iothub');
  const { Message } = require('azure-iot-common');
  const client = Client.fromConnectionString(connectionString);
  for (let n = from; n <= to; n++) {
    const m = new Message(JSON.stringify({ n }));
    m.messageId = `c2d-kill9-${n}`;
    try {
      await client.send(deviceId, m);
      console.log(`sent ${n}`);
    } catch (err) {
      console.log(`failed ${n} ${String(err.message || err).split('\n')[0]}`);
      await sleep(200); // the hub is restarting, or the device's queue is full
    }
  }
  await client.close();
  process.exit(0);
}

// ---- the runner -------------------------------------------------------------------------------
let hub = null, sender = null, device = null;

async function main() {
  const opts = parseArgs('c2d-kill9', process.argv, { count: 300, kills: 3 });
  hub = new KilledHub('c2d-kill9', opts, (ports) => [
    '--mqtt-port', String(ports ? ports.mqtt : 0), '--amqp-port', String(ports ? ports.amqp : 0),
    '--eventhubs-port', 'off']);
  hub.others.push(() => device, () => sender);
  const id = 'c2d-kill9-1';
  const ready = await hub.start(null);
  const ports = { mqtt: ready.mqtt_port, amqp: ready.amqp_port };
  step(`hub up: ${JSON.stringify(ports)}`);
  const store = hub.provision(id, ready);
  const cs = ready.connection_string.replace(/HostName=([^;:]+)(:\d+)?;/, `HostName=$1:${ports.amqp};`);

  // The device: stays connected (one telemetry message, then an hour's interval), prints C2D.
  const got = new Map(); // n -> times received
  let connects = 0, deviceExit = null;
  device = spawn(opts.azkit, ['--store', store, '--json', 'run', '--sec-tag', '10',
                              '--hub', `localhost:${ports.mqtt}`, '--device-id', id,
                              '--count', '0', '--interval', '3600000'],
                 { stdio: ['ignore', 'pipe', 'inherit'] });
  lines(device, (l) => {
    let e;
    try { e = JSON.parse(l); } catch (err) { return; }
    if (e.event === 'connected') connects++;
    if (e.event === 'c2d') {
      const n = JSON.parse(e.payload).n;
      got.set(n, (got.get(n) || 0) + 1);
    }
  });
  device.on('exit', (code, sig) => { deviceExit = { code, sig }; });
  await until('the device to connect', 30000, () => connects > 0);

  // The sender, restarted from the next number whenever its process ends early.
  const resolved = new Set();
  let failures = 0, senderRestarts = 0, next = 1, senderDone = false;
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: ready.ca,
                NODE_OPTIONS: ((process.env.NODE_OPTIONS || '') + ' --dns-result-order=ipv4first').trim() };
  const startSender = () => {
    sender = spawn(process.execPath, [__filename, '--send', cs, id, String(next), String(opts.count)],
                   { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let lastErr = '';
    sender.stderr.on('data', (d) => { lastErr = (lastErr + d).slice(-4000); });
    lines(sender, (l) => {
      const m = /^(sent|failed) (\d+)/.exec(l);
      if (!m) return;
      const n = Number(m[2]);
      next = n + 1;
      if (m[1] === 'sent') resolved.add(n);
      else if (++failures <= 10) step(`sender: ${l}`);
    });
    sender.on('exit', (code) => {
      if (code === 0) { senderDone = true; return; }
      senderRestarts++;
      const why = lastErr.split('\n').find((l) => /Error/.test(l)) || 'no message';
      step(`sender process ended (${code}; ${why.trim()}): restarted from ${next}`);
      if (next <= opts.count) startSender(); else senderDone = true;
    });
  };
  startSender();

  for (let k = 1; k <= opts.kills; k++) {
    const at = Math.floor((opts.count * k) / (opts.kills + 1));
    await until(`send ${at} resolved before kill ${k}`, 180000, () => resolved.size >= at);
    step(`kill ${k}: SIGKILL the hub (${resolved.size} sends resolved, ${got.size} received)`);
    await hub.kill9();
    await sleep(300);
    await hub.start(ports);
    step(`kill ${k}: hub restarted on the same ports`);
  }
  await until('the sender to finish', 300000, () => senderDone);
  const missing = () => [...resolved].filter((n) => !got.has(n));
  try {
    await until('the device to receive every resolved send', 180000, () => missing().length === 0);
  } catch (e) {
    const m = missing();
    throw new Error(`${e.message}: ${m.length} resolved sends never delivered, e.g. ${m.slice(0, 10).join(', ')}`);
  }
  if (deviceExit) throw new Error(`azkit run ended: ${JSON.stringify(deviceExit)}`);
  const dups = [...got.values()].filter((c) => c > 1).length;
  const extra = [...got.keys()].filter((n) => !(n >= 1 && n <= opts.count));
  if (extra.length) throw new Error(`the device got numbers never sent: ${extra.slice(0, 10)}`);
  if (resolved.size < opts.count / 2) throw new Error(`only ${resolved.size} of ${opts.count} sends resolved`);
  step(`counted: ${resolved.size} sends resolved (${failures} rejected, sender restarted ` +
       `${senderRestarts} times), ${got.size} distinct received, lost 0, ${dups} received twice; ` +
       `device connections ${connects}`);
  device.kill('SIGTERM');
  await hub.pass();
}

if (process.argv[2] === '--send')
  send(process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6]));
else runMain(main, () => hub);

#!/usr/bin/env node
// Counting, not hoping, on the Event Hubs side: @azure/event-hubs' EventHubConsumerClient (stock
// settings, its own reconnects) reads the telemetry of a device from azkit-hub's Event
// Hubs-compatible endpoint while the hub is killed with SIGKILL and restarted three times on the
// same ports and data directory.
//
//   node eh-kill9.js --hub PATH/azkit-hub --azkit PATH/azkit [--count N] [--kills K]
//
// The device is `azkit run` (numbered QoS 1 messages every 25 ms, about 100 s of them, so that
// all three kills fall while it sends; its outbox resends what a kill left unacknowledged).
// Before each kill the consumer has reconnected by itself and read everything acknowledged so
// far, so each kill cuts a live reader. Counted at the end: messages the device saw acknowledged (PUBACK
// only after the hub's commit), and messages the consumer read (by number; a message stored
// twice because its PUBACK died with the hub is counted as a duplicate). Every acknowledged
// message must be read: loss 0. No timing thresholds: every wait is for a count, bounded by a
// generous timeout that names what did not arrive.
//
// The consumer runs in a child process (`--consume`) so that whatever the SDK does when its
// server vanishes, the runner sees it: it prints one line per event and per error.
'use strict';

const { spawn } = require('child_process');
const { sleep, stepper, parseArgs, lines, until, KilledHub, runMain } = require('./kill9-util');

const step = stepper('eh-kill9');

// ---- the consumer (child process) -----------------------------------------------------------
function consume(connectionString) {
  const { EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');
  const client = new EventHubConsumerClient('$Default', connectionString);
  client.subscribe({
    processEvents: async (events, ctx) => {
      for (const e of events) {
        const n = e.body && typeof e.body === 'object' ? e.body.n : JSON.parse(String(e.body)).n;
        console.log(`event ${ctx.partitionId} ${e.sequenceNumber} ${n}`);
      }
    },
    processError: async (err, ctx) => {
      console.log(`error ${ctx.partitionId || '-'} ${String(err.message).split('\n')[0]}`);
    },
  }, { startPosition: earliestEventPosition });
}

// ---- the runner -------------------------------------------------------------------------------
let hub = null, consumer = null, device = null;

async function main() {
  const opts = parseArgs('eh-kill9', process.argv, { count: 4000, kills: 3 });
  hub = new KilledHub('eh-kill9', opts, (ports) => [
    '--mqtt-port', String(ports ? ports.mqtt : 0), '--amqp-port', String(ports ? ports.amqp : 0),
    '--eventhubs-port', String(ports ? ports.eh : 0)]);
  hub.others.push(() => device, () => consumer);
  const id = 'eh-kill9-1';
  let ready = await hub.start(null);
  const ports = { mqtt: ready.mqtt_port, amqp: ready.amqp_port, eh: ready.eventhubs_port };
  step(`hub up: ${JSON.stringify(ports)}`);
  const store = hub.provision(id, ready);

  // The consumer: stock EventHubConsumerClient over the emulator connection string.
  const read = new Map(); // n -> times read
  let events = 0, errors = 0;
  consumer = spawn(process.execPath, [__filename, '--consume', ready.eventhubs_emulator_connection_string],
                   { stdio: ['ignore', 'pipe', 'inherit'] });
  lines(consumer, (l) => {
    const m = /^event (\S+) (\d+) (\d+)$/.exec(l);
    if (m) {
      events++;
      read.set(Number(m[3]), (read.get(Number(m[3])) || 0) + 1);
    } else if (l.startsWith('error ')) {
      errors++;
      if (errors <= 20) step(`consumer: ${l}`);
    }
  });
  let consumerExit = null;
  consumer.on('exit', (code, sig) => { consumerExit = { code, sig }; });

  // The device: numbered messages; accepted n -> outbox id; acknowledged ids.
  const acceptedN = new Map(), acked = new Set();
  let deviceExit = null;
  device = spawn(opts.azkit, ['--store', store, '--json', 'run', '--sec-tag', '10',
                              '--hub', `localhost:${ports.mqtt}`, '--device-id', id,
                              '--count', String(opts.count), '--interval', '25',
                              '--message', '{"n":%d}'],
                 { stdio: ['ignore', 'pipe', 'inherit'] });
  lines(device, (l) => {
    let e;
    try { e = JSON.parse(l); } catch (err) { return; }
    if (e.event === 'accepted') acceptedN.set(e.messageId, e.n);
    else if (e.event === 'acked') acked.add(e.messageId);
  });
  device.on('exit', (code, sig) => { deviceExit = { code, sig }; });

  for (let k = 1; k <= opts.kills; k++) {
    const at = Math.floor((opts.count * k) / (opts.kills + 1));
    await until(`the device's message ${at} acknowledged before kill ${k}`, 120000, () => acked.size >= at);
    // The consumer is live again (the SDK reconnected by itself, about 30 s after a kill with
    // its default retry options) and has read everything acknowledged so far.
    const ackedSoFar = [...acked].map((mid) => acceptedN.get(mid));
    await until(`the consumer to read the ${ackedSoFar.length} messages acknowledged before kill ${k}`,
                180000, () => ackedSoFar.every((n) => read.has(n)));
    step(`kill ${k}: SIGKILL the hub (device: ${acceptedN.size} accepted, ${acked.size} acked; consumer: ${events} events)`);
    await hub.kill9();
    await sleep(300);
    ready = await hub.start(ports);
    step(`kill ${k}: hub restarted on the same ports`);
  }

  await until('azkit run to end (every message acknowledged)', 180000, () => deviceExit !== null);
  if (deviceExit.code !== 0) throw new Error(`azkit run ended with ${JSON.stringify(deviceExit)}`);
  const ackedN = [...acked].map((mid) => acceptedN.get(mid));
  if (ackedN.length !== opts.count || ackedN.some((n) => n === undefined))
    throw new Error(`the device saw ${ackedN.length} of ${opts.count} messages acknowledged`);
  step(`device done: ${opts.count} accepted and acknowledged; waiting for the consumer`);

  const missing = () => ackedN.filter((n) => !read.has(n));
  try {
    await until('the consumer to read every acknowledged message', 240000,
                () => consumerExit !== null || missing().length === 0);
  } catch (e) {
    const m = missing();
    throw new Error(`${e.message}: ${m.length} acknowledged messages never read, e.g. ${m.slice(0, 10).join(', ')}`);
  }
  if (consumerExit) throw new Error(`the consumer process ended: ${JSON.stringify(consumerExit)}`);
  const dups = [...read.values()].filter((c) => c > 1).length;
  const extra = [...read.keys()].filter((n) => !(n >= 1 && n <= opts.count));
  step(`counted: ${opts.count} acknowledged, ${read.size} distinct read (${events} events), ` +
       `lost 0, ${dups} read more than once (stored twice: PUBACK died with the hub, or read ` +
       `again after a reconnect), consumer errors reported ${errors}`);
  if (extra.length) throw new Error(`the consumer read numbers never sent: ${extra.slice(0, 10)}`);
  consumer.kill('SIGTERM');
  await hub.pass();
}

if (process.argv[2] === '--consume') consume(process.argv[3]);
else runMain(main, () => hub);

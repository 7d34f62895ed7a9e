#!/usr/bin/env node
// The anchor of bench/client: one device with Microsoft's official Node.js SDKs
// (azure-iot-provisioning-device(-mqtt) + azure-iot-security-x509 for DPS, azure-iot-device(-mqtt)
// on the hub), doing what `azkit run` does in the same bench. Prints one JSON line of phase times
// (ms from this process's start) and throughput.
//   node-device.js cold   '<cfg>'   register through DPS, open the assigned hub, send 1 message
//   node-device.js warm   '<cfg>'   open the hub directly (the device knows its hub), send 1
//   node-device.js stream '<cfg>'   open the hub, send cfg.count 256-byte messages at QoS 1 with at
//                                   most cfg.window unacknowledged
// cfg: {scope, dpsHost, hubHost, id, cert, key}
'use strict';
const fs = require('fs');
const { performance } = require('perf_hooks');
const t = () => Math.round(performance.now());

const mode = process.argv[2];
const cfg = JSON.parse(process.argv[3]);
const { Client: DeviceClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt: ProvMqtt } = require('azure-iot-provisioning-device-mqtt');
const { X509Security } = require('azure-iot-security-x509');

const loaded = t();
const cert = fs.readFileSync(cfg.cert, 'utf8');
const key = fs.readFileSync(cfg.key, 'utf8');

async function open(host) {
  const client = DeviceClient.fromConnectionString(`HostName=${host};DeviceId=${cfg.id};x509=true`, Mqtt);
  client.setOptions({ cert, key });
  await client.open();
  return client;
}

async function main() {
  const out = { mode, loaded_ms: loaded };
  let host = cfg.hubHost;
  if (mode === 'cold') {
    const prov = ProvisioningDeviceClient.create(cfg.dpsHost, cfg.scope, new ProvMqtt(),
                                                 new X509Security(cfg.id, { cert, key }));
    const r = await prov.register();
    host = r.assignedHub;
    out.registered_ms = t();
  }
  const client = await open(host);
  out.ready_ms = t();
  if (mode === 'stream') {
    const payload = 'x'.repeat(256);
    const start = performance.now();
    let sent = 0, acked = 0;
    await new Promise((resolve, reject) => {
      const pump = () => {
        while (sent < cfg.count && sent - acked < cfg.window) {
          sent++;
          client.sendEvent(new Message(payload)).then(() => {
            acked++;
            if (acked === cfg.count) resolve(); else pump();
          }, reject);
        }
      };
      pump();
    });
    out.messages = acked;
    out.msgs_per_s = Math.round(acked / ((performance.now() - start) / 1000));
  } else {
    await client.sendEvent(new Message(JSON.stringify({ n: 1 })));
    out.sent_ms = t();
  }
  await client.close();
  out.done_ms = t();
  console.log(JSON.stringify(out));
}
main().then(() => process.exit(0), (e) => { console.error(`node-device: ${e && e.stack || e}`); process.exit(1); });

#!/usr/bin/env node
// The device half of ./scripts/demo, played by Microsoft's official Node.js device SDKs until
// azkit's own device client exists: register through DPS with an X.509 certificate chain, then
// open the assigned hub and send one telemetry message.
//   NODE_EXTRA_CA_CERTS=<hub ca.pem> node demo-device.js DPS_HOST ID_SCOPE REGISTRATION_ID CHAIN KEY
'use strict';

const fs = require('fs');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt: ProvMqtt } = require('azure-iot-provisioning-device-mqtt');
const { X509Security } = require('azure-iot-security-x509');
const { Client, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');

async function main() {
  const [dpsHost, idScope, registrationId, chainFile, keyFile] = process.argv.slice(2);
  if (!keyFile) {
    console.error('usage: demo-device.js DPS_HOST ID_SCOPE REGISTRATION_ID CHAIN KEY');
    process.exit(2);
  }
  const cert = { cert: fs.readFileSync(chainFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  console.log(`device: registering '${registrationId}' with DPS at ${dpsHost} (id scope ${idScope})`);
  const prov = ProvisioningDeviceClient.create(dpsHost, idScope, new ProvMqtt(),
                                               new X509Security(registrationId, cert));
  const result = await prov.register();
  console.log(`device: DPS says ${result.status}: hub ${result.assignedHub}, device id ${result.deviceId}`);
  const client = Client.fromConnectionString(
    `HostName=${result.assignedHub};DeviceId=${result.deviceId};x509=true`, Mqtt);
  client.setOptions(cert);
  await client.open();
  console.log(`device: connected to ${result.assignedHub}`);
  const msg = new Message(JSON.stringify({ temperature: 21.5, humidity: 40 }));
  msg.properties.add('source', 'azkit-demo');
  msg.contentType = 'application/json';
  msg.contentEncoding = 'utf-8';
  await client.sendEvent(msg);
  console.log('device: telemetry sent and acknowledged');
  await client.close();
}

main().catch((err) => {
  console.error(`device: failed: ${err && (err.stack || err)}`);
  process.exit(1);
});

#!/usr/bin/env node
// Interop test: Microsoft's official Azure IoT Node.js SDKs (azure-iot-device +
// azure-iot-device-mqtt, azure-iothub, pinned in package.json) against azkit-hub, and the
// provisioning SDKs (azure-iot-provisioning-device(-mqtt), azure-iot-security-x509,
// azure-iot-security-symmetric-key, azure-iot-provisioning-service) against its DPS.
//
//   node run-hub.js --hub PATH/azkit-hub --azkit PATH/azkit [--suite hub|dps|ws]
//
// --suite ws (ctest node_interop_ws): MQTT over WebSockets with the MqttWs transports of the
// device and provisioning SDKs (ws-scenarios.js).
// --suite hub (default; ctest node_interop_hub): device, twin, methods, C2D, registry, queries
// (sdk-scenarios.js). --suite dps (ctest node_interop_dps): enrollment CRUD with the provisioning
// service SDK, X.509 registration (individual + intermediate group) with the provisioning device
// SDK followed by a connection to the assigned hub, the refusals, linked hubs (the hub is
// started with --linked-hub hub-b.azkit.test: static allocation to it, then reprovisioning with
// migration to the primary), and symmetric-key attestation (individual + group with a derived
// key, then a SharedAccessKey connection to the assigned hub) (dps-scenarios.js).
//
// This runner uses node's built-ins only. It makes a temp dir, creates a PKI with the azkit CLI,
// starts `azkit-hub serve --service-port 443 --mqtt-port 0`, registers devices with the admin
// CLI, then runs the SDK code (sdk-scenarios.js) in child processes started with
// NODE_EXTRA_CA_CERTS=<the hub's CA>: node reads that variable only at process start, and it is
// the only way to make both mqtt.js (device SDK) and https.request (service SDK) trust the hub.
//
// Port 443: azure-iothub calls https.request with a bare host name and no port, so the service
// API must be on 443 (ctest runs this test under RESOURCE_LOCK port443). Needs root (or
// CAP_NET_BIND_SERVICE / a low net.ipv4.ip_unprivileged_port_start).
//
// --suite amqp (ctest node_interop_amqp): azure-iothub's Client over AMQP (C2D send, feedback,
// refusals) against `serve --service-port 0 --amqp-port 0` (amqp-scenarios.js); no port 443.
//
// --suite eventhubs (ctest node_interop_eventhubs): @azure/event-hubs' EventHubConsumerClient
// reads the devices' telemetry from the Event Hubs-compatible endpoint of `serve --amqp-port 0
// --eventhubs-port 0 --consumer-group analytics` (eh-scenarios.js); no port 443.
//
// On failure the hub's log is printed. Exit status: 0 pass, 1 fail.
'use strict';

const { spawn, execFileSync } = require('child_process');
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');

const t0 = Date.now();
function step(msg) {
  console.log(`[run-hub +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

function parseArgs(argv) {
  const o = { hub: process.env.AZKIT_HUB_BIN, azkit: process.env.AZKIT_BIN, keep: false,
              servicePort: '443', suite: 'hub' };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--hub') o.hub = argv[++i];
    else if (a === '--azkit') o.azkit = argv[++i];
    else if (a === '--keep') o.keep = true;
    else if (a === '--suite' && ['hub', 'dps', 'ws', 'amqp', 'eventhubs'].includes(argv[i + 1])) o.suite = argv[++i];
    else if (a === '--service-port') o.servicePort = argv[++i]; // for debugging only: the
    // service SDK cannot reach any port but 443, so the SDK scenarios fail elsewhere.
    else { console.error(`usage: node run-hub.js --hub AZKIT_HUB --azkit AZKIT [--suite hub|dps|ws|amqp|eventhubs] [--keep]`); process.exit(2); }
  }
  if (!o.hub || !o.azkit) { console.error('run-hub: --hub and --azkit are required'); process.exit(2); }
  o.hub = path.resolve(o.hub);
  o.azkit = path.resolve(o.azkit);
  return o;
}

const opts = parseArgs(process.argv);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'azkit-node-interop-'));
const pki = path.join(dir, 'pki');
const data = path.join(dir, 'data');
const readyFile = path.join(dir, 'ready.json');
const hubLog = path.join(dir, 'hub.log');
let hub = null;
let hubExited = null;

function run(bin, args) {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  } catch (e) {
    throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (status ${e.status}):\n` +
                    `${e.stdout || ''}${e.stderr || ''}`);
  }
}
const azkit = (...args) => run(opts.azkit, args);
const admin = (...args) => JSON.parse(run(opts.hub, [...args, '--ready-file', readyFile, '--json']));

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// extraArgs: more `serve` options (the DPS suite: --linked-hub).
async function startHub(extraArgs = []) {
  const log = fs.openSync(hubLog, 'a');
  // --dps-retry-after 1: the provisioning SDK waits retry-after seconds between polls (Azure
  // and the hub's default: 3).
  hub = spawn(opts.hub, ['serve', '--data', data, '--mqtt-port', '0',
                         '--service-port', opts.servicePort, '--ready-file', readyFile,
                         '--log-level', 'debug', '--dps-retry-after', '1', ...extraArgs],
              { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  hub.on('exit', (code, sig) => { hubExited = { code, sig }; });
  for (let i = 0; i < 300; i++) { // the first start creates the hub's PKI
    if (hubExited) throw new Error(`azkit-hub exited before it was ready: ${JSON.stringify(hubExited)}`);
    if (fs.existsSync(readyFile)) {
      try { return JSON.parse(fs.readFileSync(readyFile, 'utf8')); } catch (e) { /* partial */ }
    }
    await sleep(100);
  }
  throw new Error('azkit-hub not ready after 30 s');
}

async function stopHub() {
  if (!hub || hubExited) return hubExited;
  const done = new Promise((r) => hub.once('exit', (code, sig) => r({ code, sig })));
  hub.kill('SIGTERM');
  const t = setTimeout(() => hub.kill('SIGKILL'), 10000);
  const st = await done;
  clearTimeout(t);
  return st;
}

// Runs one scenario of sdk-scenarios.js (or dps-scenarios.js) in a child node with the hub's CA
// trusted.
function scenario(name, cfg, ready, script = 'sdk-scenarios.js', timeoutMs = 40000) {
  return new Promise((resolve, reject) => {
    step(`scenario ${name}: start (NODE_EXTRA_CA_CERTS=${ready.ca})`);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: ready.ca,
                  // 'localhost' must reach the hub on 127.0.0.1 (it listens there), also on
                  // hosts whose resolver lists ::1 first.
                  NODE_OPTIONS: ((process.env.NODE_OPTIONS || '') + ' --dns-result-order=ipv4first').trim() };
    const child = spawn(process.execPath, [path.join(__dirname, script), name,
                                           JSON.stringify(cfg)],
                        { env, stdio: ['ignore', 'inherit', 'inherit'], cwd: __dirname });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) { step(`scenario ${name}: passed`); resolve(); }
      else reject(new Error(`scenario ${name} failed (exit ${code}${sig ? ', signal ' + sig : ''})`));
    });
  });
}

async function main() {
  step(`temp dir ${dir}; node ${process.version}; suite ${opts.suite}`);
  if (opts.suite === 'dps') return mainDps();
  if (opts.suite === 'ws') return mainWs();
  if (opts.suite === 'amqp') return mainAmqp();
  if (opts.suite === 'eventhubs') return mainEventHubs();

  step('PKI: root -> intermediate -> device "node-ca-1"; self-signed "node-ss-1"');
  fs.mkdirSync(pki);
  azkit('pki', 'root', '--cn', 'Node Interop Root', '--out', path.join(pki, 'root'));
  azkit('pki', 'intermediate', '--ca', path.join(pki, 'root'), '--cn', 'Node Interop Intermediate',
        '--out', path.join(pki, 'inter'));
  azkit('pki', 'device', 'node-ca-1', '--ca', path.join(pki, 'inter'), '--out', path.join(pki, 'node-ca-1'));
  azkit('pki', 'self-signed', 'node-ss-1', '--out', path.join(pki, 'node-ss-1'));
  azkit('pki', 'self-signed', 'node-reg-1', '--out', path.join(pki, 'node-reg-1'));

  step(`start azkit-hub serve --service-port ${opts.servicePort} --mqtt-port 0`);
  const ready = await startHub(['--amqp-port', '0']); // AMQP for the http-c2d scenario's back-end
  step(`hub ready: ${JSON.stringify({ mqtt_port: ready.mqtt_port, service_port: ready.service_port, hostname: ready.hostname, ca: ready.ca })}`);
  assert.strictEqual(String(ready.service_port), opts.servicePort);
  assert.ok(ready.connection_string && /SharedAccessKey=/.test(ready.connection_string));
  assert.ok(fs.existsSync(ready.ca));

  step('register node-ss-1 (selfSigned, device add --cert)');
  const ss = admin('device', 'add', 'node-ss-1', '--cert', path.join(pki, 'node-ss-1.cert.pem'));
  assert.strictEqual(ss.device.authentication.type, 'selfSigned');

  step('upload + verify CA "node-root" (ca add, ca verify --ca-key); register node-ca-1 (--ca-signed)');
  admin('ca', 'add', 'node-root', path.join(pki, 'root.cert.pem'));
  const v = admin('ca', 'verify', 'node-root', '--ca-key', path.join(pki, 'root.key.pem'));
  assert.strictEqual(v.certificate.properties.isVerified, true);
  const ca = admin('device', 'add', 'node-ca-1', '--ca-signed');
  assert.strictEqual(ca.device.authentication.type, 'certificateAuthority');

  const common = { hub: opts.hub, readyFile, mqttPort: ready.mqtt_port,
                   serviceConnectionString: ready.connection_string };
  await scenario('device', { ...common, deviceId: 'node-ss-1',
                             cert: path.join(pki, 'node-ss-1.cert.pem'),
                             key: path.join(pki, 'node-ss-1.key.pem') }, ready);
  // The CA-signed device presents its chain (device + intermediate); the hub finds the
  // verified root.
  await scenario('device', { ...common, deviceId: 'node-ca-1',
                             cert: path.join(pki, 'node-ca-1.chain.pem'),
                             key: path.join(pki, 'node-ca-1.key.pem') }, ready);
  await scenario('registry', { ...common, deviceId: 'node-reg-1',
                               cert: path.join(pki, 'node-reg-1.cert.pem'),
                               key: path.join(pki, 'node-reg-1.key.pem') }, ready);
  await scenario('query', common, ready);
  await scenario('sas', common, ready);
  await scenario('bulk', common, ready);
  await scenario('http-c2d', { ...common, amqpPort: ready.amqp_port }, ready);

  step('stop the hub (SIGTERM)');
  const st = await stopHub();
  assert.deepStrictEqual(st, { code: 0, sig: null }, `azkit-hub did not stop cleanly: ${JSON.stringify(st)}`);
}

async function mainEventHubs() {
  fs.mkdirSync(pki);
  const p = (name) => path.join(pki, name);
  const ids = ['node-eh-1', 'node-eh-2', 'node-eh-3'];
  for (const id of ids) azkit('pki', 'self-signed', id, '--out', p(id));
  opts.servicePort = '0';
  // --amqp-idle-timeout 4: the SDK's connections live under a short idle timeout throughout
  // (eh-scenarios.js also holds a receiver idle for 10 s).
  // --telemetry-retention 1400: the scenario's last part sends twice that through a live reader.
  step('start azkit-hub serve --amqp-port 0 --eventhubs-port 0 --consumer-group analytics --amqp-idle-timeout 4 --telemetry-retention 1400');
  const ready = await startHub(['--amqp-port', '0', '--eventhubs-port', '0',
                                '--consumer-group', 'analytics', '--amqp-idle-timeout', '4',
                                '--telemetry-retention', '1400']);
  step(`hub ready: ${JSON.stringify({ amqp_port: ready.amqp_port, eventhubs_port: ready.eventhubs_port, partitions: ready.partitions })}`);
  assert.ok(ready.eventhubs_port > 0 && ready.partitions === 4);
  assert.match(ready.eventhubs_connection_string, /^Endpoint=sb:\/\/localhost\/;SharedAccessKeyName=iothubowner;SharedAccessKey=[^;]+;EntityPath=localhost$/);
  for (const id of ids) admin('device', 'add', id, '--cert', p(`${id}.cert.pem`));
  await scenario('eventhubs', { hub: opts.hub, readyFile, hubLog, mqttPort: ready.mqtt_port, amqpPort: ready.amqp_port,
                                hostname: ready.hostname, amqpIdleTimeout: 4, retention: 1400,
                                ehConnectionString: ready.eventhubs_connection_string,
                                ehEmulatorConnectionString: ready.eventhubs_emulator_connection_string,
                                devices: ids.map((id) => ({ id, cert: p(`${id}.cert.pem`), key: p(`${id}.key.pem`) })) },
                 ready, 'eh-scenarios.js', 90000);
  step('stop the hub (SIGTERM)');
  const st = await stopHub();
  assert.deepStrictEqual(st, { code: 0, sig: null }, `azkit-hub did not stop cleanly: ${JSON.stringify(st)}`);
}

async function mainAmqp() {
  step('PKI: self-signed devices "node-amqp-1" (connects) and "node-amqp-full" (never connects)');
  fs.mkdirSync(pki);
  const p = (name) => path.join(pki, name);
  for (const id of ['node-amqp-1', 'node-amqp-full']) azkit('pki', 'self-signed', id, '--out', p(id));
  opts.servicePort = '0';
  step('start azkit-hub serve --service-port 0 --mqtt-port 0 --amqp-port 0 --amqp-idle-timeout 4 (c2d idles 10 s)');
  const ready = await startHub(['--amqp-port', '0', '--amqp-idle-timeout', '4']);
  step(`hub ready: ${JSON.stringify({ mqtt_port: ready.mqtt_port, amqp_port: ready.amqp_port, service_port: ready.service_port })}`);
  assert.ok(Number.isInteger(ready.amqp_port) && ready.amqp_port > 0, 'amqp_port in the ready file');
  for (const id of ['node-amqp-1', 'node-amqp-full'])
    admin('device', 'add', id, '--cert', p(`${id}.cert.pem`));
  const common = { hub: opts.hub, readyFile, mqttPort: ready.mqtt_port, amqpPort: ready.amqp_port, amqpIdleTimeout: 4,
                   serviceConnectionString: ready.connection_string };
  await scenario('c2d', { ...common, deviceId: 'node-amqp-1', cert: p('node-amqp-1.cert.pem'),
                          key: p('node-amqp-1.key.pem') }, ready, 'amqp-scenarios.js');
  await scenario('refusals', { ...common, deviceId: 'node-amqp-full' }, ready, 'amqp-scenarios.js');
  await scenario('raw', { ...common, deviceId: 'node-amqp-1' }, ready, 'amqp-scenarios.js');

  step('stop the hub (SIGTERM)');
  const st = await stopHub();
  assert.deepStrictEqual(st, { code: 0, sig: null }, `azkit-hub did not stop cleanly: ${JSON.stringify(st)}`);
}

// The linked hub of the DPS suite. The name does not resolve: dps-scenarios.js resolves
// *.azkit.test to 127.0.0.1 in its own process (the admin CLI connects to the listen address and
// names the hub with --hub).
const LINKED_HUB = 'hub-b.azkit.test';

// Server certificates for the https webhooks, made with the openssl command (EC P-256).
function webhookCerts(p) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  run('openssl', ['req', '-x509', ...ec, '-keyout', p('webhook-ca.key.pem'),
                  '-out', p('webhook-ca.cert.pem'), '-subj', '/CN=azkit test webhook CA']);
  const leaf = (name, san, signed) => run('openssl', [
    'req', '-x509', ...ec, '-keyout', p(`${name}.key.pem`), '-out', p(`${name}.cert.pem`),
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`,
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
    ...(signed ? ['-CA', p('webhook-ca.cert.pem'), '-CAkey', p('webhook-ca.key.pem')] : [])]);
  leaf('webhook-ok', 'IP:127.0.0.1,DNS:localhost', true);
  leaf('webhook-othername', 'DNS:other.azkit.test', true);
  leaf('webhook-untrusted', 'IP:127.0.0.1,DNS:localhost', false);
}

async function mainDps() {
  step('PKI: root -> intermediate -> devices "node-dps-grp-1", "node-dps-grp-2"; self-signed ' +
       '"node-dps-ss-1", "node-dps-crud-1", "node-dps-none", "node-dps-linked-1"');
  fs.mkdirSync(pki);
  const p = (name) => path.join(pki, name);
  azkit('pki', 'root', '--cn', 'Node DPS Root', '--out', p('root'));
  azkit('pki', 'intermediate', '--ca', p('root'), '--cn', 'Node DPS Intermediate', '--out', p('inter'));
  for (const id of ['node-dps-grp-1', 'node-dps-grp-2']) azkit('pki', 'device', id, '--ca', p('inter'), '--out', p(id));
  for (const id of ['node-dps-ss-1', 'node-dps-crud-1', 'node-dps-none', 'node-dps-linked-1',
                    'node-dps-form-1', 'node-dps-form-2', 'node-dps-form-3', 'node-dps-custom-1']) {
    azkit('pki', 'self-signed', id, '--out', p(id));
  }
  // A second root whose device registers through a group given as base64(DER).
  azkit('pki', 'root', '--cn', 'Node DPS Root 2', '--out', p('root2'));
  azkit('pki', 'device', 'node-dps-form-grp', '--ca', p('root2'), '--out', p('node-dps-form-grp'));

  // https custom-allocation webhooks: a CA the hub trusts (--dps-webhook-ca) and its server
  // certificate for 127.0.0.1; one for another name; one self-signed that nothing trusts.
  webhookCerts(p);

  step(`start azkit-hub serve --service-port ${opts.servicePort} --mqtt-port 0 --linked-hub ${LINKED_HUB}`);
  const ready = await startHub(['--linked-hub', LINKED_HUB, '--dps-webhook-timeout', '2',
                                '--dps-webhook-ca', p('webhook-ca.cert.pem')]);
  step(`hub ready: ${JSON.stringify({ mqtt_port: ready.mqtt_port, service_port: ready.service_port, hostname: ready.hostname, hubs: ready.hubs, id_scope: ready.id_scope, dps_host: ready.dps_host })}`);
  assert.strictEqual(String(ready.service_port), opts.servicePort);
  assert.match(String(ready.id_scope), /^0ne[0-9A-Fa-f]{8}$/, 'id_scope in the ready file');
  assert.ok(ready.dps_host, 'dps_host in the ready file');
  assert.deepStrictEqual(ready.hubs, [ready.hostname, LINKED_HUB],
                         'the ready file\'s "hubs": the primary, then the linked hub');
  assert.match(ready.connection_string, /SharedAccessKeyName=iothubowner;/);
  // The provisioning service SDK with DPS's own policy name (the hub signs it with the same key).
  const dpsConnectionString = ready.connection_string.replace('SharedAccessKeyName=iothubowner;',
                                                             'SharedAccessKeyName=provisioningserviceowner;');
  const common = { hub: opts.hub, readyFile, mqttPort: ready.mqtt_port, idScope: ready.id_scope,
                   dpsHost: ready.dps_host, serviceConnectionString: ready.connection_string,
                   dpsConnectionString, hubs: ready.hubs, linkedHub: LINKED_HUB, pki };
  const dps = (name, cfg) => scenario(name, { ...common, ...cfg }, ready, 'dps-scenarios.js');

  await dps('service', { deviceId: 'node-dps-crud-1' });
  await dps('register', { deviceId: 'node-dps-ss-1' });
  await dps('group', { deviceId: 'node-dps-grp-1' });
  await dps('negative', { deviceId: 'node-dps-none' });
  await dps('linked', { deviceId: 'node-dps-linked-1' });
  await dps('certforms', {});
  await dps('custom', { deviceId: 'node-dps-custom-1' });
  await dps('symkey', { deviceId: 'node-dps-sym-1' });

  step('stop the hub (SIGTERM)');
  const st = await stopHub();
  assert.deepStrictEqual(st, { code: 0, sig: null }, `azkit-hub did not stop cleanly: ${JSON.stringify(st)}`);
}

// MQTT over WebSockets (ws-scenarios.js): the SDKs' MqttWs transports reach
// wss://localhost:443/$iothub/websocket, the service API's port.
async function mainWs() {
  step('PKI: self-signed "node-ws-x509" (a hub device) and "node-ws-dps-x509" (a DPS enrollment)');
  fs.mkdirSync(pki);
  const p = (name) => path.join(pki, name);
  for (const id of ['node-ws-x509', 'node-ws-dps-x509', 'node-ws-amqp', 'node-ws-eh']) azkit('pki', 'self-signed', id, '--out', p(id));
  step(`start azkit-hub serve --service-port ${opts.servicePort} --mqtt-port 0 --amqp-port 0`);
  const ready = await startHub(['--amqp-port', '0', '--amqp-idle-timeout', '4']);
  assert.strictEqual(String(ready.service_port), opts.servicePort);
  admin('device', 'add', 'node-ws-x509', '--cert', p('node-ws-x509.cert.pem'));
  admin('device', 'add', 'node-ws-amqp', '--cert', p('node-ws-amqp.cert.pem'));
  admin('device', 'add', 'node-ws-eh', '--cert', p('node-ws-eh.cert.pem'));
  const dpsConnectionString = ready.connection_string.replace('SharedAccessKeyName=iothubowner;',
                                                             'SharedAccessKeyName=provisioningserviceowner;');
  const common = { hub: opts.hub, readyFile, idScope: ready.id_scope,
                   serviceConnectionString: ready.connection_string, dpsConnectionString };
  const ws = (name, cfg) => scenario(name, { ...common, ...cfg }, ready, 'ws-scenarios.js');
  await ws('sas', {});
  await ws('x509', { deviceId: 'node-ws-x509', cert: p('node-ws-x509.cert.pem'), key: p('node-ws-x509.key.pem') });
  await ws('dps', { dpsCert: p('node-ws-dps-x509.cert.pem'), dpsKey: p('node-ws-dps-x509.key.pem') });
  // AMQP over WebSockets on the same path (subprotocol AMQPWSB10): azure-iothub's AmqpWs.
  const amqpWs = (name, cfg) => scenario(name, { ...common, mqttPort: ready.mqtt_port, amqpIdleTimeout: 4, ...cfg }, ready,
                                         'amqp-scenarios.js');
  await amqpWs('c2d-ws', { deviceId: 'node-ws-amqp', cert: p('node-ws-amqp.cert.pem'), key: p('node-ws-amqp.key.pem') });
  await amqpWs('ws-refusals', {});
  // The Event Hubs SDK over WebSockets: /$servicebus/websocket on the same port.
  await scenario('eh-ws', { ...common, mqttPort: ready.mqtt_port, hubLog,
                            ehConnectionString: ready.eventhubs_connection_string,
                            devices: [{ id: 'node-ws-eh', cert: p('node-ws-eh.cert.pem'), key: p('node-ws-eh.key.pem') }] },
                 ready, 'eh-scenarios.js');

  step('stop the hub (SIGTERM)');
  const st = await stopHub();
  assert.deepStrictEqual(st, { code: 0, sig: null }, `azkit-hub did not stop cleanly: ${JSON.stringify(st)}`);
  // The devices came in over WebSockets, not over the MQTT port.
  const log = fs.readFileSync(hubLog, 'utf8');
  for (const id of ['node-ws-sas-1', 'node-ws-x509', 'node-ws-dps-x509', 'node-ws-dps-sym', 'node-ws-dps-member']) {
    assert.match(log, new RegExp(`conn [^ ]+ \\(wss\\) (device|dps registration) '${id}': connected`),
                 `${id} connected over WebSockets (hub log)`);
  }
  // The service SDK's AmqpWs came in over WebSockets too, not over the AMQP port.
  assert.match(log, /AMQP [^ ]+ \(wss\): accepted \(AMQP over WebSockets\)/, 'AmqpWs over WebSockets (hub log)');
  // ... and the Event Hubs SDK on /$servicebus/websocket (its receivers attached over wss).
  assert.match(log, /AMQP [^ ]+ \(wss\): Event Hubs receiver on partition/, 'Event Hubs over WebSockets (hub log)');
  assert.match(log, /subprotocol must be 'mqtt' or 'AMQPWSB10' \(Sec-WebSocket-Protocol\) \(HTTP 400\)/,
               'the bad subprotocols refused (hub log)');
  assert.match(log, /conn [^ ]+ \(wss\) device 'node-ws-sas-1': refused \(CONNACK 5\): sas: bad signature/,
               'the wrong key over WebSockets: CONNACK 5 (hub log)');
  const sasConnects = log.match(/conn [^ ]+ \(wss\) device 'node-ws-sas-1': connected/g) || [];
  assert.ok(sasConnects.length >= 2, `node-ws-sas-1 reconnected over WebSockets with a renewed token (${sasConnects.length} connections)`);
}

function dumpLog() {
  try {
    const text = fs.readFileSync(hubLog, 'utf8');
    console.error(`----- azkit-hub log (${hubLog}) -----\n${text}----- end of azkit-hub log -----`);
  } catch (e) {
    console.error(`(no hub log: ${e.message})`);
  }
}

main().then(() => {
  step('PASS');
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}, async (err) => {
  console.error(`[run-hub] FAIL: ${err && err.stack || err}`);
  await stopHub().catch(() => {});
  dumpLog();
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  else console.error(`[run-hub] kept ${dir}`);
  process.exit(1);
});
// Never leave a hub holding port 443 behind: give up (and stop it) well before ctest's TIMEOUT
// (180 s), and on SIGTERM/SIGINT.
const watchdog = setTimeout(async () => {
  console.error('[run-hub] FAIL: watchdog: the test took more than 150 s');
  if (hub && !hubExited) hub.kill('SIGKILL');
  dumpLog();
  process.exit(1);
}, 150000);
watchdog.unref();
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { if (hub && !hubExited) hub.kill('SIGKILL'); process.exit(1); });
}

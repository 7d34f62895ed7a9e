// What the kill -9 counting tests share (eh-kill9.js, c2d-kill9.js): their arguments, a scratch
// directory kept on failure, azkit-hub started and restarted on the same ports and data
// directory, SIGKILL, one device registered and provisioned for `azkit run`, line readers and
// waits bounded by a timeout that names what did not arrive.
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A progress printer: "[name +12.3s] message".
function stepper(name) {
  const t0 = Date.now();
  return (msg) => console.log(`[${name} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

// --hub PATH --azkit PATH [--count N] [--kills K]; exits 2 on a usage error.
function parseArgs(name, argv, defaults) {
  const o = { ...defaults };
  const usage = `usage: node ${name}.js --hub AZKIT_HUB --azkit AZKIT [--count N] [--kills K]`;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--hub') o.hub = path.resolve(argv[++i]);
    else if (argv[i] === '--azkit') o.azkit = path.resolve(argv[++i]);
    else if (argv[i] === '--count') o.count = Number(argv[++i]);
    else if (argv[i] === '--kills') o.kills = Number(argv[++i]);
    else { console.error(usage); process.exit(2); }
  }
  if (!o.hub || !o.azkit) { console.error(`${name}: --hub and --azkit are required`); process.exit(2); }
  return o;
}

const lines = (child, onLine) => readline.createInterface({ input: child.stdout }).on('line', onLine);

async function until(what, ms, cond) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout (${ms} ms): ${what}`);
    await sleep(50);
  }
}

// One test's hub: `portArgs(ports)` gives the listener options (ports null: any free port).
class KilledHub {
  constructor(name, opts, portArgs) {
    this.opts = opts;
    this.portArgs = portArgs;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `azkit-${name}-`));
    this.readyFile = path.join(this.dir, 'ready.json');
    this.log = path.join(this.dir, 'hub.log');
    this.proc = null;
    this.others = []; // processes to SIGKILL at cleanup: () => child or null
  }

  run(bin, args) { return execFileSync(bin, args, { encoding: 'utf8', timeout: 30000 }); }

  async start(ports) {
    try { fs.unlinkSync(this.readyFile); } catch (e) { /* first start */ }
    const log = fs.openSync(this.log, 'a');
    this.proc = spawn(this.opts.hub, ['serve', '--data', path.join(this.dir, 'data'),
                                      '--service-port', '0', ...this.portArgs(ports),
                                      '--ready-file', this.readyFile, '--log-level', 'info'],
                      { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    for (let i = 0; i < 300; i++) {
      if (this.proc.exitCode !== null) throw new Error(`azkit-hub exited before it was ready (${this.proc.exitCode})`);
      try { return JSON.parse(fs.readFileSync(this.readyFile, 'utf8')); } catch (e) { await sleep(100); }
    }
    throw new Error('azkit-hub not ready after 30 s');
  }

  kill9() {
    return new Promise((resolve) => { this.proc.once('exit', resolve); this.proc.kill('SIGKILL'); });
  }

  // A self-signed device `id` registered at the hub and provisioned into tag 10 of a new
  // credential store; returns the store's path.
  provision(id, ready) {
    const pki = path.join(this.dir, 'pki');
    fs.mkdirSync(pki);
    const cert = path.join(pki, `${id}.cert.pem`);
    this.run(this.opts.azkit, ['pki', 'self-signed', id, '--out', path.join(pki, id)]);
    this.run(this.opts.hub, ['device', 'add', id, '--cert', cert, '--ready-file', this.readyFile]);
    const store = path.join(this.dir, 'store');
    this.run(this.opts.azkit, ['--store', store, 'cred', 'provision', '--sec-tag', '10', '--cert', cert,
                               '--key', path.join(pki, `${id}.key.pem`), '--ca', ready.ca]);
    return store;
  }

  // Kills what is still running; keeps the directory (and prints the hub's log) on failure.
  cleanup() {
    for (const p of [...this.others.map((f) => f()), this.proc])
      if (p && p.exitCode === null && !p.killed) p.kill('SIGKILL');
    if (process.exitCode || process.env.AZKIT_KEEP) {
      console.error(`(kept ${this.dir}; hub log follows)`);
      try { console.error(fs.readFileSync(this.log, 'utf8').split('\n').slice(-60).join('\n')); } catch (e) { /* none */ }
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // Ends a passing run: the hub stopped gracefully, PASS printed, the directory removed.
  async pass() {
    this.proc.kill('SIGTERM');
    await sleep(200);
    console.log('PASS');
    this.cleanup();
    process.exit(0);
  }
}

// Runs main(); on failure prints it, cleans up and exits 1.
function runMain(main, getHub) {
  main().catch((e) => {
    console.error(`FAIL: ${e.stack || e}`);
    process.exitCode = 1;
    const h = getHub();
    if (h) h.cleanup();
    process.exit(1);
  });
}

module.exports = { sleep, stepper, parseArgs, lines, until, KilledHub, runMain };

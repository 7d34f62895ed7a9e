// Helpers shared by the scenario scripts run-hub.js starts (sdk-, dps- and amqp-scenarios.js).
'use strict';

const { execFileSync } = require('child_process');

// The azkit-hub admin command line against the hub of cfg ({hub, readyFile}), output as JSON.
function adminOf(cfg) {
  return (...args) => {
    try {
      return JSON.parse(execFileSync(cfg.hub, [...args, '--ready-file', cfg.readyFile, '--json'],
                                     { encoding: 'utf8', timeout: 20000 }));
    } catch (e) {
      throw new Error(`azkit-hub ${args.join(' ')} failed (status ${e.status}): ${e.stdout || ''}${e.stderr || ''}`);
    }
  };
}

// promise, or a rejection naming `what` after ms.
function withTimeout(what, ms, promise) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timeout (${ms} ms): ${what}`)), ms); }),
  ]);
}

module.exports = { adminOf, withTimeout };

// Helpers shared by the scenario scripts run-hub.js starts (sdk-, dps-, ws-, eh- and amqp-scenarios.js).
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// invokeDeviceMethod right after onDeviceMethod may race with the SDK's fire-and-forget
// SUBSCRIBE to $iothub/methods/POST/#: the hub answers 404 DeviceNotOnline then, as Azure does.
// azure-iothub turns a 404 other than DeviceNotFound/IotHubNotFound into a plain
// Error('Not found'), so DeviceNotOnline is also recognised by the body's error code.
async function invokeWhenSubscribed(service, id, params) {
  for (let i = 0; ; i++) {
    try {
      return await service.invokeDeviceMethod(id, params);
    } catch (err) {
      const notOnline = err.constructor.name === 'DeviceNotOnlineError' ||
                        /ErrorCode:DeviceNotOnline;/.test(String(err.responseBody || ''));
      if (!notOnline || i >= 20) throw err;
      await sleep(100);
    }
  }
}

module.exports = { adminOf, withTimeout, invokeWhenSubscribed };

#!/usr/bin/env node
// A back-end in a few lines, for ./scripts/demo: reads the devices' telemetry from azkit-hub's
// Event Hubs-compatible endpoint with @azure/event-hubs, from the earliest position, until
// COUNT events arrived, and prints them.
//   node eh-read.js '<Event Hubs connection string>' COUNT
'use strict';

const { EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');

const [connectionString, count] = [process.argv[2], Number(process.argv[3] || 1)];
const client = new EventHubConsumerClient('$Default', connectionString);
let seen = 0;
const sub = client.subscribe({
  processEvents: async (events, ctx) => {
    for (const e of events) {
      const sp = e.systemProperties || {};
      console.log(`partition ${ctx.partitionId} #${e.sequenceNumber} ${e.enqueuedTimeUtc.toISOString()} ` +
                  `from ${sp['iothub-connection-device-id']}: ${JSON.stringify(e.body)}`);
      if (++seen >= count) {
        await sub.close();
        await client.close();
      }
    }
  },
  processError: async (err) => { console.error(`error: ${err.message}`); process.exitCode = 1; },
}, { startPosition: earliestEventPosition });

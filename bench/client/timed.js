#!/usr/bin/env node
// Runs a command and reports, as one JSON line: its wall time, its peak resident memory (VmHWM
// from /proc, polled every 5 ms), its CPU time (user+sys from /proc at the last poll), and the
// time each JSON line it printed on stdout arrived (ms from the spawn), with the line (per-message
// events left out).
//   node timed.js CMD [ARGS...]
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const { performance } = require('perf_hooks');

const t0 = performance.now();
const child = spawn(process.argv[2], process.argv.slice(3), { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = [];
let buf = '';
let hwm = 0, cpuTicks = 0;
const tick = 100; // USER_HZ on Linux
child.stdout.on('data', (d) => {
  const now = performance.now() - t0;
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    // Phases only: per-message events would make the record huge, and parsing them would
    // spend this machine's CPU (shared with the client and the hub) on the harness.
    if (line.startsWith('{"event":"accepted"') || line.startsWith('{"event":"acked"')) continue;
    let j = null;
    try { j = JSON.parse(line); } catch (e) { /* not JSON */ }
    if (j && !['accepted', 'acked', 'twin', 'desired'].includes(j.event))
      lines.push({ t_ms: Math.round(now * 10) / 10, json: j });
  }
});
const poll = setInterval(() => {
  try {
    const st = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(st);
    if (m) hwm = Math.max(hwm, Number(m[1]));
    const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    cpuTicks = Number(f[11]) + Number(f[12]);
  } catch (e) { /* gone */ }
}, 5);
child.on('exit', (code, sig) => {
  clearInterval(poll);
  const wall = performance.now() - t0;
  // Written out before exiting: process.exit() right after console.log() can cut a pipe short.
  process.stdout.write(JSON.stringify({ code, sig, wall_ms: Math.round(wall * 10) / 10,
                                        peak_rss_kb: hwm, cpu_ms: cpuTicks * 1000 / tick, lines }) + '\n',
                       () => process.exit(0));
});

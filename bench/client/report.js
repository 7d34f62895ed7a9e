#!/usr/bin/env node
// Medians of bench/client/run's rounds, side by side, with the ratios the targets use.
'use strict';
const fs = require('fs');
const [file, messages] = [process.argv[2], Number(process.argv[3])];
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const at = (r, ev) => { const l = r.lines.find((x) => x.json.event === ev); return l ? l.t_ms : NaN; };

// One round's figures for one side and phase.
function figures(side, phase, r) {
  if (r.code !== 0) throw new Error(`${side} ${phase}: exit ${r.code}: ${JSON.stringify(r.lines.slice(-3))}`);
  const f = { wall: r.wall_ms, rss: r.peak_rss_kb, cpu: r.cpu_ms };
  if (side === 'azkit') {
    f.registered = at(r, 'registered');
    f.ready = at(r, 'connected');
    if (phase.startsWith('stream')) f.rate = messages / ((at(r, 'done') - f.ready) / 1000);
  } else {
    const j = r.lines[r.lines.length - 1].json;
    f.registered = j.registered_ms;
    f.ready = j.ready_ms;
    if (phase.startsWith('stream')) f.rate = j.msgs_per_s;
  }
  return f;
}
const by = {};
for (const row of rows) {
  const k = `${row.side} ${row.phase}`;
  (by[k] = by[k] || []).push(figures(row.side, row.phase, row.r));
}
const med = (side, phase, key) => median((by[`${side} ${phase}`] || []).map((f) => f[key]).filter((v) => !Number.isNaN(v) && v !== undefined));
const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const n = (by['azkit cold'] || []).length;
console.log(`bench/client: medians of ${n} interleaved rounds; times in ms from process start`);
console.log('phase            measure            azkit        Node SDK    ratio');
const line = (phase, label, key, better, d = 1) => {
  const a = med('azkit', phase, key), b = med('node', phase, key);
  const ratio = better === 'lower' ? b / a : a / b;
  console.log(`${phase.padEnd(16)} ${label.padEnd(18)} ${fmt(a, d).padStart(9)} ${fmt(b, d).padStart(12)}   ${fmt(ratio, 2)}x ${better === 'lower' ? '(Node / azkit)' : '(azkit / Node)'}`);
};
line('cold', 'registered (DPS)', 'registered', 'lower');
line('cold', 'READY', 'ready', 'lower');
line('cold', 'process wall', 'wall', 'lower');
line('warm', 'READY', 'ready', 'lower');
line('warm', 'process wall', 'wall', 'lower');
for (const w of [1, 16]) {
  line(`stream${w}`, `msgs/s (window ${w})`, 'rate', 'higher', 0);
  line(`stream${w}`, 'process CPU ms', 'cpu', 'lower', 0);
}
line('stream16', 'peak RSS KiB', 'rss', 'lower', 0);
line('cold', 'peak RSS KiB', 'rss', 'lower', 0);
// The rounds themselves for the rates: a 10,000-message window-16 run of azkit lasts ~0.1 s, so
// one round can move the median; and past the hub's retention (100,000 messages, reached in
// the third round) every stored message also pays for deleting the oldest.
for (const w of [1, 16]) {
  const rates = (side) => (by[`${side} stream${w}`] || []).map((f) => fmt(f.rate, 0)).join(' ');
  console.log(`stream${w} rounds, msgs/s: azkit ${rates('azkit')}; Node ${rates('node')}`);
}

#!/usr/bin/env node
// Interleaved A/B timing of two shell commands: runs them alternately (A B, then B A, ...) so both
// see the same machine drift, and reports medians and the median of the per-pair ratios A/B.
//   node bench/pairs.mjs --runs 10 [--warmup 1] [--prepare 'sh cmd'] --title T 'cmd A' 'cmd B' [NAME_A NAME_B]
// Prints one markdown table row: | T | median A | median B | median A/B | min A/B | max A/B |
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const runs = Number(opt('--runs', '10'));
const warmup = Number(opt('--warmup', '1'));
const prepare = opt('--prepare', undefined);
const title = opt('--title', 'benchmark');
const [a, b] = args;
if (!a || !b) {
  console.error('usage: pairs.mjs [--runs N] [--warmup N] [--prepare CMD] [--title T] CMD_A CMD_B');
  process.exit(2);
}

function time(cmd) {
  if (prepare) spawnSync('sh', ['-c', prepare], { stdio: 'ignore' });
  const t = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', cmd], { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`command failed (${r.status}): ${cmd}`);
  return ms;
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

for (let i = 0; i < warmup; i++) {
  time(a);
  time(b);
}
const ta = [];
const tb = [];
for (let i = 0; i < runs; i++) {
  if (i % 2 === 0) {
    ta.push(time(a));
    tb.push(time(b));
  } else {
    tb.push(time(b));
    ta.push(time(a));
  }
}
const ratios = ta.map((x, i) => x / tb[i]);
const f = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(0)} ms`);
console.log(`| ${title} | ${f(median(ta))} | ${f(median(tb))} | **${median(ratios).toFixed(2)}** | ${Math.min(...ratios).toFixed(2)} | ${Math.max(...ratios).toFixed(2)} |`);

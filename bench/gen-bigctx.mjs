#!/usr/bin/env node
// Generates the big-context workload of issue 14: DIR/src with 1,000 files of 1 MiB (src/big/) and
// 100,000 small files (src/small/dNNN/, 1,000 per directory, 1-8 KiB), ~1.4 GB, plus the Dockerfile
//   FROM busybox / COPY src /app/src / RUN ls /app/src | wc -l
// Content is base64 of a seeded PRNG (compresses like text, ~75 %), the same on every machine.
//   node bench/gen-bigctx.mjs [DIR]     (default /var/tmp/stagecraft-bench-bigctx; kept if complete)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '/var/tmp/stagecraft-bench-bigctx';
const done = join(dir, '.complete');
if (existsSync(done)) {
  console.log(dir);
  process.exit(0);
}
let counter = 0;
/** deterministic bytes: sha256 counter mode, base64 text with a newline every 76 chars */
function text(n) {
  const raw = Buffer.allocUnsafe(Math.ceil((n * 3) / 4) + 32);
  for (let off = 0; off < raw.length; off += 32) createHash('sha256').update(`bigctx-${counter++}`).digest().copy(raw, off);
  const b64 = raw.toString('base64');
  const out = Buffer.allocUnsafe(n);
  for (let i = 0, j = 0; i < n; i++) out[i] = (i + 1) % 77 === 0 ? 10 : b64.charCodeAt(j++);
  return out;
}
mkdirSync(join(dir, 'src/big'), { recursive: true });
writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY src /app/src\nRUN ls /app/src | wc -l\n');
for (let i = 0; i < 1000; i++) {
  // a header line makes each file unique; the rest is fresh PRNG text
  const head = Buffer.from(`file ${i}\n`);
  writeFileSync(join(dir, 'src/big', `f${String(i).padStart(4, '0')}.dat`), Buffer.concat([head, text((1 << 20) - head.length)]));
}
for (let d = 0; d < 100; d++) {
  const sub = join(dir, 'src/small', `d${String(d).padStart(3, '0')}`);
  mkdirSync(sub, { recursive: true });
  for (let f = 0; f < 1000; f++) writeFileSync(join(sub, `f${String(f).padStart(4, '0')}.txt`), text(1024 + ((d * 1000 + f) * 2654435761 % 7168)));
}
writeFileSync(done, '');
console.log(dir);

#!/usr/bin/env node
// Writes the rootfs of the analyze benchmark's image: 50,000 files, 1 GB (10^9 bytes) in all, in
// 500 directories three levels deep — 49,900 files of 1-30 kB and 100 of 2.3 MB — each half text
// (compresses like source code) and half random bytes (like binaries), deterministic (seeded).
//   node bench/gen-analyze-image.mjs DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const dir = process.argv[2];
if (!dir) throw new Error('usage: gen-analyze-image.mjs DIR');
let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pool = randomBytes(8 << 20);
const words = 'import export const function return value layer stage image size file path the of and'.split(' ');
function content(size) {
  const b = Buffer.alloc(size);
  const half = size >> 1;
  let o = 0;
  while (o < half) {
    const w = `${words[Math.floor(rnd() * words.length)]}${rnd() < 0.2 ? Math.floor(rnd() * 1000) : ''}${rnd() < 0.1 ? '\n' : ' '}`;
    o += b.write(w, o);
  }
  const start = Math.floor(rnd() * (pool.length - size));
  pool.copy(b, half, start, start + (size - half));
  return b;
}
const TOTAL = 1e9;
const BIG = 100;
const SMALL = 49_900;
let written = 0;
const dirs = [];
for (let i = 0; i < 500; i++) {
  const d = join(dir, `usr${i % 5}`, `lib${Math.floor(i / 5) % 10}`, `pkg${i}`);
  mkdirSync(d, { recursive: true });
  dirs.push(d);
}
for (let i = 0; i < SMALL; i++) {
  const size = 1000 + Math.floor(rnd() * 29_000);
  writeFileSync(join(dirs[i % dirs.length], `f${i}.txt`), content(size));
  written += size;
}
const big = Math.floor((TOTAL - written) / BIG);
for (let i = 0; i < BIG; i++) {
  const size = i === BIG - 1 ? TOTAL - written : big;
  writeFileSync(join(dirs[(i * 7) % dirs.length], `blob${i}.bin`), content(size));
  written += size;
}
console.log(`${SMALL + BIG} files, ${written} bytes in ${dir}`);

/**
 * Layer throughput, in-process (no Node start-up in any stagecraft row):
 *   npx tsx bench/layers.ts [--runs N] [--only extract,pack,compress] [--cold] [--layer FILE.tar] [--work DIR]
 *
 * - extract: a large layer unpacked into an empty directory by stagecraft's extractor (applyLayer,
 *   whiteouts 'overlay' as for a snapshot) vs GNU `tar -xf` of the same file (as root both restore
 *   owners, modes and mtimes; tar with --xattrs). From the plain tar, from its gzip (stagecraft's
 *   own multi-member gzip; GNU tar runs `gzip -d` as its child) and from its zstd (`zstd -d`).
 *   The two tools run in turn (A B A B ...) and the ratio is taken pair by pair.
 * - pack: `packDir` of the unpacked layer drained (the tar stream writeLayer compresses) vs GNU
 *   `tar -cf -` into a pipe; and the whole writeLayer (parallel gzip + sha256 + blob) into a scratch store.
 * - compress: the first 64 MiB of the layer through gzipParallel with 1 worker and the default
 *   (2 pieces in flight per core), and zstdCompress with workers 1 and 2.
 *
 * The large layer: --layer FILE, else the Debian+Node base rootfs that scripts/make-node-base.sh
 * caches (/var/tmp/stagecraft-cache/node-base-*.tar), else its debootstrap tree (bookworm-minbase.tar),
 * else a generated tree of 30,000 small files and 24 big ones (cached there too).
 *
 * Page cache: WARM by default. The input file is read once before timing and stays cached; what a
 * run writes goes to the page cache (neither tool fsyncs), and `sync` runs (untimed) before every
 * run so no earlier run's writeback overlaps it. --cold also drops the page cache
 * (`echo 3 > /proc/sys/vm/drop_caches`, root) before every run.
 *
 * Every run extracts into a NEW directory and the trees are removed only after the section: on an
 * ext4 without a journal (this VM's root) the inode allocator skips inodes freed in the last 30 s,
 * one buffer lookup each (`recently_deleted`), so creating files right after an `rm -rf` of a big
 * tree costs ~0.5 ms per inode instead of ~20 us, for any tool. Deletions by other processes on the
 * machine still add noise to both sides: read the pairwise ratio. `--work /dev/shm/sc-bench` (tmpfs:
 * no such effect, creating a file costs microseconds; each tree is removed after its run) shows what
 * each tool costs apart from the disk's file system. Scratch files live in --work DIR (default
 * /var/tmp/stagecraft-bench-layers).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readSync, closeSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Store } from '../src/store/index.js';
import { applyLayer } from '../src/image/layer-apply.js';
import { packDir, writeLayer } from '../src/image/layer-write.js';
import { gzipParallel, zstdCompress } from '../src/image/compress.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt('--runs') ?? 5);
const ONLY = new Set((opt('--only') ?? 'extract,pack,compress').split(','));
const COLD = args.includes('--cold');
const CACHE = process.env.STAGECRAFT_CACHE ?? '/var/tmp/stagecraft-cache';
const WORK = opt('--work') ?? '/var/tmp/stagecraft-bench-layers';
const MiB = 1 << 20;

function sh(cmd: string, argv: string[]): void {
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr?.toString().trim() || `exit ${r.status}`}`);
}

/** untimed, before every run: no dirty pages left from the last run; with --cold, no cached pages */
function settle(): void {
  sh('sync', []);
  if (COLD) writeFileSync('/proc/sys/vm/drop_caches', '3');
}

function generatedLayer(): string {
  const tarFile = join(CACHE, 'bench-generated.tar');
  if (existsSync(tarFile)) return tarFile;
  const dir = join(WORK, 'generated');
  rmSync(dir, { recursive: true, force: true });
  let seed = 1;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const words = Array.from({ length: 2000 }, (_, i) => `w${(i * 2654435761) % 1e6}`);
  const text = (n: number): Buffer => {
    const parts: string[] = [];
    for (let len = 0; len < n; ) {
      const w = words[Math.floor(rnd() * words.length)] as string;
      parts.push(w);
      len += w.length + 1;
    }
    return Buffer.from(parts.join(' ')).subarray(0, n);
  };
  for (let i = 0; i < 30_000; i++) {
    const d = join(dir, `d${i % 40}`, `s${i % 700}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), text(100 + Math.floor(rnd() * 8000)));
  }
  for (let i = 0; i < 24; i++) writeFileSync(join(dir, `big${i}`), text(4 * MiB));
  mkdirSync(CACHE, { recursive: true });
  sh('tar', ['--numeric-owner', '-C', dir, '-cf', `${tarFile}.tmp`, '.']);
  renameSync(`${tarFile}.tmp`, tarFile);
  rmSync(dir, { recursive: true, force: true });
  return tarFile;
}

function pickLayer(): { file: string; what: string } {
  const given = opt('--layer');
  if (given) return { file: given, what: given };
  const cached = existsSync(CACHE) ? readdirSync(CACHE).filter((f) => /^node-base-.*\.tar$/.test(f)).sort() : [];
  if (cached.length) return { file: join(CACHE, cached[cached.length - 1] as string), what: 'Debian bookworm minbase + Node/npm (scripts/make-node-base.sh)' };
  if (existsSync(join(CACHE, 'bookworm-minbase.tar'))) return { file: join(CACHE, 'bookworm-minbase.tar'), what: 'Debian bookworm minbase (debootstrap)' };
  return { file: generatedLayer(), what: 'generated: 30,000 small text files + 24 × 4 MiB' };
}

/** stagecraft's own gzip / zstd of the layer (gzip: multi-member, as the store keeps it), cached */
async function compressedOf(tarFile: string, kind: 'gzip' | 'zstd'): Promise<string> {
  const out = join(WORK, `${tarFile.replace(/[^A-Za-z0-9.-]/g, '_')}.${kind === 'gzip' ? 'gz' : 'zst'}`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(tarFile).mtimeMs) return out;
  mkdirSync(WORK, { recursive: true });
  const src = createReadStream(tarFile, { highWaterMark: MiB });
  await pipeline(Readable.from(kind === 'gzip' ? gzipParallel(src) : zstdCompress(src)), createWriteStream(`${out}.tmp`));
  renameSync(`${out}.tmp`, out);
  return out;
}

function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.allocUnsafe(Math.min(n, statSync(file).size));
    let off = 0;
    while (off < b.length) off += readSync(fd, b, off, b.length - off, off);
    return b;
  } finally {
    closeSync(fd);
  }
}

function warm(file: string): void {
  const fd = openSync(file, 'r');
  const b = Buffer.allocUnsafe(4 * MiB);
  try {
    while (readSync(fd, b, 0, b.length, null) > 0) {
      /* read into the page cache */
    }
  } finally {
    closeSync(fd);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const sec = (ms: number): string => (ms / 1000).toFixed(2);

async function timed(fn: () => Promise<unknown> | unknown, before?: () => void): Promise<number> {
  before?.();
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const out = (s = ''): void => void process.stdout.write(`${s}\n`);

/** A and B in turn, one warm-up pair, RUNS timed pairs; a table row with the pairwise ratio */
async function pair(label: string, a: { name: string; run: () => Promise<unknown> | unknown }, b: { name: string; run: () => Promise<unknown> | unknown }, before: () => void): Promise<void> {
  const ta: number[] = [];
  const tb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const x = await timed(a.run, before);
    const y = await timed(b.run, before);
    if (i === 0) continue;
    ta.push(x);
    tb.push(y);
    ratios.push(x / y);
  }
  out(`| ${label} | ${a.name} | ${sec(Math.min(...ta))} | ${sec(median(ta))} | ${b.name} | ${sec(Math.min(...tb))} | ${sec(median(tb))} | **${median(ratios).toFixed(2)}** (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`);
}

async function single(label: string, bytes: number, fn: () => Promise<unknown>, note = ''): Promise<void> {
  const ts: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t = await timed(fn, () => sh('sync', []));
    if (i > 0) ts.push(t);
  }
  out(`| ${label} | ${sec(Math.min(...ts))} | ${sec(median(ts))} | ${(bytes / MiB / (median(ts) / 1000)).toFixed(0)} |${note ? ` ${note}` : ''}`);
}

async function drain(g: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of g) n += c.length;
  return n;
}

async function* chunks(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += MiB) yield b.subarray(i, i + MiB);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (ownership is restored by both tools)');
  const layer = pickLayer();
  const size = statSync(layer.file).size;
  const cached = (f: string): boolean => f.endsWith('.gz') || f.endsWith('.zst');
  if (existsSync(WORK) && readdirSync(WORK).some((f) => !cached(f))) {
    for (const f of readdirSync(WORK)) if (!cached(f)) rmSync(join(WORK, f), { recursive: true, force: true });
    process.stderr.write('removed the trees of an earlier run; waiting 31 s (see the note on recently freed inodes)\n');
    await new Promise((r) => setTimeout(r, 31_000));
  }
  // on tmpfs freed inodes cost nothing later, and the trees would fill the memory: remove each one
  mkdirSync(WORK, { recursive: true });
  const onTmpfs = spawnSync('stat', ['-f', '-c', '%T', WORK]).stdout?.toString().trim() === 'tmpfs';
  let n = 0;
  let target = '';
  const fresh = (): void => {
    if (onTmpfs && target) rmSync(target, { recursive: true, force: true });
    target = join(WORK, `x${n++}`);
    mkdirSync(target, { recursive: true });
    settle();
  };
  const removeTrees = (): void => {
    for (const f of readdirSync(WORK)) if (/^x\d+$/.test(f)) rmSync(join(WORK, f), { recursive: true, force: true });
  };
  out(`Layer: ${layer.what}, ${(size / MiB).toFixed(0)} MiB uncompressed (${layer.file}). ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`);
  out(`${RUNS} timed runs per row after one warm-up, ${COLD ? 'COLD page cache (dropped before every run)' : 'WARM page cache (input cached; sync before every run, untimed)'}; seconds.`);

  if (ONLY.has('extract')) {
    const gz = await compressedOf(layer.file, 'gzip');
    const zst = await compressedOf(layer.file, 'zstd');
    if (!COLD) for (const f of [layer.file, gz, zst]) warm(f);
    out();
    out(`Extraction into an empty directory (stagecraft's own compression of the layer: gzip ${(statSync(gz).size / MiB).toFixed(0)} MiB, zstd ${(statSync(zst).size / MiB).toFixed(0)} MiB):`);
    out();
    out('| input | A | A min | A median | B | B min | B median | A / B median (range) |');
    out('|---|---|---:|---:|---|---:|---:|---:|');
    const sc = (file: string) => ({ name: 'stagecraft applyLayer', run: () => applyLayer(createReadStream(file, { highWaterMark: MiB }), target, { whiteouts: 'overlay' }) });
    const gnu = (flags: string[], file: string) => ({ name: `\`tar ${flags.join(' ')}\``, run: () => sh('tar', ['--numeric-owner', '--xattrs', ...flags, file, '-C', target]) });
    await pair('plain tar', sc(layer.file), gnu(['-xf'], layer.file), fresh);
    await pair('gzip', sc(gz), gnu(['-xzf'], gz), fresh);
    await pair('zstd', sc(zst), gnu(['--zstd', '-xf'], zst), fresh);
    removeTrees();
  }

  if (ONLY.has('pack')) {
    const tree = join(WORK, 'tree');
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(tree, { recursive: true });
    sh('tar', ['--numeric-owner', '--xattrs', '-xf', layer.file, '-C', tree]);
    const storeRoot = join(WORK, 'store');
    rmSync(storeRoot, { recursive: true, force: true });
    const store = await Store.open(storeRoot);
    out();
    out('Tarring the unpacked layer (A: packDir drained, no compression; B: GNU tar into a pipe):');
    out();
    out('| input | A | A min | A median | B | B min | B median | A / B median (range) |');
    out('|---|---|---:|---:|---|---:|---:|---:|');
    await pair(
      'unpacked layer',
      { name: 'stagecraft packDir', run: () => drain(packDir(tree)) },
      { name: '`tar -cf - . \\| cat >/dev/null`', run: () => sh('sh', ['-c', `tar --numeric-owner --xattrs -C '${tree}' -cf - . | cat >/dev/null`]) },
      settle,
    );
    out();
    out('| writeLayer (tar + parallel gzip + sha256 + blob write) | min | median | MiB/s (tar bytes) |');
    out('|---|---:|---:|---:|');
    await single('unpacked layer → gzip blob in a scratch store', size, () => writeLayer(store, tree));
    await store.release();
    rmSync(tree, { recursive: true, force: true });
    rmSync(storeRoot, { recursive: true, force: true });
  }

  if (ONLY.has('compress')) {
    const data = readHead(layer.file, 64 * MiB);
    out();
    out(`Compression of one stream: the first ${(data.length / MiB).toFixed(0)} MiB of the layer tar, from memory, output drained:`);
    out();
    out('| compressor | min | median | MiB/s (median) |');
    out('|---|---:|---:|---:|');
    const cores = availableParallelism();
    await single('gzip level 6, `workers: 1` (one core)', data.length, () => drain(gzipParallel(chunks(data), { workers: 1 })));
    await single(`gzip level 6, default (${cores * 2} pieces in flight)`, data.length, () => drain(gzipParallel(chunks(data))));
    for (const w of [1, 2]) {
      await single(`zstd level 3, \`workers: ${w}\` (nbWorkers ${w <= 1 ? 0 : Math.max(1, w - 1)})`, data.length, () => drain(zstdCompress(chunks(data), { workers: w })));
    }
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

/**
 * Helpers for the build specs: write a context dir, run `stagecraft build`, and look at the result
 * — the image config, the manifest (with attribution annotations), each layer's tar entries, the
 * final file tree (layers applied in order, whiteouts honoured), and running a command in the
 * built image with the executor.
 */
import { mkdirSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import { Store, type ResolvedImage } from '../../src/store/index.js';
import { applyLayer, readTar, decompress, type ImageConfig, type ImageManifest } from '../../src/image/index.js';
import { mountOverlay } from '../../src/worker/snapshot/index.js';
import { runContainer } from '../../src/worker/exec/index.js';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { runCli, tmp, type CliResult } from './index.js';
import { runCliAs, userOf, userTmp } from './rootless.js';

/**
 * The build-cache specs' Dockerfile: two stages, RUNs that write timestamps (a step that runs
 * again makes another layer, so "same image ID" proves every step came from the cache).
 */
export const TIMESTAMPED_DOCKERFILE = `FROM busybox AS deps
RUN date +%s%N > /stamp-deps && echo deps > /deps.txt

FROM busybox
RUN date +%s%N > /stamp
COPY --from=deps /deps.txt /deps.txt
COPY src.txt /src.txt
RUN cat /src.txt > /derived.txt && date +%s%N >> /derived.txt
`;

/** Writes files (path → content; a trailing `/` makes a dir) under a new temp dir. */
export function context(files: Record<string, string>, prefix = 'sc-ctx-'): string {
  const dir = tmp(prefix);
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    const full = join(dir, p);
    if (p.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, c);
  }
}

/** `stagecraft build --progress plain ARGS CONTEXT` in store `root`; never throws. */
export function buildCli(root: string, ctx: string, args: string[] = [], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  return runCli(['build', '--progress', 'plain', ...args, ctx], { root, env: opts.env, input: opts.input, timeoutMs: 300_000 });
}

/** Like buildCli but throws with the output on failure. */
export async function buildOk(root: string, ctx: string, args: string[] = [], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const r = await buildCli(root, ctx, args, opts);
  if (r.code !== 0) throw new Error(`build failed (${r.code})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

export async function openImage(root: string, ref: string): Promise<{ store: Store; img: ResolvedImage }> {
  const store = await Store.open(root);
  const img = await store.resolveImage(ref);
  if (!img) throw new Error(`image ${ref} not found in ${root}`);
  return { store, img };
}

/**
 * Each layer's blob of `ref`, as a stream maker. A build keeps its layers only as snapshots (lazy
 * blobs); packing one from this process would see a rootless store's subordinate IDs (and miss
 * files it cannot read), so those are taken from a `save` run as the store's owner (the CLI enters
 * its user namespace) and read from the archive.
 */
export async function layerBlobs(root: string, ref: string): Promise<{ store: Store; img: ResolvedImage; blobs: Array<() => AsyncIterable<Buffer>> }> {
  const { store, img } = await openImage(root, ref);
  const digests = img.manifest.layers.map((l) => l.digest);
  if (digests.every((d) => store.hasBlob(d))) return { store, img, blobs: digests.map((d) => () => store.blobStream(d)) };
  const owner = statSync(root).uid;
  const self = process.getuid?.() ?? 0;
  const user = owner === self ? undefined : userOf(owner);
  const dir = user ? userTmp(user, 'sc-save-') : tmp('sc-save-');
  const file = join(dir, 'image.tar');
  const r = user ? await runCliAs(user, ['save', '-o', file, ref], { root }) : await runCli(['save', '-o', file, ref], { root });
  if (r.code !== 0) throw new Error(`save ${ref} failed (${r.code}): ${r.stderr}`);
  const saved = new Map<string, Buffer>();
  for await (const e of readTar(createReadStream(file))) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    const m = /^(?:\.\/)?blobs\/sha256\/([0-9a-f]{64})$/.exec(e.name);
    if (m) saved.set(`sha256:${m[1]}`, Buffer.concat(chunks));
  }
  return {
    store,
    img,
    blobs: digests.map((d) => {
      if (store.hasBlob(d)) return () => store.blobStream(d);
      const b = saved.get(d);
      if (!b) throw new Error(`layer ${d} of ${ref} is not in the saved archive`);
      return () => Readable.from([b]);
    }),
  };
}

export async function imageConfig(root: string, ref: string): Promise<ImageConfig> {
  return (await openImage(root, ref)).img.config;
}

/** The image ID (config digest) of `ref`. */
export async function imageId(root: string, ref: string): Promise<string> {
  return (await openImage(root, ref)).img.configDigest;
}

export async function imageManifest(root: string, ref: string): Promise<ImageManifest> {
  return (await openImage(root, ref)).img.manifest;
}

export interface Entry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  content?: Buffer;
}

/** The tar entries of every layer of the image, bottom→top (file contents included). */
export async function layerEntries(root: string, ref: string): Promise<Entry[][]> {
  const { blobs } = await layerBlobs(root, ref);
  const out: Entry[][] = [];
  for (const blob of blobs) {
    const entries: Entry[] = [];
    for await (const e of readTar(decompress(blob()))) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c);
      entries.push({
        path: e.name.replace(/^\.?\//, ''),
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        linkname: e.linkname,
        content: e.type === 'file' ? Buffer.concat(chunks) : undefined,
      });
    }
    out.push(entries);
  }
  return out;
}

/** Extracts the image's final file tree (whiteouts applied) into a new temp dir. */
export async function imageTree(root: string, ref: string): Promise<string> {
  const { blobs } = await layerBlobs(root, ref);
  const dir = tmp('sc-tree-');
  for (const blob of blobs) await applyLayer(blob(), dir, { whiteouts: 'apply' });
  return dir;
}

/** Runs `args` in a throwaway container of the image (overlay over its layers); returns output. */
export async function runInImage(
  root: string,
  ref: string,
  args?: string[],
  opts: { env?: string[]; cwd?: string; user?: string } = {},
): Promise<{ exitCode: number; output: string }> {
  const { store, img } = await openImage(root, ref);
  const lowers = await store.layerSnapshots(img);
  const work = mkdtempSync(join(store.dirs.tmp, 'test-run-'));
  const empty = join(work, 'empty');
  mkdirSync(empty);
  const m = await mountOverlay(lowers.length ? lowers : [empty], join(work, 'upper'), { scratchDir: join(work, 'scratch') });
  let output = '';
  try {
    const cc = img.config.config ?? {};
    const argv = args ?? [...(cc.Entrypoint ?? []), ...(cc.Cmd ?? [])];
    const r = await runContainer({
      rootfs: m.root,
      args: argv,
      env: opts.env ?? cc.Env ?? [],
      cwd: opts.cwd ?? cc.WorkingDir ?? '/',
      user: opts.user ?? cc.User ?? '',
      network: 'none',
      stdin: 'ignore',
      stdout: (c: Buffer) => (output += c.toString()),
      stderr: (c: Buffer) => (output += c.toString()),
    });
    return { exitCode: r.exitCode, output };
  } finally {
    await m.unmount();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Steps (vertex names) that plain progress marks CACHED; FROM vertices of stored bases are left out. */
export function cachedVertices(stderr: string): string[] {
  const names = new Map<string, string>();
  const cached: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    if (!names.has(m[1])) names.set(m[1], m[2]);
    if (m[2] === 'CACHED' && !/\] FROM /.test(names.get(m[1]) as string)) cached.push(names.get(m[1]) as string);
  }
  return cached;
}

/** Vertex names that ran (ended with DONE), in order. */
export function doneVertices(stderr: string): string[] {
  const names = new Map<string, string>();
  const done: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    if (!names.has(m[1])) names.set(m[1], m[2]);
    if (/^DONE /.test(m[2])) done.push(names.get(m[1]) as string);
  }
  return done;
}

/**
 * Each layer of the image as sorted lines `path type mode uid:gid size sha256 -> link` (no times):
 * what "the same image" means when two builds ran at different times (rootless vs root).
 * Paths matching `skipContent` compare without size and hash (logs and caches that hold times).
 */
export async function layerLines(root: string, ref: string, skipContent?: RegExp): Promise<string[][]> {
  const layers = await layerEntries(root, ref);
  return layers.map((entries) =>
    entries
      .map((e) => {
        const data = e.content && !skipContent?.test(e.path) ? ` ${e.size} ${createHash('sha256').update(e.content).digest('hex').slice(0, 16)}` : '';
        return `${e.path} ${e.type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid}${data}${e.linkname ? ` -> ${e.linkname}` : ''}`;
      })
      .sort(),
  );
}

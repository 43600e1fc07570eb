/**
 * ADD's local-archive rule: a regular file whose content (not name) is a tar archive — plain, gzip,
 * bzip2, xz or zstd — is extracted into the destination instead of copied (BuildKit's
 * `isArchivePath`: decompress, and the first tar header must parse).
 *
 * `isArchive(host)` sniffs; `extractArchive(host, destHost)` streams the decompressed tar into the
 * image module's safe extractor (`applyLayer(..., {whiteouts: 'none'})`, which never writes outside
 * its target). bzip2 and xz are decompressed by spawning `bzip2 -dc` / `xz -dc`.
 */
import { spawn } from 'node:child_process';
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { applyLayer, decompress } from '../../image/index.js';
import { lazyBuiltin } from '../../util/builtin.js';

const zlib = lazyBuiltin<typeof import('node:zlib')>('node:zlib');

type Kind = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

function sniff(head: Buffer): Kind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

function readHead(p: string, n: number): Buffer {
  const fd = openSync(p, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A valid (non-zero) tar header block, as Go's archive/tar accepts for the first Next(). */
export function isTarHeader(b: Buffer): boolean {
  if (b.length < 512) return false;
  const blk = b.subarray(0, 512);
  if (blk.every((x) => x === 0)) return false;
  const field = blk.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const want = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : blk[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

/** A decompressed byte stream of the file. */
function decompressed(p: string, kind: Kind): { stream: Readable; stop: () => void } {
  const file = createReadStream(p);
  if (kind === 'none') return { stream: file, stop: () => file.destroy() };
  if (kind === 'gzip') {
    const gz = zlib().createGunzip();
    file.pipe(gz);
    file.on('error', (e) => gz.destroy(e));
    return { stream: gz, stop: () => (file.destroy(), gz.destroy()) };
  }
  if (kind === 'zstd') {
    const out = Readable.from(decompress(file));
    return { stream: out, stop: () => (file.destroy(), out.destroy()) };
  }
  const child = spawn(kind === 'bzip2' ? 'bzip2' : 'xz', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  file.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.on('error', (e) => child.stdout.destroy(e));
  child.on('close', (code) => {
    if (code && code !== 0 && !child.killed) child.stdout.destroy(new Error(`${kind} -dc failed: ${err.trim() || `exit ${code}`}`));
  });
  return { stream: child.stdout, stop: () => (file.destroy(), child.kill()) };
}

async function firstBytes(s: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  try {
    for await (const c of s) {
      chunks.push(c as Buffer);
      len += (c as Buffer).length;
      if (len >= n) break;
    }
  } catch {
    // a corrupt stream is simply "not an archive"
  }
  return Buffer.concat(chunks);
}

/** BuildKit's isArchivePath: decompresses (if needed) and checks the first tar header. */
export async function isArchive(host: string): Promise<boolean> {
  let head: Buffer;
  try {
    head = readHead(host, 512);
  } catch {
    return false;
  }
  const kind = sniff(head);
  if (kind === 'none') return isTarHeader(head);
  const d = decompressed(host, kind);
  try {
    return isTarHeader(await firstBytes(d.stream, 512));
  } finally {
    d.stop();
  }
}

/** Extracts archive `host` into existing directory `destHost` with the safe extractor. */
export async function extractArchive(host: string, destHost: string): Promise<void> {
  const kind = sniff(readHead(host, 8));
  // gzip / zstd / plain are sniffed by applyLayer itself; bzip2 / xz are decompressed here
  if (kind === 'bzip2' || kind === 'xz') {
    const d = decompressed(host, kind);
    await applyLayer(d.stream, destHost, { whiteouts: 'none' });
    return;
  }
  await applyLayer(createReadStream(host), destHost, { whiteouts: 'none' });
}

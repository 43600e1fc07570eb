/**
 * Pulls through a fault-injecting proxy in front of a real registry: connections reset in the
 * middle of a blob (resumed with Range), 500s, 429 with Retry-After, bodies whose digest is wrong.
 * Each pull either succeeds through retries or fails with one clear line; no corrupt blob is ever
 * stored.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, importBusybox, runCli, tmp } from './helpers/index.js';
import { FaultProxy, startRegistry, type RegistryInstance } from './helpers/registry.js';
import { Store } from '../src/store/index.js';

let reg: RegistryInstance;
let proxy: FaultProxy;
let manifestDigest: string;
let layer: { digest: string; size: number };
let configDigest: string;
const env = { DOCKER_CONFIG: tmp('sc-dockercfg-'), STAGECRAFT_REGISTRY_BACKOFF_MS: '20', STAGECRAFT_REGISTRY_RETRIES: '4' };
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function storeBlobs(root: string): string[] {
  const dir = join(root, 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f)) : [];
}

/** Every blob in the store hashes to its name; returns their digests. */
function assertStoreIntact(root: string): string[] {
  const blobs = storeBlobs(root);
  for (const f of blobs) {
    expect(createHash('sha256').update(readFileSync(join(root, 'blobs', 'sha256', f))).digest('hex'), `blob ${f}`).toBe(f);
  }
  return blobs.map((f) => `sha256:${f}`);
}

async function pulledDigest(root: string): Promise<string | undefined> {
  return (await (await Store.open(root)).resolveImage(`${proxy.host}/fault/busybox:v1`))?.manifestDigest;
}

const pullRef = () => `${proxy.host}/fault/busybox:v1`;
const layerPath = () => new RegExp(`^GET /v2/fault/busybox/blobs/${esc(layer.digest)}$`);
const manifestPath = /^GET \/v2\/fault\/busybox\/manifests\//;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await new FaultProxy({ host: '127.0.0.1', port: reg.port }).start();
  const src = tmp('sc-src-');
  await importBusybox(src);
  await cli(['push', 'busybox:latest', `${reg.host}/fault/busybox:v1`], { root: src, env });
  const img = (await (await Store.open(src)).resolveImage('busybox:latest'))!;
  manifestDigest = img.manifestDigest;
  layer = img.manifest.layers[0]!;
  configDigest = img.manifest.config.digest;
  expect(layer.size).toBeGreaterThan(100_000);
});

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
});

beforeEach(() => proxy.clear());

describe('pull through faults', () => {
  it('resumes a blob with Range after the connection is reset mid-body', async () => {
    proxy.addFault({ match: layerPath(), kind: 'reset-mid-body', times: 1 });
    const root = tmp();
    const r = await cli(['pull', pullRef()], { root, env });
    expect(r.stdout).toMatch(/Retrying: connection dropped after \d+ of \d+ bytes/);
    const gets = proxy.log.filter((e) => layerPath().test(`${e.method} ${e.path}`));
    expect(gets.map((g) => g.fault ?? g.status)).toEqual(['reset-mid-body', 206]);
    expect(gets[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(await pulledDigest(root)).toBe(manifestDigest);
    expect(assertStoreIntact(root)).toContain(layer.digest);
  });

  it('retries 500s on manifests and blobs, and a connection dropped before any response', async () => {
    proxy.addFault({ match: manifestPath, kind: 'status-500', times: 2 });
    proxy.addFault({ match: manifestPath, kind: 'reset-before-response', times: 1 });
    proxy.addFault({ match: new RegExp(`blobs/${esc(configDigest)}`), kind: 'status-500', times: 1 });
    proxy.addFault({ match: layerPath(), kind: 'status-500', times: 2 });
    const root = tmp();
    await cli(['pull', pullRef()], { root, env });
    expect(proxy.log.filter((e) => e.fault).length).toBe(6);
    expect(await pulledDigest(root)).toBe(manifestDigest);
    assertStoreIntact(root);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    proxy.addFault({ match: layerPath(), kind: 'status-429', times: 1, retryAfter: 2 });
    const root = tmp();
    await cli(['pull', pullRef()], { root, env });
    const gets = proxy.log.filter((e) => layerPath().test(`${e.method} ${e.path}`));
    expect(gets.length).toBe(2);
    expect(gets[0]!.status).toBe(429);
    expect(gets[1]!.time - gets[0]!.time).toBeGreaterThanOrEqual(1900);
    expect(await pulledDigest(root)).toBe(manifestDigest);
  });

  it('refetches a blob whose content does not match its digest', async () => {
    proxy.addFault({ match: layerPath(), kind: 'wrong-digest', times: 1 });
    const root = tmp();
    const r = await cli(['pull', pullRef()], { root, env });
    expect(r.stdout).toMatch(/Retrying: digest mismatch/);
    expect(await pulledDigest(root)).toBe(manifestDigest);
    assertStoreIntact(root);
  });

  it('refuses a blob that never matches its digest, storing nothing corrupt', async () => {
    proxy.addFault({ match: layerPath(), kind: 'wrong-digest', times: Infinity });
    const root = tmp();
    const r = await runCli(['pull', pullRef()], { root, env });
    expect(r.code).not.toBe(0);
    const err = r.stderr.trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(new RegExp(`^blob ${esc(layer.digest)} from ${esc(proxy.host)}/fault/busybox: digest mismatch: content hashes to sha256:[0-9a-f]{64} \\(gave up after 4 attempts\\)$`));
    const blobs = assertStoreIntact(root);
    expect(blobs).not.toContain(layer.digest);
    expect(await pulledDigest(root)).toBeUndefined();
  });

  it('gives up on a blob whose connection always drops, storing nothing', async () => {
    proxy.addFault({ match: layerPath(), kind: 'reset-mid-body', times: Infinity });
    const root = tmp();
    const r = await runCli(['pull', pullRef()], { root, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^blob sha256:[0-9a-f]{64} from .*: connection dropped after \d+ of \d+ bytes .*\(gave up after 4 attempts\)$/);
    expect(assertStoreIntact(root)).not.toContain(layer.digest);
  });

  it('gives up on a registry that keeps answering 500, in one line', async () => {
    proxy.addFault({ match: manifestPath, kind: 'status-500', times: Infinity });
    const r = await runCli(['pull', pullRef()], { root: tmp(), env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`${proxy.host}: GET /v2/fault/busybox/manifests/v1: HTTP 500: UNKNOWN: injected failure (gave up after 4 attempts)`);
    expect(proxy.log.filter((e) => e.fault === 'status-500').length).toBe(4);
  });

  it('push retries a failed blob upload and a dropped manifest PUT', async () => {
    const src = tmp('sc-src-');
    await importBusybox(src);
    proxy.addFault({ match: /^PUT \/v2\/fault\/pushed\/blobs\/uploads\//, kind: 'status-500', times: 1 });
    proxy.addFault({ match: /^PUT \/v2\/fault\/pushed\/manifests\//, kind: 'reset-before-response', times: 1 });
    const p = await cli(['push', 'busybox:latest', `${proxy.host}/fault/pushed:v1`], { root: src, env });
    expect(p.stdout).toMatch(/2 uploaded/);
    expect(proxy.log.filter((e) => e.fault).length).toBe(2);
    const root = tmp();
    await cli(['pull', `${reg.host}/fault/pushed:v1`], { root, env });
    const pushed = (await (await Store.open(src)).resolveImage('busybox:latest'))?.manifestDigest;
    expect((await (await Store.open(root)).resolveImage(`${reg.host}/fault/pushed:v1`))?.manifestDigest).toBe(pushed);
  });
});

/**
 * `stagecraft push` / `pull` against a real registry (Debian's docker-registry on 127.0.0.1, open),
 * watched through our proxy: round trip keeps the manifest digest, a second push uploads nothing,
 * cross-repository mounts, chunked uploads, blobs already stored are not downloaded, and an image
 * pushed by skopeo as a multi-platform index is pulled per platform.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cli, importBusybox, runCli, tmp } from './helpers/index.js';
import { FaultProxy, makeLayeredLayout, makeMultiPlatformLayout, skopeoPush, skopeoRaw, startRegistry, type RegistryInstance } from './helpers/registry.js';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from './helpers/index.js';
import { Store } from '../src/store/index.js';
import { hostPlatform } from '../src/image/types.js';

let reg: RegistryInstance;
let proxy: FaultProxy;
let src: string; // store with busybox imported
const env = { DOCKER_CONFIG: tmp('sc-dockercfg-'), STAGECRAFT_REGISTRY_BACKOFF_MS: '20' };

async function manifestDigest(root: string, ref: string): Promise<string | undefined> {
  const s = await Store.open(root);
  return (await s.resolveImage(ref))?.manifestDigest;
}

/** Every blob file in a store hashes to its name. */
function assertStoreIntact(root: string): void {
  const dir = join(root, 'blobs', 'sha256');
  for (const f of readdirSync(dir)) {
    if (!/^[0-9a-f]{64}$/.test(f)) continue;
    expect(createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')).toBe(f);
  }
}

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await new FaultProxy({ host: '127.0.0.1', port: reg.port }).start();
  src = tmp('sc-src-');
  await importBusybox(src, 'busybox:latest');
});

afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
});

describe('push and pull (open registry)', () => {
  it('round-trips an imported image with the same manifest digest', async () => {
    const local = await manifestDigest(src, 'busybox:latest');
    expect(local).toMatch(/^sha256:/);
    const p = await cli(['push', 'busybox:latest', `${proxy.host}/test/busybox:v1`], { root: src, env });
    expect(p.stdout).toMatch(/pushed .*test\/busybox:v1: 2 uploaded, 0 mounted, 0 already present/);
    expect(p.stdout).toMatch(/Pushed/);
    // the registry has exactly the bytes stagecraft stored
    expect(`sha256:${createHash('sha256').update(skopeoRaw(`${reg.host}/test/busybox:v1`)).digest('hex')}`).toBe(local);

    const dst = tmp('sc-dst-');
    const r = await cli(['pull', `${reg.host}/test/busybox:v1`], { root: dst, env });
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`${reg.host}/test/busybox:v1`);
    expect(r.stdout).toMatch(/Pull complete/);
    expect(r.stdout).toContain(`Digest: ${local}`);
    expect(await manifestDigest(dst, `${reg.host}/test/busybox:v1`)).toBe(local);
    assertStoreIntact(dst);
    // the pulled image is usable like any other: it can be pushed on under a new name
    await cli(['push', `${reg.host}/test/busybox:v1`, `${reg.host}/test/again:v1`], { root: dst, env });
  });

  it('a second push uploads nothing', async () => {
    proxy.clear();
    const p = await cli(['push', 'busybox:latest', `${proxy.host}/test/busybox:v1`], { root: src, env });
    expect(p.stdout).toMatch(/0 uploaded, 0 mounted, 2 already present/);
    expect(p.stdout).toMatch(/Layer already exists/);
    expect(proxy.log.filter((e) => e.method === 'POST' || e.method === 'PATCH' || (e.method === 'PUT' && e.path.includes('/blobs/')))).toEqual([]);
    expect(proxy.log.filter((e) => e.method === 'HEAD').length).toBe(2);
  });

  it('mounts blobs from another repository of the same registry instead of uploading', async () => {
    proxy.clear();
    const p = await cli(['push', 'busybox:latest', `${proxy.host}/other/copy:v1`], { root: src, env });
    expect(p.stdout).toMatch(/0 uploaded, 2 mounted, 0 already present/);
    const mounts = proxy.log.filter((e) => e.method === 'POST' && e.path.includes('mount='));
    expect(mounts.length).toBe(2);
    expect(mounts.every((m) => m.status === 201 && m.path.includes('from=test%2Fbusybox'))).toBe(true);
    expect(proxy.log.some((e) => e.method === 'PATCH' || (e.method === 'PUT' && e.path.includes('/blobs/')))).toBe(false);
  });

  it('uploads in chunks when a blob is larger than the chunk size, and the result pulls back identical', async () => {
    const fresh = tmp('sc-src2-');
    await importBusybox(fresh, 'busybox:latest');
    proxy.clear();
    const p = await cli(['push', 'busybox:latest', `${proxy.host}/chunked/busybox:v1`], { root: fresh, env: { ...env, STAGECRAFT_PUSH_CHUNK_SIZE: '65536' } });
    expect(p.stdout).toMatch(/2 uploaded/);
    const patches = proxy.log.filter((e) => e.method === 'PATCH');
    expect(patches.length).toBeGreaterThan(3);
    expect(patches.every((e) => e.status === 202)).toBe(true);
    const dst = tmp('sc-dst2-');
    await cli(['pull', `${reg.host}/chunked/busybox:v1`], { root: dst, env });
    expect(await manifestDigest(dst, `${reg.host}/chunked/busybox:v1`)).toBe(await manifestDigest(fresh, 'busybox:latest'));
  });

  it('does not download blobs that are already in the store', async () => {
    proxy.clear();
    const r = await cli(['pull', `${proxy.host}/test/busybox:v1`], { root: src, env });
    expect(r.stdout).toMatch(/Already exists/);
    expect(r.stdout).toMatch(/Image is up to date/);
    expect(proxy.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/'))).toEqual([]);
  });

  it('a build whose FROM is not in the store pulls it through the registry client', async () => {
    const ctx = tmp('sc-ctx-');
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${proxy.host}/test/busybox:v1\nCOPY Dockerfile /df\n`);
    const root = tmp('sc-build-');
    await cli(['push', 'busybox:latest', `${proxy.host}/test/busybox:v1`], { root: src, env });
    proxy.clear();
    await cli(['build', '-t', 'built:1', ctx], { root, env });
    expect(proxy.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/')).length).toBe(2);
    expect(await manifestDigest(root, `${proxy.host}/test/busybox:v1`)).toBe(await manifestDigest(src, 'busybox:latest'));
    expect(await manifestDigest(root, 'built:1')).toMatch(/^sha256:/);
  });

  it('explains a missing tag and a bad reference in one line', async () => {
    const r = await runCli(['pull', `${reg.host}/test/busybox:nope`], { root: tmp(), env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`manifest for ${reg.host}/test/busybox:nope not found: manifest unknown`);
    const b = await runCli(['pull', 'Bad/Name:x'], { root: tmp(), env });
    expect(b.code).not.toBe(0);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(b.stderr).toMatch(/invalid reference format: repository name must be lowercase/);
    const u = await runCli(['push', 'nothere:latest', `${reg.host}/x:y`], { root: tmp(), env });
    expect(u.stderr.trim()).toBe('An image does not exist locally with the tag: nothere:latest');
  });
});

describe('an image pushed by skopeo as a manifest list', () => {
  let layout: ReturnType<typeof makeMultiPlatformLayout>;
  beforeAll(() => {
    layout = makeMultiPlatformLayout();
    skopeoPush(layout.dir, 'multi', `${reg.host}/skopeo/multi:v1`);
  });

  it('pulls the platform asked for, keeping the registry digest', async () => {
    for (const arch of ['arm64', 'amd64']) {
      const dst = tmp('sc-multi-');
      const r = await cli(['pull', '--platform', `linux/${arch}`, `${reg.host}/skopeo/multi:v1`], { root: dst, env });
      expect(r.stdout).toContain(`Digest: ${layout.indexDigest}`);
      const s = await Store.open(dst);
      const img = await s.resolveImage(`${reg.host}/skopeo/multi:v1`);
      expect(img?.manifestDigest).toBe(layout.manifests[arch]);
      expect(img?.config.architecture).toBe(arch);
      expect(img?.config.config?.Labels?.arch).toBe(arch);
      assertStoreIntact(dst);
    }
  });

  it("defaults to the host's platform and pulls by index digest", async () => {
    const dst = tmp('sc-multi-');
    await cli(['pull', `${reg.host}/skopeo/multi@${layout.indexDigest}`], { root: dst, env });
    const s = await Store.open(dst);
    const images = await s.listImages();
    expect(images.map((i) => i.manifestDigest)).toEqual([layout.manifests[hostPlatform().architecture === 'arm64' ? 'arm64' : 'amd64']]);
  });

  it('reads Docker schema2 manifest lists and manifests (skopeo --format v2s2), and pushes them back unchanged', async () => {
    execFileSync('skopeo', ['copy', '--all', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout.dir}:multi`, `docker://${reg.host}/skopeo/v2s2:v1`], { stdio: 'pipe' });
    const list = JSON.parse(skopeoRaw(`${reg.host}/skopeo/v2s2:v1`)) as { mediaType: string; manifests: { digest: string; platform: { architecture: string } }[] };
    expect(list.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    const arm = list.manifests.find((m) => m.platform.architecture === 'arm64')!;
    const dst = tmp('sc-v2s2-');
    await cli(['pull', '--platform', 'linux/arm64/v8', `${reg.host}/skopeo/v2s2:v1`], { root: dst, env });
    const img = await (await Store.open(dst)).resolveImage(`${reg.host}/skopeo/v2s2:v1`);
    expect(img?.manifestDigest).toBe(arm.digest);
    expect(img?.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(img?.manifest.layers[0]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    const p = await cli(['push', '-q', `${reg.host}/skopeo/v2s2:v1`, `${reg.host}/skopeo/v2s2-back:arm`], { root: dst, env });
    expect(p.stdout.trim()).toBe(arm.digest);
    expect(JSON.parse(skopeoRaw(`${reg.host}/skopeo/v2s2-back:arm`)).mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('names the available platforms when none matches', async () => {
    const r = await runCli(['pull', '--platform', 'linux/s390x', `${reg.host}/skopeo/multi:v1`], { root: tmp(), env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64)');
  });
});

describe('a multi-layer image', () => {
  let layout: ReturnType<typeof makeLayeredLayout>;
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  beforeAll(() => {
    layout = makeLayeredLayout(5, 300_000);
    skopeoPush(layout.dir, 'layered', `${reg.host}/layers/five:v1`);
  });

  it('downloads layers concurrently, three at a time', async () => {
    proxy.clear();
    proxy.addFault({ match: new RegExp(`blobs/(${layout.layers.map(esc).join('|')})$`), kind: 'delay', delayMs: 400, times: Infinity });
    const dst = tmp('sc-layers-');
    await cli(['pull', `${proxy.host}/layers/five:v1`], { root: dst, env });
    const gets = proxy.log.filter((e) => e.method === 'GET' && layout.layers.some((l) => e.path.endsWith(l)));
    expect(gets.length).toBe(5);
    const inFlightAt = (t: number) => gets.filter((g) => g.time <= t && t < g.end!).length;
    expect(Math.max(...gets.map((g) => inFlightAt(g.time)))).toBe(3);
    expect(await manifestDigest(dst, `${proxy.host}/layers/five:v1`)).toBe(layout.manifestDigest);
  });

  it('draws progress bars on a terminal and plain lines otherwise', async () => {
    proxy.clear();
    proxy.addFault({ match: new RegExp(`blobs/(${layout.layers.map(esc).join('|')})$`), kind: 'delay', delayMs: 300, times: Infinity });
    const dst = tmp('sc-tty-');
    const cmd = `${process.execPath} ${CLI} pull ${proxy.host}/layers/five:v1`;
    const { stdout } = await promisify(execFile)('script', ['-qefc', cmd, '/dev/null'], { env: { ...process.env, ...env, STAGECRAFT_ROOT: dst, CI: '' } });
    expect(stdout).toMatch(/Downloading \[[ =>]{30}\] [\d.]+k?B\/30\d(\.\d)?kB/);
    expect(stdout).toContain('\u001b['); // redrawn in place
    expect(stdout).toMatch(/Pull complete/);
    const plain = await cli(['pull', `${proxy.host}/layers/five:v1`], { root: tmp('sc-plain-'), env });
    expect(plain.stdout).not.toContain('\u001b[');
    expect(plain.stdout).not.toMatch(/\[[ =>]{30}\]/);
    expect(plain.stdout.match(/: Pull complete$/gm)).toHaveLength(5);
  });
});

/**
 * Layer storage and compression on the way out: the store keeps built layers uncompressed
 * (`application/vnd.oci.image.layer.v1.tar`); a push compresses them (gzip by default, or as
 * `--output ...,compression=zstd,compression-level=N` says) into blobs a real puller accepts
 * (skopeo copy + umoci unpack, and the peer lab's `docker pull` when it is up); the same image pushed
 * twice, even after the cached compressed blobs were garbage-collected, has the same manifest digest;
 * the image ID and diffIDs do not change.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { REGISTRY_BIN, startRegistry, type RegistryInstance } from './helpers/registry.js';
import { buildCli, buildOk, context, imageConfig, imageId, imageManifest } from './helpers/build.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hasTool = (t: string): boolean => {
  try {
    execFileSync(t, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const dockerUp = (): boolean => {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!isRoot || !existsSync(REGISTRY_BIN))('layer compression: stored uncompressed, compressed when pushed', () => {
  let reg: RegistryInstance;
  let root: string;
  const env = { DOCKER_CONFIG: tmp('sc-dockercfg-'), STAGECRAFT_REGISTRY_BACKOFF_MS: '20' };
  const remote = async (repo: string, tag: string): Promise<{ digest: string; manifest: { layers: { mediaType: string; digest: string }[] } }> => {
    const r = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, { headers: { Accept: ACCEPT } });
    expect(r.status).toBe(200);
    const body = Buffer.from(await r.arrayBuffer());
    return { digest: sha(body), manifest: JSON.parse(body.toString()) };
  };
  const blob = async (repo: string, digest: string): Promise<Buffer> => Buffer.from(await (await fetch(`http://${reg.host}/v2/${repo}/blobs/${digest}`)).arrayBuffer());

  beforeAll(async () => {
    reg = await startRegistry();
    root = tmp('sc-root-');
    await importBusybox(root);
    await buildOk(root, context({ Dockerfile: 'FROM busybox\nRUN mkdir /data && for i in 1 2 3 4 5 6 7 8; do seq 1 20000 > /data/f$i; done\n' }), ['-t', 'comp:v1']);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('stores the built layer uncompressed and pushes it as a valid gzip layer, same manifest digest every time', async () => {
    const local = await imageManifest(root, 'comp:v1');
    const own = local.layers[local.layers.length - 1]!;
    expect(own.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const config = await imageConfig(root, 'comp:v1');
    const id = await imageId(root, 'comp:v1');

    const ref = `${reg.host}/comp/app:one`;
    expect((await cli(['tag', 'comp:v1', ref], { root })).code).toBe(0);
    const p1 = await cli(['push', ref], { root, env });
    expect(p1.code, p1.stderr).toBe(0);
    const r1 = await remote('comp/app', 'one');
    const pushed = r1.manifest.layers[r1.manifest.layers.length - 1]!;
    expect(pushed.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const gz = await blob('comp/app', pushed.digest);
    expect(sha(gz)).toBe(pushed.digest);
    // one gzip stream whose content is the layer: its sha256 is the diffID the config names
    expect(sha(gunzipSync(gz))).toBe(config.rootfs.diff_ids[config.rootfs.diff_ids.length - 1]);
    expect(p1.stdout).toContain(`digest: ${r1.digest}`);

    // pushed again, under another tag and after gc dropped the cached compressed blobs: same digest
    const ref2 = `${reg.host}/comp/app:two`;
    await cli(['tag', 'comp:v1', ref2], { root });
    await cli(['image', 'prune', '-f'], { root });
    await cli(['system', 'prune', '-f'], { root });
    expect((await cli(['push', ref2], { root, env })).code).toBe(0);
    expect((await remote('comp/app', 'two')).digest).toBe(r1.digest);
    expect((await cli(['push', ref], { root, env })).code).toBe(0);
    expect((await remote('comp/app', 'one')).digest).toBe(r1.digest);
    // the local image did not change
    expect(await imageId(root, 'comp:v1')).toBe(id);
    expect((await imageManifest(root, 'comp:v1')).layers.map((l) => l.mediaType)).toEqual(local.layers.map((l) => l.mediaType));
  });

  it('keeps a built layer as its snapshot only (a lazy blob): no blob file after the build or a push; save and --output make it, verified', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN mkdir /lazy && seq 1 30000 > /lazy/n && ln /lazy/n /lazy/hard\n' });
    await buildOk(root, ctx, ['-t', 'lazy:v1']);
    const m = await imageManifest(root, 'lazy:v1');
    const c = await imageConfig(root, 'lazy:v1');
    const own = m.layers[m.layers.length - 1]!;
    const diffId = c.rootfs.diff_ids[c.rootfs.diff_ids.length - 1]!;
    expect(own).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId });
    const file = join(root, 'blobs/sha256', own.digest.slice(7));
    expect(existsSync(file)).toBe(false);
    const fsck = await cli(['system', 'fsck'], { root });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);

    // a push compresses straight from the snapshot: a gzip layer whose content is the diffID
    const ref = `${reg.host}/comp/lazy:1`;
    await cli(['tag', 'lazy:v1', ref], { root });
    expect((await cli(['push', ref], { root, env })).code).toBe(0);
    const r = await remote('comp/lazy', '1');
    const pushed = r.manifest.layers[r.manifest.layers.length - 1]!;
    expect(sha(gunzipSync(await blob('comp/lazy', pushed.digest)))).toBe(diffId);
    expect(existsSync(file)).toBe(false);

    // save (docker format: uncompressed layers) reads the lazy blob; the archive loads elsewhere
    const out = join(tmp('sc-lazy-save-'), 'img.tar');
    expect((await cli(['save', '-o', out, 'lazy:v1'], { root })).code).toBe(0);
    const other = tmp('sc-root-');
    const ld = await cli(['load', '-i', out], { root: other });
    expect(ld.code, ld.stderr).toBe(0);
    expect(await imageId(other, 'lazy:v1')).toBe(await imageId(root, 'lazy:v1'));

    // --output type=oci,compression=uncompressed writes the blob file once
    const oci = join(tmp('sc-lazy-oci-'), 'o.tar');
    await buildOk(root, ctx, ['--output', `type=oci,dest=${oci},compression=uncompressed`]);
    expect(sha(readFileSync(file))).toBe(diffId);
    const listed = execFileSync('tar', ['-tf', oci]).toString();
    expect(listed).toContain(`blobs/sha256/${diffId.slice(7)}`);
  });

  it('a lazy blob whose snapshot changed is an error naming the layer, not a wrong layer', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo tamper > /t\n' });
    await buildOk(root, ctx, ['-t', 'lazy:t']);
    const c = await imageConfig(root, 'lazy:t');
    const ids = c.rootfs.diff_ids;
    const chain = ids.reduce((acc, d, i) => (i === 0 ? d : sha(Buffer.from(`${acc} ${d}`))), '');
    writeFileSync(join(root, 'snapshots', chain.slice(7), 't'), 'changed\n');
    const ref = `${reg.host}/comp/lazy:t`;
    await cli(['tag', 'lazy:t', ref], { root });
    const p = await runCli(['push', ref], { root, env });
    expect(p.code).not.toBe(0);
    expect(p.stderr).toContain(`layer ${ids[ids.length - 1]}`);
    expect(p.stderr).toContain('store is corrupt');
    expect(p.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!hasTool('skopeo') || !hasTool('umoci'))('skopeo copies the pushed image and umoci unpacks it (diffIDs checked)', async () => {
    const ref = `${reg.host}/comp/app:one`;
    await cli(['tag', 'comp:v1', ref], { root });
    expect((await cli(['push', ref], { root, env })).code).toBe(0);
    const layout = join(tmp('sc-skopeo-'), 'oci');
    execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:img`], { stdio: 'pipe' });
    const bundle = join(tmp('sc-umoci-'), 'b');
    execFileSync('umoci', ['unpack', '--image', `${layout}:img`, bundle], { stdio: 'pipe' });
    expect(existsSync(join(bundle, 'rootfs/data/f8'))).toBe(true);
  });

  it.skipIf(!dockerUp())('docker pull (the peer lab) accepts the pushed image', async () => {
    const ref = `${reg.host}/comp/app:one`;
    await cli(['tag', 'comp:v1', ref], { root });
    expect((await cli(['push', ref], { root, env })).code).toBe(0);
    try {
      execFileSync('docker', ['pull', '-q', ref], { stdio: 'pipe', timeout: 120_000 });
      const out = execFileSync('docker', ['run', '--rm', ref, 'wc', '-l', '/data/f8'], { timeout: 120_000 }).toString();
      expect(out.trim()).toMatch(/^20000 /);
    } finally {
      execFileSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' });
    }
  });

  it('--output type=image,push=true,compression=zstd,compression-level=N pushes zstd layers; bad values are one-line errors', async () => {
    const ref = `${reg.host}/comp/zst:1`;
    const ctx = context({ Dockerfile: 'FROM busybox\nRUN seq 1 50000 > /n\n' });
    await buildOk(root, ctx, ['--output', `type=image,name=${ref},push=true,compression=zstd,compression-level=5`], { env });
    const r = await remote('comp/zst', '1');
    const own = r.manifest.layers[r.manifest.layers.length - 1]!;
    expect(own.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const z = await blob('comp/zst', own.digest);
    expect(z.readUInt32LE(0)).toBe(0xfd2fb528);
    // base layers that are already gzip stay as they are unless force-compression=true
    expect(r.manifest.layers[0]!.mediaType).toMatch(/gzip/);
    await buildOk(root, ctx, ['--output', `type=image,name=${reg.host}/comp/zst:2,push=true,compression=zstd,force-compression=true`], { env });
    expect((await remote('comp/zst', '2')).manifest.layers.every((l) => l.mediaType.endsWith('+zstd'))).toBe(true);

    const bad = await buildCli(root, ctx, ['--output', `type=image,name=x,compression=brotli`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe('unsupported layer compression type: brotli');
    const lvl = await buildCli(root, ctx, ['--output', `type=image,name=x,compression=gzip,compression-level=fast`]);
    expect(lvl.stderr.trim()).toBe('non-int value fast specified for compression-level');
  });
});

/** Store API: verified atomic blobs, images and refs, resolution rules, locks, snapshots. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../util/errors.js';
import { MediaType, writeLayer, type ImageConfig, type ImageManifest } from '../../image/index.js';
import { Store, chainIdOf } from '../index.js';

const newStore = (): Promise<Store> => Store.open(mkdtempSync(join(tmpdir(), 'sc-store-')));
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function smallImage(store: Store, refs: string[], content = 'hello'): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
  const dir = mkdtempSync(join(tmpdir(), 'sc-src-'));
  writeFileSync(join(dir, 'f'), content);
  const l = await writeLayer(store, dir);
  const config: ImageConfig = { created: new Date().toISOString(), architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [l.diffId] } };
  const cdesc = await store.putJson(config, MediaType.OciConfig);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: cdesc, layers: [l.descriptor] };
  await store.putImage(manifest, config, refs);
  return { manifest, config };
}

describe('blobs', () => {
  it('stores verified content atomically and idempotently', async () => {
    const s = await newStore();
    const data = Buffer.from('some bytes');
    const d = await s.putBlob(data, { digest: sha(data), size: data.length });
    expect(d).toEqual({ digest: sha(data), size: data.length });
    expect((await s.readBlob(d.digest)).equals(data)).toBe(true);
    expect(await s.putBlob(Readable.from([data.subarray(0, 4), data.subarray(4)]))).toEqual(d);
    await expect(s.putBlob(Buffer.from('other'), { digest: sha(data) })).rejects.toThrow(UserError);
    await expect(s.putBlob(Readable.from([Buffer.from('other')]), { digest: sha('x') })).rejects.toThrow(/digest mismatch/);
    await expect(s.putBlob(Buffer.from('abc'), { size: 4 })).rejects.toThrow(/size mismatch/);
    expect(readdirSync(s.dirs.blobs)).toEqual([d.digest.slice(7)]);
    expect(readdirSync(s.dirs.tmp)).toEqual([]);
    const j = await s.putJson({ a: 1 }, 'application/json');
    expect(await s.readJson(j.digest)).toEqual({ a: 1 });
    await expect(s.readBlob(sha('missing'))).rejects.toThrow(UserError);
    await s.release();
  });
});

describe('images', () => {
  it('resolves names, tags, IDs and digests', async () => {
    const s = await newStore();
    await smallImage(s, ['app:v1', 'registry.example:5000/team/app']);
    const img = await s.resolveImage('app:v1');
    expect(img?.refs.sort()).toEqual(['app:v1', 'registry.example:5000/team/app:latest']);
    expect((await s.resolveImage('registry.example:5000/team/app'))?.manifestDigest).toBe(img!.manifestDigest);
    expect((await s.resolveImage(img!.configDigest.slice(7, 12)))?.manifestDigest).toBe(img!.manifestDigest);
    expect((await s.resolveImage(img!.configDigest))?.manifestDigest).toBe(img!.manifestDigest);
    expect((await s.resolveImage(img!.manifestDigest))?.configDigest).toBe(img!.configDigest);
    expect((await s.resolveImage(`app@${img!.manifestDigest}`))?.configDigest).toBe(img!.configDigest);
    expect(await s.resolveImage('app')).toBeUndefined(); // app:latest does not exist
    expect(await s.resolveImage('nothing')).toBeUndefined();
    const [rec] = await s.listImages();
    expect(rec).toMatchObject({ id: img!.configDigest.slice(7, 19), size: 5 }); // docker's size: the 5 bytes of 'hello'
    // tags move between images
    await smallImage(s, ['app:v1'], 'other');
    expect((await s.resolveImage('app:v1'))?.configDigest).not.toBe(img!.configDigest);
    expect((await s.resolveImage('registry.example:5000/team/app'))?.configDigest).toBe(img!.configDigest);
    await s.tag('app:v1', 'app:v2');
    expect((await s.untag('app:v2'))?.lastRef).toBe(false);
    expect(await s.untag('app:v2')).toBeUndefined();
    await s.release();
  });

  it('refuses images whose layers are missing or do not match the config', async () => {
    const s = await newStore();
    const { manifest, config } = await smallImage(s, []);
    const before = readFileSync(join(s.root, 'index.json'), 'utf8');
    await expect(s.putImage({ ...manifest, layers: [{ ...manifest.layers[0]!, digest: sha('nope') }] }, config, ['x'])).rejects.toThrow(/not in the store/);
    await expect(s.putImage(manifest, { ...config, rootfs: { type: 'layers', diff_ids: [sha('wrong')] } }, ['x'])).rejects.toThrow(/diffID/);
    await expect(s.putImage(manifest, config, ['Bad Name'])).rejects.toThrow(UserError);
    expect(readFileSync(join(s.root, 'index.json'), 'utf8')).toBe(before);
    await s.release();
  });

  it('gc keeps what registered gc roots name, and only that', async () => {
    const s = await newStore();
    await smallImage(s, ['kept:1'], 'kept');
    await smallImage(s, ['gone:1'], 'gone');
    const kept = (await s.resolveImage('kept:1'))!;
    const gone = (await s.resolveImage('gone:1'))!;
    const asked: Store[] = [];
    s.addGcRoots(async (st) => {
      asked.push(st);
      return [kept.manifestDigest, 'not-a-digest', `sha256:${'0'.repeat(64)}`];
    });
    await s.removeImage(kept.manifestDigest);
    await s.removeImage(gone.manifestDigest);
    const g = await s.gc();
    expect(asked[0]).toBe(s);
    expect(g.blobs).toBe(3); // gone's manifest, config and layer
    for (const d of [kept.manifestDigest, kept.configDigest, kept.manifest.layers[0]!.digest]) expect(s.hasBlob(d)).toBe(true);
    for (const d of [gone.manifestDigest, gone.configDigest, gone.manifest.layers[0]!.digest]) expect(s.hasBlob(d)).toBe(false);
    // a fresh instance has no roots registered: the store itself knows no container records
    const bare = await Store.open(s.root);
    expect((await bare.gc()).blobs).toBe(3);
    await s.release();
  });
});

describe('locks and snapshots', () => {
  it('serializes critical sections and survives a killed holder', async () => {
    const s = await newStore();
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        s.withLock('x', async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 20));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    // another process holds the lock, then is SIGKILLed: we get it
    const holder = spawn('flock', ['-x', join(s.dirs.locks, 'y.lock'), 'sleep', '1000'], { stdio: 'ignore', detached: true });
    await new Promise((r) => setTimeout(r, 300));
    let got = false;
    const p = s.withLock('y', async () => {
      got = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(false);
    process.kill(-(holder.pid as number), 'SIGKILL'); // flock and its child (both hold the lock fd)
    await p;
    expect(got).toBe(true);
  });

  it('adopts directories as snapshots and computes chain IDs', async () => {
    const s = await newStore();
    const a = sha('a');
    const b = sha('b');
    expect(chainIdOf([a])).toBe(a);
    expect(chainIdOf([a, b])).toBe(sha(`${a} ${b}`));
    const dir = await s.tmpDir();
    expect(dir.startsWith(s.dirs.tmp)).toBe(true);
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/x'), 'x');
    const p = await s.commitSnapshot(chainIdOf([a, b]), dir);
    expect(p).toBe(join(s.dirs.snapshots, chainIdOf([a, b]).slice(7)));
    expect(existsSync(join(p, 'etc/x'))).toBe(true);
    expect(existsSync(dir)).toBe(false);
    const dir2 = await s.tmpDir();
    expect(await s.commitSnapshot(chainIdOf([a, b]), dir2)).toBe(p);
    expect(existsSync(dir2)).toBe(false);
  });
});

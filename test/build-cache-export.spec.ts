/**
 * --cache-to / --cache-from type=local: a build exports its cache records and layer blobs to a
 * dir (an OCI layout); a build in a fresh, empty store (the same base image loaded there) reuses
 * them: every step CACHED and nothing executed (the RUNs write timestamps, so a re-run would give
 * other layers). mode=min exports only the exported stages' steps, mode=max every stage's. A
 * corrupt blob in the dir is never stored; bad flag values are one-line errors naming the flag.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, importBusybox, isRoot, runCli, tmp } from './helpers/index.js';
import { buildCli, buildOk, cachedVertices, context, doneVertices, imageConfig, imageId, imageManifest, TIMESTAMPED_DOCKERFILE } from './helpers/build.js';
import { parseCacheFrom, parseCacheTo } from '../src/solver/index.js';

const DOCKERFILE = TIMESTAMPED_DOCKERFILE;

const steps = (names: string[]): string[] => names.filter((n) => /RUN|COPY/.test(n));

/** Every blob in the store is named by its sha256. */
function storeBlobsVerified(root: string): boolean {
  const dir = join(root, 'blobs', 'sha256');
  return readdirSync(dir).every((f) => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex') === f);
}

describe('--cache-to / --cache-from flag values', () => {
  it('parses type=local and rejects bad values with a one-line error naming the flag (type=registry: build-cache-registry.spec.ts)', () => {
    expect(parseCacheTo('type=local,dest=/c')).toEqual({ type: 'local', dest: '/c', mode: 'min' });
    expect(parseCacheTo('type=local,dest=/c,mode=max')).toEqual({ type: 'local', dest: '/c', mode: 'max' });
    expect(parseCacheFrom('type=local,src=/c')).toEqual({ type: 'local', src: '/c' });
    expect(() => parseCacheFrom('type=gha')).toThrow('--cache-from type=gha is not supported (type=local, type=registry)');
    expect(() => parseCacheTo('type=s3,bucket=b')).toThrow('--cache-to type=s3 is not supported (type=local, type=registry)');
    expect(() => parseCacheTo('type=local')).toThrow('--cache-to');
    expect(() => parseCacheFrom('type=local,dest=/c')).toThrow('--cache-from');
    expect(() => parseCacheTo('type=local,dest=/c,mode=all')).toThrow('--cache-to mode "all"');
    expect(() => parseCacheTo('type=local,dest=/c,junk')).toThrow('--cache-to');
  });
});

describe.skipIf(!isRoot)('build: --cache-to / --cache-from type=local', () => {
  let root1: string;
  let baseTar: string;
  let ctx: string;
  let cacheMax: string;
  let cacheMin: string;

  /** A fresh store with the same busybox image (same digest) as root1. */
  async function freshRoot(): Promise<string> {
    const r = tmp('sc-root-');
    await cli(['load', '-i', baseTar, '-q'], { root: r });
    return r;
  }

  beforeAll(async () => {
    root1 = tmp('sc-root-');
    await importBusybox(root1);
    baseTar = join(tmp('sc-base-'), 'busybox.tar');
    await cli(['save', 'busybox:latest', '-o', baseTar], { root: root1 });
    ctx = context({ Dockerfile: DOCKERFILE, 'src.txt': 'v1\n' });
    const out = tmp('sc-cache-');
    cacheMax = join(out, 'max');
    cacheMin = join(out, 'min');
    await buildOk(root1, ctx, ['-t', 'ce:1', '--cache-to', `type=local,dest=${cacheMax},mode=max`, '--cache-to', `type=local,dest=${cacheMin}`]);
  });

  it('writes an OCI layout with the cache records and their layer blobs', () => {
    for (const d of [cacheMax, cacheMin]) {
      expect(JSON.parse(readFileSync(join(d, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
      const index = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8')) as { manifests: Array<{ mediaType: string; digest: string }> };
      expect(index.manifests[0]?.mediaType).toBe('application/vnd.stagecraft.buildcache.v1+json');
      for (const f of readdirSync(join(d, 'blobs', 'sha256'))) {
        expect(createHash('sha256').update(readFileSync(join(d, 'blobs', 'sha256', f))).digest('hex')).toBe(f);
      }
      expect(readdirSync(d).some((f) => f.endsWith('.tmp'))).toBe(false);
    }
    const records = (d: string): number => {
      const index = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      const doc = JSON.parse(readFileSync(join(d, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { records: object };
      return Object.keys(doc.records).length;
    };
    expect(records(cacheMax)).toBe(5);
    expect(records(cacheMin)).toBe(4);
  });

  it('an empty store with --cache-from (mode=max) runs nothing and gets the same layers', async () => {
    const root2 = await freshRoot();
    const r = await buildOk(root2, ctx, ['-t', 'ce:2', '--cache-from', `type=local,src=${cacheMax}`]);
    expect(steps(doneVertices(r.stderr))).toEqual([]);
    expect(steps(cachedVertices(r.stderr))).toHaveLength(5);
    expect(r.stderr).not.toContain('WARNING');
    // the RUNs write timestamps: equal layers prove they were not executed again
    expect((await imageManifest(root2, 'ce:2')).layers.map((l) => l.digest)).toEqual((await imageManifest(root1, 'ce:1')).layers.map((l) => l.digest));
    // the same image, times included (each step keeps the time its layer was made, as in BuildKit):
    // the same image ID
    expect(await imageConfig(root2, 'ce:2')).toEqual(await imageConfig(root1, 'ce:1'));
    expect(await imageId(root2, 'ce:2')).toBe(await imageId(root1, 'ce:1'));
    expect(storeBlobsVerified(root2)).toBe(true);
    // the imported records are now local: a rebuild without --cache-from is all CACHED too
    const r2 = await buildOk(root2, ctx, ['-t', 'ce:3']);
    expect(steps(doneVertices(r2.stderr))).toEqual([]);
  });

  it('mode=min has only the target stage steps: the other stage runs again', async () => {
    const root3 = await freshRoot();
    const r = await buildOk(root3, ctx, ['-t', 'ce:4', '--cache-from', `type=local,src=${cacheMin}`]);
    expect(steps(doneVertices(r.stderr))).toEqual(['[deps 2/2] RUN date +%s%N > /stamp-deps && echo deps > /deps.txt']);
    expect(steps(cachedVertices(r.stderr))).toHaveLength(4);
    expect((await imageManifest(root3, 'ce:4')).layers.map((l) => l.digest)).toEqual((await imageManifest(root1, 'ce:1')).layers.map((l) => l.digest));
  });

  it('a changed source file re-runs only the steps that depend on it', async () => {
    const root4 = await freshRoot();
    const ctx2 = context({ Dockerfile: DOCKERFILE, 'src.txt': 'v2\n' });
    const r = await buildOk(root4, ctx2, ['-t', 'ce:5', '--cache-from', `type=local,src=${cacheMax}`]);
    expect(steps(doneVertices(r.stderr))).toEqual(['[stage-1 4/5] COPY src.txt /src.txt', '[stage-1 5/5] RUN cat /src.txt > /derived.txt && date +%s%N >> /derived.txt']);
    expect(steps(cachedVertices(r.stderr))).toHaveLength(3);
  });

  it('a missing dir or a corrupt blob is a warning, never stored', async () => {
    const root5 = await freshRoot();
    const missing = join(tmp('sc-cache-'), 'nope');
    const r0 = await buildOk(root5, ctx, ['-t', 'ce:6', '--cache-from', `type=local,src=${missing}`, '--no-cache']);
    expect(r0.stderr).toContain(`WARNING: local cache import at ${missing} not found due to err:`);

    const bad = join(tmp('sc-cache-'), 'bad');
    cpSync(cacheMax, bad, { recursive: true });
    const m = await imageManifest(root1, 'ce:1');
    const last = m.layers[m.layers.length - 1]!.digest.slice(7);
    writeFileSync(join(bad, 'blobs', 'sha256', last), 'not the layer');
    const root6 = await freshRoot();
    const r = await buildOk(root6, ctx, ['-t', 'ce:7', '--cache-from', `type=local,src=${bad}`]);
    expect(r.stderr).toMatch(/WARNING: local cache import at .*digest mismatch/);
    expect(steps(doneVertices(r.stderr))).toEqual(['[stage-1 5/5] RUN cat /src.txt > /derived.txt && date +%s%N >> /derived.txt']);
    expect(storeBlobsVerified(root6)).toBe(true);

    // a corrupt index is a warning too, and the build goes on
    const bad2 = join(tmp('sc-cache-'), 'bad2');
    cpSync(cacheMax, bad2, { recursive: true });
    writeFileSync(join(bad2, 'index.json'), '{');
    const r2 = await buildOk(await freshRoot(), ctx, ['-t', 'ce:8', '--cache-from', `type=local,src=${bad2}`]);
    expect(r2.stderr).toContain(`WARNING: local cache import at ${bad2} not found due to err:`);
  });

  it('re-exporting into an existing dir keeps its blobs; bad flags fail before building', async () => {
    const before = readdirSync(join(cacheMax, 'blobs', 'sha256'));
    const ctx3 = context({ Dockerfile: DOCKERFILE, 'src.txt': 'v3\n' });
    await buildOk(root1, ctx3, ['-t', 'ce:9', '--cache-to', `type=local,dest=${cacheMax},mode=max`]);
    const after = readdirSync(join(cacheMax, 'blobs', 'sha256'));
    for (const b of before) expect(after).toContain(b);
    expect(existsSync(join(cacheMax, 'index.json'))).toBe(true);

    const r = await buildCli(root1, ctx, ['--cache-to', 'type=gha']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--cache-to type=gha is not supported (type=local, type=registry)');
    const r2 = await runCli(['build', '--cache-from', 'type=local', ctx], { root: root1 });
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('--cache-from');
  });
});

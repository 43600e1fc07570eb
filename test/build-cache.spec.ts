/**
 * The build cache: an unchanged rebuild is all CACHED (and gives the same layers), editing a
 * context file re-runs only the steps that depend on it (content, not mtime, decides), a changed
 * build arg re-runs the steps that see it, and --no-cache runs everything.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildOk, cachedVertices, context, doneVertices, imageConfig, imageId } from './helpers/build.js';

const DOCKERFILE = `FROM busybox AS deps
RUN echo deps > /deps.txt

FROM busybox
ARG FLAVOR=plain
RUN echo "independent step" > /indep.txt
COPY --from=deps /deps.txt /deps.txt
COPY src.txt /src.txt
RUN cat /src.txt > /derived.txt
RUN echo "$FLAVOR" > /flavor.txt
`;

describe.skipIf(!isRoot)('build: cache', () => {
  let root: string;
  let ctx: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    ctx = context({ Dockerfile: DOCKERFILE, 'src.txt': 'v1\n' });
  });

  it('an unchanged rebuild is all cache hits and yields the same layers', async () => {
    const r1 = await buildOk(root, ctx, ['-t', 'c:1']);
    expect(cachedVertices(r1.stderr)).toEqual([]);
    const r2 = await buildOk(root, ctx, ['-t', 'c:2']);
    const cached = cachedVertices(r2.stderr);
    expect(cached).toHaveLength(6);
    expect(doneVertices(r2.stderr).filter((n) => /RUN|COPY/.test(n))).toEqual([]);
    expect((await imageConfig(root, 'c:2')).rootfs.diff_ids).toEqual((await imageConfig(root, 'c:1')).rootfs.diff_ids);
    // as in BuildKit, an all-cached rebuild is the same image: every step keeps the time its layer
    // was made, a step without a layer the time before it, the image the time of its last step
    expect(await imageId(root, 'c:2')).toBe(await imageId(root, 'c:1'));
    const c1 = await imageConfig(root, 'c:1');
    expect(c1.created).toBe(c1.history?.at(-1)?.created);
    expect(c1.history?.every((h) => typeof h.created === 'string')).toBe(true);
  });

  it('a touched but unchanged file is still a hit; an edit re-runs only its dependents', async () => {
    utimesSync(join(ctx, 'src.txt'), new Date(), new Date(Date.now() + 5000));
    const r = await buildOk(root, ctx, ['-t', 'c:3']);
    expect(doneVertices(r.stderr).filter((n) => /RUN|COPY/.test(n))).toEqual([]);

    writeFileSync(join(ctx, 'src.txt'), 'v2\n');
    const r2 = await buildOk(root, ctx, ['-t', 'c:4']);
    const ran = doneVertices(r2.stderr).filter((n) => /RUN|COPY/.test(n));
    expect(ran).toEqual(['[stage-1 4/6] COPY src.txt /src.txt', '[stage-1 5/6] RUN cat /src.txt > /derived.txt', '[stage-1 6/6] RUN echo "plain" > /flavor.txt']);
    const cached = cachedVertices(r2.stderr);
    expect(cached).toContain('[deps 2/2] RUN echo deps > /deps.txt');
    expect(cached).toContain('[stage-1 2/6] RUN echo "independent step" > /indep.txt');
  });

  it('a changed build arg re-runs the steps after its ARG', async () => {
    const r = await buildOk(root, ctx, ['-t', 'c:5', '--build-arg', 'FLAVOR=spicy']);
    const ran = doneVertices(r.stderr).filter((n) => /RUN|COPY/.test(n));
    expect(ran).toContain('[stage-1 6/6] RUN echo "spicy" > /flavor.txt');
    expect(cachedVertices(r.stderr)).toContain('[deps 2/2] RUN echo deps > /deps.txt');
  });

  it('--no-cache runs every step', async () => {
    const r = await buildOk(root, ctx, ['-t', 'c:6', '--no-cache']);
    expect(cachedVertices(r.stderr)).toEqual([]);
    expect(doneVertices(r.stderr).filter((n) => /RUN|COPY/.test(n))).toHaveLength(6);
  });
});

describe.skipIf(!isRoot)('build: layers of stages that are not exported', () => {
  it('no built layer gets a blob file (lazy blobs from snapshots); they serve the cache and a later build that exports them', async () => {
    const root = tmp('sc-root-');
    await importBusybox(root);
    const ctx = context({
      Dockerfile: `FROM busybox AS build
RUN mkdir /out && echo built > /out/a && dd if=/dev/zero of=/out/big bs=1k count=64 2>/dev/null
FROM busybox
COPY --from=build /out/a /a
`,
    });
    const { Store } = await import('../src/store/index.js');
    const { readdirSync, readFileSync } = await import('node:fs');
    const blobs = (): string[] => readdirSync(join(root, 'blobs/sha256'));
    const before = blobs().length;
    await buildOk(root, ctx, ['-t', 'lazy:final']);
    // the build wrote no layer blob: only the config and the manifest are new
    expect(blobs().length).toBe(before + 2);
    const recs = readdirSync(join(root, 'buildcache')).map((f) => JSON.parse(readFileSync(join(root, 'buildcache', f), 'utf8')) as { descriptor?: { digest: string }; diffId: string });
    expect(recs.length).toBeGreaterThan(0);
    for (const r of recs) expect(r.descriptor?.digest).toBe(r.diffId);
    // exporting the build stage now: all CACHED, and its layers are readable from their snapshots
    const r = await buildOk(root, ctx, ['-t', 'lazy:build', '--target', 'build']);
    expect(doneVertices(r.stderr).filter((n) => /RUN|COPY/.test(n))).toEqual([]);
    expect(blobs().length).toBe(before + 4);
    const store = await Store.open(root);
    const img = await store.resolveImage('lazy:build');
    expect(img).toBeDefined();
    for (const l of img!.manifest.layers) expect(store.canReadBlob(l.digest)).toBe(true);
    // the blob is the layer: its diffID matches the config's
    const { measureLayer } = await import('../src/image/index.js');
    const last = img!.manifest.layers[img!.manifest.layers.length - 1]!;
    expect(store.hasBlob(last.digest)).toBe(false);
    expect((await measureLayer(store.blobStream(last.digest))).diffId).toBe(img!.config.rootfs.diff_ids[img!.config.rootfs.diff_ids.length - 1]);
    // a record whose snapshot is gone (and that has no blob) is a miss, not a failure
    await buildOk(root, ctx, ['-t', 'lazy:final2', '--no-cache']);
    const { rmSync } = await import('node:fs');
    rmSync(join(root, 'snapshots'), { recursive: true, force: true });
    const ctx2 = context({ Dockerfile: `FROM busybox AS build\nRUN mkdir /out && echo other > /out/a\nFROM busybox\nCOPY --from=build /out/a /a\n` });
    await buildOk(root, ctx2, ['-t', 'lazy:o1']);
    rmSync(join(root, 'snapshots'), { recursive: true, force: true });
    const r3 = await buildOk(root, ctx2, ['-t', 'lazy:o2']);
    expect(doneVertices(r3.stderr).some((n) => /RUN mkdir/.test(n))).toBe(true);
  });
});

/**
 * Multi-stage builds on the busybox base: COPY --from by name and by index, FROM <stage>,
 * --target, unused stages skipped (even when their RUN would fail), the final tree and config,
 * and the per-layer attribution annotations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, context, imageConfig, imageManifest, imageTree, runInImage } from './helpers/build.js';

const DOCKERFILE = `FROM busybox AS base
RUN mkdir -p /data && echo base > /data/base.txt

FROM base AS build
WORKDIR /src
COPY app.txt ./
RUN cat app.txt > /src/out.txt && echo extra >> /src/out.txt

FROM busybox AS broken
RUN echo never-run-marker && exit 42

FROM busybox
COPY --from=build /src/out.txt /app/
COPY --from=0 /data/base.txt /app/base.txt
CMD ["cat", "/app/out.txt"]
`;

describe.skipIf(!isRoot)('build: multi-stage', () => {
  let root: string;
  let ctx: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    ctx = context({ Dockerfile: DOCKERFILE, 'app.txt': 'hello from context\n' });
  });

  it('builds only what the target needs, copies by name and index, skips the broken stage', async () => {
    const r = await buildOk(root, ctx, ['-t', 'ms:final']);
    expect(r.stderr).not.toContain('never-run-marker');
    expect(r.stderr).not.toContain('[broken');
    expect(r.stderr).toContain('[build 1/3] WORKDIR /src');
    expect(r.stderr).toMatch(/\[stage-3 2\/3\] COPY --from=build \/src\/out.txt \/app\//);
    expect(r.stdout).toBe(''); // like docker build: the ID only with -q

    const tree = await imageTree(root, 'ms:final');
    expect(readFileSync(join(tree, 'app/out.txt'), 'utf8')).toBe('hello from context\nextra\n');
    expect(readFileSync(join(tree, 'app/base.txt'), 'utf8')).toBe('base\n');
    // nothing of the build stages leaks: /src and /data exist only in the build stages
    expect(existsSync(join(tree, 'src'))).toBe(false);
    expect(existsSync(join(tree, 'data'))).toBe(false);

    const cfg = await imageConfig(root, 'ms:final');
    expect(cfg.config?.Cmd).toEqual(['cat', '/app/out.txt']);
    expect(cfg.config?.WorkingDir).toBeUndefined(); // the base has none and no WORKDIR ran
    expect(cfg.rootfs.diff_ids).toHaveLength(3); // busybox + two COPY layers
    const created = (cfg.history ?? []).map((h) => h.created_by);
    expect(created).toContain('COPY /src/out.txt /app/ # buildkit');
    expect(created).toContain('COPY /data/base.txt /app/base.txt # buildkit');

    const run = await runInImage(root, 'ms:final');
    expect(run.output).toBe('hello from context\nextra\n');
  });

  it('records per-layer attribution (stage, line, instruction, COPY --from source and paths)', async () => {
    const m = await imageManifest(root, 'ms:final');
    const ann = m.layers.map((l) => l.annotations ?? {});
    expect(ann[0]['dev.stagecraft.attribution']).toBeUndefined(); // base image layer
    const a1 = JSON.parse(ann[1]['dev.stagecraft.attribution']);
    expect(a1).toEqual({
      stage: 'stage-3',
      stageIndex: 3,
      line: 13,
      instruction: 'COPY --from=build /src/out.txt /app/',
      from: 'build',
      paths: ['/src/out.txt'],
    });
    expect(ann[1]['dev.stagecraft.line']).toBe('13');
    expect(ann[1]['dev.stagecraft.from']).toBe('build');
    const a2 = JSON.parse(ann[2]['dev.stagecraft.attribution']);
    expect(a2.from).toBe('0');
    expect(a2.line).toBe(14);
  });

  it('--target builds an intermediate stage (FROM <stage> inherits layers and config)', async () => {
    const r = await buildOk(root, ctx, ['-t', 'ms:build', '--target', 'build']);
    expect(r.stderr).not.toContain('stage-3');
    const cfg = await imageConfig(root, 'ms:build');
    expect(cfg.config?.WorkingDir).toBe('/src');
    // busybox + base RUN + WORKDIR + COPY + RUN
    expect(cfg.rootfs.diff_ids).toHaveLength(5);
    const tree = await imageTree(root, 'ms:build');
    expect(readFileSync(join(tree, 'src/out.txt'), 'utf8')).toBe('hello from context\nextra\n');
    expect(readFileSync(join(tree, 'data/base.txt'), 'utf8')).toBe('base\n');
    const m = await imageManifest(root, 'ms:build');
    const stages = m.layers.map((l) => l.annotations?.['dev.stagecraft.stage']);
    expect(stages).toEqual([undefined, 'base', 'build', 'build', 'build']);
  });

  it('building the broken stage as the target fails', async () => {
    const r = await buildCli(root, ctx, ['--target', 'broken']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('exit code: 42');
  });

  it('COPY --from a stage defined later is an error', async () => {
    const c = context({ Dockerfile: 'FROM busybox AS first\nCOPY --from=later /x /x\nFROM busybox AS later\n' });
    const r = await buildCli(root, c, ['--target', 'first']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot copy from stage "later", it needs to be defined before current stage "first"');
    const last = r.stderr.trim().split('\n').pop() as string;
    expect(last).toMatch(/^Dockerfile:2:1: cannot copy from stage "later"/);
  });
});

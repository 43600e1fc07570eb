/**
 * Named build contexts (`--build-context NAME=SOURCE`) as BuildKit resolves them: a named context
 * replaces a stage of the same name everywhere — COPY --from, every RUN --mount kind's from=, and
 * FROM — and the stage itself is not built. The step's cache key comes from what is really
 * mounted, so a change to the directory re-runs the step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, cachedVertices, context, doneVertices, imageTree } from './helpers/build.js';

describe.skipIf(!isRoot)('build: named build contexts', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
  });

  it('a named context replaces the stage of the same name for COPY --from and every mount kind', async () => {
    const dir = context({ f: 'from-dir\n' });
    const df = `FROM busybox AS foo
RUN echo from-stage > /f

FROM busybox
RUN --mount=type=bind,from=foo,target=/m cp /m/f /out-bind
RUN --mount=type=cache,id=nc-cache-${Date.now()},from=foo,target=/c cp /c/f /out-cache
COPY --from=foo /f /out-copy
`;
    const ctx = context({ Dockerfile: df });
    const r = await buildOk(root, ctx, ['-t', 'nc:1', '--build-context', `foo=${dir}`]);
    // the replaced stage is not built
    expect(doneVertices(r.stderr).some((v) => v.includes('echo from-stage'))).toBe(false);
    let tree = await imageTree(root, 'nc:1');
    for (const f of ['out-bind', 'out-cache', 'out-copy']) expect(readFileSync(join(tree, f), 'utf8')).toBe('from-dir\n');

    // a change to the directory re-runs the steps (no stale CACHED output)
    writeFileSync(join(dir, 'f'), 'changed\n');
    await buildOk(root, ctx, ['-t', 'nc:2', '--build-context', `foo=${dir}`]);
    tree = await imageTree(root, 'nc:2');
    for (const f of ['out-bind', 'out-copy']) expect(readFileSync(join(tree, f), 'utf8')).toBe('changed\n');
  });

  it('FROM <name> takes the named context, not the stage of that name', async () => {
    const df = `FROM busybox AS base
RUN echo stage > /made-by-stage

FROM base
RUN echo child > /child
`;
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'nc:from', '--build-context', 'base=docker-image://busybox:latest']);
    const tree = await imageTree(root, 'nc:from');
    expect(existsSync(join(tree, 'made-by-stage'))).toBe(false);
    expect(readFileSync(join(tree, 'child'), 'utf8')).toBe('child\n');
  });
  it('a named directory is read as BuildKit reads one: its own .dockerignore applies; only what a step reads keys it', async () => {
    const dir = context({ keep: 'keep\n', other: 'o\n', drop: 'drop\n', 'sub/x': 'x\n', '.dockerignore': 'drop\nsub\n' });
    const df = `FROM busybox
COPY --from=foo /keep /keep
COPY --from=foo / /all/
`;
    const ctx = context({ Dockerfile: df });
    const args = ['-t', 'nc:ign', '--build-context', `foo=${dir}`];
    await buildOk(root, ctx, args);
    const tree = await imageTree(root, 'nc:ign');
    // Docker 26.1's BuildKit: COPY --from=foo / sees .dockerignore and keep/other, not drop or sub/
    expect(readdirSync(join(tree, 'all')).sort()).toEqual(['.dockerignore', 'keep', 'other']);
    // an ignored file's change keys nothing: everything is CACHED
    writeFileSync(join(dir, 'drop'), 'changed\n');
    let r = await buildOk(root, ctx, args);
    expect(cachedVertices(r.stderr).filter((v) => v.includes('COPY --from=foo'))).toHaveLength(2);
    // a change COPY / reads re-runs it; COPY /keep, which does not read it, stays CACHED
    writeFileSync(join(dir, 'other'), 'o2\n');
    r = await buildOk(root, ctx, args);
    expect(cachedVertices(r.stderr).filter((v) => v.includes('COPY --from=foo'))).toEqual([expect.stringContaining('COPY --from=foo /keep /keep')]);
    // a missing directory: buildx's one line
    const bad = await buildCli(root, ctx, ['--build-context', `foo=${dir}-nope`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`failed to get build context foo: stat ${dir}-nope: no such file or directory`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

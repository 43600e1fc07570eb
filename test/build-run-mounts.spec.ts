/**
 * RUN --mount: cache mounts persist in the store between builds (and stay out of the layers),
 * bind mounts from the context and from a stage (read-only by default, writes discarded with rw),
 * tmpfs; and independent stages run concurrently (proved by two stages that each wait for a file
 * the other one writes into a shared cache mount: run one after the other, both would time out).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, isRoot, tmp } from './helpers/index.js';
import { buildCli, buildOk, context, imageTree, layerEntries } from './helpers/build.js';

describe.skipIf(!isRoot)('build: RUN --mount', () => {
  let root: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
  });

  it('type=cache persists across builds, is not part of the layer', async () => {
    const df = `FROM busybox
ARG N
RUN --mount=type=cache,target=/var/cache/thing sh -c 'echo run-$N >> /var/cache/thing/log; cat /var/cache/thing/log > /seen'
`;
    const ctx = context({ Dockerfile: df });
    await buildOk(root, ctx, ['-t', 'cache:1', '--build-arg', 'N=1']);
    await buildOk(root, ctx, ['-t', 'cache:2', '--build-arg', 'N=2']);
    const tree = await imageTree(root, 'cache:2');
    expect(readFileSync(join(tree, 'seen'), 'utf8')).toBe('run-1\nrun-2\n');
    expect(existsSync(join(tree, 'var/cache/thing/log'))).toBe(false);
    const layers = await layerEntries(root, 'cache:2');
    expect(layers[layers.length - 1].map((e) => e.path).filter((p) => p.includes('thing'))).toEqual([]);
  });

  it('type=bind from the context (read-only) and from a stage; rw writes are discarded; tmpfs', async () => {
    const df = `FROM busybox AS tools
RUN mkdir /tools && echo 'echo tool-output' > /tools/tool.sh

FROM busybox
RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/in.txt > /from-context.txt
RUN --mount=type=bind,source=data,target=/mnt/data sh -c 'touch /mnt/data/x 2>/dev/null && echo writable > /ro-check || echo readonly > /ro-check'
RUN --mount=type=bind,source=data,target=/mnt/data,rw sh -c 'echo scribble > /mnt/data/in.txt && cat /mnt/data/in.txt > /rw-check'
RUN --mount=type=bind,from=tools,source=/tools,target=/t sh /t/tool.sh > /from-stage.txt
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo tmp > /scratch/f && grep -q tmpfs /proc/mounts && cat /scratch/f > /tmpfs-check'
`;
    const ctx = context({ Dockerfile: df, 'data/in.txt': 'context data\n' });
    await buildOk(root, ctx, ['-t', 'bind:t']);
    const tree = await imageTree(root, 'bind:t');
    expect(readFileSync(join(tree, 'from-context.txt'), 'utf8')).toBe('context data\n');
    expect(readFileSync(join(tree, 'ro-check'), 'utf8')).toBe('readonly\n');
    expect(readFileSync(join(tree, 'rw-check'), 'utf8')).toBe('scribble\n');
    expect(readFileSync(join(ctx, 'data/in.txt'), 'utf8')).toBe('context data\n'); // rw writes discarded
    expect(readFileSync(join(tree, 'from-stage.txt'), 'utf8')).toBe('tool-output\n');
    expect(readFileSync(join(tree, 'tmpfs-check'), 'utf8')).toBe('tmp\n');
    // mount points leave no trace in the layers
    expect(existsSync(join(tree, 'mnt/data'))).toBe(false);
    expect(existsSync(join(tree, 't'))).toBe(false);
    expect(existsSync(join(tree, 'scratch'))).toBe(false);
  });

  it('runs independent stages concurrently', async () => {
    const wait = (me: string, other: string): string =>
      `RUN --mount=type=cache,target=/shared,id=rendezvous sh -c 'touch /shared/${me}; i=0; while [ ! -f /shared/${other} ]; do i=$((i+1)); [ $i -gt 150 ] && exit 7; sleep 0.1; done; echo met > /${me}'`;
    const df = `FROM busybox AS a
${wait('a', 'b')}

FROM busybox AS b
${wait('b', 'a')}

FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
`;
    const fresh = tmp('sc-root-');
    await importBusybox(fresh);
    const ctx = context({ Dockerfile: df });
    const r = await buildCli(fresh, ctx, ['-t', 'par:t']);
    expect(r.stderr).not.toContain('exit code: 7');
    expect(r.code).toBe(0);
    const tree = await imageTree(fresh, 'par:t');
    expect(readFileSync(join(tree, 'a'), 'utf8')).toBe('met\n');
    expect(readFileSync(join(tree, 'b'), 'utf8')).toBe('met\n');
  });

  it('sharing=locked serialises concurrent users of one cache mount', async () => {
    const step = (me: string): string =>
      `RUN --mount=type=cache,target=/c,id=locked-one,sharing=locked sh -c 'echo start-${me} >> /c/log; sleep 1; echo end-${me} >> /c/log; cp /c/log /log-${me}'`;
    const df = `FROM busybox AS a
${step('a')}
FROM busybox AS b
${step('b')}
FROM busybox
COPY --from=a /log-a /log-a
COPY --from=b /log-b /log-b
`;
    const fresh = tmp('sc-root-');
    await importBusybox(fresh);
    await buildOk(fresh, context({ Dockerfile: df }), ['-t', 'locked:t']);
    const tree = await imageTree(fresh, 'locked:t');
    const logs = [readFileSync(join(tree, 'log-a'), 'utf8'), readFileSync(join(tree, 'log-b'), 'utf8')];
    const full = logs.sort((x, y) => y.length - x.length)[0].trim().split('\n');
    // never start-x start-y: one finished before the other began
    expect(full).toHaveLength(4);
    expect(full[0].replace('start-', '')).toBe(full[1].replace('end-', ''));
    expect(full[2].replace('start-', '')).toBe(full[3].replace('end-', ''));
  });
  it('type=cache,from=SRC,source=PATH is seeded from SRC (BuildKit)', async () => {
    const df = `FROM busybox AS seed
RUN mkdir -p /seed && echo seeded > /seed/s

FROM busybox
RUN --mount=type=cache,id=seeded-${Date.now()},from=seed,source=/seed,target=/c cat /c/s > /out
`;
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'cachefrom:t']);
    const tree = await imageTree(root, 'cachefrom:t');
    expect(readFileSync(join(tree, 'out'), 'utf8')).toBe('seeded\n');
  });

  it('bind mounts and cache seeds of the context leave out what .dockerignore excludes (as BuildKit, checked against Docker 26.1)', async () => {
    const files = {
      '.dockerignore': 'secret.txt\nsub/hidden\n',
      'secret.txt': 's\n',
      'keep.txt': 'k\n',
      'sub/hidden': 'h\n',
      'sub/visible': 'v\n',
    };
    const df = `FROM busybox
RUN --mount=type=bind,target=/ctx find /ctx | sort > /all
RUN --mount=type=bind,source=sub,target=/s,rw sh -c 'find /s | sort > /sub; echo w > /s/written'
RUN --mount=type=cache,id=ctxseed-${Date.now()},from=named,target=/c find /c | sort > /seed
`;
    const named = context({ '.dockerignore': 'hidden\n', hidden: 'h\n', shown: 'v\n' });
    const ctx = context({ ...files, Dockerfile: df });
    await buildOk(root, ctx, ['-t', 'bindignore:t', '--build-context', `named=${named}`]);
    const tree = await imageTree(root, 'bindignore:t');
    const f = (n: string): string => readFileSync(join(tree, n), 'utf8');
    expect(f('all')).toBe(['/ctx', '/ctx/.dockerignore', '/ctx/Dockerfile', '/ctx/keep.txt', '/ctx/sub', '/ctx/sub/visible', ''].join('\n'));
    expect(f('sub')).toBe('/s\n/s/visible\n');
    expect(existsSync(join(ctx, 'sub', 'written'))).toBe(false);
    expect(f('seed')).toBe('/c\n/c/.dockerignore\n/c/shown\n');
    // an excluded path does not exist for a bind either
    const bad = await buildCli(root, context({ ...files, Dockerfile: 'FROM busybox\nRUN --mount=type=bind,source=secret.txt,target=/s cat /s\n' }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/failed to compute cache key: "secret\.txt" not found/);
  });

  it('cache mounts that differ in uid, gid or mode are separate caches (BuildKit)', async () => {
    const id = `owners-${Date.now()}`;
    const df = `FROM busybox
RUN --mount=type=cache,id=${id},target=/c,uid=1 sh -c 'stat -c %u /c > /a; touch /c/by-uid1'
RUN --mount=type=cache,id=${id},target=/c,uid=2 sh -c 'stat -c %u /c > /b; ls /c > /lsb'
RUN --mount=type=cache,id=${id},target=/c,uid=2,mode=0700 sh -c 'stat -c %a /c > /m; ls /c > /lsm'
RUN --mount=type=cache,id=${id},target=/c,uid=1 sh -c 'ls /c > /lsa'
`;
    await buildOk(root, context({ Dockerfile: df }), ['-t', 'cacheowners:t']);
    const tree = await imageTree(root, 'cacheowners:t');
    const f = (n: string): string => readFileSync(join(tree, n), 'utf8');
    expect(f('a')).toBe('1\n');
    expect(f('b')).toBe('2\n');
    expect(f('lsb')).toBe('');
    expect(f('m')).toBe('700\n');
    expect(f('lsm')).toBe('');
    expect(f('lsa')).toBe('by-uid1\n');
  });
});

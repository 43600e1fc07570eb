/**
 * COPY between stages and from the context, checked in the final tree and in the layers:
 * directory contents vs a file, trailing-slash destinations, globs, symlinks and hard links kept
 * across stages, --chown/--chmod, WORKDIR creation, whiteouts and opaque directories made by a
 * later RUN, .dockerignore, heredoc COPY.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { lstatSync, readFileSync, readlinkSync, existsSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotterKind } from '../src/worker/snapshot/index.js';
import { importBusybox, tmp } from './helpers/index.js';
import { canBuild } from './helpers/rootless.js';
import { buildCli, buildOk, context, imageConfig, imageTree, layerEntries } from './helpers/build.js';

const DOCKERFILE = `FROM busybox AS prep
RUN mkdir -p /stuff/dir/sub && echo f1 > /stuff/dir/f1 && echo s > /stuff/dir/sub/s \\
 && ln -s f1 /stuff/dir/link && ln /stuff/dir/f1 /stuff/dir/hard \\
 && echo x > /stuff/a.log && echo y > /stuff/b.log && echo z > /stuff/c.txt \\
 && chown 1000:1000 /stuff/dir/sub/s

FROM busybox
COPY --from=prep /stuff/dir /contents
COPY --from=prep /stuff/dir/f1 /single/
COPY --from=prep /stuff/dir/f1 /renamed
COPY --from=prep /stuff/*.log /logs/
COPY --chown=app:app --chmod=640 ctx.txt /owned/ctx.txt
COPY ctxdir /ctxdir
COPY ctxdir /keepdir/ctxdir/
WORKDIR /created/deep/dir
COPY <<EOF rel.txt
relative to workdir
EOF
RUN rm /contents/sub/s && rm -rf /logs && mkdir /logs && echo new > /logs/only
`;

describe.skipIf(!canBuild)('build: COPY', () => {
  let root: string;
  let tree: string;
  beforeAll(async () => {
    root = tmp('sc-root-');
    await importBusybox(root);
    const ctx = context({
      Dockerfile: DOCKERFILE,
      'ctx.txt': 'ctx\n',
      'ctxdir/a': 'a\n',
      'ctxdir/nested/b': 'b\n',
      'ctxdir/ignored.tmp': 'secret-ish\n',
      '.dockerignore': '**/*.tmp\n',
    });
    await buildOk(root, ctx, ['-t', 'copy:t']);
    tree = await imageTree(root, 'copy:t');
  });

  it('copies a directory’s contents, a file into a dir, a file to a new name', () => {
    expect(readFileSync(join(tree, 'contents/f1'), 'utf8')).toBe('f1\n');
    expect(statSync(join(tree, 'contents/sub')).isDirectory()).toBe(true);
    expect(readFileSync(join(tree, 'single/f1'), 'utf8')).toBe('f1\n');
    expect(lstatSync(join(tree, 'renamed')).isFile()).toBe(true);
    expect(readFileSync(join(tree, 'ctxdir/nested/b'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(tree, 'keepdir/ctxdir/a'), 'utf8')).toBe('a\n');
  });

  it('keeps symlinks as symlinks and hard links as hard links across stages', () => {
    expect(lstatSync(join(tree, 'contents/link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(tree, 'contents/link'))).toBe('f1');
    expect(lstatSync(join(tree, 'contents/hard')).ino).toBe(lstatSync(join(tree, 'contents/f1')).ino);
  });

  it('globs match files only at that level; stage files keep their owner', async () => {
    expect(readdirSync(join(tree, 'logs'))).toEqual(['only']);
    const layers = await layerEntries(root, 'copy:t');
    const globLayer = layers.find((l) => l.some((e) => e.path === 'logs/a.log'));
    expect(globLayer?.map((e) => e.path).filter((p) => p.startsWith('logs/') && !p.endsWith('/')).sort()).toEqual(['logs/a.log', 'logs/b.log']);
    const s = layers.flat().find((e) => e.path === 'contents/sub/s');
    expect(s?.uid).toBe(1000);
  });

  it('applies --chown (by name, resolved in the destination stage) and --chmod', async () => {
    // the layer's own entry: a rootless test process could not chown an extracted tree
    const e = (await layerEntries(root, 'copy:t')).flat().filter((x) => x.path === 'owned/ctx.txt').pop()!;
    expect([e.uid, e.gid]).toEqual([1000, 1000]);
    expect(e.mode & 0o7777).toBe(0o640);
  });

  it('creates the WORKDIR and resolves relative destinations against it', async () => {
    expect(statSync(join(tree, 'created/deep/dir')).isDirectory()).toBe(true);
    expect(readFileSync(join(tree, 'created/deep/dir/rel.txt'), 'utf8')).toBe('relative to workdir\n');
    const cfg = await imageConfig(root, 'copy:t');
    expect(cfg.config?.WorkingDir).toBe('/created/deep/dir');
  });

  it('honours .dockerignore', () => {
    expect(existsSync(join(tree, 'ctxdir/ignored.tmp'))).toBe(false);
    expect(existsSync(join(tree, 'keepdir/ctxdir/ignored.tmp'))).toBe(false);
  });

  it('records deletions as whiteouts and a recreated directory as opaque', async () => {
    expect(existsSync(join(tree, 'contents/sub/s'))).toBe(false);
    const layers = await layerEntries(root, 'copy:t');
    const last = layers[layers.length - 1].map((e) => e.path);
    expect(last).toContain('contents/sub/.wh.s');
    if (snapshotterKind() === 'overlayfs') expect(last).toContain('logs/.wh..wh..opq');
    else expect(last).toEqual(expect.arrayContaining(['logs/.wh.a.log', 'logs/.wh.b.log'])); // the copying fallback
    expect(last).toContain('logs/only');
    // the RUN layer holds only what the RUN changed
    expect(last.filter((p) => p.startsWith('bin/'))).toEqual([]);
  });
  it('COPY with a wildcard fails like BuildKit when a matched dir holds a symlink whose target .dockerignore removed', async () => {
    const ctx = context({ Dockerfile: 'FROM busybox\nCOPY * /dest/\n', 'dir/real': 'r\n', 'secret.txt': 's\n', '.dockerignore': 'secret.txt\n' });
    symlinkSync('../secret.txt', join(ctx, 'dir/link'));
    const r = await buildCli(root, ctx, ['-t', 'copy:dangling']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/failed to compute cache key: .*not found/);
    // without a wildcard the symlink is copied as it is
    const ok = context({ Dockerfile: 'FROM busybox\nCOPY dir /dest/\n', 'dir/real': 'r\n', 'secret.txt': 's\n', '.dockerignore': 'secret.txt\n' });
    symlinkSync('../secret.txt', join(ok, 'dir/link'));
    await buildOk(root, ok, ['-t', 'copy:literal']);
    expect(readlinkSync(join(await imageTree(root, 'copy:literal'), 'dest/link'))).toBe('../secret.txt');
  });
});

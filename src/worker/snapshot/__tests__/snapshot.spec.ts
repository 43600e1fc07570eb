import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, tmp } from '../../../../test/helpers/index.js';
import { mountOverlay, type Mounted } from '../index.js';

const mounted: Mounted[] = [];
afterEach(async () => {
  for (const m of mounted.splice(0)) await m.unmount().catch(() => {});
});

function whiteout(p: string) {
  execFileSync('mknod', [p, 'c', '0', '0']);
}
function isWhiteout(p: string) {
  const st = lstatSync(p);
  return st.isCharacterDevice() && st.rdev === 0;
}
function tree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = lstatSync(join(dir, r));
    out.push(st.isDirectory() ? `${r}/` : isWhiteout(join(dir, r)) ? `${r} (wh)` : r);
    if (st.isDirectory()) out.push(...tree(dir, r));
  }
  return out;
}

function layers() {
  const base = tmp('sc-snap-');
  const l1 = join(base, 'l1');
  const l2 = join(base, 'l2');
  for (const d of ['a', 'b', 'big']) mkdirSync(join(l1, d), { recursive: true });
  writeFileSync(join(l1, 'a/file1'), 'one');
  writeFileSync(join(l1, 'a/file2'), 'two');
  writeFileSync(join(l1, 'b/x'), 'x');
  writeFileSync(join(l1, 'keep'), 'keep');
  for (let i = 0; i < 200; i++) writeFileSync(join(l1, 'big', `f${i}`), 'data');
  mkdirSync(join(l2, 'a'), { recursive: true });
  mkdirSync(join(l2, 'b'));
  mkdirSync(join(l2, 'c'));
  whiteout(join(l2, 'a/file2'));
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(l2, 'b')]);
  writeFileSync(join(l2, 'b/y'), 'y');
  writeFileSync(join(l2, 'c/new'), 'new');
  return { base, l1, l2 };
}

describe.skipIf(!isRoot).each(['overlayfs', 'fuse-overlayfs', 'native'] as const)('snapshotter %s', (kind) => {
  const withKind = async <T>(fn: () => Promise<T>) => {
    const prev = process.env.STAGECRAFT_SNAPSHOTTER;
    process.env.STAGECRAFT_SNAPSHOTTER = kind;
    try {
      return await fn();
    } finally {
      if (prev === undefined) delete process.env.STAGECRAFT_SNAPSHOTTER;
      else process.env.STAGECRAFT_SNAPSHOTTER = prev;
    }
  };

  it('merges lowers bottom→top with whiteouts and opaque dirs', async () => {
    const { base, l1, l2 } = layers();
    const m = await withKind(() => mountOverlay([l1, l2], join(base, 'upper')));
    mounted.push(m);
    expect(m.kind).toBe(kind);
    expect(readFileSync(join(m.root, 'a/file1'), 'utf8')).toBe('one');
    expect(existsSync(join(m.root, 'a/file2'))).toBe(false);
    expect(readdirSync(join(m.root, 'b'))).toEqual(['y']);
    expect(readFileSync(join(m.root, 'c/new'), 'utf8')).toBe('new');
    await m.unmount();
  });

  it('the upper holds exactly the changes, as an overlay diff', async () => {
    const { base, l1, l2 } = layers();
    const upper = join(base, 'upper');
    const m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    writeFileSync(join(m.root, 'a/file3'), 'three');
    writeFileSync(join(m.root, 'a/file1'), 'ONE');
    rmSync(join(m.root, 'keep'));
    rmSync(join(m.root, 'c'), { recursive: true });
    mkdirSync(join(m.root, 'd'));
    await m.unmount();
    expect(existsSync(m.root)).toBe(false);
    expect(tree(upper)).toEqual(['a/', 'a/file1', 'a/file3', 'c (wh)', 'd/', 'keep (wh)']);
    expect(readFileSync(join(upper, 'a/file1'), 'utf8')).toBe('ONE');
  });

  // the form of a store where mknod of 0/0 is refused (upper.ts); the kernel's overlayfs never meets it
  it.skipIf(kind === 'overlayfs')('a .wh.NAME file whiteout in a lower or an earlier upper hides NAME; making NAME again drops it', async () => {
    const { base, l1, l2 } = layers();
    writeFileSync(join(l2, '.wh.keep'), '');
    const upper = join(base, 'upper');
    mkdirSync(join(upper, 'a'), { recursive: true });
    writeFileSync(join(upper, 'a/.wh.file1'), '');
    const m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    expect(existsSync(join(m.root, 'keep'))).toBe(false);
    expect(existsSync(join(m.root, '.wh.keep'))).toBe(false);
    expect(readdirSync(join(m.root, 'a'))).toEqual([]);
    writeFileSync(join(m.root, 'a/file1'), 'again');
    await m.unmount();
    expect(tree(upper)).toEqual(['a/', 'a/file1']);
  });

  it('an upper from an earlier mount applies again (a container started twice)', async () => {
    const { base, l1, l2 } = layers();
    const upper = join(base, 'upper');
    let m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    writeFileSync(join(m.root, 'first'), '1');
    rmSync(join(m.root, 'keep'));
    await m.unmount();
    m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    expect(readFileSync(join(m.root, 'first'), 'utf8')).toBe('1');
    expect(existsSync(join(m.root, 'keep'))).toBe(false);
    writeFileSync(join(m.root, 'second'), '2');
    await m.unmount();
    expect(tree(upper)).toEqual(['first', 'keep (wh)', 'second']);
  });

  it('a dir deleted in one mount and re-created in the next hides the lower children', async () => {
    const { base, l1, l2 } = layers();
    const upper = join(base, 'upper');
    let m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    rmSync(join(m.root, 'big'), { recursive: true });
    await m.unmount();
    expect(isWhiteout(join(upper, 'big'))).toBe(true);
    m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    mkdirSync(join(m.root, 'big'));
    writeFileSync(join(m.root, 'big', 'only'), '1');
    await m.unmount();
    // the upper is in the overlay format whatever wrote it (fuse-overlayfs' own .wh..wh..opq is rewritten)
    expect(tree(upper).filter((p) => p.startsWith('big'))).toEqual(['big/', 'big/only']);
    expect(execFileSync('getfattr', ['-h', '--only-values', '-n', 'trusted.overlay.opaque', join(upper, 'big')], { encoding: 'utf8' })).toBe('y');
    m = await withKind(() => mountOverlay([l1, l2], upper));
    mounted.push(m);
    expect(readdirSync(join(m.root, 'big'))).toEqual(['only']);
    await m.unmount();
  });

  it('mounts with no lowers (FROM scratch)', async () => {
    const base = tmp('sc-snap-');
    const m = await withKind(() => mountOverlay([], join(base, 'upper')));
    mounted.push(m);
    writeFileSync(join(m.root, 'hello'), 'hi');
    await m.unmount();
    expect(tree(join(base, 'upper'))).toEqual(['hello']);
  });
});

describe.skipIf(!isRoot)('overlayfs lowerdir length', () => {
  it('mounts 120 lowers with long paths (beyond the one-page option limit)', async () => {
    const base = tmp('sc-snap-');
    const long = join(base, 'x'.repeat(100));
    const lowers: string[] = [];
    for (let i = 0; i < 120; i++) {
      const d = join(long, `layer-with-a-long-name-${String(i).padStart(4, '0')}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}`), String(i));
      writeFileSync(join(d, 'top'), String(i));
      lowers.push(d);
    }
    expect(lowers.join(':').length).toBeGreaterThan(4096);
    const prev = process.env.STAGECRAFT_SNAPSHOTTER;
    process.env.STAGECRAFT_SNAPSHOTTER = 'overlayfs';
    const m = await mountOverlay(lowers, join(base, 'upper')).finally(() => {
      if (prev === undefined) delete process.env.STAGECRAFT_SNAPSHOTTER;
      else process.env.STAGECRAFT_SNAPSHOTTER = prev;
    });
    mounted.push(m);
    expect(readFileSync(join(m.root, 'top'), 'utf8')).toBe('119');
    expect(readdirSync(m.root)).toHaveLength(121);
    await m.unmount();
  });
});

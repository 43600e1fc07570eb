/**
 * Concurrent stagecraft processes on one store: tags set in parallel are all kept (index updates
 * are serialized by the cross-process lock), parallel imports of the same content share blobs, and
 * the store is clean afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../src/store/index.js';
import { busyboxRootfsTar, cli, importBusybox, runCli, tmp } from './helpers/index.js';

describe('concurrent processes', () => {
  it('never lose an index update', async () => {
    const root = tmp();
    await importBusybox(root);
    const n = 10;
    await Promise.all(Array.from({ length: n }, (_, i) => cli(['tag', 'busybox', `t${i}:v`], { root })));
    await Promise.all(Array.from({ length: 4 }, (_, i) => cli(['import', busyboxRootfsTar(), `imp${i}:v`], { root })));
    const out = (await cli(['images'], { root })).stdout;
    for (let i = 0; i < n; i++) expect(out).toMatch(new RegExp(`^t${i} +v `, 'm'));
    for (let i = 0; i < 4; i++) expect(out).toMatch(new RegExp(`^imp${i} +v `, 'm'));
    // tag and rmi racing each other still leave a consistent store
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => cli(['rmi', `t${i}:v`], { root })),
      ...Array.from({ length: 5 }, (_, i) => cli(['tag', 'busybox', `u${i}`], { root })),
    ]);
    const after = (await cli(['images'], { root })).stdout;
    for (let i = 0; i < 5; i++) {
      expect(after).not.toMatch(new RegExp(`^t${i} `, 'm'));
      expect(after).toMatch(new RegExp(`^u${i} +latest `, 'm'));
    }
    expect((await cli(['system', 'fsck'], { root })).stdout).toMatch(/is clean/);
  });

  it('prune running beside an import never deletes the blobs that import is about to reference', async () => {
    const root = tmp();
    await importBusybox(root);
    const dir = tmp('sc-big-');
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    for (let i = 0; i < 12; i++) writeFileSync(join(tree, `f${i}`), randomBytes(1 << 20));
    execFileSync('tar', ['-C', tree, '-cf', join(dir, 'big.tar'), '.']);
    const imp = cli(['import', join(dir, 'big.tar'), 'big:1'], { root });
    let done = false;
    void imp.finally(() => (done = true));
    let prunes = 0;
    while (!done) {
      await cli(['system', 'prune'], { root });
      prunes++;
    }
    await imp;
    expect(prunes).toBeGreaterThan(0);
    await cli(['save', 'big:1', '-o', join(dir, 'big-save.tar')], { root }); // every blob is there
    expect((await cli(['system', 'fsck'], { root })).stdout).toMatch(/is clean/);
  });

  it('unpacks each layer snapshot once for concurrent callers', async () => {
    const root = tmp();
    await importBusybox(root);
    const [a, b] = await Promise.all([Store.open(root), Store.open(root)]);
    const img = await a.resolveImage('busybox');
    const res = await Promise.all([a.layerSnapshots(img!), b.layerSnapshots(img!), a.layerSnapshots(img!)]);
    expect(res[0]).toEqual(res[1]);
    expect(res[0]).toEqual(res[2]);
    expect(res[0]).toHaveLength(1);
    await a.release();
    await b.release();
  });

  it('without flock on PATH, a command that takes a store lock fails at once with one line', async () => {
    // a real PATH: every program of the host's bin directories but flock
    const bin = tmp('sc-noflock-');
    for (const d of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
      if (!existsSync(d)) continue;
      for (const n of readdirSync(d)) {
        if (n !== 'flock' && !existsSync(join(bin, n))) symlinkSync(join(d, n), join(bin, n));
      }
    }
    const root = tmp();
    const t0 = Date.now();
    const r = await runCli(['import', busyboxRootfsTar(), 'nf:1'], { root, env: { PATH: bin }, timeoutMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/flock \(util-linux\) is not installed or not on PATH/);
    expect(r.stderr).not.toMatch(/internal error|    at /);
  });
});

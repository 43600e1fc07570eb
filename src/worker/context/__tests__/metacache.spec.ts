/**
 * The build context's metadata cache (inode, size, mtime, ctime → content digest, kept in a file
 * between builds): an unchanged file is not read again, a rewritten one is noticed even when its
 * size and mtime are the same, and concurrent writers leave a valid cache.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContextMetaCache, hashPaths, loadContext, RACY_MS, useMetaCache } from '../index.js';
import { makeTree, tmpDir } from '../../fileops/__tests__/helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('context metadata cache', () => {
  it('serves unchanged files from the cache and notices a rewrite with the same size and mtime', async () => {
    const d = makeTree(tmpDir('sc-meta-'), { Dockerfile: 'FROM x\n', 'src/f': 'aaaa', 'src/g': 'bbbb' });
    const file = join(tmpDir('sc-meta-store-'), 'ctx');
    utimesSync(join(d, 'src/f'), 1_000_000, 1_000_000);
    await sleep(RACY_MS + 200); // older than the racy window, so the first build may record them

    const b1 = await loadContext(d);
    const m1 = useMetaCache(b1, file);
    const h0 = await hashPaths(b1, ['src']);
    expect(m1.misses).toBe(2);
    m1.save();

    // the next build takes both digests from the file (a poisoned entry proves f was not read)
    const b2 = await loadContext(d);
    const m2 = useMetaCache(b2, file);
    expect(await hashPaths(b2, ['src'])).toBe(h0);
    expect([m2.hits, m2.misses]).toEqual([2, 0]);
    const f = join(b1.dir, 'src/f');
    const realDigest = createHash('sha256').update('aaaa').digest('hex');
    expect(readFileSync(file, 'utf8')).toContain(realDigest);
    writeFileSync(file, readFileSync(file, 'utf8').split(realDigest).join('0'.repeat(64)));
    const b3 = await loadContext(d);
    useMetaCache(b3, file);
    expect(await hashPaths(b3, ['src'])).not.toBe(h0);

    // same size, mtime set back: only ctime tells; the cache must not answer
    const before = statSync(f);
    writeFileSync(f, 'AAAA');
    utimesSync(f, 1_000_000, 1_000_000);
    expect(statSync(f).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(f).size).toBe(before.size);
    const b4 = await loadContext(d);
    const m4 = useMetaCache(b4, file);
    const h4 = await hashPaths(b4, ['src']);
    expect(m4.misses).toBeGreaterThanOrEqual(1);
    expect(h4).not.toBe(h0);
    // and it is the hash of what is there now (a cache-free context over the same tree)
    const fresh = await loadContext(d);
    fresh.meta = ContextMetaCache.open(fresh.dir);
    expect(await hashPaths(fresh, ['src'])).toBe(h4);
  });

  it('does not save entries changed within the racy window', async () => {
    const d = makeTree(tmpDir('sc-meta-'), { Dockerfile: 'FROM x\n', f: 'x' });
    const file = join(tmpDir('sc-meta-store-'), 'ctx');
    const b = await loadContext(d);
    const m = useMetaCache(b, file);
    await hashPaths(b, ['f']);
    m.save();
    const again = ContextMetaCache.open(b.dir, file);
    expect(again.lookup(join(b.dir, 'f'), statSync(join(b.dir, 'f')))).toBeUndefined();
  });

  it('concurrent builds replace the file atomically; any last writer leaves a usable cache', async () => {
    const d = makeTree(tmpDir('sc-meta-'), { Dockerfile: 'FROM x\n', a: '1', b: '2' });
    const file = join(tmpDir('sc-meta-store-'), 'ctx');
    await sleep(RACY_MS + 200);
    const ctxs = await Promise.all([loadContext(d), loadContext(d), loadContext(d)]);
    const caches = ctxs.map((c) => useMetaCache(c, file));
    const hs = await Promise.all(ctxs.map((c, i) => hashPaths(c, i === 0 ? ['a'] : i === 1 ? ['b'] : ['a', 'b'])));
    for (const c of caches) c.save();
    const last = ContextMetaCache.open(ctxs[0]!.dir, file);
    const b = await loadContext(d);
    b.meta = last;
    expect(await hashPaths(b, ['a', 'b'])).toBe(hs[2]);
    expect(last.hits).toBe(2);
  });
});

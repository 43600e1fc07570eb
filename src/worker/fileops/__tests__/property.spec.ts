/**
 * Properties over random trees: a directory copy reproduces everything the content hash sees
 * (so hashPaths(source) === hashPaths(copy)), and any change to a file's content or mode changes
 * the hash.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync, lchownSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyFiles } from '../index.js';
import { hashPaths } from '../../context/index.js';
import { dumpTree, tmpDir } from './helpers.js';

type Node =
  | { kind: 'file'; name: string; content: string; mode: number; uid: number }
  | { kind: 'dir'; name: string; mode: number; children: Node[] }
  | { kind: 'link'; name: string; target: string };

const name = fc.constantFrom('a', 'b', 'c', '.h', 'x y', 'ü');
const mode = fc.constantFrom(0o644, 0o600, 0o755, 0o700, 0o4755, 0o1777);
const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ kind: fc.constant('file' as const), name, content: fc.string({ maxLength: 20 }), mode, uid: fc.constantFrom(0, 1, 1000) }),
  fc.record({ kind: fc.constant('link' as const), name, target: fc.constantFrom('a', '../a', '/etc/passwd', 'b/c', '../../../..') }),
);
const tree = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ kind: fc.constant('dir' as const), name, mode: fc.constantFrom(0o755, 0o700, 0o2775), children: fc.array(tie('node'), { maxLength: 4 }) }),
  ),
})).node;

function write(dir: string, nodes: Node[]): void {
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    const p = join(dir, n.name);
    if (n.kind === 'file') {
      writeFileSync(p, n.content);
      lchownSync(p, n.uid, n.uid);
      chmodSync(p, n.mode);
    } else if (n.kind === 'link') symlinkSync(n.target, p);
    else {
      mkdirSync(p);
      write(p, n.children);
      chmodSync(p, n.mode);
    }
  }
}

describe('copy/hash properties', () => {
  it('a copy hashes like its source; the tree is reproduced', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tree, { maxLength: 5 }), async (nodes) => {
        const src = tmpDir('sc-prop-src-');
        mkdirSync(join(src, 'd'), 0o755);
        write(join(src, 'd'), nodes);
        const dst = tmpDir('sc-prop-dst-');
        await copyFiles({ srcRoot: src, destRoot: dst, sources: ['d'], dest: '/d' });
        expect(dumpTree(dst)).toEqual(dumpTree(src));
        expect(await hashPaths(dst, ['d'], { includeOwnership: true })).toBe(await hashPaths(src, ['d'], { includeOwnership: true }));
      }),
      { numRuns: 60 },
    );
  });

  it('changing one file (content or mode) changes the hash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tree, { maxLength: 5 }), fc.boolean(), async (nodes, changeMode) => {
        const src = tmpDir('sc-prop-src-');
        mkdirSync(join(src, 'd'), 0o755);
        write(join(src, 'd'), [...nodes, { kind: 'file', name: 'zz', content: 'v1', mode: 0o644, uid: 0 }]);
        const before = await hashPaths(src, ['d']);
        if (changeMode) chmodSync(join(src, 'd/zz'), 0o755);
        else writeFileSync(join(src, 'd/zz'), 'v2');
        expect(await hashPaths(src, ['d'])).not.toBe(before);
      }),
      { numRuns: 30 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { humanSize } from '../../util/human.js';
import { compareImages } from '../compare.js';
import { findLeaks } from '../leaks.js';
import type { Attribution, ImageModel, LayerEntry, LayerModel } from '../model.js';
import { sizeReport } from '../size.js';
import { mergeLayers } from '../tree.js';

const f = (path: string, size: number, content?: string): LayerEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size, content });
const d = (path: string): LayerEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });

function layer(index: number, entries: LayerEntry[], attribution?: Attribution, createdBy = `step ${index}`): LayerModel {
  return { index, digest: `sha256:${index}`, diffId: `sha256:${index}`, compressedSize: 1, createdBy, attribution, entries };
}
const image = (name: string, layers: LayerModel[]): ImageModel => ({ name, id: name, layers, history: [] });

describe('merging layers', () => {
  it('applies whiteouts and opaque directories and counts the hidden bytes as waste', () => {
    const t = mergeLayers([
      layer(0, [d('a'), f('a/x', 100), f('a/y', 50), d('b'), f('b/z', 10), f('keep', 1)]),
      layer(1, [f('a/.wh.x', 0), d('b'), f('b/.wh..wh..opq', 0), f('b/new', 5), f('keep', 2)]),
    ]);
    expect([...t.nodes.keys()].sort()).toEqual(['a', 'a/y', 'b', 'b/new', 'keep']);
    expect(t.nodes.get('keep')?.layer).toBe(1);
    const waste = t.wasted.map((w) => `${w.path}:${w.how}:${w.size}`).sort();
    expect(waste).toEqual(['a/x:deleted:100', 'b/z:deleted:10', 'keep:overwritten:1']);
  });
  it('a file replacing a directory hides the directory contents', () => {
    const t = mergeLayers([layer(0, [d('p'), f('p/q', 7)]), layer(1, [f('p', 3)])]);
    expect([...t.nodes.keys()]).toEqual(['p']);
    expect(t.wasted).toHaveLength(1);
  });
});

describe('size accounting', () => {
  it('attributes visible bytes to stages, COPY --from to the source stage', () => {
    const img = image('app', [
      layer(0, [f('usr/bin/node', 1000)]),
      layer(1, [d('app'), f('app/dist/app.js', 40)], { stage: 'build', from: 'build', line: 12, instruction: 'COPY' }),
      layer(2, [f('app/package.json', 20)], { stage: 'final', line: 13 }),
    ]);
    const r = sizeReport(img);
    expect(r.finalBytes).toBe(1060);
    expect(r.efficiency).toBe(1);
    expect(Object.fromEntries(r.byStage.map((b) => [b.key, b.bytes]))).toEqual({ 'base image': 1000, build: 40, final: 20 });
    expect(r.layers[1].visibleBytes).toBe(40);
  });
  it('efficiency drops when a later layer deletes what an earlier one added', () => {
    const r = sizeReport(image('x', [layer(0, [f('big', 900), f('small', 100)]), layer(1, [f('.wh.big', 0)])]));
    expect(r.finalBytes).toBe(100);
    expect(r.wastedBytes).toBe(900);
    expect(r.efficiency).toBeCloseTo(0.1);
    expect(r.layers[0].wastedBytes).toBe(900);
  });
});

describe('leak detection', () => {
  it('finds devDependencies, caches, compilers and secrets, and nothing in a clean tree', () => {
    const pkg = JSON.stringify({ devDependencies: { typescript: '5', '@types/node': '20' }, dependencies: { left: '1' } });
    const t = mergeLayers([
      layer(0, [
        f('app/package.json', pkg.length, pkg),
        f('app/node_modules/typescript/lib/tsc.js', 5000),
        f('app/node_modules/@types/node/index.d.ts', 300),
        f('app/node_modules/left/index.js', 10),
        f('root/.npm/_cacache/content-v2/sha512/ab', 700),
        f('usr/lib/gcc/x86_64-linux-gnu/12/cc1', 9000),
        f('var/cache/apt/archives/gcc_12.deb', 4000),
        f('root/.ssh/id_rsa', 60, '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n'),
        f('app/.npmrc', 40, '//registry.npmjs.org/:_authToken=abc'),
        f('etc/ssl/certs/ca.pem', 2000),
      ]),
    ]);
    const leaks = findLeaks(t);
    const by = Object.fromEntries(leaks.map((l) => [l.what, l.bytes]));
    expect(by['typescript (devDependency)']).toBe(5000);
    expect(by['@types/node (devDependency)']).toBe(300);
    expect(by['npm cache']).toBe(700);
    expect(by['GCC toolchain']).toBe(9000);
    expect(by['apt package cache']).toBe(4000);
    expect(by['private key']).toBe(60);
    expect(by['npm auth token']).toBe(40);
    expect(leaks[0].severity).toBe('high');
    expect(leaks.some((l) => l.path.includes('left') || l.path.includes('ca.pem'))).toBe(false);
    expect(findLeaks(mergeLayers([layer(0, [f('bin/sh', 10), f('app/index.js', 5)])]))).toEqual([]);
  });
});

describe('comparing images', () => {
  it('flags the seed trap: a multi-stage image larger than the single-stage one', () => {
    const single = image('single', [layer(0, [f('usr/bin/python', 500)]), layer(1, [f('app/app.py', 10)], { stage: 'stage-0' })]);
    const multi = image('multi', [
      layer(0, [f('usr/bin/python', 500)]),
      layer(1, [f('usr/local/lib/site-packages/pandas.so', 60)], { stage: 'stage-1', from: 'build' }),
      layer(2, [f('app/app.py', 10)], { stage: 'stage-1' }),
      layer(3, [f('root/.cache/pip/wheel', 5)], { stage: 'build' }),
    ]);
    const c = compareImages(single, multi);
    expect(c.delta).toBe(65);
    expect(c.verdict[0]).toMatch(/^WARNING: the multi-stage image multi is 65B .* LARGER/);
    expect(c.verdict.join('\n')).toMatch(/multi carries 5B of build-time baggage \(pip cache\)/);
    expect(c.dirDiff[0]).toEqual({ dir: '/usr/local', a: 0, b: 60 });
  });
  it('says smaller when it is', () => {
    const a = image('a', [layer(0, [f('x', 100)])]);
    const b = image('b', [layer(0, [f('x', 40)])]);
    expect(compareImages(a, b).verdict[0]).toBe('b is 60B (60.0%) smaller than a.');
  });
  it('formats bytes like docker', () => {
    expect(humanSize(1_980_000)).toBe('1.98MB');
    expect(humanSize(288_000_000)).toBe('288MB');
    expect(humanSize(999)).toBe('999B');
  });
});

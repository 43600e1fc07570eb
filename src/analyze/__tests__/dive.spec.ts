import { describe, expect, it } from 'vitest';
import { evaluateCi, parseDiveCi, renderCiReport, DEFAULT_CI_RULES } from '../ci.js';
import { diveAnalysis, humanizeBytes, parseHumanBytes, type DiveAnalysis } from '../dive.js';
import type { LayerEntry, LayerModel } from '../model.js';
import { UserError } from '../../util/errors.js';

const f = (path: string, size: number): LayerEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size });
const d = (path: string): LayerEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
const h = (path: string, target: string): LayerEntry => ({ path, type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: target });
const layer = (index: number, entries: LayerEntry[]): LayerModel => ({ index, digest: `sha256:${index}`, diffId: '', compressedSize: 0, entries });

describe("dive's metrics (numbers worked out by hand from dive's efficiency.go)", () => {
  it('a deleted file: counted with 0 bytes under its path; wasted = every copy', () => {
    const a = diveAnalysis([layer(0, [d('a'), f('a/x', 100), f('a/y', 50)]), layer(1, [d('a'), f('a/.wh.x', 0), f('a/y', 20)])]);
    // paths: /a/x cum 100 min 0 (2 nodes); /a/y cum 70 min 20 (2 nodes)
    expect(a.efficiency).toBe(20 / 170);
    expect(a.wastedBytes).toBe(170);
    expect(a.sizeBytes).toBe(170);
    expect(a.userSizeBytes).toBe(20);
    expect(a.userWastedPercent).toBe(170 / 20);
    expect(a.inefficiencies.map((i) => [i.path, i.count, i.cumulativeSize])).toEqual([['/a/x', 2, 100], ['/a/y', 2, 70]]);
  });
  it('a deleted directory counts as its subtree, under the directory path, once', () => {
    const a = diveAnalysis([layer(0, [d('big'), d('big/sub'), f('big/sub/x', 700), f('big/y', 300), f('k', 5)]), layer(1, [f('.wh.big', 0)])]);
    // /big/sub/x 700, /big/y 300, /k 5 (leaves of layer 0); /big: whiteout leaf of 1000, seen once
    expect(a.efficiency).toBe(2005 / 2005);
    expect(a.wastedBytes).toBe(0);
    expect(a.userWastedPercent).toBeNaN(); // 0 / 0, as Go
  });
  it('opaque markers are dropped: they hide nothing', () => {
    const a = diveAnalysis([layer(0, [d('o'), f('o/a', 10)]), layer(1, [d('o'), f('o/.wh..wh..opq', 0), f('o/b', 4)])]);
    expect(a.efficiency).toBe(1);
    expect(a.wastedBytes).toBe(0);
    expect(a.layerSizes).toEqual([10, 4]);
  });
  it('hard links weigh 0; an empty directory is a leaf of 0 bytes', () => {
    const a = diveAnalysis([layer(0, [f('h1', 60), h('h2', 'h1'), d('e')]), layer(1, [f('.wh.h1', 0), d('e')])]);
    // /h1 cum 60 min 0 (2), /h2 0, /e 0 min 0 (2)
    expect(a.efficiency).toBe(0);
    expect(a.wastedBytes).toBe(60);
    expect(a.userWastedPercent).toBe(Infinity);
    expect(a.inefficiencies.map((i) => i.path)).toEqual(['/h1', '/e']);
  });
  it('a whiteout of a missing path ends that layer and leaves a -1 minimum, as dive', () => {
    const a = diveAnalysis([layer(0, [f('a', 10)]), layer(1, [f('.wh.nope', 0), f('z', 4)])]);
    // layer 1 walks '.wh.nope' first (byte order), fails; 'z' is never visited
    expect(a.efficiency).toBe((10 - 1) / 10);
  });
  it('overwritten files keep the smallest size seen', () => {
    const a = diveAnalysis([layer(0, [f('b', 3000)]), layer(1, [f('b', 4000)]), layer(2, [f('b', 2000)])]);
    expect(a.efficiency).toBe(2000 / 9000);
    expect(a.wastedBytes).toBe(9000);
    expect(a.userWastedPercent).toBe(9000 / 6000);
  });
});

describe("dive's units", () => {
  it('go-humanize Bytes and ParseBytes', () => {
    expect([0, 9, 10, 131, 999, 1000, 1234, 12_345, 19_000_000, 1e9].map(humanizeBytes)).toEqual(['0 B', '9 B', '10 B', '131 B', '999 B', '1.0 kB', '1.2 kB', '12 kB', '19 MB', '1.0 GB']);
    expect(parseHumanBytes('19Mb')).toBe(19_000_000);
    expect(parseHumanBytes('20MB')).toBe(20_000_000);
    expect(parseHumanBytes('1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseHumanBytes('42')).toBe(42);
    expect(() => parseHumanBytes('lots')).toThrow();
    expect(() => parseHumanBytes('5 parsecs')).toThrow(/unhandled size name: parsecs/);
  });
});

describe("dive's CI", () => {
  // the analysis behind dive's own snapshot (cmd/dive/cli/testdata/snapshots/cli_ci_test.snap, Test_CI_Fail)
  const snap: DiveAnalysis = {
    efficiency: 0.9999758,
    wastedBytes: 131,
    userWastedPercent: 0.7197802197802198,
    sizeBytes: 0,
    userSizeBytes: 182,
    layerSizes: [],
    inefficiencies: [
      { path: '/root/saved.txt', count: 3, cumulativeSize: 80, minSize: 0 },
      { path: '/root/example/somefile1.txt', count: 2, cumulativeSize: 34, minSize: 0 },
      { path: '/root/example/somefile3.txt', count: 2, cumulativeSize: 17, minSize: 0 },
      { path: '/root', count: 2, cumulativeSize: 0, minSize: 0 },
      { path: '/etc', count: 10, cumulativeSize: 0, minSize: 0 },
    ],
  };
  it('prints the report dive prints', () => {
    const ev = evaluateCi(snap, { lowestEfficiency: '0.9', highestWastedBytes: 'disabled', highestUserWastedPercent: '0.1' });
    expect(ev.pass).toBe(false);
    expect(renderCiReport(snap, ev)).toBe(`Analysis:
  efficiency:        100.00 %
  wastedBytes:       131 bytes (131 B)
  userWastedPercent: 71.98 %

Inefficient Files:
  Count  Wasted Space  File Path
  3      80 B          /root/saved.txt
  2      34 B          /root/example/somefile1.txt
  2      17 B          /root/example/somefile3.txt
  2      0 B           /root
  10     0 B           /etc

Evaluation:
  FAIL  highestUserWastedPercent (too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=0.72 > threshold=0.1))
  SKIP  highestWastedBytes (disabled)
  PASS  lowestEfficiency (0.9)

FAIL [pass:1 fail:1 skip:1]
`);
  });
  it('reads .dive-ci files (camelCase or kebab-case keys, comments, quotes) and rejects bad values', () => {
    const text = `rules:
  # If the efficiency is measured below X%, mark as failed.
  lowestEfficiency: 0.96
  highestWastedBytes: 19Mb # trailing comment
  highest-user-wasted-percent: "0.6"
other:
  lowestEfficiency: 0.1
`;
    expect(parseDiveCi(text)).toEqual({ lowestEfficiency: '0.96', highestWastedBytes: '19Mb', highestUserWastedPercent: '0.6' });
    expect(() => parseDiveCi('rules:\n  lowestEfficiency 0.9\n', 'x/.dive-ci')).toThrow(UserError);
    expect(() => evaluateCi(snap, { ...DEFAULT_CI_RULES, lowestEfficiency: '1.5' })).toThrow("lowestEfficiency config value is outside allowed range (0-1), given '1.500000'");
    expect(() => evaluateCi(snap, { ...DEFAULT_CI_RULES, highestWastedBytes: 'much' })).toThrow(/invalid highestWastedBytes config value, given "much"/);
    const off = evaluateCi(snap, { lowestEfficiency: 'off', highestWastedBytes: '100', highestUserWastedPercent: 'false' });
    expect(off.results.map((r) => `${r.status} ${r.rule}`)).toEqual(['SKIP highestUserWastedPercent', 'FAIL highestWastedBytes', 'SKIP lowestEfficiency']);
    expect(off.results[1].message).toBe('too many bytes wasted (wasted-bytes=131 > threshold=100)');
  });
});

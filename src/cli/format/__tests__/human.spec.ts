/** Docker's units (go-units HumanSize / HumanDuration) and tabwriter columns, value for value. */
import { describe, expect, it } from 'vitest';
import { goFormatG, humanDuration, humanSince, humanSize, tabulate } from '../../../util/human.js';
import { formatImages } from '../list.js';

describe('docker units', () => {
  it('formats sizes like units.HumanSize', () => {
    const cases: [number, string][] = [
      [0, '0B'],
      [999, '999B'],
      [1000, '1kB'],
      [7800, '7.8kB'],
      [1_980_000, '1.98MB'],
      [2_140_160, '2.14MB'],
      [174_000_000, '174MB'],
      [288_123_456, '288MB'],
      [1_380_000_000, '1.38GB'],
      [999_999, '1e+03kB'],
      [1_000_000_000_000, '1TB'],
    ];
    for (const [n, s] of cases) expect(humanSize(n), String(n)).toBe(s);
    expect(goFormatG(0.000012345, 3)).toBe('1.23e-05');
  });

  it('formats durations like units.HumanDuration', () => {
    const s = 1000;
    const m = 60 * s;
    const h = 60 * m;
    const cases: [number, string][] = [
      [500, 'Less than a second'],
      [1 * s, '1 second'],
      [59 * s, '59 seconds'],
      [60 * s, 'About a minute'],
      [2 * m, '2 minutes'],
      [59 * m, '59 minutes'],
      [61 * m, 'About an hour'],
      [90 * m, '2 hours'],
      [47 * h, '47 hours'],
      [48 * h, '2 days'],
      [13 * 24 * h, '13 days'],
      [14 * 24 * h, '2 weeks'],
      [59 * 24 * h, '8 weeks'],
      [60 * 24 * h, '2 months'],
      [729 * 24 * h, '24 months'],
      [730 * 24 * h, '2 years'],
    ];
    for (const [d, str] of cases) expect(humanDuration(d), String(d)).toBe(str);
    expect(humanSince(new Date(Date.now() - 2 * m).toISOString())).toBe('2 minutes ago');
    expect(humanSince(undefined)).toBe('N/A');
  });

  it('pads columns like tabwriter(minwidth 10, padding 3)', () => {
    expect(tabulate([['REPOSITORY', 'TAG', 'SIZE'], ['busybox', 'latest', '4.26MB']])).toBe('REPOSITORY   TAG       SIZE\nbusybox      latest    4.26MB\n');
  });

  it('lists images newest first, one row per tag, dangling as <none>', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const recs = [
      { refs: ['a:1', 'b:2'], manifestDigest: `sha256:${'1'.repeat(64)}`, configDigest: `sha256:${'a'.repeat(64)}`, id: 'a'.repeat(12), created: '2026-01-01T11:00:00Z', size: 288_000_000 },
      { refs: [], manifestDigest: `sha256:${'2'.repeat(64)}`, configDigest: `sha256:${'b'.repeat(64)}`, id: 'b'.repeat(12), created: '2026-01-01T11:58:00Z', size: 7800 },
    ];
    expect(formatImages(recs, {}, now)).toBe(
      [
        'REPOSITORY   TAG       IMAGE ID       CREATED             SIZE',
        '<none>       <none>    bbbbbbbbbbbb   2 minutes ago       7.8kB',
        'a            1         aaaaaaaaaaaa   About an hour ago   288MB',
        'b            2         aaaaaaaaaaaa   About an hour ago   288MB',
        '',
      ].join('\n'),
    );
    expect(formatImages(recs, { quiet: true }, now)).toBe(`${'b'.repeat(12)}\n${'a'.repeat(12)}\n${'a'.repeat(12)}\n`);
  });
});

import { describe, expect, it } from 'vitest';
import { compareImages } from '../../analyze/compare.js';
import { findLeaks } from '../../analyze/leaks.js';
import type { ImageModel, LayerEntry } from '../../analyze/model.js';
import { sizeReport } from '../../analyze/size.js';
import { dockerImageSize } from '../../analyze/dockersize.js';
import { explorerData } from '../explorer.js';
import { analysisHtml, comparisonHtml, esc } from '../html.js';
import { renderAnalysis, renderComparison, table } from '../text.js';

const f = (path: string, size: number): LayerEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size });
const img: ImageModel = {
  name: 'demo<x>',
  id: 'abc',
  history: [],
  layers: [
    { index: 0, digest: 'sha256:0', diffId: 'sha256:0', compressedSize: 1, createdBy: 'base', entries: [f('usr/bin/tool', 3000), f('etc/os-release', 100)] },
    { index: 1, digest: 'sha256:1', diffId: 'sha256:1', compressedSize: 1, createdBy: 'RUN make', attribution: { stage: 'build', line: 4 }, entries: [f('root/.npm/_cacache/x', 500), f('.wh.usr', 0)] },
  ],
};

describe('terminal report', () => {
  it('aligns columns like docker', () => {
    expect(table(['A', 'LONGER'], [['xyz', '1'], ['q', '22']], [1])).toBe('A     LONGER\nxyz        1\nq         22');
  });
  it('shows layers, stages, waste and baggage', () => {
    const r = sizeReport(img);
    const t = renderAnalysis(img.name, r, findLeaks(r.tree));
    // the text shows dive's efficiency (computed in analyze/dive.ts, checked against dive's formulas in analyze-dive)
    expect(t).toContain(`Efficiency: ${(r.efficiency * 100).toFixed(1)}%`);
    expect(r.visibleRatio).toBeCloseTo(600 / 3600, 6); // stagecraft's own figure: visible bytes over bytes in all layers
    expect(t).toMatch(/1\s+500B\s+0B\s+build\s+4\s+RUN make/);
    expect(t).toContain('npm cache');
  });
});

const input = (m: ImageModel) => {
  const r = sizeReport(m);
  return { name: m.name, size: dockerImageSize(m), report: r, leaks: findLeaks(r.tree), layers: m.layers };
};

describe('html report', () => {
  it('is one self-contained page: stage legend, a bar per layer, treemap by stage, explorer data', () => {
    const html = analysisHtml(input(img));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html.match(/<div class="lrow" data-layer=/g)).toHaveLength(2);
    expect(html).toContain('class="chart treemap"');
    // the treemap's leaves are stages, each in its legend colour
    const legend = [...html.matchAll(/<li data-stage="([^"]+)"><i style="background:(#[0-9a-f]+)"/g)].map((m) => [m[1], m[2]]);
    expect(legend.map((l) => l[0])).toEqual(['base image', 'build']);
    for (const [stage, colour] of legend) expect(html).toContain(`fill="${colour}" data-stage="${stage}"`);
    expect(html).toContain('<script type="application/json" class="sc-data">');
    expect(html).toContain('demo&lt;x&gt;');
    expect(html).not.toContain('demo<x>');
  });
  it('the data cannot close its script element', () => {
    const evil: ImageModel = { ...img, layers: [{ ...img.layers[0], entries: [f('</script><b>x', 1)] }] };
    const html = analysisHtml(input(evil));
    expect(html).not.toContain('</script><b>');
  });
  it('renders packages when the analysis has them', () => {
    const html = analysisHtml({ ...input(img), packages: [{ ecosystem: 'deb', name: 'npm', version: '9.2.0', arch: 'all', bytes: 12_000_000, layer: 1, stage: 'build' }] });
    expect(html).toMatch(/<table class="packages"><thead><tr><th>PACKAGE<\/th><th>VERSION<\/th><th>ARCH<\/th>/);
    expect(html).toMatch(/<table class="packages">.*<td>npm<\/td><td>9\.2\.0<\/td><td>all<\/td><td>deb<\/td><td class="num">12MB<\/td>/);
  });
  it('renders the package diff when the comparison has one', () => {
    const small: ImageModel = { ...img, name: 'small', layers: [img.layers[0] as ImageModel['layers'][number]] };
    const c = { ...compareImages(small, img), packages: [{ ecosystem: 'deb', name: 'npm', arch: 'all', a: '9.2.0', aBytes: 12_000_000, bBytes: 0, change: 'removed' }, { ecosystem: 'deb', name: 'libc6', arch: 'amd64', a: '2.36-9', b: '2.36-9+deb12u4', aBytes: 1000, bBytes: 1500, change: 'changed' }] as ReturnType<typeof compareImages>['packages'] };
    const html = comparisonHtml(c, input(small), input(img));
    expect(html).toContain('<tr><td>removed</td><td>npm</td><td>9.2.0</td><td>all</td><td>deb</td><td class="num">-12MB</td></tr>');
    expect(html).toContain('<tr><td>changed</td><td>libc6</td><td>2.36-9 → 2.36-9+deb12u4</td><td>amd64</td><td>deb</td><td class="num">+500B</td></tr>');
  });
  it('comparison page carries the verdict and where they differ', () => {
    const small: ImageModel = { ...img, name: 'small', layers: [img.layers[0] as ImageModel['layers'][number]] };
    const c = compareImages(small, img);
    const html = comparisonHtml(c, input(small), input(img));
    expect(html).toContain(esc(c.verdict[0] as string));
    expect(renderComparison(c)).toContain(c.verdict[0]);
    expect(html).toContain('<table class="dirdiff">');
    for (const d of c.dirDiff) expect(html).toContain(`<td><code>${d.dir}</code></td>`);
  });
});

describe('explorer data', () => {
  it('replays layers: added, modified, removed (whiteouts and opaque directories) with sizes', () => {
    const dir = (path: string): LayerEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
    const layers: ImageModel['layers'] = [
      { index: 0, digest: '', diffId: '', compressedSize: 0, entries: [dir('a'), f('a/x', 10), f('a/b/y', 20), f('z', 5)] },
      { index: 1, digest: '', diffId: '', compressedSize: 0, entries: [dir('a'), f('a/x', 11), f('.wh.z', 0), f('a/b/.wh..wh..opq', 0), f('a/b/new', 1)] },
    ];
    const d = explorerData(layers);
    const path = (n: number): string => (n === 0 ? '' : `${path(d.parent[n] as number)}/${d.names[n]}`);
    const changes = (l: number) => {
      const ch = d.layers[l]?.ch ?? [];
      const out: string[] = [];
      for (let i = 0; i < ch.length; i += 3) out.push(`${['+', '~', '-'][(ch[i + 2] as number) >> 3]}${path(ch[i] as number)}:${ch[i + 1]}`);
      return out.sort();
    };
    expect(changes(0)).toEqual(['+/a/b/y:20', '+/a/b:0', '+/a/x:10', '+/a:0', '+/z:5']);
    // `a` listed again is no change; the opaque marker removes y but not b itself
    expect(changes(1)).toEqual(['+/a/b/new:1', '-/a/b/y:20', '-/z:5', '~/a/x:11']);
    for (let n = 1; n < d.parent.length; n++) expect(d.parent[n]).toBeLessThan(n);
  });
});

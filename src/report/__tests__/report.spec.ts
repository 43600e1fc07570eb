import { describe, expect, it } from 'vitest';
import { compareImages } from '../../analyze/compare.js';
import { findLeaks } from '../../analyze/leaks.js';
import type { ImageModel, LayerEntry } from '../../analyze/model.js';
import { sizeReport } from '../../analyze/size.js';
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
    expect(t).toContain('Efficiency: 16.7%');
    expect(t).toMatch(/1\s+500B\s+0B\s+build\s+4\s+RUN make/);
    expect(t).toContain('npm cache');
  });
});

describe('html report', () => {
  it('is one self-contained page with a bar per layer and a treemap', () => {
    const r = sizeReport(img);
    const html = analysisHtml(img.name, r, findLeaks(r.tree));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html.match(/<g class="layer">/g)).toHaveLength(2);
    expect(html).toContain('class="chart treemap"');
    expect(html).toContain('demo&lt;x&gt;');
    expect(html).not.toContain('demo<x>');
  });
  it('comparison page carries the verdict', () => {
    const small: ImageModel = { ...img, name: 'small', layers: [img.layers[0]] };
    const c = compareImages(small, img);
    const html = comparisonHtml(c, sizeReport(small), sizeReport(img));
    expect(html).toContain(esc(c.verdict[0]));
    expect(renderComparison(c)).toContain(c.verdict[0]);
  });
});

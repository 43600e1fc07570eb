/**
 * Terminal renderings of analysis results: plain aligned tables (no colour when not a TTY), the way
 * `docker images` and `dive --ci` read. Input: analysis data; output: a string.
 */
import { humanSize } from '../util/human.js';
import { type Comparison, type ImageSummary } from '../analyze/compare.js';
import type { Leak } from '../analyze/leaks.js';
import type { SizeReport } from '../analyze/size.js';

/** Columns padded to their widest cell, separated by three spaces, like docker's tables. */
export function table(header: string[], rows: string[][], rightAlign: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 && !rightAlign.includes(i) ? c : rightAlign.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const trunc = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function renderLeaks(leaks: Leak[]): string {
  if (leaks.length === 0) return 'Build-time baggage: none found';
  return `Build-time baggage (${humanSize(leaks.reduce((s, l) => s + l.bytes, 0))}):\n${table(
    ['SEVERITY', 'KIND', 'WHAT', 'SIZE', 'LAYER', 'PATH'],
    leaks.map((l) => [l.severity, l.kind, l.what, humanSize(l.bytes), String(l.layer), l.path]),
    [3],
  )}`;
}

export function renderAnalysis(name: string, r: SizeReport, leaks: Leak[]): string {
  const out: string[] = [];
  out.push(`Image: ${name}`);
  out.push(`Size: ${humanSize(r.finalBytes)} in ${r.layers.length} layers (${humanSize(r.totalBytes)} written, ${humanSize(r.wastedBytes)} wasted)`);
  out.push(`Efficiency: ${pct(r.efficiency)}`);
  out.push('');
  out.push(
    table(
      ['LAYER', 'SIZE', 'WASTED', 'STAGE', 'LINE', 'CREATED BY'],
      r.layers.map((l) => [String(l.index), humanSize(l.bytes), humanSize(l.wastedBytes), l.stage, l.line ? String(l.line) : '', trunc(l.createdBy, 70)]),
      [1, 2],
    ),
  );
  out.push('');
  out.push('Bytes in the final image by stage:');
  out.push(table(['STAGE', 'SIZE', 'SHARE'], r.byStage.map((b) => [b.key, humanSize(b.bytes), pct(r.finalBytes ? b.bytes / r.finalBytes : 0)]), [1, 2]));
  out.push('');
  out.push('Largest directories:');
  out.push(table(['DIRECTORY', 'SIZE', 'FILES'], r.byDir.slice(0, 10).map((b) => [b.key, humanSize(b.bytes), String(b.files)]), [1, 2]));
  out.push('');
  out.push(renderLeaks(leaks));
  return `${out.join('\n')}\n`;
}

function summaryRow(s: ImageSummary): string[] {
  return [s.name, humanSize(s.bytes), String(s.layers), s.stages.length > 1 ? `multi (${s.stages.length})` : 'single', pct(s.efficiency), humanSize(s.leakedBytes)];
}

export function renderComparison(c: Comparison): string {
  const out: string[] = [];
  out.push(table(['IMAGE', 'SIZE', 'LAYERS', 'STAGES', 'EFFICIENCY', 'BAGGAGE'], [summaryRow(c.a), summaryRow(c.b)], [1, 2, 4, 5]));
  out.push('');
  if (c.dirDiff.length > 0) {
    out.push('Where they differ:');
    out.push(
      table(
        ['DIRECTORY', c.a.name, c.b.name, 'DELTA'],
        c.dirDiff.map((d) => [d.dir, humanSize(d.a), humanSize(d.b), `${d.b >= d.a ? '+' : '-'}${humanSize(Math.abs(d.b - d.a))}`]),
        [1, 2, 3],
      ),
    );
    out.push('');
  }
  for (const s of [c.a, c.b]) {
    out.push(`${s.name}: ${renderLeaks(s.leaks)}`);
    out.push('');
  }
  out.push(...c.verdict);
  return `${out.join('\n')}\n`;
}

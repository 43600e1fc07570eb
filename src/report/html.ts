/**
 * The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network) with
 * summary cards, a layer bar chart coloured by stage (visible vs wasted bytes), a treemap of the
 * final image by directory (d3-hierarchy), the baggage table and, for comparisons, side-by-side bars.
 * Input: analysis data; output: an HTML string.
 */
import { hierarchy, treemap, treemapSquarify } from 'd3-hierarchy';
import { humanSize } from '../util/human.js';
import { type Comparison } from '../analyze/compare.js';
import type { Leak } from '../analyze/leaks.js';
import type { SizeReport } from '../analyze/size.js';

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function stageColors(r: SizeReport): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of r.layers) if (!m.has(l.stage)) m.set(l.stage, PALETTE[m.size % PALETTE.length]);
  return m;
}

/** Horizontal bars, one per layer: visible bytes in the stage's colour, wasted bytes hatched grey. */
export function layerChart(r: SizeReport): string {
  const colors = stageColors(r);
  const rowH = 22;
  const labelW = 360;
  const barW = 420;
  const max = Math.max(1, ...r.layers.map((l) => l.bytes));
  const h = r.layers.length * rowH + 30;
  const rows = r.layers.map((l, i) => {
    const y = 10 + i * rowH;
    const vw = (l.visibleBytes / max) * barW;
    const ww = ((l.bytes - l.visibleBytes) / max) * barW;
    const label = `${l.index}: ${l.createdBy}`;
    return `<g class="layer"><title>${esc(`${label}\nstage: ${l.stage}${l.line ? `, line ${l.line}` : ''}\n${humanSize(l.bytes)} written, ${humanSize(l.wastedBytes)} wasted`)}</title>
<text x="0" y="${y + 14}" class="lbl">${esc(label.length > 52 ? `${label.slice(0, 51)}…` : label)}</text>
<rect x="${labelW}" y="${y + 3}" width="${vw.toFixed(1)}" height="${rowH - 6}" fill="${colors.get(l.stage)}"/>
<rect x="${(labelW + vw).toFixed(1)}" y="${y + 3}" width="${ww.toFixed(1)}" height="${rowH - 6}" fill="url(#hatch)"/>
<text x="${(labelW + vw + ww + 6).toFixed(1)}" y="${y + 14}" class="val">${humanSize(l.bytes)}</text></g>`;
  });
  const legend = [...colors].map(([s, c], i) => `<rect x="${i * 140}" y="${h - 14}" width="10" height="10" fill="${c}"/><text x="${i * 140 + 14}" y="${h - 5}" class="lbl">${esc(s)}</text>`);
  return `<svg class="chart layers" xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 80}" height="${h}" role="img" aria-label="layer sizes">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>
${rows.join('\n')}
${legend.join('')}</svg>`;
}

interface TNode {
  name: string;
  size?: number;
  children?: TNode[];
}

/** Treemap of the final image's files, grouped by directory (two levels deep plus files). */
export function treemapChart(r: SizeReport, width = 820, height = 420): string {
  const root: TNode = { name: '/', children: [] };
  for (const [path, n] of r.tree.nodes) {
    if (n.entry.type !== 'file' || n.entry.size === 0) continue;
    const parts = path.split('/');
    const dirs = parts.slice(0, Math.min(parts.length - 1, 3));
    let cur = root;
    for (const d of dirs) {
      cur.children ??= [];
      let next = cur.children.find((c) => c.name === d && c.children);
      if (!next) {
        next = { name: d, children: [] };
        cur.children.push(next);
      }
      cur = next;
    }
    (cur.children ??= []).push({ name: parts.slice(dirs.length).join('/'), size: n.entry.size });
  }
  const h = hierarchy<TNode>(root)
    .sum((d) => d.size ?? 0)
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  treemap<TNode>().tile(treemapSquarify).size([width, height]).paddingInner(1).paddingTop((d) => (d.depth > 0 && d.depth < 3 ? 14 : 0)).round(true)(h);
  const cells: string[] = [];
  const tops = (h.children ?? []).map((c) => c.data.name);
  for (const node of h.descendants()) {
    const n = node as typeof node & { x0: number; x1: number; y0: number; y1: number };
    const w = n.x1 - n.x0;
    const hh = n.y1 - n.y0;
    if (node.depth === 0 || w < 1 || hh < 1) continue;
    const top = node.ancestors().reverse()[1];
    const color = PALETTE[Math.max(0, tops.indexOf(top?.data.name ?? '')) % PALETTE.length];
    const path = node.ancestors().reverse().slice(1).map((a) => a.data.name).join('/');
    const isDir = !!node.children;
    cells.push(`<g><title>${esc(`/${path}\n${humanSize(node.value ?? 0)}`)}</title><rect x="${n.x0}" y="${n.y0}" width="${w}" height="${hh}" fill="${color}" fill-opacity="${isDir ? 0.25 + 0.15 * node.depth : 0.85}" stroke="#fff" stroke-width="0.5"/>${
      w > 60 && hh > 12 ? `<text x="${n.x0 + 3}" y="${n.y0 + 11}" class="tm">${esc(`${node.data.name} ${humanSize(node.value ?? 0)}`.slice(0, Math.floor(w / 6)))}</text>` : ''
    }</g>`);
  }
  return `<svg class="chart treemap" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="final image treemap">${cells.join('')}</svg>`;
}

function leakTable(leaks: Leak[]): string {
  if (leaks.length === 0) return '<p class="ok">No build-time baggage found.</p>';
  return `<table class="leaks"><thead><tr><th>severity</th><th>kind</th><th>what</th><th>size</th><th>layer</th><th>path</th></tr></thead><tbody>${leaks
    .map((l) => `<tr class="${l.severity}"><td>${l.severity}</td><td>${esc(l.kind)}</td><td>${esc(l.what)}</td><td class="num">${humanSize(l.bytes)}</td><td class="num">${l.layer}</td><td><code>${esc(l.path)}</code></td></tr>`)
    .join('')}</tbody></table>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:20px}.lbl{font-size:11px;fill:#333}.val{font-size:11px;fill:#555}.tm{font-size:10px;fill:#111}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}.num{text-align:right}
tr.high td{background:#fde2e2}.verdict{font-size:15px;padding:8px 12px;background:#f4f6fa;border-left:4px solid #4e79a7}
.verdict.warn{border-color:#e15759;background:#fdecec}.ok{color:#2a7a2a}`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body>${body}</body></html>\n`;
}

function cards(items: Array<[string, string]>): string {
  return `<div class="cards">${items.map(([k, v]) => `<div class="card">${esc(k)}<b>${esc(v)}</b></div>`).join('')}</div>`;
}

function imageSection(name: string, r: SizeReport, leaks: Leak[]): string {
  return `${cards([
    ['size', humanSize(r.finalBytes)],
    ['layers', String(r.layers.length)],
    ['efficiency', `${(r.efficiency * 100).toFixed(1)}%`],
    ['wasted', humanSize(r.wastedBytes)],
    ['baggage', humanSize(leaks.reduce((s, l) => s + l.bytes, 0))],
  ])}
<h2>Layers of ${esc(name)} (colour = stage; hatched = bytes hidden by a later layer)</h2>${layerChart(r)}
<h2>Final image by directory</h2>${treemapChart(r)}
<h2>Build-time baggage</h2>${leakTable(leaks)}`;
}

export function analysisHtml(name: string, r: SizeReport, leaks: Leak[]): string {
  return page(`stagecraft analyze ${name}`, `<h1>stagecraft analyze: ${esc(name)}</h1>${imageSection(name, r, leaks)}`);
}

export function comparisonHtml(c: Comparison, ra: SizeReport, rb: SizeReport): string {
  const max = Math.max(1, c.a.bytes, c.b.bytes);
  const bars = [c.a, c.b]
    .map((s, i) => {
      const w = (s.bytes / max) * 600;
      const lw = (Math.min(s.leakedBytes, s.bytes) / max) * 600;
      return `<text x="0" y="${i * 34 + 20}" class="lbl">${esc(s.name)}</text><rect x="220" y="${i * 34 + 6}" width="${w.toFixed(1)}" height="22" fill="${PALETTE[i]}"/><rect x="${(220 + w - lw).toFixed(1)}" y="${i * 34 + 6}" width="${lw.toFixed(1)}" height="22" fill="url(#hatch2)"/><text x="${(226 + w).toFixed(1)}" y="${i * 34 + 21}" class="val">${humanSize(s.bytes)}</text>`;
    })
    .join('');
  const svg = `<svg class="chart compare" xmlns="http://www.w3.org/2000/svg" width="900" height="80" role="img" aria-label="image sizes"><defs><pattern id="hatch2" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e15759"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>${bars}</svg>`;
  const warn = c.verdict[0]?.startsWith('WARNING') ? ' warn' : '';
  return page(
    `stagecraft compare ${c.a.name} ${c.b.name}`,
    `<h1>stagecraft compare: ${esc(c.a.name)} vs ${esc(c.b.name)}</h1>
<div class="verdict${warn}">${c.verdict.map(esc).join('<br>')}</div>
<h2>Sizes (red hatch = build-time baggage)</h2>${svg}
<h2>${esc(c.a.name)}</h2>${imageSection(c.a.name, ra, c.a.leaks)}
<h2>${esc(c.b.name)}</h2>${imageSection(c.b.name, rb, c.b.leaks)}`,
  );
}

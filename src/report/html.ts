/**
 * The HTML report: one self-contained file (inline CSS, SVG and script; no network) to explore an
 * image: summary cards (size = `images` SIZE), layer bars coloured by stage (visible vs wasted
 * bytes), a treemap of the final image coloured by the stage that put the bytes there, with a
 * legend, a per-layer file explorer (added / modified / removed with sizes, search, collapse and
 * expand; see explorer.ts), the package table when the analysis has one, the baggage table and, for
 * comparisons, the verdict, size bars, "where they differ" and the package diff. Every number is
 * formatted as in the text report. Usable from 400 px wide up. Input: analysis data; output: HTML.
 */
import { hierarchy, treemap, treemapSquarify } from 'd3-hierarchy';
import { humanSize, humanSizeScript } from '../util/human.js';
import type { Comparison } from '../analyze/compare.js';
import type { Leak } from '../analyze/leaks.js';
import type { LayerModel } from '../analyze/model.js';
import type { SizeReport } from '../analyze/size.js';
import { explorerData } from './explorer.js';
import { EXPLORER_JS } from './explorer-client.js';
import { dirDelta, pct } from './text.js';

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** One image's data for the report. */
export interface ImageReportInput {
  name: string;
  /** docker's size of the image (`images` SIZE) */
  size: number;
  report: SizeReport;
  leaks: Leak[];
  /** the layers with their entries, for the file explorer */
  layers: LayerModel[];
  /** the analysis' package list when it has one (rendered as a table) */
  packages?: unknown;
}

/** Stage → colour, in the order stages first appear in the layers. */
export function stageColors(r: SizeReport): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of r.layers) if (!m.has(l.stage)) m.set(l.stage, PALETTE[m.size % PALETTE.length] as string);
  for (const b of r.byStage) if (!m.has(b.key)) m.set(b.key, PALETTE[m.size % PALETTE.length] as string);
  return m;
}

/** The stage legend, with each stage's bytes in the final image (as the text report's stage table). */
function legend(r: SizeReport, colors: Map<string, string>): string {
  const bytes = new Map(r.byStage.map((b) => [b.key, b.bytes]));
  return `<ul class="legend" aria-label="stages">${[...colors]
    .map(([s, c]) => {
      const b = bytes.get(s) ?? 0;
      return `<li data-stage="${esc(s)}"><i style="background:${c}"></i><span class="stage">${esc(s)}</span> <span class="num">${humanSize(b)}</span> <span class="share">${pct(r.finalBytes ? b / r.finalBytes : 0)}</span></li>`;
    })
    .join('')}</ul>`;
}

/** One row per layer: visible bytes in the stage's colour, bytes hidden by later layers hatched. */
export function layerChart(r: SizeReport, colors = stageColors(r)): string {
  const max = Math.max(1, ...r.layers.map((l) => l.bytes));
  const rows = r.layers.map((l) => {
    const vw = (l.visibleBytes / max) * 100;
    const ww = (Math.max(0, l.bytes - l.visibleBytes) / max) * 100;
    const label = `${l.index}: ${l.createdBy}`;
    const title = `${label}\nstage: ${l.stage}${l.line ? `, line ${l.line}` : ''}\n${humanSize(l.bytes)} written, ${humanSize(l.wastedBytes)} wasted`;
    return `<div class="lrow" data-layer="${l.index}" title="${esc(title)}"><div class="llabel"><span class="lstage" style="color:${colors.get(l.stage)}">${esc(l.stage)}</span> ${esc(label)}</div><div class="lbar"><span class="ltrack"><span class="vis" style="width:${vw.toFixed(2)}%;background:${colors.get(l.stage)}"></span><span class="waste" style="width:${ww.toFixed(2)}%"></span></span><span class="lval">${humanSize(l.bytes)}</span></div></div>`;
  });
  return `<div class="layers" role="list" aria-label="layer sizes">${rows.join('')}</div>`;
}

interface TNode {
  name: string;
  size?: number;
  stage?: string;
  children?: TNode[];
  idx?: Map<string, TNode>;
}

/**
 * Treemap of the final image: directories (three levels) split by the stage whose layer put the
 * visible bytes there — bytes copied from a build stage show in that stage's colour.
 */
export function treemapChart(r: SizeReport, colors = stageColors(r), width = 960, height = 480): string {
  const root: TNode = { name: '/', children: [], idx: new Map() };
  const stageOfLayer = r.layers.map((l) => l.stage);
  const sub = (n: TNode, key: string, make: () => TNode): TNode => {
    n.idx ??= new Map();
    let c = n.idx.get(key);
    if (!c) {
      c = make();
      n.idx.set(key, c);
      (n.children ??= []).push(c);
    }
    return c;
  };
  for (const [path, n] of r.tree.nodes) {
    if (n.entry.type !== 'file' || n.entry.size === 0) continue;
    const parts = path.split('/');
    let cur = root;
    for (const d of parts.slice(0, Math.min(parts.length - 1, 3))) cur = sub(cur, `d:${d}`, () => ({ name: d, children: [] }));
    const stage = stageOfLayer[n.layer] ?? 'base image';
    const leaf = sub(cur, `s:${stage}`, () => ({ name: stage, stage, size: 0 }));
    leaf.size = (leaf.size ?? 0) + n.entry.size;
  }
  const h = hierarchy<TNode>(root, (d) => d.children)
    .sum((d) => (d.children?.length ? 0 : (d.size ?? 0)))
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  treemap<TNode>().tile(treemapSquarify).size([width, height]).paddingInner(1).paddingTop((d) => (d.depth > 0 && d.depth <= 2 ? 13 : 0)).round(true)(h);
  const cells: string[] = [];
  for (const node of h.descendants()) {
    const n = node as typeof node & { x0: number; x1: number; y0: number; y1: number };
    const w = n.x1 - n.x0;
    const hh = n.y1 - n.y0;
    if (node.depth === 0 || w < 1 || hh < 1) continue;
    const dirPath = `/${node
      .ancestors()
      .reverse()
      .slice(1)
      .filter((a) => a.data.stage === undefined)
      .map((a) => a.data.name)
      .join('/')}`;
    if (node.data.stage !== undefined) {
      cells.push(`<rect x="${n.x0}" y="${n.y0}" width="${w}" height="${hh}" fill="${colors.get(node.data.stage)}" data-stage="${esc(node.data.stage)}"><title>${esc(`${dirPath}\n${node.data.stage}: ${humanSize(node.value ?? 0)}`)}</title></rect>`);
    } else {
      const label = w > 40 && hh > 12 && node.depth <= 2 ? `<text x="${n.x0 + 3}" y="${n.y0 + 10}" class="tm">${esc(`${node.data.name} ${humanSize(node.value ?? 0)}`.slice(0, Math.floor(w / 6)))}</text>` : '';
      cells.push(`<g><title>${esc(`${dirPath}\n${humanSize(node.value ?? 0)}`)}</title><rect x="${n.x0}" y="${n.y0}" width="${w}" height="${hh}" fill="#f3f3f3" stroke="#888" stroke-width="0.5"/>${label}</g>`);
    }
  }
  // leaves are drawn after their directories, so colour stays on top
  return `<svg class="chart treemap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="final image by directory, coloured by stage">${cells.join('')}</svg>`;
}

/** The per-layer file explorer (filled in by the page script from the embedded data). */
function explorer(r: SizeReport, layers: LayerModel[], colors: Map<string, string>): string {
  // `<` escaped so the data cannot close its script element
  const data = JSON.stringify(explorerData(layers)).replace(/</g, '\\u003c');
  const items = r.layers
    .map((l) => `<li><button type="button" data-layer="${l.index}" aria-pressed="false" style="border-left-color:${colors.get(l.stage)}"><span class="xl">${l.index}: ${esc(l.stage)}</span> <span class="xc">${esc(l.createdBy)}</span> <span class="num">${humanSize(l.bytes)}</span></button></li>`)
    .join('');
  return `<section class="explorer" aria-label="file explorer">
<div class="xbar"><input type="search" class="xsearch" placeholder="Search paths…" aria-label="search paths"><label><input type="checkbox" class="xchanged"> only this layer's changes</label><button type="button" class="xexpand">Expand changes</button><button type="button" class="xcollapse">Collapse all</button><span class="xkey"><i class="added">added</i> <i class="modified">modified</i> <i class="removed">removed</i></span></div>
<div class="xpanes"><ol class="xlayers" aria-label="layers">${items}</ol><div class="xview"><div class="xstatus"></div><div class="xtree" role="tree"></div></div></div>
<script type="application/json" class="sc-data">${data}</script></section>`;
}

function tableWrap(head: string[], rows: string[][], numeric: number[], cls: string): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('');
  return `<div class="scroll"><table class="${cls}"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function leakTable(leaks: Leak[]): string {
  if (leaks.length === 0) return '<p class="ok">No build-time baggage found.</p>';
  return `<div class="scroll"><table class="leaks"><thead><tr><th>severity</th><th>kind</th><th>what</th><th class="num">size</th><th class="num">layer</th><th>path</th></tr></thead><tbody>${leaks
    .map((l) => `<tr class="${l.severity}"><td>${l.severity}</td><td>${esc(l.kind)}</td><td>${esc(l.what)}</td><td class="num">${humanSize(l.bytes)}</td><td class="num">${l.layer}</td><td><code>${esc(l.path)}</code></td></tr>`)
    .join('')}</tbody></table></div>`;
}

type Row = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const bytesOf = (p: Row): number | undefined => [p.bytes, p.size, p.installedSize].find((x): x is number => typeof x === 'number');
const managerOf = (p: Row): unknown => p.ecosystem ?? p.manager ?? p.type ?? p.kind;

/** The analysis' packages (any shape with name/version/arch/manager/size/layer/stage): a table, biggest first. */
function packageTable(packages: unknown): string {
  if (!Array.isArray(packages)) return '';
  if (packages.length === 0) return '<h3>Packages</h3><p>No packages found.</p>';
  const rows = [...(packages as Row[])].sort((a, b) => (bytesOf(b) ?? 0) - (bytesOf(a) ?? 0) || str(a.name).localeCompare(str(b.name)));
  return `<h3>Packages (${rows.length})</h3>${tableWrap(
    ['PACKAGE', 'VERSION', 'ARCH', 'MANAGER', 'SIZE', 'LAYER', 'STAGE'],
    rows.map((p) => [esc(str(p.name)), esc(str(p.version)), esc(str(p.arch)), esc(str(managerOf(p))), bytesOf(p) === undefined ? '' : humanSize(bytesOf(p) as number), esc(str(p.layer)), esc(str(p.stage))]),
    [4, 5],
    'packages',
  )}`;
}

/**
 * A comparison's package diff, when the analysis has one: a list of changes
 * (`{ecosystem, name, arch, a, b, aBytes, bBytes, change: added|removed|changed}`) or `{added, removed, changed}` lists.
 */
function packageDiff(diff: unknown): string {
  if (!diff || typeof diff !== 'object') return '';
  const groups: Record<string, Row[]> = { removed: [], added: [], changed: [] };
  if (Array.isArray(diff)) for (const p of diff as Row[]) (groups[str(p.change)] ??= []).push(p);
  else for (const k of Object.keys(groups)) if (Array.isArray((diff as Row)[k])) groups[k] = (diff as Row)[k] as Row[];
  const rows: string[][] = [];
  for (const kind of ['removed', 'added', 'changed']) {
    for (const p of groups[kind] ?? []) {
      const from = p.a ?? p.from;
      const to = p.b ?? p.to;
      const version = kind === 'changed' ? `${str(from)} → ${str(to)}` : str(kind === 'removed' ? (from ?? p.version) : (to ?? p.version));
      const bytes = kind === 'removed' ? (p.aBytes ?? bytesOf(p)) : kind === 'added' ? (p.bBytes ?? bytesOf(p)) : typeof p.aBytes === 'number' && typeof p.bBytes === 'number' ? undefined : bytesOf(p);
      const size =
        kind === 'changed' && typeof p.aBytes === 'number' && typeof p.bBytes === 'number'
          ? dirDelta({ a: p.aBytes, b: p.bBytes })
          : typeof bytes === 'number'
            ? `${kind === 'removed' ? '-' : kind === 'added' ? '+' : ''}${humanSize(bytes)}`
            : '';
      rows.push([kind, esc(str(p.name)), esc(version), esc(str(p.arch)), esc(str(managerOf(p))), size]);
    }
  }
  if (rows.length === 0) return '';
  return `<h2>Packages that differ (${rows.length})</h2>${tableWrap(['CHANGE', 'PACKAGE', 'VERSION', 'ARCH', 'MANAGER', 'SIZE'], rows, [5], 'pkgdiff')}`;
}

const CSS = `*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;padding:16px;color:#222;max-width:1200px}
h1{font-size:21px;overflow-wrap:anywhere}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;overflow-wrap:anywhere}h3{font-size:15px}
.cards{display:flex;gap:10px;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px;flex:1 1 120px}
.card b{display:block;font-size:19px}.tm{font-size:10px;fill:#111}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}.num{text-align:right;white-space:nowrap}
td code{overflow-wrap:anywhere}tr.high td{background:#fde2e2}.verdict{font-size:15px;padding:8px 12px;background:#f4f6fa;border-left:4px solid #4e79a7;overflow-wrap:anywhere}
.verdict.warn{border-color:#e15759;background:#fdecec}.ok{color:#2a7a2a}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 16px}.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border-radius:2px}.legend .share{color:#666}
.layers{display:flex;flex-direction:column;gap:4px}.lrow{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,3fr);gap:8px;align-items:center;cursor:pointer}
.llabel{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:12px}.lstage{font-weight:600}
.lbar{display:flex;align-items:center;height:18px;min-width:0}.ltrack{display:flex;flex:1 1 auto;min-width:0;height:100%}.lbar .vis,.lbar .waste{display:block;height:100%;flex:none}.lbar .waste{background:repeating-linear-gradient(45deg,#ddd 0 3px,#999 3px 5px)}.lval{flex:none;font-size:12px;margin-left:6px;white-space:nowrap;min-width:4em}
.chart.treemap{width:100%;height:auto;display:block}
.explorer{border:1px solid #ddd;border-radius:6px;padding:8px}.xbar{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;margin-bottom:8px}.xsearch{flex:1 1 180px;min-width:0;padding:4px}
.xkey i{font-style:normal;padding:0 4px;border-radius:3px}.added{color:#1a7f37}.modified{color:#9a6700}.removed{color:#cf222e}.xkey .added{background:#dafbe1}.xkey .modified{background:#fff8c5}.xkey .removed{background:#ffebe9}
.xpanes{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,2fr);gap:10px}.xlayers{list-style:none;margin:0;padding:0;max-height:520px;overflow:auto}
.xlayers button{display:block;width:100%;text-align:left;border:1px solid #ddd;border-left:6px solid #999;background:#fff;padding:4px 6px;margin-bottom:3px;font:inherit;font-size:12px;cursor:pointer;overflow-wrap:anywhere}
.xlayers button[aria-pressed=true]{background:#eef3fb;border-color:#4e79a7}.xl{font-weight:600}.xc{color:#555}
.xview{min-width:0}.xstatus{font-size:12px;color:#555;margin-bottom:4px}.xtree{max-height:520px;overflow:auto;font:12px/1.5 ui-monospace,monospace}
.xlist{list-style:none;margin:0;padding-left:14px}.xtree>.xlist{padding-left:0}.xline{display:flex;gap:8px;cursor:default}.xrow[aria-expanded] > .xline{cursor:pointer}
.xtog{width:1em;flex:none}.xname{flex:1 1 auto;min-width:0;overflow-wrap:anywhere}.xsize{flex:none;color:#444}.xbadge{flex:none;font-size:11px}
.xrow.added>.xline .xname{color:#1a7f37}.xrow.modified>.xline .xname{color:#9a6700}.xrow.removed>.xline .xname{color:#cf222e;text-decoration:line-through}
.cmp{display:flex;flex-direction:column;gap:6px}.cmp .lrow{cursor:default}
@media (max-width:700px){body{padding:8px}.xpanes{grid-template-columns:minmax(0,1fr)}.xlayers{max-height:200px}.lrow{grid-template-columns:minmax(0,1fr)}.card{min-width:100px}}`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head><body>${body}<script>${humanSizeScript()}${EXPLORER_JS}</script></body></html>\n`;
}

function cards(items: Array<[string, string, string]>): string {
  return `<div class="cards">${items.map(([k, v, id]) => `<div class="card" data-card="${id}">${esc(k)}<b>${esc(v)}</b></div>`).join('')}</div>`;
}

function imageSection(img: ImageReportInput): string {
  const r = img.report;
  const colors = stageColors(r);
  return `<section class="image" data-image="${esc(img.name)}">${cards([
    ['size', humanSize(img.size), 'size'],
    ['final file tree', humanSize(r.finalBytes), 'final'],
    ['layers', String(r.layers.length), 'layers'],
    ['efficiency', pct(r.efficiency), 'efficiency'],
    ['wasted', humanSize(r.wastedBytes), 'wasted'],
    ['baggage', humanSize(img.leaks.reduce((s, l) => s + l.bytes, 0)), 'baggage'],
  ])}
<h2>Stages</h2>${legend(r, colors)}
<h2>Layers of ${esc(img.name)} <small>(colour = stage; hatched = bytes hidden by a later layer)</small></h2>${layerChart(r, colors)}
<h2>Final image by directory, coloured by stage</h2>${treemapChart(r, colors)}
<h2>Files by layer</h2>${explorer(r, img.layers, colors)}
${img.packages !== undefined ? packageTable(img.packages) : ''}
<h2>Build-time baggage</h2>${leakTable(img.leaks)}</section>`;
}

export function analysisHtml(img: ImageReportInput): string {
  return page(`stagecraft analyze ${img.name}`, `<h1>stagecraft analyze: ${esc(img.name)}</h1>${imageSection(img)}`);
}

export function comparisonHtml(c: Comparison & { packages?: unknown }, a: ImageReportInput, b: ImageReportInput): string {
  const max = Math.max(1, c.a.bytes, c.b.bytes);
  const bars = [c.a, c.b]
    .map((s, i) => {
      const w = (s.bytes / max) * 100;
      const lw = (Math.min(s.leakedBytes, s.bytes) / max) * 100;
      return `<div class="lrow"><div class="llabel">${esc(s.name)}</div><div class="lbar"><span class="ltrack"><span class="vis" style="width:${(w - lw).toFixed(2)}%;background:${PALETTE[i]}"></span><span class="vis" style="width:${lw.toFixed(2)}%;background:repeating-linear-gradient(45deg,#e15759 0 3px,#fff 3px 5px)"></span></span><span class="lval">${humanSize(s.bytes)}</span></div></div>`;
    })
    .join('');
  const warn = c.verdict[0]?.startsWith('WARNING') ? ' warn' : '';
  const differ = c.dirDiff.length
    ? `<h2>Where they differ</h2>${tableWrap(
        ['DIRECTORY', c.a.name, c.b.name, 'DELTA'],
        c.dirDiff.map((d) => [`<code>${esc(d.dir)}</code>`, humanSize(d.a), humanSize(d.b), dirDelta(d)]),
        [1, 2, 3],
        'dirdiff',
      )}`
    : '';
  return page(
    `stagecraft compare ${c.a.name} ${c.b.name}`,
    `<h1>stagecraft compare: ${esc(c.a.name)} vs ${esc(c.b.name)}</h1>
<div class="verdict${warn}">${c.verdict.map(esc).join('<br>')}</div>
<h2>Sizes <small>(red hatch = build-time baggage)</small></h2><div class="cmp">${bars}</div>
${differ}
${packageDiff(c.packages)}
<h2>${esc(c.a.name)}</h2>${imageSection(a)}
<h2>${esc(c.b.name)}</h2>${imageSection(b)}`,
  );
}

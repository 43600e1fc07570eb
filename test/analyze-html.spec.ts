/**
 * The HTML report in a real headless Chromium (driven over the DevTools protocol) at 400 px and
 * 1400 px: nothing clipped sideways, the size card equals `images` SIZE, cards, legend and the
 * "where they differ" table show the JSON output's numbers, and the file explorer works: expand a
 * directory, switch layers, search. Screenshots go to test-artifacts/ (gitignored).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanSize } from '../src/util/human.js';
import { dirDelta, pct } from '../src/report/text.js';
import { buildOk, context } from './helpers/build.js';
import { Browser, CHROMIUM, type Page } from './helpers/chromium.js';
import { cli, importBusybox, REPO, tmp } from './helpers/index.js';

const root = tmp('sc-html-');
const out = tmp('sc-html-out-');
const ARTIFACTS = join(REPO, 'test-artifacts');
let browser: Browser | undefined;

interface Doc {
  size: number;
  finalBytes: number;
  wastedBytes: number;
  efficiency: number;
  layers: Array<{ stage: string; bytes: number }>;
  byStage: Array<{ key: string; bytes: number }>;
  byDir: Array<{ key: string; bytes: number }>;
  packages: Array<{ name: string; version: string; arch?: string }>;
}
let doc: Doc;
let cmp: { dirDiff: Array<{ dir: string; a: number; b: number }>; packages: Array<{ name: string; arch?: string; change: string }> };
let imagesSize = '';

beforeAll(async () => {
  if (!CHROMIUM) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  await importBusybox(root);
  const build = `FROM busybox:latest AS build
RUN mkdir -p /out/lib /root/.npm/_cacache && dd if=/dev/urandom of=/root/.npm/_cacache/blob bs=1k count=200 2>/dev/null \\
 && dd if=/dev/urandom of=/out/lib/big.bin bs=1k count=120 2>/dev/null && echo built > /out/app.txt
`;
  // a dpkg database in each image (the arch is what the text/JSON output's ARCH column shows):
  // hello changes version, tzdata (arch all) is only in the multi-stage image, oldlib only in the single
  const dpkg = (pkgs: Array<[string, string, string, number]>) =>
    pkgs.map(([name, version, arch, kib]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: ${arch}\nVersion: ${version}\nInstalled-Size: ${kib}\n`).join('\n');
  const ctx = context({
    'a.txt': 'apple 10\n',
    'status.single': dpkg([['hello', '2.10-2', 'amd64', 280], ['oldlib', '1.0-1', 'i386', 40]]),
    'status.multi': dpkg([['hello', '2.10-3', 'amd64', 290], ['tzdata', '2024a-0+deb12u1', 'all', 3300]]),
    'Dockerfile.single': `FROM busybox:latest
RUN mkdir -p /out/lib /root/.npm/_cacache && dd if=/dev/urandom of=/root/.npm/_cacache/blob bs=1k count=200 2>/dev/null \\
 && dd if=/dev/urandom of=/out/lib/big.bin bs=1k count=120 2>/dev/null && echo built > /out/app.txt
COPY a.txt /app/
COPY status.single /var/lib/dpkg/status
`,
    'Dockerfile.multi': `${build}
FROM busybox:latest
COPY --from=build /out /app
COPY a.txt /app/
COPY status.multi /var/lib/dpkg/status
RUN rm /app/a.txt && echo changed > /app/app.txt
`,
  });
  await buildOk(root, ctx, ['-t', 'html-single:1', '-f', join(ctx, 'Dockerfile.single')]);
  await buildOk(root, ctx, ['-t', 'html-multi:1', '-f', join(ctx, 'Dockerfile.multi')]);
  await cli(['analyze', 'html-multi:1', '--format', 'html', '-o', join(out, 'analyze.html')], { root });
  doc = JSON.parse((await cli(['analyze', 'html-multi:1', '--format', 'json'], { root })).stdout) as Doc;
  await cli(['compare', 'html-single:1', 'html-multi:1', '--format', 'html', '-o', join(out, 'compare.html')], { root });
  cmp = JSON.parse((await cli(['compare', 'html-single:1', 'html-multi:1', '--format', 'json'], { root })).stdout) as typeof cmp;
  imagesSize = (await cli(['images', '--format', '{{.Size}}', 'html-multi'], { root })).stdout.trim();
  browser = await Browser.launch();
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

const text = (p: Page, sel: string) => p.eval<string[]>(`[...document.querySelectorAll(${JSON.stringify(sel)})].map((e) => e.textContent.trim())`);
const click = (p: Page, sel: string) => p.eval<boolean>(`(() => { const e = document.querySelector(${JSON.stringify(sel)}); if (!e) return false; e.click(); return true; })()`);
/** the explorer row of a path: [size, change] or null */
const rowOf = (p: Page, path: string) =>
  p.eval<[string, string] | null>(`(() => {
    const li = document.querySelector('.explorer li[data-path="' + CSS.escape(${JSON.stringify(path)}) + '"]');
    return li ? [li.querySelector(':scope > .xline > .xsize').textContent, li.className.replace('xrow', '').trim()] : null;
  })()`);

describe.runIf(!!CHROMIUM)('the HTML report in headless Chromium', () => {
  for (const width of [400, 1400]) {
    it(`analyze report at ${width} px: numbers of the JSON output, legend, explorer`, async () => {
      const p = await (browser as Browser).open(`file://${join(out, 'analyze.html')}`, width, 900);
      expect(await p.eval('document.querySelector(".explorer").dataset.ready')).toBe('true');
      // nothing wider than the window (tables scroll inside their own box)
      expect(await p.eval<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      // cards: the size is what `images` says; the rest as in the JSON
      const card = async (id: string) => (await text(p, `.card[data-card=${id}] b`))[0];
      expect(await card('size')).toBe(imagesSize);
      expect(await card('size')).toBe(humanSize(doc.size));
      expect(await card('final')).toBe(humanSize(doc.finalBytes));
      expect(await card('efficiency')).toBe(pct(doc.efficiency));
      expect(await card('wasted')).toBe(humanSize(doc.wastedBytes));
      // legend: each stage with its bytes; the treemap uses the legend's colours
      expect(await text(p, '.legend li .stage')).toEqual(expect.arrayContaining(doc.byStage.map((b) => b.key)));
      for (const b of doc.byStage) expect(await text(p, `.legend li[data-stage="${b.key}"] .num`)).toEqual([humanSize(b.bytes)]);
      expect(await p.eval<number>('document.querySelectorAll("svg.treemap rect[data-stage=build]").length')).toBeGreaterThan(0);
      expect(await p.eval<number>('document.querySelectorAll(".xlayers button").length')).toBe(doc.layers.length);
      // the last layer is selected: the full tree; /app is collapsed, expanding it shows its files
      expect(await rowOf(p, '/app/app.txt')).toBeNull();
      expect(await click(p, '.explorer li[data-path="/app"] > .xline')).toBe(true);
      const appLib = await rowOf(p, '/app/lib');
      expect(appLib?.[0]).toBe(humanSize(doc.byDir.find((d) => d.key === '/app/lib')?.bytes ?? -1));
      expect(await rowOf(p, '/app/app.txt')).toEqual([humanSize('changed\n'.length), 'modified']);
      expect(await rowOf(p, '/app/a.txt')).toEqual([humanSize('apple 10\n'.length), 'removed']);
      // switch to the COPY --from layer: app.txt is new there, with the build's content
      expect(await click(p, '.xlayers button[data-layer="1"]')).toBe(true);
      expect(await rowOf(p, '/app/app.txt')).toEqual([humanSize('built\n'.length), 'added']);
      expect(await rowOf(p, '/app/a.txt')).toBeNull();
      expect((await text(p, '.xstatus'))[0]).toMatch(/^layer 1: \d+ changes$/);
      // search
      await p.eval(`(() => { const s = document.querySelector('.xsearch'); s.value = 'big.bin'; s.dispatchEvent(new Event('input')); })()`);
      expect(await text(p, '.xhits .xname')).toEqual(['/app/lib/big.bin']);
      await p.eval(`(() => { const s = document.querySelector('.xsearch'); s.value = ''; s.dispatchEvent(new Event('input')); })()`);
      // the package table has the text/JSON output's ARCH column, with the JSON's arch per package
      const cells = (sel: string) => p.eval<string[][]>(`[...document.querySelectorAll(${JSON.stringify(sel)})].map((r) => [...r.cells].map((c) => c.textContent))`);
      const [head] = await cells('table.packages thead tr');
      const pkgRows = await cells('table.packages tbody tr');
      const col = (name: string) => (head ?? []).indexOf(name);
      expect(col('ARCH')).toBeGreaterThan(col('VERSION'));
      const byName = (rows: string[][]) => Object.fromEntries(rows.map((r) => [r[col('PACKAGE')], r[col('ARCH')]]));
      expect(byName(pkgRows)).toEqual(Object.fromEntries(doc.packages.map((k) => [k.name, k.arch ?? ''])));
      expect(byName(pkgRows)).toMatchObject({ hello: 'amd64', tzdata: 'all' });
      expect(await p.screenshot(join(ARTIFACTS, `analyze-${width}.png`))).toBeGreaterThan(10_000);
    }, 120_000);

    it(`compare report at ${width} px: where they differ, as the JSON`, async () => {
      const p = await (browser as Browser).open(`file://${join(out, 'compare.html')}`, width, 900);
      expect(await p.eval<number>('document.querySelectorAll(".explorer[data-ready=true]").length')).toBe(2);
      expect(await p.eval<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      const rows = await p.eval<string[][]>('[...document.querySelectorAll("table.dirdiff tbody tr")].map((r) => [...r.cells].map((c) => c.textContent))');
      expect(rows).toEqual(cmp.dirDiff.map((d) => [d.dir, humanSize(d.a), humanSize(d.b), dirDelta(d)]));
      expect(rows.length).toBeGreaterThan(0);
      // the package diff has an ARCH column too: B's arch, A's for a removed package
      const [head] = await p.eval<string[][]>('[...document.querySelectorAll("table.pkgdiff thead tr")].map((r) => [...r.cells].map((c) => c.textContent))');
      expect(head).toEqual(['CHANGE', 'PACKAGE', 'VERSION', 'ARCH', 'MANAGER', 'SIZE']);
      const diff = await p.eval<string[][]>('[...document.querySelectorAll("table.pkgdiff tbody tr")].map((r) => [...r.cells].map((c) => c.textContent))');
      const archs = Object.fromEntries(diff.map((r) => [`${r[0]} ${r[1]}`, r[3]]));
      expect(archs).toEqual(Object.fromEntries(cmp.packages.map((k) => [`${k.change} ${k.name}`, k.arch ?? ''])));
      expect(archs).toEqual({ 'removed oldlib': 'i386', 'added tzdata': 'all', 'changed hello': 'amd64' });
      expect(await p.screenshot(join(ARTIFACTS, `compare-${width}.png`))).toBeGreaterThan(10_000);
    }, 120_000);
  }
});

#!/usr/bin/env node
/**
 * Import-cycle check. In: the TypeScript sources under src/ (tests excluded). Out: every cycle of
 * imports between modules, and between top-level folders (`image/` ↔ `store/`), one per line;
 * exit 1 when there is one. Type-only imports count: a cycle of types is still a cycle a reader
 * has to untangle. Imports are read with TypeScript's own pre-processor (no new dependency);
 * relative specifiers are resolved like the bundler (`./x.js` → `./x.ts` or `./x/index.ts`).
 *
 * Usage: node scripts/import-cycles.mjs [--json]   (run by test/architecture.spec.ts)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function sources(dir) {
  const out = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== '__tests__' && n !== 'node_modules') out.push(...sources(p));
    } else if (n.endsWith('.ts') && !n.endsWith('.d.ts') && !n.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

function resolveImport(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), join(base.replace(/\.js$/, ''), 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** module → the modules it imports (src-relative paths) */
export function importGraph() {
  const graph = new Map();
  for (const f of sources(SRC)) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    const deps = new Set();
    for (const i of info.importedFiles) {
      const r = resolveImport(f, i.fileName);
      if (r && r.startsWith(SRC)) deps.add(relative(SRC, r));
    }
    graph.set(relative(SRC, f), deps);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one node (or a self-import). */
function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? new Set()).has(v)) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** The top-level folder of a module (`image/archive.ts` → `image`; a file at src/ is its own). */
const folderOf = (m) => (m.includes('/') ? m.split('/')[0] : m);

export function check() {
  const graph = importGraph();
  const modules = cycles(graph);
  const folders = new Map();
  for (const [m, deps] of graph) {
    const f = folderOf(m);
    if (!folders.has(f)) folders.set(f, new Set());
    for (const d of deps) if (folderOf(d) !== f) folders.get(f).add(folderOf(d));
  }
  const folderCycles = cycles(folders);
  // for each folder cycle, the imports that make it (to know what to move)
  const edges = folderCycles.map((comp) => {
    const set = new Set(comp);
    const list = [];
    for (const [m, deps] of graph) for (const d of deps) if (folderOf(m) !== folderOf(d) && set.has(folderOf(m)) && set.has(folderOf(d))) list.push(`${m} -> ${d}`);
    return list.sort();
  });
  return { modules, folders: folderCycles, edges };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const r = check();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    for (const c of r.modules) console.log(`module cycle: ${c.join(' <-> ')}`);
    r.folders.forEach((c, i) => console.log(`folder cycle: ${c.join(' <-> ')}\n  ${r.edges[i].join('\n  ')}`));
    if (!r.modules.length && !r.folders.length) console.log('no import cycles');
  }
  process.exit(r.modules.length || r.folders.length ? 1 : 0);
}

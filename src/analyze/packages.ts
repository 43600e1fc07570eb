/**
 * Installed packages of an image, read from the package databases the layers carry: dpkg (`status`,
 * `status.d/*`, `info/*.list` for owned files), apk (`lib/apk/db/installed`), rpm (sqlite, Berkeley
 * DB or ndb database, read by `rpmdb.ts`; owned files from each header), npm (every
 * `node_modules/<name>/package.json`; dev flags from the app's lockfile), pip (`*.dist-info`:
 * METADATA, RECORD) and Go build info embedded in binaries (`goinfo.ts`).
 *
 * Each package gets its size (the bytes of its files that are visible in the final tree; for a deb or
 * apk without a file list, the size its database records), and the layer that installed it: for
 * dpkg/apk/rpm the first layer whose database lists it at its current version (each layer rewrites the
 * database), for the others the layer that wrote most of its visible bytes. In: image model + merged
 * tree. Out: `PackageReport`. Pure.
 */
import { parseGoBuildInfo } from './goinfo.js';
import { readRpmDb, RpmDbError, type RpmPackage } from './rpmdb.js';
import type { ImageModel, LayerEntry, LayerModel } from './model.js';
import type { MergedTree } from './tree.js';

export type Ecosystem = 'deb' | 'apk' | 'rpm' | 'npm' | 'pip' | 'go';
/** Why a package is build-time baggage (see `toolKind`). */
export type ToolKind = 'compiler' | 'build-tool' | 'package-manager' | 'headers';

export interface Package {
  ecosystem: Ecosystem;
  name: string;
  /** rpm: `[epoch:]version-release`, as `rpm -q` prints it. */
  version: string;
  /** deb, apk, rpm: the architecture the database records (`noarch`, `all`, `x86_64`...). */
  arch?: string;
  /** Bytes of its files in the final image (or the size its database records when it lists no files). */
  bytes: number;
  files: number;
  /** Where it was found: the package's directory, binary, or database file. */
  path: string;
  /** The layer that installed it, its stage and instruction (as `analyze` labels layers). */
  layer: number;
  stage: string;
  instruction: string;
  line?: number;
  /** npm: listed as dev-only by the application's lockfile or package.json. */
  dev?: boolean;
  /** A compiler, build tool, package manager or headers (by name), so build-time baggage. */
  tool?: ToolKind;
  /** deb: installed only because a tool needs it (auto-installed, every package depending on it is a tool or such). */
  neededBy?: string;
  /** go: the binary this module was linked into (deps of a main module). */
  binary?: string;
}

export interface PackageReport {
  packages: Package[];
  /** What could not be read, in plain words. */
  notes: string[];
  /** Path (no leading `/`) -> index in `packages` of the deb/apk package owning it. Not for JSON. */
  owners: Map<string, number>;
}

/** Files whose text the package readers want, with the most bytes worth keeping. */
export function packageContentLimit(path: string): number {
  if (path === 'var/lib/dpkg/status' || path === 'lib/apk/db/installed' || path === 'var/lib/apt/extended_states') return 64 << 20;
  if (path.startsWith('var/lib/dpkg/status.d/')) return 1 << 20;
  if (path.startsWith('var/lib/dpkg/info/') && path.endsWith('.list')) return 8 << 20;
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === 'package.json' && path.includes('node_modules/')) return 1 << 20;
  if (base === 'package-lock.json' || base === '.package-lock.json' || base === 'npm-shrinkwrap.json') return 64 << 20;
  if (/\.dist-info\/(METADATA|RECORD)$/.test(path)) return 8 << 20;
  return 0;
}

/** Where rpm keeps its database (rpm >= 4.16 sqlite, SUSE's ndb, rpm < 4.16 Berkeley DB), the first found wins. */
export const RPM_DBS = ['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/Packages.db', 'var/lib/rpm/Packages.db', 'var/lib/rpm/Packages', 'usr/lib/sysimage/rpm/Packages'];

/** Binary files the package readers want as bytes (rpm databases), with the most bytes worth keeping. */
export function packageBytesLimit(path: string): number {
  return RPM_DBS.includes(path) || (path.endsWith('.sqlite-wal') && RPM_DBS.includes(path.slice(0, -4))) ? 256 << 20 : -1;
}

export interface LayerOrigin {
  layer: number;
  stage: string;
  instruction: string;
  line?: number;
}

/** How analysis labels a layer: its history's created_by without BuildKit's decorations. */
export function layerLabel(l: LayerModel): string {
  return (l.createdBy ?? '').replace(/\s*# buildkit$/, '').replace(/^\/bin\/sh -c #\(nop\)\s*/, '').trim() || `layer ${l.index}`;
}

/** The stage a layer's bytes belong to: the source stage for COPY --from, else its own stage. */
export function stageOf(l: LayerModel): string {
  const a = l.attribution;
  if (!a) return 'base image';
  if (a.from !== undefined) return `${a.from}`;
  if (a.stage !== undefined) return a.stage;
  if (a.stageIndex !== undefined) return `stage-${a.stageIndex}`;
  return 'base image';
}

export function layerOrigin(img: ImageModel, index: number): LayerOrigin {
  const l = img.layers[index];
  if (!l) return { layer: index, stage: 'base image', instruction: `layer ${index}` };
  const o: LayerOrigin = { layer: index, stage: stageOf(l), instruction: l.attribution?.instruction ?? layerLabel(l) };
  if (l.attribution?.line !== undefined) o.line = l.attribution.line;
  return o;
}

/** Layers the build made (attributed); an image without any attribution counts every layer but the first. */
export function userLayers(img: ImageModel): Set<number> {
  const attributed = img.layers.filter((l) => l.attribution).map((l) => l.index);
  return new Set(attributed.length > 0 ? attributed : img.layers.slice(1).map((l) => l.index));
}

// --- toolchains and package managers, by package name ------------------------------------------

const TOOL_RULES: Array<[Ecosystem | '*', RegExp, ToolKind]> = [
  ['*', /^(gcc|g\+\+|cpp|clang|llvm|gfortran|gccgo|rustc|cargo|golang-go|golang)(-[\d.]+)?$/, 'compiler'],
  ['deb', /^(gcc|g\+\+|cpp)-\d+(-[a-z0-9_-]+)?$/, 'compiler'],
  ['deb', /^(gcc|cpp|g\+\+)-\d+-x86-64-linux-gnu$|^(libgcc-\d+-dev|libstdc\+\+-\d+-dev|libclang.*-dev|libllvm.*)$/, 'compiler'],
  ['deb', /^(cc1|libcc1-\d+|libisl\d+|libmpc\d+|libmpfr\d+|libasan\d+|libtsan\d+|liblsan\d+|libubsan\d+|libhwasan\d+|libitm\d+|libquadmath\d+|libgprofng\d+|libctf\d+|libctf-nobfd\d+|libbinutils|libjansson\d+|libsframe\d+)$/, 'compiler'],
  ['*', /^(make|make-guile|cmake|cmake-data|ninja-build|ninja|meson|autoconf|automake|libtool|pkg-config|pkgconf|pkgconf-bin|binutils|binutils-common|binutils-[a-z0-9_-]+|build-essential|build-base|dpkg-dev|bison|flex|patch|node-gyp|gyp|python3-gyp|scons)$/, 'build-tool'],
  ['*', /^(npm|yarn|yarnpkg|pnpm|corepack|python3-pip|python-pip|pip|pip3|pipenv|poetry|python3-wheel|python3-setuptools|setuptools|wheel|composer|bundler)$/, 'package-manager'],
  ['deb', /^(libc6-dev|linux-libc-dev|libc-dev-bin|libcrypt-dev|libnsl-dev|libtirpc-dev|rpcsvc-proto|libnode-dev|libssl-dev|libuv1-dev|zlib1g-dev|libexpat1-dev|libpython3[\d.]*-dev|python3[\d.]*-dev|libjs-.*|[a-z0-9.+-]+-dev)$/, 'headers'],
  ['apk', /^(musl-dev|linux-headers|libc-dev|[a-z0-9.+-]+-dev)$/, 'headers'],
  ['rpm', /^(gcc-c\+\+|gcc-gfortran|gcc-plugin-annobin|annobin-plugin-gcc|cpp|libasan\d*|libubsan\d*)$/, 'compiler'],
  ['rpm', /^(rpm-build|redhat-rpm-config|ccache)$/, 'build-tool'],
  ['rpm', /^(kernel-headers|glibc-headers|[a-z0-9.+_-]+-devel)$/, 'headers'],
];

export function toolKind(ecosystem: Ecosystem, name: string): ToolKind | undefined {
  for (const [eco, re, kind] of TOOL_RULES) if ((eco === '*' || eco === ecosystem) && re.test(name)) return kind;
  return undefined;
}

// --- helpers ------------------------------------------------------------------------------------

function visibleFile(tree: MergedTree, path: string): { size: number; layer: number } | undefined {
  const n = tree.nodes.get(path);
  return n && n.entry.type === 'file' ? { size: n.entry.size, layer: n.layer } : undefined;
}

/** Sums visible files; the dominant layer is the one that wrote most of those bytes. */
function sumFiles(tree: MergedTree, paths: Iterable<string>): { bytes: number; files: number; layer?: number; largest?: string } {
  let bytes = 0;
  let files = 0;
  let largest: string | undefined;
  let largestSize = -1;
  const byLayer = new Map<number, number>();
  for (const p of paths) {
    const f = visibleFile(tree, p);
    if (!f) continue;
    bytes += f.size;
    files++;
    byLayer.set(f.layer, (byLayer.get(f.layer) ?? 0) + f.size + 1);
    if (f.size > largestSize) {
      largestSize = f.size;
      largest = p;
    }
  }
  let layer: number | undefined;
  let best = -1;
  for (const [l, b] of byLayer) if (b > best || (b === best && l < (layer as number))) [layer, best] = [l, b];
  return { bytes, files, layer, largest };
}

function stanzas(text: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  for (const block of text.split(/\n\s*\n/)) {
    const m = new Map<string, string>();
    let last = '';
    for (const line of block.split('\n')) {
      if (/^[ \t]/.test(line) && last) m.set(last, `${m.get(last)}\n${line.trim()}`);
      else {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        last = line.slice(0, i);
        m.set(last, line.slice(i + 1).trim());
      }
    }
    if (m.size) out.push(m);
  }
  return out;
}

/** Names in a Depends/Pre-Depends field (every alternative, without versions or arch qualifiers). */
function depNames(field: string | undefined): string[] {
  if (!field) return [];
  return field.split(/[,|]/).map((s) => s.trim().replace(/\s*\(.*$/, '').replace(/:.*$/, '').replace(/\s*\[.*$/, '').trim()).filter(Boolean);
}

/** The content of a path as a given layer wrote it (undefined when the layer did not write it or its text was not kept). */
function layerContents(img: ImageModel, match: (path: string) => boolean): Array<{ layer: number; entry: LayerEntry }> {
  const out: Array<{ layer: number; entry: LayerEntry }> = [];
  for (const l of img.layers) for (const e of l.entries) if (e.type === 'file' && match(e.path)) out.push({ layer: l.index, entry: e });
  return out;
}

// --- dpkg ---------------------------------------------------------------------------------------

interface DebInfo {
  name: string;
  arch: string;
  version: string;
  installedSize: number;
  depends: string[];
}

function readDpkgStatus(text: string): Map<string, DebInfo> {
  const m = new Map<string, DebInfo>();
  for (const s of stanzas(text)) {
    const name = s.get('Package');
    if (!name || !/\binstalled$/.test(s.get('Status') ?? 'install ok installed')) continue;
    m.set(name, {
      name,
      arch: s.get('Architecture') ?? '',
      version: s.get('Version') ?? '',
      installedSize: Number(s.get('Installed-Size') ?? 0) * 1024,
      depends: [...depNames(s.get('Depends')), ...depNames(s.get('Pre-Depends'))],
    });
  }
  return m;
}

function dpkgPackages(img: ImageModel, tree: MergedTree, notes: string[], owned: Map<string, Package>): Package[] {
  // the database as each layer left it: a package's layer is the first one listing its final version
  const installedIn = new Map<string, { version: string; layer: number }>();
  let current = new Map<string, DebInfo>();
  let sawDb = false;
  for (const l of img.layers) {
    const status = l.entries.find((e) => e.path === 'var/lib/dpkg/status' && e.type === 'file');
    const statusD = l.entries.filter((e) => e.path.startsWith('var/lib/dpkg/status.d/') && e.type === 'file' && !e.path.endsWith('.md5sums'));
    if (status) {
      sawDb = true;
      if (status.content === undefined) {
        if (status.size > 0) notes.push(`dpkg status of layer ${l.index} is too large to read`);
        continue;
      }
      const next = readDpkgStatus(status.content);
      for (const [n, p] of next) {
        const before = current.get(n);
        if (!before || before.version !== p.version) installedIn.set(n, { version: p.version, layer: l.index });
      }
      current = next;
    }
    for (const e of statusD) {
      sawDb = true;
      for (const [n, p] of readDpkgStatus(e.content ?? '')) {
        current.set(n, p);
        installedIn.set(n, { version: p.version, layer: l.index });
      }
    }
  }
  if (!sawDb) return [];
  // only what the final tree still has: a status file or status.d entry that is visible
  const finalStatus = tree.nodes.get('var/lib/dpkg/status')?.entry.content;
  const final = finalStatus !== undefined ? readDpkgStatus(finalStatus) : current;
  for (const [p, n] of tree.nodes) if (p.startsWith('var/lib/dpkg/status.d/') && n.entry.content) for (const [k, v] of readDpkgStatus(n.entry.content)) final.set(k, v);

  const manualOnly = autoInstalled(tree);
  const out: Package[] = [];
  for (const p of final.values()) {
    const list = tree.nodes.get(`var/lib/dpkg/info/${p.name}:${p.arch}.list`) ?? tree.nodes.get(`var/lib/dpkg/info/${p.name}.list`);
    const files = list?.entry.content?.split('\n').filter(Boolean).map((f) => f.replace(/^\/+/, '')) ?? [];
    const sum = sumFiles(tree, files);
    const layer = installedIn.get(p.name)?.layer ?? list?.layer ?? 0;
    const pkg: Package = {
      ecosystem: 'deb',
      name: p.name,
      version: p.version,
      ...(p.arch ? { arch: p.arch } : {}),
      bytes: list?.entry.content !== undefined ? sum.bytes : p.installedSize,
      files: sum.files,
      path: sum.largest ? `/${sum.largest}` : '/var/lib/dpkg/status',
      ...layerOrigin(img, layer),
      ...(toolKind('deb', p.name) ? { tool: toolKind('deb', p.name) } : {}),
    };
    out.push(pkg);
    for (const f of files) owned.set(f, pkg);
  }
  markNeededByTools(out, final, manualOnly);
  return out;
}

/** apt's extended_states: the packages marked automatically installed (undefined when there is no such file). */
function autoInstalled(tree: MergedTree): Set<string> | undefined {
  const text = tree.nodes.get('var/lib/apt/extended_states')?.entry.content;
  if (text === undefined) return undefined;
  const auto = new Set<string>();
  for (const s of stanzas(text)) if (s.get('Auto-Installed') === '1' && s.get('Package')) auto.add(s.get('Package') as string);
  return auto;
}

/**
 * Auto-installed packages that only tools need (every installed package depending on them is a tool
 * or, in turn, only needed by tools): npm's hundreds of node-* libraries, gcc's libraries. They are
 * baggage with the tool; `neededBy` names one tool that pulls them in.
 */
function markNeededByTools(pkgs: Package[], db: Map<string, DebInfo>, auto: Set<string> | undefined): void {
  if (!auto) return;
  const by = new Map(pkgs.map((p) => [p.name, p]));
  const rdeps = new Map<string, string[]>();
  for (const p of db.values()) for (const d of p.depends) if (db.has(d) && d !== p.name) rdeps.set(d, [...(rdeps.get(d) ?? []), p.name]);
  const toolish = (n: string): boolean => !!by.get(n)?.tool || !!by.get(n)?.neededBy;
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of pkgs) {
      if (p.tool || p.neededBy || !auto.has(p.name)) continue;
      const r = rdeps.get(p.name) ?? [];
      if (r.length === 0 || !r.every(toolish)) continue;
      const t = r.map((n) => by.get(n) as Package).find((x) => x.tool) ?? (by.get(r[0]) as Package);
      p.neededBy = t.tool ? t.name : (t.neededBy as string);
      changed = true;
    }
  }
}

// --- apk ----------------------------------------------------------------------------------------

function apkPackages(img: ImageModel, tree: MergedTree, owned: Map<string, Package>): Package[] {
  const db = tree.nodes.get('lib/apk/db/installed');
  if (!db?.entry.content) return [];
  const installedIn = new Map<string, number>();
  let prev = new Map<string, string>();
  for (const { layer, entry } of layerContents(img, (p) => p === 'lib/apk/db/installed')) {
    const now = new Map<string, string>();
    for (const s of apkStanzas(entry.content ?? '')) now.set(s.name, s.version);
    for (const [n, v] of now) if (prev.get(n) !== v) installedIn.set(n, layer);
    prev = now;
  }
  return apkStanzas(db.entry.content).map((s) => {
    const sum = sumFiles(tree, s.files);
    const pkg: Package = {
      ecosystem: 'apk' as const,
      name: s.name,
      version: s.version,
      ...(s.arch ? { arch: s.arch } : {}),
      bytes: s.files.length ? sum.bytes : s.size,
      files: sum.files,
      path: sum.largest ? `/${sum.largest}` : '/lib/apk/db/installed',
      ...layerOrigin(img, installedIn.get(s.name) ?? db.layer),
      ...(toolKind('apk', s.name) ? { tool: toolKind('apk', s.name) } : {}),
    };
    for (const f of s.files) owned.set(f, pkg);
    return pkg;
  });
}

function apkStanzas(text: string): Array<{ name: string; version: string; arch: string; size: number; files: string[] }> {
  const out: Array<{ name: string; version: string; arch: string; size: number; files: string[] }> = [];
  for (const block of text.split(/\n\s*\n/)) {
    let name = '';
    let version = '';
    let arch = '';
    let size = 0;
    let dir = '';
    const files: string[] = [];
    for (const line of block.split('\n')) {
      const k = line.slice(0, 2);
      const v = line.slice(2);
      if (k === 'P:') name = v;
      else if (k === 'V:') version = v;
      else if (k === 'A:') arch = v;
      else if (k === 'I:') size = Number(v) || 0;
      else if (k === 'F:') dir = v;
      else if (k === 'R:') files.push(dir ? `${dir}/${v}` : v);
    }
    if (name) out.push({ name, version, arch, size, files });
  }
  return out;
}

// --- rpm ----------------------------------------------------------------------------------------

const rpmVersion = (p: RpmPackage): string => `${p.epoch !== undefined ? `${p.epoch}:` : ''}${p.version}-${p.release}`;

/** An rpm database (with the sqlite write-ahead log beside it, if any), read; a note when it cannot be. */
function rpmDb(entry: LayerEntry, wal: LayerEntry | undefined, path: string, notes: string[]): RpmPackage[] | undefined {
  if (!entry.data) {
    notes.push(`rpm database /${path} (${entry.size} bytes) is too large to read`);
    return undefined;
  }
  try {
    return readRpmDb(entry.data, wal?.data);
  } catch (e) {
    if (!(e instanceof RpmDbError)) throw e;
    notes.push(`rpm database /${path} could not be read: ${e.message}`);
    return undefined;
  }
}

function rpmPackages(img: ImageModel, tree: MergedTree, notes: string[], owned: Map<string, Package>): Package[] {
  const dbPath = RPM_DBS.find((p) => tree.nodes.get(p)?.entry.type === 'file');
  if (!dbPath) return [];
  const walOf = (entries: Iterable<LayerEntry>): LayerEntry | undefined => [...entries].find((e) => e.path === `${dbPath}-wal` && e.type === 'file');
  const finalWal = tree.nodes.get(`${dbPath}-wal`)?.entry;
  const final = rpmDb(tree.nodes.get(dbPath)?.entry as LayerEntry, finalWal?.type === 'file' ? finalWal : undefined, dbPath, notes);
  if (!final) return [];
  // the database as each layer left it: a package's layer is the first one listing its final version
  const installedIn = new Map<string, number>();
  let prev = new Map<string, string>();
  for (const { layer, entry } of layerContents(img, (p) => p === dbPath)) {
    const now = new Map((rpmDb(entry, walOf(img.layers[layer].entries), dbPath, []) ?? []).map((p) => [`${p.name}.${p.arch}`, rpmVersion(p)]));
    for (const [k, v] of now) if (prev.get(k) !== v) installedIn.set(k, layer);
    prev = now;
  }
  const dbLayer = tree.nodes.get(dbPath)?.layer ?? 0;
  return final.map((r) => {
    const files = r.files.map((f) => f.replace(/^\/+/, ''));
    const sum = sumFiles(tree, files);
    const pkg: Package = {
      ecosystem: 'rpm',
      name: r.name,
      version: rpmVersion(r),
      ...(r.arch ? { arch: r.arch } : {}),
      bytes: sum.files > 0 ? sum.bytes : r.size,
      files: sum.files,
      path: sum.largest ? `/${sum.largest}` : `/${dbPath}`,
      ...layerOrigin(img, installedIn.get(`${r.name}.${r.arch}`) ?? dbLayer),
      ...(toolKind('rpm', r.name) ? { tool: toolKind('rpm', r.name) } : {}),
    };
    for (const f of files) owned.set(f, pkg);
    return pkg;
  });
}

// --- npm ----------------------------------------------------------------------------------------

const NPM_PKG = /^(?:(.*)\/)?node_modules\/((?:@[^/]+\/)?[^/@.][^/]*)\/package\.json$/;

/** Per app (a directory with package.json outside node_modules), the dev-only package paths its lockfile lists. */
function npmDevPaths(tree: MergedTree, apps: string[]): Set<string> {
  const dev = new Set<string>();
  for (const app of apps) {
    const pre = app === '' ? '' : `${app}/`;
    for (const lock of [`${pre}node_modules/.package-lock.json`, `${pre}package-lock.json`, `${pre}npm-shrinkwrap.json`]) {
      const text = tree.nodes.get(lock)?.entry.content;
      if (!text) continue;
      try {
        const j = JSON.parse(text) as { packages?: Record<string, { dev?: boolean; devOptional?: boolean }> };
        for (const [k, v] of Object.entries(j.packages ?? {})) if (k && (v.dev || v.devOptional)) dev.add(`${pre}${k}`);
      } catch {
        /* not JSON: no dev flags from it */
      }
      break;
    }
  }
  return dev;
}

function npmPackages(img: ImageModel, tree: MergedTree, apps: string[], owned: Map<string, Package>): Package[] {
  const out: Package[] = [];
  const files = new Map<string, string[]>(); // package dir -> its own files (not nested node_modules)
  const dirs: Array<{ dir: string; name: string; version: string }> = [];
  for (const [path, n] of tree.nodes) {
    const m = NPM_PKG.exec(path);
    if (!m || n.entry.content === undefined || owned.has(path)) continue; // a deb's vendored module is the deb's
    let j: { name?: string; version?: string };
    try {
      j = JSON.parse(n.entry.content) as typeof j;
    } catch {
      continue;
    }
    const dir = path.slice(0, -'/package.json'.length);
    dirs.push({ dir, name: j.name ?? m[2], version: j.version ?? '' });
    files.set(`${dir}/`, []);
  }
  if (dirs.length === 0) return out;
  // each file belongs to the deepest package directory above it
  for (const [path, n] of tree.nodes) {
    if (n.entry.type !== 'file') continue;
    const i = path.lastIndexOf('node_modules/');
    if (i < 0) continue;
    const rest = path.slice(i + 'node_modules/'.length).split('/');
    const pkgDir = path.slice(0, i) + 'node_modules/' + (rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]) + '/';
    files.get(pkgDir)?.push(path);
  }
  const dev = npmDevPaths(tree, apps);
  const devDirect = new Set<string>();
  for (const app of apps) {
    const text = tree.nodes.get(app === '' ? 'package.json' : `${app}/package.json`)?.entry.content;
    if (!text) continue;
    try {
      const j = JSON.parse(text) as { devDependencies?: Record<string, string> };
      for (const n of Object.keys(j.devDependencies ?? {})) devDirect.add(`${app === '' ? '' : `${app}/`}node_modules/${n}`);
    } catch {
      /* ignore */
    }
  }
  for (const d of dirs) {
    const sum = sumFiles(tree, files.get(`${d.dir}/`) ?? []);
    const isDev = dev.has(d.dir) || devDirect.has(d.dir);
    out.push({
      ecosystem: 'npm',
      name: d.name,
      version: d.version,
      bytes: sum.bytes,
      files: sum.files,
      path: `/${d.dir}`,
      ...layerOrigin(img, sum.layer ?? tree.nodes.get(`${d.dir}/package.json`)?.layer ?? 0),
      ...(isDev ? { dev: true } : {}),
      // a tool bundled inside another package (npm's own node-gyp) is that package's business
      ...(toolKind('npm', d.name) && d.dir.split('node_modules/').length === 2 ? { tool: toolKind('npm', d.name) } : {}),
    });
  }
  return out;
}

// --- pip ----------------------------------------------------------------------------------------

function pipPackages(img: ImageModel, tree: MergedTree): Package[] {
  const out: Package[] = [];
  for (const [path, n] of tree.nodes) {
    const m = /^(.*)\/([^/]+)\.dist-info\/METADATA$/.exec(path);
    if (!m) continue;
    const meta = n.entry.content ?? '';
    const name = /^Name:\s*(.+)$/m.exec(meta)?.[1].trim() ?? m[2].replace(/-[^-]+$/, '');
    const version = /^Version:\s*(.+)$/m.exec(meta)?.[1].trim() ?? m[2].replace(/^.*-/, '');
    const site = m[1];
    const record = tree.nodes.get(`${site}/${m[2]}.dist-info/RECORD`)?.entry.content ?? '';
    const paths = record
      .split('\n')
      .map((l) => l.split(',')[0])
      .filter(Boolean)
      .map((p) => normalize(p.startsWith('/') ? p.slice(1) : `${site}/${p}`));
    const sum = sumFiles(tree, paths);
    out.push({
      ecosystem: 'pip',
      name,
      version,
      bytes: sum.bytes,
      files: sum.files,
      path: `/${site}/${m[2]}.dist-info`,
      ...layerOrigin(img, sum.layer ?? n.layer),
      ...(toolKind('pip', name.toLowerCase()) ? { tool: toolKind('pip', name.toLowerCase()) } : {}),
    });
  }
  return out;
}

function normalize(p: string): string {
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop();
    else parts.push(s);
  }
  return parts.join('/');
}

// --- Go -----------------------------------------------------------------------------------------

function goPackages(img: ImageModel, tree: MergedTree): Package[] {
  const out: Package[] = [];
  for (const [path, n] of tree.nodes) {
    if (n.entry.goBuildInfo === undefined) continue;
    const bi = parseGoBuildInfo(n.entry.goBuildInfo);
    if (!bi) continue;
    const origin = layerOrigin(img, n.layer);
    const main = bi.main ?? { path: bi.path || path.slice(path.lastIndexOf('/') + 1), version: '' };
    out.push({ ecosystem: 'go', name: main.path, version: main.version, bytes: n.entry.size, files: 1, path: `/${path}`, ...origin, binary: `/${path}` });
    out.push({ ecosystem: 'go', name: 'stdlib', version: bi.goVersion, bytes: 0, files: 0, path: `/${path}`, ...origin, binary: `/${path}` });
    for (const d of bi.deps) out.push({ ecosystem: 'go', name: d.path, version: d.version, bytes: 0, files: 0, path: `/${path}`, ...origin, binary: `/${path}` });
  }
  return out;
}

// --- all ----------------------------------------------------------------------------------------

/** Directories of the application's own package.json: the image's WORKDIR and any COPY/ADD-ed manifest outside system dirs. */
export function appDirs(img: ImageModel, tree: MergedTree): string[] {
  const dirs = new Set<string>();
  const wd = (img.workingDir ?? '').replace(/^\/+|\/+$/g, '');
  if (img.workingDir && tree.nodes.has(wd === '' ? 'package.json' : `${wd}/package.json`)) dirs.add(wd);
  for (const [path, n] of tree.nodes) {
    if (!path.endsWith('package.json') || path.includes('node_modules/') || !(path === 'package.json' || path.endsWith('/package.json'))) continue;
    const dir = path === 'package.json' ? '' : path.slice(0, -'/package.json'.length);
    if (/^(usr|lib|opt\/[^/]+\/lib|var\/lib)\//.test(`${dir}/`) && dir !== wd) continue;
    const a = img.layers[n.layer]?.attribution;
    const copied = !!a && /^(ONBUILD\s+)?(COPY|ADD)\b/i.test(a.instruction ?? '');
    if (copied) dirs.add(dir);
  }
  return [...dirs];
}

export function findPackages(img: ImageModel, tree: MergedTree): PackageReport {
  const notes: string[] = [];
  const apps = appDirs(img, tree);
  const owned = new Map<string, Package>();
  const system = [...dpkgPackages(img, tree, notes, owned), ...apkPackages(img, tree, owned), ...rpmPackages(img, tree, notes, owned)];
  const packages = [...system, ...npmPackages(img, tree, apps, owned), ...pipPackages(img, tree), ...goPackages(img, tree)];
  packages.sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name) || a.path.localeCompare(b.path));
  const index = new Map(packages.map((p, i) => [p, i]));
  const owners = new Map<string, number>();
  for (const [f, p] of owned) owners.set(f, index.get(p) as number);
  return { packages, notes, owners };
}

export interface PackageChange {
  ecosystem: Ecosystem;
  name: string;
  /** deb, apk, rpm: the architecture (B's; A's for a removed package). */
  arch?: string;
  /** Version in A / B (absent when the package is only in one image). */
  a?: string;
  b?: string;
  /** Bytes in A / B. */
  aBytes: number;
  bBytes: number;
  change: 'added' | 'removed' | 'changed';
}

const archOf = (p: Package): { arch?: string } => (p.arch ? { arch: p.arch } : {});

/** Packages added, removed, or at another version in B compared with A (Go deps of a binary are keyed by binary, rpm packages by arch: multilib). */
export function diffPackages(a: Package[], b: Package[]): PackageChange[] {
  const key = (p: Package): string => `${p.ecosystem}\0${p.name}\0${p.ecosystem === 'npm' || p.ecosystem === 'pip' || p.ecosystem === 'go' ? p.path : p.ecosystem === 'rpm' ? (p.arch ?? '') : ''}`;
  const group = (ps: Package[]): Map<string, Package> => new Map(ps.map((p) => [key(p), p]));
  const ma = group(a);
  const mb = group(b);
  const out: PackageChange[] = [];
  for (const [k, p] of ma) {
    const q = mb.get(k);
    if (!q) out.push({ ecosystem: p.ecosystem, name: p.name, ...archOf(p), a: p.version, aBytes: p.bytes, bBytes: 0, change: 'removed' });
    else if (q.version !== p.version) out.push({ ecosystem: p.ecosystem, name: p.name, ...archOf(q), a: p.version, b: q.version, aBytes: p.bytes, bBytes: q.bytes, change: 'changed' });
  }
  for (const [k, q] of mb) if (!ma.has(k)) out.push({ ecosystem: q.ecosystem, name: q.name, ...archOf(q), b: q.version, aBytes: 0, bBytes: q.bytes, change: 'added' });
  return out.sort((x, y) => Math.max(y.aBytes, y.bBytes) - Math.max(x.aBytes, x.bBytes) || x.name.localeCompare(y.name));
}

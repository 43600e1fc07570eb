/**
 * Build-time baggage in a final image: compilers and build tools, package-manager caches,
 * devDependencies, version-control directories and secrets. Input: the merged tree of an image;
 * output: findings grouped by kind with the bytes they cost and the layer (and so the Dockerfile
 * line) that brought them in. Table-driven: each rule is a path pattern, optionally a content test.
 */
import type { ImageModel, LayerEntry } from './model.js';
import { appDirs, layerOrigin, packageContentLimit, userLayers, type PackageReport, type ToolKind } from './packages.js';
import { classifySecret as classifySecretEntry, findSecrets, isSecretCandidate } from './secrets.js';
import type { MergedTree } from './tree.js';

export type LeakKind = 'compiler' | 'package-manager-cache' | 'dev-dependency' | 'vcs' | 'secret' | 'build-tool' | 'package-manager' | 'headers';

export interface Leak {
  kind: LeakKind;
  /** What was found, e.g. `typescript (devDependency)`, `npm cache`. */
  what: string;
  /** Representative path (the group's root). */
  path: string;
  bytes: number;
  files: number;
  /** The layer that added most of these bytes (where to fix it), with its stage and instruction. */
  layer: number;
  stage?: string;
  instruction?: string;
  line?: number;
  /** Bytes per layer that added them, most first (when more than one layer did). */
  layers?: Array<{ layer: number; bytes: number }>;
  severity: 'high' | 'medium' | 'low';
  /** Secrets: false when a later layer deleted or overwrote the file (the bytes are still in `layer`). */
  visible?: boolean;
  hiddenBy?: number;
  /** Package-based findings: the package, and how many packages only it needs are counted with it. */
  package?: string;
  neededPackages?: number;
}

interface PathRule {
  kind: LeakKind;
  what: string;
  /** Matches a path; the first capture group, when present, is the group's root. */
  re: RegExp;
  severity: Leak['severity'];
  /** Only in layers the build made (needs the image). */
  userOnly?: boolean;
}

const PATH_RULES: PathRule[] = [
  { kind: 'compiler', what: 'GCC toolchain', re: /^(usr\/lib\/gcc|usr\/libexec\/gcc)\//, severity: 'medium' },
  { kind: 'compiler', what: 'C/C++ compiler', re: /^(usr\/bin\/(?:x86_64-linux-gnu-|aarch64-linux-gnu-)?(?:gcc|g\+\+|cc|c\+\+|cpp|clang|clang\+\+)(?:-\d+)?)$/, severity: 'medium' },
  { kind: 'compiler', what: 'Go toolchain', re: /^(usr\/local\/go|usr\/lib\/go(?:-[\d.]+)?)\//, severity: 'medium' },
  { kind: 'compiler', what: 'Rust toolchain', re: /^((?:usr\/local|root)\/(?:cargo|rustup|\.cargo|\.rustup))\//, severity: 'medium' },
  { kind: 'compiler', what: 'TypeScript compiler', re: /^(.*?node_modules\/typescript)\//, severity: 'medium' },
  { kind: 'build-tool', what: 'JDK compiler', re: /^(usr\/(?:lib\/jvm\/[^/]+\/bin\/javac|bin\/javac))$/, severity: 'low' },
  { kind: 'build-tool', what: 'make/binutils', re: /^(usr\/bin\/(?:make|ld|as|ar|objdump|strip)(?:\.bfd|\.gold)?)$/, severity: 'low' },
  // these two only where the build's own layers put them (npm bundles node-gyp; base images ship headers)
  { kind: 'build-tool', what: 'node-gyp', re: /^((?!.*node_modules\/npm\/).*?node_modules\/node-gyp|usr\/share\/nodejs\/node-gyp)\//, severity: 'low', userOnly: true },
  { kind: 'headers', what: 'C headers', re: /^(usr\/include|usr\/local\/include)\//, severity: 'low', userOnly: true },
  { kind: 'package-manager-cache', what: 'apt package cache', re: /^(var\/cache\/apt\/archives)\/.+\.deb$/, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'apt lists', re: /^(var\/lib\/apt\/lists)\/[^/]+_[^/]+$/, severity: 'low' },
  { kind: 'package-manager-cache', what: 'npm cache', re: /^((?:root|home\/[^/]+)\/\.npm)\/(?:_cacache|_logs)\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'yarn cache', re: /^((?:usr\/local\/share|root|home\/[^/]+)\/\.cache\/yarn)\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'pip cache', re: /^((?:root|home\/[^/]+)\/\.cache\/pip)\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'Go build cache', re: /^((?:root|home\/[^/]+)\/(?:\.cache\/go-build|go\/pkg\/mod))\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'apk cache', re: /^(var\/cache\/apk)\/.+/, severity: 'low' },
  { kind: 'vcs', what: 'git repository', re: /^(.*?\/?\.git)\/(?:objects|HEAD|config)/, severity: 'medium' },
];

/** Files whose text analysis wants: the loader keeps their content (secrets up to 256 KiB, package databases more). */
export function wantsContent(path: string, size: number): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === 'package.json' && !path.includes('node_modules/')) return size <= 1 << 20;
  if (isSecretCandidate(path) && size <= 256 * 1024) return true;
  return size <= packageContentLimit(path);
}

interface Group extends Omit<Leak, 'layers'> {
  byLayer: Map<number, number>;
}

function addTo(groups: Map<string, Group>, key: string, leak: Omit<Leak, 'bytes' | 'files'>, bytes: number, files: number, layer: number): void {
  const g = groups.get(key) ?? { ...leak, bytes: 0, files: 0, byLayer: new Map<number, number>() };
  g.bytes += bytes;
  g.files += files;
  g.byLayer.set(layer, (g.byLayer.get(layer) ?? 0) + bytes);
  groups.set(key, g);
}

/** devDependencies of the application's own manifests (see `appDirs`); without an image, of any manifest outside system directories. */
function devDependencyRoots(tree: MergedTree, img?: ImageModel): Map<string, string> {
  const roots = new Map<string, string>(); // node_modules/<pkg>/ path prefix -> package name
  const apps = img ? new Set(appDirs(img, tree)) : undefined;
  for (const [path, n] of tree.nodes) {
    if (!(path === 'package.json' || path.endsWith('/package.json')) || path.includes('node_modules/') || !n.entry.content) continue;
    const dir = path.slice(0, -'package.json'.length);
    if (apps ? !apps.has(dir.replace(/\/$/, '')) : /^(usr|lib|var\/lib)\//.test(dir)) continue;
    let pkg: { devDependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(n.entry.content) as typeof pkg;
    } catch {
      continue;
    }
    for (const name of Object.keys(pkg.devDependencies ?? {})) roots.set(`${dir}node_modules/${name}/`, name);
  }
  return roots;
}

const TOOL_LEAK: Record<ToolKind, { kind: LeakKind; severity: Leak['severity'] }> = {
  compiler: { kind: 'compiler', severity: 'medium' },
  'build-tool': { kind: 'build-tool', severity: 'low' },
  'package-manager': { kind: 'package-manager', severity: 'low' },
  headers: { kind: 'headers', severity: 'low' },
};

export interface LeakContext {
  /** The image, for WORKDIR/app manifests and layer labels; without it, leaks carry only layer numbers. */
  img?: ImageModel;
  /** Its packages (`findPackages`): toolchains installed by the build become leaks with their dependencies. */
  packages?: PackageReport;
}

/**
 * Baggage in the final tree, each finding charged to the layer that added its bytes (a later layer
 * touching one file of a cache does not take the charge), plus secrets from every layer.
 */
export function findLeaks(tree: MergedTree, ctx: LeakContext = {}): Leak[] {
  const { img, packages } = ctx;
  const groups = new Map<string, Group>();
  const devRoots = devDependencyRoots(tree, img);
  // dev-only packages the app's lockfile names (transitive devDependencies too)
  for (const p of packages?.packages ?? []) if (p.ecosystem === 'npm' && p.dev && !devRoots.has(`${p.path.slice(1)}/`)) devRoots.set(`${p.path.slice(1)}/`, p.name);
  // package-based baggage: tools the build installed, with the packages only they need
  const user = img ? userLayers(img) : undefined;
  const charged = new Set<number>(); // indexes of packages counted as a tool's baggage
  if (packages && user) {
    const tools = new Map(packages.packages.map((p, i) => [p, i]));
    for (const [p, i] of tools) {
      if (!user.has(p.layer)) continue;
      const toolName = p.tool ? p.name : p.neededBy;
      const tool = p.tool ? p : packages.packages.find((q) => q.name === p.neededBy && q.ecosystem === p.ecosystem);
      if (!toolName || !tool?.tool || p.dev) continue;
      charged.add(i);
      const t = TOOL_LEAK[tool.tool];
      const key = `pkg:${tool.ecosystem}:${tool.name}`;
      const g = groups.get(key);
      addTo(groups, key, { kind: t.kind, what: `${tool.name} (${tool.ecosystem} ${tool.version})`, path: tool.path, layer: tool.layer, severity: t.severity, package: tool.name, neededPackages: 0 }, p.bytes, p.files, p.layer);
      if (p !== tool) (groups.get(key) as Group).neededPackages = (g?.neededPackages ?? 0) + 1;
    }
  }
  const ownedByCharged = (path: string): boolean => {
    const i = packages?.owners.get(path);
    return i !== undefined && charged.has(i);
  };
  for (const [path, n] of tree.nodes) {
    const e: LayerEntry = n.entry;
    if (e.type !== 'file' || ownedByCharged(path)) continue;
    let isDev = false;
    for (const [prefix, name] of devRoots) {
      if (path.startsWith(prefix)) {
        addTo(groups, `dev:${prefix}`, { kind: 'dev-dependency', what: `${name} (devDependency)`, path: `/${prefix.slice(0, -1)}`, layer: n.layer, severity: 'medium' }, e.size, 1, n.layer);
        isDev = true;
        break;
      }
    }
    if (isDev) continue;
    for (const r of PATH_RULES) {
      if (r.userOnly && !user?.has(n.layer)) continue;
      const m = r.re.exec(path);
      if (!m) continue;
      const root = m[1] ?? path;
      addTo(groups, `${r.kind}:${r.what}:${root}`, { kind: r.kind, what: r.what, path: `/${root}`, layer: n.layer, severity: r.severity }, e.size, 1, n.layer);
      break;
    }
  }
  const leaks: Leak[] = [...groups.values()].map(({ byLayer, ...g }) => {
    const layers = [...byLayer].map(([layer, bytes]) => ({ layer, bytes })).sort((a, b) => b.bytes - a.bytes || a.layer - b.layer);
    const leak: Leak = { ...g, layer: g.package ? g.layer : (layers[0]?.layer ?? g.layer) };
    if (layers.length > 1) leak.layers = layers;
    if (!leak.neededPackages) delete leak.neededPackages;
    if (img) Object.assign(leak, originFields(img, leak.layer));
    return leak;
  });
  if (img) {
    for (const s of findSecrets(img, tree)) {
      const leak: Leak = { kind: 'secret', what: s.visible ? s.what : `${s.what} (${s.hiddenHow ?? 'deleted'} by layer ${s.hiddenBy ?? '?'}, still in layer ${s.layer})`, path: s.path, bytes: s.bytes, files: 1, layer: s.layer, severity: 'high', visible: s.visible, ...originFields(img, s.layer) };
      if (s.hiddenBy !== undefined) leak.hiddenBy = s.hiddenBy;
      leaks.push(leak);
    }
  } else {
    // no image: secrets of the final tree only
    for (const [path, n] of tree.nodes) {
      if (!isSecretCandidate(path)) continue;
      const what = classifySecretEntry(n.entry);
      if (what) leaks.push({ kind: 'secret', what, path: `/${path}`, bytes: n.entry.size, files: 1, layer: n.layer, severity: 'high' });
    }
  }
  const order: Record<Leak['severity'], number> = { high: 0, medium: 1, low: 2 };
  return leaks.sort((a, b) => order[a.severity] - order[b.severity] || b.bytes - a.bytes || a.path.localeCompare(b.path));
}

function originFields(img: ImageModel, layer: number): Pick<Leak, 'stage' | 'instruction' | 'line'> {
  const o = layerOrigin(img, layer);
  return o.line !== undefined ? { stage: o.stage, instruction: o.instruction, line: o.line } : { stage: o.stage, instruction: o.instruction };
}

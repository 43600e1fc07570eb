/**
 * Build-time baggage in a final image: compilers and build tools, package-manager caches,
 * devDependencies, version-control directories and secrets. Input: the merged tree of an image;
 * output: findings grouped by kind with the bytes they cost and the layer (and so the Dockerfile
 * line) that brought them in. Table-driven: each rule is a path pattern, optionally a content test.
 */
import type { LayerEntry } from './model.js';
import type { MergedTree } from './tree.js';

export type LeakKind = 'compiler' | 'package-manager-cache' | 'dev-dependency' | 'vcs' | 'secret' | 'build-tool';

export interface Leak {
  kind: LeakKind;
  /** What was found, e.g. `typescript (devDependency)`, `npm cache`. */
  what: string;
  /** Representative path (the group's root). */
  path: string;
  bytes: number;
  files: number;
  layer: number;
  severity: 'high' | 'medium' | 'low';
}

interface PathRule {
  kind: LeakKind;
  what: string;
  /** Matches a path; the first capture group, when present, is the group's root. */
  re: RegExp;
  severity: Leak['severity'];
}

const PATH_RULES: PathRule[] = [
  { kind: 'compiler', what: 'GCC toolchain', re: /^(usr\/lib\/gcc|usr\/libexec\/gcc)\//, severity: 'medium' },
  { kind: 'compiler', what: 'C/C++ compiler', re: /^(usr\/bin\/(?:x86_64-linux-gnu-|aarch64-linux-gnu-)?(?:gcc|g\+\+|cc|c\+\+|cpp|clang|clang\+\+)(?:-\d+)?)$/, severity: 'medium' },
  { kind: 'compiler', what: 'Go toolchain', re: /^(usr\/local\/go|usr\/lib\/go(?:-[\d.]+)?)\//, severity: 'medium' },
  { kind: 'compiler', what: 'Rust toolchain', re: /^((?:usr\/local|root)\/(?:cargo|rustup|\.cargo|\.rustup))\//, severity: 'medium' },
  { kind: 'compiler', what: 'TypeScript compiler', re: /^(.*?node_modules\/typescript)\//, severity: 'medium' },
  { kind: 'build-tool', what: 'JDK compiler', re: /^(usr\/(?:lib\/jvm\/[^/]+\/bin\/javac|bin\/javac))$/, severity: 'low' },
  { kind: 'build-tool', what: 'make/binutils', re: /^(usr\/bin\/(?:make|ld|as|ar|objdump|strip)(?:\.bfd|\.gold)?)$/, severity: 'low' },
  { kind: 'package-manager-cache', what: 'apt package cache', re: /^(var\/cache\/apt\/archives)\/.+\.deb$/, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'apt lists', re: /^(var\/lib\/apt\/lists)\/[^/]+_[^/]+$/, severity: 'low' },
  { kind: 'package-manager-cache', what: 'npm cache', re: /^((?:root|home\/[^/]+)\/\.npm)\/(?:_cacache|_logs)\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'yarn cache', re: /^((?:usr\/local\/share|root|home\/[^/]+)\/\.cache\/yarn)\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'pip cache', re: /^((?:root|home\/[^/]+)\/\.cache\/pip)\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'Go build cache', re: /^((?:root|home\/[^/]+)\/(?:\.cache\/go-build|go\/pkg\/mod))\//, severity: 'medium' },
  { kind: 'package-manager-cache', what: 'apk cache', re: /^(var\/cache\/apk)\/.+/, severity: 'low' },
  { kind: 'vcs', what: 'git repository', re: /^(.*?\/?\.git)\/(?:objects|HEAD|config)/, severity: 'medium' },
];

const SECRET_NAMES = /(^|\/)(id_rsa|id_dsa|id_ecdsa|id_ed25519|\.npmrc|\.netrc|\.pypirc|\.git-credentials|\.env|credentials|\.dockercfg)$/;
const SECRET_CONTENT: Array<[RegExp, string]> = [
  [/-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----/, 'private key'],
  [/_authToken\s*=/, 'npm auth token'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'AWS access key'],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, 'GitHub token'],
  [/"auths"\s*:\s*\{[^}]*"auth"\s*:/, 'registry credentials'],
];

/** Files whose text analysis wants: the loader keeps their content (up to 256 KiB). */
export function wantsContent(path: string, size: number): boolean {
  if (size > 256 * 1024) return false;
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === 'package.json') return !path.includes('node_modules/');
  if (SECRET_NAMES.test(path)) return true;
  return /\.(pem|key)$/.test(base) && !path.startsWith('etc/ssl/certs/') && !path.startsWith('usr/share/ca-certificates/');
}

function addLeak(groups: Map<string, Leak>, key: string, leak: Omit<Leak, 'bytes' | 'files'>, e: LayerEntry, layer: number): void {
  const g = groups.get(key) ?? { ...leak, bytes: 0, files: 0, layer };
  g.bytes += e.type === 'file' ? e.size : 0;
  g.files += 1;
  g.layer = Math.max(g.layer, layer);
  groups.set(key, g);
}

/** devDependencies of every package.json that sits next to a node_modules in the tree. */
function devDependencyRoots(tree: MergedTree): Map<string, string> {
  const roots = new Map<string, string>(); // node_modules/<pkg> path prefix -> package name
  for (const [path, n] of tree.nodes) {
    if (!path.endsWith('package.json') || path.includes('node_modules/') || !n.entry.content) continue;
    let pkg: { devDependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(n.entry.content) as typeof pkg;
    } catch {
      continue;
    }
    const dir = path.slice(0, -'package.json'.length);
    for (const name of Object.keys(pkg.devDependencies ?? {})) roots.set(`${dir}node_modules/${name}/`, name);
  }
  return roots;
}

export function findLeaks(tree: MergedTree): Leak[] {
  const groups = new Map<string, Leak>();
  const devRoots = devDependencyRoots(tree);
  for (const [path, n] of tree.nodes) {
    const e = n.entry;
    if (e.type !== 'file') continue;
    let isDev = false;
    for (const [prefix, name] of devRoots) {
      if (path.startsWith(prefix)) {
        addLeak(groups, `dev:${prefix}`, { kind: 'dev-dependency', what: `${name} (devDependency)`, path: `/${prefix.slice(0, -1)}`, layer: n.layer, severity: 'medium' }, e, n.layer);
        isDev = true;
        break;
      }
    }
    for (const r of isDev ? [] : PATH_RULES) {
      const m = r.re.exec(path);
      if (!m) continue;
      const root = m[1] ?? path;
      addLeak(groups, `${r.kind}:${r.what}:${root}`, { kind: r.kind, what: r.what, path: `/${root}`, layer: n.layer, severity: r.severity }, e, n.layer);
      break;
    }
    if (e.content !== undefined) {
      const hit = SECRET_CONTENT.find(([re]) => re.test(e.content as string));
      if (hit || (SECRET_NAMES.test(path) && e.size > 0 && !path.endsWith('package.json'))) {
        addLeak(groups, `secret:${path}`, { kind: 'secret', what: hit ? hit[1] : 'credentials file', path: `/${path}`, layer: n.layer, severity: 'high' }, e, n.layer);
      }
    }
  }
  const order: Record<Leak['severity'], number> = { high: 0, medium: 1, low: 2 };
  return [...groups.values()].sort((a, b) => order[a.severity] - order[b.severity] || b.bytes - a.bytes || a.path.localeCompare(b.path));
}

/**
 * System package installs inside a RUN. In: one shell command (from `splitCommands`). Out: whether
 * it is a package-manager install, update, cleanup or removal (apt-get/apt, apk, dnf/yum/microdnf),
 * the packages it installs, and the same command with only the runtime packages kept. A package is
 * "build" when it is a compiler, a build tool, headers, a language's package manager or a JDK (a
 * JDK becomes its JRE); anything not known to be build-only is kept.
 */
import { commandName, commandWords } from '../dockerfile/index.js';

export type PackageManager = 'apt' | 'apk' | 'dnf';

export type CommandKind =
  | { kind: 'install'; manager: PackageManager; packages: string[] }
  | { kind: 'pkg-housekeeping'; manager: PackageManager }
  | { kind: 'pkg-remove'; manager: PackageManager }
  | { kind: 'other'; name: string | undefined; args: string[] };

/** Install flags that take a separate value (`-o Dpkg::Options::=x`, `--virtual .deps`). */
const VALUE_FLAGS: Record<PackageManager, Set<string>> = {
  apt: new Set(['-o', '--option', '-t', '--target-release', '-c', '--config-file']),
  apk: new Set(['-t', '--virtual', '-X', '--repository', '--repositories-file', '-p', '--root', '--arch', '--cache-dir', '--keys-dir']),
  dnf: new Set(['--setopt', '--enablerepo', '--disablerepo', '--repo', '--releasever', '--installroot', '-c', '--config', '--exclude', '-x']),
};

/** Classifies one shell command (its text) by what it does to system packages. */
export function classifyCommand(text: string): CommandKind {
  const { name, args } = commandName(commandWords(text));
  const base = name?.replace(/^.*\//, '');
  const verb = args.find((a) => !a.startsWith('-'));
  const afterVerb = (mgr: PackageManager) => {
    const i = args.indexOf(verb!);
    return packageArgs(mgr, args.slice(i + 1));
  };
  if (base === 'apt-get' || base === 'apt') {
    if (verb === 'install') return { kind: 'install', manager: 'apt', packages: afterVerb('apt') };
    if (verb === 'purge' || verb === 'remove' || verb === 'autoremove') return { kind: 'pkg-remove', manager: 'apt' };
    if (verb === 'update' || verb === 'clean' || verb === 'dist-clean' || verb === 'autoclean' || verb === 'upgrade' || verb === 'dist-upgrade') return { kind: 'pkg-housekeeping', manager: 'apt' };
  }
  if (base === 'apk') {
    if (verb === 'add') {
      const pk = afterVerb('apk');
      // `apk add --virtual .build-deps gcc ...`: a group the same RUN deletes again: all build-only
      const virt = args.findIndex((a) => a === '--virtual' || a === '-t');
      return { kind: 'install', manager: 'apk', packages: virt >= 0 ? pk.map((p) => `${VIRTUAL_MARK}${p}`) : pk };
    }
    if (verb === 'del') return { kind: 'pkg-remove', manager: 'apk' };
    if (verb === 'update' || verb === 'cache' || verb === 'upgrade') return { kind: 'pkg-housekeeping', manager: 'apk' };
  }
  if (base === 'dnf' || base === 'yum' || base === 'microdnf' || base === 'tdnf') {
    if (verb === 'install') return { kind: 'install', manager: 'dnf', packages: afterVerb('dnf') };
    if (verb === 'remove' || verb === 'erase' || verb === 'autoremove') return { kind: 'pkg-remove', manager: 'dnf' };
    if (verb === 'clean' || verb === 'makecache' || verb === 'update' || verb === 'upgrade') return { kind: 'pkg-housekeeping', manager: 'dnf' };
  }
  if (base === 'rm' && args.some((a) => /^\/var\/(lib\/apt\/lists|cache\/(apt|apk|dnf|yum))/.test(a))) return { kind: 'pkg-housekeeping', manager: /apk/.test(text) ? 'apk' : /dnf|yum/.test(text) ? 'dnf' : 'apt' };
  return { kind: 'other', name: base, args };
}

/** Prefix marking packages of an apk `--virtual` group (internal). */
const VIRTUAL_MARK = '\0virtual:';

function packageArgs(mgr: PackageManager, args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      if (VALUE_FLAGS[mgr].has(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** The package name of an install argument: `nodejs=18.19.0-1`, `py3-pip~=23`, `gcc>=12` → name. */
export function packageName(arg: string): string {
  return arg.replace(VIRTUAL_MARK, '').replace(/[=<>~].*$/, '');
}

const BUILD_EXACT = new Set([
  'build-essential', 'build-base', 'gcc', 'g++', 'gcc-c++', 'cpp', 'clang', 'make', 'cmake', 'ninja-build', 'autoconf', 'automake',
  'libtool', 'pkg-config', 'pkgconf', 'pkgconfig', 'binutils', 'git', 'patch', 'musl-dev', 'linux-headers', 'libc-dev',
  'npm', 'yarn', 'yarnpkg', 'node-gyp', 'node-typescript', 'pnpm',
  'python3-pip', 'python3-venv', 'python3-setuptools', 'python3-wheel', 'python3-build', 'python-dev-is-python3', 'cython3', 'pipx',
  'py3-pip', 'py3-setuptools', 'py3-wheel', 'python3-devel', 'poetry', 'python3-poetry',
  'golang', 'golang-go', 'go', 'gccgo',
  'maven', 'gradle', 'ant',
  'cargo', 'rustc', 'rust',
]);

/** What a runtime needs instead of a build package (JDK → JRE); undefined: drop it. */
function runtimeReplacement(name: string): string | undefined {
  let m = /^(openjdk-\d+)-jdk(-headless)?$/.exec(name);
  if (m) return `${m[1]}-jre-headless`;
  if (name === 'default-jdk' || name === 'default-jdk-headless') return 'default-jre-headless';
  m = /^java-([\d.]+)-openjdk-devel$/.exec(name);
  if (m) return `java-${m[1]}-openjdk-headless`;
  m = /^openjdk(\d+)(-jdk)?$/.exec(name);
  if (m) return `openjdk${m[1]}-jre-headless`;
  return undefined;
}

/** True when `arg` (an install argument) is needed only to build. */
export function isBuildPackage(arg: string): boolean {
  if (arg.startsWith(VIRTUAL_MARK)) return true;
  const n = packageName(arg);
  if (n.includes('$')) return false;
  return (
    BUILD_EXACT.has(n) ||
    /-(dev|devel)$/.test(n) ||
    /^golang-[\d.]+(-go)?$/.test(n) ||
    /^(gcc|g\+\+|clang|cpp)-\d+$/.test(n) ||
    /^python3\.\d+-(venv|dev)$/.test(n) ||
    runtimeReplacement(n) !== undefined
  );
}

export interface RuntimeSplit {
  /** the install arguments to keep in the final stage (JDKs replaced by JREs) */
  keep: string[];
  /** the install arguments dropped as build-only */
  dropped: string[];
}

/**
 * Splits install arguments into runtime and build. `needed` names packages the final stage's
 * command line still uses (e.g. `npm` for `CMD npm start`): those are kept even when build-only.
 */
export function runtimePackages(args: string[], needed: ReadonlySet<string> = new Set()): RuntimeSplit {
  const keep: string[] = [];
  const dropped: string[] = [];
  for (const a of args) {
    const n = packageName(a);
    if (!isBuildPackage(a) || needed.has(n)) {
      keep.push(a);
      continue;
    }
    dropped.push(n);
    const r = runtimeReplacement(n);
    if (r && !keep.includes(r)) keep.push(r);
  }
  return { keep, dropped };
}

/**
 * The install command's text with its package arguments replaced by `keep` (flags, their values
 * and the command's prefix kept as written).
 */
export function rewriteInstall(text: string, manager: PackageManager, keep: string[]): string {
  const words = commandWords(text);
  const { name, args } = commandName(words);
  const prefix = words.slice(0, words.length - args.length);
  const verbAt = args.findIndex((a) => !a.startsWith('-'));
  const out: string[] = [...prefix, ...args.slice(0, verbAt + 1)];
  void name;
  const rest = args.slice(verbAt + 1);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith('-')) {
      out.push(a);
      if (VALUE_FLAGS[manager].has(a) && i + 1 < rest.length) out.push(rest[++i]!);
    }
  }
  return [...out, ...keep].map(shellQuote).join(' ');
}

/** Quotes a word for sh when it needs it (keeps `$VAR` expansions working inside double quotes). */
function shellQuote(w: string): string {
  if (/^[A-Za-z0-9_@%+=:,./~^*-]+$/.test(w) || /^\$\{?[A-Za-z_]/.test(w)) return w;
  return /[$`]/.test(w) ? `"${w.replace(/["\\]/g, '\\$&')}"` : `'${w.replace(/'/g, `'\\''`)}'`;
}
